// lib.mjs: what the roomd.js tests share: the library as a running roomd
// serves it, the `ws` package as the WebSocket, bounded polling, hooks
// that ask client.bats to restart processes, and a tiny fake server.
//
// Environment (set by tests/client.bats): HTTP_n1 (http://127.0.0.1:PORT of
// a roomd that serves /roomd.js), URL_n1, URL_n2, LB_URL, CLIENT_MODULES
// (node_modules holding ws), HOOK_DIR, REDIS_URL, ROOMCTL.
import { createRequire } from 'node:module';
import { writeFileSync, existsSync, readFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';

const require = createRequire(process.env.CLIENT_MODULES + '/');
export const WS = require('ws');
export const env = process.env;

// Fetch path from the roomd at HTTP_n1 and return its text.
export async function fetchText(path) {
	const r = await fetch(env.HTTP_n1 + path);
	if (r.status !== 200)
		throw new Error(`GET ${path}: ${r.status}`);
	return r.text();
}

// roomd.js as roomd serves it, imported from a temporary file.
export async function loadRoomd() {
	const src = await fetchText('/roomd.js');
	const dir = mkdtempSync(join(tmpdir(), 'roomdjs-'));
	const file = join(dir, 'roomd.mjs');
	writeFileSync(file, src);
	return import(file);
}

// A WebSocket class that records every socket it makes (to drop one on
// purpose), can swallow outgoing frames (to make a request time out), and
// refuses to connect while gate.blocked (to hold a client disconnected).
export function recordingWS() {
	const sockets = [], gate = { blocked: false };
	class Recorded extends WS {
		constructor(...a) {
			if (gate.blocked)
				throw new Error('blocked by the test');
			super(...a);
			sockets.push(this);
			this.drop = null;	// (frame text) => true to swallow
		}
		send(data, ...rest) {
			if (this.drop && this.drop(String(data)))
				return;
			super.send(data, ...rest);
		}
	}
	return { Recorded, sockets, gate };
}

// Poll fn every 20 ms until it returns truthy; fail after ms.
export async function until(fn, ms = 5000, what = 'condition') {
	const end = Date.now() + ms;
	for (;;) {
		const v = await fn();
		if (v)
			return v;
		if (Date.now() > end)
			throw new Error(`timed out after ${ms} ms waiting for ${what}`);
		await new Promise((r) => setTimeout(r, 20));
	}
}

export const delay = (ms) => new Promise((r) => setTimeout(r, ms));

// A promise for the next emission of name on emitter.
export function once(emitter, name, ms = 5000) {
	return new Promise((resolve, reject) => {
		const t = setTimeout(() => { off(); reject(new Error(
		    `no ${name} within ${ms} ms`)); }, ms);
		const off = emitter.on(name, (x) => { clearTimeout(t); off(); resolve(x); });
	});
}

/*
 * Ask client.bats to do something to the processes it started (it alone
 * tracks and stops them): "redis_restart", "roomd_kill NAME",
 * "roomd_restart NAME". Resolves once done.
 */
let hookSeq = 0;
export async function hook(cmd, ms = 20000) {
	const n = ++hookSeq;
	writeFileSync(join(env.HOOK_DIR, `req.${n}.tmp`), cmd + '\n');
	execFileSync('mv', [join(env.HOOK_DIR, `req.${n}.tmp`),
	    join(env.HOOK_DIR, `req.${n}`)]);
	const done = join(env.HOOK_DIR, `done.${n}`);
	await until(() => existsSync(done), ms, `hook ${cmd}`);
	const st = readFileSync(done, 'utf8').trim();
	if (st !== '0')
		throw new Error(`hook ${cmd} failed: ${st}`);
}

// roomctl against the test's Redis; returns its stdout.
export function roomctl(...args) {
	return execFileSync(env.ROOMCTL, ['--redis', env.REDIS_URL, ...args],
	    { encoding: 'utf8', timeout: 10000 });
}

/*
 * A fake roomd on a free loopback port: it sends a welcome, then hands
 * every connection to onConn(socket, conn index). Returns { url, close,
 * conns }.
 */
export async function fakeServer(onConn) {
	const wss = new WS.WebSocketServer({ host: '127.0.0.1', port: 0 });
	await new Promise((r) => wss.on('listening', r));
	const conns = [];
	wss.on('connection', (s, req) => {
		const i = conns.length;
		conns.push({ socket: s, url: req.url });
		s.send(JSON.stringify({ type: 'welcome', conn: 'c' + i, node: 'fake',
		    user: null, protocol: 1, max_frame: 65536 }));
		onConn(s, i);
	});
	return {
		url: `ws://127.0.0.1:${wss.address().port}/ws`,
		conns,
		close: () => new Promise((r) => {
			for (const c of wss.clients)
				c.terminate();
			wss.close(r);
		}),
	};
}

// Answer fake requests: reply(socket, frame) for every parsed frame.
export function answer(s, reply) {
	s.on('message', (m) => {
		let f;
		try { f = JSON.parse(String(m)); } catch (e) { return; }
		reply(f);
	});
}
