// app.js: the roomd page: connect, join a room, watch its members, state
// and frames live, and publish, all through roomd.js. Reconnects and what
// was recovered after them are shown as they happen. Everything a
// stranger can write (room names, meta, data, state) is shown with
// textContent, never parsed as HTML.
import { Client } from '/roomd.js';

const $ = (id) => document.getElementById(id);
let client = null, room = null;

function text(el, s) { el.textContent = s; return el; }
function json(v) { return JSON.stringify(v); }

// Add a line to the frames list: cls is in, out, note, error or recovered.
function log(cls, s) {
	const li = document.createElement('li');
	li.className = cls;
	const mark = { out: '→ ', note: '• ', error: '! ' }[cls] || '← ';
	text(li, mark + s);
	const list = $('frames');
	list.appendChild(li);
	while (list.children.length > 500)
		list.removeChild(list.firstChild);
	list.scrollTop = list.scrollHeight;
}

function renderMembers() {
	const ul = $('members');
	ul.replaceChildren();
	const members = room ? room.members : new Map();
	for (const m of members.values()) {
		const li = document.createElement('li');
		text(li, `${m.conn} ${m.user === null ? '(anonymous)' : m.user}` +
		    ` @${m.node} ${json(m.meta)}`);
		li.dataset.conn = m.conn;
		ul.appendChild(li);
	}
	text($('member-count'), String(members.size));
}

function renderState() {
	const t = $('state');
	t.replaceChildren();
	if (room === null) {
		text($('state-version'), '');
		return;
	}
	for (const [k, v] of room.state) {
		const tr = document.createElement('tr');
		tr.appendChild(text(document.createElement('td'), k));
		tr.appendChild(text(document.createElement('td'), json(v)));
		t.appendChild(tr);
	}
	text($('state-version'), 'v' + room.stateVersion);
}

// status: 'on', 'off' or 'wait' (reconnecting); the buttons follow it.
function setStatus(status, label) {
	text($('status'), label);
	$('status').className = 'status ' + status;
	const on = status === 'on';
	$('connect').disabled = client !== null;
	$('disconnect').disabled = client === null;
	$('join').disabled = !on || room !== null;
	$('leave').disabled = room === null;
	$('publish').disabled = room === null;
}

function left(why) {
	log('note', why);
	room = null;
	renderMembers();
	renderState();
	setStatus(client && client.connected ? 'on' : 'off',
	    client && client.connected ? 'connected' : 'disconnected');
}

function connect(ev) {
	ev.preventDefault();
	const url = $('url').value.trim();
	try {
		client = new Client(url, {
			// Asked again on every reconnect, so a new token can be
			// pasted while the page is away.
			token: () => $('token').value.trim() || null,
		});
	} catch (e) {
		log('error', 'cannot connect: ' + e.message);
		client = null;
		return;
	}
	let reconnects = 0;
	client.on('welcome', (w) => {
		text($('whoami'), `conn ${w.conn} on node ${w.node}` +
		    (w.user ? ` as ${w.user}` : ''));
		log('in', json(w));
		if (reconnects > 0)
			log('note', `reconnected (${reconnects}) to node ${w.node}`);
		setStatus('on', 'connected');
	});
	client.on('disconnect', (d) => {
		log('note', `closed ${d.code} ${d.reason}` +
		    (d.willReconnect ? '' : ' (not reconnecting)'));
		if (!d.willReconnect) {
			client = null;
			room = null;
			renderMembers();
			renderState();
			setStatus('off', 'disconnected');
		} else {
			setStatus('wait', 'reconnecting');
		}
	});
	client.on('reconnecting', (r) => {
		reconnects++;
		text($('reconnects'), String(reconnects));
		log('note', `reconnecting in ${r.delay} ms (attempt ${r.attempt})`);
		setStatus('wait', `reconnecting (attempt ${r.attempt})`);
	});
	client.on('error', (e) => log('error', `${e.code || 'error'}: ${e.message}`));
	setStatus('wait', 'connecting');
	client.connect().catch((e) => log('error', `${e.code}: ${e.message}`));
}

function disconnect() {
	if (client === null)
		return;
	const c = client;
	client = null;
	room = null;
	c.close();
	renderMembers();
	renderState();
	setStatus('off', 'disconnected');
}

async function join(ev) {
	ev.preventDefault();
	const id = $('room').value.trim();
	const opts = {};
	const meta = $('meta').value.trim();
	if (meta) {
		try { opts.meta = JSON.parse(meta); } catch (e) {
			log('error', 'meta is not JSON: ' + e.message);
			return;
		}
	}
	log('out', json({ type: 'join', room: id, ...opts }));
	let r;
	try {
		r = await client.join(id, opts);
	} catch (e) {
		log('error', `join: ${e.code}: ${e.message}`);
		return;
	}
	room = r;
	log('in', `joined ${r.id} at ${r.seq}, ${r.members.size} members`);
	// Members and state are kept by roomd.js; redraw after each frame.
	r.on('frame', (f) => {
		log('in', json(f));
		renderMembers();
		renderState();
	});
	// After a reconnect: mark the frames the rejoin replayed, say how many.
	r.on('recovered', ({ frames }) => {
		markRecovered(frames);
		log('note', `recovered ${frames.length} missed frame` +
		    (frames.length === 1 ? '' : 's') + ` in ${r.id}`);
		text($('recoveries'), String(Number($('recoveries').textContent) +
		    frames.length));
	});
	r.on('resync', () => {
		log('note', `history did not reach back: ${r.id} reloaded`);
		renderMembers();
		renderState();
	});
	r.on('evicted', (f) => { if (room === r) left(`evicted from ${f.room}: ${f.reason}`); });
	r.on('room_closed', (f) => { if (room === r) left(`room ${f.room} closed: ${f.reason}`); });
	r.on('error', (e) => { if (room === r) left(`rejoin of ${r.id} refused: ${e.code}`); });
	renderMembers();
	renderState();
	setStatus('on', 'connected');
}

// The recovered frames were already logged as they came: mark their lines.
function markRecovered(frames) {
	const seqs = new Set(frames.map((f) => f.seq));
	for (const li of $('frames').children) {
		if (li.className !== 'in')
			continue;
		const m = /"seq":"([0-9]+-[0-9]+)"/.exec(li.textContent);
		if (m && seqs.has(m[1]))
			li.className = 'recovered';
	}
}

async function leave() {
	if (room === null)
		return;
	const r = room;
	try {
		await r.leave();
	} catch (e) {
		log('error', `leave: ${e.code}: ${e.message}`);
	}
	if (room === r)
		left(`left ${r.id}`);
}

async function publish(ev) {
	ev.preventDefault();
	if (room === null)
		return;
	const name = $('event').value.trim();
	let data = $('data').value.trim();
	if (data) {
		try { data = JSON.parse(data); } catch (e) { /* send as text */ }
	} else {
		data = undefined;
	}
	log('out', json({ type: 'publish', room: room.id, event: name, data }));
	try {
		await room.publish(name, data);
	} catch (e) {
		log('error', `publish: ${e.code}: ${e.message}`);
	}
}

window.addEventListener('DOMContentLoaded', () => {
	const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
	$('url').value = `${scheme}//${location.host}/ws`;
	const q = new URLSearchParams(location.search);
	if (q.get('room'))
		$('room').value = q.get('room');
	$('connect-form').addEventListener('submit', connect);
	$('disconnect').addEventListener('click', disconnect);
	$('join-form').addEventListener('submit', join);
	$('leave').addEventListener('click', leave);
	$('publish-form').addEventListener('submit', publish);
	setStatus('off', 'disconnected');
});
