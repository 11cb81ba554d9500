// The SDK's logic without a browser or a server: a scripted fake socket plays the server.
// Ordering by seq, duplicates, gaps, the outbox (persistence, order, one in flight, retries),
// receipts debouncing, typing debouncing, reconnect backoff.

import assert from 'node:assert/strict';
import { afterEach, describe, test } from 'node:test';
import { ChatClient } from '../../web/sdk/chat.js';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function until(fn, what, timeout = 2000) {
  const end = Date.now() + timeout;
  while (!fn()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(2);
  }
}

class FakeSocket {
  static all = [];
  constructor(url, protocols) {
    this.url = url;
    this.protocols = protocols;
    this.readyState = 0;
    this.sent = [];
    FakeSocket.all.push(this);
  }
  send(data) {
    this.sent.push(JSON.parse(data));
  }
  close(code, reason) {
    this.readyState = 3;
    this.closedWith = { code, reason };
  }
  // The test's side:
  open() {
    this.readyState = 1;
    this.onopen?.({});
  }
  receive(frame) {
    this.onmessage?.({ data: JSON.stringify(frame) });
  }
  fail(code = 1006) {
    this.readyState = 3;
    this.onclose?.({ code, reason: '' });
  }
  frames(action) {
    return this.sent.filter((f) => f.action === action);
  }
  static last() {
    return FakeSocket.all[FakeSocket.all.length - 1];
  }
}

function memoryStorage() {
  const m = new Map();
  return { getItem: (k) => (m.has(k) ? m.get(k) : null), setItem: (k, v) => m.set(k, String(v)), removeItem: (k) => m.delete(k), map: m };
}

const ROOM = 'dm_ab';
const view = (lastSeq = 0, extra = {}) => ({
  roomId: ROOM,
  type: 'direct',
  createdBy: 'a',
  createdAt: 1,
  lastSeq,
  memberCount: 2,
  participants: [{ userId: 'a', name: 'A' }, { userId: 'b', name: 'B' }],
  role: 'member',
  readSeq: 0,
  deliveredSeq: 0,
  unread: lastSeq,
  ...extra,
});
const msg = (seq, senderId = 'b', content = `m${seq}`, extra = {}) => ({ roomId: ROOM, seq, id: `id${seq}`, senderId, kind: 'text', content, clientId: `c${seq}`, createdAt: 1000 + seq, ...extra });

const clients = [];
function client(options = {}) {
  const c = new ChatClient({
    url: 'ws://test/local',
    token: 'h.eyJzdWIiOiJhIn0.s', // sub: "a"
    WebSocket: FakeSocket,
    storage: memoryStorage(),
    ackTimeout: 10_000, // the test answers; only the no-ack test shortens it
    maxAttempts: 3,
    gapDelay: 20,
    receiptDelay: 20,
    typingInterval: 100,
    typingExpiry: 150,
    backoffBase: 10,
    backoffMax: 80,
    ...options,
  });
  clients.push(c);
  return c;
}

/** Connects and answers the first sync with these rooms (as `new`). */
async function connected(c, rooms = [view()]) {
  c.connect();
  await until(() => FakeSocket.last()?.protocols, 'a socket');
  const ws = FakeSocket.last();
  ws.open();
  await until(() => ws.frames('sync').length === 1, 'the sync');
  const sync = ws.frames('sync')[0];
  ws.receive({ type: 'sync', ref: sync.ref, rooms: rooms.map((v) => ({ room: v, messages: [], hasMore: false, ver: 0, receipts: [], new: true })), hasMore: false });
  await until(() => c.ready, 'ready');
  return ws;
}

afterEach(() => {
  for (const c of clients.splice(0)) c.close();
  FakeSocket.all = [];
});

describe('connection', () => {
  test('offers the token as a subprotocol and syncs while hasMore', async () => {
    const c = client();
    c.connect();
    await until(() => FakeSocket.last(), 'a socket');
    const ws = FakeSocket.last();
    assert.deepEqual(ws.protocols, ['chat.v1', 'h.eyJzdWIiOiJhIn0.s']);
    assert.equal(c.userId, 'a', 'read from the token');
    ws.open();
    await until(() => ws.frames('sync').length === 1, 'sync 1');
    const s1 = ws.frames('sync')[0];
    assert.deepEqual([s1.rooms, s1.versions], [{}, {}]);
    ws.receive({ type: 'sync', ref: s1.ref, rooms: [{ room: view(3), messages: [], hasMore: false, ver: 2, receipts: [], new: true }], hasMore: true });
    await until(() => ws.frames('sync').length === 2, 'sync 2');
    const s2 = ws.frames('sync')[1];
    assert.deepEqual([s2.rooms, s2.versions], [{ [ROOM]: 3 }, { [ROOM]: 2 }], 'the last seq and version per room');
    assert.equal(c.ready, false, 'not caught up while hasMore');
    ws.receive({ type: 'sync', ref: s2.ref, rooms: [], hasMore: false });
    await until(() => c.ready, 'ready');
  });

  test('sync pages of rooms follow nextCursor', async () => {
    const c = client();
    c.connect();
    await until(() => FakeSocket.last(), 'a socket');
    const ws = FakeSocket.last();
    ws.open();
    await until(() => ws.frames('sync').length === 1, 'sync 1');
    const page = (id) => ({ room: { ...view(1), roomId: id }, messages: [], hasMore: false, ver: 0, receipts: [], new: true });
    ws.receive({ type: 'sync', ref: ws.frames('sync')[0].ref, rooms: [page('r1'), page('r2')], hasMore: true, nextCursor: 'r3' });
    await until(() => ws.frames('sync').length === 2, 'sync 2');
    const s2 = ws.frames('sync')[1];
    assert.equal(s2.cursor, 'r3');
    assert.deepEqual(s2.rooms, { r1: 1, r2: 1 });
    ws.receive({ type: 'sync', ref: s2.ref, rooms: [page('r3')], hasMore: false });
    await until(() => c.ready, 'ready');
    assert.deepEqual(c.rooms().map((r) => r.roomId).sort(), ['r1', 'r2', 'r3']);
  });

  test('refused handshakes back off exponentially, with jitter, up to the cap', async () => {
    const c = client();
    const delays = [];
    c.on('state', (s) => s.state === 'reconnecting' && delays.push(s.delay));
    c.connect();
    for (let i = 0; i < 6; i++) {
      await until(() => FakeSocket.all.length === i + 1, `attempt ${i + 1}`);
      FakeSocket.last().fail(1006); // what a browser reports for an HTTP 401 answer
    }
    await until(() => delays.length === 6, 'six delays');
    const caps = [10, 20, 40, 80, 80, 80];
    delays.forEach((d, i) => assert.ok(d >= caps[i] / 2 && d <= caps[i], `delay ${i} = ${d}, cap ${caps[i]}`));
  });
});

describe('ordering', () => {
  test('keeps messages by seq, drops duplicates, syncs over a gap', async () => {
    const c = client();
    const ws = await connected(c);
    const events = [];
    c.on('message', (m) => events.push(m.seq));
    ws.receive({ type: 'message.new', message: msg(1) });
    ws.receive({ type: 'message.new', message: msg(1) }); // duplicate
    ws.receive({ type: 'message.new', message: msg(3) }); // 2 is missing
    assert.deepEqual(events, [1, 3], 'the duplicate changed nothing');
    await until(() => ws.frames('sync').length === 2, 'a sync for the gap');
    const s = ws.frames('sync')[1];
    assert.deepEqual(s.rooms, { [ROOM]: 1 }, 'from the last contiguous seq');
    ws.receive({ type: 'sync', ref: s.ref, rooms: [{ room: view(3), messages: [msg(2), msg(3)], hasMore: false, ver: 0, receipts: [], new: false }], hasMore: false });
    assert.deepEqual(c.messages(ROOM).map((m) => m.seq), [1, 2, 3]);
  });

  test('a gap that fills by itself within the grace period needs no sync', async () => {
    const c = client({ gapDelay: 80 });
    const ws = await connected(c);
    ws.receive({ type: 'message.new', message: msg(2) });
    ws.receive({ type: 'message.new', message: msg(1) }); // fan-outs can cross
    await sleep(120);
    assert.equal(ws.frames('sync').length, 1, 'only the connect sync');
    assert.deepEqual(c.messages(ROOM).map((m) => m.content), ['m1', 'm2']);
  });

  test('history pages go below what is held', async () => {
    const c = client();
    const ws = await connected(c, [view(120)]);
    assert.equal(c.room(ROOM).hasOlder, true);
    const p1 = c.loadOlder(ROOM);
    const h1 = ws.frames('history')[0];
    assert.equal(h1.beforeSeq, undefined, 'a room never opened: the newest page');
    ws.receive({ type: 'history', ref: h1.ref, roomId: ROOM, messages: [msg(120), msg(119), msg(118)], hasMore: true, nextCursor: 118 });
    assert.deepEqual(await p1, { hasMore: true });
    const p2 = c.loadOlder(ROOM);
    const h2 = ws.frames('history')[1];
    assert.equal(h2.beforeSeq, 118, 'beforeSeq = the previous nextCursor');
    ws.receive({ type: 'history', ref: h2.ref, roomId: ROOM, messages: [msg(117)], hasMore: false });
    await p2;
    assert.deepEqual(c.messages(ROOM).map((m) => m.seq), [117, 118, 119, 120]);
    assert.equal(c.room(ROOM).hasOlder, false);
  });
});

describe('outbox', () => {
  test('survives a reload and flushes in order, one at a time, with the original clientIds', async () => {
    const storage = memoryStorage();
    const before = client({ storage });
    before.connect();
    await until(() => FakeSocket.last(), 'socket');
    FakeSocket.last().fail(); // offline
    const sent = ['one', 'two', 'three'].map((t) => before.send(ROOM, t));
    assert.deepEqual(sent.map((m) => m.status), ['sending', 'sending', 'sending']);
    before.close();

    const after = client({ storage }); // the page was reloaded
    const pending = after.messages(ROOM);
    assert.deepEqual(pending.map((m) => [m.content, m.status, m.clientId]), sent.map((m) => [m.content, 'sending', m.clientId]));
    const ws = await connected(after);
    for (let i = 0; i < 3; i++) {
      await until(() => ws.frames('message.send').length === i + 1, `send ${i + 1}`);
      await sleep(5);
      assert.equal(ws.frames('message.send').length, i + 1, 'one in flight at a time');
      const f = ws.frames('message.send')[i];
      assert.equal(f.clientId, sent[i].clientId);
      ws.receive({ type: 'ack', clientId: f.clientId, duplicate: i === 0, message: msg(i + 1, 'a', f.content, { clientId: f.clientId }) });
    }
    assert.deepEqual(after.messages(ROOM).map((m) => [m.seq, m.content, m.status, m.key]), sent.map((m, i) => [i + 1, m.content, 'sent', m.clientId]));
    assert.equal(storage.map.size, 0, 'nothing left in storage');
  });

  test('no ack: sent again with the same clientId, failed after maxAttempts, retry reuses it', async () => {
    const c = client({ ackTimeout: 60 });
    const ws = await connected(c);
    const m = c.send(ROOM, 'hello?');
    await until(() => ws.frames('message.send').length === 3, 'three attempts');
    await until(() => c.messages(ROOM)[0].status === 'failed', 'failed');
    assert.ok(ws.frames('message.send').every((f) => f.clientId === m.clientId));
    c.retry(m.clientId);
    assert.equal(c.messages(ROOM)[0].status, 'sending');
    await until(() => ws.frames('message.send').length === 4, 'the retry');
    assert.equal(ws.frames('message.send')[3].clientId, m.clientId);
    ws.receive({ type: 'ack', clientId: m.clientId, duplicate: true, message: msg(1, 'a', 'hello?', { clientId: m.clientId }) });
    assert.deepEqual(c.messages(ROOM).map((x) => [x.seq, x.status]), [[1, 'sent']]);
  });

  test('rate_limited: the same message goes again after a while, without counting as a failure', async () => {
    const c = client({ rateLimitDelay: 30, maxAttempts: 1 });
    const ws = await connected(c);
    const m = c.send(ROOM, 'slow down');
    for (let i = 1; i <= 3; i++) {
      await until(() => ws.frames('message.send').length === i, `send ${i}`);
      ws.receive({ type: 'error', code: 'rate_limited', message: 'at most 30 messages per 10 s', action: 'message.send', clientId: m.clientId, requestId: 'r' });
      assert.equal(c.messages(ROOM)[0].status, 'sending');
    }
    await until(() => ws.frames('message.send').length === 4, 'send 4');
    assert.ok(ws.frames('message.send').every((f) => f.clientId === m.clientId));
    ws.receive({ type: 'ack', clientId: m.clientId, duplicate: false, message: msg(1, 'a', 'slow down', { clientId: m.clientId }) });
    assert.equal(c.messages(ROOM)[0].status, 'sent');
  });

  test("API Gateway's throttling: the sends in flight go again after a while, not counted as failures", async () => {
    const c = client({ rateLimitDelay: 30, maxAttempts: 1 });
    const ws = await connected(c);
    const m = c.send(ROOM, 'throttled');
    for (let i = 1; i <= 3; i++) {
      await until(() => ws.frames('message.send').length === i, `send ${i}`);
      ws.receive({ message: 'Too Many Requests', connectionId: 'c', requestId: 'r' });
      assert.equal(c.messages(ROOM)[0].status, 'sending');
    }
    await until(() => ws.frames('message.send').length === 4, 'send 4');
    assert.ok(ws.frames('message.send').every((f) => f.clientId === m.clientId));
    ws.receive({ type: 'ack', clientId: m.clientId, duplicate: false, message: msg(1, 'a', 'throttled', { clientId: m.clientId }) });
    assert.equal(c.messages(ROOM)[0].status, 'sent');
  });

  test('a permanent error fails the message at once', async () => {
    const c = client();
    const ws = await connected(c);
    const m = c.send(ROOM, 'x');
    await until(() => ws.frames('message.send').length === 1, 'send');
    ws.receive({ type: 'error', code: 'not_member', message: 'you are not a member', action: 'message.send', clientId: m.clientId, requestId: 'r' });
    assert.equal(c.messages(ROOM)[0].status, 'failed');
    assert.equal(c.messages(ROOM)[0].error.code, 'not_member');
  });

  test('an own message coming back from the server completes its pending copy (shown once)', async () => {
    const storage = memoryStorage();
    const c = client({ storage });
    c.connect();
    await until(() => FakeSocket.last(), 'socket');
    const ws = FakeSocket.last();
    const m = c.send(ROOM, 'mine');
    ws.open();
    await until(() => ws.frames('sync').length === 1, 'sync');
    // The sync already holds it (stored by a connection whose ack was lost).
    ws.receive({ type: 'sync', ref: ws.frames('sync')[0].ref, rooms: [{ room: view(0), messages: [], hasMore: false, ver: 0, receipts: [], new: true }], hasMore: false });
    ws.receive({ type: 'message.new', message: msg(1, 'a', 'mine', { clientId: m.clientId }) });
    await sleep(10);
    assert.deepEqual(c.messages(ROOM).map((x) => [x.seq, x.key]), [[1, m.clientId]]);
    assert.equal(storage.map.size, 0);
  });
});

describe('receipts and typing', () => {
  test('delivered is debounced to the highest seq; ticks follow the other member’s cursors', async () => {
    const c = client();
    const ws = await connected(c);
    for (const s of [1, 2, 3]) ws.receive({ type: 'message.new', message: msg(s) });
    await until(() => ws.frames('delivered').length === 1, 'delivered');
    await sleep(40);
    assert.deepEqual(ws.frames('delivered').map((f) => [f.roomId, f.seq]), [[ROOM, 3]]);

    const m = c.send(ROOM, 'mine');
    await until(() => ws.frames('message.send').length === 1, 'send');
    ws.receive({ type: 'ack', clientId: m.clientId, duplicate: false, message: msg(4, 'a', 'mine', { clientId: m.clientId }) });
    const status = () => c.messages(ROOM).find((x) => x.seq === 4).status;
    assert.equal(status(), 'sent');
    ws.receive({ type: 'delivered', roomId: ROOM, userId: 'b', seq: 4 });
    assert.equal(status(), 'delivered');
    ws.receive({ type: 'read', roomId: ROOM, userId: 'b', seq: 4 });
    assert.equal(status(), 'read');

    c.markRead(ROOM, 2);
    c.markRead(ROOM, 4);
    await until(() => ws.frames('read').length === 1, 'read');
    await sleep(40);
    assert.deepEqual(ws.frames('read').map((f) => f.seq), [4]);
  });

  test('typing: at most one `true` per interval, `false` on stop; others expire', async () => {
    const c = client();
    const ws = await connected(c);
    const started = Date.now();
    for (let i = 0; i < 10; i++) c.typing(ROOM);
    assert.equal(ws.frames('typing').length, 1);
    await sleep(30);
    // Still typing (a keystroke every 10 ms): the next `true` goes out when the interval ends.
    const keys = setInterval(() => c.typing(ROOM), 10);
    await until(() => ws.frames('typing').length === 2, 'the next true', 2000).finally(() => clearInterval(keys));
    const [t1, t2] = ws.frames('typing');
    assert.ok(t1.isTyping && t2.isTyping);
    c.stopTyping(ROOM);
    assert.deepEqual(ws.frames('typing').map((f) => f.isTyping), [true, true, false]);
    assert.ok(Date.now() - started >= 100, 'not before the interval');

    const seen = [];
    c.on('typing', (t) => seen.push(t.users.map((u) => u.name)));
    ws.receive({ type: 'typing', roomId: ROOM, userId: 'b', name: 'B', isTyping: true });
    assert.deepEqual(c.typers(ROOM), [{ userId: 'b', name: 'B' }]);
    await until(() => c.typers(ROOM).length === 0, 'expiry', 1000);
    assert.deepEqual(seen, [['B'], []]);

    // A `true` overtaken by the message it was typed for is ignored.
    ws.receive({ type: 'message.new', message: msg(1) });
    ws.receive({ type: 'typing', roomId: ROOM, userId: 'b', name: 'B', isTyping: true });
    assert.deepEqual(c.typers(ROOM), []);
  });
});
