// @ts-check
/**
 * chat.js: the browser SDK of the serverless chat backend. A plain ES module without
 * dependencies or build step.
 *
 *   import { ChatClient } from './sdk/chat.js';
 *   const chat = new ChatClient({ url: wsUrl, token, userId });
 *   chat.on('message', (m) => console.log(m.roomId, m.seq, m.status, m.content));
 *   chat.connect();
 *   chat.send(roomId, 'hello');
 *
 * What it takes care of:
 * - the connection: the token travels in `Sec-WebSocket-Protocol` (`["chat.v1", token]`);
 *   reconnects with exponential backoff and jitter (a refused handshake, e.g. HTTP 401, backs off
 *   the same way); `ping` as the heartbeat, as often as the server's `pong` asks
 *   (`heartbeatSeconds`, 30 s by default: after 3 missed ones the server takes the socket for dead
 *   and shows the user offline). Hidden tabs keep beating (browsers slow their timers to once a
 *   minute at most, still inside the 3 intervals), so a user in another tab is never shown gone; the
 *   `offline`/`online` events of the page drop and restore the socket at once;
 * - messages kept per room by `seq` (duplicates dropped; a gap triggers a `sync`); on every
 *   (re)connect a `sync` from the last seq and edit version per room, repeated while `hasMore`;
 * - optimistic sending through a persistent outbox (localStorage): a message shows at once as
 *   `sending`, becomes `sent` on its ack, `delivered` and `read` from receipts, `failed` after
 *   `maxAttempts` unanswered sends; retries (and flushes after a reconnect or a page reload) reuse
 *   the original clientId, which the server deduplicates, so nothing is ever stored or shown twice;
 *   within a room one message is in flight at a time, so messages keep the order they were written;
 * - typing indicators: `typing: true` on the first keystroke, repeated every 1.5 s while typing
 *   goes on, `false` at once when the user sends, leaves the composer or pauses for 2 s; incoming
 *   ones expire 5 s after their last `true` (the server forwards at most one `true` per 2 s, so
 *   forwarded repeats are at most 3.5 s apart: the indicator never flickers). `delivered` and
 *   `read` receipts (debounced: the highest seq per room), presence, history pages;
 * - attachments (with `apiUrl`, the REST API): sendFile() uploads to the presigned URL with
 *   progress and cancel, then sends the message; an upload waits in the outbox like a message
 *   while offline (the file itself in IndexedDB, so it survives a reload);
 * - Web Push (with `apiUrl`): enablePush(registration) / disablePush(registration); mute(roomId);
 * - an offline start (`cache: true`): the room list is kept in storage and shown at once, before
 *   (or without) a connection;
 * - the support desk: visitors start (and resume) a session with startSupport(); operators follow
 *   the queue (supportQueue(), `queue` events) and accept, transfer and close sessions; a support
 *   room's RoomInfo carries its `session`, kept up to date by every session frame (`session`
 *   events say what changed).
 *
 * The protocol it speaks is defined in shared/src/protocol.rs.
 */

import { RETRYABLE, codeOfStatus } from './codes.js';
import { claims, expiresAt, subject } from './jwt.js';
import { IMAGE_TYPES, UNSAFE_HEADERS, base64UrlToBytes, bytesToBase64Url, indexedDbFileStore, memoryFileStore } from './files.js';

export { CLIENT_CODES, SERVER_CODES } from './codes.js';

/** A JWT's claims, unverified (`jwt.js`): what the widget and the UIs show of a token. */
export { claims };
export { IMAGE_TYPES, base64UrlToBytes, indexedDbFileStore };

export const PROTOCOL = 'chat.v1';
/** Largest message content, in bytes of UTF-8. */
export const MAX_CONTENT_BYTES = 16 * 1024;
/** API Gateway refuses larger WebSocket frames (close 1009). */
const MAX_FRAME_BYTES = 32 * 1024 - 512;
/** A `typing: true` this soon after the same user's message is late, not new. */
const TYPING_AFTER_MESSAGE_MS = 1_000;
/** Most rooms one `sync` may list. */
const MAX_SYNC_ROOMS = 500;

/**
 * @typedef {'idle'|'connecting'|'open'|'reconnecting'|'closed'} ConnectionState
 * @typedef {'sending'|'sent'|'delivered'|'read'|'failed'} MessageStatus
 *
 * @typedef {object} ServerMessage A message as the server sends it.
 * @property {string} roomId
 * @property {number} seq strictly increasing per room, without gaps
 * @property {string} id
 * @property {string} senderId
 * @property {string} [senderName]
 * @property {'text'|'image'|'file'|'system'|'note'} kind `note`: an operators' internal note of a
 *   support session (its `seq` counts notes only; kept apart by the SDK: notes(), `note` events)
 * @property {string} content empty on a deleted message
 * @property {number} [replyTo]
 * @property {string} [clientId]
 * @property {number} createdAt epoch milliseconds
 * @property {number} [editedAt]
 * @property {number} [deletedAt]
 * @property {number} [ver]
 * @property {any} [meta]
 * @property {Attachment[]} [attachments] files of an `image` or `file` message
 *
 * @typedef {object} Attachment A file of a message.
 * @property {string} [key] the object's key (`rooms/<roomId>/…` once stored; absent while uploading)
 * @property {string} name
 * @property {number} size bytes
 * @property {string} mimeType
 * @property {number} [width] images: pixels
 * @property {number} [height]
 *
 * @typedef {object} UploadProgress Where the upload of a pending file message is.
 * @property {'waiting'|'uploading'|'uploaded'} state `waiting`: for a connection (or a retry)
 * @property {number} loaded bytes sent
 * @property {number} total
 *
 * @typedef {object} ChatMessage A message as the app shows it (server messages and pending sends).
 * @property {string} key stable across the send → ack transition (the clientId, else the id)
 * @property {string} roomId
 * @property {number} seq 0 while not acknowledged
 * @property {string} id `tmp-<clientId>` while not acknowledged
 * @property {string} [clientId]
 * @property {string} senderId
 * @property {string} [senderName]
 * @property {string} kind
 * @property {string} content
 * @property {number} [replyTo]
 * @property {number} createdAt
 * @property {number} [editedAt]
 * @property {number} [deletedAt]
 * @property {any} [meta]
 * @property {Attachment[]} [attachments]
 * @property {UploadProgress} [upload] a pending file message: its upload
 * @property {boolean} mine sent by this user
 * @property {MessageStatus|null} status ticks of own messages; null for others' messages
 * @property {{code: string, message: string, field?: string}} [error] why a message failed
 *
 * @typedef {object} RoomInfo A room as the server describes it, plus what this client holds.
 * @property {string} roomId
 * @property {'direct'|'group'|'support'|'order'} type
 * @property {string} [name]
 * @property {string} createdBy
 * @property {number} createdAt
 * @property {number} lastSeq
 * @property {{seq: number, senderId: string, senderName?: string, kind: string, text: string, createdAt: number}} [lastMessage]
 * @property {number} memberCount
 * @property {{userId: string, name?: string}[]} [participants]
 * @property {'owner'|'admin'|'member'} role
 * @property {number} readSeq
 * @property {number} deliveredSeq
 * @property {number} unread
 * @property {boolean} hasOlder older messages can be loaded with loadOlder()
 * @property {string} title display name: the other person of a direct room, else the room's name
 * @property {boolean} [muted] no push notifications for this room (`mute()`)
 * @property {SupportSession} [session] a support room's session
 *
 * @typedef {object} VisitorContext What the visitor's page says about them (every field optional).
 * @property {string} [url] http(s), at most 2,048 characters
 * @property {string} [referrer] http(s), at most 2,048 characters
 * @property {string} [userAgent] at most 512 characters
 * @property {string} [locale] at most 35 characters
 * @property {Record<string, string>} [attributes] the site's own: at most 20, names 1 to 64
 *   characters, values up to 256
 *
 * @typedef {object} SupportSession A support session; its `sessionId` is the id of its room.
 * @property {string} sessionId
 * @property {'waiting'|'active'|'closed'} status
 * @property {{userId: string, name?: string}} visitor
 * @property {{userId: string, name?: string}} [operator]
 * @property {VisitorContext} context
 * @property {string} [firstMessage] the start of the visitor's first message
 * @property {number} createdAt
 * @property {number} [acceptedAt]
 * @property {number} [closedAt]
 * @property {string} [closedBy] user id
 * @property {string} [resolution]
 * @property {{score: number, comment?: string, ratedAt: number}} [rating]
 *
 * @typedef {object} QueueEntry A waiting session as operators see it.
 * @property {string} sessionId
 * @property {{userId: string, name?: string}} visitor
 * @property {number} since waiting since (ms)
 * @property {string} [firstMessage]
 * @property {string} [pageUrl]
 *
 * @typedef {object} SupportQueue The queue as operators see it (`queue.updated`).
 * @property {QueueEntry[]} queue oldest first (at most 200)
 * @property {number} total how many sessions wait in all
 * @property {number} operatorsOnline
 * @property {number} estimatedWaitSeconds what a visitor arriving now is told
 * @property {number} receivedAt when this client got it (ms)
 *
 * @typedef {object} QueuePosition A waiting visitor's place in the queue (`queue.position`).
 * @property {string} sessionId
 * @property {number} position 1 = next
 * @property {number} estimatedWaitSeconds
 * @property {number} operatorsOnline 0: the team is away
 *
 * @typedef {object} SessionEvent The payload of a `session` event.
 * @property {SupportSession} session the session after the change
 * @property {'started'|'accepted'|'joined'|'transferred'|'closed'|'rated'} reason
 * @property {boolean} [created] `started`: a new session (false: the visitor's open one)
 * @property {number} [operatorsOnline] `started`
 * @property {boolean} [ratingRequested] `closed`: the visitor may rate it
 * @property {{userId: string, name?: string}} [from] `transferred`
 * @property {{userId: string, name?: string}} [to] `transferred`
 *
 * @typedef {object} Presence
 * @property {boolean} online
 * @property {number} [lastSeen]
 *
 * @typedef {object} ChatOptions
 * @property {string} url the WebSocket URL (`wss://…/<stage>`)
 * @property {string | (() => string | Promise<string>)} token a JWT, or a function called before
 *   every connection attempt (to refresh it)
 * @property {string} [userId] the token's `sub`; read from `token` when it is a string
 * @property {Pick<Storage, 'getItem'|'setItem'|'removeItem'> | null} [storage] where the outbox
 *   survives reloads (default: localStorage; null: memory only)
 * @property {typeof WebSocket} [WebSocket] default: the global one
 * @property {number} [pingInterval] ms between pings until the server says its heartbeat interval (default 30000)
 * @property {number} [pongTimeout] ms to wait for a pong before the socket counts as dead (10000)
 * @property {number} [connectTimeout] ms for a handshake (10000)
 * @property {number} [ackTimeout] ms to wait for an ack before sending again (10000)
 * @property {number} [maxAttempts] sends without ack before a message is `failed` (3)
 * @property {number} [backoffBase] first reconnect delay, ms (1000); doubles per failure
 * @property {number} [backoffMax] longest reconnect delay, ms (30000)
 * @property {number} [typingInterval] while typing goes on, `typing: true` again after this time
 *   (1500; below the server's 2 s throttle, so forwarded repeats are at most 3.5 s apart)
 * @property {number} [typingIdle] no keystroke for this long: `typing: false` (2000)
 * @property {number} [typingExpiry] drop others' indicators not refreshed in this time (5000; above
 *   the 3.5 s a forwarded repeat can take)
 * @property {number} [receiptDelay] debounce of `read`/`delivered` frames, ms (300)
 * @property {number} [gapDelay] wait for a missing seq before syncing, ms (400)
 * @property {number} [historyLimit] messages per history page (50)
 * @property {number} [requestTimeout] ms to wait for the answer to a request (15000)
 * @property {number} [rateLimitDelay] after `rate_limited`, resend in this time to twice it (3000)
 * @property {string} [apiUrl] the REST API's base URL (the stack's `HttpApiUrl`; locally
 *   `http://127.0.0.1:3001/api`): needed for attachments and push
 * @property {boolean} [cache] keep the room list in `storage` and show it at once on the next start,
 *   also offline (default false)
 * @property {FileStore | null} [fileStore] where files waiting to be uploaded survive a reload
 *   (default: IndexedDB when there is one and `storage` is not null; null: memory only)
 * @property {number} [maxUploadBytes] refuse larger files before uploading (default: none; the
 *   server's limit, 25 MB by default, applies anyway)
 * @property {typeof fetch} [fetch] default: the global one
 * @property {typeof XMLHttpRequest} [XMLHttpRequest] default: the global one (uploads with progress)
 *
 * @typedef {{
 *   state: [{state: ConnectionState, attempt: number, delay?: number|null, retryAt?: number, offline?: boolean, reason?: string}],
 *   ready: [],
 *   room: [RoomInfo],
 *   'room.removed': [{roomId: string}],
 *   message: [ChatMessage, {reason: string, duplicate?: boolean}],
 *   messages: [{roomId: string, reason: string}],
 *   typing: [{roomId: string, users: {userId: string, name: string}[]}],
 *   presence: [{userId: string, online: boolean, lastSeen?: number}],
 *   error: [ChatError],
 *   session: [SessionEvent],
 *   queue: [SupportQueue],
 *   queuePosition: [QueuePosition],
 *   operatorJoined: [{sessionId: string, operatorId: string, name?: string}],
 *   note: [ChatNote, {reason: string}],
 *   operatorStatus: [{status: Availability}],
 * }} ChatEvents The events of on(), and the arguments their listeners get.
 */

/** @typedef {import('./files.js').FileStore} FileStore */

/**
 * @typedef {{id: string, shortcut: string, title?: string, text: string, updatedAt: number, updatedBy: string}} SavedReply
 *
 * @typedef {'online'|'away'} Availability An operator's availability (`operator.status`).
 *
 * @typedef {object} ChatNote An operators' internal note of a support session (never the visitor's).
 * @property {string} roomId the session's id
 * @property {number} seq in the session's notes sequence (not its messages')
 * @property {string} id
 * @property {string} senderId
 * @property {string} [senderName]
 * @property {string} content
 * @property {number} createdAt
 * @property {boolean} mine
 * @property {'note'} kind
 */

const DEFAULTS = {
  pingInterval: 30_000,
  pongTimeout: 10_000,
  connectTimeout: 10_000,
  ackTimeout: 10_000,
  maxAttempts: 3,
  backoffBase: 1_000,
  backoffMax: 30_000,
  typingInterval: 1_500,
  typingIdle: 2_000,
  typingExpiry: 5_000,
  receiptDelay: 300,
  gapDelay: 400,
  historyLimit: 50,
  requestTimeout: 15_000,
  rateLimitDelay: 3_000,
};

// Error codes on which a send is repeated (counting attempts): `RETRYABLE` (codes.js);
// `rate_limited` waits without counting; any other error fails the message.

/** An `error` frame, or a local failure, as a rejected promise's reason. */
export class ChatError extends Error {
  /** @param {string} code @param {string} message @param {any} [frame] */
  constructor(code, message, frame) {
    super(message);
    this.name = 'ChatError';
    this.code = code;
    this.frame = frame;
  }
}

/** A random UUID (v4), also outside secure contexts. */
export function uuid() {
  const c = globalThis.crypto;
  if (c && typeof c.randomUUID === 'function') return c.randomUUID();
  const b = new Uint8Array(16);
  if (c && c.getRandomValues) c.getRandomValues(b);
  else for (let i = 0; i < 16; i++) b[i] = Math.floor(Math.random() * 256);
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const h = [...b].map((x) => x.toString(16).padStart(2, '0')).join('');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/** @param {string} s */
const utf8Length = (s) => new TextEncoder().encode(s).length;


/** Memory storage, when localStorage is missing or refused. */
function memoryStorage() {
  const m = new Map();
  return {
    /** @param {string} k */ getItem: (k) => (m.has(k) ? m.get(k) : null),
    /** @param {string} k @param {string} v */ setItem: (k, v) => void m.set(k, String(v)),
    /** @param {string} k */ removeItem: (k) => void m.delete(k),
  };
}

function defaultStorage() {
  try {
    const s = globalThis.localStorage;
    if (s) return s;
  } catch {
    // Access refused (e.g. cookies blocked): fall back to memory.
  }
  return memoryStorage();
}

/**
 * One room's state.
 * Held messages: `msgs` by seq. `[lo, hi]` is the contiguous window held (empty when lo > hi);
 * `hi` is the sync cursor: every seq up to it has been received (or deliberately left to
 * history, for rooms never opened). Seqs above `hi` may be held while a gap waits to be filled.
 */
class Room {
  /** @param {any} view */
  constructor(view) {
    this.id = view.roomId;
    this.view = { ...view };
    /** @type {Map<number, ServerMessage>} */
    this.msgs = new Map();
    this.hi = view.lastSeq || 0;
    this.lo = this.hi + 1;
    /** @type {number|null} the room's edit version, from sync */
    this.ver = null;
    /** @type {number|null} */
    this.nextCursor = null;
    this.noOlder = false;
    /** @type {Promise<{hasMore: boolean}>|null} */
    this.loadingOlder = null;
    /** @type {Map<string, {readSeq: number, deliveredSeq: number}>} other members' cursors */
    this.receipts = new Map();
    /** @type {Map<string, {name?: string, timer: any}>} */
    this.typers = new Map();
    /** @type {Map<string, number>} when each member's last message arrived */
    this.lastMessageAt = new Map();
    this.want = { read: 0, delivered: 0 };
    this.sent = { read: 0, delivered: 0 };
    /** @type {any} */
    this.receiptTimer = null;
    this.typingSentAt = 0;
    this.typedAt = 0;
    this.typingOn = false;
    /** @type {any} repeats `typing: true` while typing goes on */
    this.typingTimer = null;
    /** @type {any} sends `typing: false` after a pause */
    this.typingIdleTimer = null;
  }

  /** Highest seq any other member has read, and has received. */
  cursors() {
    let read = 0;
    let delivered = 0;
    for (const r of this.receipts.values()) {
      read = Math.max(read, r.readSeq);
      delivered = Math.max(delivered, r.deliveredSeq, r.readSeq);
    }
    return { read, delivered };
  }

  maxHeld() {
    let m = 0;
    for (const s of this.msgs.keys()) if (s > m) m = s;
    return m;
  }
}

/**
 * The chat client. Create one per signed-in user; call `connect()`; listen with `on()`.
 */
export class ChatClient {
  /** @param {ChatOptions} options */
  constructor(options) {
    if (!options || !options.url) throw new TypeError('ChatClient: options.url is required');
    if (!options.token) throw new TypeError('ChatClient: options.token is required');
    this.url = options.url;
    // Options left undefined keep their defaults.
    /** @type {typeof DEFAULTS & ChatOptions} */
    this.opts = /** @type {typeof DEFAULTS & ChatOptions} */ ({ ...DEFAULTS, ...Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)) });
    this._token = options.token;
    /** @type {string} */
    this.userId = options.userId || (typeof options.token === 'string' ? subject(options.token) : undefined) || '';
    if (!this.userId) throw new TypeError('ChatClient: options.userId is required when the token is a function');
    this._WS = options.WebSocket || globalThis.WebSocket;
    this._storage = options.storage === null ? memoryStorage() : options.storage || defaultStorage();
    this._storageKey = `chat.outbox.v1:${this.userId}`;
    this._cacheKey = `chat.rooms.v1:${this.userId}`;
    this._fetch = options.fetch || (typeof globalThis.fetch === 'function' ? globalThis.fetch.bind(globalThis) : undefined);
    this._XHR = options.XMLHttpRequest || /** @type {any} */ (globalThis).XMLHttpRequest;
    /** @type {FileStore} */
    this._fileStore = (options.fileStore === undefined ? (options.storage === null ? null : indexedDbFileStore()) : options.fileStore) || memoryFileStore();
    /** @type {string|null} the last token used (REST calls reuse it until it is about to expire) */
    this._lastToken = typeof options.token === 'string' ? options.token : null;

    /** @type {ConnectionState} */
    this._state = 'idle';
    /** @type {WebSocket|null} */
    this._ws = null;
    this._gen = 0; // increases with every socket: frames of older sockets are ignored
    this._ready = false; // the socket is open and the first sync is done
    this._attempt = 0;
    this._userClosed = true;
    /** @type {any} */ this._retryTimer = null;
    /** @type {any} */ this._pingTimer = null;
    /** @type {any} */ this._gapTimer = null;
    this._syncing = /** @type {Promise<void>|null} */ (null);
    this._syncAgain = false;
    this._refSeq = 0;
    /** @type {Map<string, {resolve: (v: any) => void, reject: (e: any) => void, timer: any}>} */
    this._pending = new Map();
    /** @type {Map<string, Set<(...a: any[]) => void>>} */
    this._handlers = new Map();
    /** @type {Map<string, Room>} */
    this._rooms = new Map();
    /** @type {Map<string, ServerMessage[]>} messages of rooms not yet known */
    this._orphans = new Map();
    /** @type {Map<string, Presence>} */
    this._presence = new Map();
    /** @type {Map<string, string>} */
    this._names = new Map();
    /** @type {SupportQueue|null} the last `queue.updated` (operators) */
    this._queue = null;
    /** @type {Map<string, QueuePosition>} sessionId → the last `queue.position` */
    this._positions = new Map();
    /** @type {Map<string, SupportSession>} sessions heard of whose room this client does not hold */
    this._sessions = new Map();
    /** @type {Map<string, Map<number, ServerMessage>>} roomId → its internal notes by their own seq */
    this._notes = new Map();
    /** @type {Set<string>} refs of `history {notes: true}` requests */
    this._noteRefs = new Set();
    /** @type {Availability|null} this operator's availability, once read or set */
    this._availability = null;
    /** @type {Map<string, string>} roomId → clientId of the message in flight */
    this._inFlight = new Map();
    /** @type {Map<string, any>} clientId → ack timer */
    this._ackTimers = new Map();
    /** @type {any[]} */
    this._outbox = this._loadOutbox();
    /** @type {Map<string, Blob>} clientId → the file of a pending file message */
    this._files = new Map();
    /** @type {Map<string, {cancelled: boolean, abort: (() => void) | null}>} clientId → upload under way */
    this._uploads = new Map();
    /** @type {Map<string, {url: string, expiresAt: number}>} attachment key → download URL */
    this._downloads = new Map();
    /** @type {any} */ this._cacheTimer = null;
    /** Files of queued uploads come back from the file store (a reload) before they can go out. */
    this._filesRestored = this._restoreFiles();
    if (this.opts.cache) this._restoreCache();

    this._onOnline = () => {
      this._attempt = 0;
      this.reconnectNow();
    };
    this._onOffline = () => {
      if (!this._userClosed) this._drop('offline');
    };
    this._onVisible = () => {
      const doc = globalThis.document;
      if (doc && doc.visibilityState === 'visible' && this._ready) this._ping();
    };
    // Leaving the page (a reload, a closed tab): the room list is written now, not in 500 ms.
    this._onPageHide = () => {
      if (!this._cacheTimer) return;
      clearTimeout(this._cacheTimer);
      this._cacheTimer = null;
      this._saveCache();
    };
  }

  // ---------------------------------------------------------------- events

  /**
   * Listens to an event; returns a function that stops listening.
   * Events: `state` ({state, attempt, delay, offline, reason}), `ready` (connected and caught up),
   * `room` (RoomInfo), `room.removed` ({roomId}), `message` (ChatMessage, {reason}),
   * `messages` ({roomId, reason}: many messages of a room changed; read them with messages()),
   * `typing` ({roomId, users}), `presence` ({userId, online, lastSeen}), `error` (ChatError).
   * Support desk: `session` (SessionEvent: a session started, was accepted, transferred, closed or
   * rated), `queue` (SupportQueue, operators), `queuePosition` (QueuePosition, waiting visitors),
   * `operatorJoined` ({sessionId, operatorId, name}). `message` also fires as a pending file
   * message's upload moves on (reason `upload`, `progress`, `uploaded`).
   * @template {keyof ChatEvents} K
   * @param {K} event @param {(...args: ChatEvents[K]) => void} fn @returns {() => void}
   */
  on(event, fn) {
    let set = this._handlers.get(event);
    if (!set) this._handlers.set(event, (set = new Set()));
    set.add(fn);
    return () => this.off(event, fn);
  }

  /** @template {keyof ChatEvents} K @param {K} event @param {(...args: ChatEvents[K]) => void} fn */
  off(event, fn) {
    this._handlers.get(event)?.delete(fn);
  }

  /** @param {string} event @param {...any} args */
  _emit(event, ...args) {
    for (const fn of [...(this._handlers.get(event) || [])]) {
      try {
        fn(...args);
      } catch (e) {
        setTimeout(() => {
          throw e;
        });
      }
    }
  }

  // ---------------------------------------------------------------- connection

  /** @returns {ConnectionState} */
  get state() {
    return this._state;
  }

  /** True once connected and caught up (after the sync of this connection). */
  get ready() {
    return this._ready;
  }

  /** Opens the connection (and keeps it open until close()). */
  connect() {
    if (!this._userClosed) return;
    this._userClosed = false;
    const w = /** @type {any} */ (globalThis);
    if (typeof w.addEventListener === 'function') {
      w.addEventListener('online', this._onOnline);
      w.addEventListener('offline', this._onOffline);
      w.addEventListener('pagehide', this._onPageHide);
    }
    w.document?.addEventListener?.('visibilitychange', this._onVisible);
    // Messages restored from the outbox show at once, as `sending`.
    for (const roomId of new Set(this._outbox.map((e) => e.roomId))) this._emit('messages', { roomId, reason: 'outbox' });
    this._openSocket();
  }

  /** Closes the connection for good (the outbox stays in storage). */
  close() {
    this._userClosed = true;
    const w = /** @type {any} */ (globalThis);
    if (typeof w.removeEventListener === 'function') {
      w.removeEventListener('online', this._onOnline);
      w.removeEventListener('offline', this._onOffline);
      w.removeEventListener('pagehide', this._onPageHide);
    }
    w.document?.removeEventListener?.('visibilitychange', this._onVisible);
    clearTimeout(this._retryTimer);
    clearTimeout(this._gapTimer);
    const ws = this._ws;
    this._teardown();
    if (ws) this._closeSocket(ws, 1000, 'bye');
    for (const [clientId, job] of this._uploads) {
      job.cancelled = true; // stays queued (in storage) for the next start
      job.abort?.();
      const e = this._outbox.find((x) => x.clientId === clientId);
      if (e && e.upload && e.upload.state === 'uploading') e.upload = { ...e.upload, state: 'waiting', loaded: 0 };
    }
    this._uploads.clear();
    if (this._cacheTimer) {
      clearTimeout(this._cacheTimer);
      this._cacheTimer = null;
      this._saveCache();
    }
    for (const r of this._rooms.values()) {
      clearTimeout(r.receiptTimer);
      r.receiptTimer = null;
      for (const t of r.typers.values()) clearTimeout(t.timer);
      r.typers.clear();
    }
    this._setState('closed');
  }

  /** Skips the wait of a pending reconnect (e.g. a "Retry now" button). */
  reconnectNow() {
    if (this._userClosed || this._ws) return;
    clearTimeout(this._retryTimer);
    this._openSocket();
  }

  /** @param {ConnectionState} state @param {object} [extra] */
  _setState(state, extra = {}) {
    this._state = state;
    this._emit('state', { state, attempt: this._attempt, ...extra });
  }

  async _openSocket() {
    clearTimeout(this._retryTimer);
    if (this._userClosed || this._ws) return;
    const nav = /** @type {any} */ (globalThis).navigator;
    if (nav && nav.onLine === false) {
      this._setState('reconnecting', { offline: true, delay: null });
      return; // the `online` event brings us back
    }
    const gen = ++this._gen;
    this._setState('connecting');
    let token;
    try {
      token = typeof this._token === 'function' ? await this._token() : this._token;
    } catch (e) {
      if (gen === this._gen) this._scheduleReconnect(`cannot get a token: ${e instanceof Error ? e.message : e}`);
      return;
    }
    if (gen !== this._gen || this._userClosed || this._ws) return;
    if (typeof token === 'string') this._lastToken = token;
    /** @type {WebSocket} */
    let ws;
    try {
      ws = new this._WS(this.url, [PROTOCOL, token]);
    } catch (e) {
      this._scheduleReconnect(`cannot open ${this.url}: ${e instanceof Error ? e.message : e}`);
      return;
    }
    this._ws = ws;
    const timer = setTimeout(() => {
      if (this._ws === ws && ws.readyState !== 1) this._drop('connect timeout');
    }, this.opts.connectTimeout);
    ws.onopen = () => {
      clearTimeout(timer);
      if (this._ws === ws) this._onOpen(gen);
    };
    ws.onmessage = (e) => {
      if (this._ws === ws) this._onFrame(e.data);
    };
    ws.onclose = (e) => {
      clearTimeout(timer);
      if (this._ws !== ws) return;
      // A refused handshake (HTTP 401, 5xx) shows up here as 1006 before any open: it backs off
      // like any failure (the attempt counter only resets once a connection has synced).
      this._teardown();
      this._scheduleReconnect(`closed (${e.code}${e.reason ? ' ' + e.reason : ''})`);
    };
    ws.onerror = () => {
      /* a close event follows */
    };
  }

  /** @param {number} gen */
  async _onOpen(gen) {
    this._setState('open');
    this._beat(this._beatMs || this.opts.pingInterval);
    this._ping();
    try {
      await this._syncAll();
    } catch (e) {
      if (gen === this._gen && this._ws) this._drop(`sync failed: ${e instanceof Error ? e.message : e}`);
      return;
    }
    if (gen !== this._gen || !this._ws) return;
    this._ready = true;
    this._attempt = 0; // a connection that got this far counts as good
    this._emit('ready');
    for (const r of this._rooms.values()) this._flushReceipts(r);
    for (const e of this._outbox) this._startUpload(e);
    for (const roomId of new Set(this._outbox.map((e) => e.roomId))) this._pump(roomId);
  }

  /** Forgets the current socket (its late frames are ignored), then reconnects later. @param {string} why */
  _drop(why) {
    const ws = this._ws;
    if (!ws) return;
    this._teardown();
    this._closeSocket(ws, 4000, why.slice(0, 100));
    this._scheduleReconnect(why);
  }

  /** @param {WebSocket} ws @param {number} code @param {string} reason */
  _closeSocket(ws, code, reason) {
    ws.onopen = ws.onmessage = ws.onerror = ws.onclose = null;
    try {
      ws.close(code, reason);
    } catch {
      try {
        ws.close();
      } catch {
        /* already closed */
      }
    }
  }

  /** Clears everything that belonged to the current socket. */
  _teardown() {
    this._ws = null;
    this._ready = false;
    this._gen++;
    clearInterval(this._pingTimer);
    this._pingTimer = null;
    this._syncing = null;
    for (const [, p] of this._pending) {
      clearTimeout(p.timer);
      p.reject(new ChatError('disconnected', 'the connection closed before the answer came'));
    }
    this._pending.clear();
    for (const t of this._ackTimers.values()) clearTimeout(t);
    this._ackTimers.clear();
    this._inFlight.clear();
    for (const r of this._rooms.values()) {
      r.typingOn = false;
      clearTimeout(r.typingTimer);
      r.typingTimer = null;
      clearTimeout(r.typingIdleTimer);
      r.typingIdleTimer = null;
      if (r.typers.size) {
        for (const t of r.typers.values()) clearTimeout(t.timer);
        r.typers.clear();
        this._emitTyping(r);
      }
    }
  }

  /** @param {string} reason */
  _scheduleReconnect(reason) {
    clearTimeout(this._retryTimer);
    if (this._userClosed) return;
    const nav = /** @type {any} */ (globalThis).navigator;
    if (nav && nav.onLine === false) {
      this._setState('reconnecting', { offline: true, delay: null, reason });
      return;
    }
    const n = this._attempt++;
    const cap = Math.min(this.opts.backoffMax, this.opts.backoffBase * 2 ** Math.min(n, 20));
    const delay = Math.round(cap / 2 + Math.random() * (cap / 2)); // "equal jitter"
    this._setState('reconnecting', { delay, offline: false, retryAt: Date.now() + delay, reason });
    this._retryTimer = setTimeout(() => this._openSocket(), delay);
  }

  /** (Re)starts the heartbeat timer at `ms` if it is not running at that interval. @param {number} ms */
  _beat(ms) {
    if (this._pingTimer && this._beatMs === ms) return;
    this._beatMs = ms;
    clearInterval(this._pingTimer);
    this._pingTimer = setInterval(() => this._ping(), ms);
  }

  _ping() {
    if (!this._ws || this._ws.readyState !== 1) return;
    const ws = this._ws;
    this._request({ action: 'ping' }, this.opts.pongTimeout).catch((e) => {
      if (this._ws === ws && e.code === 'timeout') this._drop('no pong');
    });
  }

  /** Sends a frame; false when there is no open socket or it is too big. @param {object} frame */
  _send(frame) {
    const ws = this._ws;
    if (!ws || ws.readyState !== 1) return false;
    const text = JSON.stringify(frame);
    if (utf8Length(text) > MAX_FRAME_BYTES) return false;
    ws.send(text);
    return true;
  }

  /**
   * Sends a request with a `ref` and resolves with the answer (rejects with its error frame).
   * @param {Record<string, any>} frame @param {number} [timeout]
   */
  _request(frame, timeout = this.opts.requestTimeout) {
    return new Promise((resolve, reject) => {
      const ref = `r${++this._refSeq}`;
      if (frame.action === 'history' && frame.notes) this._noteRefs.add(ref);
      if (!this._send({ ...frame, ref })) {
        this._noteRefs.delete(ref);
        reject(new ChatError('offline', 'not connected'));
        return;
      }
      const timer = setTimeout(() => {
        this._pending.delete(ref);
        reject(new ChatError('timeout', `no answer to ${frame.action}`));
      }, timeout);
      this._pending.set(ref, { resolve, reject, timer });
    });
  }

  // ---------------------------------------------------------------- incoming frames

  /** @param {any} data */
  _onFrame(data) {
    let f;
    try {
      f = JSON.parse(data);
    } catch {
      return;
    }
    if (!f || typeof f !== 'object') return;
    if (!f.type) {
      // API Gateway's own answers: {"message": "Internal server error", "connectionId", "requestId"}.
      if (f.message === 'Too Many Requests') this._throttled();
      if (typeof f.message === 'string') this._emit('error', new ChatError('gateway', f.message, f));
      return;
    }
    try {
      this._apply(f);
    } finally {
      const p = f.ref !== undefined ? this._pending.get(f.ref) : undefined;
      if (p) {
        this._pending.delete(f.ref);
        clearTimeout(p.timer);
        if (f.type === 'error') p.reject(new ChatError(f.code, f.message, f));
        else p.resolve(f);
      }
    }
  }

  /** @param {any} f */
  _apply(f) {
    switch (f.type) {
      case 'pong':
        // The server's heartbeat interval: beat a little more often than asked.
        if (f.heartbeatSeconds > 0) this._beat(Math.max(1000, f.heartbeatSeconds * 900));
        return;
      case 'message.new':
        return this._onMessageNew(f.message);
      case 'ack':
        return this._onAck(f);
      case 'message.updated':
        return this._onUpdated(f.message);
      case 'typing':
        return this._onTyping(f);
      case 'read':
      case 'delivered':
        return this._onCursor(f.type, f.roomId, f.userId, f.seq);
      case 'sync':
        return this._applySync(f);
      case 'history':
        return this._applyHistory(f);
      case 'room.created':
      case 'room.joined':
      case 'room.updated':
        return this._upsertRoom(f.room);
      case 'room.list':
        for (const v of f.rooms || []) this._upsertRoom(v);
        return;
      case 'room.left':
        return this._removeRoom(f.roomId);
      case 'presence':
        return this._setPresence(f.userId, f.online, f.lastSeen);
      case 'presence.list':
        for (const u of f.users || []) {
          if (u.name) this._names.set(u.userId, u.name);
          this._setPresence(u.userId, u.online, u.lastSeen);
        }
        return;
      case 'operator.status':
        if (f.status === 'online' || f.status === 'away') {
          this._availability = f.status;
          this._emit('operatorStatus', { status: f.status });
        }
        return;
      case 'session.started':
        return this._onSessionStarted(f);
      case 'queue.position': {
        /** @type {QueuePosition} */
        const p = { sessionId: f.sessionId, position: f.position, estimatedWaitSeconds: f.estimatedWaitSeconds, operatorsOnline: f.operatorsOnline };
        this._positions.set(f.sessionId, p);
        this._emit('queuePosition', p);
        return;
      }
      case 'queue.updated':
        this._queue = { queue: f.queue || [], total: f.total || 0, operatorsOnline: f.operatorsOnline || 0, estimatedWaitSeconds: f.estimatedWaitSeconds || 0, receivedAt: Date.now() };
        for (const e of this._queue.queue) if (e.visitor && e.visitor.name) this._names.set(e.visitor.userId, e.visitor.name);
        this._emit('queue', this._queue);
        return;
      case 'session.accepted':
        return this._onSessionAccepted(f);
      case 'operator.joined':
        return this._onOperatorJoined(f);
      case 'session.transferred':
        this._setSession(f.session, { reason: 'transferred', from: f.from, to: f.to });
        // The operator who handed it over is no longer a member (their other devices get room.left).
        if (f.from && f.from.userId === this.userId && (!f.to || f.to.userId !== this.userId)) this._removeRoom(f.session.sessionId);
        return;
      case 'session.closed':
        this._positions.delete(f.session && f.session.sessionId);
        return this._setSession(f.session, { reason: 'closed', ratingRequested: !!f.ratingRequested });
      case 'session.rated':
        return this._setSession(f.session, { reason: 'rated' });
      case 'error':
        return this._onError(f);
      default:
        return; // a newer server: ignore what we do not know
    }
  }

  /**
   * API Gateway's throttling refused one of this connection's frames, without saying which: every
   * send in flight goes again after a pause, not counted as an attempt (one that did arrive is
   * answered with its original ack, so nothing is stored twice).
   */
  _throttled() {
    const delay = this.opts.rateLimitDelay * (1 + Math.random());
    for (const e of this._outbox) {
      if (this._inFlight.get(e.roomId) !== e.clientId) continue;
      this._clearFlight(e);
      e.attempts = Math.max(0, (e.attempts || 1) - 1);
      setTimeout(() => this._pump(e.roomId), delay);
    }
  }

  /** @param {any} f */
  _onError(f) {
    // The connection is not (or no longer) registered server-side: only a new one helps.
    if (f.code === 'unauthorized' && this._ws) this._drop('unauthorized');
    if (f.action === 'message.send' && f.clientId) {
      // Handled here: retried, or the message shows as failed (a `message` event).
      const e = this._outbox.find((x) => x.clientId === f.clientId);
      if (!e) return;
      this._clearFlight(e);
      if (f.code === 'rate_limited') {
        // Over the connection's send budget: not the message's fault; wait for the next window.
        e.attempts = Math.max(0, (e.attempts || 1) - 1);
        setTimeout(() => this._pump(e.roomId), this.opts.rateLimitDelay * (1 + Math.random()));
      } else if (RETRYABLE.has(f.code)) this._afterMiss(e, { code: f.code, message: f.message });
      else this._fail(e, { code: f.code, message: f.message, field: f.field });
      return;
    }
    if (f.ref === undefined || !this._pending.has(f.ref)) this._emit('error', new ChatError(f.code, f.message, f));
  }

  /** @param {ServerMessage} m */
  _onMessageNew(m) {
    if (!m || !m.roomId) return;
    if (m.kind === 'note') return this._addNotes(m.roomId, [m], 'new');
    const r = this._rooms.get(m.roomId);
    if (!r) {
      // A room we do not know yet (room.joined may follow): keep the message, ask the server.
      const list = this._orphans.get(m.roomId) || [];
      list.push(m);
      this._orphans.set(m.roomId, list);
      this._scheduleGapSync();
      return;
    }
    const changed = this._insert(r, m, 'live');
    this._notePreview(r, m);
    if (m.senderId !== this.userId) {
      r.lastMessageAt.set(m.senderId, Date.now());
      this._stopTyper(r, m.senderId);
      this._queueReceipt(r, 'delivered', m.seq);
      // Writing moves the writer's read cursor to their message, without a `read` frame.
      this._setReceipt(r, m.senderId, m.seq, m.seq);
    } else {
      r.view.readSeq = Math.max(r.view.readSeq, m.seq); // sent from another device: read there
    }
    this._recountUnread(r);
    this._emitRoom(r);
    if (changed) this._emit('message', this._toChat(r, r.msgs.get(m.seq) || m), { reason: 'new' });
  }

  /** @param {any} f */
  _onAck(f) {
    const m = f.message;
    if (m && m.kind === 'note') return this._addNotes(m.roomId, [m], 'ack');
    const r = m && this._rooms.get(m.roomId);
    const entry = this._outbox.find((x) => x.clientId === f.clientId);
    if (entry) this._complete(entry);
    if (!r) {
      // A room not held yet (the first message of a support session, sent with support.start,
      // whose room arrives with the next sync): keep the message for when it does.
      if (m && m.roomId && typeof m.seq === 'number') {
        const list = this._orphans.get(m.roomId) || [];
        list.push(m);
        this._orphans.set(m.roomId, list);
        this._scheduleGapSync();
      }
      return;
    }
    this._insert(r, m, 'ack');
    this._notePreview(r, m);
    // The server moves the sender's read cursor to its own message.
    r.view.readSeq = Math.max(r.view.readSeq, m.seq);
    this._recountUnread(r);
    this._emitRoom(r);
    if (r.msgs.has(m.seq)) this._emit('message', this._toChat(r, r.msgs.get(m.seq)), { reason: 'ack', duplicate: !!f.duplicate });
    else this._emit('messages', { roomId: r.id, reason: 'ack' });
    this._pump(r.id);
  }

  /** @param {ServerMessage} m */
  _onUpdated(m) {
    const r = m && this._rooms.get(m.roomId);
    if (!r) return;
    const held = r.msgs.get(m.seq);
    if (r.view.lastMessage && r.view.lastMessage.seq === m.seq) {
      this._notePreview(r, m, true);
      this._emitRoom(r);
    }
    if (!held || !isNewer(m, held)) return;
    r.msgs.set(m.seq, m);
    this._emit('message', this._toChat(r, m), { reason: 'update' });
  }

  /** @param {any} f */
  _onTyping(f) {
    const r = this._rooms.get(f.roomId);
    if (!r || f.userId === this.userId) return;
    if (f.name) this._names.set(f.userId, f.name);
    if (!f.isTyping) {
      this._stopTyper(r, f.userId);
      return;
    }
    // Frames are handled concurrently server-side: a `true` sent just before a message can
    // arrive after it. Someone who has just sent a message is not typing it any more.
    if (Date.now() - (r.lastMessageAt.get(f.userId) || 0) < TYPING_AFTER_MESSAGE_MS) return;
    const old = r.typers.get(f.userId);
    if (old) clearTimeout(old.timer);
    const timer = setTimeout(() => this._stopTyper(r, f.userId), this.opts.typingExpiry);
    r.typers.set(f.userId, { name: f.name, timer });
    if (!old) this._emitTyping(r);
  }

  /** @param {Room} r @param {string} userId */
  _stopTyper(r, userId) {
    const t = r.typers.get(userId);
    if (!t) return;
    clearTimeout(t.timer);
    r.typers.delete(userId);
    this._emitTyping(r);
  }

  /** @param {Room} r */
  _emitTyping(r) {
    this._emit('typing', { roomId: r.id, users: this.typers(r.id) });
  }

  /** @param {'read'|'delivered'} kind @param {string} roomId @param {string} userId @param {number} seq */
  _onCursor(kind, roomId, userId, seq) {
    const r = this._rooms.get(roomId);
    if (!r) return;
    if (userId === this.userId) {
      // Another device of ours.
      if (kind === 'read' && seq > r.view.readSeq) {
        r.view.readSeq = seq;
        this._recountUnread(r);
        this._emitRoom(r);
      }
      if (kind === 'delivered') r.view.deliveredSeq = Math.max(r.view.deliveredSeq, seq);
      return;
    }
    const cur = r.receipts.get(userId) || { readSeq: 0, deliveredSeq: 0 };
    this._setReceipt(r, userId, kind === 'read' ? Math.max(cur.readSeq, seq) : cur.readSeq, kind === 'delivered' ? Math.max(cur.deliveredSeq, seq) : cur.deliveredSeq);
  }

  /** Updates another member's cursors; re-announces own messages whose ticks changed. @param {Room} r @param {string} userId @param {number} readSeq @param {number} deliveredSeq */
  _setReceipt(r, userId, readSeq, deliveredSeq) {
    const before = r.cursors();
    const cur = r.receipts.get(userId) || { readSeq: 0, deliveredSeq: 0 };
    r.receipts.set(userId, { readSeq: Math.max(cur.readSeq, readSeq), deliveredSeq: Math.max(cur.deliveredSeq, deliveredSeq) });
    const after = r.cursors();
    if (after.read === before.read && after.delivered === before.delivered) return;
    const from = Math.min(before.read, before.delivered);
    const to = Math.max(after.read, after.delivered);
    for (const m of r.msgs.values()) {
      if (m.senderId === this.userId && m.seq > from && m.seq <= to && m.kind !== 'system') {
        this._emit('message', this._toChat(r, m), { reason: 'status' });
      }
    }
  }

  /** @param {string} userId @param {boolean} online @param {number} [lastSeen] */
  _setPresence(userId, online, lastSeen) {
    const p = { online: !!online, lastSeen: lastSeen || this._presence.get(userId)?.lastSeen };
    this._presence.set(userId, p);
    this._emit('presence', { userId, ...p });
  }

  // ---------------------------------------------------------------- support desk frames

  /** @param {any} f */
  _onSessionStarted(f) {
    const s = f.session;
    if (!s || !s.sessionId) return;
    // The answer carries the room (its first message's ack follows; older servers sent no room:
    // then a sync brings it).
    if (f.room && f.room.roomId && !this._rooms.has(s.sessionId)) this._upsertRoom({ ...f.room, session: s });
    this._setSession(s, { reason: 'started', created: !!f.created, operatorsOnline: f.operatorsOnline || 0 });
    if (!this._rooms.has(s.sessionId) && this._ready) this._syncAll().catch(() => {});
  }

  /** @param {any} f */
  _onSessionAccepted(f) {
    if (!f.room || !f.room.roomId) return;
    const r = this._upsertRoom({ ...f.room, session: f.session || f.room.session });
    if (!r) return;
    let changed = false;
    for (const m of f.messages || []) if (this._insert(r, m, 'history')) changed = true; // newest first, like history
    for (const m of f.messages || []) if (m.kind !== 'note') this._notePreview(r, m);
    if (f.notes && f.notes.length) this._addNotes(r.id, f.notes, 'accepted');
    if (r.hi > (r.view.deliveredSeq || 0)) this._queueReceipt(r, 'delivered', r.hi);
    this._recountUnread(r);
    this._emitRoom(r);
    if (changed) this._emit('messages', { roomId: r.id, reason: 'accepted' });
    this._emit('session', { session: r.view.session || f.session, reason: 'accepted' });
  }

  /** @param {any} f */
  _onOperatorJoined(f) {
    if (f.name) this._names.set(f.operatorId, f.name);
    const cur = this.session(f.sessionId);
    if (cur && cur.status !== 'closed') {
      // The frame carries no time: the session a reload reads has `acceptedAt` (the first accept;
      // a transfer keeps it), so the live one gets it too, from this client's clock.
      const acceptedAt = cur.acceptedAt || Date.now();
      this._setSession({ ...cur, status: 'active', acceptedAt, operator: { userId: f.operatorId, name: f.name } }, { reason: 'joined' });
    }
    this._emit('operatorJoined', { sessionId: f.sessionId, operatorId: f.operatorId, name: f.name });
  }

  /**
   * Keeps a session's new state (on its room's view, else aside until the room is known) and
   * announces it. @param {SupportSession} session @param {Omit<SessionEvent, 'session'>} extra
   */
  _setSession(session, extra) {
    if (!session || !session.sessionId) return;
    const id = session.sessionId;
    if (session.visitor && session.visitor.name) this._names.set(session.visitor.userId, session.visitor.name);
    if (session.operator && session.operator.name) this._names.set(session.operator.userId, session.operator.name);
    const r = this._rooms.get(id);
    if (r) {
      r.view.session = laterSession(r.view.session, session);
      this._emitRoom(r);
    } else {
      this._sessions.set(id, /** @type {SupportSession} */ (laterSession(this._sessions.get(id), session)));
    }
    this._emit('session', { session: this.session(id) || session, ...extra });
  }

  // ---------------------------------------------------------------- rooms and messages

  /** @param {any} view */
  _upsertRoom(view) {
    if (!view || !view.roomId) return;
    let r = this._rooms.get(view.roomId);
    if (!r) {
      const heard = this._sessions.get(view.roomId);
      if (heard) {
        this._sessions.delete(view.roomId);
        view = { ...view, session: laterSession(heard, view.session) };
      }
      r = new Room(view);
      r.view.muted = !!view.muted;
      this._rooms.set(r.id, r);
      this._learnNames(view);
      const orphans = this._orphans.get(r.id);
      this._orphans.delete(r.id);
      for (const m of orphans || []) {
        this._insert(r, m, 'live');
        if (m.senderId !== this.userId) this._queueReceipt(r, 'delivered', m.seq);
        else r.view.readSeq = Math.max(r.view.readSeq || 0, m.seq); // writing moves the writer's read cursor
      }
      if (orphans) {
        this._recountUnread(r);
        this._emit('messages', { roomId: r.id, reason: 'sync' });
      }
    } else {
      this._updateView(r, view, false);
    }
    this._emitRoom(r);
    return r;
  }

  /** @param {Room} r @param {any} view @param {boolean} fromSync */
  _updateView(r, view, fromSync) {
    const readSeq = Math.max(r.view.readSeq || 0, view.readSeq || 0);
    const lastMessage = r.view.lastMessage && view.lastMessage && r.view.lastMessage.seq > view.lastMessage.seq ? r.view.lastMessage : view.lastMessage || r.view.lastMessage;
    const session = r.view.session;
    r.view = { ...r.view, ...view, readSeq, lastMessage, lastSeq: Math.max(r.view.lastSeq || 0, view.lastSeq || 0) };
    // A view read before a session frame that arrived first must not take the session back.
    if (view.session) r.view.session = laterSession(session, view.session);
    // Server views leave `muted` out when it is false.
    r.view.muted = !!view.muted;
    this._learnNames(view);
    if (r.msgs.size === 0 && r.view.lastSeq > r.hi) {
      // Never opened: no need to fetch what history will bring when it is.
      r.hi = r.view.lastSeq;
      r.lo = r.hi + 1;
    } else if (!fromSync && r.view.lastSeq > r.hi) {
      this._scheduleGapSync();
    }
    this._recountUnread(r);
  }

  /** Names of a room view: its participants, the sender of its last message. @param {any} view */
  _learnNames(view) {
    for (const p of view.participants || []) if (p.name) this._names.set(p.userId, p.name);
    const lm = view.lastMessage;
    if (lm && lm.senderName && lm.senderId && !this._names.has(lm.senderId)) this._names.set(lm.senderId, lm.senderName);
  }

  /** @param {string} roomId */
  _removeRoom(roomId) {
    const r = this._rooms.get(roomId);
    if (!r) return;
    clearTimeout(r.receiptTimer);
    clearTimeout(r.typingTimer);
    clearTimeout(r.typingIdleTimer);
    for (const t of r.typers.values()) clearTimeout(t.timer);
    this._rooms.delete(roomId);
    const dropped = this._outbox.filter((e) => e.roomId === roomId);
    if (dropped.length) {
      this._outbox = this._outbox.filter((e) => e.roomId !== roomId);
      this._saveOutbox();
      for (const e of dropped) this._forgetFile(e.clientId);
    }
    this._scheduleCacheSave();
    this._emit('room.removed', { roomId });
  }

  /**
   * Adds a server message to its room; returns whether anything changed.
   * @param {Room} r @param {ServerMessage} m @param {'live'|'ack'|'sync'|'history'} source
   */
  _insert(r, m, source) {
    if (!m || typeof m.seq !== 'number') return false;
    // A note's seq is in the notes' own sequence: never in the messages (gaps, unread, previews).
    if (m.kind === 'note') {
      this._addNotes(r.id, [m], source);
      return false;
    }
    if (m.senderName) this._names.set(m.senderId, m.senderName);
    // Our own message coming back (after a reload, another tab, a lost ack): its outbox entry is done.
    if (m.senderId === this.userId && m.clientId) {
      const e = this._outbox.find((x) => x.clientId === m.clientId);
      if (e) this._complete(e);
    }
    const s = m.seq;
    const held = r.msgs.get(s);
    if (held) {
      if (!isNewer(m, held)) return false; // a duplicate
      r.msgs.set(s, m);
      return true;
    }
    if (s > r.hi) {
      r.msgs.set(s, m);
      while (r.msgs.has(r.hi + 1)) r.hi++;
      if (r.lo > r.hi) r.lo = Math.min(r.lo, s); // the window was empty
      if (r.maxHeld() > r.hi && source !== 'sync') this._scheduleGapSync();
      if (r.view.lastSeq < s) r.view.lastSeq = s;
      return true;
    }
    if (s >= r.lo) {
      r.msgs.set(s, m);
      return true;
    }
    if (s === r.lo - 1 || source === 'history') {
      r.msgs.set(s, m);
      while (r.msgs.has(r.lo - 1)) r.lo--;
      if (s < r.lo) r.lo = s;
      return true;
    }
    return false; // below the window with a hole between: history brings it in order
  }

  /** @param {Room} r @param {ServerMessage} m @param {boolean} [force] */
  _notePreview(r, m, force = false) {
    const cur = r.view.lastMessage;
    if (!force && cur && cur.seq > m.seq) return;
    r.view.lastMessage = { seq: m.seq, senderId: m.senderId, senderName: m.senderName, kind: m.kind, text: m.deletedAt ? '' : (m.content || '').slice(0, 200), createdAt: m.createdAt, deleted: !!m.deletedAt };
    if (m.seq > r.view.lastSeq) r.view.lastSeq = m.seq;
  }

  /** @param {Room} r */
  _recountUnread(r) {
    r.view.unread = Math.max(0, (r.view.lastSeq || 0) - (r.view.readSeq || 0));
  }

  /** @param {Room} r */
  _emitRoom(r) {
    this._scheduleCacheSave();
    this._emit('room', this._roomInfo(r));
  }

  // ---------------------------------------------------------------- the room list in storage

  /** Rooms of the last session (option `cache`): shown at once, synced when connected. */
  _restoreCache() {
    try {
      const raw = this._storage.getItem(this._cacheKey);
      const data = raw ? JSON.parse(raw) : null;
      if (!data || data.v !== 1 || !Array.isArray(data.rooms)) return;
      for (const [id, name] of Array.isArray(data.names) ? data.names : []) if (typeof id === 'string' && typeof name === 'string') this._names.set(id, name);
      for (const view of data.rooms) {
        if (!view || typeof view.roomId !== 'string' || this._rooms.has(view.roomId)) continue;
        // Held like a room never opened: sync brings what is newer, history what is older.
        const r = new Room(view);
        r.view.muted = !!view.muted;
        this._rooms.set(r.id, r);
        this._learnNames(view);
      }
    } catch {
      // A broken cache is only a slower start.
    }
  }

  _scheduleCacheSave() {
    if (!this.opts.cache || this._cacheTimer) return;
    this._cacheTimer = setTimeout(() => {
      this._cacheTimer = null;
      this._saveCache();
    }, 500);
  }

  _saveCache() {
    if (!this.opts.cache) return;
    const rooms = [...this._rooms.values()]
      .sort((a, b) => activity(b.view) - activity(a.view))
      .slice(0, 200)
      .map((r) => ({ ...r.view, lastSeq: Math.max(r.view.lastSeq || 0, r.hi) }));
    const wanted = new Set();
    for (const v of rooms) {
      for (const p of v.participants || []) wanted.add(p.userId);
      if (v.lastMessage) wanted.add(v.lastMessage.senderId);
    }
    const names = [...this._names].filter(([id]) => wanted.has(id)).slice(0, 1000);
    try {
      this._storage.setItem(this._cacheKey, JSON.stringify({ v: 1, savedAt: Date.now(), rooms, names }));
    } catch {
      // Storage full or refused: the next start is only slower.
    }
  }

  /** Forgets the room list kept for offline starts (e.g. on sign-out). */
  clearCache() {
    clearTimeout(this._cacheTimer);
    this._cacheTimer = null;
    try {
      this._storage.removeItem(this._cacheKey);
    } catch {
      /* refused */
    }
  }

  /** @param {any} f */
  _applySync(f) {
    for (const id of f.removed || []) this._removeRoom(id);
    for (const rs of f.rooms || []) {
      const known = this._rooms.get(rs.room.roomId);
      const r = known || this._upsertRoom(rs.room);
      if (!r) continue;
      if (known) this._updateView(r, rs.room, true);
      let changed = false;
      for (const m of rs.messages || []) {
        if (this._insert(r, m, 'sync')) changed = true;
        this._notePreview(r, m);
        if (m.senderName) this._names.set(m.senderId, m.senderName);
      }
      for (const m of rs.updates || []) {
        const held = r.msgs.get(m.seq);
        if (held && isNewer(m, held)) {
          r.msgs.set(m.seq, m);
          changed = true;
        }
        if (r.view.lastMessage && r.view.lastMessage.seq === m.seq) this._notePreview(r, m, true);
      }
      if (typeof rs.ver === 'number') r.ver = rs.ver;
      for (const rc of rs.receipts || []) this._setReceipt(r, rc.userId, rc.readSeq, rc.deliveredSeq);
      // Everything up to our cursor has reached this device.
      if (r.hi > (r.view.deliveredSeq || 0)) this._queueReceipt(r, 'delivered', r.hi);
      this._recountUnread(r);
      this._emitRoom(r);
      if (changed) this._emit('messages', { roomId: r.id, reason: 'sync' });
    }
  }

  /** @param {any} f */
  _applyHistory(f) {
    if (f.ref !== undefined && this._noteRefs.delete(f.ref)) {
      this._addNotes(f.roomId, f.messages || [], 'history');
      return;
    }
    const r = this._rooms.get(f.roomId);
    if (!r) return;
    for (const m of f.messages || []) this._insert(r, m, 'history'); // newest first: each extends the window down
    r.nextCursor = f.nextCursor ?? null;
    if (!f.hasMore) r.noOlder = true;
    this._emit('messages', { roomId: r.id, reason: 'history' });
    this._emitRoom(r);
  }

  /**
   * Catches up: `sync` from the last seq (and version) per room, repeated while `hasMore` (a page
   * covers a run of rooms: the next one starts at `cursor` = the previous `nextCursor`).
   */
  _syncAll() {
    if (this._syncing) {
      this._syncAgain = true;
      return this._syncing;
    }
    const gen = this._gen;
    const run = async () => {
      do {
        this._syncAgain = false;
        let more = true;
        /** @type {string|undefined} where the next page of rooms starts */
        let cursor;
        while (more) {
          const rooms = /** @type {Record<string, number>} */ ({});
          const versions = /** @type {Record<string, number>} */ ({});
          const known = [...this._rooms.values()].sort((a, b) => activity(b.view) - activity(a.view)).slice(0, MAX_SYNC_ROOMS);
          for (const r of known) {
            rooms[r.id] = r.hi;
            if (r.ver !== null) versions[r.id] = r.ver;
          }
          /** @type {Record<string, any>} */
          const frame = { action: 'sync', rooms, versions };
          if (cursor) frame.cursor = cursor;
          const ans = await this._request(frame);
          if (gen !== this._gen) return;
          more = !!ans.hasMore;
          cursor = ans.nextCursor || undefined;
        }
      } while (this._syncAgain && gen === this._gen);
    };
    const p = run().finally(() => {
      if (this._syncing === p) this._syncing = null;
    });
    this._syncing = p;
    return p;
  }

  _scheduleGapSync() {
    if (this._gapTimer) return;
    this._gapTimer = setTimeout(() => {
      this._gapTimer = null;
      if (!this._ready) return; // the sync of the next connection covers it
      const gap = [...this._rooms.values()].some((r) => r.maxHeld() > r.hi || r.view.lastSeq > r.hi) || this._orphans.size > 0;
      this._orphans.clear();
      if (gap) this._syncAll().catch(() => {});
    }, this.opts.gapDelay);
  }

  // ---------------------------------------------------------------- receipts

  /** @param {Room} r @param {'read'|'delivered'} kind @param {number} seq */
  _queueReceipt(r, kind, seq) {
    if (seq <= r.want[kind]) return;
    r.want[kind] = seq;
    if (!r.receiptTimer) r.receiptTimer = setTimeout(() => this._flushReceipts(r), this.opts.receiptDelay);
  }

  /** @param {Room} r */
  _flushReceipts(r) {
    clearTimeout(r.receiptTimer);
    r.receiptTimer = null;
    if (!this._ready || !this._rooms.has(r.id)) return; // sent after the next sync
    const delivered = Math.min(r.want.delivered, r.view.lastSeq);
    if (delivered > r.sent.delivered && delivered > (r.view.deliveredSeq || 0)) {
      if (this._send({ action: 'delivered', roomId: r.id, seq: delivered })) {
        r.sent.delivered = delivered;
        r.view.deliveredSeq = delivered;
      }
    }
    const read = Math.min(r.want.read, r.view.lastSeq);
    if (read > r.sent.read) {
      if (this._send({ action: 'read', roomId: r.id, seq: read })) r.sent.read = read;
    }
  }

  // ---------------------------------------------------------------- outbox

  _loadOutbox() {
    try {
      const raw = this._storage.getItem(this._storageKey);
      const list = raw ? JSON.parse(raw) : [];
      return Array.isArray(list) ? list.filter((e) => e && e.clientId && e.roomId && typeof e.content === 'string') : [];
    } catch {
      return [];
    }
  }

  _saveOutbox() {
    try {
      if (this._outbox.length) this._storage.setItem(this._storageKey, JSON.stringify(this._outbox));
      else this._storage.removeItem(this._storageKey);
    } catch {
      // Storage full or refused: the outbox still works for this page.
    }
  }

  /** Sends the next queued message of a room, if none is in flight. @param {string} roomId */
  _pump(roomId) {
    if (!this._ready || this._inFlight.has(roomId)) return;
    const e = this._outbox.find((x) => x.roomId === roomId && x.status === 'sending');
    if (!e) return;
    if (!this._rooms.has(roomId)) {
      this._fail(e, { code: 'not_member', message: 'you are not a member of this room' });
      return;
    }
    // A file message goes out once its file is uploaded (the messages after it wait: order).
    if (e.upload && e.upload.state !== 'uploaded') {
      this._startUpload(e);
      return;
    }
    /** @type {Record<string, any>} */
    const frame = { action: 'message.send', roomId: e.roomId, clientId: e.clientId, content: e.content };
    if (e.kind && e.kind !== 'text') frame.kind = e.kind;
    if (e.replyTo) frame.replyTo = e.replyTo;
    if (e.attachments && e.attachments.length) {
      frame.attachments = e.attachments.map((/** @type {Attachment} */ a) => ({ key: a.key, name: a.name, size: a.size, mimeType: a.mimeType }));
    }
    if (!this._send(frame)) {
      if (this._ws && this._ws.readyState === 1) this._fail(e, { code: 'too_large', message: 'the message does not fit in one frame' });
      return;
    }
    e.attempts = (e.attempts || 0) + 1;
    this._saveOutbox();
    this._inFlight.set(roomId, e.clientId);
    this._ackTimers.set(
      e.clientId,
      setTimeout(() => {
        this._ackTimers.delete(e.clientId);
        if (this._inFlight.get(roomId) !== e.clientId) return;
        this._inFlight.delete(roomId);
        this._ping(); // is the socket still alive? (no pong: reconnect, then resend)
        this._afterMiss(e, { code: 'timeout', message: 'no answer from the server' });
      }, this.opts.ackTimeout),
    );
  }

  /** A send went unanswered (or got a retryable error): send again, or give up. @param {any} e @param {{code: string, message: string}} error */
  _afterMiss(e, error) {
    if ((e.attempts || 0) >= this.opts.maxAttempts) {
      this._fail(e, error);
      return;
    }
    const delay = error.code === 'timeout' ? 0 : this.opts.backoffBase * 2 ** (e.attempts || 0);
    setTimeout(() => this._pump(e.roomId), delay);
  }

  /** @param {any} e */
  _clearFlight(e) {
    clearTimeout(this._ackTimers.get(e.clientId));
    this._ackTimers.delete(e.clientId);
    if (this._inFlight.get(e.roomId) === e.clientId) this._inFlight.delete(e.roomId);
  }

  /** The server has the message: drop its outbox entry. @param {any} e */
  _complete(e) {
    this._clearFlight(e);
    this._outbox = this._outbox.filter((x) => x !== e);
    this._saveOutbox();
    if (e.upload) this._forgetFile(e.clientId);
    setTimeout(() => this._pump(e.roomId), 0);
  }

  /** @param {any} e @param {{code: string, message: string, field?: string}} error */
  _fail(e, error) {
    this._clearFlight(e);
    e.status = 'failed';
    e.error = error.field ? error : { code: error.code, message: error.message };
    this._saveOutbox();
    this._emit('message', this._pendingToChat(e), { reason: 'failed' });
    this._pump(e.roomId);
  }

  // ---------------------------------------------------------------- views

  /** @param {Room} r @param {ServerMessage} m @returns {ChatMessage} */
  _toChat(r, m) {
    const mine = m.senderId === this.userId;
    let status = null;
    if (mine && m.kind !== 'system') {
      const c = r.cursors();
      status = m.seq <= c.read ? 'read' : m.seq <= c.delivered ? 'delivered' : 'sent';
    }
    return { ...m, key: m.clientId || m.id, mine, status: /** @type {MessageStatus|null} */ (status), senderName: m.senderName || this._names.get(m.senderId) };
  }

  /** @param {any} e @returns {ChatMessage} */
  _pendingToChat(e) {
    return {
      key: e.clientId,
      roomId: e.roomId,
      seq: 0,
      id: `tmp-${e.clientId}`,
      clientId: e.clientId,
      senderId: this.userId,
      senderName: e.senderName,
      kind: e.kind || 'text',
      content: e.content,
      replyTo: e.replyTo,
      createdAt: e.createdAt,
      attachments: e.attachments ? e.attachments.map((/** @type {Attachment} */ a) => ({ ...a })) : undefined,
      upload: e.upload ? { ...e.upload } : undefined,
      mine: true,
      status: e.status === 'failed' ? 'failed' : 'sending',
      error: e.error,
    };
  }

  /** @param {Room} r @returns {RoomInfo} */
  _roomInfo(r) {
    // lo is at most every held seq; an empty window (lo = hi + 1) means "newest page not loaded yet".
    return { ...r.view, lastSeq: r.view.lastSeq || 0, hasOlder: !r.noOlder && r.lo > 1 && r.hi > 0, title: this._title(r.view) };
  }

  /** @param {any} v */
  _title(v) {
    if (v.type === 'direct') {
      const other = (v.participants || []).find((/** @type {any} */ p) => p.userId !== this.userId) || (v.participants || [])[0];
      if (other) return other.name || this._names.get(other.userId) || other.userId;
    }
    return v.name || (v.type === 'group' ? 'Group' : v.roomId);
  }

  // ---------------------------------------------------------------- public reads

  /** Rooms, most recently active first. @returns {RoomInfo[]} */
  rooms() {
    return [...this._rooms.values()].sort((a, b) => activity(b.view) - activity(a.view)).map((r) => this._roomInfo(r));
  }

  /** @param {string} roomId @returns {RoomInfo|undefined} */
  room(roomId) {
    const r = this._rooms.get(roomId);
    return r && this._roomInfo(r);
  }

  /**
   * A room's messages in order: held messages by seq, then messages not yet acknowledged.
   * @param {string} roomId @returns {ChatMessage[]}
   */
  messages(roomId) {
    const r = this._rooms.get(roomId);
    const held = r ? [...r.msgs.values()].sort((a, b) => a.seq - b.seq).map((m) => this._toChat(r, m)) : [];
    return held.concat(this.pending(roomId));
  }

  /** Messages of a room not acknowledged yet (sending or failed), oldest first. @param {string} roomId @returns {ChatMessage[]} */
  pending(roomId) {
    return this._outbox.filter((e) => e.roomId === roomId).map((e) => this._pendingToChat(e));
  }

  /** A held message by seq. @param {string} roomId @param {number} seq @returns {ChatMessage|undefined} */
  message(roomId, seq) {
    const r = this._rooms.get(roomId);
    const m = r && r.msgs.get(seq);
    return m && r ? this._toChat(r, m) : undefined;
  }

  /** Who is typing in a room now. @param {string} roomId @returns {{userId: string, name: string}[]} */
  typers(roomId) {
    const r = this._rooms.get(roomId);
    if (!r) return [];
    return [...r.typers.entries()].map(([userId, t]) => ({ userId, name: t.name || this._names.get(userId) || userId }));
  }

  /** @param {string} userId @returns {Presence|undefined} */
  presence(userId) {
    return this._presence.get(userId);
  }

  /** The best known display name of a user. @param {string} userId */
  nameOf(userId) {
    return this._names.get(userId) || userId;
  }

  // ---------------------------------------------------------------- public actions

  /**
   * Sends a message: it shows at once (status `sending`) and goes out when connected, in order.
   * Throws a ChatError (`invalid_frame`, `too_large`) for content the server would refuse.
   * @param {string} roomId @param {string} content
   * @param {{replyTo?: number, kind?: 'text'|'image'|'file'}} [options]
   * @returns {ChatMessage}
   */
  send(roomId, content, options = {}) {
    if (typeof content !== 'string' || !content.trim()) throw new ChatError('invalid_frame', 'a message needs some text');
    if (utf8Length(content) > MAX_CONTENT_BYTES) throw new ChatError('too_large', `a message has at most ${MAX_CONTENT_BYTES} bytes`);
    const r = this._rooms.get(roomId);
    const e = {
      clientId: uuid(),
      roomId,
      content,
      kind: options.kind || 'text',
      replyTo: options.replyTo || undefined,
      createdAt: Date.now(),
      status: 'sending',
      attempts: 0,
      senderName: this._names.get(this.userId),
    };
    this._outbox.push(e);
    this._saveOutbox();
    if (r) this.stopTyping(roomId);
    const view = this._pendingToChat(e);
    this._emit('message', view, { reason: 'sending' });
    this._pump(roomId);
    return view;
  }

  /** Sends a failed message again, with the same clientId. @param {string} clientId */
  retry(clientId) {
    const e = this._outbox.find((x) => x.clientId === clientId);
    if (!e || e.status !== 'failed') return;
    // The server did not find the upload as declared (e.g. it expired): upload the file again.
    if (e.upload && e.error && typeof e.error.field === 'string' && e.error.field.startsWith('attachments')) {
      e.upload = { state: 'waiting', loaded: 0, total: e.upload.total };
      for (const a of e.attachments || []) delete a.key;
    }
    e.status = 'sending';
    e.attempts = 0;
    e.uploadAttempts = 0;
    delete e.error;
    this._outbox = this._outbox.filter((x) => x !== e).concat([e]); // it goes out after what is queued
    this._saveOutbox();
    this._emit('messages', { roomId: e.roomId, reason: 'retry' });
    this._pump(e.roomId);
  }

  /**
   * Drops a failed or queued message from the outbox; a file message's upload is cancelled (not
   * once its message is on its way to the server). Returns whether it was dropped.
   * @param {string} clientId
   */
  discard(clientId) {
    const e = this._outbox.find((x) => x.clientId === clientId);
    if (!e || this._inFlight.get(e.roomId) === clientId) return false;
    const job = this._uploads.get(clientId);
    if (job) {
      job.cancelled = true;
      job.abort?.();
      this._uploads.delete(clientId);
    }
    this._outbox = this._outbox.filter((x) => x !== e);
    this._saveOutbox();
    this._forgetFile(clientId);
    this._emit('messages', { roomId: e.roomId, reason: 'discard' });
    setTimeout(() => this._pump(e.roomId), 0); // what waited behind it
    return true;
  }

  /** Cancels a pending file message (its upload), like discard(). @param {string} clientId */
  cancelUpload(clientId) {
    return this.discard(clientId);
  }

  /** Edits an own message. @param {string} roomId @param {number} seq @param {string} content */
  async editMessage(roomId, seq, content) {
    if (!content.trim()) throw new ChatError('invalid_frame', 'a message needs some text');
    if (utf8Length(content) > MAX_CONTENT_BYTES) throw new ChatError('too_large', `a message has at most ${MAX_CONTENT_BYTES} bytes`);
    const f = await this._request({ action: 'message.edit', roomId, seq, content });
    return this.message(roomId, seq) || f.message;
  }

  /** Deletes an own message (it stays as a tombstone). @param {string} roomId @param {number} seq */
  async deleteMessage(roomId, seq) {
    const f = await this._request({ action: 'message.delete', roomId, seq });
    return this.message(roomId, seq) || f.message;
  }

  /** Opens (or finds) the direct room with a user. @param {string} userId @returns {Promise<RoomInfo>} */
  async createDirect(userId) {
    const f = await this._request({ action: 'room.create', type: 'direct', members: [userId] });
    return /** @type {RoomInfo} */ (this.room(f.room.roomId));
  }

  /** Creates a group room. @param {string} name @param {string[]} members @returns {Promise<RoomInfo>} */
  async createGroup(name, members) {
    /** @type {Record<string, any>} */
    const frame = { action: 'room.create', type: 'group', members };
    if (name && name.trim()) frame.name = name.trim();
    const f = await this._request(frame);
    return /** @type {RoomInfo} */ (this.room(f.room.roomId));
  }

  /** @param {string} roomId @param {string[]} members */
  async addMembers(roomId, members) {
    const f = await this._request({ action: 'room.add', roomId, members });
    return this.room(f.room.roomId);
  }

  /** @param {string} roomId @param {string} userId */
  async removeMember(roomId, userId) {
    const f = await this._request({ action: 'room.remove', roomId, userId });
    return this.room(f.room.roomId);
  }

  /** @param {string} roomId */
  async leave(roomId) {
    await this._request({ action: 'room.leave', roomId });
  }

  /**
   * Loads the page of messages before the oldest one held (the newest page for a room never
   * opened). Resolves with whether older ones remain.
   * @param {string} roomId @returns {Promise<{hasMore: boolean}>}
   */
  loadOlder(roomId) {
    const r = this._rooms.get(roomId);
    if (!r) return Promise.resolve({ hasMore: false });
    if (r.loadingOlder) return r.loadingOlder;
    const info = this._roomInfo(r);
    if (!info.hasOlder) return Promise.resolve({ hasMore: false });
    const windowEmpty = r.lo > r.hi;
    const lowest = windowEmpty ? r.maxHeld() || 0 : r.lo;
    /** @type {Record<string, any>} */
    const frame = { action: 'history', roomId, limit: this.opts.historyLimit };
    if (lowest > 0) frame.beforeSeq = r.nextCursor !== null && r.nextCursor <= lowest ? r.nextCursor : lowest;
    const p = this._request(frame)
      .then((f) => ({ hasMore: !!f.hasMore }))
      .finally(() => {
        r.loadingOlder = null;
      });
    r.loadingOlder = p;
    return p;
  }

  /**
   * Call on every keystroke in the composer. The first one sends `typing: true`; while keystrokes
   * go on it is sent again every `typingInterval` (1.5 s); after `typingIdle` (2 s) without one,
   * `typing: false` goes out. The server forwards at most one `true` per 2 s, so forwarded repeats
   * are at most 3.5 s apart, inside the receivers' 5 s expiry: the indicator does not flicker.
   * @param {string} roomId
   */
  typing(roomId) {
    const r = this._rooms.get(roomId);
    if (!r || !this._ready) return;
    r.typedAt = Date.now();
    clearTimeout(r.typingIdleTimer);
    r.typingIdleTimer = setTimeout(() => {
      r.typingIdleTimer = null;
      if (this._rooms.get(roomId) === r) this.stopTyping(roomId);
    }, this.opts.typingIdle);
    if (!r.typingOn) this._sendTyping(r);
  }

  /** `typing: true` now, and again every interval while typing is on. @param {Room} r */
  _sendTyping(r) {
    clearTimeout(r.typingTimer);
    r.typingTimer = null;
    if (!this._send({ action: 'typing', roomId: r.id, isTyping: true })) {
      r.typingOn = false; // not connected: the next keystroke tries again
      return;
    }
    r.typingOn = true;
    r.typingSentAt = Date.now();
    r.typingTimer = setTimeout(() => {
      r.typingTimer = null;
      if (r.typingOn && this._rooms.get(r.id) === r) this._sendTyping(r);
    }, this.opts.typingInterval);
  }

  /**
   * Call when the user stops writing: on blur, when the composer is emptied, when leaving the room
   * (send() calls it). Sends `typing: false` at once if `true` was sent. @param {string} roomId
   */
  stopTyping(roomId) {
    const r = this._rooms.get(roomId);
    if (!r) return;
    clearTimeout(r.typingTimer);
    r.typingTimer = null;
    clearTimeout(r.typingIdleTimer);
    r.typingIdleTimer = null;
    r.typedAt = 0;
    if (!r.typingOn) return;
    r.typingOn = false;
    this._send({ action: 'typing', roomId, isTyping: false });
  }

  /**
   * Marks a room read up to `seq` (debounced: one `read` with the highest seq). Prefer
   * readObserver(), which calls this only for messages on screen in a visible, focused page.
   * @param {string} roomId @param {number} seq
   */
  markRead(roomId, seq) {
    const r = this._rooms.get(roomId);
    if (!r || !(seq > 0)) return;
    seq = Math.min(seq, Math.max(r.view.lastSeq, r.hi));
    if (seq <= r.view.readSeq && seq <= r.want.read) return;
    if (seq > r.view.readSeq) {
      r.view.readSeq = seq;
      this._recountUnread(r);
      this._emitRoom(r);
    }
    this._queueReceipt(r, 'read', seq);
  }

  /**
   * Asks who of a room's members is online; answers arrive as `presence` events too.
   * @param {string} roomId
   * @returns {Promise<{userId: string, name?: string, role: string, online: boolean, lastSeen?: number}[]>}
   */
  async queryPresence(roomId) {
    const f = await this._request({ action: 'presence.query', roomId });
    return f.users;
  }

  /**
   * Mutes (or unmutes) a room for this user: no push notifications for it. Resolves with the room
   * (its `muted` as the server now has it).
   * @param {string} roomId @param {boolean} [muted] @returns {Promise<RoomInfo|undefined>}
   */
  async mute(roomId, muted = true) {
    const f = await this._request({ action: 'room.mute', roomId, muted: !!muted });
    const r = this._rooms.get(roomId);
    if (r && f && f.type === 'room.updated' && f.room && f.room.roomId === roomId) {
      r.view.muted = !!f.room.muted;
      this._emitRoom(r);
    }
    return this.room(roomId);
  }

  // ---------------------------------------------------------------- REST (attachments, push)

  /** A token for a REST call: the last one used while it has a minute left, else a new one. */
  async _restToken(fresh = false) {
    if (typeof this._token === 'string') return this._token;
    const t = this._lastToken;
    if (!fresh && t && (expiresAt(t) === 0 || expiresAt(t) - Date.now() > 60_000)) return t;
    const next = await this._token();
    this._lastToken = next;
    return next;
  }

  /**
   * Calls the REST API (`apiUrl`); resolves with the JSON body, rejects with a ChatError carrying the
   * problem's `code` (and `status`, `field` in `frame`).
   * @param {string} method @param {string} path @param {any} [body] @returns {Promise<any>}
   */
  async rest(method, path, body) {
    const base = this.opts.apiUrl;
    if (!base) throw new ChatError('no_api', 'the REST API is not configured (option apiUrl)');
    if (!this._fetch) throw new ChatError('unsupported', 'fetch is not available');
    const url = base.replace(/\/+$/, '') + path;
    for (let attempt = 0; ; attempt++) {
      const token = await this._restToken(attempt > 0);
      /** @type {Record<string, string>} */
      const headers = { authorization: `Bearer ${token}` };
      if (body !== undefined) headers['content-type'] = 'application/json';
      let res;
      try {
        res = await this._fetch(url, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), cache: 'no-store' });
      } catch (e) {
        throw new ChatError('offline', `cannot reach the server (${e instanceof Error ? e.message : e})`);
      }
      // An expired token: once more with a new one (when there is a way to get one).
      if (res.status === 401 && attempt === 0 && typeof this._token === 'function') continue;
      const text = await res.text().catch(() => '');
      let json = null;
      try {
        json = text ? JSON.parse(text) : null;
      } catch {
        json = null;
      }
      if (res.ok) return json;
      const p = json && typeof json === 'object' ? json : {};
      throw new ChatError(p.code || codeOfStatus(res.status), p.detail || p.title || p.message || `HTTP ${res.status}`, { ...p, status: res.status });
    }
  }

  // ---------------------------------------------------------------- attachments

  /**
   * Sends a file (a File or Blob): it shows at once as a pending message with its upload's
   * progress (`upload`), is uploaded to the presigned URL when connected (offline it waits in the
   * outbox, and in the file store across a reload), then sent as `kind: image` (JPEG, PNG, GIF,
   * WebP) or `file`. Messages written after it in the room go out after it. Cancel with discard().
   * @param {string} roomId @param {Blob & {name?: string}} file
   * @param {{caption?: string, replyTo?: number, name?: string}} [options]
   * @returns {ChatMessage}
   */
  sendFile(roomId, file, options = {}) {
    if (!file || typeof file.size !== 'number') throw new ChatError('invalid_frame', 'a file is needed');
    if (!this.opts.apiUrl) throw new ChatError('no_api', 'attachments need the REST API (option apiUrl)');
    if (file.size <= 0) throw new ChatError('invalid_frame', 'the file is empty');
    if (this.opts.maxUploadBytes && file.size > this.opts.maxUploadBytes) throw new ChatError('too_large', `a file has at most ${this.opts.maxUploadBytes} bytes`);
    const caption = options.caption || '';
    if (utf8Length(caption) > MAX_CONTENT_BYTES) throw new ChatError('too_large', `a message has at most ${MAX_CONTENT_BYTES} bytes`);
    const mimeType = (file.type || 'application/octet-stream').toLowerCase();
    const name = String(options.name || file.name || 'file').slice(0, 255) || 'file';
    const e = {
      clientId: uuid(),
      roomId,
      content: caption,
      kind: IMAGE_TYPES.has(mimeType) ? 'image' : 'file',
      replyTo: options.replyTo || undefined,
      createdAt: Date.now(),
      status: 'sending',
      attempts: 0,
      uploadAttempts: 0,
      senderName: this._names.get(this.userId),
      attachments: /** @type {Attachment[]} */ ([{ name, size: file.size, mimeType }]),
      upload: { state: 'waiting', loaded: 0, total: file.size },
    };
    this._files.set(e.clientId, file);
    this._fileStore.put(this._fileKey(e.clientId), file).catch(() => {});
    this._outbox.push(e);
    this._saveOutbox();
    if (this._rooms.has(roomId)) this.stopTyping(roomId);
    const view = this._pendingToChat(e);
    this._emit('message', view, { reason: 'sending' });
    // Images: their size, so the message is laid out before it loads (the server measures too).
    const cib = /** @type {any} */ (globalThis).createImageBitmap;
    if (e.kind === 'image' && typeof cib === 'function') {
      cib(file)
        .then((/** @type {any} */ b) => {
          e.attachments[0].width = b.width;
          e.attachments[0].height = b.height;
          b.close?.();
          if (this._outbox.includes(e)) {
            this._saveOutbox();
            this._emit('message', this._pendingToChat(e), { reason: 'measured' });
          }
        })
        .catch(() => {});
    }
    this._startUpload(e); // uploads run side by side; the message itself goes out in order
    this._pump(roomId);
    return view;
  }

  /** The file of a pending file message (for a local preview), while it is pending. @param {string} clientId */
  localFile(clientId) {
    return this._files.get(clientId);
  }

  /** @param {string} clientId */
  _fileKey(clientId) {
    return `${this.userId}:${clientId}`;
  }

  /** @param {string} clientId */
  _forgetFile(clientId) {
    this._files.delete(clientId);
    this._fileStore.delete(this._fileKey(clientId)).catch(() => {});
  }

  /** Files of queued uploads from the file store (after a reload). */
  async _restoreFiles() {
    // Uploaded ones too: a retry uploads again if the server no longer finds the upload.
    const waiting = this._outbox.filter((e) => e.upload);
    if (!waiting.length) return;
    this._restoringFiles = true;
    for (const e of waiting) {
      if (e.upload.state !== 'uploaded') e.upload = { ...e.upload, state: 'waiting', loaded: 0 };
      try {
        const f = await this._fileStore.get(this._fileKey(e.clientId));
        if (f) this._files.set(e.clientId, f);
      } catch {
        /* missing: failed below */
      }
    }
    this._restoringFiles = false;
    for (const e of waiting) if (this._outbox.includes(e)) this._startUpload(e);
  }

  /** Emits a pending message's new state. @param {any} e @param {string} reason */
  _emitPending(e, reason) {
    if (this._outbox.includes(e)) this._emit('message', this._pendingToChat(e), { reason });
  }

  /**
   * Uploads a pending file message's file (when connected, one attempt at a time): POST
   * /chats/{id}/uploads, then PUT to the presigned URL with its headers, reporting progress.
   * @param {any} e
   */
  _startUpload(e) {
    if (!e.upload || e.upload.state === 'uploaded' || e.status === 'failed' || this._uploads.has(e.clientId)) return;
    if (!this._ready || this._restoringFiles || !this._outbox.includes(e)) return; // waits, like a message
    const file = this._files.get(e.clientId);
    if (!file) {
      this._fail(e, { code: 'file_missing', message: 'the file is no longer available' });
      return;
    }
    const job = { cancelled: false, abort: /** @type {(() => void)|null} */ (null) };
    this._uploads.set(e.clientId, job);
    e.upload = { state: 'uploading', loaded: 0, total: file.size };
    this._emitPending(e, 'upload');
    const a = e.attachments[0];
    let lastEmit = 0;
    /** @type {'post'|'put'} */
    let step = 'post';
    const run = async () => {
      const up = await this.rest('POST', `/chats/${encodeURIComponent(e.roomId)}/uploads`, { name: a.name, size: a.size, mimeType: a.mimeType });
      if (job.cancelled) return;
      step = 'put';
      await this._put(up, file, job, (loaded, total) => {
        e.upload = { state: 'uploading', loaded: Math.min(loaded, total), total };
        const now = Date.now();
        if (now - lastEmit >= 100 || loaded >= total) {
          lastEmit = now;
          this._emitPending(e, 'progress');
        }
      });
      if (job.cancelled) return;
      a.key = up.key;
      e.upload = { state: 'uploaded', loaded: a.size, total: a.size };
    };
    run().then(
      () => {
        if (this._uploads.get(e.clientId) === job) this._uploads.delete(e.clientId);
        if (job.cancelled) return;
        this._saveOutbox();
        this._emitPending(e, 'uploaded');
        this._pump(e.roomId);
      },
      (/** @type {any} */ err) => {
        if (this._uploads.get(e.clientId) === job) this._uploads.delete(e.clientId);
        if (job.cancelled || !this._outbox.includes(e)) return;
        e.upload = { state: 'waiting', loaded: 0, total: file.size };
        const code = err && err.code ? err.code : 'internal';
        const status = err && err.frame && err.frame.status;
        const error = { code, message: err && err.message ? err.message : 'the upload failed', field: err && err.frame && err.frame.field };
        // The server refused the file itself (type, size, membership): no use trying again.
        if (step === 'post' && status >= 400 && status < 500 && status !== 401 && status !== 408 && status !== 429) {
          this._fail(e, error);
          return;
        }
        const nav = /** @type {any} */ (globalThis).navigator;
        if (!this._ready || (nav && nav.onLine === false)) {
          this._emitPending(e, 'upload'); // offline: waits for the next connection, not counted
          return;
        }
        e.uploadAttempts = (e.uploadAttempts || 0) + 1;
        if (e.uploadAttempts >= this.opts.maxAttempts) {
          this._fail(e, error);
          return;
        }
        this._emitPending(e, 'upload');
        setTimeout(() => this._startUpload(e), this.opts.backoffBase * 2 ** e.uploadAttempts * (0.5 + Math.random() / 2));
      },
    );
  }

  /**
   * PUTs a file to a presigned URL with its signed headers (XMLHttpRequest: upload progress).
   * @param {{url: string, method?: string, headers?: Record<string, string>}} up @param {Blob} file
   * @param {{abort: (() => void) | null}} job @param {(loaded: number, total: number) => void} onProgress
   * @returns {Promise<void>}
   */
  _put(up, file, job, onProgress) {
    const headers = Object.entries(up.headers || {}).filter(([k]) => !UNSAFE_HEADERS.has(k.toLowerCase()));
    const X = this._XHR;
    if (!X) {
      if (!this._fetch) return Promise.reject(new ChatError('unsupported', 'no way to upload here'));
      const ctrl = typeof AbortController === 'function' ? new AbortController() : null;
      job.abort = () => ctrl?.abort();
      return this._fetch(up.url, { method: up.method || 'PUT', headers: Object.fromEntries(headers), body: file, signal: ctrl?.signal }).then(
        (res) => {
          if (!res.ok) throw new ChatError(res.status >= 500 ? 'internal' : 'upload_refused', `the upload was refused (HTTP ${res.status})`, { status: res.status });
          onProgress(file.size, file.size);
        },
        (err) => {
          throw new ChatError('network', `the upload failed (${err && err.message ? err.message : err})`);
        },
      );
    }
    return new Promise((resolve, reject) => {
      const xhr = new X();
      job.abort = () => xhr.abort();
      xhr.open(up.method || 'PUT', up.url);
      for (const [k, v] of headers) xhr.setRequestHeader(k, v);
      if (xhr.upload) xhr.upload.onprogress = (/** @type {ProgressEvent} */ ev) => onProgress(ev.loaded, ev.lengthComputable ? ev.total : file.size);
      xhr.onload = () => {
        if (xhr.status >= 200 && xhr.status < 300) {
          onProgress(file.size, file.size);
          resolve();
        } else reject(new ChatError(xhr.status >= 500 ? 'internal' : 'upload_refused', `the upload was refused (HTTP ${xhr.status})`, { status: xhr.status }));
      };
      xhr.onerror = () => reject(new ChatError('network', 'the upload failed (network)'));
      xhr.onabort = () => reject(new ChatError('cancelled', 'the upload was cancelled'));
      xhr.send(file);
    });
  }

  /**
   * A download URL of an attachment of a room (members only; valid a few minutes, reused while it
   * has 30 s left). @param {string} roomId @param {string} key @returns {Promise<string>}
   */
  async attachmentUrl(roomId, key) {
    const held = this._downloads.get(key);
    if (held && held.expiresAt - Date.now() > 30_000) return held.url;
    const d = await this.rest('GET', `/chats/${encodeURIComponent(roomId)}/attachments?key=${encodeURIComponent(key)}`);
    this._downloads.set(key, { url: d.url, expiresAt: d.expiresAt || Date.now() + 60_000 });
    return d.url;
  }

  /** An attachment's bytes (e.g. to show an image through a blob: URL). @param {string} roomId @param {string} key @returns {Promise<Blob>} */
  async attachmentBlob(roomId, key) {
    const url = await this.attachmentUrl(roomId, key);
    if (!this._fetch) throw new ChatError('unsupported', 'fetch is not available');
    const res = await this._fetch(url);
    if (!res.ok) throw new ChatError(codeOfStatus(res.status), `cannot download the file (HTTP ${res.status})`, { status: res.status });
    return res.blob();
  }

  // ---------------------------------------------------------------- Web Push

  /** The server's VAPID application server key (base64url). @returns {Promise<string>} */
  async pushPublicKey() {
    const r = await this.rest('GET', '/push/key');
    if (!r || typeof r.publicKey !== 'string' || !r.publicKey) throw new ChatError('unsupported', 'the server sends no push notifications');
    return r.publicKey;
  }

  /**
   * Subscribes this browser to push notifications through a service worker registration and
   * registers the subscription with the server. Ask for the permission first (from a click:
   * `Notification.requestPermission()`). @param {ServiceWorkerRegistration} registration
   * @returns {Promise<PushSubscription>}
   */
  async enablePush(registration) {
    if (!registration || !registration.pushManager) throw new ChatError('unsupported', 'this browser has no push notifications');
    const key = await this.pushPublicKey();
    let sub = await registration.pushManager.getSubscription();
    if (sub && sub.options && sub.options.applicationServerKey && bytesToBase64Url(sub.options.applicationServerKey) !== key.replace(/=+$/, '')) {
      await sub.unsubscribe().catch(() => false); // another key (the server's changed): subscribe again
      sub = null;
    }
    if (!sub) sub = await registration.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: base64UrlToBytes(key) });
    await this.rest('POST', '/push/subscriptions', sub.toJSON());
    return sub;
  }

  /**
   * Unregisters this browser's subscription from the server and unsubscribes it. Resolves with
   * whether there was one. @param {ServiceWorkerRegistration} registration @returns {Promise<boolean>}
   */
  async disablePush(registration) {
    const sub = registration && registration.pushManager ? await registration.pushManager.getSubscription() : null;
    if (!sub) return false;
    try {
      await this.rest('DELETE', '/push/subscriptions', { endpoint: sub.endpoint });
    } finally {
      await sub.unsubscribe().catch(() => false);
    }
    return true;
  }

  // ---------------------------------------------------------------- support desk

  /**
   * A support room's session (or one heard of whose room is not held yet).
   * @param {string} sessionId @returns {SupportSession|undefined}
   */
  session(sessionId) {
    const r = this._rooms.get(sessionId);
    return (r && r.view.session) || this._sessions.get(sessionId);
  }

  // ---------------------------------------------------------------- operators' tools

  /**
   * Keeps notes of a session apart from its messages (their seq is the notes' own) and tells
   * `note` listeners of each new or changed one. @param {string} roomId @param {ServerMessage[]} list @param {string} reason
   */
  _addNotes(roomId, list, reason) {
    let held = this._notes.get(roomId);
    if (!held) this._notes.set(roomId, (held = new Map()));
    for (const m of list) {
      if (!m || typeof m.seq !== 'number' || m.kind !== 'note') continue;
      const old = held.get(m.seq);
      if (old && old.id === m.id && old.content === m.content) continue;
      if (m.senderName) this._names.set(m.senderId, m.senderName);
      held.set(m.seq, m);
      this._emit('note', this._noteView(m), { reason });
    }
  }

  /** @param {ServerMessage} m @returns {ChatNote} */
  _noteView(m) {
    return { roomId: m.roomId, seq: m.seq, id: m.id, senderId: m.senderId, senderName: m.senderName, content: m.content, createdAt: m.createdAt, mine: m.senderId === this.userId, kind: 'note' };
  }

  /** A support session's internal notes held so far, oldest first. @param {string} roomId @returns {ChatNote[]} */
  notes(roomId) {
    const held = this._notes.get(roomId);
    return held ? [...held.values()].sort((a, b) => a.seq - b.seq).map((m) => this._noteView(m)) : [];
  }

  /**
   * The session's operator: writes an internal note (the session's operators see it, the visitor
   * never does). Resolves with the stored note. @param {string} roomId @param {string} content
   * @returns {Promise<ChatNote>}
   */
  async sendNote(roomId, content) {
    if (typeof content !== 'string' || !content.trim()) throw new ChatError('invalid_frame', 'a note needs some text');
    if (utf8Length(content) > MAX_CONTENT_BYTES) throw new ChatError('too_large', `a note has at most ${MAX_CONTENT_BYTES} bytes`);
    const f = await this._request({ action: 'message.send', roomId, clientId: uuid(), kind: 'note', content });
    return this._noteView(f.message);
  }

  /**
   * Reads a page of a session's notes (`history {notes: true}`), below `beforeSeq` (absent: the
   * newest); they join notes(). @param {string} roomId @param {{beforeSeq?: number, limit?: number}} [options]
   * @returns {Promise<{notes: ChatNote[], hasMore: boolean, nextCursor?: number}>}
   */
  async loadNotes(roomId, options = {}) {
    /** @type {Record<string, any>} */
    const frame = { action: 'history', roomId, notes: true, limit: options.limit || 50 };
    if (options.beforeSeq) frame.beforeSeq = options.beforeSeq;
    const f = await this._request(frame);
    return { notes: (f.messages || []).map((/** @type {ServerMessage} */ m) => this._noteView(m)), hasMore: !!f.hasMore, nextCursor: f.nextCursor ?? undefined };
  }

  /** This operator's availability as last read or set (null before). @returns {Availability|null} */
  availability() {
    return this._availability;
  }

  /**
   * Operators: reads (no argument) or sets their availability, kept for every device; the
   * operator's other connections get an `operatorStatus` event. Away: still told of the queue,
   * not counted online, not assigned sessions. @param {Availability} [status] @returns {Promise<Availability>}
   */
  async operatorStatus(status) {
    const f = await this._request(status ? { action: 'operator.status', status } : { action: 'operator.status' });
    return f.status;
  }

  /** Operators: the saved replies, by shortcut (REST). @returns {Promise<SavedReply[]>} */
  async savedReplies() {
    const r = await this.rest('GET', '/support/replies');
    return (r && r.replies) || [];
  }

  /**
   * Admins: adds (no `id`) or changes a saved reply. @param {{id?: string, shortcut: string, title?: string, text: string}} reply
   * @returns {Promise<SavedReply>}
   */
  async saveReply(reply) {
    /** @type {Record<string, any>} */
    const body = { shortcut: reply.shortcut, text: reply.text };
    if (reply.title) body.title = reply.title;
    const r = reply.id ? await this.rest('PUT', `/support/replies/${encodeURIComponent(reply.id)}`, body) : await this.rest('POST', '/support/replies', body);
    return r.reply;
  }

  /** Admins: deletes a saved reply. @param {string} id */
  async deleteReply(id) {
    await this.rest('DELETE', `/support/replies/${encodeURIComponent(id)}`);
  }

  /**
   * Operators: the support desk's report over UTC days (`YYYY-MM-DD`, at most 92 days).
   * @param {{from: string, to: string, operatorId?: string}} range @returns {Promise<any>}
   */
  async supportReport(range) {
    const q = new URLSearchParams({ from: range.from, to: range.to });
    if (range.operatorId) q.set('operatorId', range.operatorId);
    return this.rest('GET', `/support/reports?${q}`);
  }

  /**
   * Full-text search over the caller's rooms (operators: their sessions' messages and notes).
   * @param {string} q @param {{roomId?: string, cursor?: string, limit?: number}} [options]
   * @returns {Promise<{results: {message: ServerMessage, snippet: string, highlights: number[][]}[], hasMore: boolean, nextCursor?: string}>}
   */
  async search(q, options = {}) {
    const p = new URLSearchParams({ q });
    if (options.roomId) p.set('roomId', options.roomId);
    if (options.cursor) p.set('cursor', options.cursor);
    if (options.limit) p.set('limit', String(options.limit));
    return this.rest('GET', `/search?${p}`);
  }

  /**
   * Operators: support sessions, newest first — a visitor's (`visitorId`) or those whose visitor's
   * name or e-mail matches `q`. @param {{visitorId?: string, q?: string}} query @returns {Promise<SupportSession[]>}
   */
  async supportSessions(query) {
    const p = new URLSearchParams();
    if (query.visitorId) p.set('visitorId', query.visitorId);
    if (query.q) p.set('q', query.q);
    const r = await this.rest('GET', `/support/sessions?${p}`);
    return (r && r.sessions) || [];
  }

  /**
   * A room's messages (or, with `notes`, a support session's notes) through REST, newest first,
   * without holding them: operators read any support session this way (read-only).
   * @param {string} roomId @param {{notes?: boolean, beforeSeq?: number, limit?: number}} [options]
   * @returns {Promise<{messages: ServerMessage[], hasMore: boolean, nextCursor?: number}>}
   */
  async readMessages(roomId, options = {}) {
    const p = new URLSearchParams();
    if (options.notes) p.set('notes', 'true');
    if (options.beforeSeq) p.set('beforeSeq', String(options.beforeSeq));
    p.set('limit', String(options.limit || 100));
    return this.rest('GET', `/chats/${encodeURIComponent(roomId)}/messages?${p}`);
  }

  /** The last queue operators were told of (`queue` events), or null. @returns {SupportQueue|null} */
  queue() {
    return this._queue;
  }

  /** A waiting visitor's last known place in the queue. @param {string} sessionId @returns {QueuePosition|undefined} */
  queuePosition(sessionId) {
    return this._positions.get(sessionId);
  }

  /**
   * Visitors: starts a support session, or resumes the open one (`created: false`; the server
   * then tells this connection the queue position again: call it after every reconnect while a
   * session waits). `content` is sent as the session's first message, idempotently by `clientId`
   * (the same clientId sent again creates nothing). The session's room arrives right after (a
   * `room` event); its messages with loadOlder().
   * @param {{context?: VisitorContext, content?: string, clientId?: string}} [options]
   * @returns {Promise<{session: SupportSession, created: boolean, operatorsOnline: number, clientId?: string}>}
   */
  async startSupport(options = {}) {
    /** @type {Record<string, any>} */
    const frame = { action: 'support.start' };
    if (options.context) frame.context = options.context;
    let clientId;
    if (options.content !== undefined && options.content !== null && options.content !== '') {
      const content = options.content;
      if (typeof content !== 'string' || !content.trim()) throw new ChatError('invalid_frame', 'a message needs some text');
      if (utf8Length(content) > MAX_CONTENT_BYTES) throw new ChatError('too_large', `a message has at most ${MAX_CONTENT_BYTES} bytes`);
      clientId = options.clientId || uuid();
      frame.content = content;
      frame.clientId = clientId;
    }
    const f = await this._request(frame);
    return { session: this.session(f.session.sessionId) || f.session, created: !!f.created, operatorsOnline: f.operatorsOnline || 0, clientId };
  }

  /** Operators: the queue now (also a `queue` event). Call it after every (re)connect. @returns {Promise<SupportQueue>} */
  async supportQueue() {
    await this._request({ action: 'support.queue' });
    return /** @type {SupportQueue} */ (this._queue);
  }

  /**
   * Operators: takes a waiting session. Rejects with code `conflict` when another operator was
   * faster. Its room and newest messages are held once this resolves.
   * @param {string} sessionId @returns {Promise<{session: SupportSession, room: RoomInfo}>}
   */
  async acceptSession(sessionId) {
    const f = await this._request({ action: 'session.accept', sessionId });
    return { session: this.session(sessionId) || f.session, room: /** @type {RoomInfo} */ (this.room(f.room.roomId)) };
  }

  /**
   * The session's operator: hands it to another online operator (its room leaves this client).
   * @param {string} sessionId @param {string} toOperatorId
   * @returns {Promise<{session: SupportSession, from: {userId: string, name?: string}, to: {userId: string, name?: string}}>}
   */
  async transferSession(sessionId, toOperatorId) {
    const f = await this._request({ action: 'session.transfer', sessionId, toOperatorId });
    return { session: f.session, from: f.from, to: f.to };
  }

  /**
   * The visitor or the session's operator: closes it, with how it ended (at most 500 characters).
   * @param {string} sessionId @param {string} [resolution] @returns {Promise<SupportSession>}
   */
  async closeSession(sessionId, resolution) {
    /** @type {Record<string, any>} */
    const frame = { action: 'session.close', sessionId };
    if (resolution && resolution.trim()) frame.resolution = resolution.trim();
    const f = await this._request(frame);
    return this.session(sessionId) || f.session;
  }

  /**
   * The visitor: rates a closed session once, 1 to 5, with an optional comment (1,000 characters).
   * @param {string} sessionId @param {number} score @param {string} [comment] @returns {Promise<SupportSession>}
   */
  async rateSession(sessionId, score, comment) {
    /** @type {Record<string, any>} */
    const frame = { action: 'session.rate', sessionId, score };
    if (comment && comment.trim()) frame.comment = comment.trim();
    const f = await this._request(frame);
    return this.session(sessionId) || f.session;
  }

  /**
   * Read receipts from what is on screen: observe each message element; when it is visible in
   * `root` while the page is visible and focused, the room is marked read up to its seq.
   * @param {Element|null} root the scrolling element (null: the viewport)
   */
  readObserver(root) {
    const IO = globalThis.IntersectionObserver;
    const doc = globalThis.document;
    const noop = { observe() {}, unobserve() {}, disconnect() {} };
    if (!IO || !doc) return /** @type {{observe(el: Element, roomId: string, seq: number): void, unobserve(el: Element): void, disconnect(): void}} */ (noop);
    /** @type {Set<Element>} */
    const visible = new Set();
    /** @type {WeakMap<Element, {roomId: string, seq: number}>} */
    const meta = new WeakMap();
    const canRead = () => doc.visibilityState === 'visible' && (typeof doc.hasFocus !== 'function' || doc.hasFocus());
    const flush = () => {
      if (!canRead()) return;
      for (const el of visible) {
        const m = meta.get(el);
        if (m) this.markRead(m.roomId, m.seq);
      }
    };
    const io = new IO(
      (entries) => {
        for (const e of entries) {
          const seen = e.isIntersecting && (e.intersectionRatio >= 0.5 || e.intersectionRect.height >= 40);
          if (seen) visible.add(e.target);
          else visible.delete(e.target);
        }
        flush();
      },
      { root, threshold: [0, 0.25, 0.5, 1] },
    );
    const w = /** @type {any} */ (globalThis);
    doc.addEventListener('visibilitychange', flush);
    w.addEventListener?.('focus', flush);
    return {
      /** @param {Element} el @param {string} roomId @param {number} seq */
      observe(el, roomId, seq) {
        meta.set(el, { roomId, seq });
        io.observe(el);
      },
      /** @param {Element} el */
      unobserve(el) {
        io.unobserve(el);
        visible.delete(el);
      },
      disconnect() {
        io.disconnect();
        visible.clear();
        doc.removeEventListener('visibilitychange', flush);
        w.removeEventListener?.('focus', flush);
      },
    };
  }
}

/** @param {any} v */
function activity(v) {
  return (v.lastMessage && v.lastMessage.createdAt) || v.createdAt || 0;
}

/** Whether `m` is a later state of the same message than `held`. @param {ServerMessage} m @param {ServerMessage} held */
function isNewer(m, held) {
  if ((m.ver || 0) !== (held.ver || 0)) return (m.ver || 0) > (held.ver || 0);
  return !!m.deletedAt && !held.deletedAt;
}

const SESSION_RANK = { waiting: 0, active: 1, closed: 2 };

/**
 * Of two states of the same session, the later one: sessions only move forward (waiting → active
 * → closed → rated); at the same step the newer frame wins (a transfer changes the operator).
 * @param {SupportSession|undefined} held @param {SupportSession|undefined} next @returns {SupportSession|undefined}
 */
function laterSession(held, next) {
  if (!held) return next;
  if (!next) return held;
  const rank = (/** @type {SupportSession} */ x) => (SESSION_RANK[x.status] ?? 0) * 2 + (x.rating ? 1 : 0);
  return rank(held) > rank(next) ? held : next;
}
