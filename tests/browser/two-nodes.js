// two-nodes.js: opens roomd's page from two nodes in headless Chromium,
// joins both pages to one room and checks that each sees the other's
// events and presence, and that what strangers write is shown as text.
// Usage: node two-nodes.js HTTP_URL_NODE1 HTTP_URL_NODE2 ROOM
'use strict';

const { chromium } = require('playwright-core');

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
		await a.screenshot({ path: process.env.SHOT || '/dev/null' });
		console.log('ok');
	} catch (e) {
		fail(e.message);
	} finally {
		clearTimeout(timer);
		await browser.close();
	}
})();
