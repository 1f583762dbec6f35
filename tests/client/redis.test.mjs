// redis.test.mjs: Redis restarted (empty) mid-session: requests meanwhile
// fail with a RoomdError instead of hanging, and once roomd has restored
// its members the clients' rooms work again, frames still in seq order.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadRoomd, WS, env, until, delay, hook } from './lib.mjs';

const { Client, RoomdError, compareSeq } = await loadRoomd();
const opts = { WebSocket: WS, reconnect: { minDelay: 100, maxDelay: 800 },
    requestTimeout: 3000 };

test('Redis restarted mid-session: the rooms work again', async () => {
	const a = new Client(env.URL_n1, opts);
	const b = new Client(env.URL_n2, opts);
	a.on('error', () => {});
	b.on('error', () => {});
	try {
		await a.connect();
		await b.connect();
		const ra = await a.join('rr');
		const rb = await b.join('rr');
		const seen = [];
		rb.on('event', (f) => seen.push(f));
		await ra.publish('before', { k: 0 });
		await until(() => seen.length === 1, 5000, 'first event');

		await hook('redis_restart');
		// Publish until roomd is back on Redis; each try settles.
		let seq = null, errors = 0;
		await until(async () => {
			try {
				seq = await ra.publish('after', { k: 1 });
				return true;
			} catch (e) {
				assert.ok(e instanceof RoomdError, String(e));
				errors++;
				await delay(100);
				return false;
			}
		}, 20000, 'a publish after the restart');
		await until(() => seen.some((f) => f.seq === seq), 10000,
		    'the event at b');
		for (let j = 1; j < seen.length; j++)
			assert.ok(compareSeq(seen[j].seq, seen[j - 1].seq) > 0);
		// State and presence work, and the members are both there.
		await rb.setState('k', 'v');
		await until(() => ra.state.get('k') === 'v', 5000, 'state at a');
		await until(async () => (await ra.presence()).length === 2, 10000,
		    'both members restored');
		console.log(`# ${errors} requests failed while Redis was away`);
	} finally {
		a.close();
		b.close();
	}
});
