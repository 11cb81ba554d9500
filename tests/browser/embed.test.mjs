// The widget as site owners run it (issue 20): the page's own globals are left alone; the
// launcher and the panel sit in the top layer (a transformed body, an overlay at the highest
// z-index); seven languages and right-to-left text; no request for a returning visitor with no open
// conversation; the site's settings (GET /support/settings), cached and overridden per page.
// One stack, one browser and one site (desk.mjs's, with the pages of this file) for the file.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { assertClean, guard, launchBrowser, newPage, startStack, waitFor } from './helpers.mjs';
import { W, evidence, inWidget, startSite, waitWidgetMessage, waitWidgetState, widgetSend } from './desk.mjs';
import { TEXTS } from '../../web/widget/i18n.js';

let stack;
let browser;
let site;

/**
 * A host page: `?tag=` (JSON: the widget tag's data-* attributes), `?lang=` (<html lang>),
 * `?kind=` transformed (body transform, 3,000 px tall, a full-viewport overlay at the highest
 * z-index that takes clicks), foreign (the page has its own window.ChatWidget), queue (plus the
 * documented command queue under data-global's name, with an open() queued).
 */
function embedPage(u) {
  const tag = JSON.parse(u.searchParams.get('tag') || '{}');
  const kind = u.searchParams.get('kind') || '';
  const attrs = Object.entries(tag)
    .map(([k, v]) => ` data-${k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}="${String(v).replace(/[&"<]/g, (c) => `&#${c.charCodeAt(0)};`)}"`)
    .join('');
  const lang = u.searchParams.get('lang') || 'en';
  const global = tag.global || 'ChatWidget';
  const head =
    kind === 'transformed'
      ? '<style>body { transform: translateZ(0); height: 3000px; margin: 0; } #overlay { position: fixed; inset: 0; z-index: 2147483647; background: rgba(0,0,0,.05); }</style>'
      : kind === 'foreign' || kind === 'queue'
        ? `<script>
  window.ChatWidget = { mine: 'the site\\'s own', open: function () { window.siteOpened = (window.siteOpened || 0) + 1; } };
  ${
    kind === 'queue'
      ? `window[${JSON.stringify(global)}] = window[${JSON.stringify(global)}] || { q: [] };
  ['open', 'close', 'toggle', 'setUser', 'setAttributes', 'on'].forEach(function (m) {
    var g = window[${JSON.stringify(global)}];
    g[m] = g[m] || function () { g.q.push([m, [].slice.call(arguments)]); };
  });
  window[${JSON.stringify(global)}].on('open', function () { window.queuedOpenHeard = true; });
  window[${JSON.stringify(global)}].open();`
      : ''
  }
</script>`
        : '';
  return `<!doctype html>
<html lang="${lang}">
<head><meta charset="utf-8"><title>Embed</title><link rel="icon" href="data:,">${head}</head>
<body>
<h1>A shop</h1>
${kind === 'transformed' ? '<div id="overlay"></div><script>window.overlayClicks = 0; document.getElementById("overlay").addEventListener("click", function () { window.overlayClicks++; });</script>' : ''}
<script src="${stack.origin}/widget.js" data-chat-url="${stack.origin}/api"${attrs} async></script>
</body>
</html>`;
}

const embed = (query) => `${site.origin}/embed?${new URLSearchParams(Object.fromEntries(Object.entries(query).map(([k, v]) => [k, typeof v === 'string' ? v : JSON.stringify(v)])))}`;

before(async () => {
  [stack, browser] = await Promise.all([startStack(), launchBrowser()]);
  site = await startSite(stack, { '/embed': embedPage });
});

after(async () => {
  await browser?.close();
  await stack?.stop();
  await site?.close();
});

const panelOpen = (page) => page.waitForFunction((tag) => document.querySelector(tag)?.shadowRoot?.querySelector('.panel')?.hidden === false, W);
const bubbleRect = (page) =>
  inWidget(page, (root) => {
    const r = root.querySelector('.bubble').getBoundingClientRect();
    return { x: r.x, y: r.y, w: r.width, h: r.height, vw: innerWidth, vh: innerHeight };
  });

describe('the widget as site owners run it', { timeout: 180_000 }, () => {
  test(
    "a page's own window.ChatWidget is left alone; the command queue works under data-global",
    guard(async () => {
      let a;
      let b;
      await evidence('globals', () => ({ a, b }))(async () => {
        // The page's own ChatWidget, no data-global: left alone, a warning; the API is on the element.
        a = await newPage(browser, embed({ kind: 'foreign' }));
        await a.page.waitForSelector(`${W} .bubble`);
        assert.equal(await a.page.evaluate(() => window.ChatWidget.mine), "the site's own");
        assert.equal(await a.page.evaluate(() => typeof window.ChatWidget.getState), 'undefined');
        assert.ok(a.console.some((l) => /^warning: Chat widget: window\.ChatWidget belongs to this page/.test(l)), `a warning: ${JSON.stringify(a.console)}`);
        await a.page.evaluate((tag) => document.querySelector(tag).api.open(), W);
        await panelOpen(a.page);
        assert.equal(await a.page.evaluate(() => window.siteOpened || 0), 0, "the site's open() was not called");

        // data-global="MyChat" with the documented stub: the queued open() and on() replay.
        b = await newPage(browser, embed({ kind: 'queue', tag: { global: 'MyChat' } }));
        await panelOpen(b.page);
        assert.equal(await b.page.evaluate(() => window.queuedOpenHeard), true, 'the queued on("open") heard the queued open()');
        assert.equal(await b.page.evaluate(() => typeof window.MyChat.getState), 'function');
        assert.equal(await b.page.evaluate(() => window.MyChat.getState().open), true);
        assert.equal(await b.page.evaluate(() => window.ChatWidget.mine), "the site's own");
        assert.ok(!b.console.some((l) => /Chat widget:/.test(l)), 'no warning when the name is free');
        assertClean(assert, a, b);
      });
      await Promise.all([a?.context.close(), b?.context.close()]);
    }, () => stack),
  );

  test(
    'top layer: a transformed 3,000 px body and an overlay at z-index 2147483647 neither move nor cover the bubble',
    guard(async () => {
      let v;
      await evidence('top-layer', () => ({ v }))(async () => {
        v = await newPage(browser, embed({ kind: 'transformed' }), { viewport: { width: 1280, height: 800 } });
        const vp = v.page;
        await vp.waitForSelector(`${W} .bubble`);
        const r = await bubbleRect(vp);
        assert.ok(r.y >= 0 && r.y + r.h <= r.vh && r.x + r.w <= r.vw, `the bubble is in the viewport: ${JSON.stringify(r)}`);
        assert.equal(Math.round(r.vh - (r.y + r.h)), 20, '20 px from the bottom of the window');
        // A real click at its centre (the overlay would take it if the bubble were under it).
        await vp.mouse.click(r.x + r.w / 2, r.y + r.h / 2);
        await panelOpen(vp);
        assert.equal(await vp.evaluate(() => window.overlayClicks), 0, 'the overlay got no click');
        const input = await inWidget(vp, (root) => {
          const b = root.querySelector('textarea').getBoundingClientRect();
          const p = root.querySelector('.panel').getBoundingClientRect();
          return { x: b.x + b.width / 2, y: b.y + b.height / 2, panelTop: p.top, panelBottom: p.bottom };
        });
        assert.ok(input.panelTop >= 0 && input.panelBottom <= 800, `the panel is in the viewport: ${JSON.stringify(input)}`);
        // The panel is usable with the mouse and the keyboard: click into the composer, type, send.
        await inWidget(vp, (root) => root.querySelector('textarea').blur());
        await vp.mouse.click(input.x, input.y);
        assert.equal(await inWidget(vp, (root) => root.activeElement?.tagName), 'TEXTAREA');
        await vp.keyboard.type('Over the overlay');
        await vp.keyboard.press('Enter');
        await waitWidgetMessage(vp, 'Over the overlay', { mine: true, status: 'sent' });
        assert.equal(await vp.evaluate(() => window.overlayClicks), 0);
        assertClean(assert, v);
      });
      await v?.context.close();
    }, () => stack),
  );

  test(
    'without the Popover API the launcher stays fixed in the corner (the fallback)',
    guard(async () => {
      const context = await browser.newContext({ viewport: { width: 1100, height: 720 } });
      await context.addInitScript(() => {
        delete HTMLElement.prototype.showPopover;
      });
      const page = await context.newPage();
      await page.goto(embed({}));
      await page.waitForSelector(`${W} .bubble`);
      assert.equal(await inWidget(page, (root) => root.querySelector('.bubble').hasAttribute('popover')), false);
      const r = await bubbleRect(page);
      assert.deepEqual([Math.round(r.vw - r.x - r.w), Math.round(r.vh - r.y - r.h)], [20, 20]);
      await page.click(`${W} .bubble`);
      await panelOpen(page);
      await context.close();
    }, () => stack),
  );

  test(
    'every language: texts, Arabic right to left, message text dir=auto, times by Intl; <html lang> is heard',
    guard(async () => {
      let v;
      await evidence('languages', () => ({ v }))(async () => {
        for (const lang of Object.keys(TEXTS)) {
          const T = TEXTS[lang];
          v = await newPage(browser, embed({ tag: { locale: lang } }));
          const vp = v.page;
          await vp.waitForSelector(`${W} .bubble`);
          assert.equal(await inWidget(vp, (root) => root.querySelector('.bubble').getAttribute('aria-label')), T.open.replace('{title}', T.support), lang);
          await vp.click(`${W} .bubble`);
          await panelOpen(vp);
          await waitWidgetState(vp, 'idle');
          const seen = await inWidget(vp, (root) => ({
            title: root.querySelector('.title').textContent,
            greeting: root.querySelector('.greeting').textContent,
            placeholder: root.querySelector('textarea').placeholder,
            sub: root.querySelector('.sub').textContent,
            end: root.querySelector('.end-button').textContent,
            dir: root.querySelector('.panel').getAttribute('dir'),
            direction: getComputedStyle(root.querySelector('.panel')).direction,
            lang: root.querySelector('.panel').getAttribute('lang'),
          }));
          assert.deepEqual(
            seen,
            { title: T.support, greeting: T.greeting, placeholder: T.placeholder, sub: T.usually, end: T.end, dir: lang === 'ar' ? 'rtl' : 'ltr', direction: lang === 'ar' ? 'rtl' : 'ltr', lang },
            lang,
          );
          if (lang === 'ar') {
            // Arabic text is laid out right to left, next to the widget's own; the time is Arabic.
            const text = 'مرحبا، أين طلبي؟';
            await vp.fill(`${W} textarea`, text);
            await vp.press(`${W} textarea`, 'Enter');
            await waitWidgetMessage(vp, text, { mine: true, status: 'sent' });
            const msg = await inWidget(vp, (root) => {
              const li = [...root.querySelectorAll('.list > li.msg')].pop();
              const time = li.querySelector('time');
              return {
                dir: li.querySelector('.text').getAttribute('dir'),
                direction: getComputedStyle(li.querySelector('.text')).direction,
                time: time.textContent,
                want: new Intl.DateTimeFormat('ar', { hour: '2-digit', minute: '2-digit' }).format(new Date(time.getAttribute('datetime'))),
              };
            });
            assert.equal(msg.dir, 'auto');
            assert.equal(msg.direction, 'rtl');
            assert.equal(msg.time, msg.want);
            assert.match(msg.time, /[صم]/, 'the Arabic a.m./p.m.');
            const notice = await inWidget(vp, (root) => root.querySelector('.notice').textContent);
            assert.ok(notice === T.away || notice === T.connectingTeam, `an Arabic notice: ${notice}`);
          }
          assertClean(assert, v);
          await v.context.close();
        }
        // No data-locale: the page's <html lang> chooses (here German, whatever the browser says).
        v = await newPage(browser, embed({ lang: 'de-AT' }));
        await v.page.waitForSelector(`${W} .bubble`);
        assert.equal(await inWidget(v.page, (root) => root.querySelector('.bubble').getAttribute('aria-label')), 'Chat mit Support öffnen');
        await v.context.close();
      });
    }, () => stack),
  );

  test(
    'a returning visitor with no open conversation: no request but widget.js and the settings; the chat works when opened',
    guard(async () => {
      let v;
      await evidence('lazy', () => ({ v }))(async () => {
        v = await newPage(browser, embed({}));
        const vp = v.page;
        /** @type {string[]} every request of the page to the chat's origin, and its sockets */
        let requests = [];
        vp.on('request', (r) => {
          if (r.url().startsWith(stack.origin)) requests.push(`${r.method()} ${new URL(r.url()).pathname}`);
        });
        let sockets = 0;
        vp.on('websocket', () => sockets++);
        const guestPosts = () => requests.filter((r) => r === 'POST /api/support/guest').length;

        // The first visit: opening the widget asks for a guest token; closing it ends nothing.
        await vp.click(`${W} .bubble`);
        await waitWidgetState(vp, 'idle');
        assert.equal(guestPosts(), 1);
        await vp.keyboard.press('Escape');

        // A returning visitor (a new page view, widget closed): only widget.js and the settings.
        requests = [];
        sockets = 0;
        await vp.reload();
        await vp.waitForSelector(`${W} .bubble`);
        await vp.waitForFunction(() => performance.getEntriesByType('resource').some((e) => e.name.includes('/support/settings')));
        await vp.evaluate(() => new Promise((r) => requestIdleCallback(r, { timeout: 2000 })));
        assert.deepEqual(requests.sort(), ['GET /api/support/settings', 'GET /widget.js'], 'nothing else is asked');
        assert.equal(sockets, 0, 'no WebSocket');
        assert.equal(await vp.evaluate(() => window.ChatWidget.getState().state), 'idle');

        // They open it: the stored guest token is reused (no POST), the socket opens, a message goes.
        await vp.click(`${W} .bubble`);
        await widgetSend(vp, 'Back again');
        await waitWidgetMessage(vp, 'Back again', { mine: true, status: 'sent' });
        assert.equal(guestPosts(), 0, 'the unexpired guest token was reused');
        assert.equal(sockets, 1);
        await vp.keyboard.press('Escape');

        // An open conversation is known: the next page connects at once, widget closed.
        requests = [];
        sockets = 0;
        await vp.reload();
        await vp.waitForFunction(() => ['waiting', 'away'].includes(window.ChatWidget.getState().state));
        assert.equal(sockets, 1, 'a socket for the open conversation');
        assert.equal(await vp.evaluate(() => window.ChatWidget.getState().open), false);

        // Once it has ended, the flag is gone: the next page asks for nothing again.
        await vp.click(`${W} .bubble`);
        await vp.click(`${W} .end-button`);
        await waitWidgetState(vp, 'closed');
        await vp.evaluate(() => window.ChatWidget.close());
        await vp.waitForFunction(() => !Object.keys(localStorage).some((k) => k.startsWith('chat.widget.session')));
        requests = [];
        sockets = 0;
        await vp.reload();
        await vp.waitForFunction(() => performance.getEntriesByType('resource').some((e) => e.name.includes('/support/settings')));
        await vp.evaluate(() => new Promise((r) => requestIdleCallback(r, { timeout: 2000 })));
        assert.deepEqual(requests.sort(), ['GET /api/support/settings', 'GET /widget.js']);
        assert.equal(sockets, 0);
        assertClean(assert, v);
      });
      await v?.context.close();
    }, () => stack),
  );

  test(
    "the site's settings: applied, cached (shown before the request answers), overridden by data-*",
    guard(async () => {
      let v;
      await evidence('settings', () => ({ v }))(async () => {
        const settings = {
          brandColor: '#aa3300',
          position: 'left',
          launcherLabel: 'Chat with us',
          teamName: 'Acme Help',
          greeting: 'Hello from Acme',
          defaultLanguage: 'fr',
          texts: { fr: { placeholder: 'Votre question…' } },
        };
        const context = await browser.newContext({ viewport: { width: 1100, height: 720 } });
        let release = () => {};
        let hold = Promise.resolve();
        let asked = 0;
        await context.route(`${stack.origin}/api/support/settings`, async (route) => {
          asked++;
          await hold;
          await route.fulfill({
            status: 200,
            headers: { 'content-type': 'application/json', etag: '"v1"', 'access-control-allow-origin': '*' },
            body: JSON.stringify({ version: 1, updatedAt: 1, settings }),
          });
        });
        const page = await context.newPage();
        v = { page, context, errors: [], dialogs: [], sent: [], received: [], console: [] };
        page.on('pageerror', (e) => v.errors.push(e.message));
        const look = () =>
          inWidget(page, (root) => {
            const b = root.querySelector('.bubble');
            const r = b.getBoundingClientRect();
            return { left: Math.round(r.left), color: getComputedStyle(b).backgroundColor, label: root.querySelector('.launcher-label').textContent, aria: b.getAttribute('aria-label') };
          });
        await page.goto(embed({}));
        await page.waitForFunction((tag) => document.querySelector(tag)?.shadowRoot?.querySelector('.launcher-label')?.textContent === 'Chat with us', W);
        assert.deepEqual(await look(), { left: 20, color: 'rgb(170, 51, 0)', label: 'Chat with us', aria: 'Ouvrir la discussion avec Acme Help' });
        await page.click(`${W} .bubble`);
        await panelOpen(page);
        const inside = await inWidget(page, (root) => ({
          title: root.querySelector('.title').textContent,
          greeting: root.querySelector('.greeting').textContent,
          placeholder: root.querySelector('textarea').placeholder,
          close: root.querySelector('.close').getAttribute('aria-label'),
          left: Math.round(root.querySelector('.panel').getBoundingClientRect().left),
        }));
        assert.deepEqual(inside, { title: 'Acme Help', greeting: 'Hello from Acme', placeholder: 'Votre question…', close: TEXTS.fr.close, left: 20 });
        await page.keyboard.press('Escape');

        // The next page: the cached settings show at once, while the request is still unanswered.
        hold = new Promise((r) => (release = r));
        const before = asked;
        await page.reload();
        await page.waitForSelector(`${W} .bubble`);
        await waitFor(() => asked > before, { message: 'the settings asked for again' });
        assert.deepEqual(await look(), { left: 20, color: 'rgb(170, 51, 0)', label: 'Chat with us', aria: 'Ouvrir la discussion avec Acme Help' });
        release();

        // The page's data-* win over the settings.
        await page.goto(embed({ tag: { color: '#008000', title: 'Page Desk', position: 'right', locale: 'es', launcherLabel: 'Ayuda' } }));
        await page.waitForFunction((tag) => document.querySelector(tag)?.shadowRoot?.querySelector('.launcher-label')?.textContent === 'Ayuda', W);
        const mine = await look();
        assert.equal(mine.color, 'rgb(0, 128, 0)');
        assert.equal(mine.aria, 'Abrir chat con Page Desk');
        assert.equal(mine.left, Math.round(1100 - 20 - (await bubbleRect(page)).w));
        assertClean(assert, v);
        await context.close();
      });
    }, () => stack),
  );
});
