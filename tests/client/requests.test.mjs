// requests.test.mjs: requests against a real roomd: one that gets no
// reply times out; one in flight when the socket drops rejects with
// disconnected; ones made while disconnected wait for the reconnect, go
// out after the rejoin, and are carried out in order.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadRoomd, WS, env, until, once, recordingWS } from './lib.mjs';

const { Client, RoomdError } = await loadRoomd();

test('a request with no reply times out', async () => {
	const { Recorded, sockets } = recordingWS();
	const a = new Client(env.URL_n1, { WebSocket: Recorded, requestTimeout: 300 });
	try {
		await a.connect();
		sockets[0].drop = (t) => t.includes('"type":"ping"');
		const t0 = Date.now();
		await assert.rejects(a.request({ type: 'ping' }),
		    (e) => e instanceof RoomdError && e.code === 'timeout');
		assert.ok(Date.now() - t0 >= 290);
		sockets[0].drop = null;
		assert.equal((await a.request({ type: 'ping' })).type, 'ok');
	} finally {
		a.close();
	}
});

test('in flight: disconnected; while disconnected: queued across the reconnect', async () => {
	const { Recorded, sockets, gate } = recordingWS();
	const a = new Client(env.URL_n1, { WebSocket: Recorded,
	    reconnect: { minDelay: 30, maxDelay: 60 }, requestTimeout: 10000 });
	a.on('error', () => {});
	const b = new Client(env.URL_n2, { WebSocket: WS });
	try {
		await a.connect();
		await b.connect();
		const ra = await a.join('qq');
		const rb = await b.join('qq');
		const got = [];
		rb.on('event', (f) => got.push(f.event));

		// In flight when the socket drops.
		const down = once(a, 'disconnect');
		gate.blocked = true;
		const inflight = ra.publish('inflight');
		sockets[0].terminate();
		await assert.rejects(inflight, (e) => e.code === 'disconnected');
		assert.equal((await down).willReconnect, true);

		// Made while disconnected: they wait.
		assert.equal(a.connected, false);
		const p1 = ra.publish('q1', 1);
		const p2 = ra.publish('q2', 2);
		const p3 = ra.setState('q', 3);
		await until(() => true);
		gate.blocked = false;
		const [s1, s2] = await Promise.all([p1, p2]);
		assert.equal(await p3, 1);
		assert.ok(s1 < s2 || s1.split('-')[0] <= s2.split('-')[0]);
		await until(() => got.includes('q2'), 5000, 'q2 at b');
		const q = got.filter((e) => e !== 'inflight');
		assert.deepEqual(q, ['q1', 'q2']);
		await until(() => ra.state.get('q') === 3, 5000, 'q at a');
		assert.equal(sockets.length, 2);
	} finally {
		a.close();
		b.close();
	}
});
