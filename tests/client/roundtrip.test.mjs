// roundtrip.test.mjs: roomd.js against two real roomd nodes: join (with
// create), members and state kept current across nodes, publish, setState
// with ifVersion, presence, history, rooms, request, leave, close.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadRoomd, WS, env, until, once } from './lib.mjs';

const { Client, RoomdError, compareSeq } = await loadRoomd();

test('join, publish, state, presence, history, rooms and leave on two nodes', async () => {
	const a = new Client(env.URL_n1, { WebSocket: WS });
	const b = new Client(env.URL_n2, { WebSocket: WS });
	try {
		const wa = await a.connect();
		assert.equal(wa.node, 'n1');
		assert.equal(a.conn, wa.conn);
		await b.connect();
		assert.equal(b.node, 'n2');

		const ra = await a.join('rt', { meta: { side: 'red' },
		    create: { title: 'Draft', max_members: 4 } });
		assert.equal(ra.id, 'rt');
		// details: once the server sends them (PROTOCOL.md join).
		if ('title' in ra.details)
			assert.equal(ra.details.title, 'Draft');
		assert.equal(ra.members.size, 1);
		assert.deepEqual(ra.members.get(a.conn).meta, { side: 'red' });
		assert.ok(ra.seq);
		const joins = [];
		ra.on('member_joined', (f) => joins.push(f.member.conn));

		const rb = await b.join('rt', { meta: { side: 'blue' } });
		assert.equal(rb.members.size, 2);
		await until(() => ra.members.size === 2, 5000, 'b in a.members');
		assert.ok(joins.includes(b.conn), 'member_joined handler ran');
		assert.equal(ra.members.get(b.conn).node, 'n2');
		assert.equal(await a.join('rt'), ra, 'a second join is the same Room');

		// publish: b sees it, handlers see frames once, seq increases.
		const got = [], frames = [];
		rb.on('event', (f) => got.push(f));
		rb.on('frame', (f) => frames.push(f.type));
		const seq = await ra.publish('pick', { hero: 'axe' });
		assert.match(seq, /^\d+-\d+$/);
		await until(() => got.length === 1, 5000, 'event at b');
		assert.equal(got[0].seq, seq);
		assert.equal(got[0].event, 'pick');
		assert.deepEqual(got[0].data, { hero: 'axe' });
		assert.equal(got[0].from.conn, a.conn);
		assert.ok(frames.includes('event'));
		assert.equal(rb.seq, seq);

		// echo:false: a does not get its own event.
		const echoed = [];
		ra.on('event', (f) => f.event === 'quiet' && echoed.push(f));
		const s2 = await ra.publish('quiet', null, { echo: false });
		await until(() => got.length === 2, 5000, 'quiet at b');
		assert.ok(compareSeq(s2, seq) > 0);
		assert.equal(echoed.length, 0);

		// state: kept current on both sides, ifVersion conflicts.
		const v = await ra.setState('turn', 'blue', { ifVersion: ra.stateVersion });
		assert.equal(v, 1);
		await until(() => rb.state.get('turn') === 'blue' && rb.stateVersion === 1,
		    5000, 'state at b');
		await until(() => ra.state.get('turn') === 'blue', 5000, 'state at a');
		await assert.rejects(rb.setState('turn', 'red', { ifVersion: 0 }),
		    (e) => e instanceof RoomdError && e.code === 'conflict');
		await rb.setState('turn', null);
		await until(() => !ra.state.has('turn') && ra.stateVersion === 2, 5000,
		    'delete at a');
		const gs = await ra.getState();
		assert.deepEqual(gs, { state: {}, stateVersion: 2 });

		// presence and history.
		const pres = await rb.presence();
		assert.deepEqual(pres.map((m) => m.conn).sort(), [a.conn, b.conn].sort());
		const hist = await ra.history({ limit: 100 });
		assert.ok(hist.some((f) => f.type === 'event' && f.seq === seq));
		const after = await ra.history({ since: seq });
		assert.equal(after[0].seq, s2);

		// rooms and any request.
		const list = await a.rooms({ limit: 10 });
		assert.ok(list.some((r) => r.room === 'rt' && r.members === 2));
		const pong = await a.request({ type: 'ping' });
		assert.equal(pong.type, 'ok');
		await assert.rejects(a.request({ type: 'nope' }),
		    (e) => e.code === 'unknown_type');
		await assert.rejects(a.join('bad room!'), (e) => e.code === 'bad_request');

		// leave: b sees a go; a's room is dropped and refuses requests.
		const left = once(rb, 'member_left');
		await ra.leave();
		assert.equal((await left).conn, a.conn);
		assert.equal(rb.members.size, 1);
		assert.equal(a.joined.has('rt'), false);
		await assert.rejects(ra.publish('x'), (e) => e.code === 'not_member');
	} finally {
		a.close();
		b.close();
	}
});

test('close rejects waiting requests and a closed client refuses new ones', async () => {
	const a = new Client(env.URL_n1, { WebSocket: WS });
	await a.connect();
	const dis = once(a, 'disconnect');
	a.close();
	assert.deepEqual(await dis, { code: 1000, reason: 'client closed',
	    willReconnect: false });
	await assert.rejects(a.request({ type: 'ping' }),
	    (e) => e.code === 'disconnected');
	assert.equal(a.connected, false);
});
