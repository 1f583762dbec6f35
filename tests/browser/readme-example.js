// readme-example.js: the README's "In the browser" page, as written but
// pointed at a test node, in headless Chromium: it joins, shows its
// member, publishes, and shows the event.
// Usage: node readme-example.js README HOST:PORT
'use strict';

const fs = require('fs');
const { chromium } = require('playwright-core');

const [readme, host] = process.argv.slice(2);

function fail(msg) {
	console.error('readme example: ' + msg);
	process.exit(1);
}

const md = fs.readFileSync(readme, 'utf8');
const m = /## In the browser[\s\S]*?```html\n([\s\S]*?)```/.exec(md);
if (!m)
	fail('no html block under "In the browser"');
const html = m[1].replaceAll('127.0.0.1:7700', host);

(async () => {
	const browser = await chromium.launch({
		executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
		args: ['--headless', '--no-sandbox', '--disable-gpu',
		    '--no-first-run', '--disable-background-networking'],
		timeout: 30000,
	});
	const timer = setTimeout(() => fail('timed out'), 40000);
	try {
		const page = await browser.newPage();
		page.on('pageerror', (e) => fail('page error: ' + e.message));
		await page.setContent(html);
		await page.waitForFunction(() =>
		    document.querySelectorAll('#members li').length === 1 &&
		    document.querySelector('#count').textContent === '1',
		    null, { timeout: 10000 });
		await page.click('button');
		await page.waitForFunction(() => document.querySelector('#log')
		    .textContent.includes(': hello'), null, { timeout: 5000 });
		console.log('ok');
	} catch (e) {
		fail(e.message);
	} finally {
		clearTimeout(timer);
		await browser.close();
	}
})();
