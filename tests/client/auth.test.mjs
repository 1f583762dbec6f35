// auth.test.mjs: against roomd with --auth-secret: the token is asked
// again on every reconnect, and an HTTP 401 at the upgrade stops the
// client for good (connect() rejects with unauthorized).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { loadRoomd, WS, env, once, delay, recordingWS } from './lib.mjs';

const { Client, RoomdError } = await loadRoomd();
const mint = (sub) => execFileSync(env.ROOMCTL, ['token', '--secret',
    env.SECRET, '--sub', sub], { encoding: 'utf8' }).trim();

test('a fresh token on every reconnect', async () => {
	const { Recorded, sockets } = recordingWS();
	let asked = 0;
	const a = new Client(env.URL_n1, { WebSocket: Recorded,
	    reconnect: { minDelay: 20, maxDelay: 80 },
	    token: async () => { asked++; return mint('alice'); } });
	try {
		const w = await a.connect();
		assert.equal(w.user, 'alice');
		assert.equal(asked, 1);
		const room = await a.join('au');
		const again = once(a, 'welcome');
		sockets[0].terminate();
		await again;
		assert.equal(asked, 2);
		assert.equal(a.joined.get('au'), room);
		assert.ok(room.members.has(a.conn) || (await room.presence())
		    .some((m) => m.conn === a.conn));
	} finally {
		a.close();
	}
});

test('HTTP 401 at the upgrade: no reconnect', async () => {
	const { Recorded, sockets } = recordingWS();
	let asked = 0;
	const a = new Client(env.URL_n1, { WebSocket: Recorded,
	    reconnect: { minDelay: 20, maxDelay: 80 },
	    token: () => { asked++; return 'not-a-token'; } });
	a.on('error', () => {});
	const recon = [];
	a.on('reconnecting', (r) => recon.push(r));
	const dis = once(a, 'disconnect');
	await assert.rejects(a.connect(), (e) => e instanceof RoomdError &&
	    e.code === 'unauthorized');
	const d = await dis;
	assert.equal(d.status, 401);
	assert.equal(d.willReconnect, false);
	await delay(400);
	assert.equal(recon.length, 0);
	assert.equal(sockets.length, 1);
	assert.equal(asked, 1);
	a.close();
});

test('HTTP 401 where the WebSocket hides the status (as browsers do): no reconnect', async () => {
	// Like a browser's WebSocket: errors say nothing, a refused upgrade is
	// a plain 1006; the library asks roomd with a GET of the same URL.
	let made = 0;
	class Mute extends WS {
		constructor(...a) { super(...a); made++; }
		set onerror(fn) { super.onerror = () => fn({ type: 'error' }); }
		get onerror() { return super.onerror; }
	}
	const a = new Client(env.URL_n1, { WebSocket: Mute,
	    reconnect: { minDelay: 20, maxDelay: 80 }, token: 'not-a-token' });
	const recon = [];
	a.on('reconnecting', (r) => recon.push(r));
	const dis = once(a, 'disconnect');
	await assert.rejects(a.connect(), (e) => e.code === 'unauthorized');
	const d = await dis;
	assert.equal(d.code, 1006);
	assert.equal(d.status, 401);
	assert.equal(d.willReconnect, false);
	await delay(400);
	assert.equal(recon.length, 0);
	assert.equal(made, 1);
	a.close();
});

test('a good token: the plain GET of /ws is 426, and the client connects', async () => {
	const r = await fetch(env.URL_n1.replace(/^ws/, 'http') + '?token=' + mint('bob'));
	assert.equal(r.status, 426);
	const bad = await fetch(env.URL_n1.replace(/^ws/, 'http') + '?token=x');
	assert.equal(bad.status, 401);
	assert.equal(bad.headers.get('access-control-allow-origin'), '*');
});
