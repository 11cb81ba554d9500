// Web Push in the demo app (issue 12): the permission is asked on a click (the bell, or the offer
// after one's first message), never on load; the subscription is registered with the server; the
// service worker shows a notification for a push, but not for the room on screen; a click on one
// opens its room. Pushes are delivered to the service worker through the DevTools protocol
// (ServiceWorker.deliverPushMessage). Headless Chromium has no push service to subscribe with, and
// the push backend is not in this tree yet: PushManager.subscribe and the REST routes are stood in
// for, as the contract says (GET /push/key, POST and DELETE /push/subscriptions).

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { assertClean, guard, newUser, openRoom, openUser, send, signIn, startDirect, withStack, waitFor, waitForBubble } from './helpers.mjs';

const env = withStack();

const VAPID = 'BEl62iUYgUivxIkv69yViEuiBIa-Ib9-SkvMeAtA3LFgDzkrxZJjSgSnfckjBJuBkr3qBUYIHBQFLXYp5Nksh8U';

/** A user whose browser may show notifications, with a stand-in push service and push routes. */
async function pushUser(name, id) {
  const u = await newUser(env.browser, env.stack.origin, { permissions: ['notifications'] });
  u.api = [];
  await u.context.addInitScript(() => {
    window.__permissionAsked = 0;
    const ask = Notification.requestPermission.bind(Notification);
    Notification.requestPermission = (...a) => ((window.__permissionAsked += 1), ask(...a));
    let sub = null;
    const json = { endpoint: 'https://push.example/send/abc123', keys: { p256dh: 'BKey', auth: 'auth' } };
    PushManager.prototype.getSubscription = async () => sub;
    PushManager.prototype.subscribe = async (o) => {
      sub = { endpoint: json.endpoint, options: { applicationServerKey: o.applicationServerKey.buffer }, toJSON: () => json, unsubscribe: async () => ((sub = null), true) };
      return sub;
    };
  });
  await u.context.route(/\/api\/push\//, async (route) => {
    const r = route.request();
    u.api.push({ method: r.method(), path: new URL(r.url()).pathname, body: r.postData() ? JSON.parse(r.postData()) : null, auth: r.headers().authorization });
    if (r.method() === 'GET') await route.fulfill({ status: 200, contentType: 'application/json', body: JSON.stringify({ publicKey: VAPID }) });
    else await route.fulfill({ status: r.method() === 'POST' ? 201 : 204, contentType: 'application/json', body: r.method() === 'POST' ? '{}' : '' });
  });
  await u.page.reload(); // the init script and routes from the first load on
  await signIn(u, name, id);
  return u;
}

/** The service worker's registration id, for the DevTools protocol. */
async function registrationId(user) {
  await user.page.waitForFunction(() => navigator.serviceWorker.controller !== null, null, { timeout: 20_000 });
  const cdp = await user.context.newCDPSession(user.page);
  const regs = [];
  cdp.on('ServiceWorker.workerRegistrationUpdated', (e) => regs.push(...e.registrations.filter((r) => !r.isDeleted)));
  await cdp.send('ServiceWorker.enable');
  await waitFor(() => regs.length > 0, { message: 'the service worker registration' });
  return { cdp, id: regs[0].registrationId };
}

/** What the service worker said it did with each push (it tells every page). */
async function recordNotifications(page) {
  await page.evaluate(() => {
    window.__notifications = [];
    navigator.serviceWorker.addEventListener('message', (e) => e.data?.type === 'chat:notification' && window.__notifications.push(e.data));
  });
}

describe('web push', { timeout: 120_000 }, () => {
  test('permission only on a click; the subscription is registered, then removed', guard(async () => {
    const ann = await pushUser('Ann', 'ann-push');
    const roomId = await startDirect(ann.page, 'bob-push');
    await ann.page.waitForSelector('#bell:not([hidden])');
    assert.equal(await ann.page.getAttribute('#bell', 'aria-pressed'), 'false');
    assert.equal(await ann.page.evaluate(() => window.__permissionAsked), 0, 'not asked on load');
    assert.equal(await ann.page.isVisible('[data-el="offer"]'), false, 'no offer before a first message');
    await send(ann.page, 'first message');
    await waitForBubble(ann.page, 'first message', { status: 'sent' });
    // After one's first message: an offer in the page (not the browser's prompt yet).
    await ann.page.waitForSelector('[data-el="offer"]:not([hidden])');
    assert.equal(await ann.page.evaluate(() => window.__permissionAsked), 0);
    await ann.page.click('[data-el="offer-yes"]');
    await ann.page.waitForSelector('#bell[aria-pressed="true"]');
    assert.equal(await ann.page.evaluate(() => window.__permissionAsked), 1, 'asked once, on the click');
    assert.deepEqual(ann.api.map((c) => [c.method, c.path]), [['GET', '/api/push/key'], ['POST', '/api/push/subscriptions']]);
    assert.deepEqual(ann.api[1].body, { endpoint: 'https://push.example/send/abc123', keys: { p256dh: 'BKey', auth: 'auth' } });
    assert.match(ann.api[1].auth, /^Bearer ey/);
    // The bell turns them off: the subscription is removed from the server.
    await ann.page.click('#bell');
    await ann.page.waitForSelector('#bell[aria-pressed="false"]');
    assert.deepEqual(ann.api.at(-1), { method: 'DELETE', path: '/api/push/subscriptions', body: { endpoint: 'https://push.example/send/abc123' }, auth: ann.api[1].auth });
    // Mute: the room header's toggle (the server may not know room.mute yet).
    await ann.page.click('#mute');
    await ann.page.waitForFunction(() => !window.chatApp.root.getElementById('mute').disabled);
    const muted = await ann.page.evaluate((id) => window.chatApp.chat.room(id).muted, roomId);
    const frames = ann.sent.map((f) => JSON.parse(f)).filter((f) => f.action === 'room.mute');
    assert.deepEqual(frames.map((f) => [f.roomId, f.muted]), [[roomId, true]]);
    if (!muted) assert.match(await ann.page.textContent('#toast'), /not available on this server yet/);
    else assert.equal(await ann.page.getAttribute('#mute', 'aria-pressed'), 'true');
    assertClean(assert, ann);
    await ann.context.close();
  }, () => env.stack));

  test('a push: a notification, but not for the room on screen; a click opens its room', guard(async () => {
    const cy = await pushUser('Cy', 'cy-push');
    const dee = await openUser(env.browser, env.stack.origin, 'Dee', 'dee-push');
    const eve = await openUser(env.browser, env.stack.origin, 'Eve', 'eve-push');
    const withDee = await startDirect(dee.page, 'cy-push');
    await send(dee.page, 'hi Cy');
    const withEve = await startDirect(eve.page, 'cy-push');
    await send(eve.page, 'hello from Eve');
    await cy.page.waitForSelector(`.room[data-room-id="${withEve}"]`);
    await openRoom(cy.page, withDee);
    await recordNotifications(cy.page);
    const { cdp, id } = await registrationId(cy);
    const push = (roomId, title, sender, preview, seq) =>
      cdp.send('ServiceWorker.deliverPushMessage', { origin: env.stack.origin, registrationId: id, data: JSON.stringify({ type: 'message', roomId, roomTitle: title, senderName: sender, preview, seq }) });

    // Dee's room is on screen: no notification.
    await push(withDee, 'Dee', 'Dee', 'are you there?', 2);
    await cy.page.waitForFunction(() => window.__notifications.length === 1);
    assert.deepEqual(await cy.page.evaluate(() => window.__notifications[0]), { type: 'chat:notification', shown: false, roomId: withDee, seq: 2 });
    // Eve's is not: a notification, titled by the room, one per room.
    await push(withEve, 'Eve', 'Eve', 'File: plan.pdf', 2);
    await cy.page.waitForFunction(() => window.__notifications.length === 2);
    assert.equal(await cy.page.evaluate(() => window.__notifications[1].shown), true);
    const shown = await cy.page.evaluate(async () => (await (await navigator.serviceWorker.ready).getNotifications()).map((n) => ({ title: n.title, body: n.body, tag: n.tag, roomId: n.data.roomId })));
    assert.deepEqual(shown, [{ title: 'Eve', body: 'File: plan.pdf', tag: `chat:${withEve}`, roomId: withEve }]);

    // A click on it (dispatched in the worker, as the browser would): the page opens Eve's room.
    const [worker] = cy.context.serviceWorkers();
    await worker.evaluate(async () => {
      const [n] = await self.registration.getNotifications();
      self.dispatchEvent(new NotificationEvent('notificationclick', { notification: n }));
    });
    await cy.page.waitForFunction((id) => window.chatApp.current === id, withEve);
    await waitForBubble(cy.page, 'hello from Eve', { mine: false });
    assert.deepEqual(await cy.page.evaluate(async () => (await (await navigator.serviceWorker.ready).getNotifications()).length), 0, 'closed');
    assertClean(assert, cy, dee, eve);
    await Promise.all([cy.context.close(), dee.context.close(), eve.context.close()]);
  }, () => env.stack));
});
