// failover.test.mjs: two clients behind haproxy (dist/haproxy.cfg), one
// publishing and one receiving, while the receiver's node is SIGKILLed: the
// receiver reconnects through haproxy to the other node, recovers, and its
// handlers see every acknowledged event exactly once, in order, no gap.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadRoomd, WS, env, until, once, delay, hook } from './lib.mjs';

const { Client, compareSeq } = await loadRoomd();
const opts = { WebSocket: WS, reconnect: { minDelay: 100, maxDelay: 800 },
    requestTimeout: 5000 };

test('a node killed mid-session: every acknowledged event once, in order', async () => {
	const rx = new Client(env.LB_URL, opts);
	const tx = new Client(env.LB_URL, opts);
	rx.on('error', () => {});
	tx.on('error', () => {});
	try {
		await rx.connect();
		await tx.connect();
		const victim = rx.node;
		const rroom = await rx.join('fo', { meta: { who: 'rx' } });
		const troom = await tx.join('fo', { meta: { who: 'tx' } });
		const seen = [], recovered = [], resynced = [];
		rroom.on('event', (f) => seen.push(f));
		rroom.on('recovered', (r) => recovered.push(r.frames.length));
		rroom.on('resync', () => resynced.push(1));

		// The publisher sends one event after another; only acked ones count.
		const acked = [];
		let i = 0, stop = false, failures = 0;
		const pub = (async () => {
			while (!stop) {
				const k = i++;
				try {
					acked.push({ k, seq: await troom.publish('n', { k }) });
				} catch (e) {
					failures++;
					await delay(50);
				}
				await delay(5);
			}
		})();

		await until(() => acked.length >= 30, 10000, '30 acked events');
		const downs = [];
		rx.on('disconnect', (d) => downs.push(d));
		await hook('roomd_kill ' + victim);
		await until(() => downs.length > 0, 5000, 'the receiver to notice');
		assert.equal(downs[0].willReconnect, true);
		await until(() => rx.connected && recovered.length > 0, 30000,
		    'the receiver to reconnect and recover');
		assert.notEqual(rx.node, victim);
		const after = acked.length;
		await until(() => acked.length >= after + 30, 20000, '30 more acked');
		stop = true;
		await pub;
		const last = acked[acked.length - 1].seq;
		await until(() => seen.length > 0 &&
		    compareSeq(seen[seen.length - 1].seq, last) >= 0, 10000,
		    'the last acked event at the receiver');

		// Once and in order: strictly increasing seqs.
		for (let j = 1; j < seen.length; j++)
			assert.ok(compareSeq(seen[j].seq, seen[j - 1].seq) > 0,
			    `frame ${j}: ${seen[j].seq} after ${seen[j - 1].seq}`);
		// Every acknowledged event.
		const got = new Set(seen.map((f) => f.seq));
		for (const a of acked)
			assert.ok(got.has(a.seq), `acked event ${a.k} (${a.seq}) missing`);
		// No gap: exactly the room's events in history over that span.
		const hist = (await troom.history({ limit: 1000 }))
		    .filter((f) => f.type === 'event' &&
		    compareSeq(f.seq, seen[0].seq) >= 0 && compareSeq(f.seq, last) <= 0)
		    .map((f) => f.seq);
		assert.deepEqual(seen.map((f) => f.seq).filter((s) =>
		    compareSeq(s, last) <= 0), hist);
		assert.equal(resynced.length, 0);
		console.log(`# ${acked.length} acked, ${seen.length} received, ` +
		    `${failures} failed publishes, recovered ${recovered}`);
	} finally {
		rx.close();
		tx.close();
	}
});
