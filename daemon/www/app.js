// app.js: the roomd page: connect, join a room, watch its members, state
// and frames live, and publish. Everything a stranger can write (room
// names, meta, data, state) is shown with textContent, never parsed as HTML.
'use strict';

const $ = (id) => document.getElementById(id);
let ws = null, ref = 0, room = null;
const pending = new Map();		// ref -> what to do with the ok
const members = new Map();		// conn -> member
const state = new Map();		// key -> value

function text(el, s) { el.textContent = s; return el; }
function json(v) { return JSON.stringify(v); }

function log(dir, frame) {
	const li = document.createElement('li');
	li.className = dir + (frame && frame.type === 'error' ? ' error' : '');
	text(li, (dir === 'out' ? '→ ' : '← ') +
	    (typeof frame === 'string' ? frame : json(frame)));
	const list = $('frames');
	list.appendChild(li);
	while (list.children.length > 500)
		list.removeChild(list.firstChild);
	list.scrollTop = list.scrollHeight;
}

function renderMembers() {
	const ul = $('members');
	ul.replaceChildren();
	for (const m of members.values()) {
		const li = document.createElement('li');
		text(li, `${m.conn} ${m.user === null ? '(anonymous)' : m.user}` +
		    ` @${m.node} ${json(m.meta)}`);
		li.dataset.conn = m.conn;
		ul.appendChild(li);
	}
	text($('member-count'), String(members.size));
}

function renderState(version) {
	const t = $('state');
	t.replaceChildren();
	for (const [k, v] of state) {
		const tr = document.createElement('tr');
		tr.appendChild(text(document.createElement('td'), k));
		tr.appendChild(text(document.createElement('td'), json(v)));
		t.appendChild(tr);
	}
	if (version !== undefined)
		text($('state-version'), 'v' + version);
}

function setConnected(on) {
	text($('status'), on ? 'connected' : 'disconnected');
	$('status').className = 'status ' + (on ? 'on' : 'off');
	$('connect').disabled = on;
	$('disconnect').disabled = !on;
	$('join').disabled = !on;
	$('leave').disabled = !on || room === null;
	$('publish').disabled = !on || room === null;
}

function send(frame, onOk) {
	if (!ws || ws.readyState !== WebSocket.OPEN)
		return;
	frame.ref = ++ref;
	if (onOk)
		pending.set(frame.ref, onOk);
	const s = json(frame);
	log('out', s);
	ws.send(s);
}

function onFrame(f) {
	log('in', f);
	switch (f.type) {
	case 'welcome':
		text($('whoami'), `conn ${f.conn} on node ${f.node}` +
		    (f.user ? ` as ${f.user}` : ''));
		break;
	case 'ok': {
		const fn = pending.get(f.ref);
		pending.delete(f.ref);
		if (fn)
			fn(f);
		break;
	}
	case 'error':
		pending.delete(f.ref);
		break;
	case 'member_joined':
		if (f.room === room) {
			members.set(f.member.conn, f.member);
			renderMembers();
		}
		break;
	case 'member_left':
		if (f.room === room) {
			members.delete(f.conn);
			renderMembers();
		}
		break;
	case 'state_changed':
		if (f.room === room) {
			if (f.value === null)
				state.delete(f.key);
			else
				state.set(f.key, f.value);
			renderState(f.state_version);
		}
		break;
	case 'evicted':
	case 'room_closed':
		if (f.room === room) {
			room = null;
			members.clear();
			renderMembers();
			setConnected(true);
		}
		break;
	}
}

function connect(ev) {
	ev.preventDefault();
	let url = $('url').value.trim();
	const token = $('token').value.trim();
	if (token)
		url += (url.includes('?') ? '&' : '?') + 'token=' +
		    encodeURIComponent(token);
	try {
		ws = new WebSocket(url, 'roomd.v1');
	} catch (e) {
		log('in', 'cannot connect: ' + e.message);
		return;
	}
	ws.onopen = () => setConnected(true);
	ws.onmessage = (m) => {
		let f;
		try { f = JSON.parse(m.data); } catch (e) { log('in', m.data); return; }
		onFrame(f);
	};
	ws.onclose = (e) => {
		log('in', `closed ${e.code} ${e.reason}`);
		ws = null;
		room = null;
		members.clear();
		renderMembers();
		setConnected(false);
	};
}

function join(ev) {
	ev.preventDefault();
	const r = $('room').value.trim();
	const frame = { type: 'join', room: r };
	const meta = $('meta').value.trim();
	if (meta) {
		try { frame.meta = JSON.parse(meta); } catch (e) {
			log('in', 'meta is not JSON: ' + e.message);
			return;
		}
	}
	send(frame, (ok) => {
		room = ok.room;
		members.clear();
		for (const m of ok.members)
			members.set(m.conn, m);
		state.clear();
		for (const k of Object.keys(ok.state))
			state.set(k, ok.state[k]);
		renderMembers();
		renderState(ok.state_version);
		setConnected(true);
	});
}

function leave() {
	if (room === null)
		return;
	const r = room;
	send({ type: 'leave', room: r }, () => {
		room = null;
		members.clear();
		renderMembers();
		setConnected(true);
	});
}

function publish(ev) {
	ev.preventDefault();
	const frame = { type: 'publish', room: room, event: $('event').value.trim() };
	const data = $('data').value.trim();
	if (data) {
		try { frame.data = JSON.parse(data); } catch (e) { frame.data = data; }
	}
	send(frame);
}

window.addEventListener('DOMContentLoaded', () => {
	const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
	$('url').value = `${scheme}//${location.host}/ws`;
	const q = new URLSearchParams(location.search);
	if (q.get('room'))
		$('room').value = q.get('room');
	$('connect-form').addEventListener('submit', connect);
	$('disconnect').addEventListener('click', () => ws && ws.close(1000));
	$('join-form').addEventListener('submit', join);
	$('leave').addEventListener('click', leave);
	$('publish-form').addEventListener('submit', publish);
	setConnected(false);
});
