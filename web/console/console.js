// @ts-check
// The operator console of the support desk: the live queue, accepting visitors, answering them,
// transferring and closing sessions, their ratings. Everything visitors wrote (names, messages,
// pages, attributes) is put in the page as text (textContent, text nodes): never as HTML.

import { attachmentViews, clipIcon, takeFiles } from '../sdk/attachments.js';
import { ChatClient, claims } from '../sdk/chat.js';
import { canRetry } from '../sdk/codes.js';
import { announcer, avatar, clock, h, ticks as ticksIcon, toaster } from '../sdk/dom.js';
import { UPLOAD_LIMITS, describeLimits, refuseFile } from '../sdk/files.js';
import { friendlyName } from '../sdk/names.js';
import { replyPicker } from './replies.js';
import { lastWeek, reportView } from './reports.js';

/** @typedef {import('../sdk/chat.js').ChatMessage} ChatMessage */
/** @typedef {import('../sdk/chat.js').RoomInfo} RoomInfo */
/** @typedef {import('../sdk/chat.js').SupportSession} SupportSession */
/** @typedef {import('../sdk/chat.js').SupportQueue} SupportQueue */
/** @typedef {import('../sdk/chat.js').ChatNote} ChatNote */
/** @typedef {import('../sdk/chat.js').SavedReply} SavedReply */
/** @typedef {import('../sdk/chat.js').ServerMessage} ServerMessage */

const SESSION_KEY = 'chat.console.session';
const BASE_TITLE = 'Support console';

/** @param {string} id @returns {any} */
const $ = (id) => document.getElementById(id);


// ------------------------------------------------------------------ small helpers

/** @param {HTMLElement} el @param {string} name @param {string} id */
function paintAvatar(el, name, id) {
  avatar(el, name, id, 55, 45);
}

/** "0:42", "12:05", "1 h 3 min" @param {number} ms */
function duration(ms) {
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 3600) return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
  return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
}

const showToast = toaster(() => $('toast'));
/**
 * Shows a short message above the conversation's bottom bar (the composer, or "This conversation
 * is closed."), never over it. @param {string} text
 */
function toast(text) {
  const bars = [$('composer'), $('composer-closed')].filter((el) => !el.hidden && el.getClientRects().length);
  const top = Math.min(window.innerHeight, ...bars.map((el) => el.getBoundingClientRect().top));
  $('toast').style.bottom = `${Math.max(24, Math.round(window.innerHeight - top) + 12)}px`;
  showToast(text);
}
const announce = announcer(() => $('announcer'));

/** @param {any} err */
const why = (err) => (err && err.message) || String(err);

/**
 * A visitor's name: the one they gave (the widget's setUser, a site's token), else a friendly name
 * stable for their id ("Visitor · Amber Fox"); never the raw id.
 * @param {{userId: string, name?: string}|undefined} v
 */
function visitorLabel(v) {
  return (v && v.name && v.name.trim()) || friendlyName(v ? v.userId : '');
}

/** @param {SupportSession|undefined} s */
function visitorName(s) {
  return visitorLabel(s && s.visitor);
}

/** A visitor's avatar: the initial of their name, or of their friendly name's adjective. @param {HTMLElement} el @param {SupportSession} s */
function visitorAvatar(el, s) {
  const v = s.visitor;
  paintAvatar(el, (v.name && v.name.trim()) || friendlyName(v.userId, ''), v.userId);
}

/**
 * Who a user of a session is, for sender labels and typing: "You", the visitor's name, else the
 * name the server sent (operators). @param {SupportSession} s @param {string} userId @param {string} [name]
 */
function personName(s, userId, name) {
  if (userId === me?.userId) return 'You';
  if (userId === s.visitor.userId) return visitorName(s);
  return name || chat?.nameOf(userId) || userId;
}

/** @param {number} score */
const stars = (score) => '★'.repeat(score) + '☆'.repeat(Math.max(0, 5 - score));

/** @param {string} status */
const ticks = (status) => ticksIcon(status, 20);

// ------------------------------------------------------------------ sound

/** @type {AudioContext|null} */
let audio = null;
/** Browsers let a page make sound only after a user gesture: the sign-in click, or any later one. */
function unlockAudio() {
  try {
    const AC = window.AudioContext || /** @type {any} */ (window).webkitAudioContext;
    if (!AC) return;
    if (!audio) audio = new AC();
    if (audio.state === 'suspended') audio.resume().catch(() => {});
  } catch {
    audio = null;
  }
}
document.addEventListener('pointerdown', unlockAudio, { capture: true });
document.addEventListener('keydown', unlockAudio, { capture: true });

/** Two short tones (no sound file). */
function beep() {
  const ctx = audio;
  if (!ctx || ctx.state !== 'running') return;
  const t = ctx.currentTime;
  for (const [i, f] of [880, 1175].entries()) {
    const osc = ctx.createOscillator();
    const gain = ctx.createGain();
    osc.type = 'sine';
    osc.frequency.value = f;
    const start = t + i * 0.16;
    gain.gain.setValueAtTime(0.0001, start);
    gain.gain.exponentialRampToValueAtTime(0.18, start + 0.02);
    gain.gain.exponentialRampToValueAtTime(0.0001, start + 0.14);
    osc.connect(gain).connect(ctx.destination);
    osc.start(start);
    osc.stop(start + 0.15);
  }
}

// ------------------------------------------------------------------ state

/** @type {ChatClient|null} */
let chat = null;
/** @type {ReturnType<typeof attachmentViews>|null} thumbnails, file cards, uploads of `chat` */
let files = null;
/** @type {{userId: string, name: string, wsUrl: string, apiUrl?: string, token?: string, dev: boolean, role?: string}|null} */
let me = null;
/** @type {string|null} the open session */
let current = null;
/** @type {Set<string>} sessionIds seen in the queue */
let seenQueue = new Set();
let queueInitialized = false;
/** @type {Set<string>} queue entries that arrived since the operator last looked at the page */
const fresh = new Set();
/** @type {Map<string, HTMLElement>} */
let msgEls = new Map();
/** @type {ReturnType<ChatClient['readObserver']>|null} */
let reads = null;
/** @type {{state: string}} */
let conn = { state: 'connecting' };
let forceBottom = false;
/** New-visitor alerts so far (sound and title). */
let alerts = 0;
/** Alerts (new waiting visitors, new visitor messages) while the tab was hidden: the title's "(n)". */
let hiddenAlerts = 0;
/** @type {'desk'|'reports'|'replies'} */
let view = 'desk';
/** @type {SavedReply[]} */
let replies = [];
/** @type {Set<string>} sessions whose notes were asked for */
const notesAsked = new Set();
/** @type {{session: SupportSession, messages: ServerMessage[], notes: ServerMessage[]}|null} an earlier session, read-only */
let readonly = null;

// ------------------------------------------------------------------ sign-in

/** @param {string} sub @param {string} name */
async function devToken(sub, name) {
  const q = new URLSearchParams({ sub, name, role: 'operator' });
  const res = await fetch(`/_dev/token?${q}`, { cache: 'no-store' });
  if (res.status === 404) throw new Error('Development sign-in needs the local stack (chat-dev), which serves /_dev/token. Elsewhere, sign in with a token.');
  const body = await res.json().catch(() => ({}));
  if (!res.ok) throw new Error(body.message || `sign-in failed (HTTP ${res.status})`);
  return body;
}


function showSignIn() {
  $('app').hidden = true;
  $('signin').hidden = false;
  document.title = BASE_TITLE;
  $('signin-name').focus();
}

$('token-ws').value = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/local`;
$('token-api').value = `${location.origin}/api`;

$('signin-form').addEventListener('submit', async (/** @type {Event} */ e) => {
  e.preventDefault();
  unlockAudio();
  const name = $('signin-name').value.trim();
  const sub = $('signin-id').value.trim() || name.toLowerCase().replace(/\s+/g, '-').slice(0, 128);
  $('signin-error').textContent = '';
  if (!name || !sub) return;
  $('signin-button').disabled = true;
  try {
    const t = await devToken(sub, name);
    me = { userId: t.userId, name: t.name || name, wsUrl: t.wsUrl, apiUrl: `${location.origin}/api`, dev: true };
    sessionStorage.setItem(SESSION_KEY, JSON.stringify(me));
    start(t.token);
  } catch (err) {
    $('signin-error').textContent = why(err);
  } finally {
    $('signin-button').disabled = false;
  }
});

$('token-form').addEventListener('submit', (/** @type {Event} */ e) => {
  e.preventDefault();
  unlockAudio();
  $('signin-error').textContent = '';
  const token = $('token-input').value.trim();
  const wsUrl = $('token-ws').value.trim();
  const c = claims(token);
  if (!c || !c.sub) {
    $('signin-error').textContent = 'That does not look like a JWT (header.payload.signature).';
    return;
  }
  if (c.role !== 'operator' && c.role !== 'admin') {
    $('signin-error').textContent = `This token's role is ${c.role || 'user'}; the console needs role "operator" (or "admin").`;
    return;
  }
  if (!/^wss?:\/\//.test(wsUrl)) {
    $('signin-error').textContent = 'The WebSocket URL starts with wss:// (or ws:// locally).';
    return;
  }
  const apiUrl = $('token-api').value.trim();
  me = { userId: c.sub, name: c.name || c.sub, wsUrl, apiUrl: /^https?:\/\//.test(apiUrl) ? apiUrl : undefined, token, dev: false, role: c.role };
  sessionStorage.setItem(SESSION_KEY, JSON.stringify(me));
  start(token);
});

$('signout').addEventListener('click', () => {
  chat?.close();
  chat = null;
  files?.destroy();
  files = null;
  fileProblem('');
  reads?.disconnect();
  reads = null;
  sessionStorage.removeItem(SESSION_KEY);
  me = null;
  current = null;
  readonly = null;
  replies = [];
  notesAsked.clear();
  showView('desk');
  seenQueue = new Set();
  queueInitialized = false;
  fresh.clear();
  clearInterval(ticker);
  ['queue', 'mine', 'closed', 'messages'].forEach((id) => $(id).replaceChildren());
  msgEls = new Map();
  showSignIn();
});

// ------------------------------------------------------------------ start

/** @type {any} */
let ticker = null;

/** @param {string} [firstToken] */
function start(firstToken) {
  if (!me) return;
  const s = me;
  $('signin').hidden = true;
  $('app').hidden = false;
  $('me-name').textContent = s.name;
  $('me-id').textContent = s.userId;
  $('view-replies').hidden = s.role !== 'admin';
  renderNotifyButton();
  paintAvatar($('me-avatar'), s.name, s.userId);

  let cached = firstToken;
  chat = new ChatClient({
    url: s.wsUrl,
    // Files go up and down through the REST API (a session saved before it was kept: the dev one).
    apiUrl: s.apiUrl || (s.dev ? `${location.origin}/api` : undefined),
    userId: s.userId,
    token: async () => {
      const t = cached;
      cached = undefined;
      if (t) return t;
      if (s.dev) return (await devToken(s.userId, s.name)).token;
      return /** @type {string} */ (s.token);
    },
  });
  const c = chat;
  enablePush();
  files = attachmentViews(c, { container: () => document.body, onError: (text) => toast(text) });
  /** @type {any} */ (window).supportConsole = { get chat() { return chat; }, get current() { return current; }, get me() { return me; }, get alerts() { return alerts; } };
  c.on('state', (st) => {
    conn = st;
    renderConnection();
  });
  c.on('ready', () => {
    renderConnection();
    // The stored availability (kept across reloads and devices) and the saved replies.
    c.operatorStatus().then(renderAvailability, (err) => toast(`Cannot read your status: ${why(err)}`));
    loadReplies();
    // The queue after every (re)connect: queue.updated frames missed while away are not replayed.
    c.supportQueue().catch((err) => toast(`Cannot read the queue: ${why(err)}`));
    renderLists();
    if (current && !c.room(current)) closeSession();
    else if (current && !reads) openSession(current);
    else if (current) renderConversation();
  });
  c.on('queue', (q) => onQueue(q));
  c.on('room', (r) => {
    if (r.type !== 'support') return;
    scheduleLists();
    if (r.roomId === current) scheduleConversation();
  });
  c.on('room.removed', ({ roomId }) => {
    scheduleLists();
    if (roomId === current) closeSession();
  });
  c.on('session', (e) => {
    const sid = e.session.sessionId;
    scheduleLists();
    if (sid === current) scheduleConversation();
    if (e.reason === 'rated' && e.session.rating) {
      const text = `${visitorName(e.session)} rated the conversation ${e.session.rating.score} out of 5.`;
      toast(text);
      announce(text);
    }
    if (e.reason === 'closed' && e.session.closedBy === e.session.visitor.userId && e.session.operator?.userId === me?.userId) {
      toast(`${visitorName(e.session)} ended the conversation.`);
    }
    if (e.reason === 'transferred' && e.to && e.to.userId === me?.userId) toast(`${visitorName(e.session)} was transferred to you by ${e.from?.name || e.from?.userId}.`);
  });
  c.on('message', (m, info) => {
    if (m.roomId === current) {
      if (m.mine && m.seq === 0) forceBottom = true;
      scheduleConversation();
    }
    scheduleLists();
    if (info.reason === 'new' && !m.mine && m.roomId !== current) {
      const s = c.session(m.roomId);
      if (s && s.status === 'active') announce(`New message from ${visitorName(s)}`);
    }
    if (info.reason === 'new' && !m.mine && document.visibilityState === 'hidden') {
      const s = c.session(m.roomId);
      if (s && m.senderId === s.visitor.userId) alertHidden(`${visitorName(s)}: ${m.content || 'sent a file'}`, m.roomId);
    }
    if (m.status === 'failed') toast(`A message could not be sent: ${m.error?.message || 'no answer'}.`);
  });
  c.on('messages', ({ roomId }) => {
    scheduleLists();
    if (roomId === current) scheduleConversation();
  });
  c.on('note', (n) => {
    if (n.roomId === current) scheduleConversation();
  });
  c.on('operatorStatus', () => renderAvailability());
  c.on('typing', ({ roomId }) => {
    if (roomId === current) renderTyping();
  });
  c.on('error', (err) => {
    if (err.code !== 'gateway') toast(err.message);
  });
  c.connect();
  clearInterval(ticker);
  ticker = setInterval(tick, 1000);
  renderConnection();
  renderLists();
  const want = new URLSearchParams(location.hash.slice(1)).get('session');
  if (want) current = want;
}

function renderConnection() {
  const el = $('conn');
  const online = conn.state === 'open' && chat?.ready;
  const offline = conn.state === 'reconnecting' && /** @type {any} */ (conn).offline;
  el.dataset.state = online ? 'online' : offline ? 'offline' : 'connecting';
  el.textContent = online ? 'Online' : offline ? 'Offline' : 'Connecting…';
  const banner = $('banner');
  banner.hidden = !!online || conn.state === 'connecting' || conn.state === 'idle';
  banner.textContent = offline ? 'You are offline. Replies are kept and sent when the connection is back.' : 'Reconnecting… replies are kept and sent when the connection is back.';
}

// ------------------------------------------------------------------ queue

/** @param {SupportQueue} q */
function onQueue(q) {
  const ids = new Set(q.queue.map((e) => e.sessionId));
  const arrived = [...ids].filter((id) => !seenQueue.has(id));
  if (queueInitialized && arrived.length) {
    for (const id of arrived) fresh.add(id);
    alerts++;
    beep();
    const first = q.queue.find((e) => e.sessionId === arrived[0]);
    announce(`New visitor waiting: ${visitorLabel(first?.visitor)}`);
    if (document.visibilityState === 'hidden') alertHidden(`New visitor waiting: ${visitorLabel(first?.visitor)}`, null, false);
  }
  for (const id of [...fresh]) if (!ids.has(id)) fresh.delete(id);
  seenQueue = ids;
  queueInitialized = true;
  renderQueue();
}

function updateTitle() {
  const q = chat?.queue();
  const waiting = q ? q.total : 0;
  const n = fresh.size;
  if (hiddenAlerts > 0) {
    document.title = `(${hiddenAlerts}) ${BASE_TITLE}`;
    return;
  }
  document.title = n > 0 ? `(${n}) New visitor${n > 1 ? 's' : ''} · ${BASE_TITLE}` : waiting > 0 ? `(${waiting}) waiting · ${BASE_TITLE}` : BASE_TITLE;
}

/** The operator looked at the page: the new-visitor alert in the title is seen. */
function seen() {
  if (document.visibilityState === 'visible' && document.hasFocus() && fresh.size) {
    // Keep highlighting the entries, but the title stops shouting after a moment of attention.
    setTimeout(() => {
      if (document.visibilityState === 'visible' && document.hasFocus()) {
        fresh.clear();
        renderQueue();
      }
    }, 4000);
  }
}
window.addEventListener('focus', seen);
document.addEventListener('visibilitychange', seen);

function renderQueue() {
  const q = chat?.queue();
  const list = $('queue');
  const entries = q ? q.queue : [];
  $('queue-count').textContent = String(q ? q.total : 0);
  $('queue-count').dataset.n = String(q ? q.total : 0);
  $('queue-empty').hidden = entries.length > 0;
  $('queue-meta').textContent = q ? `${q.operatorsOnline} operator${q.operatorsOnline === 1 ? '' : 's'} online · a new visitor waits about ${Math.max(1, Math.round(q.estimatedWaitSeconds / 60))} min` : '';
  const items = entries.map((e) => {
    const name = visitorLabel(e.visitor);
    const accept = h('button', { type: 'button', class: 'accept primary', 'aria-label': `Accept ${name}` }, 'Accept');
    accept.addEventListener('click', () => acceptSession(e.sessionId, /** @type {HTMLButtonElement} */ (accept)));
    let page = null;
    if (e.pageUrl) {
      let shown = e.pageUrl;
      try {
        const u = new URL(e.pageUrl);
        shown = u.host + u.pathname;
      } catch {
        /* shown as given */
      }
      page = h('span', { class: 'q-page', title: e.pageUrl }, shown);
    }
    return h(
      'li',
      { class: `queue-item${fresh.has(e.sessionId) ? ' is-new' : ''}`, dataset: { sessionId: e.sessionId, since: String(e.since) } },
      h('span', { class: 'q-name', dir: 'auto' }, name),
      h('span', { class: 'q-wait', title: 'Waiting for' }, duration(Date.now() - e.since)),
      e.firstMessage ? h('span', { class: 'q-first' }, e.firstMessage) : h('span', { class: 'q-first muted' }, '(no message yet)'),
      page || h('span', { class: 'q-page' }, ''),
      accept,
    );
  });
  list.replaceChildren(...items);
  updateTitle();
}

/** Every second: waiting times. */
function tick() {
  for (const el of /** @type {NodeListOf<HTMLElement>} */ (document.querySelectorAll('#queue .queue-item'))) {
    const w = el.querySelector('.q-wait');
    if (w) w.textContent = duration(Date.now() - Number(el.dataset.since));
  }
}

/** @param {string} sessionId @param {HTMLButtonElement} button */
async function acceptSession(sessionId, button) {
  if (!chat) return;
  button.disabled = true;
  try {
    await chat.acceptSession(sessionId);
    fresh.delete(sessionId);
    openSession(sessionId);
  } catch (err) {
    const e = /** @type {any} */ (err);
    toast(e.code === 'conflict' ? `Too late: ${e.message}.` : `Cannot accept: ${why(err)}`);
    button.disabled = false;
  }
}

// ------------------------------------------------------------------ session lists

let listsQueued = false;
function scheduleLists() {
  if (listsQueued) return;
  listsQueued = true;
  // A microtask, not requestAnimationFrame: a console in a background window still updates.
  queueMicrotask(() => {
    listsQueued = false;
    renderLists();
  });
}

function renderLists() {
  if (!chat || !me) return;
  const mineId = me.userId;
  const rooms = chat.rooms().filter((r) => r.type === 'support' && r.session);
  const mine = rooms.filter((r) => r.session && r.session.status !== 'closed' && r.session.operator?.userId === mineId);
  const closed = rooms
    .filter((r) => r.session && r.session.status === 'closed')
    .sort((a, b) => (b.session?.closedAt || 0) - (a.session?.closedAt || 0))
    .slice(0, 20);
  $('mine').replaceChildren(...mine.map((r) => sessionItem(r)));
  $('closed').replaceChildren(...closed.map((r) => sessionItem(r)));
  $('mine-count').textContent = String(mine.length);
  $('mine-empty').hidden = mine.length > 0;
  $('closed-empty').hidden = closed.length > 0;
}

/** @param {RoomInfo} r */
function sessionItem(r) {
  const s = /** @type {SupportSession} */ (r.session);
  const avatar = h('span', { class: 'avatar', 'aria-hidden': 'true' });
  visitorAvatar(avatar, s);
  const unread = r.roomId === current ? 0 : r.unread;
  const lm = r.lastMessage;
  const said = lm ? lm.text || (lm.kind === 'image' ? 'Photo' : lm.kind === 'file' ? 'File' : '') : '';
  const preview = lm ? `${lm.senderId === me?.userId ? 'You: ' : ''}${said}` : s.firstMessage || '';
  const side = h('span', { class: 's-side' });
  if (unread > 0) side.append(h('span', { class: 'badge', 'aria-label': `${unread} unread` }, String(unread)));
  if (s.rating) side.append(h('span', { class: 'stars-small', 'aria-label': `rated ${s.rating.score} of 5` }, stars(s.rating.score)));
  const button = h('button', { type: 'button', class: 'session-button' }, avatar, h('span', { class: 's-name' }, visitorName(s)), h('span', { class: 's-preview' }, preview), side);
  button.addEventListener('click', () => openSession(r.roomId));
  return h('li', { class: `session-item${r.roomId === current ? ' current' : ''}`, dataset: { sessionId: r.roomId, status: s.status } }, button);
}

// ------------------------------------------------------------------ conversation

/** @param {string} sessionId */
function openSession(sessionId) {
  if (!chat) return;
  if (current && current !== sessionId) chat.stopTyping(current);
  if (current !== sessionId) fileProblem('');
  current = sessionId;
  readonly = null;
  if (view !== 'desk') showView('desk');
  history.replaceState(null, '', `#session=${encodeURIComponent(sessionId)}`);
  msgEls = new Map();
  $('messages').replaceChildren();
  reads?.disconnect();
  reads = chat.readObserver($('messages'));
  forceBottom = true;
  $('app').classList.add('has-session');
  renderLists();
  renderConversation();
  const r = chat.room(sessionId);
  if (r && r.hasOlder && chat.messages(sessionId).length < 30) chat.loadOlder(sessionId).catch(() => {});
  const input = $('composer-input');
  if (!input.closest('[hidden]')) input.focus();
}

function closeSession() {
  if (current && chat) chat.stopTyping(current);
  current = null;
  history.replaceState(null, '', location.pathname);
  reads?.disconnect();
  reads = null;
  $('app').classList.remove('has-session');
  renderConversation();
  renderLists();
}
$('back').addEventListener('click', closeSession);

let convQueued = false;
function scheduleConversation() {
  if (convQueued) return;
  convQueued = true;
  queueMicrotask(() => {
    convQueued = false;
    renderConversation();
  });
}

function renderConversation() {
  const ro = readonly && readonly.session.sessionId === current ? readonly : null;
  const r = chat && current && !ro ? chat.room(current) : undefined;
  const s = ro ? ro.session : r?.session;
  const open = !!((r || ro) && s);
  $('no-session').hidden = open;
  for (const id of ['conv-header', 'messages', 'typing', 'details']) $(id).hidden = !open;
  $('app').classList.toggle('no-details', !open);
  $('readonly-bar').hidden = !ro;
  if (!open || !chat || !s) {
    $('composer').hidden = true;
    $('composer-mode').hidden = true;
    $('composer-closed').hidden = true;
    return;
  }
  if (ro) {
    renderReadOnly(ro);
    return;
  }
  if (!r) return;
  if (!notesAsked.has(r.roomId) && chat.ready) {
    notesAsked.add(r.roomId);
    chat.loadNotes(r.roomId).catch(() => notesAsked.delete(r.roomId));
  }
  const mineNow = s.status === 'active' && s.operator?.userId === me?.userId;
  $('conv-title').textContent = visitorName(s);
  visitorAvatar($('conv-avatar'), s);
  const statusText =
    s.status === 'waiting'
      ? 'Waiting in the queue'
      : s.status === 'active'
        ? `Active · with ${s.operator?.userId === me?.userId ? 'you' : s.operator?.name || s.operator?.userId}`
        : `Closed${s.closedBy ? ` by ${s.closedBy === s.visitor.userId ? 'the visitor' : s.closedBy === me?.userId ? 'you' : s.closedBy}` : ''}${s.closedAt ? ` at ${clock(s.closedAt)}` : ''}`;
  $('conv-status').textContent = statusText;
  $('conv-status').dataset.status = s.status;
  $('transfer-form').hidden = !mineNow;
  $('close-form').hidden = s.status === 'closed';
  $('composer').hidden = s.status === 'closed';
  $('composer-mode').hidden = s.status === 'closed';
  $('composer-closed').hidden = s.status !== 'closed';
  $('attach').hidden = !canAttach();
  if (s.status === 'closed') fileProblem('');
  renderMessages(r, s, chat.messages(r.roomId), chat.notes(r.roomId));
  renderTyping();
  renderDetails(s);
}

/** An earlier session: its messages and notes, no composer, no actions. @param {{session: SupportSession, messages: ServerMessage[], notes: ServerMessage[]}} ro */
function renderReadOnly(ro) {
  const s = ro.session;
  $('conv-title').textContent = visitorName(s);
  visitorAvatar($('conv-avatar'), s);
  $('conv-status').textContent = `${s.status === 'closed' ? 'Closed' : s.status === 'active' ? 'Active' : 'Waiting'} · ${new Date(s.createdAt).toLocaleString()} · read-only`;
  $('conv-status').dataset.status = s.status;
  $('transfer-form').hidden = true;
  $('close-form').hidden = true;
  $('composer').hidden = true;
  $('composer-mode').hidden = true;
  $('composer-closed').hidden = true;
  /** @param {ServerMessage} m @returns {any} */
  const view = (m) => ({ ...m, key: `ro:${m.seq}`, mine: m.senderId === me?.userId, attachments: undefined, content: m.content || (m.attachments || []).map((a) => `[${a.name}]`).join(' ') });
  const notes = ro.notes.map((m) => /** @type {ChatNote} */ ({ ...m, mine: m.senderId === me?.userId, kind: 'note' }));
  renderMessages(null, s, ro.messages.map(view).sort((a, b) => a.seq - b.seq), notes);
  $('typing').textContent = '';
  renderDetails(s);
}

/**
 * The conversation: messages and internal notes interleaved by time, with the session's events.
 * @param {RoomInfo|null} r (null: read-only) @param {SupportSession} s @param {ChatMessage[]} messages @param {ChatNote[]} notes
 */
function renderMessages(r, s, messages, notes) {
  if (!chat) return;
  const list = $('messages');
  const nearBottom = list.scrollHeight - list.scrollTop - list.clientHeight < 80;
  /** @type {{key: string, at: number, sig: string, make: () => HTMLElement}[]} */
  const items = [];
  for (const m of messages) {
    const who = m.mine ? 'You' : personName(s, m.senderId, m.senderName);
    const sig = `${m.seq}|${m.status}|${m.content}|${who}|${m.deletedAt || ''}|${m.error?.code || ''}|${m.attachments && files ? files.signature(m) : ''}`;
    items.push({ key: `m:${m.key}`, at: m.createdAt, sig, make: () => messageEl(m, who) });
  }
  for (const n of notes) {
    const who = n.mine ? 'You' : personName(s, n.senderId, n.senderName);
    items.push({ key: `note:${n.seq}`, at: n.createdAt, sig: `${n.content}|${who}`, make: () => noteEl(n, who) });
  }
  if (s.acceptedAt && s.operator) {
    const who = s.operator.userId === me?.userId ? 'You' : s.operator.name || s.operator.userId;
    items.push({ key: `n:joined`, at: s.acceptedAt, sig: who, make: () => h('li', { class: 'note' }, `${who} joined the conversation`) });
  }
  if (s.status === 'closed' && s.closedAt) {
    const by = s.closedBy === s.visitor.userId ? `${visitorName(s)} closed the conversation` : s.closedBy === me?.userId ? 'You closed the conversation' : 'The conversation was closed';
    items.push({ key: 'n:closed', at: s.closedAt, sig: by + (s.resolution || ''), make: () => h('li', { class: 'note' }, s.resolution ? `${by}: ${s.resolution}` : by) });
  }
  if (s.rating) {
    const text = `${visitorName(s)} rated it ${s.rating.score}/5`;
    items.push({ key: 'n:rated', at: s.rating.ratedAt, sig: text, make: () => h('li', { class: 'note' }, text) });
  }
  items.sort((a, b) => a.at - b.at);
  const keep = new Set();
  const wanted = [];
  for (const it of items) {
    let el = msgEls.get(it.key);
    if (!el || el.dataset.sig !== it.sig) {
      if (el && reads) reads.unobserve(el);
      el = it.make();
      el.dataset.sig = it.sig;
      msgEls.set(it.key, el);
      if (r && reads && el.dataset.seq && el.dataset.mine === 'false') reads.observe(el, r.roomId, Number(el.dataset.seq));
    }
    keep.add(it.key);
    wanted.push(el);
  }
  for (const [k, el] of msgEls) {
    if (!keep.has(k)) {
      reads?.unobserve(el);
      msgEls.delete(k);
    }
  }
  let i = 0;
  for (const el of wanted) {
    if (list.children[i] !== el) list.insertBefore(el, list.children[i] || null);
    i++;
  }
  while (list.children.length > wanted.length) list.lastElementChild?.remove();
  if (nearBottom || forceBottom) list.scrollTop = list.scrollHeight;
  forceBottom = false;
}

/** @param {ChatMessage} m @param {string} who */
function messageEl(m, who) {
  if (m.kind === 'system') return h('li', { class: 'note' }, m.content);
  const meta = h('div', { class: 'meta' }, h('time', { datetime: new Date(m.createdAt).toISOString() }, clock(m.createdAt)));
  if (m.mine && m.status) meta.append(ticks(m.status));
  const li = h(
    'li',
    { class: `msg${m.mine ? ' mine' : ''}`, dataset: { key: m.key, seq: m.seq ? String(m.seq) : '', mine: String(m.mine), status: m.status || '' } },
    m.mine ? null : h('span', { class: 'who' }, who),
    h(
      'div',
      { class: 'bubble' },
      m.attachments?.length && !m.deletedAt && files ? files.render(m) : null,
      m.content || m.deletedAt || !m.attachments?.length ? h('div', { class: 'content' }, m.deletedAt ? 'This message was deleted' : m.content) : null,
      meta,
    ),
    m.status === 'failed' && m.clientId ? failedEl(m, /** @type {string} */ (m.clientId)) : null,
  );
  if (!m.status) delete li.dataset.status;
  return li;
}

/** An internal note: visibly and audibly not a message to the visitor. @param {ChatNote} n @param {string} who */
function noteEl(n, who) {
  return h(
    'li',
    { class: `inote${n.mine ? ' mine' : ''}`, dataset: { noteSeq: String(n.seq) } },
    h('span', { class: 'inote-label' }, `Internal note · ${who}`, h('span', { class: 'sr-only' }, ' (not seen by the visitor)')),
    h('div', { class: 'content', dir: 'auto' }, n.content),
    h('div', { class: 'meta' }, h('time', { datetime: new Date(n.createdAt).toISOString() }, clock(n.createdAt))),
  );
}

/** Why a reply was not sent, Retry (only where trying again can succeed) and Discard. @param {ChatMessage} m @param {string} clientId */
function failedEl(m, clientId) {
  return h(
    'div',
    { class: 'failed' },
    `Not sent${m.error?.message ? ` (${m.error.message})` : ''}.`,
    canRetry(m.error) ? h('button', { type: 'button', class: 'link retry', onclick: () => chat?.retry(clientId) }, 'Retry') : null,
    h('button', { type: 'button', class: 'link discard', onclick: () => chat?.discard(clientId) }, 'Discard'),
  );
}

function renderTyping() {
  const el = $('typing');
  const t = chat && current ? chat.typers(current) : [];
  const s = current ? chat?.session(current) : undefined;
  const names = t.map((x) => (s ? personName(s, x.userId, x.name === x.userId ? '' : x.name) : x.name));
  el.textContent = names.length ? `${names.join(', ')} ${names.length > 1 ? 'are' : 'is'} typing…` : '';
}

/** @param {SupportSession} s */
function renderDetails(s) {
  const c = s.context || {};
  renderEarlier(s);
  $('ctx-name').textContent = visitorName(s);
  $('ctx-name').title = visitorName(s);
  const email = (c.attributes && c.attributes.email) || '';
  $('ctx-email-row').hidden = !email;
  $('ctx-email').replaceChildren(email && /^[^\s@<>]+@[^\s@<>]+$/.test(email) ? h('a', { href: `mailto:${email}`, title: email }, email) : email);
  $('ctx-id').textContent = s.visitor.userId;
  const page = $('ctx-page');
  page.replaceChildren();
  if (c.url && /^https?:\/\//.test(c.url)) page.append(h('a', { href: c.url, target: '_blank', rel: 'noopener noreferrer nofollow', title: c.url }, c.url));
  else page.textContent = '—';
  $('ctx-referrer').textContent = c.referrer || '—';
  $('ctx-locale').textContent = c.locale || '—';
  $('ctx-ua').textContent = c.userAgent || '—';
  $('ctx-started').textContent = `${new Date(s.createdAt).toLocaleString()}${s.acceptedAt ? ` · waited ${duration(s.acceptedAt - s.createdAt)}` : ''}`;
  const attrs = Object.entries(c.attributes || {});
  $('ctx-attrs').replaceChildren(...attrs.flatMap(([k, v]) => [h('dt', { class: 'wrap' }, k), h('dd', { class: 'wrap' }, v)]));
  $('ctx-attrs-empty').hidden = attrs.length > 0;
  const closed = s.status === 'closed';
  $('outcome').hidden = !closed;
  $('resolution').textContent = closed ? (s.resolution ? `Resolution: ${s.resolution}` : 'No resolution given.') : '';
  const rating = $('rating');
  rating.dataset.score = String(s.rating ? s.rating.score : 0);
  if (s.rating) {
    const score = h('div', {}, h('span', { class: 'stars', 'aria-hidden': 'true' }, stars(s.rating.score)), ' ', h('span', { class: 'score' }, `${s.rating.score}/5`));
    // (replaceChildren would write a null out as "null")
    rating.replaceChildren(...[score, s.rating.comment ? h('p', { class: 'comment' }, s.rating.comment) : null].filter((x) => x !== null));
  } else rating.replaceChildren(h('span', { class: 'muted small' }, closed ? 'Not rated (yet).' : ''));
}

// ------------------------------------------------------------------ composer and actions

const input = /** @type {HTMLTextAreaElement} */ ($('composer-input'));
/** @returns {'reply'|'note'} */
const composeMode = () => ($('composer-mode').querySelector('input:checked')?.value === 'note' ? 'note' : 'reply');
$('composer-mode').addEventListener('change', () => {
  const note = composeMode() === 'note';
  $('composer').classList.toggle('note-mode', note);
  $('composer-send').textContent = note ? 'Add note' : 'Send';
  input.placeholder = note ? 'Write an internal note… (only operators see it)' : 'Write a reply… (Enter sends, Shift+Enter: new line, / saved replies)';
  $('composer-input-label').textContent = note ? 'Internal note' : 'Message';
  input.focus();
});
// Saved replies: "/" and letters in the composer (before the Enter-sends handler: it takes Enter while open).
replyPicker({
  input,
  list: $('reply-list'),
  replies: () => replies,
  values: () => {
    const s = chat && current ? chat.session(current) : undefined;
    const email = (s?.context?.attributes && s.context.attributes.email) || '';
    return { 'visitor.name': visitorName(s), 'visitor.email': email, 'operator.name': me?.name || '' };
  },
});
$('composer').addEventListener('submit', (/** @type {Event} */ e) => {
  e.preventDefault();
  sendReply();
});
input.addEventListener('keydown', (e) => {
  if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
    e.preventDefault();
    sendReply();
  }
});
input.addEventListener('input', () => {
  input.style.height = 'auto';
  input.style.height = `${Math.min(160, input.scrollHeight + 2)}px`;
  // (a note is not the visitor's business: no typing while writing one)
  if (chat && current && input.value.trim() && composeMode() === 'reply') chat.typing(current);
});
input.addEventListener('blur', () => {
  if (chat && current) chat.stopTyping(current);
});

function sendReply() {
  if (!chat || !current) return;
  const text = input.value;
  if (!text.trim()) return;
  if (composeMode() === 'note') {
    const sid = current;
    input.value = '';
    input.style.height = 'auto';
    forceBottom = true;
    chat.sendNote(sid, text).catch((err) => {
      toast(`The note was not saved: ${why(err)}`);
      if (current === sid && !input.value) input.value = text;
    });
    return;
  }
  try {
    chat.send(current, text);
    input.value = '';
    input.style.height = 'auto';
    forceBottom = true;
  } catch (err) {
    toast(why(err));
  }
}

// Files: the paperclip, a drop on the conversation, a paste in the composer; checked against the
// server's limits before anything is uploaded.
$('attach').replaceChildren(clipIcon());
$('file-limits').textContent = describeLimits(UPLOAD_LIMITS);
$('attach').title = describeLimits(UPLOAD_LIMITS);
$('file-input').setAttribute('accept', UPLOAD_LIMITS.types.join(','));

/** Whether files can go to the open conversation now. */
function canAttach() {
  const s = chat && current ? chat.session(current) : undefined;
  return !!(chat && files && chat.opts.apiUrl && current && chat.room(current) && s && s.status !== 'closed');
}

/** A file that cannot be sent, said above the composer (no Retry: it cannot succeed). @param {string} text */
function fileProblem(text) {
  const el = $('file-error');
  el.hidden = !text;
  el.replaceChildren(...(text ? [h('p', {}, text), h('button', { type: 'button', class: 'link', onclick: () => fileProblem('') }, 'Dismiss')] : []));
}

/** @param {File[]} picked */
function sendFiles(picked) {
  if (!chat || !current) return;
  fileProblem('');
  const problems = [];
  for (const f of picked) {
    const refused = refuseFile(f, UPLOAD_LIMITS);
    if (refused) {
      problems.push(refused.message);
      continue;
    }
    try {
      chat.sendFile(current, f);
      forceBottom = true;
    } catch (err) {
      problems.push(`Cannot send ${f.name}: ${why(err)}`);
    }
  }
  if (problems.length) fileProblem(problems.join(' '));
}

takeFiles({ button: $('attach'), picker: $('file-input'), zone: $('conv'), hint: $('drop-hint'), input: $('composer-input'), enabled: canAttach, onFiles: sendFiles });

$('transfer-form').addEventListener('submit', async (/** @type {Event} */ e) => {
  e.preventDefault();
  if (!chat || !current) return;
  const to = $('transfer-to').value.trim();
  if (!to) return;
  const sid = current;
  const name = visitorName(chat.session(sid));
  $('transfer-button').disabled = true;
  try {
    const res = await chat.transferSession(sid, to);
    $('transfer-to').value = '';
    toast(`${name} was transferred to ${res.to.name || res.to.userId}.`);
    if (current === sid) closeSession();
  } catch (err) {
    toast(`Cannot transfer: ${why(err)}`);
  } finally {
    $('transfer-button').disabled = false;
  }
});

$('close-form').addEventListener('submit', async (/** @type {Event} */ e) => {
  e.preventDefault();
  if (!chat || !current) return;
  $('close-button').disabled = true;
  try {
    await chat.closeSession(current, $('close-resolution').value);
    $('close-resolution').value = '';
  } catch (err) {
    toast(`Cannot close: ${why(err)}`);
  } finally {
    $('close-button').disabled = false;
  }
});

// ------------------------------------------------------------------ availability and alerts

function renderAvailability() {
  const st = chat?.availability() || 'online';
  const b = $('availability');
  b.dataset.status = st;
  b.setAttribute('aria-checked', String(st === 'online'));
  $('availability-text').textContent = st === 'online' ? 'Online' : 'Away';
}

$('availability').addEventListener('click', async () => {
  if (!chat) return;
  const next = chat.availability() === 'away' ? 'online' : 'away';
  $('availability').disabled = true;
  try {
    await chat.operatorStatus(next);
    renderAvailability();
    announce(next === 'away' ? 'You are away: no new visitors are assigned to you.' : 'You are online.');
  } catch (err) {
    toast(`Cannot change your status: ${why(err)}`);
  } finally {
    $('availability').disabled = false;
  }
});

function renderNotifyButton() {
  const N = window.Notification;
  const b = $('notify-button');
  b.hidden = !N;
  if (!N) return;
  b.textContent = N.permission === 'granted' ? 'Desktop notifications: on' : N.permission === 'denied' ? 'Desktop notifications: blocked' : 'Desktop notifications';
  b.disabled = N.permission !== 'default';
}
// Asked from a click only, never on load.
$('notify-button').addEventListener('click', () => {
  window.Notification?.requestPermission().then(() => (renderNotifyButton(), enablePush()), renderNotifyButton);
});

/**
 * With notifications allowed, the console's browser also registers for Web Push (its own worker,
 * ./sw.js): an operator with no console open is told of a waiting visitor, and of visitors'
 * messages in their sessions. Best effort: a browser without push keeps the in-tab alerts.
 */
async function enablePush() {
  if (!chat || !chat.opts.apiUrl || window.Notification?.permission !== 'granted' || !navigator.serviceWorker) return;
  try {
    const reg = await navigator.serviceWorker.register('./sw.js');
    await chat.enablePush(reg);
  } catch (e) {
    console.warn('Web Push is not available here:', e);
  }
}
renderNotifyButton();

/**
 * Something happened while the tab is hidden: a desktop notification (when allowed), a beep and
 * "(n) Support console" in the title, until the tab is visible again.
 * @param {string} body @param {string|null} sessionId @param {boolean} [sound] (false: the caller beeped)
 */
function alertHidden(body, sessionId, sound = true) {
  hiddenAlerts++;
  updateTitle();
  if (sound) beep();
  const N = window.Notification;
  if (N && N.permission === 'granted') {
    try {
      const n = new N(BASE_TITLE, { body, tag: sessionId || 'queue' });
      n.onclick = () => {
        window.focus();
        if (sessionId && chat?.room(sessionId)) openSession(sessionId);
        n.close();
      };
    } catch {
      /* (some platforms only notify from a service worker) */
    }
  }
}
document.addEventListener('visibilitychange', () => {
  if (document.visibilityState === 'visible' && hiddenAlerts) {
    hiddenAlerts = 0;
    updateTitle();
  }
});

// ------------------------------------------------------------------ views

/** @param {'desk'|'reports'|'replies'} v */
function showView(v) {
  view = v;
  $('app').dataset.view = v;
  for (const [id, name] of [['view-desk', 'desk'], ['view-reports', 'reports'], ['view-replies', 'replies']]) $(id).setAttribute('aria-pressed', String(v === name));
  $('reports').hidden = v !== 'reports';
  $('replies-admin').hidden = v !== 'replies';
  if (v === 'reports' && !$('reports-body').childElementCount) loadReport();
  if (v === 'replies') renderRepliesAdmin();
}
$('view-desk').addEventListener('click', () => showView('desk'));
$('view-reports').addEventListener('click', () => showView('reports'));
$('view-replies').addEventListener('click', () => showView('replies'));

// ------------------------------------------------------------------ reports

{
  const w = lastWeek();
  $('reports-from').value = w.from;
  $('reports-to').value = w.to;
}
$('reports-form').addEventListener('submit', (/** @type {Event} */ e) => {
  e.preventDefault();
  loadReport();
});

async function loadReport() {
  if (!chat) return;
  const range = { from: $('reports-from').value, to: $('reports-to').value, operatorId: $('reports-operator').value.trim() || undefined };
  $('reports-status').textContent = 'Loading…';
  try {
    const r = await chat.supportReport(range);
    $('reports-body').replaceChildren(reportView(r, (id) => (id === me?.userId ? `${me.name} (you)` : chat?.nameOf(id) || id)));
    $('reports-status').textContent = `Report from ${r.from} to ${r.to}.`;
  } catch (err) {
    $('reports-status').textContent = `Cannot read the report: ${why(err)}`;
  }
}

// ------------------------------------------------------------------ saved replies

async function loadReplies() {
  if (!chat || !chat.opts.apiUrl) return;
  try {
    replies = await chat.savedReplies();
    if (view === 'replies') renderRepliesAdmin();
  } catch (err) {
    if (/** @type {any} */ (err).code !== 'offline') toast(`Cannot read the saved replies: ${why(err)}`);
  }
}

function renderRepliesAdmin() {
  $('replies-manage').replaceChildren(
    ...replies.map((r) =>
      h(
        'li',
        { class: 'reply-row', dataset: { shortcut: r.shortcut } },
        h('div', { class: 'reply-head' }, h('strong', {}, `/${r.shortcut}`), r.title ? h('span', { class: 'muted' }, ` · ${r.title}`) : null),
        h('p', { class: 'reply-body' }, r.text),
        h(
          'div',
          { class: 'row' },
          h('button', { type: 'button', class: 'link', 'aria-label': `Edit /${r.shortcut}`, onclick: () => editReply(r) }, 'Edit'),
          h('button', { type: 'button', class: 'link danger-link', 'aria-label': `Delete /${r.shortcut}`, onclick: () => removeReply(r) }, 'Delete'),
        ),
      ),
    ),
  );
  $('replies-status').textContent = replies.length ? `${replies.length} saved repl${replies.length === 1 ? 'y' : 'ies'}.` : 'No saved replies yet.';
}

/** @param {SavedReply|null} r */
function editReply(r) {
  $('reply-id').value = r ? r.id : '';
  $('reply-shortcut').value = r ? r.shortcut : '';
  $('reply-title').value = r ? r.title || '' : '';
  $('reply-text').value = r ? r.text : '';
  $('reply-save').textContent = r ? 'Save' : 'Add';
  $('reply-cancel').hidden = !r;
  if (r) $('reply-shortcut').focus();
}
$('reply-cancel').addEventListener('click', () => editReply(null));

/** @param {SavedReply} r */
async function removeReply(r) {
  if (!chat || !window.confirm(`Delete the saved reply /${r.shortcut}?`)) return;
  try {
    await chat.deleteReply(r.id);
    await loadReplies();
    renderRepliesAdmin();
  } catch (err) {
    toast(`Cannot delete: ${why(err)}`);
  }
}

$('reply-form').addEventListener('submit', async (/** @type {Event} */ e) => {
  e.preventDefault();
  if (!chat) return;
  try {
    await chat.saveReply({ id: $('reply-id').value || undefined, shortcut: $('reply-shortcut').value.trim(), title: $('reply-title').value.trim(), text: $('reply-text').value });
    editReply(null);
    await loadReplies();
    renderRepliesAdmin();
  } catch (err) {
    $('replies-status').textContent = `Not saved: ${why(err)}`;
  }
});

// ------------------------------------------------------------------ search and earlier sessions

/** A snippet with its matches marked (text nodes and <mark>s). @param {string} snippet @param {number[][]} highlights */
function marked(snippet, highlights) {
  /** @type {(string|HTMLElement)[]} */
  const parts = [];
  let at = 0;
  for (const [a, b] of [...(highlights || [])].sort((x, y) => x[0] - y[0])) {
    if (a < at) continue;
    parts.push(snippet.slice(at, a), h('mark', {}, snippet.slice(a, b)));
    at = b;
  }
  parts.push(snippet.slice(at));
  return parts;
}

/** @param {SupportSession} s @param {string} text */
function sessionLink(s, text) {
  return h(
    'li',
    { class: 'search-session', dataset: { sessionId: s.sessionId } },
    h('button', { type: 'button', class: 'session-button', onclick: () => openAny(s.sessionId, s) }, h('span', { class: 's-name', dir: 'auto' }, visitorName(s)), h('span', { class: 's-preview' }, text)),
  );
}

/** `rated ★★★★☆` or the status, and the day. @param {SupportSession} s */
function sessionLine(s) {
  return `${new Date(s.createdAt).toLocaleDateString()} · ${s.status}${s.rating ? ` · ${stars(s.rating.score)}` : ''}`;
}

$('search-form').addEventListener('submit', async (/** @type {Event} */ e) => {
  e.preventDefault();
  const q = $('search-input').value.trim();
  if (!chat || !q) return;
  $('search-section').hidden = false;
  $('search-status').textContent = 'Searching…';
  const [hits, sessions] = await Promise.all([
    chat.search(q, { limit: 20 }).catch((err) => ({ error: why(err), results: [] })),
    // (the server may not list sessions by visitor yet: then only messages and notes)
    chat.supportSessions({ q }).catch(() => []),
  ]);
  $('search-sessions').replaceChildren(...sessions.map((s) => sessionLink(s, `Visitor · ${sessionLine(s)}`)));
  $('search-results').replaceChildren(
    ...hits.results.map((hit) => {
      const m = hit.message;
      const s = chat?.session(m.roomId);
      const note = m.kind === 'note';
      return h(
        'li',
        { class: `search-hit${note ? ' is-note' : ''}`, dataset: { sessionId: m.roomId, kind: m.kind } },
        h(
          'button',
          { type: 'button', class: 'session-button', onclick: () => openAny(m.roomId, s) },
          h('span', { class: 's-name', dir: 'auto' }, s ? visitorName(s) : 'Conversation'),
          h('span', { class: 'hit-snippet', dir: 'auto' }, note ? h('span', { class: 'hit-kind' }, 'Note: ') : null, ...marked(hit.snippet, hit.highlights)),
        ),
      );
    }),
  );
  const n = hits.results.length + sessions.length;
  $('search-status').textContent = 'error' in hits && hits.error ? `Cannot search: ${hits.error}` : n ? `${n} result${n === 1 ? '' : 's'}.` : 'Nothing found.';
});
$('search-clear').addEventListener('click', () => {
  $('search-section').hidden = true;
  $('search-input').value = '';
  $('search-results').replaceChildren();
  $('search-sessions').replaceChildren();
});

/**
 * Opens a session: live when this console holds its room, else read-only (its messages and notes
 * read through REST). @param {string} sessionId @param {SupportSession} [known]
 */
async function openAny(sessionId, known) {
  showView('desk');
  if (!chat) return;
  if (chat.room(sessionId)) {
    readonly = null;
    openSession(sessionId);
    return;
  }
  const session = known || chat.session(sessionId);
  if (!session) {
    toast('That conversation cannot be opened here.');
    return;
  }
  try {
    const [msgs, notes] = await Promise.all([chat.readMessages(sessionId), chat.readMessages(sessionId, { notes: true }).catch(() => ({ messages: [] }))]);
    readonly = { session, messages: msgs.messages || [], notes: notes.messages || [] };
    if (current && current !== sessionId) chat.stopTyping(current);
    current = sessionId;
    msgEls = new Map();
    $('messages').replaceChildren();
    reads?.disconnect();
    reads = null;
    forceBottom = true;
    $('app').classList.add('has-session');
    renderLists();
    renderConversation();
  } catch (err) {
    toast(`Cannot open it: ${why(err)}`);
  }
}
$('readonly-close').addEventListener('click', () => {
  readonly = null;
  closeSession();
});

/** @type {string} the visitor whose earlier sessions are listed */
let earlierFor = '';
/** The visitor's other sessions, newest first, in the details pane. @param {SupportSession} s */
async function renderEarlier(s) {
  const key = `${s.visitor.userId}|${s.sessionId}`;
  if (!chat || earlierFor === key) return;
  earlierFor = key;
  $('earlier-list').replaceChildren();
  $('earlier-empty').textContent = 'Loading…';
  $('earlier-empty').hidden = false;
  /** @type {SupportSession[]} */
  let list = [];
  try {
    list = (await chat.supportSessions({ visitorId: s.visitor.userId })).filter((x) => x.sessionId !== s.sessionId);
  } catch {
    list = [];
  }
  if (earlierFor !== key) return;
  $('earlier-list').replaceChildren(...list.map((x) => sessionLink(x, sessionLine(x))));
  $('earlier-empty').textContent = 'None.';
  $('earlier-empty').hidden = list.length > 0;
}

// ------------------------------------------------------------------ boot

try {
  const saved = JSON.parse(sessionStorage.getItem(SESSION_KEY) || 'null');
  if (saved && saved.userId && saved.wsUrl) {
    me = saved;
    start();
  } else showSignIn();
} catch {
  showSignIn();
}
