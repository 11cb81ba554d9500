// Losing the network, and reloading with unsent messages: nothing is lost, nothing is sent,
// stored or shown twice, and the order is the order of writing.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  assertClean,
  bubbles,
  newUser,
  openRoom,
  openUser,
  screenshot,
  send,
  sendFrames,
  serverHistory,
  signIn,
  startDirect,
  acceptedSends,
  guard,
  withStack,
  waitFor,
  waitForBubble,
} from './helpers.mjs';

const env = withStack();

/** The outbox the SDK keeps in localStorage. */
const outbox = (page) =>
  page.evaluate(() =>
    Object.keys(localStorage)
      .filter((k) => k.startsWith('chat.outbox'))
      .flatMap((k) => JSON.parse(localStorage.getItem(k))),
  );

/** Two people with a direct room that both have open. */
async function pair(a, aId, b, bId, { beforeSignIn } = {}) {
  const first = await newUser(env.browser, env.stack.origin);
  if (beforeSignIn) await beforeSignIn(first);
  await signIn(first, a, aId);
  const second = await openUser(env.browser, env.stack.origin, b, bId);
  const roomId = await startDirect(first.page, bId);
  await send(first.page, 'hello');
  await second.page.waitForSelector(`.room[data-room-id="${roomId}"]`);
  await openRoom(second.page, roomId);
  await waitForBubble(first.page, 'hello', { status: 'read' });
  return { first, second, roomId };
}

describe('offline and reload', { timeout: 120_000 }, () => {
  test('network cut: messages written offline are sent once, in order, when it is back', guard(async (t) => {
    const { first: alice, second: bob, roomId } = await pair('Alice', 'alice', 'Bob', 'bob');
    const sockets = [];
    alice.page.on('websocket', (ws) => sockets.push(ws));
    const before = await alice.page.evaluate(() => window.chatApp.root.querySelectorAll('#message-list > li').length);

    await alice.context.setOffline(true);
    // The page's `offline` event: the SDK drops its socket at once and says so.
    await alice.page.waitForSelector('#conn[data-state="offline"]');
    await alice.page.waitForSelector('#banner:not([hidden])');
    assert.match(await alice.page.textContent('#banner-text'), /offline/i);
    const sendsBefore = sendFrames(alice.sent).length;
    for (const text of ['offline 1', 'offline 2', 'offline 3']) await send(alice.page, text);
    await waitForBubble(alice.page, 'offline 3', { status: 'sending' });
    const queued = await outbox(alice.page);
    assert.deepEqual(queued.map((e) => e.content), ['offline 1', 'offline 2', 'offline 3'], 'queued in localStorage, in order');
    assert.equal(sendFrames(alice.sent).length, sendsBefore, 'nothing was sent while offline');
    const shown = await bubbles(alice.page);
    assert.deepEqual(shown.slice(before).map((m) => [m.text, m.status]), [['offline 1', 'sending'], ['offline 2', 'sending'], ['offline 3', 'sending']]);

    // Bob writes meanwhile: it cannot reach Alice.
    await send(bob.page, 'while you were away');
    await waitForBubble(bob.page, 'while you were away', { status: 'sent' });
    await screenshot(alice.page, '06-offline-queued');

    await alice.context.setOffline(false);
    await waitForBubble(alice.page, 'offline 3', { status: 'read' });
    await waitForBubble(alice.page, 'while you were away', { mine: false });
    await waitForBubble(bob.page, 'offline 3', { mine: false });
    await alice.page.waitForSelector('#conn[data-state="online"]');
    await alice.page.waitForSelector('#banner', { state: 'hidden' });

    // Bob's message was written first, so it comes first for both.
    const expected = ['hello', 'while you were away', 'offline 1', 'offline 2', 'offline 3'];
    assert.deepEqual((await bubbles(alice.page)).map((m) => m.text), expected, 'Alice: each once, in order');
    assert.deepEqual((await bubbles(bob.page)).map((m) => m.text), expected, 'Bob: each once, in order');
    assert.deepEqual((await serverHistory(bob.page, roomId)).map((m) => m.content), expected, 'stored once each');
    const offlineSends = acceptedSends(alice.sent, alice.received).filter((f) => f.content.startsWith('offline'));
    assert.ok(offlineSends.every((f) => queued.some((e) => e.clientId === f.clientId && e.content === f.content)), 'with their original clientIds');
    if (sockets.length === 1) {
      assert.deepEqual(offlineSends.map((f) => f.content), ['offline 1', 'offline 2', 'offline 3'], 'each sent exactly once, in order');
    } else {
      // The backend unregistered a fresh connection (web/README.md, server notes): what was in
      // flight on it went again on the next one, with the same clientId.
      t.diagnostic(`the page needed ${sockets.length} sockets after the cut (server race); ${offlineSends.length} sends`);
      for (const e of queued) assert.ok(offlineSends.filter((f) => f.clientId === e.clientId).length <= sockets.length);
    }
    assert.deepEqual(await outbox(alice.page), [], 'the outbox is empty again');
    // What Chromium itself did with the socket that was open when the network went away.
    t.diagnostic(`sockets opened after the cut: ${sockets.length}; closed: ${sockets.filter((s) => s.isClosed()).length}`);
    assertClean(assert, alice, bob);
    await Promise.all([alice.context.close(), bob.context.close()]);
  }, () => env.stack));

  test('a message queued before a page reload is sent exactly once after it', guard(async (t) => {
    let blocked = false;
    let connections = 0;
    const routed = [];
    const fromServer = [];
    const { first: kim, second: lee, roomId } = await pair('Kim', 'kim', 'Lee', 'lee', {
      beforeSignIn: (u) =>
        u.context.routeWebSocket(/\/local$/, (ws) => {
          if (blocked) {
            ws.close({ code: 4001, reason: 'blocked by the test' }); // like a refused handshake
            return;
          }
          connections++;
          const server = ws.connectToServer();
          ws.onMessage((m) => {
            routed.push(String(m));
            server.send(m);
          });
          server.onMessage((m) => {
            fromServer.push(String(m));
            ws.send(m);
          });
        }),
    });

    await kim.context.setOffline(true);
    await kim.page.waitForSelector('#conn[data-state="offline"]');
    await send(kim.page, 'survives the reload');
    await waitForBubble(kim.page, 'survives the reload', { status: 'sending' });
    const [entry] = await outbox(kim.page);
    assert.equal(entry.content, 'survives the reload');

    // Network back, but the server unreachable: the message stays queued through a reload.
    blocked = true;
    await kim.context.setOffline(false);
    await kim.page.reload();
    await waitForBubble(kim.page, 'survives the reload', { status: 'sending' });
    await kim.page.waitForSelector('#banner-retry', { state: 'visible' });
    assert.equal((await bubbles(kim.page)).filter((m) => m.text === 'survives the reload').length, 1);
    assert.equal(sendFrames(routed).filter((f) => f.clientId === entry.clientId).length, 0, 'not sent yet');

    blocked = false;
    const connectionsBefore = connections;
    await kim.page.$eval('#banner-retry', (b) => b.click()); // "Retry now" (a backoff timer would do it too)
    await waitForBubble(kim.page, 'survives the reload', { status: 'read' });
    await waitForBubble(lee.page, 'survives the reload', { mine: false });

    const expected = ['hello', 'survives the reload'];
    assert.deepEqual((await bubbles(kim.page)).map((m) => m.text), expected);
    assert.deepEqual((await bubbles(lee.page)).map((m) => m.text), expected);
    assert.deepEqual((await serverHistory(lee.page, roomId)).map((m) => m.content), expected);
    const sends = acceptedSends(routed, fromServer).filter((f) => f.content === 'survives the reload');
    const used = connections - connectionsBefore;
    assert.ok(sends.every((f) => f.clientId === entry.clientId), 'with its original clientId');
    if (used === 1) assert.equal(sends.length, 1, 'sent exactly once');
    else {
      t.diagnostic(`the page needed ${used} sockets after the reload (server race); ${sends.length} sends`);
      assert.ok(sends.length >= 1 && sends.length <= used);
    }
    assert.deepEqual(await outbox(kim.page), []);
    assertClean(assert, kim, lee);
    await Promise.all([kim.context.close(), lee.context.close()]);
  }, () => env.stack));

  test('a message whose ack was lost before a reload is stored and shown once', guard(async (t) => {
    let dropAcks = false;
    let holdAcksUntilHistory = false; // after the reload: the history page brings the message first
    const held = [];
    let reloaded = false;
    let connectionsAfterReload = 0;
    const delivered = []; // history/ack frames as the page got them after the reload
    const routed = [];
    const fromServer = [];
    const dropped = [];
    const { first: max, second: noor, roomId } = await pair('Max', 'max', 'Noor', 'noor', {
      beforeSignIn: (u) =>
        u.context.routeWebSocket(/\/local$/, (ws) => {
          if (reloaded) connectionsAfterReload++;
          const server = ws.connectToServer();
          ws.onMessage((m) => {
            routed.push(String(m));
            server.send(m);
          });
          server.onMessage((m) => {
            fromServer.push(String(m));
            const type = JSON.parse(String(m)).type;
            if (dropAcks && type === 'ack') dropped.push(String(m));
            else if (holdAcksUntilHistory && type === 'ack') held.push([ws, m]);
            else {
              ws.send(m);
              if (reloaded && (type === 'history' || type === 'ack')) delivered.push(type);
              if (type === 'history' && holdAcksUntilHistory) {
                holdAcksUntilHistory = false;
                for (const [to, a] of held.splice(0)) {
                to.send(a);
                if (to === ws) delivered.push('ack');
              }
              }
            }
          });
        }),
    });

    dropAcks = true;
    await send(max.page, 'ack lost on the way');
    await waitForBubble(noor.page, 'ack lost on the way', { mine: false }); // the server has it
    await waitFor(() => dropped.length === 1, { message: 'the dropped ack' });
    assert.equal((await bubbles(max.page)).find((m) => m.text === 'ack lost on the way').status, 'sending');
    const [entry] = await outbox(max.page);

    dropAcks = false;
    holdAcksUntilHistory = true;
    reloaded = true;
    // From the first paint after the reload: how many copies of it were ever on screen at once.
    await max.context.addInitScript(() => {
      // Without the room list kept from before the reload (option `cache`), the room is new to the
      // page and its history page brings the message: the race this test is about. (With it, the
      // sync brings the message before anything is resent: "reload offline" below.)
      for (const k of Object.keys(localStorage)) if (k.startsWith('chat.rooms.')) localStorage.removeItem(k);
      window.__maxShown = 0;
      // The UI lives in a shadow root: watch it from the moment it is made.
      const attach = Element.prototype.attachShadow;
      Element.prototype.attachShadow = function (init) {
        const root = attach.call(this, init);
        const count = () => {
          const n = [...root.querySelectorAll('#message-list > li.msg .content')].filter((el) => el.textContent === 'ack lost on the way').length;
          window.__maxShown = Math.max(window.__maxShown, n);
        };
        new MutationObserver(count).observe(root, { childList: true, subtree: true, characterData: true });
        return root;
      };
    });
    await max.page.reload();
    await waitForBubble(max.page, 'ack lost on the way', { status: 'read' });
    // The resend's (duplicate) ack may still be on its way when the bubble already shows `read`.
    await waitFor(() => delivered.includes('ack'), { message: 'the ack of the resend after the reload' });
    const expected = ['hello', 'ack lost on the way'];
    assert.deepEqual((await bubbles(max.page)).map((m) => m.text), expected, 'shown once after the reload');
    assert.equal(await max.page.evaluate(() => window.__maxShown), 1, 'never shown twice, not even for a moment');
    assert.deepEqual((await bubbles(noor.page)).map((m) => m.text), expected);
    assert.deepEqual((await serverHistory(noor.page, roomId)).map((m) => m.content), expected, 'stored once');
    const sends = acceptedSends(routed, fromServer).filter((f) => f.content === 'ack lost on the way');
    // Once before the reload, once on each connection after it (one, unless the server race hit).
    if (connectionsAfterReload > 1) t.diagnostic(`the page needed ${connectionsAfterReload} sockets after the reload (server race)`);
    assert.ok(sends.length >= 2 && sends.length <= 1 + connectionsAfterReload, `sent ${sends.length} times over ${connectionsAfterReload} connections after the reload`);
    assert.deepEqual(delivered.slice(0, 2), ['history', 'ack'], 'the history page brought the message before the duplicate ack did');
    assert.ok(sends.every((f) => f.clientId === entry.clientId), 'a resend reuses the clientId (the server deduplicates)');
    assert.deepEqual(await outbox(max.page), []);
    assertClean(assert, max, noor);
    await Promise.all([max.context.close(), noor.context.close()]);
  }, () => env.stack));

  test('reload while offline: the app shell, its rooms and its outbox come from the device; sent when back', guard(async () => {
    const { first: uma, second: vic, roomId } = await pair('Uma', 'uma', 'Vic', 'vic');
    // The service worker controls the page (the shell is cached) and the room list is kept.
    await uma.page.waitForFunction(() => navigator.serviceWorker.controller !== null, null, { timeout: 20_000 });
    await uma.page.waitForFunction((id) => (localStorage.getItem('chat.rooms.v1:uma') || '').includes(id), roomId);

    await uma.context.setOffline(true);
    await uma.page.waitForSelector('#conn[data-state="offline"]');
    await send(uma.page, 'written offline, then reloaded');
    await waitForBubble(uma.page, 'written offline, then reloaded', { status: 'sending' });
    const response = await uma.page.reload();
    assert.equal(response.fromServiceWorker(), true, 'the page came from the service worker');
    assert.equal(response.status(), 200);
    // Not the browser's "no internet" page: the app, offline, with its room and the unsent message.
    await uma.page.waitForSelector('#conn[data-state="offline"]');
    await uma.page.waitForSelector(`.room[data-room-id="${roomId}"] .room-title`);
    assert.equal(await uma.page.textContent(`.room[data-room-id="${roomId}"] .room-title`), 'Vic');
    await waitForBubble(uma.page, 'written offline, then reloaded', { status: 'sending' });
    assert.equal(await uma.page.textContent('#conv-title'), 'Vic', 'the room itself is known offline');
    // (Chromium's offline emulation may leave navigator.onLine true in the reloaded page: then the
    // SDK tries, fails to get a token, and backs off; either way the banner says so.)
    assert.match(await uma.page.textContent('#banner-text'), /offline|Reconnecting/i);
    await screenshot(uma.page, '07-offline-reload-shell');

    await uma.context.setOffline(false);
    await waitForBubble(uma.page, 'written offline, then reloaded', { status: 'read' });
    await waitForBubble(vic.page, 'written offline, then reloaded', { mine: false });
    assert.deepEqual((await serverHistory(vic.page, roomId)).map((m) => m.content), ['hello', 'written offline, then reloaded'], 'stored once');
    assert.deepEqual((await bubbles(uma.page)).map((m) => m.text), ['hello', 'written offline, then reloaded'], 'shown once');
    assert.deepEqual(await outbox(uma.page), []);
    assertClean(assert, uma, vic);
    await Promise.all([uma.context.close(), vic.context.close()]);
  }, () => env.stack));
});
