// The SDK's logic without a browser or a server: a scripted fake socket plays the server.
// Ordering by seq, duplicates, gaps, the outbox (persistence, order, one in flight, retries),
// receipts debouncing, typing debouncing, reconnect backoff.

import assert from 'node:assert/strict';
import { afterEach, describe, test } from 'node:test';
import { ChatClient } from '../../web/sdk/chat.js';
import { FakeSocket, memoryStorage, until } from './fakes.mjs';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

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

  test('typing: `true` at once and every interval while typing; `false` on stop and after a pause; others expire', async () => {
    const c = client({ typingInterval: 100, typingIdle: 60, typingExpiry: 150 });
    const ws = await connected(c);
    for (let i = 0; i < 10; i++) c.typing(ROOM);
    assert.equal(ws.frames('typing').length, 1, 'one `true` for a burst of keystrokes');
    // Still typing (a keystroke every 10 ms): `true` again every interval, not more often.
    const keys = setInterval(() => c.typing(ROOM), 10);
    await until(() => ws.frames('typing').length === 3, 'two repeats', 2000).finally(() => clearInterval(keys));
    assert.deepEqual(ws.frames('typing').map((f) => f.isTyping), [true, true, true]);
    // A pause longer than typingIdle: `false` by itself.
    await until(() => ws.frames('typing').length === 4, 'false after the pause', 1000);
    assert.equal(ws.frames('typing')[3].isTyping, false);
    await sleep(150);
    assert.equal(ws.frames('typing').length, 4, 'nothing more once stopped');
    // stopTyping (blur, send): `false` at once, once.
    c.typing(ROOM);
    c.stopTyping(ROOM);
    c.stopTyping(ROOM);
    assert.deepEqual(ws.frames('typing').map((f) => f.isTyping), [true, true, true, false, true, false]);

    const seen = [];
    c.on('typing', (t) => seen.push(t.users.map((u) => u.name)));
    ws.receive({ type: 'typing', roomId: ROOM, userId: 'b', name: 'B', isTyping: true });
    assert.deepEqual(c.typers(ROOM), [{ userId: 'b', name: 'B' }]);
    await sleep(100);
    ws.receive({ type: 'typing', roomId: ROOM, userId: 'b', name: 'B', isTyping: true }); // a repeat refreshes it
    await sleep(100);
    assert.deepEqual(c.typers(ROOM), [{ userId: 'b', name: 'B' }], 'refreshed by the repeat: not expired');
    await until(() => c.typers(ROOM).length === 0, 'expiry', 1000);
    assert.deepEqual(seen, [['B'], []]);
    ws.receive({ type: 'typing', roomId: ROOM, userId: 'b', name: 'B', isTyping: true });
    ws.receive({ type: 'typing', roomId: ROOM, userId: 'b', name: 'B', isTyping: false });
    assert.deepEqual(c.typers(ROOM), [], '`false` clears it at once');

    // A `true` overtaken by the message it was typed for is ignored.
    ws.receive({ type: 'message.new', message: msg(1) });
    ws.receive({ type: 'typing', roomId: ROOM, userId: 'b', name: 'B', isTyping: true });
    assert.deepEqual(c.typers(ROOM), []);
  });

  test('the default typing timings cannot race the server: repeats + throttle < expiry', () => {
    const c = client({ typingInterval: undefined, typingIdle: undefined, typingExpiry: undefined });
    const { typingInterval, typingIdle, typingExpiry } = c.opts;
    const SERVER_THROTTLE = 2000; // shared/src/protocol.rs TYPING_INTERVAL_MS
    assert.ok(typingInterval < SERVER_THROTTLE, 'of two repeats at most one is dropped by the throttle');
    assert.ok(typingInterval + SERVER_THROTTLE + 1000 <= typingExpiry, `forwarded repeats (≤ ${typingInterval + SERVER_THROTTLE} ms apart) plus 1 s of jitter fit in the expiry`);
    assert.ok(typingIdle < typingExpiry, 'a pause is said (`false`) before receivers would expire it');
  });
});

// ------------------------------------------------------------------ REST: files, push, mute, cache

/** A fake REST API: answers by "METHOD path", records every call. */
function fakeApi(routes) {
  const calls = [];
  const fetch = async (url, init = {}) => {
    const u = new URL(url);
    const key = `${init.method || 'GET'} ${u.pathname}`;
    const body = init.body ? JSON.parse(init.body) : undefined;
    calls.push({ key, url: u, body, headers: init.headers || {} });
    const route = routes[key];
    if (!route) return new Response(JSON.stringify({ code: 'not_found', title: 'Not Found', status: 404 }), { status: 404 });
    const [status, json] = await route(body, u);
    return new Response(json === undefined ? null : JSON.stringify(json), { status });
  };
  return { fetch, calls };
}

class FakeXHR {
  static all = [];
  constructor() {
    this.headers = {};
    this.upload = {};
    FakeXHR.all.push(this);
  }
  open(method, url) {
    this.method = method;
    this.url = url;
  }
  setRequestHeader(k, v) {
    this.headers[k] = v;
  }
  send(body) {
    this.body = body;
  }
  abort() {
    this.aborted = true;
    this.onabort?.();
  }
  // The test's side:
  progress(loaded, total) {
    this.upload.onprogress?.({ loaded, total, lengthComputable: true });
  }
  finish(status = 200) {
    this.status = status;
    this.onload?.();
  }
  fail() {
    this.onerror?.();
  }
}

const UPLOAD = (n) => [201, { key: `uploads/${ROOM}/u${n}/photo.png`, url: `http://s3.local/bucket/uploads/${ROOM}/u${n}/photo.png?sig=1`, method: 'PUT', headers: { 'content-type': 'image/png', 'content-length': '5', 'x-amz-meta-a': 'b' }, expiresAt: Date.now() + 900_000, maxBytes: 26214400 }];

describe('attachments, push, mute, the room list kept', () => {
  afterEach(() => {
    FakeXHR.all = [];
  });

  test('a file is uploaded with progress, then sent; messages after it wait for it', async () => {
    let n = 0;
    const api = fakeApi({ [`POST /api/chats/${ROOM}/uploads`]: () => UPLOAD(++n) });
    const c = client({ apiUrl: 'http://api.local/api', fetch: api.fetch, XMLHttpRequest: FakeXHR, fileStore: null });
    const ws = await connected(c);
    const progress = [];
    c.on('message', (m) => m.upload && progress.push([m.upload.state, m.upload.loaded]));
    const file = new File([new Uint8Array([1, 2, 3, 4, 5])], 'photo.png', { type: 'image/png' });
    const pending = c.sendFile(ROOM, file);
    c.send(ROOM, 'after the photo');
    assert.equal(pending.kind, 'image');
    assert.deepEqual(pending.attachments, [{ name: 'photo.png', size: 5, mimeType: 'image/png' }]);
    await until(() => FakeXHR.all.length === 1, 'the PUT');
    const xhr = FakeXHR.all[0];
    assert.deepEqual(api.calls[0].body, { name: 'photo.png', size: 5, mimeType: 'image/png' });
    assert.equal(api.calls[0].headers.authorization, 'Bearer h.eyJzdWIiOiJhIn0.s');
    assert.equal(xhr.method, 'PUT');
    assert.deepEqual(xhr.headers, { 'content-type': 'image/png', 'x-amz-meta-a': 'b' }, 'the signed headers, without those a browser sets itself');
    assert.equal(xhr.body, file);
    xhr.progress(2, 5);
    await until(() => c.pending(ROOM)[0].upload.loaded === 2, 'progress');
    assert.equal(ws.frames('message.send').length, 0, 'nothing sent before the upload is done (not the text after it either)');
    xhr.finish(200);
    await until(() => ws.frames('message.send').length === 1, 'the message');
    const f = ws.frames('message.send')[0];
    assert.equal(f.kind, 'image');
    assert.deepEqual(f.attachments, [{ key: `uploads/${ROOM}/u1/photo.png`, name: 'photo.png', size: 5, mimeType: 'image/png' }]);
    assert.equal(f.content, '');
    const stored = { key: `rooms/${ROOM}/u1/photo.png`, name: 'photo.png', size: 5, mimeType: 'image/png', width: 2, height: 1 };
    ws.receive({ type: 'ack', clientId: f.clientId, duplicate: false, message: msg(1, 'a', '', { clientId: f.clientId, kind: 'image', attachments: [stored] }) });
    await until(() => ws.frames('message.send').length === 2, 'the text after it');
    assert.equal(ws.frames('message.send')[1].content, 'after the photo');
    assert.deepEqual(c.messages(ROOM)[0].attachments, [stored]);
    assert.equal(c.localFile(pending.clientId), undefined, 'the file is let go once sent');
    assert.ok(progress.some(([s, l]) => s === 'uploading' && l === 2));
  });

  test('offline, an upload waits in the outbox; a failed PUT is tried again; cancel drops it', async () => {
    let n = 0;
    const api = fakeApi({ [`POST /api/chats/${ROOM}/uploads`]: () => UPLOAD(++n) });
    const storage = memoryStorage();
    const c = client({ storage, apiUrl: 'http://api.local/api', fetch: api.fetch, XMLHttpRequest: FakeXHR, fileStore: null, backoffBase: 5 });
    c.connect();
    await until(() => FakeSocket.last(), 'socket');
    FakeSocket.last().fail(); // offline
    const m = c.sendFile(ROOM, new File(['hello'], 'notes.txt', { type: 'text/plain' }));
    assert.equal(m.kind, 'file');
    await sleep(20);
    assert.equal(api.calls.length, 0, 'no upload while not connected');
    assert.equal(JSON.parse(storage.map.get('chat.outbox.v1:a'))[0].upload.state, 'waiting', 'kept in the outbox');
    await until(() => FakeSocket.all.length === 2, 'reconnect');
    const ws = FakeSocket.last();
    ws.open();
    await until(() => ws.frames('sync').length === 1, 'sync');
    ws.receive({ type: 'sync', ref: ws.frames('sync')[0].ref, rooms: [{ room: view(), messages: [], hasMore: false, ver: 0, receipts: [], new: true }], hasMore: false });
    await until(() => FakeXHR.all.length === 1, 'the upload starts once connected');
    FakeXHR.all[0].fail(); // the network dropped the PUT
    await until(() => FakeXHR.all.length === 2, 'tried again (a new presigned URL)');
    assert.equal(api.calls.length, 2);
    assert.equal(c.pending(ROOM)[0].status, 'sending', 'not failed by one lost attempt');
    c.cancelUpload(m.clientId);
    assert.equal(FakeXHR.all[1].aborted, true, 'the PUT is aborted');
    assert.deepEqual(c.pending(ROOM), []);
    await sleep(20);
    assert.equal(ws.frames('message.send').length, 0);
  });

  test('a refused upload (type, size) fails the message at once; retry asks again', async () => {
    const api = fakeApi({ [`POST /api/chats/${ROOM}/uploads`]: () => [400, { type: 'about:blank', title: 'Bad Request', status: 400, detail: 'mimeType: not an allowed type', code: 'invalid_frame', field: 'mimeType' }] });
    const c = client({ apiUrl: 'http://api.local/api', fetch: api.fetch, XMLHttpRequest: FakeXHR, fileStore: null });
    await connected(c);
    const m = c.sendFile(ROOM, new File(['MZ'], 'tool.exe', { type: 'application/x-msdownload' }));
    await until(() => c.pending(ROOM)[0].status === 'failed', 'failed');
    assert.deepEqual(c.pending(ROOM)[0].error, { code: 'invalid_frame', message: 'mimeType: not an allowed type', field: 'mimeType' });
    assert.equal(FakeXHR.all.length, 0);
    c.retry(m.clientId);
    await until(() => api.calls.length === 2, 'asked again');
  });

  test('a file queued before a reload survives it (file store) and goes out after it', async () => {
    const storage = memoryStorage();
    const files = new Map();
    const fileStore = { put: async (k, f) => void files.set(k, f), get: async (k) => files.get(k), delete: async (k) => void files.delete(k) };
    const api = fakeApi({ [`POST /api/chats/${ROOM}/uploads`]: () => UPLOAD(1) });
    const before = client({ storage, fileStore, apiUrl: 'http://api.local/api', fetch: api.fetch, XMLHttpRequest: FakeXHR });
    const m = before.sendFile(ROOM, new File(['12345'], 'photo.png', { type: 'image/png' }));
    before.close();
    await until(() => files.size === 1, 'stored');
    const after = client({ storage, fileStore, apiUrl: 'http://api.local/api', fetch: api.fetch, XMLHttpRequest: FakeXHR });
    assert.deepEqual(after.pending(ROOM).map((x) => [x.clientId, x.kind, x.upload.state]), [[m.clientId, 'image', 'waiting']]);
    const ws = await connected(after);
    await until(() => FakeXHR.all.length === 1, 'the upload');
    FakeXHR.all[0].finish(200);
    await until(() => ws.frames('message.send').length === 1, 'sent');
    assert.equal(ws.frames('message.send')[0].clientId, m.clientId, 'with its clientId');
    const f = ws.frames('message.send')[0];
    ws.receive({ type: 'ack', clientId: f.clientId, duplicate: false, message: msg(1, 'a', '', { clientId: f.clientId, kind: 'image', attachments: [{ ...f.attachments[0], key: 'rooms/x' }] }) });
    await until(() => files.size === 0, 'the stored file is deleted');
  });

  test('downloads: a presigned URL per key, reused while valid', async () => {
    const api = fakeApi({ [`GET /api/chats/${ROOM}/attachments`]: (_, u) => [200, { url: `http://s3.local/${u.searchParams.get('key')}?sig`, expiresAt: Date.now() + 300_000 }] });
    const c = client({ apiUrl: 'http://api.local/api/', fetch: api.fetch });
    await connected(c);
    assert.equal(await c.attachmentUrl(ROOM, 'rooms/r/1/a b.pdf'), 'http://s3.local/rooms/r/1/a b.pdf?sig');
    await c.attachmentUrl(ROOM, 'rooms/r/1/a b.pdf');
    assert.equal(api.calls.length, 1, 'reused');
    assert.equal(api.calls[0].url.searchParams.get('key'), 'rooms/r/1/a b.pdf');
  });

  test('push: the key, the subscription registered and removed', async () => {
    const KEY = 'BEl62iUYgUivxIkv69yViEuiBIa-Ib9-SkvMeAtA3LFgDzkrxZJjSgSnfckjBJuBkr3qBUYIHBQFLXYp5Nksh8U';
    const api = fakeApi({ 'GET /api/push/key': () => [200, { publicKey: KEY }], 'POST /api/push/subscriptions': () => [201, {}], 'DELETE /api/push/subscriptions': () => [204] });
    const c = client({ apiUrl: 'http://api.local/api', fetch: api.fetch });
    let sub = null;
    const json = { endpoint: 'https://push.example/abc', keys: { p256dh: 'p', auth: 'a' } };
    const registration = {
      pushManager: {
        getSubscription: async () => sub,
        subscribe: async (o) => {
          assert.equal(o.userVisibleOnly, true);
          assert.equal(o.applicationServerKey.length, 65, 'the VAPID key as bytes');
          sub = { endpoint: json.endpoint, options: { applicationServerKey: o.applicationServerKey.buffer }, toJSON: () => json, unsubscribe: async () => ((sub = null), true) };
          return sub;
        },
      },
    };
    await c.enablePush(registration);
    assert.deepEqual(api.calls.map((x) => x.key), ['GET /api/push/key', 'POST /api/push/subscriptions']);
    assert.deepEqual(api.calls[1].body, json);
    await c.enablePush(registration); // again: the same subscription is registered again, not a new one
    assert.equal(api.calls.filter((x) => x.key === 'POST /api/push/subscriptions').length, 2);
    assert.equal(await c.disablePush(registration), true);
    assert.deepEqual(api.calls.at(-1).body, { endpoint: json.endpoint });
    assert.equal(sub, null, 'unsubscribed');
    // No backend for it yet: a clear error.
    const none = client({ apiUrl: 'http://api.local/api', fetch: fakeApi({}).fetch });
    await assert.rejects(none.enablePush(registration), (e) => e.code === 'not_found');
  });

  test('mute: room.mute, the answer sets `muted`', async () => {
    const c = client();
    const ws = await connected(c);
    const p = c.mute(ROOM, true);
    const f = ws.frames('room.mute')[0];
    assert.deepEqual([f.roomId, f.muted], [ROOM, true]);
    ws.receive({ type: 'room.updated', ref: f.ref, room: view(0, { muted: true }) });
    assert.equal((await p).muted, true);
    const q = c.mute(ROOM, false);
    const g = ws.frames('room.mute')[1];
    ws.receive({ type: 'room.updated', ref: g.ref, room: view(0) }); // false is left out
    assert.equal((await q).muted, false);
    // A server without it yet.
    const r = c.mute(ROOM, true);
    ws.receive({ type: 'error', ref: ws.frames('room.mute')[2].ref, code: 'invalid_frame', message: 'unknown action', field: 'action', requestId: 'x' });
    await assert.rejects(r, (e) => e.code === 'invalid_frame');
  });

  test('names: a room preview names its sender by the name it carries', async () => {
    const c = client();
    await connected(c, [view(3, { type: 'group', name: 'G', participants: undefined, lastMessage: { seq: 3, senderId: 'leo-y35h9', senderName: 'Leo', kind: 'text', text: 'hi', createdAt: 5 } })]);
    assert.equal(c.nameOf('leo-y35h9'), 'Leo');
  });

  test('cache: the room list of the last session shows at once, then syncs from it', async () => {
    const storage = memoryStorage();
    const first = client({ storage, cache: true });
    await connected(first, [view(7, { lastMessage: { seq: 7, senderId: 'b', senderName: 'B', kind: 'text', text: 'seven', createdAt: 7 } })]);
    first.close(); // writes what is pending
    const second = client({ storage, cache: true });
    assert.deepEqual(second.rooms().map((r) => [r.roomId, r.title, r.lastMessage.text]), [[ROOM, 'B', 'seven']], 'before any connection');
    second.connect();
    await until(() => FakeSocket.all.length === 2, 'socket');
    const ws = FakeSocket.last();
    ws.open();
    await until(() => ws.frames('sync').length === 1, 'sync');
    assert.deepEqual(ws.frames('sync')[0].rooms, { [ROOM]: 7 }, 'from where the last session was');
    second.clearCache();
    assert.equal(storage.map.has('chat.rooms.v1:a'), false);
    const off = client({ storage }); // without the option: nothing kept
    assert.deepEqual(off.rooms(), []);
  });
});
