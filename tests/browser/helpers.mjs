// Shared by the browser tests: a private local stack per test file, Debian's Chromium, and
// small page helpers. Waits poll for a condition; none of them is a fixed sleep.

import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createHmac } from 'node:crypto';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { deflateSync } from 'node:zlib';
import { fileURLToPath } from 'node:url';
import { after, before } from 'node:test';
import { chromium } from 'playwright-core';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
/** The phone of the issue reports: 390 × 844 CSS pixels, touch. */
export const PHONE = { width: 390, height: 844 };
/** A laptop. */
export const DESKTOP = { width: 1280, height: 800 };
export const ARTIFACTS = join(ROOT, 'tests', 'artifacts');
const CHAT_DEV = join(ROOT, 'target', 'debug', 'chat-dev');

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * Starts `chat-dev --port 0` with a fresh state dir and waits for its `ws://` line.
 * Every stack has its own ports, emulators and secret, so test files can run in parallel.
 */
export async function startStack() {
  if (!existsSync(CHAT_DEV)) throw new Error(`${CHAT_DEV} is missing: run cargo build --workspace --bins`);
  const stateDir = await mkdtemp(join(tmpdir(), 'chat-browser-'));
  // seedMessages writes a page of history as one user at once: a budget above the default 30
  // messages per member per room per 10 s.
  const args = ['--port', '0', '--state-dir', stateDir, '--parameter', 'MaxSendsPer10Seconds=1000', '--parameter', 'MaxFramesPer10Seconds=1000'];
  const child = spawn(CHAT_DEV, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  const logs = [];
  const verbose = process.env.CHAT_DEV_VERBOSE === '1';
  const keep = (line) => {
    if (verbose) process.stderr.write(`[chat-dev] ${line}\n`);
    logs.push(line);
    if (logs.length > 400) logs.splice(0, logs.length - 400);
  };
  createInterface({ input: child.stderr }).on('line', keep);
  const out = createInterface({ input: child.stdout }); // keeps draining stdout for the whole run
  let exited = false;
  const exit = new Promise((res) => child.once('exit', (code, signal) => ((exited = true), res({ code, signal }))));
  const wsUrl = await new Promise((res, rej) => {
    const timer = setTimeout(() => rej(new Error(`chat-dev printed no ws:// line in 90 s:\n${logs.join('\n')}`)), 90_000);
    out.on('line', (line) => {
      keep(line);
      if (line.startsWith('ws://')) {
        clearTimeout(timer);
        res(line.trim());
      }
    });
    exit.then(({ code, signal }) => {
      clearTimeout(timer);
      rej(new Error(`chat-dev exited during start-up (${code ?? signal}):\n${logs.join('\n')}`));
    });
  });
  const u = new URL(wsUrl);
  return {
    wsUrl,
    origin: `http://${u.host}`,
    logs,
    stateDir,
    async stop() {
      if (!exited) {
        child.kill('SIGINT');
        const t = setTimeout(() => child.kill('SIGKILL'), 15_000);
        await exit;
        clearTimeout(t);
      }
      await rm(stateDir, { recursive: true, force: true });
    },
  };
}

export async function launchBrowser() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic'],
  });
}

/** Polls `fn` until it returns something truthy. */
export async function waitFor(fn, { timeout = 15_000, interval = 100, message = 'condition' } = {}) {
  const end = Date.now() + timeout;
  let last;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > end) throw new Error(`timed out after ${timeout} ms waiting for ${message}${last ? ` (last error: ${last.message})` : ''}`);
    await sleep(interval);
  }
}

/**
 * A user in their own browser context (own storage, own network emulation), on the sign-in page.
 * Collects page errors and dialogs (there must be none).
 */
export async function newUser(browser, origin, { viewport = { width: 1100, height: 720 }, mobile = false, permissions } = {}) {
  const context = await browser.newContext(mobile ? { viewport: PHONE, isMobile: true, hasTouch: true, deviceScaleFactor: 2 } : { viewport });
  if (permissions) await context.grantPermissions(permissions, { origin });
  const user = await recorded(context);
  await user.page.goto(`${origin}/`);
  return user;
}

/**
 * A new page of `context`, recorded: page errors, console errors and warnings, dialogs (dismissed),
 * and every WebSocket frame sent and received on any of its sockets (to count message.send
 * frames); guard() screenshots it on failure.
 */
export async function recorded(context) {
  const page = await context.newPage();
  const user = { context, page, errors: [], dialogs: [], sent: [], received: [], console: [] };
  live.add(user);
  context.on('close', () => live.delete(user));
  page.on('pageerror', (e) => user.errors.push(e.message));
  page.on('console', (m) => {
    if (m.type() === 'error' || m.type() === 'warning') user.console.push(`${m.type()}: ${m.text()}`);
  });
  page.on('dialog', (d) => {
    user.dialogs.push(`${d.type()}: ${d.message()}`);
    d.dismiss().catch(() => {});
  });
  page.on('websocket', (ws) => {
    ws.on('framesent', (f) => user.sent.push(String(f.payload)));
    ws.on('framereceived', (f) => user.received.push(String(f.payload)));
  });
  return user;
}

/**
 * A page at any URL (another site, the operator console) in its own browser context, recorded
 * like newUser's (page errors, dialogs, WebSocket frames) and screenshot by guard() on failure.
 */
export async function newPage(browser, url, { viewport = { width: 1100, height: 720 } } = {}) {
  const context = await browser.newContext({ viewport });
  const user = await recorded(context);
  await user.page.goto(url);
  return user;
}

/** Signs in through the demo's form and waits until connected and synced. */
export async function signIn(user, name, id) {
  const { page } = user;
  await page.fill('#signin-name', name);
  if (id) await page.fill('#signin-id', id);
  await page.click('#signin-button');
  await page.waitForSelector('#conn[data-state="online"]', { timeout: 20_000 });
}

export async function openUser(browser, origin, name, id, options) {
  const u = await newUser(browser, origin, options);
  await signIn(u, name, id);
  return u;
}

/** Starts (or opens) the direct room with `otherId` from the sidebar; returns its roomId. */
export async function startDirect(page, otherId) {
  await page.click('#new-direct');
  await page.fill('#direct-user', otherId);
  await page.click('#direct-form button[type="submit"]');
  await page.waitForFunction(() => window.chatApp.current && !window.chatApp.root.getElementById('composer').hidden);
  return page.evaluate(() => window.chatApp.current);
}

/**
 * Opens a room from the room list by its roomId. The list is rebuilt as frames arrive (a message,
 * typing): a click on a row being replaced at that instant is lost (seen once in CI), so a click
 * that opened nothing within 5 s is made again, up to four times.
 */
export async function openRoom(page, roomId) {
  for (let attempt = 1; ; attempt++) {
    await page.click(`.room[data-room-id="${roomId}"] .room-button`);
    try {
      await page.waitForFunction((id) => window.chatApp.current === id, roomId, { timeout: 5_000 });
      return;
    } catch (e) {
      if (attempt >= 4) throw e;
    }
  }
}

export async function send(page, text) {
  await page.fill('#composer-input', text);
  await page.press('#composer-input', 'Enter');
}

/** The bubbles of the open conversation, top to bottom. */
export async function bubbles(page) {
  return page.$$eval('#message-list > li.msg', (els) =>
    els.map((el) => ({
      key: el.dataset.key,
      seq: Number(el.dataset.seq || 0),
      status: el.dataset.status || null,
      mine: el.classList.contains('mine'),
      system: el.classList.contains('system'),
      text: (el.querySelector('.content') || el.querySelector('.system-text'))?.textContent ?? '',
    })),
  );
}

/** Waits until the open conversation shows a bubble with exactly this text (and optional status). */
export async function waitForBubble(page, text, { status, mine, timeout = 15_000 } = {}) {
  await page.waitForFunction(
    ({ text, status, mine }) =>
      [...(window.chatApp.root?.querySelectorAll('#message-list > li.msg') || [])].some(
        (el) =>
          el.querySelector('.content')?.textContent === text &&
          (status === undefined || el.dataset.status === status) &&
          (mine === undefined || el.classList.contains('mine') === mine),
      ),
    { text, status, mine },
    { timeout },
  );
}

/** Records every status each own bubble goes through (by bubble key), from now on. */
export async function recordStatuses(page) {
  await page.evaluate(() => {
    const log = (window.__statusLog = {});
    const push = (key, status) => {
      if (!key || !status) return;
      const l = (log[key] ||= []);
      if (l[l.length - 1] !== status) l.push(status);
    };
    const list = window.chatApp.root.getElementById('message-list');
    for (const el of list.children) push(el.dataset.key, el.dataset.status);
    new MutationObserver((records) => {
      for (const r of records) {
        if (r.type === 'attributes') {
          push(r.target.dataset.key, r.oldValue);
          push(r.target.dataset.key, r.target.dataset.status);
        }
        for (const n of r.addedNodes) if (n.nodeType === 1 && n.dataset) push(n.dataset.key, n.dataset.status);
      }
    }).observe(list, { childList: true, subtree: true, attributes: true, attributeFilter: ['data-status'], attributeOldValue: true });
  });
}

/** message.send frames a page sent, parsed. */
export function sendFrames(frames) {
  return frames
    .map((f) => {
      try {
        return JSON.parse(f);
      } catch {
        return null;
      }
    })
    .filter((f) => f && f.action === 'message.send');
}

/**
 * message.send frames the server took in: those answered with an error frame (e.g. the
 * `unauthorized` of a connection the backend unregistered, see web/README.md) created nothing and
 * are legitimately sent again, so they do not count.
 */
export function acceptedSends(sent, received) {
  const refused = new Map();
  for (const r of received) {
    try {
      const f = JSON.parse(r);
      if (f.type === 'error' && f.action === 'message.send' && f.clientId) refused.set(f.clientId, (refused.get(f.clientId) || 0) + 1);
    } catch {
      /* not JSON */
    }
  }
  return sendFrames(sent).filter((f) => {
    const n = refused.get(f.clientId) || 0;
    if (n === 0) return true;
    refused.set(f.clientId, n - 1);
    return false;
  });
}

/**
 * What the server stored: the room's history read over a separate, raw WebSocket opened from
 * `page` as its signed-in user (a fresh dev token), independent of the app and the SDK.
 */
export async function serverHistory(page, roomId) {
  // A socket that was hit by a fan-out while its handshake was finishing is unregistered by the
  // backend (see web/README.md, "Server notes"): open another one, as the SDK does.
  for (let attempt = 1; ; attempt++) {
    try {
      return await rawHistory(page, roomId);
    } catch (e) {
      if (attempt >= 5 || !/not registered/.test(e.message)) throw e;
    }
  }
}

async function rawHistory(page, roomId) {
  return page.evaluate(
    async ({ roomId }) => {
      const { userId, name } = window.chatApp.session;
      const t = await (await fetch(`/_dev/token?${new URLSearchParams({ sub: userId, name })}`)).json();
      return new Promise((resolve, reject) => {
        const ws = new WebSocket(t.wsUrl, ['chat.v1', t.token]);
        const timer = setTimeout(() => reject(new Error('no history answer')), 10_000);
        ws.onopen = () => ws.send(JSON.stringify({ action: 'history', roomId, limit: 100, ref: 'h' }));
        ws.onmessage = (e) => {
          const f = JSON.parse(e.data);
          if (f.ref !== 'h') return;
          clearTimeout(timer);
          ws.close();
          if (f.type === 'error') reject(new Error(f.message));
          else resolve(f.messages.slice().reverse());
        };
        ws.onerror = () => reject(new Error('raw socket failed'));
      });
    },
    { roomId },
  );
}

export async function screenshot(page, name) {
  await mkdir(ARTIFACTS, { recursive: true });
  const path = join(ARTIFACTS, `${name}.png`);
  await page.screenshot({ path });
  return path;
}

/** Fails with the page's problems (page errors, dialogs) if it had any. */
export function assertClean(assert, ...users) {
  for (const u of users) {
    assert.deepEqual(u.errors, [], 'no uncaught errors in the page');
    assert.deepEqual(u.dialogs, [], 'no dialogs (alert/confirm) opened');
  }
}

/** Users whose context is open: what a failing test leaves behind for diagnosis. */
const live = new Set();

/**
 * Wraps a test body: on failure, every open page's screenshot, the app's state and the tail of
 * the stack's log go to tests/artifacts/FAIL-<test>.*, then the error is rethrown.
 */
export function guard(fn, getStack) {
  return async (t) => {
    try {
      await fn(t);
    } catch (err) {
      const slug = t.name.replace(/[^a-z0-9]+/gi, '-').slice(0, 60);
      await mkdir(ARTIFACTS, { recursive: true });
      const report = [`${t.name}\n${err && err.stack}\n`];
      let i = 0;
      for (const u of live) {
        i++;
        try {
          await u.page.screenshot({ path: join(ARTIFACTS, `FAIL-${slug}-${i}.png`) });
          const state = await u.page.evaluate(() => {
            const a = window.chatApp;
            return { session: a.session, current: a.current, state: a.chat?.state, ready: a.chat?.ready, rooms: a.chat?.rooms(), messages: a.current ? a.chat?.messages(a.current) : null };
          });
          report.push(`--- page ${i}: errors ${JSON.stringify(u.errors)} dialogs ${JSON.stringify(u.dialogs)}\n${JSON.stringify(state, null, 1)}\nframes sent:\n${u.sent.slice(-40).join('\n')}\nframes received:\n${u.received.slice(-40).map((f) => f.slice(0, 300)).join('\n')}`);
        } catch (e) {
          report.push(`--- page ${i}: cannot inspect (${e.message})`);
        }
      }
      const stack = getStack && getStack();
      if (stack) report.push(`--- chat-dev log (tail)\n${stack.logs.slice(-150).join('\n')}`);
      await writeFile(join(ARTIFACTS, `FAIL-${slug}.txt`), report.join('\n\n'));
      t.diagnostic(`failure evidence: tests/artifacts/FAIL-${slug}.*`);
      await Promise.all([...live].map((u) => u.context.close().catch(() => {})));
      throw err;
    }
  };
}

/**
 * Writes messages into a room as the page's user over raw sockets (not the app), one after the
 * other (the stacks of these tests allow 1000 messages per member per room per 10 s).
 */
export async function seedMessages(page, roomId, texts) {
  return page.evaluate(
    async ({ roomId, texts }) => {
      const { userId, name } = window.chatApp.session;
      const open = async () => {
        const t = await (await fetch(`/_dev/token?${new URLSearchParams({ sub: userId, name })}`)).json();
        const ws = new WebSocket(t.wsUrl, ['chat.v1', t.token]);
        await new Promise((res, rej) => ((ws.onopen = res), (ws.onerror = rej)));
        return ws;
      };
      let ws = null;
      for (let i = 0; i < texts.length; i++) {
        if (i % 25 === 0) {
          ws?.close();
          ws = await open();
        }
        const clientId = `seed-${i}-${Math.random().toString(36).slice(2)}`;
        const answer = await new Promise((res) => {
          ws.onmessage = (e) => {
            const f = JSON.parse(e.data);
            if (f.clientId === clientId) res(f);
          };
          ws.send(JSON.stringify({ action: 'message.send', roomId, clientId, content: texts[i] }));
        });
        if (answer.type !== 'ack') throw new Error(`seeding failed: ${JSON.stringify(answer)}`);
      }
      ws?.close();
    },
    { roomId, texts },
  );
}

/**
 * One local stack and one browser for a test file: started before its tests, stopped after.
 * `env.stack` and `env.browser` are set once `before` has run.
 */
export function withStack() {
  const env = /** @type {{stack: any, browser: any}} */ ({ stack: undefined, browser: undefined });
  before(async () => {
    [env.stack, env.browser] = await Promise.all([startStack(), launchBrowser()]);
  });
  after(async () => {
    await env.browser?.close();
    await env.stack?.stop();
  });
  return env;
}

/** A real PNG of noise (so it does not compress: ~`w*h*3` bytes), for a slow-enough upload. */
export function png(w, h) {
  const crcTable = Array.from({ length: 256 }, (_, n) => {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    return c >>> 0;
  });
  const crc = (buf) => {
    let c = 0xffffffff;
    for (const b of buf) c = crcTable[(c ^ b) & 0xff] ^ (c >>> 8);
    return (c ^ 0xffffffff) >>> 0;
  };
  const chunk = (type, data) => {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(data.length);
    const td = Buffer.concat([Buffer.from(type), data]);
    const c = Buffer.alloc(4);
    c.writeUInt32BE(crc(td));
    return Buffer.concat([len, td, c]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(w, 0);
  ihdr.writeUInt32BE(h, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 2; // RGB
  const raw = Buffer.alloc((w * 3 + 1) * h);
  let seed = 42;
  for (let y = 0; y < h; y++) {
    raw[y * (w * 3 + 1)] = 0;
    for (let x = 0; x < w; x++) {
      seed = (seed * 1103515245 + 12345) >>> 0;
      const o = y * (w * 3 + 1) + 1 + x * 3;
      raw[o] = (x * 255) / w;
      raw[o + 1] = (y * 255) / h;
      raw[o + 2] = seed >>> 24;
    }
  }
  return Buffer.concat([Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]), chunk('IHDR', ihdr), chunk('IDAT', deflateSync(raw)), chunk('IEND', Buffer.alloc(0))]);
}

/** Uploads from this page are slow (bytes per second), so their progress can be seen. */
export async function slowUploads(user, bytesPerSecond) {
  const cdp = await user.context.newCDPSession(user.page);
  await cdp.send('Network.enable');
  await cdp.send('Network.emulateNetworkConditions', { offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: bytesPerSecond });
  return () => cdp.send('Network.emulateNetworkConditions', { offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: -1 });
}

let axeSource;
/**
 * axe-core's violations of serious or critical impact on the page (axe goes into open shadow
 * roots: the widget's and the chat UI's), injected from tests/browser/node_modules/axe-core.
 * @returns {Promise<{id: string, impact: string, help: string, nodes: string[]}[]>}
 */
export async function axeSerious(page, context = null) {
  axeSource ??= await readFile(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
  if (!(await page.evaluate(() => !!window.axe))) await page.evaluate(axeSource);
  const result = await page.evaluate(async (context) => {
    const r = await window.axe.run(context || document, { resultTypes: ['violations'] });
    return r.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.slice(0, 5).map((n) => n.target.join(' ') + ' ' + n.failureSummary) }));
  }, context);
  return result.filter((v) => v.impact === 'serious' || v.impact === 'critical');
}

/**
 * A token signed with the stack's development secret (`<state dir>/dev-secret`, HS256), for the
 * roles `/_dev/token` does not sign (e.g. `admin`). @param {{stateDir: string}} stack @param {Record<string, any>} claims
 */
export async function mintToken(stack, claims) {
  const secret = (await readFile(join(stack.stateDir, 'dev-secret'), 'utf8')).trim();
  const b64 = (v) => Buffer.from(JSON.stringify(v)).toString('base64url');
  const now = Math.floor(Date.now() / 1000);
  const body = `${b64({ alg: 'HS256', typ: 'JWT' })}.${b64({ iat: now, exp: now + 3600, ...claims })}`;
  return `${body}.${createHmac('sha256', secret).update(body).digest('base64url')}`;
}
