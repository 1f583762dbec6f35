// unauthorized.js: roomd's page in headless Chromium against a roomd with
// --auth-secret, given a bad token: the browser's WebSocket hides the 401,
// roomd.js finds it out and does not reconnect, and the page says so.
// Usage: node unauthorized.js HTTP_URL
'use strict';

const { chromium } = require('playwright-core');

const [url] = process.argv.slice(2);

function fail(msg) {
	console.error('browser: ' + msg);
	process.exit(1);
}

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
		await page.goto(url + '/', { timeout: 10000 });
		await page.fill('#token', 'not-a-token');
		await page.click('#connect');
		await page.waitForFunction(() => document.querySelector('#frames')
		    .textContent.includes('(not reconnecting)'), null, { timeout: 10000 });
		await page.waitForSelector('#status.off', { timeout: 5000 });
		// Well past the first backoff delays: no attempt was made.
		await page.waitForTimeout(1500);
		const n = await page.$eval('#reconnects', (el) => el.textContent);
		if (n !== '0')
			fail('reconnect attempts: ' + n);
		if (!(await page.$eval('#connect', (el) => !el.disabled)))
			fail('connect is not offered again');
		console.log('ok');
	} catch (e) {
		fail(e.message);
	} finally {
		clearTimeout(timer);
		await browser.close();
	}
})();
