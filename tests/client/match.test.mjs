// match.test.mjs: matchmaking round trip (PROTOCOL.md Matchmaking): two
// clients on two nodes share one room of the pool, lock and unlock write
// room_locked, a locked or full room takes nobody new. client.bats runs
// this only when the server answers match.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadRoomd, WS, env, until, once } from './lib.mjs';

const { Client } = await loadRoomd();

test('match, lock and unlock', async () => {
	const cs = [env.URL_n1, env.URL_n2, env.URL_n1].map((u) =>
	    new Client(u, { WebSocket: WS }));
	try {
		for (const c of cs)
			await c.connect();
		const opts = { size: 2, filter: { mode: 'ranked' } };
		const r0 = await cs[0].match('duel', { ...opts, meta: { p: 0 } });
		assert.equal(r0.created, true);
		assert.match(r0.id, /^duel-[0-9a-f]{12}$/);
		const r1 = await cs[1].match('duel', { ...opts, meta: { p: 1 } });
		assert.equal(r1.created, false);
		assert.equal(r1.id, r0.id);
		assert.equal(r1.members.size, 2);
		await until(() => r0.members.size === 2, 5000, 'second player at 0');
		assert.equal(r0.details.pool, 'duel');

		const locked = once(r1, 'room_locked');
		await r0.lock();
		const f = await locked;
		assert.equal(f.locked, true);
		assert.equal(f.by.conn, cs[0].conn);
		assert.equal(r1.details.locked, true);
		// Full and locked: a third player gets a new room.
		const r2 = await cs[2].match('duel', opts);
		assert.notEqual(r2.id, r0.id);
		assert.equal(r2.created, true);

		const unlocked = once(r0, 'room_locked');
		await r1.unlock();
		assert.equal((await unlocked).locked, false);
		assert.equal(r0.details.locked, false);
	} finally {
		for (const c of cs)
			c.close();
	}
});
