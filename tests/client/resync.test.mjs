// resync.test.mjs: with --history 10, a client that was away while the
// room's history moved past its seq rejoins with recovered:false and gets
// "resync": members, state and stateVersion reloaded from the join reply.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadRoomd, WS, env, until, once, recordingWS } from './lib.mjs';

const { Client, compareSeq } = await loadRoomd();

test('history trimmed below the client seq gives resync with fresh state', async () => {
	const { Recorded, sockets, gate } = recordingWS();
	const a = new Client(env.URL_n1, { WebSocket: Recorded,
	    reconnect: { minDelay: 50, maxDelay: 100 } });
	a.on('error', () => {});
	const pubs = [0, 1, 2, 3].map(() => new Client(env.URL_n2, { WebSocket: WS }));
	try {
		await a.connect();
		const ra = await a.join('hs', { meta: { who: 'a' } });
		const rooms = [];
		for (const p of pubs) {
			await p.connect();
			rooms.push(await p.join('hs'));
		}
		await rooms[0].setState('k', 1);
		await until(() => ra.state.get('k') === 1, 5000, 'k=1 at a');
		const oldSeq = ra.seq;
		let recovered = 0;
		ra.on('recovered', () => recovered++);

		// Hold a away, and write far more than 10 frames meanwhile (XADD
		// MAXLEN ~ trims whole nodes, so keep going until it has).
		gate.blocked = true;
		const down = once(a, 'disconnect');
		sockets[sockets.length - 1].terminate();
		await down;
		for (let round = 0; round < 8; round++) {
			await Promise.all(rooms.map(async (r) => {
				for (let k = 0; k < 40; k++)
					await r.publish('fill', k);
			}));
			const h = await rooms[0].history({ limit: 1 });
			const oldest = (await rooms[0].history({ since: '0-0', limit: 1 }))[0];
			if (oldest && compareSeq(oldest.seq, oldSeq) > 0 && h.length)
				break;
		}
		const oldest = (await rooms[0].history({ since: '0-0', limit: 1 }))[0];
		assert.ok(compareSeq(oldest.seq, oldSeq) > 0, 'history was trimmed');
		await rooms[1].setState('k', 2);
		await rooms[2].leave();

		const resync = once(a, 'welcome', 10000).then(() => once(ra, 'resync', 10000));
		gate.blocked = false;
		const info = await resync;
		assert.equal(recovered, 0);
		assert.equal(ra.state.get('k'), 2);
		assert.equal(info.state.get('k'), 2);
		assert.equal(ra.stateVersion, 2);
		assert.equal(ra.members.size, 4, 'a (new conn) and three publishers');
		assert.ok(ra.members.has(a.conn));
		assert.ok(!ra.members.has(pubs[2].conn));
		assert.ok(compareSeq(ra.seq, oldSeq) > 0);
		// And the room goes on live.
		const ev = once(ra, 'event');
		const seq = await rooms[0].publish('live', 1);
		assert.equal((await ev).seq, seq);
	} finally {
		a.close();
		for (const p of pubs)
			p.close();
	}
});
