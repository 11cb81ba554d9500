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

/** @typedef {import('../sdk/chat.js').ChatMessage} ChatMessage */
/** @typedef {import('../sdk/chat.js').RoomInfo} RoomInfo */
/** @typedef {import('../sdk/chat.js').SupportSession} SupportSession */
/** @typedef {import('../sdk/chat.js').SupportQueue} SupportQueue */

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
/** @type {{userId: string, name: string, wsUrl: string, apiUrl?: string, token?: string, dev: boolean}|null} */
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
  if (c.role !== 'operator') {
    $('signin-error').textContent = `This token's role is ${c.role || 'user'}; the console needs role "operator".`;
    return;
  }
  if (!/^wss?:\/\//.test(wsUrl)) {
    $('signin-error').textContent = 'The WebSocket URL starts with wss:// (or ws:// locally).';
    return;
  }
  const apiUrl = $('token-api').value.trim();
  me = { userId: c.sub, name: c.name || c.sub, wsUrl, apiUrl: /^https?:\/\//.test(apiUrl) ? apiUrl : undefined, token, dev: false };
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
  files = attachmentViews(c, { container: () => document.body, onError: (text) => toast(text) });
  /** @type {any} */ (window).supportConsole = { get chat() { return chat; }, get current() { return current; }, get me() { return me; }, get alerts() { return alerts; } };
  c.on('state', (st) => {
    conn = st;
    renderConnection();
  });
  c.on('ready', () => {
    renderConnection();
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
    if (m.status === 'failed') toast(`A message could not be sent: ${m.error?.message || 'no answer'}.`);
  });
  c.on('messages', ({ roomId }) => {
    scheduleLists();
    if (roomId === current) scheduleConversation();
  });
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
  const r = chat && current ? chat.room(current) : undefined;
  const s = r?.session;
  const open = !!(r && s);
  $('no-session').hidden = open;
  for (const id of ['conv-header', 'messages', 'typing', 'details']) $(id).hidden = !open;
  $('app').classList.toggle('no-details', !open);
  if (!open || !chat || !r || !s) {
    $('composer').hidden = true;
    $('composer-closed').hidden = true;
    return;
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
  $('composer-closed').hidden = s.status !== 'closed';
  $('attach').hidden = !canAttach();
  if (s.status === 'closed') fileProblem('');
  renderMessages(r, s);
  renderTyping();
  renderDetails(s);
}

/** @param {RoomInfo} r @param {SupportSession} s */
function renderMessages(r, s) {
  if (!chat) return;
  const list = $('messages');
  const nearBottom = list.scrollHeight - list.scrollTop - list.clientHeight < 80;
  /** @type {{key: string, at: number, sig: string, make: () => HTMLElement}[]} */
  const items = [];
  for (const m of chat.messages(r.roomId)) {
    const who = m.mine ? 'You' : personName(s, m.senderId, m.senderName);
    const sig = `${m.seq}|${m.status}|${m.content}|${who}|${m.deletedAt || ''}|${m.error?.code || ''}|${m.attachments && files ? files.signature(m) : ''}`;
    items.push({ key: `m:${m.key}`, at: m.createdAt, sig, make: () => messageEl(m, who) });
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
      if (reads && el.dataset.seq && el.dataset.mine === 'false') reads.observe(el, r.roomId, Number(el.dataset.seq));
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
  if (chat && current && input.value.trim()) chat.typing(current);
});
input.addEventListener('blur', () => {
  if (chat && current) chat.stopTyping(current);
});

function sendReply() {
  if (!chat || !current) return;
  const text = input.value;
  if (!text.trim()) return;
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
