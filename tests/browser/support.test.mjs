// The support desk end to end: a third-party site with hostile CSS embeds the one-line widget
// (served by chat-dev, on another origin); a visitor talks to an operator working the console.
// One stack, one browser and one "site" (a tiny HTTP server on another port) for this file; every
// test uses its own visitors and operators (own browser contexts).

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { assertClean, guard, launchBrowser, newPage, screenshot, startStack, waitFor } from './helpers.mjs';
import { W, consoleMessages, consoleSignIn, evidence, inWidget, startSite, waitConsoleMessage, waitWidgetMessage, waitWidgetState, widgetMessages, widgetSend } from './desk.mjs';
import { ChatClient } from '../../web/sdk/chat.js';
import { FakeSocket, memoryStorage, until } from './fakes.mjs';

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

// ------------------------------------------------------------------ tests

describe('support desk', { timeout: 180_000 }, () => {
  test(
    'the team is away: the message is kept; the visitor waits once an operator comes; a reload resumes',
    guard(async () => {
      let visitor;
      let op;
      await evidence('away', () => ({ visitor, op }))(async () => {
        visitor = await newPage(browser, `${site.origin}/?name=${encodeURIComponent('Ann Away')}`);
        await visitor.page.waitForSelector(`${W} .bubble`);
        await visitor.page.click(`${W} .bubble`);
        await widgetSend(visitor.page, 'Is anyone there?');
        await waitWidgetState(visitor.page, 'away');
        assert.match(await inWidget(visitor.page, (root) => root.querySelector('.notice').textContent), /team is away; leave a message and we'll answer here/);
        await waitWidgetMessage(visitor.page, 'Is anyone there?', { mine: true, status: 'sent' });

        // An operator comes online: waiting visitors hear it (queue.position, operatorsOnline 1).
        op = await newPage(browser, `${stack.origin}/console/`);
        await consoleSignIn(op, 'Omar', 'omar');
        await waitWidgetState(visitor.page, 'waiting');
        await visitor.page.waitForSelector(`${W} .position[data-position="1"]`);
        await op.page.waitForSelector('#queue .queue-item .q-name');
        assert.equal(await op.page.textContent('#queue .queue-item .q-name'), 'Ann Away');
        assert.equal(await op.page.textContent('#queue .queue-item .q-first'), 'Is anyone there?');

        // A reload finds the same session (same guest id), its message, and its place in the queue.
        const before = await visitor.page.evaluate(() => window.ChatWidget.getState());
        await visitor.page.reload();
        await waitWidgetState(visitor.page, 'waiting');
        await visitor.page.waitForSelector(`${W} .position[data-position="1"]`);
        await waitWidgetMessage(visitor.page, 'Is anyone there?', { mine: true });
        const afterReload = await visitor.page.evaluate(() => window.ChatWidget.getState());
        assert.equal(afterReload.sessionId, before.sessionId, 'the same session');
        assert.equal(afterReload.userId, before.userId, 'the same guest id');
        assert.equal(afterReload.open, true, 'the panel stays open across a reload of the tab');
        assert.equal((await widgetMessages(visitor.page)).length, 1, 'the message once');

        // The visitor ends the chat: the queue empties.
        await visitor.page.click(`${W} .end-button`);
        await waitWidgetState(visitor.page, 'closed');
        await op.page.waitForSelector('#queue-empty:not([hidden])');
        assertClean(assert, visitor, op);
      });
      await Promise.all([visitor.context.close(), op.context.close()]);
    }, () => stack),
  );

  test(
    'a visitor on a hostile site talks to an operator: queue, accept, chat, close, rating, reload',
    guard(async () => {
      let visitor;
      let op;
      await evidence('main', () => ({ visitor, op }))(async () => {
        const visitorName = 'Vera <b>Visitor</b> <img src=x onerror=alert(1)>';
        const opName = 'Olga <i>ops</i>';
        const attrs = { plan: 'pro', cart: '<script>alert(2)</script>' };

        // The operator is on duty first.
        op = await newPage(browser, `${stack.origin}/console/`, { viewport: { width: 1280, height: 800 } });
        await consoleSignIn(op, opName, 'olga');
        assert.doesNotMatch(await op.page.title(), /New visitor/);

        visitor = await newPage(browser, `${site.origin}/shop?name=${encodeURIComponent(visitorName)}&attrs=${encodeURIComponent(JSON.stringify(attrs))}`);
        const vp = visitor.page;
        await vp.waitForSelector(`${W} .bubble`);

        // It looks right on a page whose CSS is hostile: sizes in px, its own fonts.
        const closedLook = await inWidget(vp, (root) => {
          const b = root.querySelector('.bubble');
          const r = b.getBoundingClientRect();
          return { w: b.offsetWidth, h: b.offsetHeight, right: innerWidth - r.right, bottom: innerHeight - r.bottom, panelHidden: root.querySelector('.panel')?.hidden ?? true }; // (no panel until it opens)
        });
        assert.deepEqual(closedLook, { w: 60, h: 60, right: 20, bottom: 20, panelHidden: true }, 'a 60 px bubble, 20 px from the bottom-right corner');
        const hostFont = await vp.evaluate(() => getComputedStyle(document.body).fontSize);
        assert.equal(hostFont, '40px', 'the host page really is hostile');

        // Open with the keyboard: focus moves into the panel; Esc closes and focus goes back.
        await vp.focus(`${W} .bubble`);
        await vp.keyboard.press('Enter');
        await waitWidgetState(vp, 'idle');
        const openLook = await inWidget(vp, (root) => {
          const p = root.querySelector('.panel');
          const r = p.getBoundingClientRect();
          const fs = (sel) => getComputedStyle(root.querySelector(sel)).fontSize;
          return {
            panel: { w: Math.round(r.width), h: Math.round(r.height), right: Math.round(innerWidth - r.right) },
            fonts: { root: fs('.root'), greeting: fs('.greeting'), title: fs('.title'), input: fs('textarea'), family: getComputedStyle(root.querySelector('.greeting')).fontFamily },
            focus: root.activeElement?.getAttribute('aria-label'),
            live: !!root.querySelector('[aria-live="polite"]'),
            labelled: [...root.querySelectorAll('button, textarea, input')].filter((el) => !el.hidden && !el.closest('[hidden]')).every((el) => el.getAttribute('aria-label') || el.textContent.trim() || el.labels?.length),
          };
        });
        assert.ok(openLook.panel.w >= 340 && openLook.panel.w <= 420, `panel width ${openLook.panel.w}`);
        assert.ok(openLook.panel.h >= 480 && openLook.panel.h <= 640, `panel height ${openLook.panel.h}`);
        assert.equal(openLook.panel.right, 20);
        assert.deepEqual({ ...openLook.fonts, family: undefined }, { root: '14px', greeting: '14px', title: '16px', input: '14px', family: undefined }, 'the widget sets its own font sizes');
        assert.doesNotMatch(openLook.fonts.family, /^serif$/);
        assert.equal(openLook.focus, 'Message', 'focus is in the composer');
        assert.ok(openLook.live, 'an aria-live region');
        assert.ok(openLook.labelled, 'every control has a name');
        await vp.keyboard.press('Escape');
        await vp.waitForFunction((tag) => document.querySelector(tag).shadowRoot.querySelector('.panel').hidden, W);
        assert.equal(await inWidget(vp, (root) => root.activeElement?.classList.contains('bubble')), true, 'focus back on the bubble');
        await vp.keyboard.press('Enter');
        await vp.waitForFunction((tag) => !document.querySelector(tag).shadowRoot.querySelector('.panel').hidden, W);

        // The first message starts the session: waiting, number 1 in line.
        const first = 'Hello <b>there</b> & <img src=x onerror=alert(3)>';
        await widgetSend(vp, first);
        await waitWidgetState(vp, 'waiting');
        await vp.waitForSelector(`${W} .position[data-position="1"]`);
        assert.match(await inWidget(vp, (root) => root.querySelector('.notice').textContent), /You are number 1 in line\./);
        await waitWidgetMessage(vp, first, { mine: true });
        assert.equal(await inWidget(vp, (root) => root.querySelectorAll('.list img, .list b').length), 0, 'markup in the message is text');

        // The operator hears of the new visitor (title, sound) and sees them in the queue, as text.
        await op.page.waitForSelector('#queue .queue-item');
        await op.page.waitForFunction(() => document.title.startsWith('(1) New visitor'));
        assert.ok((await op.page.evaluate(() => window.supportConsole.alerts)) >= 1, 'a new-visitor alert');
        assert.equal(await op.page.textContent('#queue .queue-item .q-name'), visitorName);
        assert.equal(await op.page.textContent('#queue .queue-item .q-first'), first);
        assert.match(await op.page.textContent('#queue .queue-item .q-page'), /^localhost:\d+\/shop$/);
        const waited1 = await op.page.textContent('#queue .queue-item .q-wait');
        await op.page.waitForFunction((w) => document.querySelector('#queue .queue-item .q-wait')?.textContent !== w, waited1, { timeout: 5000 });
        assert.equal(await op.page.$$eval('#queue img, #queue b, #queue script', (els) => els.length), 0);

        // Accept: the conversation opens with the visitor's context; the visitor sees who answers.
        await op.page.click('#queue .queue-item .accept');
        await waitConsoleMessage(op.page, first, { mine: false });
        await op.page.waitForSelector('#queue-empty:not([hidden])');
        assert.equal(await op.page.textContent('#conv-title'), visitorName);
        assert.equal(await op.page.textContent('#mine .session-item .s-name'), visitorName);
        assert.match(await op.page.textContent('#ctx-page'), /^http:\/\/localhost:\d+\/shop\?name=/);
        assert.match(await op.page.textContent('#ctx-ua'), /Chrom/);
        assert.notEqual(await op.page.textContent('#ctx-locale'), '—');
        const shownAttrs = await op.page.$$eval('#ctx-attrs dt, #ctx-attrs dd', (els) => els.map((e) => e.textContent));
        assert.deepEqual(shownAttrs, ['cart', '<script>alert(2)</script>', 'email', 'vera@example.com', 'plan', 'pro']);
        await waitWidgetState(vp, 'active');
        await vp.waitForFunction(({ tag, name }) => document.querySelector(tag).shadowRoot.querySelector('.title').textContent === name, { tag: W, name: opName });
        assert.equal(await inWidget(vp, (root) => root.querySelectorAll('.head i').length), 0, "the operator's name is text");

        // Typing, both ways.
        await op.page.fill('#composer-input', 'Let me');
        await op.page.type('#composer-input', ' check');
        await vp.waitForFunction(({ tag, name }) => document.querySelector(tag).shadowRoot.querySelector('.typing').textContent === `${name} is typing…`, { tag: W, name: opName });
        // The visitor closes the panel: the answer shows as an unread badge on the bubble.
        await vp.keyboard.press('Escape');
        await vp.waitForFunction((tag) => document.querySelector(tag).shadowRoot.querySelector('.panel').hidden, W);
        await op.page.fill('#composer-input', 'Hi Vera! <i>How</i> can I help?');
        await op.page.press('#composer-input', 'Enter');
        await vp.waitForFunction((tag) => {
          const b = document.querySelector(tag).shadowRoot.querySelector('.badge');
          return !b.hidden && b.textContent === '1';
        }, W);
        assert.match(await inWidget(vp, (root) => root.querySelector('.bubble').getAttribute('aria-label')), /1 unread message/);
        await vp.waitForFunction(({ tag, text }) => document.querySelector(tag).shadowRoot.querySelector('[aria-live="polite"]').textContent === text, { tag: W, text: `${opName}: Hi Vera! <i>How</i> can I help?` });
        await vp.keyboard.press('Enter'); // focus is on the bubble
        await waitWidgetMessage(vp, 'Hi Vera! <i>How</i> can I help?', { mine: false });
        await vp.waitForFunction((tag) => document.querySelector(tag).shadowRoot.querySelector('.badge').hidden, W);
        await waitConsoleMessage(op.page, 'Hi Vera! <i>How</i> can I help?', { mine: true, status: 'read' });
        const theirs = (await widgetMessages(vp)).find((m) => !m.mine);
        assert.equal(theirs.who, opName);
        // A message from someone who then stops typing clears the indicator.
        await vp.waitForFunction((tag) => document.querySelector(tag).shadowRoot.querySelector('.typing').textContent === '', W);

        await vp.type(`${W} textarea[aria-label="Message"]`, 'My order');
        await op.page.waitForFunction((name) => document.getElementById('typing').textContent === `${name} is typing…`, visitorName);
        await vp.type(`${W} textarea[aria-label="Message"]`, ' #42 is late');
        await vp.press(`${W} textarea[aria-label="Message"]`, 'Enter');
        await waitConsoleMessage(op.page, 'My order #42 is late', { mine: false });
        // The operator has the conversation open: the visitor's ticks go to read.
        await waitWidgetMessage(vp, 'My order #42 is late', { mine: true, status: 'read' });
        await op.page.fill('#composer-input', 'Sorry about that: a refund is on its way.');
        await op.page.press('#composer-input', 'Enter');
        await waitWidgetMessage(vp, 'Sorry about that: a refund is on its way.', { mine: false });
        await waitConsoleMessage(op.page, 'Sorry about that: a refund is on its way.', { mine: true, status: 'read' });

        const expected = [first, 'Hi Vera! <i>How</i> can I help?', 'My order #42 is late', 'Sorry about that: a refund is on its way.'];
        assert.deepEqual((await widgetMessages(vp)).map((m) => m.text), expected, 'the visitor sees each message once, in order');
        assert.deepEqual((await consoleMessages(op.page)).map((m) => m.text), expected, 'the operator sees each message once, in order');
        assert.equal(await op.page.$$eval('#messages img, #messages i, #messages b', (els) => els.length), 0, 'markup in messages is text in the console');
        assert.equal(await inWidget(vp, (root) => root.querySelectorAll('.list img, .list i, .list b').length), 0, 'markup in messages is text in the widget');

        await screenshot(vp, 'support-widget-desktop');
        await screenshot(op.page, 'support-console');

        // A narrow phone: the panel fills the screen, still with the widget's own sizes.
        await vp.setViewportSize({ width: 360, height: 740 });
        await vp.waitForFunction((tag) => {
          const r = document.querySelector(tag).shadowRoot.querySelector('.panel').getBoundingClientRect();
          return r.width === 360 && r.height === 740;
        }, W);
        const narrow = await inWidget(vp, (root) => ({ bubble: getComputedStyle(root.querySelector('.bubble')).display, text: getComputedStyle(root.querySelector('.text')).fontSize, scroll: document.documentElement.scrollWidth }));
        assert.deepEqual(narrow, { bubble: 'none', text: '14px', scroll: 360 });
        await screenshot(vp, 'support-widget-360');
        await vp.setViewportSize({ width: 1100, height: 720 });

        // The operator closes with a resolution; the visitor is asked for a rating.
        await op.page.fill('#close-resolution', 'Refund issued');
        await op.page.click('#close-button');
        await waitWidgetState(vp, 'closed');
        await vp.waitForSelector(`${W} form.rating`);
        await op.page.waitForSelector('#conv-status[data-status="closed"]');
        assert.equal(await op.page.textContent('#resolution'), 'Resolution: Refund issued');
        assert.ok(await op.page.isHidden('#composer'));

        await vp.click(`${W} label[for="cw-star-5"]`);
        await vp.fill(`${W} form.rating textarea`, 'Quick and kind <3 <b>thanks</b>');
        await vp.waitForSelector(`${W} .stars[data-score="5"]`);
        await screenshot(vp, 'support-widget-rating');
        await vp.click(`${W} form.rating button[type="submit"]`);
        await vp.waitForSelector(`${W} .thanks`);
        assert.match(await inWidget(vp, (root) => root.querySelector('.thanks').textContent), /Thanks for your feedback! You rated this conversation 5 out of 5\./);

        await op.page.waitForSelector('#rating[data-score="5"]');
        assert.equal(await op.page.textContent('#rating .score'), '5/5');
        assert.equal(await op.page.textContent('#rating .comment'), 'Quick and kind <3 <b>thanks</b>');
        await op.page.waitForSelector('#closed .session-item .stars-small');
        await screenshot(op.page, 'support-console-rated');

        const events = await vp.evaluate(() => window.__widgetEvents);
        for (const e of ['open', 'close', 'state:idle', 'state:waiting', 'state:active', 'state:closed', 'message:mine', 'message:theirs']) assert.ok(events.includes(e), `widget event ${e} in ${events}`);

        // A reload restores the conversation: its messages, closed, with the thanks.
        const state = await vp.evaluate(() => window.ChatWidget.getState());
        await vp.reload();
        await waitWidgetState(vp, 'closed');
        await vp.waitForSelector(`${W} .thanks`);
        await waitWidgetMessage(vp, expected[3], { mine: false });
        assert.deepEqual((await widgetMessages(vp)).map((m) => m.text), expected);
        const restored = await vp.evaluate(() => window.ChatWidget.getState());
        assert.equal(restored.sessionId, state.sessionId);
        assert.equal(restored.userId, state.userId);
        await screenshot(vp, 'support-widget-restored');

        // And a new conversation can start from there.
        await vp.click(`${W} .new-conversation`);
        await waitWidgetState(vp, 'idle');
        assert.deepEqual(await widgetMessages(vp), []);

        assertClean(assert, visitor, op);
      });
      await Promise.all([visitor.context.close(), op.context.close()]);
    }, () => stack),
  );

  test(
    'two operators race for a visitor with two tabs; the winner transfers the session to the other',
    guard(async () => {
      let visitor;
      let amy;
      let ben;
      let tab2;
      await evidence('transfer', () => ({ visitor, amy, ben, tab2 }))(async () => {
        [amy, ben] = await Promise.all([newPage(browser, `${stack.origin}/console/`), newPage(browser, `${stack.origin}/console/`)]);
        await Promise.all([consoleSignIn(amy, 'Amy', 'amy'), consoleSignIn(ben, 'Ben', 'ben')]);

        // The visitor opens the chat in one tab (and gets a guest id), then opens a second tab.
        visitor = await newPage(browser, `${site.origin}/?name=Tom`);
        await visitor.page.click(`${W} .bubble`);
        await waitWidgetState(visitor.page, 'idle');
        await visitor.page.waitForFunction(() => window.ChatWidget.getState().userId);
        const page2 = await visitor.context.newPage();
        tab2 = { context: visitor.context, page: page2, errors: [], dialogs: [], sent: [], received: [], console: [] };
        page2.on('pageerror', (e) => tab2.errors.push(e.message));
        page2.on('dialog', (d) => (tab2.dialogs.push(d.message()), d.dismiss().catch(() => {})));
        page2.on('websocket', (ws) => {
          ws.on('framesent', (f) => tab2.sent.push(String(f.payload)));
          ws.on('framereceived', (f) => tab2.received.push(String(f.payload)));
        });
        await page2.goto(`${site.origin}/?name=Tom`);
        await page2.waitForFunction(() => window.ChatWidget?.getState().state === 'idle');
        assert.equal(await page2.evaluate(() => window.ChatWidget.getState().userId), await visitor.page.evaluate(() => window.ChatWidget.getState().userId), 'the same guest in both tabs');

        // The first tab starts the conversation; the second one follows it.
        await widgetSend(visitor.page, 'Two tabs here');
        await waitWidgetState(visitor.page, 'waiting');
        // (`waiting` shows from the first message on; the session id once the server answered.)
        const sessionId = await visitor.page.waitForFunction(() => window.ChatWidget.getState().sessionId).then((h) => h.jsonValue());
        assert.match(sessionId, /^sp_/);
        await page2.waitForFunction((id) => window.ChatWidget.getState().sessionId === id, sessionId);
        await waitWidgetState(page2, 'waiting');

        // Both operators click Accept at once: exactly one gets the visitor.
        await Promise.all([amy.page.waitForSelector('#queue .queue-item .accept'), ben.page.waitForSelector('#queue .queue-item .accept')]);
        await Promise.all([amy, ben].map((o) => o.page.evaluate(() => document.querySelector('#queue .queue-item .accept').click())));
        const winnerIs = await waitFor(
          async () => {
            const [a, b] = await Promise.all([amy, ben].map((o) => o.page.evaluate((id) => !!document.querySelector(`#mine .session-item[data-session-id="${id}"]`), sessionId)));
            return a ? 'amy' : b ? 'ben' : null;
          },
          { message: 'a winner' },
        );
        const [winner, loser, loserId, loserName] = winnerIs === 'amy' ? [amy, ben, 'ben', 'Ben'] : [ben, amy, 'amy', 'Amy'];
        await loser.page.waitForFunction(() => /^Too late: /.test(document.getElementById('toast').textContent));
        assert.equal(await loser.page.$$eval('#mine .session-item', (els) => els.length), 0, 'the loser has no session');
        await waitWidgetState(visitor.page, 'active');

        // The winner hands the visitor over.
        await waitConsoleMessage(winner.page, 'Two tabs here', { mine: false });
        await winner.page.fill('#transfer-to', loserId);
        await winner.page.click('#transfer-button');
        await winner.page.waitForFunction(() => /was transferred to/.test(document.getElementById('toast').textContent));
        await winner.page.waitForSelector('#mine-empty:not([hidden])');
        assert.equal(await winner.page.isVisible('#no-session'), true, 'the conversation left the winner');
        await loser.page.waitForSelector(`#mine .session-item[data-session-id="${sessionId}"]`);
        await loser.page.waitForFunction(() => /was transferred to you/.test(document.getElementById('toast').textContent));
        await loser.page.click(`#mine .session-item[data-session-id="${sessionId}"] .session-button`);
        await waitConsoleMessage(loser.page, 'Two tabs here', { mine: false });
        for (const p of [visitor.page, page2]) await p.waitForFunction(({ tag, name }) => document.querySelector(tag).shadowRoot.querySelector('.title').textContent === name, { tag: W, name: loserName });

        // Both tabs get the new operator's messages live.
        await loser.page.fill('#composer-input', `${loserName} here, I will take it from here.`);
        await loser.page.press('#composer-input', 'Enter');
        await waitWidgetMessage(visitor.page, `${loserName} here, I will take it from here.`, { mine: false });
        await page2.click(`${W} .bubble`);
        await waitWidgetMessage(page2, `${loserName} here, I will take it from here.`, { mine: false });
        await waitWidgetMessage(page2, 'Two tabs here', { mine: true });

        // The visitor ends it in the second tab; the first tab and the operator see it end.
        await page2.click(`${W} .end-button`);
        await waitWidgetState(page2, 'closed');
        await waitWidgetState(visitor.page, 'closed');
        await loser.page.waitForSelector('#conv-status[data-status="closed"]');
        assertClean(assert, visitor, tab2, amy, ben);
      });
      await Promise.all([visitor.context.close(), amy.context.close(), ben.context.close()]);
    }, () => stack),
  );

  test(
    'identity validation: with a token the site signed, the visitor is the site\'s user',
    guard(async () => {
      let visitor;
      let op;
      await evidence('identity', () => ({ visitor, op }))(async () => {
        // The site signs a token for its user (here chat-dev signs it with the stack's secret).
        const t = await (await fetch(`${stack.origin}/_dev/token?${new URLSearchParams({ sub: 'site-user-42', name: 'Sam Site', role: 'user' })}`)).json();
        op = await newPage(browser, `${stack.origin}/console/`);
        await consoleSignIn(op, 'Ida', 'ida');
        visitor = await newPage(browser, `${site.origin}/?${new URLSearchParams({ name: 'Sam Site', token: t.token })}`);
        await visitor.page.waitForFunction(() => window.ChatWidget?.getState().userId === 'site-user-42');
        await visitor.page.click(`${W} .bubble`);
        await widgetSend(visitor.page, 'Signed in as myself');
        await waitWidgetState(visitor.page, 'waiting');
        await op.page.waitForSelector('#queue .queue-item');
        assert.equal(await op.page.textContent('#queue .queue-item .q-name'), 'Sam Site');
        await op.page.click('#queue .queue-item .accept');
        await waitConsoleMessage(op.page, 'Signed in as myself', { mine: false });
        assert.equal(await op.page.textContent('#ctx-id'), 'site-user-42');
        const attrs = await op.page.$$eval('#ctx-attrs dt, #ctx-attrs dd', (els) => els.map((e) => e.textContent));
        assert.deepEqual(attrs, ['userId', 'site-42']);
        const stored = await visitor.page.evaluate(() => Object.entries(localStorage).filter(([k]) => k.startsWith('chat.widget')).map(([, v]) => JSON.parse(v)));
        assert.ok(stored.every((v) => !v.guestId), `no guest id for a known user: ${JSON.stringify(stored)}`);
        await op.page.fill('#close-resolution', 'answered');
        await op.page.click('#close-button');
        await waitWidgetState(visitor.page, 'closed');
        assertClean(assert, visitor, op);
      });
      await Promise.all([visitor.context.close(), op.context.close()]);
    }, () => stack),
  );
});

// ------------------------------------------------------------------ the SDK's support frames, without a server

/** A client of `sub` connected to a fake socket, synced with `rooms`. */
async function fakeClient(sub, rooms = []) {
  FakeSocket.all = [];
  const token = `h.${Buffer.from(JSON.stringify({ sub })).toString('base64url')}.s`;
  const c = new ChatClient({ url: 'ws://test/local', token, WebSocket: FakeSocket, storage: memoryStorage(), gapDelay: 20, receiptDelay: 20 });
  c.connect();
  await until(() => FakeSocket.all.length === 1, 'a socket');
  const ws = FakeSocket.all[0];
  ws.open();
  await until(() => ws.frames('sync').length === 1, 'the sync');
  ws.receive({ type: 'sync', ref: ws.frames('sync')[0].ref, rooms: rooms.map((room) => ({ room, messages: [], hasMore: false, ver: 0, receipts: [], new: true })), hasMore: false });
  await until(() => c.ready, 'ready');
  return { c, ws };
}

const SID = 'sp_01TEST';
const session = (extra = {}) => ({ sessionId: SID, status: 'waiting', visitor: { userId: 'g_v', name: 'Vee' }, context: {}, createdAt: 1000, ...extra });
const supportView = (extra = {}) => ({ roomId: SID, type: 'support', name: 'Vee', createdBy: 'g_v', createdAt: 1000, lastSeq: 0, memberCount: 1, role: 'member', readSeq: 0, deliveredSeq: 0, unread: 0, session: session(), ...extra });
const message = (seq, senderId, content, extra = {}) => ({ roomId: SID, seq, id: `m${seq}`, senderId, kind: 'text', content, createdAt: 1000 + seq, ...extra });

describe('SDK: support frames (fake socket)', () => {
  test('a visitor starts a session: first message, room, queue position, operator, close, rating', async () => {
    const other = { ...supportView({ roomId: 'sp_OLD', session: session({ sessionId: 'sp_OLD', status: 'closed' }) }) };
    const { c, ws } = await fakeClient('g_v', [other]);
    const events = [];
    c.on('session', (e) => events.push(`${e.reason}:${e.session.status}`));
    c.on('queuePosition', (p) => events.push(`position:${p.position}`));
    c.on('operatorJoined', (e) => events.push(`joined:${e.name}`));

    const started = c.startSupport({ context: { url: 'https://shop.example/p' }, content: 'Hello <b>', clientId: 'c-1' });
    const f = ws.frames('support.start')[0];
    assert.deepEqual({ ...f, ref: undefined }, { action: 'support.start', context: { url: 'https://shop.example/p' }, content: 'Hello <b>', clientId: 'c-1', ref: undefined });
    ws.receive({ type: 'session.started', ref: f.ref, session: session(), created: true, operatorsOnline: 2 });
    ws.receive({ type: 'queue.position', sessionId: SID, position: 1, estimatedWaitSeconds: 60, operatorsOnline: 2 });
    // The ack comes before this client holds the room.
    ws.receive({ type: 'ack', clientId: 'c-1', message: message(1, 'g_v', 'Hello <b>', { clientId: 'c-1' }), duplicate: false });
    const res = await started;
    assert.deepEqual([res.created, res.operatorsOnline, res.session.status, res.clientId], [true, 2, 'waiting', 'c-1']);
    assert.deepEqual(c.queuePosition(SID), { sessionId: SID, position: 1, estimatedWaitSeconds: 60, operatorsOnline: 2 });

    // The room comes with a sync, read before the first message was stored (lastSeq 0).
    await until(() => ws.frames('sync').length === 2, 'a sync after the start');
    const sync = ws.frames('sync')[1];
    assert.deepEqual(Object.keys(sync.rooms), ['sp_OLD'], 'the rooms held');
    ws.receive({ type: 'sync', ref: sync.ref, rooms: [{ room: supportView(), messages: [], hasMore: false, ver: 0, receipts: [], new: true }], hasMore: false });
    await until(() => c.room(SID), 'the room');
    assert.deepEqual(c.messages(SID).map((m) => [m.seq, m.content, m.status]), [[1, 'Hello <b>', 'sent']], 'the first message, from its ack');
    assert.equal(c.room(SID).unread, 0, 'an own message is not unread');
    assert.equal(c.room(SID).session.status, 'waiting');

    ws.receive({ type: 'operator.joined', sessionId: SID, operatorId: 'op', name: 'Olga' });
    assert.deepEqual(c.session(SID).operator, { userId: 'op', name: 'Olga' });
    assert.equal(c.room(SID).session.status, 'active');
    // What a reload would read (the widget's "Olga joined" line keys on it): the time it was taken.
    const joinedAt = c.session(SID).acceptedAt;
    assert.ok(joinedAt > 0 && joinedAt <= Date.now(), `acceptedAt set live: ${joinedAt}`);
    // A view read before that (a late sync answer) does not take the session back.
    ws.receive({ type: 'room.updated', room: supportView({ lastSeq: 1 }) });
    assert.equal(c.session(SID).status, 'active');

    const closed = session({ status: 'closed', operator: { userId: 'op', name: 'Olga' }, closedAt: 5000, closedBy: 'op', resolution: 'done' });
    ws.receive({ type: 'session.closed', session: closed, ratingRequested: true });
    assert.equal(c.session(SID).status, 'closed');
    const rated = c.rateSession(SID, 5, '  great  ');
    const r = ws.frames('session.rate')[0];
    assert.deepEqual([r.sessionId, r.score, r.comment], [SID, 5, 'great']);
    ws.receive({ type: 'session.rated', ref: r.ref, session: { ...closed, rating: { score: 5, comment: 'great', ratedAt: 6000 } } });
    assert.equal((await rated).rating.score, 5);
    // A second rating: conflict.
    const again = c.rateSession(SID, 4);
    ws.receive({ type: 'error', ref: ws.frames('session.rate')[1].ref, code: 'conflict', message: 'the session was rated already', requestId: 'x' });
    await assert.rejects(again, (e) => e.code === 'conflict');
    assert.equal(c.session(SID).rating.score, 5);
    assert.deepEqual(events, ['started:waiting', 'position:1', 'joined:active', 'joined:Olga', 'closed:closed', 'rated:closed']);
    c.close();
  });

  test('an operator: queue, accept (with its messages), conflict, transfer away', async () => {
    const { c, ws } = await fakeClient('op');
    const queues = [];
    c.on('queue', (q) => queues.push(q.total));
    const q = c.supportQueue();
    const qf = ws.frames('support.queue')[0];
    const entry = { sessionId: SID, visitor: { userId: 'g_v', name: 'Vee' }, since: 1000, firstMessage: 'Hello', pageUrl: 'https://shop.example/p' };
    ws.receive({ type: 'queue.updated', ref: qf.ref, queue: [entry], total: 1, operatorsOnline: 1, estimatedWaitSeconds: 60 });
    assert.equal((await q).queue[0].firstMessage, 'Hello');
    assert.equal(c.queue().total, 1);

    const accepted = c.acceptSession(SID);
    const af = ws.frames('session.accept')[0];
    assert.equal(af.sessionId, SID);
    const active = session({ status: 'active', operator: { userId: 'op', name: 'Olga' }, acceptedAt: 2000 });
    ws.receive({ type: 'operator.joined', sessionId: SID, operatorId: 'op', name: 'Olga' });
    ws.receive({ type: 'session.accepted', ref: af.ref, session: active, room: supportView({ lastSeq: 2, memberCount: 2, role: 'admin', session: active }), messages: [message(2, 'g_v', 'second'), message(1, 'g_v', 'first')] });
    ws.receive({ type: 'queue.updated', queue: [], total: 0, operatorsOnline: 1, estimatedWaitSeconds: 60 });
    const a = await accepted;
    assert.equal(a.room.session.status, 'active');
    assert.deepEqual(c.messages(SID).map((m) => m.content), ['first', 'second'], 'its messages, oldest first');
    assert.equal(c.room(SID).hasOlder, false);
    await until(() => ws.frames('delivered').length === 1, 'a delivered receipt');
    assert.deepEqual(queues, [1, 0]);

    const lost = c.acceptSession('sp_OTHER');
    ws.receive({ type: 'error', ref: ws.frames('session.accept')[1].ref, code: 'conflict', message: 'the session was accepted by Omar', requestId: 'x' });
    await assert.rejects(lost, (e) => e.code === 'conflict');

    const moved = c.transferSession(SID, 'omar');
    const tf = ws.frames('session.transfer')[0];
    assert.deepEqual([tf.sessionId, tf.toOperatorId], [SID, 'omar']);
    ws.receive({ type: 'session.transferred', ref: tf.ref, session: { ...active, operator: { userId: 'omar', name: 'Omar' } }, from: { userId: 'op', name: 'Olga' }, to: { userId: 'omar', name: 'Omar' } });
    assert.equal((await moved).to.userId, 'omar');
    assert.equal(c.room(SID), undefined, 'the room left this operator');
    c.close();
  });
});
