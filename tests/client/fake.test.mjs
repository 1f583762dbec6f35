// fake.test.mjs: roomd.js against a tiny fake server, for what a real roomd
// cannot be made to do (yet): close codes 4001, 4003 and 1008 from a
// connect hook, frames that are not JSON or lack fields, and the timing of
// backoff and fresh tokens. The library is still the one roomd serves.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadRoomd, WS, until, once, delay, fakeServer, answer } from './lib.mjs';

const { Client, RoomdError } = await loadRoomd();
const quick = { minDelay: 20, maxDelay: 80 };

for (const code of [4000, 4001, 4003, 1008]) {
	test(`no reconnect after close code ${code}`, async () => {
		const srv = await fakeServer((s) => setTimeout(() =>
		    s.close(code, 'go away'), 50));
		const c = new Client(srv.url, { WebSocket: WS, reconnect: quick });
		const recon = [];
		c.on('reconnecting', (i) => recon.push(i));
		try {
			const dis = once(c, 'disconnect');
			await c.connect();
			const info = await dis;
			assert.deepEqual(info, { code, reason: 'go away',
			    willReconnect: false });
			await assert.rejects(c.request({ type: 'ping' }),
			    (e) => e.code === 'disconnected');
			await delay(400);	// several maxDelays: nothing more
			assert.equal(srv.conns.length, 1);
			assert.equal(recon.length, 0);
		} finally {
			c.close();
			await srv.close();
		}
	});
}

test('reconnects after 1001 and 1006 with jittered backoff and a fresh token each time', async () => {
	let tokens = 0;
	const srv = await fakeServer((s, i) => {
		if (i === 0)
			setTimeout(() => s.close(1001, 'shutdown'), 30);
		else if (i === 1)
			setTimeout(() => s.terminate(), 30);
	});
	const c = new Client(srv.url, { WebSocket: WS, reconnect: quick,
	    token: async () => 'tok' + (++tokens) });
	const recon = [], dis = [], welcomes = [];
	c.on('reconnecting', (i) => recon.push(i));
	c.on('disconnect', (i) => dis.push(i));
	c.on('welcome', (w) => welcomes.push(w.conn));
	try {
		await c.connect();
		await until(() => welcomes.length === 3, 5000, 'third welcome');
		assert.deepEqual(welcomes, ['c0', 'c1', 'c2']);
		assert.deepEqual(dis.map((d) => [d.code, d.willReconnect]),
		    [[1001, true], [1006, true]]);
		assert.equal(recon.length, 2);
		for (const r of recon) {
			assert.equal(r.attempt, 1, 'attempts reset after a welcome');
			assert.ok(r.delay >= quick.minDelay && r.delay <= quick.maxDelay,
			    `delay ${r.delay}`);
		}
		assert.deepEqual(srv.conns.map((x) => x.url),
		    ['/ws?token=tok1', '/ws?token=tok2', '/ws?token=tok3']);
	} finally {
		c.close();
		await srv.close();
	}
});

test('backoff grows to maxDelay with full jitter while the server is away', async () => {
	const srv = await fakeServer(() => {});
	const url = srv.url;
	await srv.close();	// nothing listens there now
	const c = new Client(url, { WebSocket: WS,
	    reconnect: { minDelay: 10, maxDelay: 60 } });
	const recon = [];
	c.on('reconnecting', (i) => recon.push(i));
	c.on('error', () => {});
	c.connect().catch(() => {});
	try {
		await until(() => recon.length >= 6, 5000, 'six attempts');
		recon.forEach((r, k) => {
			assert.equal(r.attempt, k + 1);
			const cap = Math.min(60, 10 * 2 ** r.attempt);
			assert.ok(r.delay >= 10 && r.delay <= cap,
			    `attempt ${r.attempt}: ${r.delay} not in [10, ${cap}]`);
		});
	} finally {
		c.close();
	}
});

test('bad frames are reported on error and the connection goes on', async () => {
	const srv = await fakeServer((s) => answer(s, (f) => {
		if (f.type === 'ping')
			s.send(JSON.stringify({ type: 'ok', ref: f.ref }));
		if (f.type === 'join') {
			s.send(JSON.stringify({ type: 'ok', ref: f.ref, room: f.room,
			    seq: '10-0', members: [], state: {}, state_version: 0 }));
			// Then a bad room frame, and a good one that must arrive.
			s.send(JSON.stringify({ type: 'event', room: f.room }));
			s.send(JSON.stringify({ type: 'member_joined', room: f.room,
			    seq: '11-0' }));
			s.send(JSON.stringify({ type: 'event', room: f.room, seq: '12-0',
			    ts: 1, event: 'e', data: 1, from: { conn: 'x', user: null } }));
		}
		if (f.type === 'publish') {
			for (const bad of ['not json', '[1,2]', '42', 'null', '{}',
			    '{"type":7}', '{"type":"error","ref":999}',
			    '{"type":"welcome"}', '{"type":"evicted"}'])
				s.send(bad);
			s.send(JSON.stringify({ type: 'ok', ref: f.ref, seq: '13-0' }));
		}
	}));
	const c = new Client(srv.url, { WebSocket: WS, reconnect: false });
	const errors = [];
	c.on('error', (e) => errors.push(e));
	try {
		await c.connect();
		const room = await c.join('r');
		const events = [];
		room.on('event', (f) => events.push(f.seq));
		await until(() => events.length === 1, 5000, 'good event');
		assert.deepEqual(events, ['12-0']);
		assert.equal(errors.length, 2);
		assert.equal(await room.publish('x'), '13-0');
		assert.equal(errors.length, 11);
		for (const e of errors) {
			assert.ok(e instanceof RoomdError);
			assert.equal(e.code, 'bad_frame');
		}
		assert.equal((await c.request({ type: 'ping' })).type, 'ok');
		assert.equal(c.connected, true);
	} finally {
		c.close();
		await srv.close();
	}
});

test('a throwing handler stops neither other handlers nor frame processing', async () => {
	const srv = await fakeServer((s) => answer(s, (f) => {
		if (f.type === 'join') {
			s.send(JSON.stringify({ type: 'ok', ref: f.ref, room: f.room,
			    seq: '10-0', members: [], state: {}, state_version: 0 }));
			for (let k = 1; k <= 3; k++)
				s.send(JSON.stringify({ type: 'state_changed', room: f.room,
				    seq: `10-${k}`, ts: 1, key: 'k', value: k,
				    state_version: k, by: { conn: 'x', user: null } }));
		}
	}));
	const c = new Client(srv.url, { WebSocket: WS, reconnect: false });
	const errors = [], seen = [], frames = [];
	c.on('error', (e) => errors.push(e));
	c.on('welcome', () => { throw new Error('welcome handler broke'); });
	try {
		await c.connect();
		const room = await c.join('r');
		room.on('state_changed', () => { throw new Error('boom'); });
		room.on('state_changed', (f) => seen.push([f.value, room.state.get('k')]));
		room.on('frame', (f) => frames.push(f.seq));
		await until(() => frames.length === 3, 5000, 'three frames');
		assert.deepEqual(seen, [[1, 1], [2, 2], [3, 3]]);
		assert.equal(room.stateVersion, 3);
		assert.equal(errors.filter((e) => e.message === 'boom').length, 3);
		assert.equal(errors.filter((e) => /welcome handler/.test(e.message)).length, 1);
	} finally {
		c.close();
		await srv.close();
	}
});

test('frames already seen are dropped after a rejoin; recovered carries the replay', async () => {
	// Connection 0 sees 10-0..10-2; connection 1's rejoin replays 10-1..10-4
	// (two of them duplicates), then the reply.
	const srv = await fakeServer((s, i) => answer(s, (f) => {
		if (f.type !== 'join')
			return;
		const ev = (k) => JSON.stringify({ type: 'event', room: 'r',
		    seq: `10-${k}`, ts: 1, event: 'e', data: k, from: { conn: 'x', user: null } });
		if (i === 0) {
			s.send(JSON.stringify({ type: 'ok', ref: f.ref, room: 'r',
			    seq: '10-0', members: [], state: {}, state_version: 0 }));
			s.send(ev(0)); s.send(ev(1)); s.send(ev(2));
			setTimeout(() => s.terminate(), 50);
		} else {
			assert.equal(f.since, '10-2');
			s.send(ev(1)); s.send(ev(2)); s.send(ev(3)); s.send(ev(4));
			s.send(JSON.stringify({ type: 'ok', ref: f.ref, room: 'r',
			    seq: '10-5', members: [], state: {}, state_version: 0,
			    recovered: true }));
		}
	}));
	const c = new Client(srv.url, { WebSocket: WS, reconnect: quick });
	try {
		await c.connect();
		const room = await c.join('r');
		const got = [];
		room.on('event', (f) => got.push(f.data));
		const rec = once(room, 'recovered');
		const { frames } = await rec;
		assert.deepEqual(frames.map((f) => f.data), [3, 4]);
		assert.deepEqual(got, [0, 1, 2, 3, 4]);
	} finally {
		c.close();
		await srv.close();
	}
});

test('a request times out with timeout, and a late reply is ignored', async () => {
	const srv = await fakeServer((s) => answer(s, (f) => {
		if (f.type === 'slow')
			setTimeout(() => s.send(JSON.stringify({ type: 'ok', ref: f.ref })), 300);
		if (f.type === 'ping')
			s.send(JSON.stringify({ type: 'ok', ref: f.ref }));
	}));
	const c = new Client(srv.url, { WebSocket: WS, reconnect: false,
	    requestTimeout: 100 });
	try {
		await c.connect();
		const t0 = Date.now();
		await assert.rejects(c.request({ type: 'slow' }),
		    (e) => e instanceof RoomdError && e.code === 'timeout');
		assert.ok(Date.now() - t0 >= 90);
		await delay(300);
		assert.equal((await c.request({ type: 'ping' })).type, 'ok');
	} finally {
		c.close();
		await srv.close();
	}
});

test('a room refused on rejoin (room_full, forbidden) emits error and is dropped', async () => {
	// Connection 0 joins both rooms; on connection 1 "full" is full and
	// "shut" forbidden, "fine" rejoins.
	const srv = await fakeServer((s, i) => answer(s, (f) => {
		if (f.type !== 'join')
			return;
		if (i > 0 && f.room !== 'fine') {
			s.send(JSON.stringify({ type: 'error', ref: f.ref,
			    code: f.room === 'full' ? 'room_full' : 'forbidden', message: 'no' }));
			return;
		}
		s.send(JSON.stringify({ type: 'ok', ref: f.ref, room: f.room, seq: '10-0',
		    members: [], state: {}, state_version: 0, recovered: i > 0 }));
		if (i === 0 && f.room === 'fine')
			setTimeout(() => s.terminate(), 50);
	}));
	const c = new Client(srv.url, { WebSocket: WS, reconnect: quick });
	try {
		await c.connect();
		const full = await c.join('full');
		const shut = await c.join('shut');
		const errs = [once(full, 'error'), once(shut, 'error')];
		const fine = await c.join('fine');
		const rec = once(fine, 'recovered');
		const [e1, e2] = await Promise.all(errs);
		assert.equal(e1.code, 'room_full');
		assert.equal(e2.code, 'forbidden');
		await rec;
		assert.deepEqual([...c.joined.keys()], ['fine']);
		assert.equal(full.joined, false);
		await assert.rejects(full.publish('x'), (e) => e.code === 'not_member');
	} finally {
		c.close();
		await srv.close();
	}
});

test('a request queued while disconnected times out as usual', async () => {
	const srv = await fakeServer((s) => setTimeout(() => s.terminate(), 30));
	const c = new Client(srv.url, { WebSocket: WS,
	    reconnect: { minDelay: 5000, maxDelay: 5000 }, requestTimeout: 200 });
	c.on('error', () => {});
	try {
		const dis = once(c, 'disconnect');
		await c.connect();
		await dis;
		assert.equal(c.connected, false);
		await assert.rejects(c.request({ type: 'ping' }),
		    (e) => e.code === 'timeout');
	} finally {
		c.close();
		await srv.close();
	}
});
