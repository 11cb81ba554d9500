// @ts-check
/**
 * chat-ui.js: the whole chat — room list, conversations, composer, files, notifications — as one
 * call that any page can make, on top of the SDK (chat.js). It lives in a shadow root: the page's
 * CSS cannot reach it and its CSS does not leak out; it needs no inline scripts or styles, so it
 * runs under a strict Content-Security-Policy.
 *
 *   import { mountChat } from './sdk/chat-ui.js';
 *   const ui = mountChat(document.getElementById('chat'), {
 *     url: 'wss://…/prod',                  // the WebSocket API
 *     apiUrl: 'https://…',                  // the REST API (files, notifications)
 *     userId: 'alice',
 *     token: () => fetch('/my/chat-token').then((r) => r.text()),   // your backend signs it
 *   });
 *
 * The element should have a height (e.g. `height: 100dvh`); the UI fills it and switches to one
 * pane at a time below 720 px of width (a phone, or a narrow column).
 *
 * Everything users wrote is put in the page as text (textContent, text nodes); links are built
 * with DOM APIs, only for http, https and mailto, with rel="noopener noreferrer".
 */

import { ChatClient, MAX_CONTENT_BYTES, claims } from './chat.js';
import { attachmentViews, clipIcon, takeFiles } from './attachments.js';
import { CONNECTION_CODES, canRetry } from './codes.js';
import { announcer, avatar, clock, h, ticks, toaster } from './dom.js';
import { UPLOAD_LIMITS, describeLimits, refuseFile } from './files.js';
import { formatBytes, linkify, utf8Bytes } from './text.js';
import { CSS as STYLES } from './chat-ui-styles.js';

/** @typedef {import('./chat.js').ChatMessage} ChatMessage */
/** @typedef {import('./chat.js').RoomInfo} RoomInfo */
/** @typedef {import('./chat.js').Attachment} Attachment */
/** @typedef {import('./chat.js').ChatOptions} ChatOptions */

/**
 * @typedef {object} MountOptions
 * @property {string} [url] the WebSocket URL (not needed with `chat`)
 * @property {string | (() => string | Promise<string>)} [token] a JWT, or a function called before
 *   every connection (not needed with `chat`)
 * @property {string} [userId] the token's `sub` (needed when `token` is a function)
 * @property {string} [name] the user's display name (default: the token's `name`, else the id)
 * @property {string} [apiUrl] the REST API's base URL: attachments and push notifications need it
 * @property {ChatClient} [chat] an existing client instead of `url` and `token`
 * @property {Partial<ChatOptions>} [clientOptions] more options of the ChatClient it creates
 * @property {ServiceWorkerRegistration | Promise<ServiceWorkerRegistration>} [serviceWorker] a
 *   registration of a service worker that imports `service-worker.js`: push notifications (a bell
 *   button; permission is asked on a click, never on load) and "open this room" from a notification
 * @property {() => void} [onSignOut] shows a "Sign out" button that calls it
 * @property {boolean} [route] keep the open room in the address (`#/room/<id>`; default true)
 * @property {boolean} [cache] keep the room list for offline starts (default true)
 * @property {boolean} [shadow] render in a shadow root (default true)
 *
 * @typedef {object} ChatMount
 * @property {ChatClient} chat
 * @property {ShadowRoot | HTMLElement} root where the UI's elements are
 * @property {string|null} current the open room
 * @property {(roomId: string) => void} openRoom
 * @property {() => void} closeRoom
 * @property {(options?: {forget?: boolean}) => void} destroy closes the connection and empties the
 *   element (`forget`: also the room list kept for offline starts)
 */

const SVG = 'http://www.w3.org/2000/svg';
const TEMPLATE = `
<div class="shell">
<div class="cu">
  <p class="sr-only" aria-live="polite" data-el="announce"></p>
  <aside class="sidebar" aria-label="Conversations">
    <header class="me">
      <span data-el="me-avatar" class="avatar" aria-hidden="true"></span>
      <span class="me-text">
        <strong data-el="me-name" id="me-name" dir="auto"></strong>
        <span class="muted">id: <span data-el="me-id" dir="auto"></span></span>
      </span>
      <span data-el="conn" id="conn" class="conn" data-state="connecting" role="status">Connecting…</span>
      <button data-el="bell" id="bell" type="button" class="icon-button" aria-pressed="false" aria-label="Notifications" hidden></button>
      <button data-el="signout" id="signout" type="button" class="link signout" hidden>Sign out</button>
    </header>
    <div class="new-room">
      <div class="new-room-buttons">
        <button data-el="new-direct" id="new-direct" type="button" aria-expanded="false" aria-controls="direct-form">+ Direct chat</button>
        <button data-el="new-group" id="new-group" type="button" aria-expanded="false" aria-controls="group-form">+ Group</button>
      </div>
      <form data-el="direct-form" id="direct-form" class="new-room-form" hidden>
        <label for="direct-user">Their user id</label>
        <div class="row">
          <input data-el="direct-user" id="direct-user" required maxlength="128" placeholder="bob" autocomplete="off" dir="auto">
          <button type="submit" class="primary">Start</button>
        </div>
      </form>
      <form data-el="group-form" id="group-form" class="new-room-form" hidden>
        <label for="group-name">Group name</label>
        <input data-el="group-name" id="group-name" maxlength="100" placeholder="Weekend trip" autocomplete="off" dir="auto">
        <label for="group-members">Member ids, separated by commas</label>
        <div class="row">
          <input data-el="group-members" id="group-members" placeholder="bob, carol" autocomplete="off">
          <button type="submit" class="primary">Create</button>
        </div>
      </form>
    </div>
    <p data-el="rooms-empty" id="rooms-empty" class="rooms-empty muted">No conversations yet. Start one with <b>+ Direct chat</b> and someone's user id.</p>
    <ul data-el="rooms" id="rooms" class="rooms" aria-label="Rooms"></ul>
  </aside>

  <section class="conversation" data-el="conversation" aria-label="Conversation">
    <div data-el="banner" id="banner" class="banner" role="status" hidden>
      <span data-el="banner-text" id="banner-text"></span>
      <button data-el="banner-retry" id="banner-retry" type="button" class="link">Retry now</button>
    </div>
    <div data-el="no-room" id="no-room" class="no-room">
      <p class="muted">Pick a conversation, or start a new one.</p>
    </div>
    <header data-el="conv-header" id="conv-header" class="conv-header" hidden>
      <button data-el="back" id="back" type="button" class="back" aria-label="Back to conversations">‹</button>
      <span data-el="conv-avatar" class="avatar" aria-hidden="true"></span>
      <span class="conv-text">
        <strong data-el="conv-title" id="conv-title" dir="auto"></strong>
        <span data-el="conv-sub" id="conv-sub" class="conv-sub muted" dir="auto"></span>
      </span>
      <button data-el="mute" id="mute" type="button" class="icon-button" aria-pressed="false" aria-label="Mute notifications of this conversation"></button>
    </header>
    <div data-el="messages" id="messages" class="messages" hidden>
      <p data-el="older" id="older" class="older muted"></p>
      <p data-el="room-start" class="room-start" hidden><span class="system-line" data-el="room-start-text"></span></p>
      <ol data-el="message-list" id="message-list" class="message-list" aria-label="Messages"></ol>
    </div>
    <div data-el="typing" id="typing" class="typing" aria-live="polite" dir="auto" hidden></div>
    <div data-el="offer" class="offer" role="region" aria-label="Notifications" hidden>
      <span>Get a notification when someone writes to you?</span>
      <button data-el="offer-yes" type="button" class="primary">Turn on</button>
      <button data-el="offer-no" type="button" class="link">Not now</button>
    </div>
    <form data-el="composer" id="composer" class="composer" hidden>
      <div data-el="composer-context" id="composer-context" class="composer-context" hidden>
        <span data-el="composer-context-text" id="composer-context-text" dir="auto"></span>
        <button data-el="composer-cancel" id="composer-cancel" type="button" class="link" aria-label="Cancel reply or edit">✕</button>
      </div>
      <div class="composer-row">
        <button data-el="attach" id="attach" type="button" class="icon-button" aria-label="Attach a file" hidden></button>
        <input data-el="file-input" id="file-input" type="file" multiple hidden tabindex="-1" aria-hidden="true">
        <textarea data-el="input" id="composer-input" rows="1" placeholder="Write a message" aria-label="Message" dir="auto" aria-describedby="composer-error counter"></textarea>
        <button data-el="send" id="send" type="submit" class="primary">Send</button>
      </div>
      <div class="composer-foot">
        <p data-el="composer-error" id="composer-error" class="composer-error" aria-live="polite" hidden></p>
        <button data-el="as-file" id="as-file" type="button" class="link" hidden>Send as a text file</button>
        <p data-el="counter" id="counter" class="counter" hidden></p>
      </div>
    </form>
    <div data-el="drop-hint" class="drop-hint" hidden>Drop files to send them</div>
  </section>
  <div data-el="toast" id="toast" class="toast" role="status" hidden></div>
  <dialog data-el="lightbox" id="lightbox" class="lightbox" aria-label="Image"></dialog>
</div>
</div>`;

const ICONS = {
  bell: 'M12 3a5 5 0 0 0-5 5v3.6L5.3 15a.7.7 0 0 0 .6 1h12.2a.7.7 0 0 0 .6-1L17 11.6V8a5 5 0 0 0-5-5zM10 18.5a2 2 0 0 0 4 0',
  bellOff: 'M12 3a5 5 0 0 0-5 5v3.6L5.3 15a.7.7 0 0 0 .6 1h12.2a.7.7 0 0 0 .6-1L17 11.6V8a5 5 0 0 0-5-5zM10 18.5a2 2 0 0 0 4 0M4 4l16 16',
};

/** @param {keyof typeof ICONS} name @param {number} [size] */
function icon(name, size = 20) {
  const svg = document.createElementNS(SVG, 'svg');
  svg.setAttribute('viewBox', '0 0 24 24');
  svg.setAttribute('width', String(size));
  svg.setAttribute('height', String(size));
  svg.setAttribute('aria-hidden', 'true');
  const p = document.createElementNS(SVG, 'path');
  p.setAttribute('d', ICONS[name]);
  p.setAttribute('fill', 'none');
  p.setAttribute('stroke', 'currentColor');
  p.setAttribute('stroke-width', '1.8');
  p.setAttribute('stroke-linecap', 'round');
  p.setAttribute('stroke-linejoin', 'round');
  svg.append(p);
  return svg;
}



/** @param {HTMLElement} el @param {string} name @param {string} id */
function paintAvatar(el, name, id) {
  avatar(el, name, id, 50, 38);
}

/** @param {number} t */
function shortTime(t) {
  const d = new Date(t);
  if (d.toDateString() === new Date().toDateString()) return clock(t);
  return d.toLocaleDateString([], { month: 'short', day: 'numeric' });
}

/** @param {number} t */
function ago(t) {
  const s = Math.max(0, Math.round((Date.now() - t) / 1000));
  if (s < 60) return 'just now';
  if (s < 3600) return `${Math.round(s / 60)} min ago`;
  if (s < 86400) return `${Math.round(s / 3600)} h ago`;
  return new Date(t).toLocaleDateString();
}



/** Text with its links as anchors (http, https, mailto only; built with DOM APIs). @param {string} text */
function richText(text) {
  return linkify(text).map((part) =>
    part.href ? h('a', { href: part.href, target: '_blank', rel: 'noopener noreferrer', text: part.text }) : document.createTextNode(part.text),
  );
}

/** A message's text for a preview or an announcement. @param {{kind: string, content?: string, text?: string, attachments?: Attachment[]}} m */
function summary(m) {
  const text = (m.content ?? m.text ?? '').trim();
  if (m.kind === 'image') return text ? `Photo: ${text}` : 'Photo';
  if (m.kind === 'file') {
    const name = m.attachments && m.attachments[0] ? m.attachments[0].name : '';
    return text ? `File: ${text}` : name ? `File: ${name}` : 'File';
  }
  return text;
}

/** Messages this close after the previous one of the same sender carry no new sender label. */
const GROUP_GAP_MS = 5 * 60_000;
/** Longer texts are shown folded, with "Show more". */
const FOLD_CHARS = 700;
const FOLD_LINES = 12;

/**
 * Mounts the chat UI in an element and connects. Returns a handle to its client and to unmount it.
 * @param {HTMLElement} element @param {MountOptions} options @returns {ChatMount}
 */
export function mountChat(element, options) {
  if (!element) throw new TypeError('mountChat: an element is needed');
  const opts = { route: true, cache: true, shadow: true, ...options };
  /** @type {ShadowRoot | HTMLElement} */
  let root;
  if (opts.shadow) {
    root = element.shadowRoot || element.attachShadow({ mode: 'open' });
    try {
      const sheet = new CSSStyleSheet();
      sheet.replaceSync(STYLES);
      /** @type {ShadowRoot} */ (root).adoptedStyleSheets = [sheet];
      root.replaceChildren();
    } catch {
      root.replaceChildren(h('style', { text: STYLES }));
    }
  } else {
    root = element;
    root.replaceChildren(h('style', { text: STYLES.replace(/:host/g, '.shell') }));
  }
  const tpl = document.createElement('template');
  tpl.innerHTML = TEMPLATE; // a constant: nothing user-written
  root.append(tpl.content);

  /** The UI's elements by their data-el name. @type {Record<string, any>} */
  const el = {};
  for (const node of root.querySelectorAll('[data-el]')) el[/** @type {HTMLElement} */ (node).dataset.el || ''] = node;

  // ---------------------------------------------------------------- the client

  const firstToken = typeof opts.token === 'string' ? opts.token : null;
  const tokenClaims = firstToken ? claims(firstToken) : {};
  /** @type {ChatClient} */
  const chat =
    opts.chat ||
    new ChatClient({
      ...(opts.clientOptions || {}),
      url: /** @type {string} */ (opts.url),
      token: /** @type {any} */ (opts.token),
      userId: opts.userId,
      apiUrl: opts.apiUrl,
      cache: opts.cache,
    });
  const me = { userId: chat.userId, name: opts.name || tokenClaims.name || chat.nameOf(chat.userId) || chat.userId };
  const apiUrl = opts.apiUrl || chat.opts.apiUrl;

  // ---------------------------------------------------------------- state

  /** @type {string|null} */
  let current = null;
  /** @type {Map<string, HTMLElement>} */
  let msgEls = new Map();
  /** @type {ReturnType<ChatClient['readObserver']>|null} */
  let reads = null;
  /** @type {{type: 'reply'|'edit', seq: number}|null} */
  let composerMode = null;
  /** @type {string|null} key of the message whose deletion waits for a confirmation */
  let confirmDelete = null;
  /** @type {string|null} key of the message whose actions are shown (touch, keyboard) */
  let actionsFor = null;
  /** @type {Set<string>} keys of long messages unfolded */
  const unfolded = new Set();
  /** @type {Map<string, any[]>} roomId → presence.list users */
  const members = new Map();
  /** @type {Set<string>} rooms whose presence was asked on this connection */
  const presenceAsked = new Set();
  /** @type {Set<string>} "roomId userId" pairs whose name was asked for */
  const askedNames = new Set();
  /** @type {import('./chat.js').ChatEvents['state'][0]} */
  let conn = { state: 'connecting', attempt: 0 };
  let loadingOlder = false;
  let forceBottom = false;
  let pinned = true;
  let destroyed = false;
  /** @type {string|null} a room named in the address, opened once it is known */
  let pendingRoom = null;
  /** @type {(() => void)[]} */
  const cleanups = [];
  /** @type {ServiceWorkerRegistration|null} */
  let registration = null;

  /** @param {EventTarget} target @param {string} type @param {any} fn @param {any} [o] */
  const listen = (target, type, fn, o) => {
    target.addEventListener(type, fn, o);
    cleanups.push(() => target.removeEventListener(type, fn, o));
  };

  // ---------------------------------------------------------------- small UI helpers

  const toast = toaster(() => el.toast);
  /** Attachments: thumbnails (a click opens the lightbox), file cards, uploads. */
  const files = attachmentViews(chat, { container: () => root, onError: (text) => toast(text), onOpenImage: (m, a) => openLightbox(m, a) });
  /** Says something to screen readers (the polite live region). */
  const announce = announcer(() => el.announce);

  /** @param {unknown} err */
  const why = (err) => (err instanceof Error ? err.message : String(err));

  // ---------------------------------------------------------------- the user

  el['me-name'].textContent = me.name;
  el['me-id'].textContent = me.userId;
  paintAvatar(el['me-avatar'], me.name, me.userId);
  if (opts.onSignOut) {
    el.signout.hidden = false;
    listen(el.signout, 'click', () => opts.onSignOut?.());
  }

  // ---------------------------------------------------------------- client events

  cleanups.push(chat.on('state', (st) => {
    conn = st;
    renderConnection();
    schedule('rooms'); // presence is unknown while disconnected
    schedule('header');
  }));
  cleanups.push(chat.on('ready', () => {
    presenceAsked.clear();
    renderConnection();
    schedule('rooms');
    schedule('header');
    if (pendingRoom && !chat.room(pendingRoom)) {
      pendingRoom = null; // not (or no longer) a member
      closeRoomView();
    }
    if (current) {
      if (!chat.room(current)) closeRoomView();
      else {
        queryPresence(current);
        fillRoom();
      }
    }
    // Presence dots of the room list: ask each direct room once per connection (a demo-sized list).
    for (const r of chat.rooms().filter((r) => r.type === 'direct').slice(0, 25)) queryPresence(r.roomId);
  }));
  cleanups.push(chat.on('room', (r) => {
    schedule('rooms');
    if (r.roomId === current) schedule('header');
    // A room that arrived after sign-in: its presence dot too.
    if (r.type === 'direct' && chat.ready && !presenceAsked.has(r.roomId)) queryPresence(r.roomId);
    if (pendingRoom && pendingRoom === r.roomId) openRoom(r.roomId);
  }));
  cleanups.push(chat.on('room.removed', ({ roomId }) => {
    schedule('rooms');
    if (roomId === current) {
      toast('You are no longer a member of that room.');
      closeRoomView();
    }
  }));
  cleanups.push(chat.on('message', (m, info) => {
    if (m.mine && m.seq === 0) schedule('rooms'); // the list previews unsent messages (acks update the room)
    if (m.roomId === current) {
      if (m.mine && m.status === 'sending' && m.seq === 0 && info?.reason === 'sending') forceBottom = true;
      schedule('messages');
      if (!m.mine && info?.reason === 'new' && m.kind !== 'system') announce(`${m.senderName || chat.nameOf(m.senderId)}: ${summary(m)}`);
    }
    if (m.status === 'failed' && info?.reason === 'failed') toast(`A message could not be sent: ${m.error?.message || 'no answer'}.`);
  }));
  cleanups.push(chat.on('messages', ({ roomId }) => {
    schedule('rooms');
    if (roomId === current) schedule('messages');
  }));
  cleanups.push(chat.on('typing', ({ roomId }) => {
    if (roomId === current) renderTyping();
  }));
  cleanups.push(chat.on('presence', ({ userId }) => {
    schedule('rooms');
    schedule('header');
    // Someone we only know by id (e.g. invited before they ever signed in): ask for names.
    const key = `${current} ${userId}`;
    if (current && !askedNames.has(key) && chat.nameOf(userId) === userId && (members.get(current) || []).some((u) => u.userId === userId && !u.name)) {
      askedNames.add(key); // once: a user may have no name at all
      queryPresence(current);
    }
  }));
  cleanups.push(chat.on('error', (e) => {
    if (CONNECTION_CODES.has(e.code)) return;
    toast(e.message);
  }));

  // ---------------------------------------------------------------- render scheduling

  /** @type {Set<string>} */
  const dirty = new Set();
  let flushQueued = false;
  /** @param {'rooms'|'header'|'messages'} what */
  function schedule(what) {
    dirty.add(what);
    if (flushQueued) return;
    flushQueued = true;
    queueMicrotask(() => {
      flushQueued = false;
      if (destroyed) return;
      const d = [...dirty];
      dirty.clear();
      if (d.includes('rooms')) renderRooms();
      if (d.includes('header')) renderHeader();
      if (d.includes('messages')) renderMessages();
    });
  }

  // ---------------------------------------------------------------- connection banner

  let bannerTimer = /** @type {any} */ (null);
  let everOpen = false;
  function renderConnection() {
    const ready = chat.ready;
    const st = conn.state;
    if (st === 'open') everOpen = true;
    const label = ready ? 'online' : st === 'reconnecting' ? 'offline' : 'connecting';
    el.conn.dataset.state = label;
    el.conn.textContent = label === 'online' ? 'Online' : label === 'offline' ? 'Offline' : 'Connecting…';
    clearInterval(bannerTimer);
    if (ready || !(st === 'reconnecting' || (everOpen && st !== 'closed'))) {
      el.banner.hidden = true;
      return;
    }
    const paint = () => {
      let text = 'Reconnecting…';
      if (conn.offline) text = 'You are offline. New messages are kept and sent when the connection is back.';
      else if (st === 'reconnecting' && conn.retryAt) {
        const s = Math.max(0, Math.ceil((conn.retryAt - Date.now()) / 1000));
        text = `Connection lost. Reconnecting in ${s} s… Unsent messages are kept.`;
      }
      el['banner-text'].textContent = text;
    };
    paint();
    el['banner-retry'].hidden = st !== 'reconnecting' || !!conn.offline;
    el.banner.hidden = false;
    if (st === 'reconnecting' && conn.retryAt) bannerTimer = setInterval(paint, 1000);
  }
  listen(el['banner-retry'], 'click', () => chat.reconnectNow());

  // ---------------------------------------------------------------- room list

  /** @param {RoomInfo} r */
  function otherUser(r) {
    if (r.type !== 'direct') return null;
    return (r.participants || []).find((p) => p.userId !== me.userId) || null;
  }

  /** The sender part and the text of a room's preview. @param {RoomInfo} r @returns {[string, string]} */
  function preview(r) {
    const waiting = chat.pending(r.roomId).at(-1);
    if (waiting) {
      const up = waiting.upload;
      const what = summary(waiting);
      if (waiting.status === 'failed') return ['Not sent: ', what];
      if (up && up.state === 'uploading') return [`Uploading ${Math.floor((100 * up.loaded) / (up.total || 1))}%: `, what];
      return ['Sending: ', what];
    }
    const m = r.lastMessage;
    if (!m) return ['', r.type === 'group' ? `${r.memberCount} members` : 'No messages yet'];
    if (/** @type {any} */ (m).deleted) return ['', 'Message deleted'];
    if (m.kind === 'system') return ['', m.text];
    // The name the message itself carries first: right after sign-in nothing else may be known yet.
    const who = m.senderId === me.userId ? 'You' : r.type === 'direct' ? '' : m.senderName || chat.nameOf(m.senderId);
    return [who ? `${who}: ` : '', summary(m)];
  }

  function renderRooms() {
    const rooms = chat.rooms();
    el['rooms-empty'].hidden = rooms.length > 0;
    const active = activeElement();
    const focused = active ? active.closest('.room')?.getAttribute('data-room-id') : null;
    const items = rooms.map((r) => {
      const other = otherUser(r);
      const p = other && chat.ready ? chat.presence(other.userId) : undefined;
      const avatar = h('span', { class: 'avatar', 'aria-hidden': 'true' });
      paintAvatar(avatar, r.title, other ? other.userId : r.roomId);
      if (p) avatar.append(h('span', { class: `dot ${p.online ? 'on' : 'off'}` }));
      const unread = r.roomId !== current && r.unread > 0;
      const [who, text] = preview(r);
      // The button's name is its text (what is seen), plus words for what only shows as a sign.
      return h(
        'li',
        { class: `room${r.roomId === current ? ' selected' : ''}${unread ? ' has-unread' : ''}`, dataset: { roomId: r.roomId } },
        h(
          'button',
          { type: 'button', class: 'room-button', onclick: () => openRoom(r.roomId), 'aria-current': r.roomId === current ? 'true' : null },
          avatar,
          h(
            'span',
            { class: 'room-main' },
            h('span', { class: 'room-title', dir: 'auto', text: r.title }),
            p ? h('span', { class: 'sr-only', text: p.online ? ', online, ' : ', offline, ' }) : null,
            h('span', { class: 'room-preview' }, who ? h('span', { class: 'preview-who', dir: 'auto', text: who }) : null, h('span', { class: 'preview-text', dir: 'auto', text })),
          ),
          h(
            'span',
            { class: 'room-side' },
            h('time', { class: 'room-time', text: r.lastMessage ? shortTime(r.lastMessage.createdAt) : '' }),
            h(
              'span',
              { class: 'room-flags' },
              r.muted ? h('span', { class: 'muted-icon', title: 'Muted' }, icon('bellOff', 14), h('span', { class: 'sr-only', text: 'muted' })) : null,
              unread ? h('span', { class: 'badge', text: r.unread > 99 ? '99+' : String(r.unread) }) : null,
              unread ? h('span', { class: 'sr-only', text: ' unread' }) : null,
            ),
          ),
        ),
      );
    });
    el.rooms.replaceChildren(...items);
    if (focused) /** @type {HTMLElement|null} */ (el.rooms.querySelector(`.room[data-room-id="${CSS_escape(focused)}"] .room-button`))?.focus();
  }

  /** The focused element inside the UI, if any. @returns {HTMLElement|null} */
  function activeElement() {
    const a = /** @type {any} */ (root).activeElement ?? (root.contains(document.activeElement) ? document.activeElement : null);
    return a instanceof HTMLElement ? a : null;
  }

  /** @param {string} s */
  function CSS_escape(s) {
    return globalThis.CSS && globalThis.CSS.escape ? globalThis.CSS.escape(s) : s.replace(/["\\]/g, '\\$&');
  }

  // ---------------------------------------------------------------- new rooms

  /** @param {'direct'|'group'|null} which */
  function toggleNewRoom(which) {
    const d = which === 'direct' && el['direct-form'].hidden;
    const g = which === 'group' && el['group-form'].hidden;
    el['direct-form'].hidden = !d;
    el['group-form'].hidden = !g;
    el['new-direct'].setAttribute('aria-expanded', String(d));
    el['new-group'].setAttribute('aria-expanded', String(g));
    if (d) el['direct-user'].focus();
    if (g) el['group-name'].focus();
  }
  listen(el['new-direct'], 'click', () => toggleNewRoom('direct'));
  listen(el['new-group'], 'click', () => toggleNewRoom('group'));

  listen(el['direct-form'], 'submit', async (/** @type {Event} */ e) => {
    e.preventDefault();
    const id = el['direct-user'].value.trim();
    if (!id) return;
    if (id === me.userId) return toast('That is you: enter someone else’s user id.');
    try {
      const r = await chat.createDirect(id);
      el['direct-user'].value = '';
      toggleNewRoom(null);
      openRoom(r.roomId);
    } catch (err) {
      toast(`Cannot start the chat: ${why(err)}`);
    }
  });

  listen(el['group-form'], 'submit', async (/** @type {Event} */ e) => {
    e.preventDefault();
    const name = el['group-name'].value.trim();
    const ids = el['group-members'].value.split(/[\s,;]+/).map((/** @type {string} */ s) => s.trim()).filter(Boolean);
    try {
      const r = await chat.createGroup(name, ids);
      el['group-name'].value = '';
      el['group-members'].value = '';
      toggleNewRoom(null);
      openRoom(r.roomId);
    } catch (err) {
      toast(`Cannot create the group: ${why(err)}`);
    }
  });

  // ---------------------------------------------------------------- conversation

  function showRoomChrome() {
    el['no-room'].hidden = true;
    el['conv-header'].hidden = false;
    el.messages.hidden = false;
    el.composer.hidden = false;
    root.querySelector('.cu')?.classList.add('show-conversation');
  }

  function closeRoomView() {
    const was = current;
    if (was) chat.stopTyping(was);
    current = null;
    pendingRoom = null;
    reads?.disconnect();
    reads = null;
    msgEls = new Map();
    el['message-list'].replaceChildren();
    el['no-room'].hidden = false;
    el['conv-header'].hidden = true;
    el.messages.hidden = true;
    el.composer.hidden = true;
    el.typing.hidden = true;
    el['room-start'].hidden = true;
    root.querySelector('.cu')?.classList.remove('show-conversation');
    setComposerMode(null);
    if (opts.route && /^#\/room\//.test(location.hash)) history.replaceState(history.state, '', location.pathname + location.search);
    renderRooms();
    // Back on the list (one pane at a time): focus where the user was.
    if (was) /** @type {HTMLElement|null} */ (el.rooms.querySelector(`.room[data-room-id="${CSS_escape(was)}"] .room-button`))?.focus();
  }

  /** @param {string} roomId */
  function openRoom(roomId) {
    const previous = current;
    if (previous && previous !== roomId) chat.stopTyping(previous);
    pendingRoom = null;
    current = roomId;
    if (opts.route) history.replaceState(history.state, '', `#/room/${encodeURIComponent(roomId)}`);
    reads?.disconnect();
    reads = chat.readObserver(el.messages);
    msgEls = new Map();
    confirmDelete = null;
    actionsFor = null;
    el['message-list'].replaceChildren();
    setComposerMode(null);
    showRoomChrome();
    if (previous !== roomId) {
      el.input.value = '';
      autosize();
      updateCounter();
    }
    renderHeader();
    renderTyping();
    forceBottom = true;
    pinned = true;
    renderMessages();
    renderRooms();
    queryPresence(roomId);
    fillRoom();
    el.input.focus();
  }

  listen(el.back, 'click', () => closeRoomView());

  /** @param {string} roomId */
  function queryPresence(roomId) {
    if (!chat.ready) return;
    presenceAsked.add(roomId);
    chat
      .queryPresence(roomId)
      .then((users) => {
        members.set(roomId, users);
        if (roomId === current) renderHeader();
      })
      .catch(() => presenceAsked.delete(roomId));
  }

  function renderHeader() {
    if (!current) return;
    const r = chat.room(current);
    if (!r) return;
    el['conv-title'].textContent = r.title;
    const other = otherUser(r);
    paintAvatar(el['conv-avatar'], r.title, other ? other.userId : r.roomId);
    let sub = '';
    const subEl = el['conv-sub'];
    if (!chat.ready) {
      sub = 'waiting for the connection…';
      subEl.dataset.online = 'false';
    } else if (other) {
      const p = chat.presence(other.userId);
      sub = p ? (p.online ? 'online' : p.lastSeen ? `last seen ${ago(p.lastSeen)}` : 'offline') : '';
      subEl.dataset.online = p?.online ? 'true' : 'false';
    } else {
      const users = members.get(current) || [];
      const online = users.filter((u) => chat.presence(u.userId)?.online ?? u.online).length;
      const names = users.map((u) => (u.userId === me.userId ? 'you' : u.name || u.userId));
      sub = `${r.memberCount} members${users.length ? ` · ${online} online · ${names.join(', ')}` : ''}`;
      subEl.dataset.online = 'false';
    }
    subEl.textContent = sub;
    const muted = !!r.muted;
    el.mute.replaceChildren(icon(muted ? 'bellOff' : 'bell'));
    el.mute.setAttribute('aria-pressed', String(muted));
    el.mute.setAttribute('aria-label', muted ? 'Unmute this conversation' : 'Mute this conversation');
    el.mute.title = muted ? 'Muted: no notifications. Click to unmute.' : 'Mute notifications of this conversation';
  }

  listen(el.mute, 'click', async () => {
    if (!current) return;
    const roomId = current;
    const muted = !chat.room(roomId)?.muted;
    el.mute.disabled = true;
    try {
      await chat.mute(roomId, muted);
      announce(muted ? 'Conversation muted' : 'Conversation unmuted');
    } catch (err) {
      const e = /** @type {any} */ (err);
      toast(e && e.code === 'invalid_frame' ? 'Muting is not available on this server yet.' : `Cannot ${muted ? 'mute' : 'unmute'}: ${why(err)}`);
    } finally {
      el.mute.disabled = false;
      renderHeader();
    }
  });

  function renderTyping() {
    const t = el.typing;
    if (!current) {
      t.hidden = true;
      return;
    }
    const names = chat.typers(current).map((u) => u.name);
    t.hidden = false;
    t.textContent =
      names.length === 0 ? '' : names.length === 1 ? `${names[0]} is typing…` : names.length === 2 ? `${names[0]} and ${names[1]} are typing…` : `${names[0]}, ${names[1]} and ${names.length - 2} more are typing…`;
  }

  /** Loads older pages until the list fills the screen (or the room's start). */
  async function fillRoom() {
    if (!current || loadingOlder) return;
    const roomId = current;
    const box = el.messages;
    for (let i = 0; i < 10; i++) {
      const r = chat.room(roomId);
      if (!r || !r.hasOlder || current !== roomId || !chat.ready) break;
      if (i > 0 && box.scrollHeight > box.clientHeight + 40) break;
      if (i === 0 && chat.messages(roomId).length >= 30 && box.scrollHeight > box.clientHeight + 40) break;
      loadingOlder = true;
      renderOlderLine();
      try {
        await chat.loadOlder(roomId);
      } catch {
        break;
      } finally {
        loadingOlder = false;
      }
      await new Promise((res) => setTimeout(res, 0));
    }
    renderOlderLine();
  }

  function renderOlderLine() {
    if (!current) return;
    const r = chat.room(current);
    const atStart = !!r && !r.hasOlder && (chat.ready || r.lastSeq === 0);
    el.older.textContent = loadingOlder
      ? 'Loading older messages…'
      : r && r.hasOlder
        ? chat.ready
          ? ''
          : 'Older messages load when the connection is back.'
        : chat.messages(current).length
          ? 'This is the beginning of the conversation.'
          : 'No messages yet. Say hello!';
    // Where a group began: who created it (the server records no message for that).
    if (r && r.type === 'group' && atStart) {
      const who = r.createdBy === me.userId ? 'You' : chat.nameOf(r.createdBy);
      // Names in <bdi>: a right-to-left name does not reorder the sentence around it.
      el['room-start-text'].replaceChildren(
        h('bdi', { text: who }),
        ' created the group',
        ...(r.name ? [' “', h('bdi', { text: r.name }), '”'] : []),
        ` · ${new Date(r.createdAt).toLocaleString([], { dateStyle: 'medium', timeStyle: 'short' })}`,
      );
      el['room-start'].hidden = false;
    } else el['room-start'].hidden = true;
  }

  listen(el.messages, 'scroll', () => {
    const box = el.messages;
    pinned = box.scrollHeight - box.scrollTop - box.clientHeight < 60;
    if (box.scrollTop < 150 && current && !loadingOlder && chat.room(current)?.hasOlder && chat.ready) {
      const roomId = current;
      loadingOlder = true;
      renderOlderLine();
      chat
        .loadOlder(roomId)
        .catch(() => {})
        .finally(() => {
          loadingOlder = false;
          renderOlderLine();
        });
    }
  });

  // The list stays pinned to the bottom when it changes size: the composer grows with a long
  // text, the keyboard opens, an image loads.
  if (typeof ResizeObserver === 'function') {
    const ro = new ResizeObserver(() => {
      if (pinned && current) el.messages.scrollTop = el.messages.scrollHeight;
    });
    ro.observe(el.messages);
    ro.observe(el['message-list']);
    cleanups.push(() => ro.disconnect());
  }

  /** Reconciles the message list with the SDK's view of the room, keeping the scroll position. */
  function renderMessages() {
    if (!current) return;
    const roomId = current;
    const list = el['message-list'];
    const box = el.messages;
    const room = chat.room(roomId);
    const atBottom = box.scrollHeight - box.scrollTop - box.clientHeight < 60;
    // Anchor: the first message on screen stays where it is when older ones are put above it.
    let anchor = null;
    let anchorTop = 0;
    for (const li of list.children) {
      const e = /** @type {HTMLElement} */ (li);
      if (e.offsetTop + e.offsetHeight > box.scrollTop) {
        anchor = e;
        anchorTop = e.offsetTop - box.scrollTop;
        break;
      }
    }
    const messages = chat.messages(roomId);
    const keep = new Set();
    /** @type {HTMLElement[]} */
    const fold = [];
    let prev = /** @type {HTMLElement|null} */ (null);
    /** @type {ChatMessage|null} */
    let prevMsg = null;
    for (const m of messages) {
      keep.add(m.key);
      let li = msgEls.get(m.key);
      if (!li) {
        li = h('li');
        msgEls.set(m.key, li);
      }
      const cont = !!prevMsg && prevMsg.kind !== 'system' && m.kind !== 'system' && prevMsg.senderId === m.senderId && m.createdAt - prevMsg.createdAt < GROUP_GAP_MS;
      if (paintMessage(li, m, room, cont)) fold.push(li);
      const want = prev ? prev.nextSibling : list.firstChild;
      if (want !== li) list.insertBefore(li, want);
      prev = li;
      prevMsg = m;
    }
    for (const [key, li] of msgEls) {
      if (!keep.has(key)) {
        reads?.unobserve(li);
        li.remove();
        msgEls.delete(key);
      }
    }
    // Long texts: folded only if they really overflow at this width.
    for (const li of fold) {
      const content = li.querySelector('.content.clamped');
      const more = li.querySelector('.show-more');
      if (content && more && content.scrollHeight <= content.clientHeight + 2) {
        content.classList.remove('clamped');
        more.remove();
      }
    }
    if (forceBottom || atBottom) {
      box.scrollTop = box.scrollHeight;
      pinned = true;
    } else if (anchor && anchor.isConnected) box.scrollTop = anchor.offsetTop - anchorTop;
    forceBottom = false;
    renderOlderLine();
  }

  /**
   * Fills one message's element (only when something shown changed). Returns whether it has a
   * folded text to measure.
   * @param {HTMLElement} li @param {ChatMessage} m @param {RoomInfo|undefined} room @param {boolean} cont
   */
  function paintMessage(li, m, room, cont) {
    const target = m.replyTo ? chat.message(m.roomId, m.replyTo) : undefined;
    const up = m.upload;
    const sig = JSON.stringify([m.seq, m.content, m.status, m.editedAt, m.deletedAt, m.senderName, m.error?.code, target?.content, target?.deletedAt, confirmDelete === m.key, actionsFor === m.key, room?.type, cont, unfolded.has(m.key), m.attachments, up && [up.state, Math.floor((100 * up.loaded) / (up.total || 1))]]);
    if (/** @type {any} */ (li)._sig === sig) return false;
    /** @type {any} */ (li)._sig = sig;

    const system = m.kind === 'system';
    const deleted = !!m.deletedAt;
    li.className = `msg ${system ? 'system' : m.mine ? 'mine' : 'theirs'}${deleted ? ' deleted' : ''}${cont ? ' cont' : ''}${actionsFor === m.key ? ' show-actions' : ''}`;
    li.dataset.key = m.key;
    li.dataset.seq = String(m.seq || '');
    if (m.status) li.dataset.status = m.status;
    else delete li.dataset.status;

    if (system) {
      li.replaceChildren(h('span', { class: 'system-text', dir: 'auto', text: m.content }));
      if (m.seq) reads?.observe(li, m.roomId, m.seq);
      return false;
    }

    const bubble = h('div', { class: 'bubble' });
    if (!m.mine && room && room.type !== 'direct' && !cont) bubble.append(h('div', { class: 'sender', dir: 'auto', text: m.senderName || chat.nameOf(m.senderId) }));
    if (m.replyTo && !deleted) {
      const who = target ? (target.mine ? 'You' : target.senderName || target.senderId) : '';
      const text = target ? (target.deletedAt ? 'Message deleted' : summary(target)) : `message #${m.replyTo}`;
      bubble.append(h('div', { class: 'quote' }, who ? h('b', { dir: 'auto', text: who }) : null, who ? ' ' : null, h('span', { dir: 'auto', text: text.length > 140 ? text.slice(0, 140) + '…' : text })));
    }
    let folded = false;
    if (deleted) bubble.append(h('div', { class: 'content tombstone', text: 'This message was deleted' }));
    else {
      if (m.attachments && m.attachments.length) bubble.append(files.render(m));
      if (m.content) {
        const long = m.content.length > FOLD_CHARS || m.content.split('\n').length > FOLD_LINES;
        const open = unfolded.has(m.key);
        const contentId = `c-${m.key}`;
        bubble.append(h('div', { class: `content${long && !open ? ' clamped' : ''}`, dir: 'auto', id: contentId }, richText(m.content)));
        if (long) {
          folded = !open;
          bubble.append(
            h(
              'button',
              {
                type: 'button',
                class: 'link show-more',
                'aria-expanded': String(open),
                'aria-controls': contentId,
                onclick: () => {
                  if (unfolded.has(m.key)) unfolded.delete(m.key);
                  else unfolded.add(m.key);
                  renderMessages();
                },
              },
              open ? 'Show less' : 'Show more',
            ),
          );
        }
      }
    }
    const meta = h('div', { class: 'meta' });
    if (m.editedAt && !deleted) meta.append(h('span', { class: 'edited', text: 'edited' }));
    meta.append(h('time', { datetime: new Date(m.createdAt).toISOString(), text: clock(m.createdAt) }));
    if (m.mine && m.status && !deleted) meta.append(ticks(m.status));
    bubble.append(meta);

    const hasActions = !!m.seq && !deleted;
    const row = h('div', { class: 'bubble-row' }, bubble);
    if (hasActions) {
      row.append(
        h(
          'button',
          {
            type: 'button',
            class: 'icon-button more',
            'aria-label': 'Message actions',
            'aria-expanded': String(actionsFor === m.key),
            onclick: () => setActionsFor(actionsFor === m.key ? null : m.key),
          },
          '⋯',
        ),
      );
    }
    const parts = [row];
    if (m.status === 'failed') {
      parts.push(
        h(
          'div',
          { class: 'failed' },
          h('span', { text: `Not sent${m.error?.message ? ` (${m.error.message})` : ''}.` }),
          canRetry(m.error) ? h('button', { type: 'button', class: 'link retry', onclick: () => chat.retry(/** @type {string} */ (m.clientId)) }, 'Retry') : null,
          h('button', { type: 'button', class: 'link discard', onclick: () => chat.discard(/** @type {string} */ (m.clientId)) }, 'Discard'),
        ),
      );
    }
    if (hasActions) {
      const actions = h('div', { class: 'actions', role: 'group', 'aria-label': 'Message actions' });
      if (confirmDelete === m.key) {
        actions.classList.add('confirming');
        actions.append(
          h('span', { text: 'Delete for everyone?' }),
          h('button', { type: 'button', class: 'link danger confirm-delete', onclick: () => deleteMessage(m) }, 'Delete'),
          h('button', { type: 'button', class: 'link', onclick: () => setConfirmDelete(null) }, 'Cancel'),
        );
      } else {
        actions.append(h('button', { type: 'button', class: 'link act-reply', onclick: () => setComposerMode({ type: 'reply', seq: m.seq }) }, 'Reply'));
        if (m.content && navigator.clipboard) actions.append(h('button', { type: 'button', class: 'link act-copy', onclick: () => copyText(m.content) }, 'Copy'));
        if (m.mine) {
          if (m.kind === 'text') actions.append(h('button', { type: 'button', class: 'link act-edit', onclick: () => setComposerMode({ type: 'edit', seq: m.seq }) }, 'Edit'));
          actions.append(h('button', { type: 'button', class: 'link act-delete', onclick: () => setConfirmDelete(m.key) }, 'Delete'));
        }
      }
      parts.push(actions);
    }
    li.replaceChildren(...parts);
    if (m.seq && !m.mine) reads?.observe(li, m.roomId, m.seq);
    return folded;
  }

  /** @param {string} text */
  function copyText(text) {
    navigator.clipboard.writeText(text).then(
      () => toast('Copied.'),
      () => toast('Cannot copy here.'),
    );
    setActionsFor(null);
  }

  /** @param {string|null} key */
  function setActionsFor(key) {
    actionsFor = key;
    if (key === null) confirmDelete = null;
    renderMessages();
    if (key) /** @type {HTMLElement|null} */ (el['message-list'].querySelector(`li.msg[data-key="${CSS_escape(key)}"] .actions button`))?.focus();
  }

  /** @param {string|null} key */
  function setConfirmDelete(key) {
    confirmDelete = key;
    renderMessages();
    if (key) /** @type {HTMLElement|null} */ (el['message-list'].querySelector(`li.msg[data-key="${CSS_escape(key)}"] .confirm-delete`))?.focus();
  }

  /** @param {ChatMessage} m */
  async function deleteMessage(m) {
    confirmDelete = null;
    actionsFor = null;
    try {
      await chat.deleteMessage(m.roomId, m.seq);
    } catch (err) {
      toast(`Cannot delete: ${why(err)}`);
    }
    renderMessages();
  }

  // Touch: a long press on a message shows its actions (as does its ⋯ button).
  /** @type {{timer: any, x: number, y: number, id: number}|null} */
  let press = null;
  const cancelPress = () => {
    if (press) clearTimeout(press.timer);
    press = null;
  };
  listen(el['message-list'], 'pointerdown', (/** @type {PointerEvent} */ e) => {
    if (e.pointerType !== 'touch') return;
    const li = /** @type {HTMLElement|null} */ (/** @type {HTMLElement} */ (e.target).closest('li.msg'));
    if (!li || !li.querySelector('.more') || /** @type {HTMLElement} */ (e.target).closest('button, a')) return;
    cancelPress();
    const key = li.dataset.key || '';
    press = { timer: setTimeout(() => ((press = null), setActionsFor(key)), 500), x: e.clientX, y: e.clientY, id: e.pointerId };
  });
  listen(el['message-list'], 'pointermove', (/** @type {PointerEvent} */ e) => {
    if (press && e.pointerId === press.id && Math.hypot(e.clientX - press.x, e.clientY - press.y) > 10) cancelPress();
  });
  for (const type of ['pointerup', 'pointercancel', 'scroll']) listen(el['message-list'], type, cancelPress);
  listen(el['message-list'], 'contextmenu', (/** @type {MouseEvent} */ e) => {
    // A long press fires contextmenu on touch screens: the message's actions, not the browser's menu.
    if (!matchMedia('(hover: none)').matches) return;
    const li = /** @type {HTMLElement|null} */ (/** @type {HTMLElement} */ (e.target).closest('li.msg'));
    if (!li || !li.querySelector('.more') || /** @type {HTMLElement} */ (e.target).closest('a')) return;
    e.preventDefault();
    if (actionsFor !== li.dataset.key) setActionsFor(li.dataset.key || null);
  });
  // A tap elsewhere, or Escape, closes them.
  listen(root, 'pointerdown', (/** @type {PointerEvent} */ e) => {
    if (actionsFor && !/** @type {HTMLElement} */ (e.target).closest?.(`li.msg.show-actions`)) setActionsFor(null);
  });
  listen(root, 'keydown', (/** @type {KeyboardEvent} */ e) => {
    if (e.key === 'Escape' && actionsFor) {
      const key = actionsFor;
      setActionsFor(null);
      /** @type {HTMLElement|null} */ (el['message-list'].querySelector(`li.msg[data-key="${CSS_escape(key)}"] .more`))?.focus();
    }
  });

  // ---------------------------------------------------------------- attachments

  /** @type {HTMLElement|null} */
  let lightboxReturn = null;
  /** @param {ChatMessage} m @param {Attachment} a */
  function openLightbox(m, a) {
    const dialog = /** @type {HTMLDialogElement} */ (el.lightbox);
    lightboxReturn = activeElement();
    const img = /** @type {HTMLImageElement} */ (h('img', { alt: a.name }));
    if (a.width && a.height) {
      img.width = a.width;
      img.height = a.height;
    }
    const url = files.imageUrl(m, a);
    if (url) img.src = url;
    else files.loadImage(m, a).then((u) => u && (img.src = u));
    const close = h('button', { type: 'button', class: 'lightbox-close', onclick: () => dialog.close() }, 'Close');
    dialog.setAttribute('aria-label', a.name);
    dialog.replaceChildren(
      h('figure', {}, img, h('figcaption', { dir: 'auto', text: `${a.name} · ${formatBytes(a.size)}` })),
      h('div', { class: 'lightbox-actions' }, a.key ? h('button', { type: 'button', class: 'lightbox-download', onclick: () => files.download(m.roomId, a) }, 'Download') : null, close),
    );
    dialog.showModal();
    close.focus();
  }
  listen(el.lightbox, 'click', (/** @type {MouseEvent} */ e) => {
    if (e.target === el.lightbox) el.lightbox.close(); // the backdrop
  });
  listen(el.lightbox, 'close', () => {
    el.lightbox.replaceChildren();
    lightboxReturn?.focus();
    lightboxReturn = null;
  });

  /** Sends files from the picker, a drop or a paste (not those the server would refuse). @param {Iterable<File>} picked */
  function sendFiles(picked) {
    if (!current) return;
    for (const f of picked) {
      const refused = refuseFile(f, UPLOAD_LIMITS);
      if (refused) {
        toast(refused.message);
        continue;
      }
      try {
        forceBottom = true;
        chat.sendFile(current, f, { replyTo: composerMode?.type === 'reply' ? composerMode.seq : undefined });
      } catch (err) {
        toast(`Cannot send ${f.name}: ${why(err)}`);
      }
    }
    if (composerMode?.type === 'reply') setComposerMode(null);
    maybeOfferNotifications();
  }

  if (apiUrl) {
    el.attach.hidden = false;
    el.attach.title = describeLimits(UPLOAD_LIMITS);
    el.attach.append(clipIcon());
    el['file-input'].setAttribute('accept', UPLOAD_LIMITS.types.join(','));
    cleanups.push(takeFiles({ button: el.attach, picker: el['file-input'], zone: el.conversation, hint: el['drop-hint'], input: el.input, enabled: () => !!current, onFiles: sendFiles }));
  }

  // ---------------------------------------------------------------- composer

  /** @param {{type: 'reply'|'edit', seq: number}|null} mode */
  function setComposerMode(mode) {
    const wasEdit = composerMode?.type === 'edit';
    composerMode = mode;
    const ctx = el['composer-context'];
    if (!mode || !current) {
      ctx.hidden = true;
      if (wasEdit) {
        el.input.value = '';
        autosize();
        updateCounter();
      }
      return;
    }
    const m = chat.message(current, mode.seq);
    if (!m) {
      composerMode = null;
      ctx.hidden = true;
      return;
    }
    actionsFor = null;
    confirmDelete = null;
    ctx.hidden = false;
    ctx.dataset.mode = mode.type;
    const text = summary(m);
    const snippet = text.length > 80 ? text.slice(0, 80) + '…' : text;
    if (mode.type === 'edit') {
      el['composer-context-text'].replaceChildren(h('b', { text: 'Editing' }), ' ', h('span', { text: snippet }));
      el.input.value = m.content;
      autosize();
      updateCounter();
    } else {
      el['composer-context-text'].replaceChildren(h('b', { text: `Replying to ${m.mine ? 'yourself' : m.senderName || m.senderId}` }), ' ', h('span', { text: snippet }));
    }
    renderMessages();
    el.input.focus();
  }
  listen(el['composer-cancel'], 'click', () => setComposerMode(null));

  listen(el.composer, 'submit', (/** @type {Event} */ e) => {
    e.preventDefault();
    submitComposer();
  });

  function submitComposer() {
    if (!current) return;
    const text = el.input.value;
    if (!text.trim()) return;
    if (utf8Bytes(text) > MAX_CONTENT_BYTES) {
      updateCounter();
      el.input.focus();
      return; // the composer says why, next to it
    }
    const mode = composerMode;
    try {
      if (mode?.type === 'edit') {
        const original = chat.message(current, mode.seq);
        if (original && original.content !== text) chat.editMessage(current, mode.seq, text).catch((err) => toast(`Cannot edit: ${why(err)}`));
      } else {
        forceBottom = true;
        chat.send(current, text, { replyTo: mode?.type === 'reply' ? mode.seq : undefined });
        maybeOfferNotifications();
      }
    } catch (err) {
      toast(why(err));
      return;
    }
    el.input.value = '';
    autosize();
    updateCounter();
    setComposerMode(null);
    chat.stopTyping(current);
  }

  listen(el.input, 'keydown', (/** @type {KeyboardEvent} */ e) => {
    if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
      e.preventDefault();
      submitComposer();
    } else if (e.key === 'Escape' && composerMode) {
      setComposerMode(null);
    }
  });
  listen(el.input, 'input', () => {
    autosize();
    updateCounter();
    if (!current) return;
    if (el.input.value.trim()) chat.typing(current);
    else chat.stopTyping(current); // emptied: not typing any more
  });
  listen(el.input, 'blur', () => {
    if (current) chat.stopTyping(current);
  });
  listen(el['as-file'], 'click', () => {
    if (!current) return;
    const text = el.input.value;
    const file = new File([text], 'message.txt', { type: 'text/plain' });
    sendFiles([file]);
    el.input.value = '';
    autosize();
    updateCounter();
  });

  function autosize() {
    const input = el.input;
    input.style.height = 'auto';
    input.style.height = `${Math.min(input.scrollHeight + 2, 160)}px`;
  }

  /** The size of the text against the server's limit: a count near it, a clear word over it. */
  function updateCounter() {
    const bytes = utf8Bytes(el.input.value);
    const over = bytes > MAX_CONTENT_BYTES;
    const near = bytes > MAX_CONTENT_BYTES * 0.8;
    el.counter.hidden = !near;
    el.counter.textContent = `${bytes.toLocaleString()} / ${MAX_CONTENT_BYTES.toLocaleString()}`;
    el.counter.classList.toggle('over', over);
    el.counter.title = 'Bytes of text: most characters take one, some scripts and emoji two to four';
    el.input.setAttribute('aria-invalid', String(over));
    el.send.disabled = over;
    el['composer-error'].hidden = !over;
    el['composer-error'].textContent = over ? `Too long to send: shorten it by ${(bytes - MAX_CONTENT_BYTES).toLocaleString()} bytes.` : '';
    el['as-file'].hidden = !over || !apiUrl || composerMode?.type === 'edit';
  }

  // ---------------------------------------------------------------- notifications (Web Push)

  const OFFER_KEY = 'chat.ui.notifications-offered';
  const pushCapable = !!(opts.serviceWorker && apiUrl && typeof Notification !== 'undefined' && 'PushManager' in globalThis);
  /** @type {'off'|'on'|'blocked'|'busy'} */
  let bell = 'off';

  function renderBell() {
    const b = el.bell;
    b.hidden = !pushCapable;
    if (!pushCapable) return;
    if (typeof Notification !== 'undefined' && Notification.permission === 'denied') bell = 'blocked';
    b.replaceChildren(icon(bell === 'on' ? 'bell' : 'bellOff'));
    b.setAttribute('aria-pressed', String(bell === 'on'));
    b.disabled = bell === 'busy';
    const label = bell === 'on' ? 'Notifications are on' : bell === 'blocked' ? 'Notifications are blocked by the browser' : 'Turn on notifications';
    b.setAttribute('aria-label', label);
    b.title = bell === 'blocked' ? 'Notifications are blocked: allow them in the browser’s site settings' : label;
  }

  async function enableNotifications() {
    el.offer.hidden = true;
    try {
      localStorage.setItem(OFFER_KEY, '1');
    } catch {
      /* storage refused */
    }
    if (!registration || bell === 'busy') return;
    bell = 'busy';
    renderBell();
    try {
      const permission = await Notification.requestPermission();
      if (permission !== 'granted') {
        bell = permission === 'denied' ? 'blocked' : 'off';
        return;
      }
      await chat.enablePush(registration);
      bell = 'on';
      announce('Notifications are on');
    } catch (err) {
      bell = 'off';
      const e = /** @type {any} */ (err);
      toast(e && (e.code === 'not_found' || e.code === 'unsupported') ? 'This server does not send notifications yet.' : `Cannot turn on notifications: ${why(err)}`);
    } finally {
      renderBell();
    }
  }

  async function disableNotifications() {
    if (!registration) return;
    bell = 'busy';
    renderBell();
    try {
      await chat.disablePush(registration);
      bell = 'off';
      announce('Notifications are off');
    } catch (err) {
      bell = 'on';
      toast(`Cannot turn off notifications: ${why(err)}`);
    } finally {
      renderBell();
    }
  }

  /** After the first message this user sends: offer notifications once (never on load). */
  function maybeOfferNotifications() {
    if (!pushCapable || bell !== 'off' || Notification.permission === 'denied') return;
    try {
      if (localStorage.getItem(OFFER_KEY)) return;
    } catch {
      return;
    }
    el.offer.hidden = false;
  }

  listen(el.bell, 'click', () => {
    if (bell === 'on') disableNotifications();
    else if (bell === 'blocked') toast('Notifications are blocked: allow them in the browser’s site settings, then try again.');
    else enableNotifications();
  });
  listen(el['offer-yes'], 'click', () => enableNotifications());
  listen(el['offer-no'], 'click', () => {
    el.offer.hidden = true;
    try {
      localStorage.setItem(OFFER_KEY, '1');
    } catch {
      /* storage refused */
    }
  });

  if (opts.serviceWorker) {
    Promise.resolve(opts.serviceWorker)
      .then(async (reg) => {
        if (destroyed || !reg) return;
        registration = reg;
        if (pushCapable && Notification.permission === 'granted' && reg.pushManager && (await reg.pushManager.getSubscription())) bell = 'on';
        renderBell();
      })
      .catch(() => {});
    // The service worker asks which room is on screen (no notification for it), and asks to open a
    // room when a notification is clicked.
    const sw = navigator.serviceWorker;
    if (sw) {
      listen(sw, 'message', (/** @type {MessageEvent} */ e) => {
        const d = e.data;
        if (!d || typeof d !== 'object') return;
        if (d.type === 'chat:which-room') {
          e.ports[0]?.postMessage({ roomId: document.visibilityState === 'visible' ? current : null, userId: me.userId });
        } else if (d.type === 'chat:open-room' && typeof d.roomId === 'string') {
          if (chat.room(d.roomId)) openRoom(d.roomId);
          else pendingRoom = d.roomId;
        }
      });
      sw.startMessages?.();
    }
  }
  renderBell();

  // ---------------------------------------------------------------- the address

  function roomFromHash() {
    const m = /^#\/room\/(.+)$/.exec(location.hash);
    return m ? decodeURIComponent(m[1]) : null;
  }
  if (opts.route) {
    listen(window, 'hashchange', () => {
      const id = roomFromHash();
      if (id && id !== current) {
        if (chat.room(id)) openRoom(id);
        else pendingRoom = id;
      }
    });
  }

  /** Before the first sync, a reloaded page still shows the room and its unsent messages. @param {string} roomId */
  function renderOutboxOnly(roomId) {
    if (!chat.messages(roomId).length) return;
    current = roomId;
    showRoomChrome();
    el['conv-title'].textContent = 'Connecting…';
    renderMessages();
  }

  // ---------------------------------------------------------------- start

  renderConnection();
  renderRooms();
  const wanted = opts.route ? roomFromHash() : null;
  if (wanted) {
    if (chat.room(wanted)) openRoom(wanted); // known from the last session (offline start)
    else pendingRoom = wanted;
  }
  if (!opts.chat) chat.connect();
  if (wanted && !current) renderOutboxOnly(wanted);

  return {
    chat,
    root,
    get current() {
      return current;
    },
    openRoom,
    closeRoom: closeRoomView,
    destroy(o = {}) {
      if (destroyed) return;
      destroyed = true;
      if (current) chat.stopTyping(current);
      reads?.disconnect();
      clearInterval(bannerTimer);
      toast.cancel();
      cancelPress();
      for (const c of cleanups.splice(0)) c();
      if (!opts.chat) chat.close();
      if (o.forget) chat.clearCache();
      files.destroy();
      root.replaceChildren();
    },
  };
}
