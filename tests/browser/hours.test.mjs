// Business hours, away behaviour and the pre-chat form in the widget (issue 20): the site's
// settings go through the real PUT /support/settings (a service token); the browser's clock is
// fixed (Playwright's clock) so what the widget computes never depends on when the tests run. The
// server's own hours check uses the real clock: "closed on the server" are hours never open
// (`days: {}`), "open" are hours always open; the Berlin weekday hours only matter to the widget.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { assertClean, guard, launchBrowser, mintToken, newPage, recorded, startStack, waitFor } from './helpers.mjs';
import { W, consoleSignIn, evidence, inWidget, startSite, waitConsoleMessage, waitWidgetMessage, waitWidgetState, widgetSend } from './desk.mjs';

let stack;
let browser;
let site;

const BERLIN = { timeZone: 'Europe/Berlin', days: Object.fromEntries(['mon', 'tue', 'wed', 'thu', 'fri'].map((d) => [d, [{ open: '09:00', close: '17:30' }]])), holidays: ['2026-12-25'] };
const ALWAYS = { timeZone: 'UTC', days: Object.fromEntries(['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'].map((d) => [d, [{ open: '00:00', close: '24:00' }]])) };
const NEVER = { timeZone: 'UTC', days: {} };
/** Saturday 13:00 in Berlin: closed; the next opening is Monday 09:00 Berlin = 03:00 in New York. */
const SATURDAY = '2026-12-05T12:00:00Z';
/** Tuesday 11:00 in Berlin: open. */
const TUESDAY = '2026-12-08T10:00:00Z';

async function putSettings(settings) {
  const token = await mintToken(stack, { sub: 'site-backend', role: 'service' });
  const res = await fetch(`${stack.origin}/api/support/settings`, { method: 'PUT', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify(settings) });
  assert.equal(res.status, 200, `PUT /support/settings: ${await res.text()}`);
}

/** A visitor in New York whose browser's clock is fixed at `time`, on the site's page `path`. */
async function visit(time, path = '/shop') {
  const context = await browser.newContext({ viewport: { width: 1100, height: 760 }, timezoneId: 'America/New_York', locale: 'en-US' });
  await context.clock.setFixedTime(new Date(time));
  const v = await recorded(context);
  v.requests = [];
  v.page.on('request', (r) => {
    if (r.url().startsWith(stack.origin)) v.requests.push(`${r.method()} ${new URL(r.url()).pathname}`);
  });
  await v.page.goto(`${site.origin}${path}`);
  return v;
}

/** The settings the widget applied (written to localStorage once fetched). */
const settingsApplied = (page, fragment) => page.waitForFunction((f) => Object.keys(localStorage).some((k) => k.startsWith('chat.widget.settings') && localStorage.getItem(k).includes(f)), fragment);
const notice = (page) => inWidget(page, (root) => (root.querySelector('.notice').hidden ? null : root.querySelector('.notice').textContent));
const startFrames = (v) => v.sent.map((f) => JSON.parse(f.startsWith('{') ? f : '{}')).filter((f) => f.action === 'support.start' && f.content);
/** The operator accepts the waiting visitor whose first message was `text` (other tests' visitors wait too). */
async function accept(op, v, text) {
  const item = op.page.locator('#queue .queue-item', { has: op.page.locator('.q-first', { hasText: text }) });
  await item.locator('.accept').click();
  await waitConsoleMessage(op.page, text, { mine: false });
  await waitWidgetState(v.page, 'active');
}

before(async () => {
  [stack, browser] = await Promise.all([startStack(), launchBrowser()]);
  site = await startSite(stack);
});

after(async () => {
  await browser?.close();
  await stack?.stop();
  await site?.close();
});

describe('business hours, away behaviour, pre-chat form', { timeout: 180_000 }, () => {
  test(
    'awayBehavior "message": outside hours the panel says when the team is back (visitor\'s zone) and the conversation is kept; inside hours with nobody online it says away',
    guard(async () => {
      let v;
      let w;
      await evidence('hours-message', () => ({ v, w }))(async () => {
        await putSettings({ awayBehavior: 'message', businessHours: BERLIN });
        v = await visit(SATURDAY);
        await settingsApplied(v.page, 'Europe/Berlin');
        await v.page.click(`${W} .bubble`);
        await waitWidgetState(v.page, 'away');
        const text = await notice(v.page);
        assert.match(text, /The team is away; we're back Monday.*03:00/, `the next opening, Monday 09:00 Berlin in New York time: ${text}`);
        assert.equal(await inWidget(v.page, (root) => root.querySelector('.composer').hidden), false, 'the composer is there');
        await widgetSend(v.page, 'Saturday question');
        await waitWidgetMessage(v.page, 'Saturday question', { mine: true, status: 'sent' });
        await waitWidgetState(v.page, 'away');
        // Kept: the next page shows it.
        await v.page.reload();
        await v.page.click(`${W} .bubble`);
        await waitWidgetMessage(v.page, 'Saturday question', { mine: true });
        assert.match(await notice(v.page), /we're back Monday/);

        // Inside hours (the widget's clock on a Tuesday): no away notice before the first message.
        w = await visit(TUESDAY);
        await settingsApplied(w.page, 'Europe/Berlin');
        await w.page.click(`${W} .bubble`);
        await waitWidgetState(w.page, 'idle');
        assert.equal(await notice(w.page), null);
        // Nobody is online (operatorsOnline: 0): away, without an opening time; the conversation goes on.
        await widgetSend(w.page, 'Tuesday question');
        await waitWidgetMessage(w.page, 'Tuesday question', { mine: true, status: 'sent' });
        await waitWidgetState(w.page, 'away');
        assert.equal(await notice(w.page), "The team is away; leave a message and we'll answer here.");
        assertClean(assert, v, w);
      });
      await Promise.all([v?.context.close(), w?.context.close()]);
    }, () => stack),
  );

  test(
    'awayBehavior "hide": outside hours no bubble and no request but widget.js and the settings; inside hours the chat works, and an open conversation keeps its panel after hours',
    guard(async () => {
      let v;
      let w;
      await evidence('hours-hide', () => ({ v, w }))(async () => {
        await putSettings({ awayBehavior: 'hide', businessHours: NEVER });
        v = await visit(SATURDAY);
        await settingsApplied(v.page, '"hide"');
        await v.page.waitForFunction((tag) => document.querySelector(tag)?.shadowRoot?.querySelector('.bubble')?.hidden === true, W);
        assert.equal(await v.page.isVisible(`${W} .bubble`), false, 'no bubble');
        await v.page.evaluate(() => window.ChatWidget.open());
        await v.page.evaluate(() => new Promise((r) => requestIdleCallback(r, { timeout: 2000 })));
        assert.equal(await v.page.isVisible(`${W} .panel`), false, 'open() shows nothing');
        assert.deepEqual(v.requests.sort(), ['GET /api/support/settings', 'GET /widget.js'], 'nothing else is asked');

        // Inside hours: the bubble, and a conversation.
        await putSettings({ awayBehavior: 'hide', businessHours: ALWAYS });
        w = await visit(SATURDAY);
        await settingsApplied(w.page, '"24:00"');
        await w.page.click(`${W} .bubble`);
        await widgetSend(w.page, 'Open hours question');
        await waitWidgetMessage(w.page, 'Open hours question', { mine: true, status: 'sent' });
        // After hours (the server's too), the next page: the open conversation keeps bubble and panel.
        await putSettings({ awayBehavior: 'hide', businessHours: NEVER });
        await w.page.reload();
        await settingsApplied(w.page, '"days":{}');
        await w.page.evaluate(() => new Promise((r) => requestAnimationFrame(() => r())));
        assert.equal(await w.page.isVisible(`${W} .bubble`), true, 'the bubble of an open conversation');
        await w.page.click(`${W} .bubble`);
        await waitWidgetMessage(w.page, 'Open hours question', { mine: true });
        await waitWidgetState(w.page, 'away');
        assertClean(assert, v, w);
      });
      await Promise.all([v?.context.close(), w?.context.close()]);
    }, () => stack),
  );

  test(
    'awayBehavior "email": outside hours an e-mail form replaces the composer; the e-mail (validated) reaches the operator; inside hours the composer',
    guard(async () => {
      let v;
      let w;
      let op;
      let r;
      await evidence('hours-email', () => ({ v, w, op, r }))(async () => {
        await putSettings({ awayBehavior: 'email', businessHours: BERLIN });
        // Inside hours: the composer, no form.
        w = await visit(TUESDAY);
        await settingsApplied(w.page, '"email"');
        await w.page.click(`${W} .bubble`);
        await waitWidgetState(w.page, 'idle');
        assert.equal(await w.page.isVisible(`${W} .gate`), false);
        assert.equal(await w.page.isVisible(`${W} textarea[aria-label="Message"]`), true);

        v = await visit(SATURDAY);
        await settingsApplied(v.page, '"email"');
        await v.page.click(`${W} .bubble`);
        await v.page.waitForSelector(`${W} .gate input[type="email"]`);
        assert.equal(await v.page.isVisible(`${W} .composer`), false, 'no composer');
        assert.match(await inWidget(v.page, (root) => root.querySelector('.gate').textContent), /Leave your e-mail and a message, and we'll answer there/);
        // A bad address: refused, said next to the field, which gets the focus.
        await v.page.fill(`${W} .gate input[type="email"]`, 'vera@');
        await v.page.fill(`${W} .gate textarea`, 'Please write back');
        await v.page.click(`${W} .gate button[type="submit"]`);
        const bad = await inWidget(v.page, (root) => {
          const i = root.querySelector('.gate input[type="email"]');
          return { invalid: i.getAttribute('aria-invalid'), said: root.getElementById(i.getAttribute('aria-describedby'))?.textContent, focused: root.activeElement === i };
        });
        assert.deepEqual(bad, { invalid: 'true', said: 'Enter an e-mail address like name@example.com.', focused: true });
        assert.equal(startFrames(v).length, 0, 'nothing sent');
        await v.page.fill(`${W} .gate input[type="email"]`, 'vera@example.com');
        // The visitor asks for the transcript (e-mailed when the session closes: shared/src/mail).
        await v.page.check(`${W} .gate input[type="checkbox"][name="transcript"]`);
        await v.page.click(`${W} .gate button[type="submit"]`);
        await waitWidgetMessage(v.page, 'Please write back', { mine: true, status: 'sent' });
        const { context } = startFrames(v)[0];
        assert.deepEqual([context.attributes.email, context.attributes.transcript, context.locale], ['vera@example.com', 'yes', 'en'], 'support.start carries the e-mail, the wish for a transcript and the language e-mails are written in');

        // The operator sees it in the visitor's details.
        op = await newPage(browser, `${stack.origin}/console/`);
        await consoleSignIn(op, 'Omar', 'omar');
        await accept(op, v, 'Please write back');
        await op.page.waitForSelector('#ctx-email-row:not([hidden])');
        assert.equal(await op.page.textContent('#ctx-email'), 'vera@example.com');
        assertClean(assert, v, w);

        // The visitor has gone; the e-mail's link (shared/src/mail/render.rs) opens the same
        // conversation in another browser, with the operator's reply, and leaves no id in the URL.
        const guestId = await v.page.evaluate(() => window.ChatWidget.getState().userId);
        assert.match(guestId, /^g_[0-9a-f]{32}$/);
        await v.context.close();
        await op.page.fill('#composer-input', 'We have written to you');
        await op.page.press('#composer-input', 'Enter');
        await waitConsoleMessage(op.page, 'We have written to you', { mine: true });
        r = await visit(SATURDAY, `/shop#chat-resume=${guestId}`);
        await waitWidgetMessage(r.page, 'We have written to you', { mine: false });
        await waitWidgetMessage(r.page, 'Please write back', { mine: true });
        assert.equal(await r.page.evaluate(() => location.hash), '', 'the link\'s fragment is removed');
        assert.equal(await r.page.evaluate(() => window.ChatWidget.getState().userId), guestId);
        assert.equal(await r.page.isVisible(`${W} .panel`), true, 'the panel is open');
      });
      await Promise.all([v?.context.close(), w?.context.close(), op?.context.close(), r?.context.close()]);
    }, () => stack),
  );

  test(
    'a settings change through PUT /support/settings shows on the next page load of a browser that cached the old ones',
    guard(async () => {
      let v;
      await evidence('settings-next-load', () => ({ v }))(async () => {
        const bubbleColor = (page) => inWidget(page, (root) => getComputedStyle(root.querySelector('.bubble')).backgroundColor);
        await putSettings({ brandColor: '#0f766e', launcherLabel: 'Ask Alpha' });
        v = await visit(TUESDAY);
        await settingsApplied(v.page, 'Ask Alpha');
        await v.page.waitForFunction((tag) => document.querySelector(tag)?.shadowRoot?.querySelector('.bubble')?.textContent.includes('Ask Alpha'), W);
        assert.equal(await bubbleColor(v.page), 'rgb(15, 118, 110)');
        // The site changes them; the same browser (with the old ones cached) loads the next page.
        await putSettings({ brandColor: '#7c3aed', launcherLabel: 'Ask Beta' });
        await v.page.goto(`${site.origin}/`);
        await v.page.waitForFunction((tag) => document.querySelector(tag)?.shadowRoot?.querySelector('.bubble')?.textContent.includes('Ask Beta'), W);
        await v.page.waitForFunction((tag) => getComputedStyle(document.querySelector(tag).shadowRoot.querySelector('.bubble')).backgroundColor === 'rgb(124, 58, 237)', W);
        assert.ok(v.requests.some((r) => r === 'GET /api/support/settings'), 'the settings were asked for again');
      });
      await v?.context.close();
    }, () => stack),
  );

  test(
    'the pre-chat form: required fields refused with errors tied to them; filled, the operator sees the name, e-mail, phone and choice; not asked again',
    guard(async () => {
      let v;
      let op;
      await evidence('prechat', () => ({ v, op }))(async () => {
        await putSettings({
          preChatForm: {
            enabled: true,
            fields: [
              { name: 'name', required: true },
              { name: 'email', required: true },
              { name: 'phone', required: false },
              { name: 'choice', required: true, label: 'What about?', options: ['Billing', 'Shipping'] },
            ],
          },
        });
        v = await visit(TUESDAY);
        const guestBodies = [];
        v.page.on('request', (r) => r.url().endsWith('/support/guest') && guestBodies.push(JSON.parse(r.postData() || '{}')));
        await settingsApplied(v.page, 'preChatForm');
        await v.page.click(`${W} .bubble`);
        await v.page.waitForSelector(`${W} .gate #cw-f-name`);
        assert.equal(await v.page.isVisible(`${W} .composer`), false, 'no composer before the form');
        assert.deepEqual(await inWidget(v.page, (root) => [...root.querySelectorAll('.gate label')].map((l) => l.textContent)), ['Name', 'E-mail', 'Phone (optional)', 'What about?', 'E-mail me a transcript of this chat']);

        // Nothing filled, a bad phone: errors on name, e-mail, phone and the choice; the name focused.
        await v.page.fill(`${W} #cw-f-phone`, 'call me');
        await v.page.click(`${W} .gate button[type="submit"]`);
        const errors = await inWidget(v.page, (root) =>
          [...root.querySelectorAll('.gate input:not([type="checkbox"]), .gate select')].map((i) => [i.name, i.getAttribute('aria-invalid'), root.getElementById(i.getAttribute('aria-describedby') || '-')?.textContent ?? null, root.activeElement === i]),
        );
        assert.deepEqual(errors, [
          ['name', 'true', 'Please fill this in.', true],
          ['email', 'true', 'Please fill this in.', false],
          ['phone', 'true', 'Enter a phone number: digits, spaces and a leading +.', false],
          ['choice', 'true', 'Please fill this in.', false],
        ]);
        assert.equal(await v.page.isVisible(`${W} #cw-f-email-err`), true, 'the errors show');
        assert.equal(guestBodies.length, 0, 'no guest token before the form is done');

        await v.page.fill(`${W} #cw-f-name`, 'Nina Prechat');
        await v.page.fill(`${W} #cw-f-email`, 'nina@example.com');
        await v.page.fill(`${W} #cw-f-phone`, '+49 30 1234567');
        await v.page.selectOption(`${W} #cw-f-choice`, 'Shipping');
        await v.page.click(`${W} .gate button[type="submit"]`);
        await v.page.waitForSelector(`${W} textarea[aria-label="Message"]`);
        await widgetSend(v.page, 'Where is my parcel?');
        await waitWidgetMessage(v.page, 'Where is my parcel?', { mine: true, status: 'sent' });
        assert.equal(guestBodies.at(-1).name, 'Nina Prechat', 'the guest token carries the name');
        assert.deepEqual(startFrames(v)[0].context.attributes, { email: 'nina@example.com', phone: '+49 30 1234567', choice: 'Shipping' });

        op = await newPage(browser, `${stack.origin}/console/`);
        await consoleSignIn(op, 'Olga', 'olga');
        const item = op.page.locator('#queue .queue-item', { has: op.page.locator('.q-first', { hasText: 'Where is my parcel?' }) });
        assert.equal(await item.locator('.q-name').textContent(), 'Nina Prechat', 'the queue names the visitor');
        await accept(op, v, 'Where is my parcel?');
        await op.page.waitForSelector('#ctx-email-row:not([hidden])');
        assert.equal(await op.page.textContent('#ctx-email'), 'nina@example.com');

        // Known now: ending the conversation and starting another asks nothing.
        await v.page.click(`${W} .end-button`);
        await waitWidgetState(v.page, 'closed');
        await v.page.click(`${W} .new-conversation`);
        await waitFor(() => v.page.isVisible(`${W} textarea[aria-label="Message"]`), { message: 'the composer' });
        assert.equal(await v.page.isVisible(`${W} .gate`), false, 'no form for a known visitor');
        assertClean(assert, v);
      });
      await Promise.all([v?.context.close(), op?.context.close()]);
    }, () => stack),
  );
});
