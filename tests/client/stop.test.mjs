// stop.test.mjs: roomd closes the connection for good: `roomctl evict
// --disconnect` (close code 4000) stops the client's reconnecting.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadRoomd, WS, env, until, once, delay, roomctl, recordingWS } from './lib.mjs';

const { Client } = await loadRoomd();

test('evicted with --disconnect (4000): evicted, then no reconnect', async () => {
	const { Recorded, sockets } = recordingWS();
	const a = new Client(env.URL_n1, { WebSocket: Recorded,
	    reconnect: { minDelay: 20, maxDelay: 80 } });
	const b = new Client(env.URL_n2, { WebSocket: WS });
	const recon = [];
	a.on('reconnecting', (r) => recon.push(r));
	try {
		await a.connect();
		await b.connect();
		const ra = await a.join('ev');
		const rb = await b.join('ev');
		const evicted = once(ra, 'evicted', 10000);
		const dis = once(a, 'disconnect', 10000);
		const left = once(rb, 'member_left', 10000);
		roomctl('evict', 'ev', '--conn', a.conn, '--disconnect');
		assert.equal((await evicted).room, 'ev');
		const d = await dis;
		assert.equal(d.code, 4000);
		assert.equal(d.willReconnect, false);
		assert.equal((await left).reason, 'evicted');
		assert.equal(a.joined.has('ev'), false);
		await delay(500);	// many times maxDelay: nothing comes
		assert.equal(recon.length, 0);
		assert.equal(sockets.length, 1);
		assert.equal(a.connected, false);
		await assert.rejects(a.request({ type: 'ping' }),
		    (e) => e.code === 'disconnected');
	} finally {
		a.close();
		b.close();
	}
});
