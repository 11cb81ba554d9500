// @ts-check
// The demo chat app. Everything users wrote (messages, names, room names) is put in the page as
// text (textContent, text nodes): never as HTML.

import { ChatClient } from './sdk/chat.js';

/** @typedef {import('./sdk/chat.js').ChatMessage} ChatMessage */
/** @typedef {import('./sdk/chat.js').RoomInfo} RoomInfo */

const SESSION_KEY = 'chat.demo.session';

/** @param {string} id @returns {any} */
const $ = (id) => document.getElementById(id);

/**
 * Creates an element. Strings among `children` become text nodes.
 * @param {string} tag @param {Record<string, any>} [props] @param {...any} children
 * @returns {HTMLElement}
 */
function h(tag, props = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (v === null || v === undefined || v === false) continue;
    if (k === 'class') el.className = v;
    else if (k === 'text') el.textContent = String(v);
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

// ------------------------------------------------------------------ small helpers

/** @param {string} s */
function hue(s) {
  let x = 0;
  for (const ch of s) x = (x * 31 + (ch.codePointAt(0) ?? 0)) % 360;
  return x;
}

/** @param {HTMLElement} el @param {string} name @param {string} id */
function paintAvatar(el, name, id) {
  el.textContent = [...(name || id || '?').trim()][0]?.toUpperCase() || '?';
  el.style.background = `hsl(${hue(id || name)} 55% 45%)`;
}

/** @param {number} t */
function clock(t) {
  return new Date(t).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
}

/** @param {number} t */
function shortTime(t) {
  const d = new Date(t);
  const now = new Date();
  if (d.toDateString() === now.toDateString()) return clock(t);
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

/** @param {string} text */
function toast(text) {
  const el = $('toast');
  el.textContent = text;
  el.hidden = false;
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => (el.hidden = true), 5000);
}
/** @type {any} */ toast.timer = null;

const SVG = 'http://www.w3.org/2000/svg';
/** @param {string} tag @param {Record<string, string>} attrs */
function svgEl(tag, attrs) {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, v);
  return el;
}

const STATUS_LABEL = { sending: 'Sending', sent: 'Sent', delivered: 'Delivered', read: 'Read', failed: 'Not sent' };

/** The tick icon of an own message. @param {string} status */
function ticks(status) {
  const svg = svgEl('svg', { viewBox: '0 0 18 12', width: '22', height: '15', 'aria-hidden': 'true' });
  const stroke = { fill: 'none', stroke: 'currentColor', 'stroke-width': '1.7', 'stroke-linecap': 'round', 'stroke-linejoin': 'round' };
  if (status === 'sending') {
    svg.append(svgEl('circle', { cx: '7', cy: '6', r: '4.6', ...stroke }), svgEl('path', { d: 'M7 3.6V6l1.7 1.2', ...stroke }));
  } else if (status === 'failed') {
    svg.append(svgEl('circle', { cx: '7', cy: '6', r: '5', fill: 'currentColor' }), svgEl('path', { d: 'M7 3.2v3.4M7 8.6v.2', ...stroke, stroke: '#fff' }));
  } else {
    svg.append(svgEl('path', { d: 'M1.5 6.6l3 3L11 2.2', ...stroke }));
    if (status === 'delivered' || status === 'read') svg.append(svgEl('path', { d: 'M8.3 8.8l.8.8L15.6 2.2', ...stroke }));
  }
  const label = STATUS_LABEL[/** @type {keyof typeof STATUS_LABEL} */ (status)] || status;
  return h('span', { class: 'ticks', dataset: { status }, title: label, 'aria-label': label }, svg);
}

// ------------------------------------------------------------------ state

/** @type {ChatClient|null} */
let chat = null;
/** @type {{userId: string, name: string, wsUrl: string}|null} */
let session = null;
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
/** @type {Map<string, any[]>} roomId → presence.list users */
const members = new Map();
/** @type {Set<string>} "roomId userId" pairs whose name was asked for */
const askedNames = new Set();
/** @type {{state: string, delay?: number, retryAt?: number, offline?: boolean}} */
let conn = { state: 'connecting' };
let loadingOlder = false;
let forceBottom = false;

// ------------------------------------------------------------------ sign-in

/** @param {string} sub @param {string} name */
async function devToken(sub, name) {
  const q = new URLSearchParams({ sub, name });
  const res = await fetch(`/_dev/token?${q}`, { cache: 'no-store' });
  if (res.status === 404) throw new Error('This page signs in through the local stack (chat-dev), which serves /_dev/token. Start it with: target/debug/chat-dev');
  const body = await res.json().catch(() => ({}));
  if (!res.ok) throw new Error(body.message || `sign-in failed (HTTP ${res.status})`);
  return body;
}

/** @param {string} name */
function defaultId(name) {
  return name.trim().toLowerCase().replace(/\s+/g, '-').slice(0, 128);
}

function showSignIn() {
  $('app').hidden = true;
  $('signin').hidden = false;
  $('signin-name').focus();
}

$('signin-form').addEventListener('submit', async (/** @type {Event} */ e) => {
  e.preventDefault();
  const name = $('signin-name').value.trim();
  const sub = $('signin-id').value.trim() || defaultId(name);
  $('signin-error').textContent = '';
  if (!name || !sub) return;
  $('signin-button').disabled = true;
  try {
    const t = await devToken(sub, name);
    session = { userId: t.userId, name: t.name || name, wsUrl: t.wsUrl };
    sessionStorage.setItem(SESSION_KEY, JSON.stringify(session));
    start(t.token);
  } catch (err) {
    $('signin-error').textContent = err instanceof Error ? err.message : String(err);
  } finally {
    $('signin-button').disabled = false;
  }
});

$('signout').addEventListener('click', () => {
  chat?.close();
  chat = null;
  sessionStorage.removeItem(SESSION_KEY);
  session = null;
  current = null;
  history.replaceState(null, '', location.pathname);
  $('rooms').replaceChildren();
  closeRoomView();
  showSignIn();
});

// ------------------------------------------------------------------ start

/** @param {string} [firstToken] a token already fetched; later connections fetch fresh ones */
function start(firstToken) {
  if (!session) return;
  const s = session;
  $('signin').hidden = true;
  $('app').hidden = false;
  $('me-name').textContent = s.name;
  $('me-id').textContent = s.userId;
  paintAvatar($('me-avatar'), s.name, s.userId);

  let cached = firstToken;
  chat = new ChatClient({
    url: s.wsUrl,
    userId: s.userId,
    token: async () => {
      const t = cached;
      cached = undefined;
      return t || (await devToken(s.userId, s.name)).token;
    },
  });
  const c = chat;
  c.on('state', (st) => {
    conn = st;
    renderConnection();
    schedule('rooms'); // presence is unknown while disconnected
    schedule('header');
  });
  c.on('ready', () => {
    renderConnection();
    schedule('rooms');
    schedule('header');
    if (pendingRoom && !c.room(pendingRoom)) {
      pendingRoom = null; // not (or no longer) a member
      closeRoomView();
    }
    if (current) {
      if (!c.room(current)) closeRoomView();
      else {
        queryPresence(current);
        fillRoom();
      }
    }
    // Presence dots of the room list: ask each direct room once per connection (a demo-sized list).
    for (const r of c.rooms().filter((r) => r.type === 'direct').slice(0, 25)) if (r.roomId !== current) queryPresence(r.roomId);
  });
  c.on('room', (r) => {
    schedule('rooms');
    if (r.roomId === current) schedule('header');
    if (pendingRoom && pendingRoom === r.roomId) openRoom(r.roomId);
  });
  c.on('room.removed', ({ roomId }) => {
    schedule('rooms');
    if (roomId === current) {
      toast('You are no longer a member of that room.');
      closeRoomView();
    }
  });
  c.on('message', (m) => {
    if (m.mine && m.seq === 0) schedule('rooms'); // the list previews unsent messages (acks update the room)
    if (m.roomId === current) {
      if (m.mine && (m.status === 'sending' && m.seq === 0)) forceBottom = true;
      schedule('messages');
    }
    if (m.status === 'failed') toast(`A message could not be sent: ${m.error?.message || 'no answer'}.`);
  });
  c.on('messages', ({ roomId }) => {
    schedule('rooms');
    if (roomId === current) schedule('messages');
  });
  c.on('typing', ({ roomId }) => {
    if (roomId === current) renderTyping();
  });
  c.on('presence', ({ userId }) => {
    schedule('rooms');
    schedule('header');
    // Someone we only know by id (e.g. invited before they ever signed in): ask for names.
    const key = `${current} ${userId}`;
    if (current && !askedNames.has(key) && c.nameOf(userId) === userId && (members.get(current) || []).some((u) => u.userId === userId && !u.name)) {
      askedNames.add(key); // once: a user may have no name at all
      queryPresence(current);
    }
  });
  c.on('error', (e) => {
    if (['offline', 'disconnected', 'timeout'].includes(e.code)) return;
    toast(e.message);
  });
  renderRooms();
  const wanted = roomFromHash();
  if (wanted) pendingRoom = wanted;
  c.connect();
  if (wanted) openRoomIfKnown(wanted);
}

/** A room named in the address (#/room/<id>), opened once it is known. @type {string|null} */
let pendingRoom = null;

function roomFromHash() {
  const m = /^#\/room\/(.+)$/.exec(location.hash);
  return m ? decodeURIComponent(m[1]) : null;
}

/** @param {string} roomId */
function openRoomIfKnown(roomId) {
  if (chat?.room(roomId)) openRoom(roomId);
  else renderOutboxOnly(roomId);
}

/** Before the first sync, a reloaded page still shows its unsent messages. @param {string} roomId */
function renderOutboxOnly(roomId) {
  if (!chat || !chat.messages(roomId).length) return;
  current = roomId;
  showRoomChrome();
  $('conv-title').textContent = 'Connecting…';
  renderMessages();
}

// ------------------------------------------------------------------ render scheduling

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
    const d = [...dirty];
    dirty.clear();
    if (d.includes('rooms')) renderRooms();
    if (d.includes('header')) renderHeader();
    if (d.includes('messages')) renderMessages();
  });
}

// ------------------------------------------------------------------ connection banner

let bannerTimer = /** @type {any} */ (null);
let everOpen = false;
function renderConnection() {
  const ready = !!chat?.ready;
  const st = conn.state;
  if (st === 'open') everOpen = true;
  const label = ready ? 'online' : st === 'reconnecting' ? 'offline' : 'connecting';
  const pill = $('conn');
  pill.dataset.state = label;
  pill.textContent = label === 'online' ? 'Online' : label === 'offline' ? 'Offline' : 'Connecting…';
  clearInterval(bannerTimer);
  const banner = $('banner');
  if (ready || !(st === 'reconnecting' || (everOpen && st !== 'closed'))) {
    banner.hidden = true;
    return;
  }
  const paint = () => {
    let text = 'Reconnecting…';
    if (conn.offline) text = 'You are offline. New messages are kept and sent when the connection is back.';
    else if (st === 'reconnecting' && conn.retryAt) {
      const s = Math.max(0, Math.ceil((conn.retryAt - Date.now()) / 1000));
      text = `Connection lost. Reconnecting in ${s} s… Unsent messages are kept.`;
    }
    $('banner-text').textContent = text;
  };
  paint();
  $('banner-retry').hidden = st !== 'reconnecting' || !!conn.offline;
  banner.hidden = false;
  if (st === 'reconnecting' && conn.retryAt) bannerTimer = setInterval(paint, 1000);
}
$('banner-retry').addEventListener('click', () => chat?.reconnectNow());

// ------------------------------------------------------------------ room list

/** @param {RoomInfo} r */
function otherUser(r) {
  if (r.type !== 'direct' || !session) return null;
  return (r.participants || []).find((p) => p.userId !== session?.userId) || null;
}

/** @param {RoomInfo} r */
function preview(r) {
  const waiting = chat?.pending(r.roomId).at(-1);
  if (waiting) return `${waiting.status === 'failed' ? 'Not sent' : 'Sending'}: ${waiting.content}`;
  const m = r.lastMessage;
  if (!m) return r.type === 'group' ? `${r.memberCount} members` : 'No messages yet';
  if (/** @type {any} */ (m).deleted) return 'Message deleted';
  if (m.kind === 'system') return m.text;
  const who = m.senderId === session?.userId ? 'You' : r.type === 'direct' ? '' : chat?.nameOf(m.senderId) || m.senderName || m.senderId;
  return who ? `${who}: ${m.text}` : m.text;
}

function renderRooms() {
  if (!chat) return;
  const list = $('rooms');
  const rooms = chat.rooms();
  $('rooms-empty').hidden = rooms.length > 0;
  const items = rooms.map((r) => {
    const other = otherUser(r);
    const p = other && chat?.ready ? chat.presence(other.userId) : undefined;
    const avatar = h('span', { class: 'avatar', 'aria-hidden': 'true' });
    paintAvatar(avatar, r.title, other ? other.userId : r.roomId);
    if (p) avatar.append(h('span', { class: `dot ${p.online ? 'on' : 'off'}`, title: p.online ? 'online' : 'offline' }));
    const unread = r.roomId !== current && r.unread > 0;
    return h(
      'li',
      { class: `room${r.roomId === current ? ' selected' : ''}${unread ? ' has-unread' : ''}`, dataset: { roomId: r.roomId } },
      h(
        'button',
        { type: 'button', class: 'room-button', onclick: () => openRoom(r.roomId), 'aria-current': r.roomId === current ? 'true' : null },
        avatar,
        h('span', { class: 'room-main' }, h('span', { class: 'room-title', text: r.title }), h('span', { class: 'room-preview', text: preview(r) })),
        h(
          'span',
          { class: 'room-side' },
          h('time', { class: 'room-time', text: r.lastMessage ? shortTime(r.lastMessage.createdAt) : '' }),
          unread ? h('span', { class: 'badge', 'aria-label': `${r.unread} unread`, text: r.unread > 99 ? '99+' : String(r.unread) }) : null,
        ),
      ),
    );
  });
  list.replaceChildren(...items);
}

// ------------------------------------------------------------------ new rooms

/** @param {'direct'|'group'|null} which */
function toggleNewRoom(which) {
  const d = which === 'direct' && $('direct-form').hidden;
  const g = which === 'group' && $('group-form').hidden;
  $('direct-form').hidden = !d;
  $('group-form').hidden = !g;
  $('new-direct').setAttribute('aria-expanded', String(d));
  $('new-group').setAttribute('aria-expanded', String(g));
  if (d) $('direct-user').focus();
  if (g) $('group-name').focus();
}
$('new-direct').addEventListener('click', () => toggleNewRoom('direct'));
$('new-group').addEventListener('click', () => toggleNewRoom('group'));

$('direct-form').addEventListener('submit', async (/** @type {Event} */ e) => {
  e.preventDefault();
  const id = $('direct-user').value.trim();
  if (!id || !chat) return;
  if (id === session?.userId) return toast('That is you: enter someone else’s user id.');
  try {
    const r = await chat.createDirect(id);
    $('direct-user').value = '';
    toggleNewRoom(null);
    openRoom(r.roomId);
  } catch (err) {
    toast(`Cannot start the chat: ${err instanceof Error ? err.message : err}`);
  }
});

$('group-form').addEventListener('submit', async (/** @type {Event} */ e) => {
  e.preventDefault();
  if (!chat) return;
  const name = $('group-name').value.trim();
  const ids = $('group-members').value.split(/[\s,;]+/).map((/** @type {string} */ s) => s.trim()).filter(Boolean);
  try {
    const r = await chat.createGroup(name, ids);
    $('group-name').value = '';
    $('group-members').value = '';
    toggleNewRoom(null);
    openRoom(r.roomId);
  } catch (err) {
    toast(`Cannot create the group: ${err instanceof Error ? err.message : err}`);
  }
});

// ------------------------------------------------------------------ conversation

function showRoomChrome() {
  $('no-room').hidden = true;
  $('conv-header').hidden = false;
  $('messages').hidden = false;
  $('composer').hidden = false;
  $('app').classList.add('show-conversation');
}

function closeRoomView() {
  current = null;
  pendingRoom = null;
  reads?.disconnect();
  reads = null;
  msgEls = new Map();
  $('message-list').replaceChildren();
  $('no-room').hidden = false;
  $('conv-header').hidden = true;
  $('messages').hidden = true;
  $('composer').hidden = true;
  $('typing').hidden = true;
  $('app').classList.remove('show-conversation');
  setComposerMode(null);
  schedule('rooms');
}

/** @param {string} roomId */
function openRoom(roomId) {
  if (!chat) return;
  const previous = current;
  if (previous && previous !== roomId) chat.stopTyping(previous);
  pendingRoom = null;
  current = roomId;
  history.replaceState(null, '', `#/room/${encodeURIComponent(roomId)}`);
  reads?.disconnect();
  reads = chat.readObserver($('messages'));
  msgEls = new Map();
  confirmDelete = null;
  $('message-list').replaceChildren();
  setComposerMode(null);
  if (previous !== roomId) $('composer-input').value = '';
  showRoomChrome();
  renderHeader();
  renderTyping();
  forceBottom = true;
  renderMessages();
  renderRooms();
  queryPresence(roomId);
  fillRoom();
  $('composer-input').focus();
}

$('back').addEventListener('click', () => closeRoomView());

/** @param {string} roomId */
function queryPresence(roomId) {
  chat
    ?.queryPresence(roomId)
    .then((users) => {
      members.set(roomId, users);
      if (roomId === current) renderHeader();
    })
    .catch(() => {});
}

function renderHeader() {
  if (!chat || !current) return;
  const r = chat.room(current);
  if (!r) return;
  $('conv-title').textContent = r.title;
  const other = otherUser(r);
  paintAvatar($('conv-avatar'), r.title, other ? other.userId : r.roomId);
  let sub = '';
  if (!chat.ready) {
    sub = 'waiting for the connection…';
    $('conv-sub').dataset.online = 'false';
  } else if (other) {
    const p = chat.presence(other.userId);
    sub = p ? (p.online ? 'online' : p.lastSeen ? `last seen ${ago(p.lastSeen)}` : 'offline') : '';
    $('conv-sub').dataset.online = p?.online ? 'true' : 'false';
  } else {
    const users = members.get(current) || [];
    const online = users.filter((u) => chat?.presence(u.userId)?.online ?? u.online).length;
    const names = users.map((u) => (u.userId === session?.userId ? 'you' : u.name || u.userId));
    sub = `${r.memberCount} members${users.length ? ` · ${online} online · ${names.join(', ')}` : ''}`;
    $('conv-sub').dataset.online = 'false';
  }
  $('conv-sub').textContent = sub;
}

function renderTyping() {
  const el = $('typing');
  if (!chat || !current) {
    el.hidden = true;
    return;
  }
  const users = chat.typers(current);
  el.hidden = false;
  const names = users.map((u) => u.name);
  el.textContent =
    names.length === 0 ? '' : names.length === 1 ? `${names[0]} is typing…` : names.length === 2 ? `${names[0]} and ${names[1]} are typing…` : `${names[0]}, ${names[1]} and ${names.length - 2} more are typing…`;
}

/** Loads older pages until the list fills the screen (or the room's start). */
async function fillRoom() {
  if (!chat || !current || loadingOlder) return;
  const roomId = current;
  const box = $('messages');
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
  if (!chat || !current) return;
  const r = chat.room(current);
  $('older').textContent = loadingOlder ? 'Loading older messages…' : r && r.hasOlder ? '' : chat.messages(current).length ? 'This is the beginning of the conversation.' : 'No messages yet. Say hello!';
}

$('messages').addEventListener('scroll', () => {
  const box = $('messages');
  if (box.scrollTop < 150 && chat && current && !loadingOlder && chat.room(current)?.hasOlder) {
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

/** Reconciles the message list with the SDK's view of the room, keeping the scroll position. */
function renderMessages() {
  if (!chat || !current) return;
  const roomId = current;
  const list = $('message-list');
  const box = $('messages');
  const room = chat.room(roomId);
  const atBottom = box.scrollHeight - box.scrollTop - box.clientHeight < 60;
  // Anchor: the first message on screen stays where it is when older ones are put above it.
  let anchor = null;
  let anchorTop = 0;
  for (const el of list.children) {
    if (/** @type {HTMLElement} */ (el).offsetTop + /** @type {HTMLElement} */ (el).offsetHeight > box.scrollTop) {
      anchor = /** @type {HTMLElement} */ (el);
      anchorTop = anchor.offsetTop - box.scrollTop;
      break;
    }
  }
  const messages = chat.messages(roomId);
  const keep = new Set();
  let prev = /** @type {HTMLElement|null} */ (null);
  for (const m of messages) {
    keep.add(m.key);
    let el = msgEls.get(m.key);
    if (!el) {
      el = h('li');
      msgEls.set(m.key, el);
    }
    paintMessage(el, m, room);
    const want = prev ? prev.nextSibling : list.firstChild;
    if (want !== el) list.insertBefore(el, want);
    prev = el;
  }
  for (const [key, el] of msgEls) {
    if (!keep.has(key)) {
      reads?.unobserve(el);
      el.remove();
      msgEls.delete(key);
    }
  }
  if (forceBottom || atBottom) box.scrollTop = box.scrollHeight;
  else if (anchor && anchor.isConnected) box.scrollTop = anchor.offsetTop - anchorTop;
  forceBottom = false;
  renderOlderLine();
}

/**
 * Fills one message's element (only when something shown changed).
 * @param {HTMLElement} el @param {ChatMessage} m @param {RoomInfo|undefined} room
 */
function paintMessage(el, m, room) {
  if (!chat) return;
  const target = m.replyTo ? chat.message(m.roomId, m.replyTo) : undefined;
  const sig = JSON.stringify([m.seq, m.content, m.status, m.editedAt, m.deletedAt, m.senderName, m.error?.code, target?.content, target?.deletedAt, confirmDelete === m.key, room?.type]);
  if (/** @type {any} */ (el)._sig === sig) return;
  /** @type {any} */ (el)._sig = sig;

  const system = m.kind === 'system';
  const deleted = !!m.deletedAt;
  el.className = `msg ${system ? 'system' : m.mine ? 'mine' : 'theirs'}${deleted ? ' deleted' : ''}`;
  el.dataset.key = m.key;
  el.dataset.seq = String(m.seq || '');
  if (m.status) el.dataset.status = m.status;
  else delete el.dataset.status;

  if (system) {
    el.replaceChildren(h('span', { class: 'system-text', text: m.content }));
    if (m.seq) reads?.observe(el, m.roomId, m.seq);
    return;
  }

  const bubble = h('div', { class: 'bubble' });
  if (!m.mine && room && room.type !== 'direct') bubble.append(h('div', { class: 'sender', text: m.senderName || m.senderId }));
  if (m.replyTo && !deleted) {
    const who = target ? (target.mine ? 'You' : target.senderName || target.senderId) : '';
    const text = target ? (target.deletedAt ? 'Message deleted' : target.content) : `message #${m.replyTo}`;
    bubble.append(h('div', { class: 'quote' }, who ? h('b', { text: who }) : null, who ? ' ' : null, h('span', { text: text.length > 140 ? text.slice(0, 140) + '…' : text })));
  }
  bubble.append(deleted ? h('div', { class: 'content tombstone', text: 'This message was deleted' }) : h('div', { class: 'content', text: m.content }));
  const meta = h('div', { class: 'meta' });
  if (m.editedAt && !deleted) meta.append(h('span', { class: 'edited', text: 'edited' }));
  meta.append(h('time', { dateTime: new Date(m.createdAt).toISOString(), text: clock(m.createdAt) }));
  if (m.mine && m.status && !deleted) meta.append(ticks(m.status));
  bubble.append(meta);

  const parts = [bubble];
  if (m.status === 'failed') {
    parts.push(
      h(
        'div',
        { class: 'failed' },
        h('span', { text: `Not sent${m.error?.message ? ` (${m.error.message})` : ''}.` }),
        h('button', { type: 'button', class: 'link retry', onclick: () => chat?.retry(/** @type {string} */ (m.clientId)) }, 'Retry'),
        h('button', { type: 'button', class: 'link discard', onclick: () => chat?.discard(/** @type {string} */ (m.clientId)) }, 'Discard'),
      ),
    );
  }
  if (m.seq && !deleted) {
    const actions = h('div', { class: 'actions' });
    if (confirmDelete === m.key) {
      actions.classList.add('confirming');
      actions.append(
        h('span', { text: 'Delete for everyone?' }),
        h('button', { type: 'button', class: 'link danger confirm-delete', onclick: () => deleteMessage(m) }, 'Delete'),
        h('button', { type: 'button', class: 'link', onclick: () => setConfirmDelete(null) }, 'Cancel'),
      );
    } else {
      actions.append(h('button', { type: 'button', class: 'link act-reply', onclick: () => setComposerMode({ type: 'reply', seq: m.seq }) }, 'Reply'));
      if (m.mine) {
        actions.append(
          h('button', { type: 'button', class: 'link act-edit', onclick: () => setComposerMode({ type: 'edit', seq: m.seq }) }, 'Edit'),
          h('button', { type: 'button', class: 'link act-delete', onclick: () => setConfirmDelete(m.key) }, 'Delete'),
        );
      }
    }
    parts.push(actions);
  }
  el.replaceChildren(...parts);
  if (m.seq && !m.mine) reads?.observe(el, m.roomId, m.seq);
}

/** @param {string|null} key */
function setConfirmDelete(key) {
  confirmDelete = key;
  renderMessages();
}

/** @param {ChatMessage} m */
async function deleteMessage(m) {
  confirmDelete = null;
  try {
    await chat?.deleteMessage(m.roomId, m.seq);
  } catch (err) {
    toast(`Cannot delete: ${err instanceof Error ? err.message : err}`);
  }
  renderMessages();
}

// ------------------------------------------------------------------ composer

/** @param {{type: 'reply'|'edit', seq: number}|null} mode */
function setComposerMode(mode) {
  const input = $('composer-input');
  const wasEdit = composerMode?.type === 'edit';
  composerMode = mode;
  const ctx = $('composer-context');
  if (!mode || !chat || !current) {
    ctx.hidden = true;
    if (wasEdit) input.value = '';
    return;
  }
  const m = chat.message(current, mode.seq);
  if (!m) {
    composerMode = null;
    ctx.hidden = true;
    return;
  }
  ctx.hidden = false;
  ctx.dataset.mode = mode.type;
  const snippet = m.content.length > 80 ? m.content.slice(0, 80) + '…' : m.content;
  if (mode.type === 'edit') {
    $('composer-context-text').replaceChildren(h('b', { text: 'Editing' }), ' ', h('span', { text: snippet }));
    input.value = m.content;
  } else {
    $('composer-context-text').replaceChildren(h('b', { text: `Replying to ${m.mine ? 'yourself' : m.senderName || m.senderId}` }), ' ', h('span', { text: snippet }));
  }
  input.focus();
}
$('composer-cancel').addEventListener('click', () => setComposerMode(null));

$('composer').addEventListener('submit', (/** @type {Event} */ e) => {
  e.preventDefault();
  submitComposer();
});

function submitComposer() {
  if (!chat || !current) return;
  const input = $('composer-input');
  const text = input.value;
  if (!text.trim()) return;
  const mode = composerMode;
  try {
    if (mode?.type === 'edit') {
      const original = chat.message(current, mode.seq);
      if (original && original.content !== text) chat.editMessage(current, mode.seq, text).catch((err) => toast(`Cannot edit: ${err.message}`));
    } else {
      forceBottom = true;
      chat.send(current, text, { replyTo: mode?.type === 'reply' ? mode.seq : undefined });
    }
  } catch (err) {
    toast(err instanceof Error ? err.message : String(err));
    return;
  }
  input.value = '';
  autosize();
  setComposerMode(null);
  chat.stopTyping(current);
}

const input = $('composer-input');
input.addEventListener('keydown', (/** @type {KeyboardEvent} */ e) => {
  if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
    e.preventDefault();
    submitComposer();
  } else if (e.key === 'Escape' && composerMode) {
    setComposerMode(null);
  }
});
input.addEventListener('input', () => {
  autosize();
  if (chat && current && input.value.trim()) chat.typing(current);
});
input.addEventListener('blur', () => {
  if (chat && current) chat.stopTyping(current);
});
function autosize() {
  input.style.height = 'auto';
  input.style.height = `${Math.min(input.scrollHeight, 160)}px`;
}

// ------------------------------------------------------------------ boot

function boot() {
  let saved = null;
  try {
    saved = JSON.parse(sessionStorage.getItem(SESSION_KEY) || 'null');
  } catch {
    saved = null;
  }
  if (saved && saved.userId && saved.wsUrl) {
    session = saved;
    start();
  } else {
    showSignIn();
  }
}

// Tests and curious developers: the live client.
Object.defineProperty(window, 'chatApp', { get: () => ({ chat, session, current }) });

boot();
