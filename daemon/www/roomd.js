// roomd.js: the client library for roomd (CLIENT.md). It owns the parts
// every client needs and few get right by hand: reconnect with backoff,
// rejoining rooms with `since`, dropping frames already seen, resyncing
// when history no longer reaches back, matching replies to requests, and
// keeping each room's members and state current.
//
// An ES module with no dependencies; it runs in browsers and in Node.js
// (pass a WebSocket constructor, such as the `ws` package's, where
// globalThis.WebSocket is missing). Its declarations are in roomd.d.ts.

// Close codes after which the client does not reconnect: evicted and
// disconnected (4000), refused by a connect hook (4001, 4003), policy (1008).
const FINAL_CLOSE_CODES = new Set([4000, 4001, 4003, 1008]);

// Room frame types and what they must carry besides room, seq and ts.
const ROOM_FRAMES = {
	event: ['event'],
	member_joined: ['member'],
	member_left: ['conn'],
	state_changed: ['key', 'state_version'],
	room_closed: [],
	room_locked: ['locked'],
};

// Rejoin failures after which a room is dropped rather than tried again.
const REJOIN_FATAL = new Set(['room_full', 'forbidden', 'unauthorized',
    'bad_request', 'too_many_rooms', 'not_found', 'too_large']);

/*
 * Every rejected promise carries a RoomdError: `code` is one of the
 * server's error codes, or `timeout` (no reply within requestTimeout),
 * `disconnected` (the socket dropped before the reply) or `bad_frame` (the
 * server sent something the library cannot read).
 */
export class RoomdError extends Error {
	constructor(code, message, frame) {
		super(message || code);
		this.name = 'RoomdError';
		this.code = code;
		if (frame !== undefined)
			this.frame = frame;
	}
}

/*
 * Compare two seqs ("ms-n", Redis stream ids) as two numbers, milliseconds
 * then counter. Returns <0, 0 or >0. Null sorts before everything.
 */
export function compareSeq(a, b) {
	const x = parseSeq(a), y = parseSeq(b);
	if (x === null || y === null)
		return (x === null ? 0 : 1) - (y === null ? 0 : 1);
	return x[0] !== y[0] ? x[0] - y[0] : x[1] - y[1];
}

// A seq as [ms, n], or null when s is not one.
function parseSeq(s) {
	if (Array.isArray(s))
		return s;
	if (typeof s !== 'string')
		return null;
	const m = /^(\d+)-(\d+)$/.exec(s);
	return m ? [Number(m[1]), Number(m[2])] : null;
}

function isObject(v) {
	return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/*
 * A small event emitter. A handler that throws does not stop the others:
 * its exception goes to report(), which the owner supplies.
 */
class Emitter {
	constructor(report) {
		this._handlers = new Map();
		this._report = report;
	}

	// Add fn for events named name; returns a function that removes it.
	on(name, fn) {
		if (typeof fn !== 'function')
			throw new TypeError('handler must be a function');
		if (!this._handlers.has(name))
			this._handlers.set(name, new Set());
		this._handlers.get(name).add(fn);
		return () => this.off(name, fn);
	}

	off(name, fn) {
		const set = this._handlers.get(name);
		if (set)
			set.delete(fn);
	}

	listeners(name) {
		const set = this._handlers.get(name);
		return set ? set.size : 0;
	}

	// Call every handler of name with arg, each in its own try.
	_emit(name, arg) {
		const set = this._handlers.get(name);
		if (!set)
			return;
		for (const fn of [...set]) {
			try {
				fn(arg);
			} catch (e) {
				this._report(e, name);
			}
		}
	}
}

/*
 * One room the client is in. members (conn -> member) and state (key ->
 * value) are kept current from the join reply and the room's frames;
 * handlers run after they are updated. Made by Client.join and
 * Client.match, never by hand.
 */
export class Room extends Emitter {
	constructor(client, id, meta) {
		super((e, name) => client._handlerFailed(e, name));
		this.client = client;
		this.id = id;
		this.meta = meta;
		this.seq = null;	// the latest seq seen in this room
		this.members = new Map();
		this.state = new Map();
		this.stateVersion = 0;
		this.details = {};
		this.created = false;	// for match: this match opened the room
		this.joined = true;	// false once left, evicted or dropped
		this._cursor = null;	// frames at or below this are dropped
		this._replayed = null;	// frames replayed during a rejoin
	}

	/*
	 * Take a join (or match) reply. fresh: the room's members and state
	 * are replaced from it (a first join, or a resync).
	 */
	_apply(ok, fresh) {
		if (fresh) {
			this.members = new Map();
			for (const m of ok.members)
				if (isObject(m) && typeof m.conn === 'string')
					this.members.set(m.conn, m);
			this.state = new Map(Object.entries(ok.state));
			this.stateVersion = ok.state_version;
		}
		if (isObject(ok.details))
			this.details = ok.details;
		// The reply's seq is the one of our own member_joined, which
		// follows it: keep the cursor just below so that it is seen.
		const s = parseSeq(ok.seq);
		if (s !== null) {
			const below = [s[0], s[1] - 1];
			if (this._cursor === null || compareSeq(below, this._cursor) > 0)
				this._cursor = below;
			if (this.seq === null || compareSeq(ok.seq, this.seq) > 0)
				this.seq = ok.seq;
		}
	}

	/*
	 * A room frame from the server: drop it when already seen, else update
	 * members, state and seq, then run its handlers and the "frame" ones.
	 * Returns true when the frame was delivered.
	 */
	_frame(f) {
		if (this._cursor !== null && compareSeq(f.seq, this._cursor) <= 0)
			return false;
		this._cursor = f.seq;
		if (this._replayed !== null)
			this._replayed.push(f);
		if (this.seq === null || compareSeq(f.seq, this.seq) > 0)
			this.seq = f.seq;
		switch (f.type) {
		case 'member_joined':
			this.members.set(f.member.conn, f.member);
			break;
		case 'member_left':
			this.members.delete(f.conn);
			break;
		case 'state_changed':
			if (f.value === null || f.value === undefined)
				this.state.delete(f.key);
			else
				this.state.set(f.key, f.value);
			this.stateVersion = f.state_version;
			break;
		case 'room_locked':
			this.details = { ...this.details, locked: f.locked };
			break;
		case 'room_closed':
			this.joined = false;
			this.client._drop(this);
			break;
		}
		this._emit(f.type, f);
		this._emit('frame', f);
		return true;
	}

	// A request about this room.
	_request(type, fields) {
		if (!this.joined && type !== 'leave')
			return Promise.reject(new RoomdError('not_member',
			    `not in room '${this.id}'`));
		return this.client.request({ type, room: this.id, ...fields });
	}

	// Publish event with data; resolves with the event's seq.
	async publish(event, data, opts = {}) {
		const f = { event };
		if (data !== undefined)
			f.data = data;
		if (opts.echo !== undefined)
			f.echo = !!opts.echo;
		return (await this._request('publish', f)).seq;
	}

	// Set (value null: delete) a state key; resolves with the new version.
	async setState(key, value, opts = {}) {
		const f = { key, value: value === undefined ? null : value };
		if (opts.ifVersion !== undefined)
			f.if_version = opts.ifVersion;
		return (await this._request('state.set', f)).state_version;
	}

	// The room's state as the server has it: { state, stateVersion }.
	async getState() {
		const ok = await this._request('state.get', {});
		return { state: ok.state, stateVersion: ok.state_version };
	}

	// Room frames from history, oldest first.
	async history(opts = {}) {
		const f = {};
		if (opts.since !== undefined && opts.since !== null)
			f.since = opts.since;
		if (opts.limit !== undefined)
			f.limit = opts.limit;
		return (await this._request('history', f)).events;
	}

	// The members as the server has them now (an array).
	async presence() {
		return (await this._request('presence', {})).members;
	}

	async lock() {
		await this._request('lock', {});
	}

	async unlock() {
		await this._request('unlock', {});
	}

	/*
	 * Leave the room. It is dropped from the client at once, so it is not
	 * rejoined even if the socket drops before the reply.
	 */
	async leave() {
		const was = this.joined;
		this.joined = false;
		this.client._drop(this);
		if (was)
			await this._request('leave', {});
	}
}

/*
 * A connection to roomd that survives reconnects. See CLIENT.md for the
 * contract; the options are { token, WebSocket, reconnect: { minDelay,
 * maxDelay } | false, requestTimeout, protocols }.
 */
export class Client extends Emitter {
	constructor(url, opts = {}) {
		super((e, name) => this._handlerFailed(e, name));
		this.url = url;
		this.token = opts.token;
		this.WebSocket = opts.WebSocket || globalThis.WebSocket;
		if (typeof this.WebSocket !== 'function')
			throw new TypeError('no WebSocket: pass opts.WebSocket');
		this.reconnect = opts.reconnect === false ? false : {
			minDelay: 250, maxDelay: 10000, ...(opts.reconnect || {}),
		};
		this.requestTimeout = opts.requestTimeout ?? 10000;
		this.joined = new Map();	// room id -> Room
		this.conn = null;		// from the latest welcome
		this.node = null;
		this.user = null;
		this.connected = false;		// welcome seen, socket open
		this._ws = null;
		this._ref = 0;
		this._pending = new Map();	// ref -> request (sent or queued)
		this._queue = [];		// refs waiting for a connection
		this._attempt = 0;
		this._timer = null;
		this._closed = true;		// close() called (or never connected)
		this._waiters = [];		// connect() promises
		this._generation = 0;		// which socket is the current one
		this._inbox = [];		// socket events not handled yet
		this._welcomed = null;		// the latest welcome frame
	}

	/*
	 * Connect (again after close()). Resolves with the first welcome;
	 * rejects when the client gives up before one (close(), a final close
	 * code, a 401, or a failed attempt with reconnect off).
	 */
	connect() {
		const p = new Promise((resolve, reject) =>
		    this._waiters.push({ resolve, reject }));
		if (this._closed) {
			this._closed = false;
			this._attempt = 0;
			this._open();
		} else if (this.connected) {
			this._settle(null, this._welcomed);
		}
		return p;
	}

	// Close for good: no reconnect; every waiting request rejects.
	close() {
		if (this._closed)
			return;
		this._closed = true;
		clearTimeout(this._timer);
		this._timer = null;
		const ws = this._ws;
		this._ws = null;
		this._generation++;
		const was = this.connected || ws !== null;
		this.connected = false;
		if (ws) {
			try { ws.close(1000, 'client closed'); } catch (e) { /* gone */ }
		}
		this._failAll(new RoomdError('disconnected', 'client closed'));
		this._settle(new RoomdError('disconnected', 'client closed'));
		if (was)
			this._emit('disconnect', { code: 1000,
			    reason: 'client closed', willReconnect: false });
	}

	/*
	 * Send any request; resolves with its ok frame or rejects with a
	 * RoomdError. Sent at once when connected, else queued until the
	 * reconnect; times out after requestTimeout either way.
	 */
	request(frame) {
		return this._call(frame, null);
	}

	/*
	 * request() with onOk, which turns the ok frame into the result at
	 * the moment the reply is read, before any later frame is handled
	 * (a promise would run too late: the frames after a join reply can
	 * come in the same read).
	 */
	_call(frame, onOk) {
		if (!isObject(frame) || typeof frame.type !== 'string')
			return Promise.reject(new TypeError('a request is an object with a type'));
		return new Promise((resolve, reject) => {
			const ref = ++this._ref;
			const req = { frame: { ...frame, ref }, resolve, reject, onOk,
			    sent: false, timer: null };
			this._pending.set(ref, req);
			if (this.requestTimeout > 0)
				req.timer = setTimeout(() => this._finish(ref,
				    new RoomdError('timeout', `no reply to ${frame.type} within ` +
				    `${this.requestTimeout} ms`)), this.requestTimeout);
			if (this.connected)
				this._send(req);
			else if (this._closed)
				this._finish(ref, new RoomdError('disconnected',
				    'not connected'));
			else
				this._queue.push(ref);
		});
	}

	/*
	 * Join room id. opts: meta, create. Resolves with the Room, already
	 * holding the members and state of the join reply. Joining a room the
	 * client is in resolves with the same Room.
	 */
	join(id, opts = {}) {
		const have = this.joined.get(id);
		if (have)
			return Promise.resolve(have);
		const f = { type: 'join', room: id };
		if (opts.meta !== undefined)
			f.meta = opts.meta;
		if (opts.create !== undefined)
			f.create = opts.create;
		return this._call(f, (ok) => this._entered(ok, opts.meta));
	}

	/*
	 * Matchmaking: a seat in a room of pool (PROTOCOL.md Matchmaking).
	 * opts: size (required), filter, meta, create. Resolves with the Room;
	 * room.created says whether this match opened it.
	 */
	match(pool, opts = {}) {
		const f = { type: 'match', pool, size: opts.size };
		for (const k of ['filter', 'meta', 'create'])
			if (opts[k] !== undefined)
				f[k] = opts[k];
		return this._call(f, (ok) => {
			const room = this._entered(ok, opts.meta);
			room.created = !!ok.created;
			return room;
		});
	}

	// The listing of rooms: [{ room, title, topic, members, ... }].
	async rooms(opts = {}) {
		const f = { type: 'rooms' };
		if (opts.limit !== undefined)
			f.limit = opts.limit;
		if (opts.visibility !== undefined)
			f.visibility = opts.visibility;
		return (await this.request(f)).rooms;
	}

	// A join or match reply: the Room it made (or the one we had).
	_entered(ok, meta) {
		if (!validJoinReply(ok)) {
			const e = new RoomdError('bad_frame', 'join reply lacks fields', ok);
			this._report(e);
			throw e;
		}
		let room = this.joined.get(ok.room);
		if (!room) {
			room = new Room(this, ok.room, meta);
			room._apply(ok, true);
			this.joined.set(room.id, room);
		}
		return room;
	}

	// Forget a room (left, closed, evicted, or refused on rejoin).
	_drop(room) {
		if (this.joined.get(room.id) === room)
			this.joined.delete(room.id);
	}

	// Open a socket, asking for a fresh token first.
	async _open() {
		const gen = ++this._generation;
		let url = this.url;
		try {
			let tok = this.token;
			if (typeof tok === 'function')
				tok = await tok();
			if (gen !== this._generation)
				return;
			if (tok !== undefined && tok !== null && tok !== '')
				url += (url.includes('?') ? '&' : '?') + 'token=' +
				    encodeURIComponent(String(tok));
		} catch (e) {
			if (gen !== this._generation)
				return;
			this._report(new RoomdError('unauthorized',
			    'token: ' + (e && e.message || e)));
			this._lost(gen, { code: 1006, reason: 'no token' });
			return;
		}
		let ws;
		try {
			ws = new this.WebSocket(url, 'roomd.v1');
		} catch (e) {
			this._report(e);
			this._lost(gen, { code: 1006, reason: String(e.message || e) });
			return;
		}
		this._ws = ws;
		let status;	// the HTTP status of a refused upgrade, if known
		ws.onmessage = (m) => this._post(gen, () => this._receive(m.data));
		ws.onerror = (e) => {
			// Browsers hide why; the ws package says "Unexpected
			// server response: 401".
			const m = /Unexpected server response: (\d+)/.exec(
			    (e && (e.message || (e.error && e.error.message))) || '');
			if (m)
				status = Number(m[1]);
		};
		let opened = false;
		ws.onopen = () => { opened = true; };
		ws.onclose = (e) => {
			const info = { code: e.code, reason: e.reason || '', status };
			if (opened || status !== undefined) {
				this._post(gen, () => this._lost(gen, info));
				return;
			}
			// Refused before it opened, and the WebSocket does not say
			// why: ask roomd what the upgrade got.
			probeStatus(url).then((st) => {
				if (st !== undefined)
					info.status = st;
				this._post(gen, () => this._lost(gen, info));
			});
		};
	}

	/*
	 * Handle what a socket said one thing per task, in order. The ws
	 * package hands over every frame of one read at once, so without this
	 * the frames right after a join reply would be handled before the
	 * code awaiting join() could add its handlers; browsers already give
	 * each message its own task. Things from an older socket are dropped.
	 */
	_post(gen, fn) {
		this._inbox.push({ gen, fn });
		if (this._inbox.length === 1)
			nextTask(() => this._drain());
	}

	_drain() {
		const item = this._inbox.shift();
		try {
			if (item && item.gen === this._generation)
				item.fn();
		} catch (e) {
			this._report(e);	// a bug here must not wedge the inbox
		}
		if (this._inbox.length > 0)
			nextTask(() => this._drain());
	}

	/*
	 * The current socket is gone: reject what was in flight, tell the
	 * handlers, and reconnect unless the close code says not to.
	 */
	_lost(gen, info) {
		if (gen !== this._generation)
			return;
		this._ws = null;
		this.connected = false;
		for (const [ref, req] of [...this._pending])
			if (req.sent)
				this._finish(ref, new RoomdError('disconnected',
				    'the connection dropped before the reply'));
		const final = FINAL_CLOSE_CODES.has(info.code) ||
		    info.status === 401 || this.reconnect === false || this._closed;
		const out = { code: info.code, reason: info.reason,
		    willReconnect: !final };
		if (info.status !== undefined)
			out.status = info.status;
		if (final) {
			this._closed = true;
			this._generation++;
			const e = new RoomdError(info.status === 401 ? 'unauthorized' :
			    'disconnected', `closed: ${info.code} ${info.reason}`.trim());
			this._failAll(e);
			this._settle(e);
		}
		this._emit('disconnect', out);
		if (!final)
			this._schedule();
	}

	// Wait a backoff delay with full jitter, then try again.
	_schedule() {
		const { minDelay, maxDelay } = this.reconnect;
		this._attempt++;
		const cap = Math.min(maxDelay, minDelay * 2 ** this._attempt);
		const delay = Math.round(minDelay + Math.random() * (cap - minDelay));
		this._emit('reconnecting', { attempt: this._attempt, delay });
		this._timer = setTimeout(() => {
			this._timer = null;
			if (!this._closed)
				this._open();
		}, delay);
	}

	// A text frame from the server. Nothing in it may throw out of here.
	_receive(data) {
		let f;
		try {
			f = JSON.parse(typeof data === 'string' ? data : String(data));
		} catch (e) {
			this._report(new RoomdError('bad_frame', 'not JSON: ' +
			    String(data).slice(0, 80), data));
			return;
		}
		if (!isObject(f) || typeof f.type !== 'string') {
			this._report(new RoomdError('bad_frame', 'not a frame object', f));
			return;
		}
		try {
			this._dispatch(f);
		} catch (e) {
			this._report(new RoomdError('bad_frame',
			    `cannot handle ${f.type}: ${e.message}`, f));
		}
	}

	_dispatch(f) {
		switch (f.type) {
		case 'welcome':
			if (typeof f.conn !== 'string')
				throw new Error('welcome without conn');
			this._welcome(f);
			return;
		case 'ok':
		case 'error':
			if (f.type === 'error' && typeof f.code !== 'string')
				throw new Error('error without code');
			if (f.ref === undefined || f.ref === null) {
				if (f.type === 'error')
					this._report(new RoomdError(f.code, f.message, f));
				return;
			}
			if (!this._pending.has(f.ref))
				return;		// timed out meanwhile
			this._finish(f.ref, f.type === 'ok' ? null :
			    new RoomdError(f.code, f.message, f), f);
			return;
		case 'pong':
			return;
		case 'evicted': {
			if (typeof f.room !== 'string')
				throw new Error('evicted without room');
			const room = this.joined.get(f.room);
			if (room) {
				room.joined = false;
				this._drop(room);
				room._emit('evicted', f);
			}
			return;
		}
		}
		const need = ROOM_FRAMES[f.type];
		if (typeof f.room !== 'string' || parseSeq(f.seq) === null)
			throw new Error('room frame without room or seq');
		for (const k of need || [])
			if (f[k] === undefined)
				throw new Error(`no ${k}`);
		if (f.type === 'member_joined' && (!isObject(f.member) ||
		    typeof f.member.conn !== 'string'))
			throw new Error('member without conn');
		const room = this.joined.get(f.room);
		if (room)
			room._frame(f);
	}

	/*
	 * A welcome: the socket is ready. Rejoin every room with since = the
	 * last seq seen there, then send what waited, in that order, so that
	 * queued requests reach the server after the rejoins.
	 */
	_welcome(f) {
		this._welcomed = f;
		this.conn = f.conn;
		this.node = f.node;
		this.user = f.user ?? null;
		this.connected = true;
		this._attempt = 0;
		for (const room of this.joined.values())
			this._rejoin(room, this._generation);
		const queue = this._queue;
		this._queue = [];
		for (const ref of queue) {
			const req = this._pending.get(ref);
			if (req)
				this._send(req);
		}
		this._emit('welcome', f);
		this._settle(null, f);
	}

	// Rejoin room on socket gen, retrying transient failures.
	_rejoin(room, gen) {
		const f = { type: 'join', room: room.id };
		if (room.meta !== undefined)
			f.meta = room.meta;
		if (room.seq !== null)
			f.since = room.seq;
		this._call(f, (ok) => {
			if (!room.joined || this.joined.get(room.id) !== room)
				return;
			if (!validJoinReply(ok))
				throw new RoomdError('bad_frame', 'join reply lacks fields', ok);
			const frames = room._replayed || [];
			room._replayed = null;
			if (ok.recovered === true) {
				room._apply(ok, false);
				room._emit('recovered', { frames });
			} else {
				room._apply(ok, true);
				room._emit('resync', { members: room.members,
				    state: room.state, stateVersion: room.stateVersion });
			}
		}).catch((e) => {
			room._replayed = null;
			if (!room.joined || this.joined.get(room.id) !== room)
				return;
			if (e instanceof RoomdError && REJOIN_FATAL.has(e.code)) {
				room.joined = false;
				this._drop(room);
				room._emit('error', e);
			} else if (e.code !== 'disconnected' && gen === this._generation &&
			    this.connected) {
				// Redis down, a timeout: try again on this socket.
				setTimeout(() => {
					if (gen === this._generation && this.connected &&
					    room.joined)
						this._rejoin(room, gen);
				}, this.reconnect ? this.reconnect.minDelay : 1000);
			}
		});
		// The frames replayed before the reply, for the "recovered" event.
		room._replayed = [];
	}

	// Write a request to the socket.
	_send(req) {
		req.sent = true;
		try {
			this._ws.send(JSON.stringify(req.frame));
		} catch (e) {
			this._finish(req.frame.ref, new RoomdError('disconnected',
			    'send failed: ' + e.message));
		}
	}

	// Settle request ref: with err, or with the ok frame.
	_finish(ref, err, ok) {
		const req = this._pending.get(ref);
		if (!req)
			return;
		this._pending.delete(ref);
		clearTimeout(req.timer);
		const i = this._queue.indexOf(ref);
		if (i >= 0)
			this._queue.splice(i, 1);
		if (err) {
			req.reject(err);
			return;
		}
		let v = ok;
		if (req.onOk) {
			try {
				v = req.onOk(ok);
			} catch (e) {
				req.reject(e);
				return;
			}
		}
		req.resolve(v);
	}

	_failAll(err) {
		for (const ref of [...this._pending.keys()])
			this._finish(ref, err);
		this._queue = [];
	}

	// Settle the connect() promises.
	_settle(err, welcome) {
		const w = this._waiters;
		this._waiters = [];
		for (const { resolve, reject } of w) {
			if (err)
				reject(err);
			else
				resolve(welcome);
		}
	}

	// Something went wrong that no promise carries: tell "error" handlers.
	_report(err) {
		if (this.listeners('error') > 0)
			this._emit('error', err);
		else if (globalThis.console)
			console.error('roomd:', err);
	}

	// A handler threw. Errors of "error" handlers go to the console only.
	_handlerFailed(err, name) {
		if (name === 'error' || this.listeners('error') === 0) {
			if (globalThis.console)
				console.error(`roomd: a "${name}" handler threw:`, err);
			return;
		}
		this._emit('error', err);
	}
}

/*
 * The HTTP status roomd gives the upgrade of ws URL url, from a plain GET
 * of the same URL (roomd answers it with 401 for a token it refuses, else
 * 426). Resolves with the status when it is 401, else undefined; never
 * rejects, and gives up after 3 s.
 */
function probeStatus(url) {
	if (typeof fetch !== 'function' || !/^wss?:/i.test(url))
		return Promise.resolve(undefined);
	const ctl = typeof AbortController === 'function' ? new AbortController() : null;
	const t = setTimeout(() => ctl && ctl.abort(), 3000);
	return fetch(url.replace(/^ws/i, 'http'), { cache: 'no-store',
	    signal: ctl ? ctl.signal : undefined })
	    .then((r) => (r.status === 401 ? 401 : undefined), () => undefined)
	    .finally(() => clearTimeout(t));
}

// Run fn in a task of its own, after the pending promise callbacks.
const nextTask = typeof setImmediate === 'function' ? setImmediate :
    (() => {
	if (typeof MessageChannel !== 'function')
		return (fn) => setTimeout(fn, 0);
	const ch = new MessageChannel(), fns = [];
	ch.port1.onmessage = () => fns.shift()();
	return (fn) => { fns.push(fn); ch.port2.postMessage(0); };
    })();

// A join or match reply has what a Room is built from.
function validJoinReply(ok) {
	return isObject(ok) && typeof ok.room === 'string' &&
	    Array.isArray(ok.members) && isObject(ok.state) &&
	    typeof ok.state_version === 'number';
}
