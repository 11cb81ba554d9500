// The operator console's tools (issue 19): internal notes (shown as notes in the console, never in
// the visitor's widget), saved replies typed with "/" (placeholders filled), the Online/Away switch
// (stored across a reload), the Reports view, search finding a note, and axe-core on the new views.
// One stack, one browser and one host site for this file; each test has its own operators.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { assertClean, axeSerious, guard, launchBrowser, mintToken, newPage, screenshot, startStack, waitFor } from './helpers.mjs';
import { W, acceptVisitor, consoleSignIn, evidence, inWidget, startConversation, startSite, waitConsoleMessage, waitWidgetMessage, waitWidgetState, widgetSend } from './desk.mjs';

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

/** A REST call to the stack with a token; resolves with {status, body}. */
async function api(method, path, token, body) {
  const res = await fetch(`${stack.origin}/api${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null };
}

const adminToken = () => mintToken(stack, { sub: 'ada', name: 'Ada Admin', role: 'admin' });

/** A console signed in as `id`, with a visitor (`query`) who wrote `first` and was accepted. */
async function session(id, name, query, first) {
  const op = await newPage(browser, `${stack.origin}/console/`, { viewport: { width: 1280, height: 800 } });
  await consoleSignIn(op, name, id);
  const visitor = await startConversation(browser, site, op, query, first);
  await acceptVisitor(op, visitor, first);
  return { op, visitor };
}

/** Writes in the console's composer and sends (Enter), as a reply or a note. */
async function write(page, mode, text) {
  await page.check(`#composer-mode input[value="${mode}"]`);
  await page.fill('#composer-input', text);
  await page.press('#composer-input', 'Enter');
}

/** The console's notes, top to bottom. */
const consoleNotes = (page) => page.$$eval('#messages > li.inote', (els) => els.map((li) => ({ label: li.querySelector('.inote-label').textContent, text: li.querySelector('.content').textContent })));

describe('operator console: notes, saved replies, availability, reports, search', { timeout: 240_000 }, () => {
  test(
    'a note shows as a note in the console, survives a reload, is found by search, and never reaches the widget',
    guard(async () => {
      let op;
      let visitor;
      await evidence('notes', () => ({ op, visitor }))(async () => {
        ({ op, visitor } = await session('nora', 'Nora', { name: 'Vera' }, 'My parcel is late'));
        const secret = 'VIP customer zebrafinch refund approved';
        await write(op.page, 'note', secret);
        await op.page.waitForFunction((t) => [...document.querySelectorAll('#messages > li.inote .content')].some((c) => c.textContent === t), secret);
        assert.deepEqual(await consoleNotes(op.page), [{ label: 'Internal note · You (not seen by the visitor)', text: secret }]);
        assert.equal(await op.page.$$eval('#messages > li.msg .content', (els) => els.some((c) => c.textContent.includes('zebrafinch'))), false, 'a note is not a message');
        // Now a normal reply, after the note.
        await write(op.page, 'reply', 'Let me check that for you.');
        await waitWidgetMessage(visitor.page, 'Let me check that for you.', { mine: false });
        // The reply came after the note: had the note been sent to the visitor, it would be there now.
        assert.equal(await inWidget(visitor.page, (root) => root.textContent.includes('zebrafinch')), false, 'the widget shows no note');
        assert.equal(visitor.received.some((f) => f.includes('zebrafinch')), false, 'no frame to the visitor carries the note');
        const bg = await op.page.$eval('#messages > li.inote', (el) => getComputedStyle(el).backgroundColor);
        const bubble = await op.page.$eval('#messages > li.msg .bubble', (el) => getComputedStyle(el).backgroundColor);
        assert.notEqual(bg, bubble, 'a note looks different from a message');
        await screenshot(op.page, 'console-note');

        // A reload reads the notes again (history {notes: true}), interleaved by time.
        await op.page.reload();
        await op.page.waitForSelector('#conn[data-state="online"]', { timeout: 20_000 });
        await op.page.waitForSelector('#messages > li.inote', { timeout: 20_000 });
        await waitConsoleMessage(op.page, 'Let me check that for you.', { mine: true });
        await waitConsoleMessage(op.page, 'My parcel is late', { mine: false });
        const order = await op.page.$$eval('#messages > li.msg, #messages > li.inote', (els) => els.map((li) => li.querySelector('.content').textContent));
        assert.deepEqual(order, ['My parcel is late', secret, 'Let me check that for you.']);

        // Search finds the note (the index follows a moment behind: search again until it does).
        await waitFor(
          async () => {
            await op.page.fill('#search-input', 'zebrafinch');
            await op.page.press('#search-input', 'Enter');
            await op.page.waitForFunction(() => !/Searching/.test(document.getElementById('search-status').textContent));
            return op.page.$$eval('#search-results .search-hit[data-kind="note"]', (els) => els.length === 1);
          },
          { timeout: 20_000, interval: 300, message: 'the note in the search results' },
        );
        assert.match(await op.page.textContent('#search-results .search-hit .hit-snippet'), /^Note: .*zebrafinch/);
        assert.equal(await op.page.textContent('#search-results .search-hit mark'), 'zebrafinch');
        await op.page.click('#messages');
        await op.page.click('#search-results .search-hit button');
        await op.page.waitForFunction(() => document.getElementById('conv-title').textContent === 'Vera');
        assertClean(assert, visitor, op);
      });
      await Promise.all([op.context.close(), visitor.context.close()]);
    }, () => stack),
  );

  test(
    'a saved reply made by an admin (REST) is inserted by typing its shortcut, its placeholders filled',
    guard(async () => {
      let op;
      let visitor;
      await evidence('replies', () => ({ op, visitor }))(async () => {
        const admin = await adminToken();
        const made = await api('POST', '/support/replies', admin, { shortcut: 'greet', title: 'Greeting', text: 'Hello {visitor.name}, I am {operator.name}. We will write to {visitor.email}.' });
        assert.equal(made.status, 201, JSON.stringify(made.body));
        const operator = await mintToken(stack, { sub: 'otto', name: 'Otto', role: 'operator' });
        assert.equal((await api('POST', '/support/replies', operator, { shortcut: 'nope', text: 'x' })).status, 403, 'operators do not write saved replies');

        ({ op, visitor } = await session('otto', 'Otto', { name: 'Vera' }, 'Is anyone there?'));
        const p = op.page;
        await p.click('#composer-input');
        await p.keyboard.type('/gr');
        await p.waitForSelector('#reply-list:not([hidden]) [role="option"][data-shortcut="greet"]');
        assert.equal(await p.getAttribute('#composer-input', 'aria-activedescendant'), await p.getAttribute('#reply-list [role="option"][aria-selected="true"]', 'id'));
        // Escape closes the list and keeps the text; typing again opens it.
        await p.keyboard.press('Escape');
        await p.waitForSelector('#reply-list', { state: 'hidden' });
        assert.equal(await p.inputValue('#composer-input'), '/gr');
        await p.keyboard.type('e');
        await p.waitForSelector('#reply-list:not([hidden]) [role="option"][aria-selected="true"][data-shortcut="greet"]');
        await p.keyboard.press('Enter');
        const filled = 'Hello Vera, I am Otto. We will write to vera@example.com.';
        assert.equal(await p.inputValue('#composer-input'), filled, 'inserted, not sent; placeholders filled');
        assert.equal(await p.isHidden('#reply-list'), true);
        await p.keyboard.press('Enter');
        await waitWidgetMessage(visitor.page, filled, { mine: false });
        await waitConsoleMessage(p, filled, { mine: true });
        assertClean(assert, visitor, op);
      });
      await Promise.all([op.context.close(), visitor.context.close()]);
    }, () => stack),
  );

  test(
    'the operator switches to Away and back; the stored status survives a reload and reaches their other console',
    guard(async () => {
      let op;
      let other;
      await evidence('availability', () => ({ op, other }))(async () => {
        op = await newPage(browser, `${stack.origin}/console/`, { viewport: { width: 1280, height: 800 } });
        await consoleSignIn(op, 'Alma', 'alma');
        other = await newPage(browser, `${stack.origin}/console/`, { viewport: { width: 1280, height: 800 } });
        await consoleSignIn(other, 'Alma', 'alma');
        const state = (page) => page.evaluate(() => ({ checked: document.getElementById('availability').getAttribute('aria-checked'), text: document.getElementById('availability-text').textContent }));
        await op.page.waitForFunction(() => window.supportConsole.chat.availability() === 'online');
        assert.deepEqual(await state(op.page), { checked: 'true', text: 'Online' });
        await op.page.click('#availability');
        await op.page.waitForSelector('#availability[aria-checked="false"][data-status="away"]');
        assert.deepEqual(await state(op.page), { checked: 'false', text: 'Away' });
        // Alma's other console hears it.
        await other.page.waitForSelector('#availability[data-status="away"]');
        // Stored: a reload reads Away.
        await op.page.reload();
        await op.page.waitForSelector('#conn[data-state="online"]', { timeout: 20_000 });
        await op.page.waitForFunction(() => window.supportConsole.chat.availability() === 'away');
        assert.deepEqual(await state(op.page), { checked: 'false', text: 'Away' });
        await op.page.click('#availability');
        await op.page.waitForSelector('#availability[aria-checked="true"][data-status="online"]');
        await other.page.waitForSelector('#availability[data-status="online"]');
        assertClean(assert, op, other);
      });
      await Promise.all([op.context.close(), other.context.close()]);
    }, () => stack),
  );

  test(
    'the Reports view shows an answered, rated session (started 1, answered 1, CSAT 5); axe-core on reports and on a conversation with a note and the saved replies open',
    guard(async () => {
      let op;
      let visitor;
      await evidence('reports', () => ({ op, visitor }))(async () => {
        const admin = await adminToken();
        assert.equal((await api('POST', '/support/replies', admin, { shortcut: 'bye', text: 'Goodbye {visitor.name}!' })).status, 201);
        ({ op, visitor } = await session('rita', 'Rita', { name: 'Rosa' }, 'Where is my invoice?'));
        const p = op.page;
        await write(p, 'note', 'Invoice was resent on Monday');
        await p.waitForSelector('#messages > li.inote');
        await write(p, 'reply', 'I have sent it again.');
        await waitWidgetMessage(visitor.page, 'I have sent it again.', { mine: false });
        // axe: a conversation with a note, the saved replies list open.
        await p.check('#composer-mode input[value="reply"]');
        await p.click('#composer-input');
        await p.keyboard.type('/by');
        await p.waitForSelector('#reply-list:not([hidden]) [role="option"]');
        assert.deepEqual(await axeSerious(p), [], 'console: conversation with a note, saved replies open');
        await p.keyboard.press('Escape');
        await p.fill('#composer-input', '');

        // The visitor ends it and rates it 5.
        await visitor.page.click(`${W} .end-button`);
        await waitWidgetState(visitor.page, 'closed');
        await visitor.page.click(`${W} label[for="cw-star-5"]`);
        await visitor.page.click(`${W} form.rating button[type="submit"]`);
        await p.waitForSelector('#rating[data-score="5"]');

        // Rita's report (this stack has other operators' sessions too).
        await p.click('#view-reports');
        await p.waitForSelector('#reports:not([hidden])');
        const today = new Date().toISOString().slice(0, 10);
        assert.equal(await p.inputValue('#reports-to'), today, 'the range ends today (UTC)');
        assert.equal(await p.inputValue('#reports-from'), new Date(Date.now() - 6 * 86_400_000).toISOString().slice(0, 10), 'the last 7 days');
        await p.fill('#reports-operator', 'rita');
        const stat = (k) => p.textContent(`#reports-body [data-stat="${k}"] dd`);
        await waitFor(
          async () => {
            await p.click('#reports-form button[type="submit"]');
            await p.waitForFunction(() => /^Report|^Cannot/.test(document.getElementById('reports-status').textContent));
            return (await stat('csat')).startsWith('5.0');
          },
          { timeout: 20_000, interval: 300, message: "Rita's rated session in the report" },
        );
        assert.equal(await stat('started'), '1');
        assert.equal(await stat('answered'), '1');
        assert.equal(await stat('missed'), '0');
        assert.equal(await stat('csat'), '5.0 / 5 (1 rated)');
        assert.equal(await stat('csatDistribution'), '1★ 0 · 2★ 0 · 3★ 0 · 4★ 0 · 5★ 1');
        assert.match(await stat('firstResponse'), /^median \d+(\.\d)? (s|min) · p90 /);
        // Today's bars and the same numbers in the table; Rita's row.
        const row = await p.$$eval('#reports-body table.per-day tbody tr', (trs, d) => {
          const tr = trs.find((t) => t.querySelector('th').textContent === d);
          return [...tr.children].slice(1, 4).map((c) => c.textContent);
        }, today);
        assert.deepEqual(row, ['1', '1', '0']);
        assert.equal(await p.$$eval('#reports-body .chart .day', (els) => els.length), 7);
        assert.deepEqual(await p.$$eval('#reports-body table.per-operator tbody tr[data-operator-id="rita"] td', (tds) => tds.slice(0, 2).map((t) => t.textContent)), ['1', '1']);
        await screenshot(p, 'console-reports');
        assert.deepEqual(await axeSerious(p), [], 'console: reports view');
        assertClean(assert, visitor, op);
      });
      await Promise.all([op.context.close(), visitor.context.close()]);
    }, () => stack),
  );

  test(
    "the details list the visitor's earlier sessions (date, status, rating) and open one read-only; search lists sessions by the visitor's name",
    guard(async () => {
      let first;
      let op;
      let visitor;
      await evidence('earlier', () => ({ first, op, visitor }))(async () => {
        // Ivan answers Vera's first question, writes a note, closes it; she rates it 4.
        ({ op: first, visitor } = await session('ivan', 'Ivan', { name: 'Vera Earlier' }, 'First question about shipping'));
        await write(first.page, 'note', 'Asked about shipping to Norway');
        await first.page.waitForSelector('#messages > li.inote');
        await write(first.page, 'reply', 'Shipping takes 3 days.');
        await waitWidgetMessage(visitor.page, 'Shipping takes 3 days.', { mine: false });
        await first.page.click('#close-button');
        await waitWidgetState(visitor.page, 'closed');
        await visitor.page.click(`${W} label[for="cw-star-4"]`);
        await visitor.page.click(`${W} form.rating button[type="submit"]`);
        await first.page.waitForSelector('#rating[data-score="4"]');
        await first.context.close();
        first = null;

        // Her second question goes to Jana, who was not in the first session.
        op = await newPage(browser, `${stack.origin}/console/`, { viewport: { width: 1280, height: 800 } });
        await consoleSignIn(op, 'Jana', 'jana');
        await visitor.page.click(`${W} .new-conversation`);
        await widgetSend(visitor.page, 'A second question');
        await waitWidgetState(visitor.page, 'waiting');
        await op.page.waitForSelector('#queue .queue-item .accept');
        await acceptVisitor(op, visitor, 'A second question');
        const p = op.page;
        await p.waitForSelector('#earlier-list li.search-session button', { timeout: 20_000 });
        const line = await p.textContent('#earlier-list li .s-preview');
        assert.match(line, /closed · ★★★★☆$/, 'the status and the rating');
        assert.equal(await p.$$eval('#earlier-list li', (els) => els.length), 1, 'the other session only');

        // Opened read-only: its messages and its note, no composer, no close or transfer.
        await p.click('#earlier-list li button');
        await p.waitForSelector('#readonly-bar:not([hidden])');
        await waitConsoleMessage(p, 'First question about shipping', { mine: false });
        await waitConsoleMessage(p, 'Shipping takes 3 days.');
        assert.deepEqual((await consoleNotes(p)).map((n) => n.text), ['Asked about shipping to Norway']);
        assert.equal(await p.isHidden('#composer'), true);
        assert.equal(await p.isHidden('#composer-mode'), true);
        assert.equal(await p.isHidden('#close-form'), true);
        assert.match(await p.textContent('#conv-status'), /read-only/);
        await screenshot(p, 'console-earlier-readonly');

        // Search by her name lists both sessions.
        await p.fill('#search-input', 'Vera Earlier');
        await p.press('#search-input', 'Enter');
        await p.waitForFunction(() => document.querySelectorAll('#search-sessions li').length === 2);
        assertClean(assert, visitor, op);
      });
      await Promise.all([op?.context.close(), visitor?.context.close()]);
    }, () => stack),
  );

  test(
    'while the console tab is hidden, a new waiting visitor raises a desktop notification and a title count, cleared when visible',
    guard(async () => {
      let op;
      let visitor;
      await evidence('hidden', () => ({ op, visitor }))(async () => {
        op = await newPage(browser, `${stack.origin}/console/`, { viewport: { width: 1280, height: 800 } });
        await op.context.grantPermissions(['notifications'], { origin: stack.origin });
        // Records the notifications the page shows (Chromium headless shows none on screen).
        await op.page.evaluate(() => {
          const N = window.Notification;
          window.__shown = [];
          window.Notification = class extends N {
            constructor(title, options) {
              super(title, options);
              window.__shown.push({ title, body: options?.body });
            }
          };
        });
        await consoleSignIn(op, 'Hugo', 'hugo');
        await op.page.waitForSelector('#notify-button:disabled');
        assert.equal(await op.page.textContent('#notify-button'), 'Desktop notifications: on');
        // The tab goes to the background (the page's visibility, as the browser would set it).
        const setVisibility = (state) =>
          op.page.evaluate((state) => {
            Object.defineProperty(document, 'visibilityState', { configurable: true, get: () => state });
            document.dispatchEvent(new Event('visibilitychange'));
          }, state);
        await setVisibility('hidden');
        visitor = await startConversation(browser, site, op, { name: 'Nina' }, 'Anyone awake?');
        await op.page.waitForFunction(() => document.title === '(1) Support console');
        assert.deepEqual(await op.page.evaluate(() => window.__shown), [{ title: 'Support console', body: 'New visitor waiting: Nina' }]);
        await setVisibility('visible');
        await op.page.waitForFunction(() => !document.title.startsWith('(1) Support console'));
        assertClean(assert, visitor, op);
      });
      await Promise.all([op?.context.close(), visitor?.context.close()]);
    }, () => stack),
  );
});
