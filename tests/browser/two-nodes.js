// two-nodes.js: opens roomd's page from two nodes in headless Chromium,
// joins both pages to one room and checks that each sees the other's
// events and presence, and that what strangers write is shown as text.
// With HOOK_DIR set (tests/lib/hooks.bash), node 1 is then killed and
// started again: page A reconnects through roomd.js and shows the frames
// it missed meanwhile as recovered.
// Usage: node two-nodes.js HTTP_URL_NODE1 HTTP_URL_NODE2 ROOM
'use strict';

const fs = require('fs');
const path = require('path');
const { chromium } = require('playwright-core');

// Ask bats to do cmd to its processes (see tests/lib/hooks.bash).
let hookSeq = 0;
async function hook(cmd) {
	const n = ++hookSeq, dir = process.env.HOOK_DIR;
	fs.writeFileSync(path.join(dir, `req.${n}.tmp`), cmd + '\n');
	fs.renameSync(path.join(dir, `req.${n}.tmp`), path.join(dir, `req.${n}`));
	const done = path.join(dir, `done.${n}`);
	for (let i = 0; i < 400 && !fs.existsSync(done); i++)
		await new Promise((r) => setTimeout(r, 50));
	if (!fs.existsSync(done) || fs.readFileSync(done, 'utf8').trim() !== '0')
		fail(`hook ${cmd} failed`);
}

async function send(page, event, data) {
	await page.fill('#event', event);
	await page.fill('#data', JSON.stringify(data));
	await page.click('#publish');
}

async function sees(page, s, timeout = 5000) {
	await page.waitForFunction((x) => document.querySelector('#frames')
	    .textContent.includes(x), s, { timeout });
}

const [url1, url2, room] = process.argv.slice(2);
const hostile = '<img src=x onerror="window.pwned=1">';

function fail(msg) {
	console.error('browser: ' + msg);
	process.exit(1);
}

async function open(browser, url) {
	const page = await browser.newPage();
	page.on('pageerror', (e) => fail('page error: ' + e.message));
	await page.goto(url + '/?room=' + room, { timeout: 10000 });
	await page.click('#connect');
	await page.waitForSelector('#status.on', { timeout: 5000 });
	await page.fill('#meta', JSON.stringify({ name: hostile }));
	await page.click('#join');
	await page.waitForSelector('#publish:not([disabled])', { timeout: 5000 });
	return page;
}

async function framesText(page) {
	return page.$eval('#frames', (el) => el.textContent);
}

(async () => {
	const browser = await chromium.launch({
		executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
		args: ['--headless', '--no-sandbox', '--disable-gpu',
		    '--disable-quic', '--no-first-run',
		    '--disable-background-networking',
		    '--disable-component-update', '--disable-sync'],
		timeout: 30000,
	});
	const timer = setTimeout(() => fail('timed out'), 60000);
	try {
		const a = await open(browser, url1);
		const b = await open(browser, url2);

		// A sees B join (B is on the other node), and both list two members.
		await a.waitForFunction(() =>
		    document.querySelectorAll('#members li').length === 2,
		    null, { timeout: 5000 });
		await b.waitForFunction(() =>
		    document.querySelectorAll('#members li').length === 2,
		    null, { timeout: 5000 });

		// A publishes; B, on the other node, sees the event.
		await a.fill('#event', 'chat');
		await a.fill('#data', JSON.stringify({ text: 'hello from a' }));
		await a.click('#publish');
		await b.waitForFunction(() => document.querySelector('#frames')
		    .textContent.includes('hello from a'), null, { timeout: 5000 });

		// And back: B publishes hostile markup, A shows it as text.
		await b.fill('#data', JSON.stringify({ text: hostile }));
		await b.click('#publish');
		await a.waitForFunction((h) => document.querySelector('#frames')
		    .textContent.includes(h.replace(/"/g, '\\"')), hostile,
		    { timeout: 5000 });
		for (const p of [a, b]) {
			const imgs = await p.$$eval('img', (els) => els.length);
			const pwned = await p.evaluate(() => window.pwned === 1);
			if (imgs !== 0 || pwned)
				fail('markup from a stranger was rendered');
		}
		const members = await a.$eval('#members', (el) => el.textContent);
		if (!members.includes('<img'))
			fail('member meta is not shown as text: ' + members);
		if (!(await framesText(b)).includes('member_joined'))
			fail('page B shows no member_joined frame');
		if (process.env.HOOK_DIR) {
			// Node 1 dies; B, on node 2, goes on publishing.
			await hook('roomd_kill n1');
			await a.waitForSelector('#status.wait', { timeout: 5000 });
			await send(b, 'chat', { text: 'while away 1' });
			await send(b, 'chat', { text: 'while away 2' });
			await sees(b, 'while away 2');
			// Node 1 is back: A reconnects, rejoins with since, and
			// shows the two frames it missed, marked recovered.
			await hook('roomd_respawn n1');
			await a.waitForFunction(() => {
				const r = [...document.querySelectorAll('#frames li.recovered')]
				    .map((li) => li.textContent).join('\n');
				return r.includes('while away 1') && r.includes('while away 2');
			}, null, { timeout: 20000 });
			await sees(a, 'recovered ');
			await a.waitForSelector('#status.on', { timeout: 5000 });
			const n = await a.$eval('#recoveries', (el) => Number(el.textContent));
			if (n < 2)
				fail('recovered count is ' + n);
			if (Number(await a.$eval('#reconnects', (el) => el.textContent)) < 1)
				fail('no reconnect shown');
			// And the room goes on both ways.
			await send(a, 'chat', { text: 'back from a' });
			await sees(b, 'back from a');
		}
		await a.screenshot({ path: process.env.SHOT || '/dev/null' });
		console.log('ok');
	} catch (e) {
		fail(e.message);
	} finally {
		clearTimeout(timer);
		await browser.close();
	}
})();
