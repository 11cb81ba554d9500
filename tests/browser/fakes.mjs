// Test doubles for the SDK's logic without a browser or a server (sdk.test.mjs, support.test.mjs).

/** Resolves once `fn()` is truthy (polled every 2 ms), or fails naming `what`. */
export async function until(fn, what, timeout = 2000) {
  const end = Date.now() + timeout;
  while (!fn()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 2));
  }
}

/** A WebSocket the test scripts: it records what the client sends and plays the server. */
export class FakeSocket {
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

export function memoryStorage() {
  const m = new Map();
  return { getItem: (k) => (m.has(k) ? m.get(k) : null), setItem: (k, v) => m.set(k, String(v)), removeItem: (k) => m.delete(k), map: m };
}
