// dts.test.mjs: roomd.d.ts and roomd.js, both as roomd serves them, name
// the same things: every export, every public method and property of
// Client, Room and RoomdError is in both or in neither.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadRoomd, fetchText } from './lib.mjs';

const mod = await loadRoomd();
const dts = await fetchText('/roomd.d.ts');

// The d.ts: exported classes (with their methods and properties) and
// functions; a class body ends at the first line that is just "}".
function declared() {
	const out = { classes: {}, functions: new Set() };
	for (const m of dts.matchAll(/^export function (\w+)/gm))
		out.functions.add(m[1]);
	for (const m of dts.matchAll(/^export class (\w+)[^{]*\{\n([\s\S]*?)^\}/gm)) {
		const methods = new Set(), props = new Set(), optional = new Set();
		for (const line of m[2].split('\n')) {
			let x = /^ {2}(?:private )?(\w+)\s*[<(]/.exec(line);
			if (x && x[1] !== 'constructor') {
				methods.add(x[1]);
				continue;
			}
			x = /^ {2}(?:readonly )?(\w+)(\??):/.exec(line);
			if (x) {
				props.add(x[1]);
				if (x[2])
					optional.add(x[1]);
			}
		}
		out.classes[m[1]] = { methods, props, optional };
	}
	return out;
}

// Public methods of a class: own and inherited, not Object's or Error's.
function methodsOf(cls) {
	const names = new Set();
	for (let p = cls.prototype; p && p !== Object.prototype &&
	    p !== Error.prototype; p = Object.getPrototypeOf(p))
		for (const n of Object.getOwnPropertyNames(p))
			if (n !== 'constructor' && !n.startsWith('_') &&
			    typeof Object.getOwnPropertyDescriptor(p, n).value === 'function')
				names.add(n);
	return names;
}

function publicProps(obj) {
	return new Set(Object.keys(obj).filter((k) => !k.startsWith('_')));
}

const sorted = (s) => [...s].sort();
const d = declared();

test('the same exports', () => {
	const js = Object.keys(mod).sort();
	assert.deepEqual(js, sorted([...Object.keys(d.classes), ...d.functions]));
	for (const f of d.functions)
		assert.equal(typeof mod[f], 'function');
});

test('the same methods and properties in each class', () => {
	const FakeWS = function () {};
	const client = new mod.Client('ws://127.0.0.1:1/ws', { WebSocket: FakeWS });
	const instances = {
		Client: client,
		Room: new mod.Room(client, 'r', undefined),
		RoomdError: new mod.RoomdError('timeout', 'x'),
	};
	for (const [name, decl] of Object.entries(d.classes)) {
		assert.deepEqual(sorted(methodsOf(mod[name])), sorted(decl.methods),
		    `methods of ${name}`);
		const have = publicProps(instances[name]);
		for (const p of decl.props)
			if (!decl.optional.has(p))
				assert.ok(p in instances[name], `${name}.${p} is declared but missing`);
		for (const p of have)
			assert.ok(decl.props.has(p), `${name}.${p} is not declared`);
	}
});
