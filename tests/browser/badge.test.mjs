// The unread badge of a closed widget (issue 20): a visitor with an open conversation and the
// widget closed sees how many operator messages they have not read, on the launcher and in its
// label; a reload keeps the count (the room's unread state after sync, not only live frames);
// opening the panel reads them and the badge goes. And the widget's size budgets: what a page
// loads from the chat's origin before the bubble shows, and with the panel open and connected.

import assert from 'node:assert/strict';
import { gzipSync } from 'node:zlib';
import { after, before, describe, test } from 'node:test';
import { assertClean, guard, launchBrowser, newPage, startStack } from './helpers.mjs';
import { W, consoleSignIn, evidence, inWidget, startSite, waitConsoleMessage, waitWidgetMessage, waitWidgetState, widgetSend } from './desk.mjs';

let stack;
let browser;
let site;

before(async () => {
  [stack, browser] = await Promise.all([startStack(), launchBrowser()]);
  site = await startSite(stack);
});

after(async () => {
  await browser?.close();
  await stack?.stop();
  await site?.close();
});

/** The badge as the visitor sees it: its text (null when hidden) and the launcher's label. */
const badge = (page) =>
  inWidget(page, (root) => {
    const b = root.querySelector('.badge');
    return { text: b.hidden ? null : b.textContent, label: root.querySelector('.bubble').getAttribute('aria-label') };
  });

const waitBadge = (page, text) =>
  page.waitForFunction(
    ({ tag, text }) => {
      const b = document.querySelector(tag)?.shadowRoot?.querySelector('.badge');
      return !!b && (text === null ? b.hidden : !b.hidden && b.textContent === text);
    },
    { tag: W, text },
    { timeout: 20_000 },
  );

describe('unread badge', { timeout: 120_000 }, () => {
  test(
    'operator replies to a closed widget count on the launcher (label and live region), survive a reload, and go when the panel opens',
    guard(async () => {
      let v;
      let op;
      await evidence('badge', () => ({ v, op }))(async () => {
        op = await newPage(browser, `${stack.origin}/console/`);
        await consoleSignIn(op, 'Olga', 'olga');
        v = await newPage(browser, `${site.origin}/shop?name=${encodeURIComponent('Bea Badge')}`);
        await v.page.click(`${W} .bubble`);
        await widgetSend(v.page, 'Where is my parcel?');
        await waitWidgetState(v.page, 'waiting');
        await op.page.click('#queue .queue-item .accept');
        await waitConsoleMessage(op.page, 'Where is my parcel?', { mine: false });
        await waitWidgetState(v.page, 'active');

        // The visitor closes the widget; nothing is unread.
        await v.page.keyboard.press('Escape');
        await v.page.waitForFunction((tag) => document.querySelector(tag).shadowRoot.querySelector('.panel').hidden, W);
        assert.deepEqual(await badge(v.page), { text: null, label: 'Open chat with Support' });

        // Two replies: "2", said in the launcher's label.
        for (const text of ['Let me look.', 'It left the warehouse today.']) {
          await op.page.fill('#composer-input', text);
          await op.page.press('#composer-input', 'Enter');
          await waitConsoleMessage(op.page, text, { mine: true });
        }
        await waitBadge(v.page, '2');
        assert.match((await badge(v.page)).label, /, 2 unread messages$/);

        // A reload, the widget still closed: the count comes back from the room's unread state, said
        // once in the polite live region.
        await v.page.reload();
        await waitBadge(v.page, '2');
        const after = await badge(v.page);
        assert.match(after.label, /, 2 unread messages$/);
        await v.page.waitForFunction((tag) => document.querySelector(tag).shadowRoot.querySelector('[aria-live="polite"]').textContent === 'Support: 2 unread messages', W);
        assert.equal(await inWidget(v.page, (root) => root.querySelector('.panel').hidden), true, 'still closed');

        // Open: the replies show and are read; the badge goes, and stays gone once closed again.
        await v.page.click(`${W} .bubble`);
        await waitWidgetMessage(v.page, 'It left the warehouse today.', { mine: false });
        await waitBadge(v.page, null);
        await waitConsoleMessage(op.page, 'It left the warehouse today.', { mine: true, status: 'read' });
        await v.page.keyboard.press('Escape');
        await v.page.waitForFunction((tag) => document.querySelector(tag).shadowRoot.querySelector('.panel').hidden, W);
        assert.equal((await badge(v.page)).text, null);
        assertClean(assert, v, op);
      });
      await Promise.all([v?.context.close(), op?.context.close()]);
    }, () => stack),
  );

  test(
    'size budgets: ≤ 15,000 bytes gzip from the chat origin before the bubble shows, ≤ 45,000 with the panel open and connected',
    guard(async () => {
      let v;
      await evidence('budget', () => ({ v }))(async () => {
        v = await newPage(browser, 'about:blank');
        /** @type {{url: string, body: Promise<number>}[]} every response of the chat's origin: its bytes, gzipped */
        const loaded = [];
        v.page.on('response', (r) => {
          if (!r.url().startsWith(stack.origin)) return;
          loaded.push({ url: new URL(r.url()).pathname, body: r.body().then((b) => gzipSync(b).length, () => 0) });
        });
        const total = async (list) => (await Promise.all(list.map((e) => e.body))).reduce((a, b) => a + b, 0);
        await v.page.goto(`${site.origin}/shop`);
        await v.page.waitForSelector(`${W} .bubble`, { state: 'visible' });
        const before = loaded.slice();
        const beforeBytes = await total(before);
        console.log(`before the bubble: ${beforeBytes} bytes gzip (${before.map((e) => e.url).join(', ')})`);
        assert.ok(beforeBytes <= 15_000, `${beforeBytes} bytes before the bubble`);
        assert.ok(!before.some((e) => e.url.includes('widget-panel')), 'no panel before the bubble');

        await v.page.click(`${W} .bubble`);
        await waitWidgetState(v.page, 'idle');
        await v.page.evaluate(() => new Promise((r) => requestIdleCallback(r, { timeout: 2000 })));
        const openBytes = await total(loaded);
        console.log(`panel open and connected: ${openBytes} bytes gzip (${loaded.map((e) => e.url).join(', ')})`);
        // Content-hashed: its name changes with every change of its bytes (cached a year on AWS).
        assert.ok(loaded.some((e) => /^\/dist\/widget-panel-[0-9A-Z]{8}\.js$/.test(e.url)), 'the panel came on demand, by its hashed name');
        assert.ok(openBytes <= 45_000, `${openBytes} bytes with the panel open`);
        assertClean(assert, v);
      });
      await v?.context.close();
    }, () => stack),
  );
});
