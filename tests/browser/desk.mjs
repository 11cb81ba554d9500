// The support desk's test helpers (support.test.mjs, desk.test.mjs): a third-party "site" with
// hostile CSS that embeds the widget with its one tag, and helpers that drive the widget (in its
// shadow root) and the operator console. Waits are on conditions, never on fixed sleeps.

import http from 'node:http';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ARTIFACTS, newPage } from './helpers.mjs';

/** The host page: its own CSS is hostile; the widget comes from the chat origin with one tag. */
export function hostPage(chatOrigin, { name, attributes, token, maxFileMb } = {}) {
  // JSON in a script: `<` escaped so no value can close the tag.
  const js = (v) => JSON.stringify(v).replace(/</g, '\\u003c');
  const setup =
    name || attributes || token
      ? `<script>
  window.ChatWidget = window.ChatWidget || { q: [] };
  ['open', 'close', 'toggle', 'setUser', 'setAttributes', 'on'].forEach(function (m) {
    window.ChatWidget[m] = window.ChatWidget[m] || function () { window.ChatWidget.q.push([m, [].slice.call(arguments)]); };
  });
  ${token ? `ChatWidget.setUser({ id: 'site-42', name: ${js(name || '')}, token: ${js(token)} });` : name ? `ChatWidget.setUser({ name: ${js(name)}, email: 'vera@example.com' });` : ''}
  ${attributes ? `ChatWidget.setAttributes(${js(attributes)});` : ''}
  window.__widgetEvents = [];
  ChatWidget.on('state', function (e) { window.__widgetEvents.push('state:' + e.state); });
  ChatWidget.on('open', function () { window.__widgetEvents.push('open'); });
  ChatWidget.on('close', function () { window.__widgetEvents.push('close'); });
  ChatWidget.on('message', function (m) { window.__widgetEvents.push('message:' + (m.mine ? 'mine' : 'theirs')); });
</script>`
      : '';
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Hostile Shop</title>
<link rel="icon" href="data:,">
<style>
  * { all: unset; }
  body > * { all: unset !important; }
  head, script, style, title { display: none; }
  html { font-size: 48px; }
  body { font: 40px serif; display: block; padding: 8px; color: #333; background: #fafafa; }
  h1, p, main { display: block; margin: 0 0 16px; }
  button { all: unset; font-size: 40px; }
  div { font-size: 3rem !important; line-height: 3 !important; }
</style>
${setup}
</head>
<body>
<main>
<h1>Hostile Shop</h1>
<p>Everything here is 40 px serif, html is 48 px, and every element is reset with all: unset.</p>
</main>
<script src="${chatOrigin}/widget.js" data-chat-url="${chatOrigin}/api"${maxFileMb ? ` data-max-file-mb="${Number(maxFileMb)}"` : ''} async></script>
</body>
</html>`;
}

/**
 * The site: a tiny HTTP server on "localhost" (another origin than the chat's 127.0.0.1) serving the
 * host page at / and /shop (and `pages`, {path: (url) => html}); `?name=`, `?attrs=` (JSON), `?token=`, `?maxFileMb=` shape its tag.
 * @returns {Promise<{origin: string, close: () => Promise<void>}>}
 */
export async function startSite(stack, pages = {}) {
  const server = http.createServer((req, res) => {
    const u = new URL(req.url, 'http://site');
    // Other pages a test file serves: `pages[path](url)` returns the HTML.
    if (Object.hasOwn(pages, u.pathname)) {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
      res.end(pages[u.pathname](u));
      return;
    }
    if (u.pathname !== '/' && u.pathname !== '/shop') {
      res.writeHead(404).end();
      return;
    }
    const name = u.searchParams.get('name') || undefined;
    const attributes = u.searchParams.get('attrs') ? JSON.parse(u.searchParams.get('attrs')) : undefined;
    const token = u.searchParams.get('token') || undefined;
    const maxFileMb = u.searchParams.get('maxFileMb') || undefined;
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
    res.end(hostPage(stack.origin, { name, attributes, token, maxFileMb }));
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  // "localhost" on its own port: another origin than the chat's 127.0.0.1:<port>.
  return { origin: `http://localhost:${server.address().port}`, close: () => new Promise((r) => server.close(r)) };
}

export const W = 'chat-support-widget';

/** Evaluates in the widget's shadow root. */
export function inWidget(page, fn, arg) {
  return page.evaluate(
    ({ src, arg, tag }) => {
      const root = document.querySelector(tag)?.shadowRoot;
      if (!root) return null;
      // eslint-disable-next-line no-new-func
      return new Function('root', 'arg', `return (${src})(root, arg);`)(root, arg);
    },
    { src: fn.toString(), arg, tag: W },
  );
}

export async function widgetState(page) {
  return page.evaluate((tag) => document.querySelector(tag)?.shadowRoot?.querySelector('.root')?.dataset.state ?? null, W);
}

export async function waitWidgetState(page, state, timeout = 20_000) {
  await page.waitForFunction(({ tag, state }) => document.querySelector(tag)?.shadowRoot?.querySelector('.root')?.dataset.state === state, { tag: W, state }, { timeout });
}

/** The widget's message bubbles, top to bottom. */
export function widgetMessages(page) {
  return inWidget(page, (root) =>
    [...root.querySelectorAll('.list > li.msg')].map((li) => ({
      text: li.querySelector('.text')?.textContent ?? '',
      mine: li.classList.contains('mine'),
      status: li.dataset.status || null,
      who: li.querySelector('.who')?.textContent ?? null,
    })),
  );
}

export async function waitWidgetMessage(page, text, { mine, status, timeout = 20_000 } = {}) {
  await page.waitForFunction(
    ({ tag, text, mine, status }) =>
      [...(document.querySelector(tag)?.shadowRoot?.querySelectorAll('.list > li.msg') || [])].some(
        (li) => li.querySelector('.text')?.textContent === text && (mine === undefined || li.classList.contains('mine') === mine) && (status === undefined || li.dataset.status === status),
      ),
    { tag: W, text, mine, status },
    { timeout },
  );
}

export async function widgetSend(page, text) {
  await page.fill(`${W} textarea[aria-label="Message"]`, text);
  await page.press(`${W} textarea[aria-label="Message"]`, 'Enter');
}

/** A visitor on the host site (with `query`) who opens the widget and writes `text`; it waits in the operator's queue. */
export async function startConversation(browser, site, op, query, text) {
  const visitor = await newPage(browser, `${site.origin}/shop?${new URLSearchParams(query)}`);
  await visitor.page.click(`${W} .bubble`);
  await widgetSend(visitor.page, text);
  await waitWidgetState(visitor.page, 'waiting');
  await op.page.waitForSelector('#queue .queue-item .accept');
  return visitor;
}

/** The operator accepts the (only) waiting visitor, whose first message was `text`. */
export async function acceptVisitor(op, visitor, text) {
  await op.page.click('#queue .queue-item .accept');
  await waitConsoleMessage(op.page, text, { mine: false });
  await waitWidgetState(visitor.page, 'active');
}

export async function consoleSignIn(user, name, id) {
  await user.page.fill('#signin-name', name);
  await user.page.fill('#signin-id', id);
  await user.page.click('#signin-button');
  await user.page.waitForSelector('#conn[data-state="online"]', { timeout: 20_000 });
  // The queue arrives after each (re)connect.
  await user.page.waitForFunction(() => window.supportConsole?.chat?.queue() !== null, null, { timeout: 20_000 });
}

export async function waitConsoleMessage(page, text, { mine, status, timeout = 20_000 } = {}) {
  await page.waitForFunction(
    ({ text, mine, status }) =>
      [...document.querySelectorAll('#messages > li.msg')].some(
        (li) => li.querySelector('.content')?.textContent === text && (mine === undefined || li.classList.contains('mine') === mine) && (status === undefined || li.dataset.status === status),
      ),
    { text, mine, status },
    { timeout },
  );
}

export function consoleMessages(page) {
  return page.$$eval('#messages > li.msg', (els) => els.map((li) => ({ text: li.querySelector('.content')?.textContent ?? '', mine: li.classList.contains('mine'), who: li.querySelector('.who')?.textContent ?? null })));
}

/** On failure: the frames and console lines of these pages, next to guard()'s screenshots. */
export function evidence(name, users) {
  return async (fn) => {
    try {
      await fn();
    } catch (err) {
      await mkdir(ARTIFACTS, { recursive: true });
      const parts = [];
      for (const [label, u] of Object.entries(users())) {
        if (!u) continue;
        let state = null;
        try {
          state = await u.page.evaluate(() => ({
            widget: window.ChatWidget?.getState?.() ?? null,
            console: window.supportConsole ? { current: window.supportConsole.current, rooms: window.supportConsole.chat?.rooms(), queue: window.supportConsole.chat?.queue() } : null,
            title: document.title,
          }));
        } catch (e) {
          state = `cannot inspect: ${e.message}`;
        }
        parts.push(
          `--- ${label}: errors ${JSON.stringify(u.errors)} dialogs ${JSON.stringify(u.dialogs)} console ${JSON.stringify(u.console)}\nstate ${JSON.stringify(state, null, 1)}\nsent:\n${u.sent.slice(-60).join('\n')}\nreceived:\n${u.received
            .slice(-80)
            .map((f) => f.slice(0, 400))
            .join('\n')}`,
        );
      }
      await writeFile(join(ARTIFACTS, `FAIL-support-${name}-frames.txt`), parts.join('\n\n'));
      throw err;
    }
  };
}
