/*
 * panel.js: the support widget's panel, everything but the launcher: the conversation, the socket
 * (through the SDK), files, the rating, the pre-chat and e-mail forms, the unread badge. widget.js
 * (the launcher) loads it with import() when the visitor opens the widget or a conversation is open;
 * scripts/build-web.sh bundles it into web/dist/widget-panel.js, an ES module.
 */
import * as SDK from '../sdk/chat.js';
import { attachmentViews, clipIcon, takeFiles } from '../sdk/attachments.js';
import { canRetry } from '../sdk/codes.js';
import { announcer, h, svg, ticks } from '../sdk/dom.js';
import { UPLOAD_LIMITS, describeLimits, refuseFile } from '../sdk/files.js';
import { subject } from '../sdk/jwt.js';
import { openNow } from './hours.js';
import { RTL, pickLanguage, translator } from './i18n.js';

/**
 * Starts the panel: called by the launcher (widget.js) once the visitor opens the widget or a
 * conversation is open. It takes over the launcher's global, its queued calls and its settings,
 * and puts its own bubble where the launcher's was.
 * @param {{script: HTMLScriptElement|null, data: Record<string, string|undefined>, existing: any, isQueue: boolean, queue: any[], host: HTMLElement, getSettings: () => Record<string, any>, fresh: Promise<void>}} ctx
 */
export function start(ctx) {
  const script = ctx.script;
  const data = ctx.data;
  // The global the API goes to: data-global, else ChatWidget. A page's own object of that name
  // (anything but our command queue, {q: [...]}) is left alone: then the API has no global (it is
  // still on the element, document.querySelector('chat-support-widget').api) and the console says so.
  const GLOBAL = /^[A-Za-z_$][\w$]{0,63}$/.test(data.global || '') ? String(data.global) : 'ChatWidget';
  const w = /** @type {any} */ (window);
  const existing = ctx.existing;
  const isQueue = ctx.isQueue;

  const scriptUrl = new URL((script && script.src) || location.href, location.href);
  const CHAT_ORIGIN = scriptUrl.origin;
  const CHAT_URL = String(data.chatUrl || CHAT_ORIGIN + '/api').replace(/\/+$/, '');
  const WS_URL_ATTR = data.wsUrl || '';
  const COLOR = /^#(?:[0-9a-f]{3}|[0-9a-f]{6})$/i;
  /** What an attachment may be: the server's limits, or a smaller size the site asks for. */
  const MAX_FILE_MB = Number(data.maxFileMb);
  const LIMITS = { ...UPLOAD_LIMITS, maxBytes: MAX_FILE_MB > 0 ? Math.min(UPLOAD_LIMITS.maxBytes, Math.round(MAX_FILE_MB * 1e6)) : UPLOAD_LIMITS.maxBytes };

  const STORE_KEY = `chat.widget.v1|${CHAT_URL}`;
  const OPEN_KEY = `chat.widget.open|${CHAT_URL}`;
  /** Set (in localStorage) while this browser has an open conversation: only then a closed widget connects. */
  const SESSION_KEY = `chat.widget.session|${CHAT_URL}`;
  /** A closed, rated conversation still shows (with its thanks) this long after it ended. */
  const KEEP_CLOSED_MS = 60 * 60 * 1000;
  /** Guest tokens are renewed when they have less than this left. */
  const TOKEN_MARGIN_MS = 5 * 60 * 1000;

  // ------------------------------------------------------------------ small helpers

  /** Says something to screen readers (the panel's live region). */
  const announce = announcer(() => ui.live);

  /** @param {string} s @param {number} n */
  const cut = (s, n) => [...s].slice(0, n).join('');

  /** @param {'local'|'session'} kind */
  function storage(kind) {
    try {
      const s = kind === 'local' ? window.localStorage : window.sessionStorage;
      const k = '__chat_widget_probe';
      s.setItem(k, '1');
      s.removeItem(k);
      return s;
    } catch {
      const m = new Map();
      return { getItem: (/** @type {string} */ k) => (m.has(k) ? m.get(k) : null), setItem: (/** @type {string} */ k, /** @type {string} */ v) => void m.set(k, String(v)), removeItem: (/** @type {string} */ k) => void m.delete(k) };
    }
  }
  const local = storage('local');
  const tabStore = storage('session');

  // ------------------------------------------------------------------ settings and language

  /** @type {Record<string, any>} the site's settings (GET {chat-url}/support/settings), cached in localStorage */
  let settings = ctx.getSettings();
  let lang = 'en';
  let t = translator('en');
  let TITLE = '';
  let GREETING = '';
  let ACCENT = '';
  let LAUNCHER = '';
  let AVATAR_URL = '';
  let LEFT = false;
  let timeFormat = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit' });
  /** @type {Intl.NumberFormat|null} */
  let minutes = null;
  /** The next opening, in the visitor's own time zone and language. */
  let whenFormat = new Intl.DateTimeFormat(undefined, { weekday: 'long', hour: '2-digit', minute: '2-digit' });
  /** What the widget does outside business hours: message, email or hide. */
  let AWAY = 'message';

  /** What the page shows, from its tag's data-* (first), the site's settings, then the defaults. */
  function configure() {
    const s = settings;
    const str = (/** @type {any} */ v, /** @type {number} */ n) => (typeof v === 'string' && v.trim() ? cut(v.trim(), n) : '');
    const picked = pickLanguage([data.locale, s.defaultLanguage, document.documentElement.lang, navigator.language]);
    lang = picked.lang;
    const texts = s.texts && typeof s.texts === 'object' && s.texts[lang] && typeof s.texts[lang] === 'object' ? s.texts[lang] : {};
    t = translator(lang, texts);
    TITLE = str(data.title, 60) || str(s.teamName, 60) || t('support');
    GREETING = str(data.greeting, 400) || str(texts.greeting, 400) || str(s.greeting, 400) || t('greeting');
    ACCENT = COLOR.test(data.color || '') ? String(data.color) : COLOR.test(s.brandColor || '') ? s.brandColor : '#2563eb';
    LEFT = (data.position || s.position) === 'left';
    LAUNCHER = str(data.launcherLabel, 40) || str(s.launcherLabel, 40);
    AWAY = ['email', 'hide'].includes(s.awayBehavior) ? s.awayBehavior : 'message';
    AVATAR_URL = typeof s.teamAvatarUrl === 'string' && /^https:\/\/[^\s]+$/.test(s.teamAvatarUrl) ? s.teamAvatarUrl : '';
    try {
      timeFormat = new Intl.DateTimeFormat(picked.locale, { hour: '2-digit', minute: '2-digit' });
      minutes = new Intl.NumberFormat(picked.locale, { style: 'unit', unit: 'minute', unitDisplay: 'long' });
      whenFormat = new Intl.DateTimeFormat(picked.locale, { weekday: 'long', hour: '2-digit', minute: '2-digit' });
    } catch {
      minutes = null;
    }
  }
  configure();

  /** The site's settings, fresh: the launcher's request (widget.js) asks for them, once a page. */
  async function loadSettings() {
    await ctx.fresh;
    const next = ctx.getSettings();
    if (JSON.stringify(next) === JSON.stringify(settings)) return;
    settings = next;
    configure();
    relabel();
  }

  function loadStore() {
    try {
      const v = JSON.parse(local.getItem(STORE_KEY) || '{}');
      return v && typeof v === 'object' ? v : {};
    } catch {
      return {};
    }
  }
  /** @param {Record<string, any>} patch */
  function saveStore(patch) {
    try {
      local.setItem(STORE_KEY, JSON.stringify({ ...loadStore(), ...patch }));
    } catch {
      /* full or refused: this page still works */
    }
  }

  /** What the visitor told about themselves (the pre-chat or the away e-mail form), kept in localStorage. @returns {Record<string, string>|null} */
  function ident() {
    const v = loadStore().identity;
    return v && typeof v === 'object' ? v : null;
  }
  /** The visitor's name: the site's (setUser), else the pre-chat form's. */
  const visitorName = () => String(user.name || (ident() || {}).name || '').trim();
  /** Open now by the site's business hours (and the next opening), at the browser's clock. */
  const hoursNow = () => openNow(settings.businessHours, Date.now());

  /** An icon from fixed path data (never user content). @param {string[]} paths @param {number} [size] */
  function icon(paths, size = 24) {
    const stroke = { fill: 'none', stroke: 'currentColor', 'stroke-width': '2', 'stroke-linecap': 'round', 'stroke-linejoin': 'round' };
    const el = svg('svg', { viewBox: '0 0 24 24', width: String(size), height: String(size), 'aria-hidden': 'true', focusable: 'false' });
    el.append(...paths.map((d) => svg('path', { d, ...stroke })));
    return el;
  }
  const ICON_CHAT = ['M21 12a8 8 0 0 1-11.6 7.1L4 20.5l1.4-4.9A8 8 0 1 1 21 12z'];
  const ICON_CLOSE = ['M6 6l12 12M18 6L6 18'];
  const ICON_DOWN = ['M6 9l6 6 6-6'];
  const ICON_SEND = ['M4 12l16-8-6 16-2.5-6.5z', 'M11.5 13.5L20 4'];

  /** @param {number} seconds */
  function waitText(seconds) {
    if (!(seconds > 0)) return '';
    if (seconds < 60) return t('lessMinute');
    const m = Math.round(seconds / 60);
    return t('about', { d: minutes ? minutes.format(m) : String(m) });
  }


  // ------------------------------------------------------------------ state

  /** @type {any} the SDK module */
  let sdk = null;
  /** @type {any} the ChatClient */
  let chat = null;
  /** @type {ReturnType<typeof attachmentViews>|null} thumbnails, file cards, uploads of `chat` */
  let files = null;
  let everReady = false;
  let connectRequested = false;
  /** @type {{id?: string, name?: string, email?: string, token?: string | (() => string | Promise<string>), wsUrl?: string}} */
  let user = {};
  /** @type {Record<string, string>} */
  let attributes = {};
  let guestId = typeof loadStore().guestId === 'string' ? loadStore().guestId : '';
  /** @type {{token: string, expiresAt: number, wsUrl: string, used: boolean, worked: boolean}|null} */
  let guest = null;
  let guestName = '';
  let isOpen = false;
  let loadError = '';
  /** @type {string|null} the session shown */
  let sessionId = null;
  /** @type {number} operators online, from session.started / queue.position */
  let operatorsOnline = -1;
  /** The first message, while its session does not exist (or its room is not held) yet. */
  /** @type {{clientId: string, content: string, createdAt: number, status: 'sending'|'failed', error?: string}|null} */
  let startPending = null;
  let starting = false;
  /** @type {{key: string, content: string, createdAt: number}[]} messages written before the room was held */
  let heldBack = [];
  /** Sessions resumed on the current connection. */
  let resumedOn = -1;
  let connectionCount = 0;
  /** @type {Set<string>} history asked for */
  const historyAsked = new Set();
  /** @type {'form'|'sending'|'thanks'} */
  let ratingStep = 'form';
  let ratingError = '';
  /** @type {Map<string, Set<(arg: any) => void>>} */
  const handlers = new Map();
  let lastState = '';

  /** @param {string} event @param {any} arg */
  function emit(event, arg) {
    for (const fn of [...(handlers.get(event) || [])]) {
      try {
        fn(arg);
      } catch (e) {
        setTimeout(() => {
          throw e;
        });
      }
    }
  }

  // ------------------------------------------------------------------ DOM

  const CSS = `
:host {
  all: initial !important;
  display: block !important;
  position: fixed !important;
  right: 0 !important;
  bottom: 0 !important;
  width: 0 !important;
  height: 0 !important;
  margin: 0 !important;
  padding: 0 !important;
  border: 0 !important;
  z-index: 2147483000 !important;
  visibility: visible !important;
  opacity: 1 !important;
  transform: none !important;
  pointer-events: none !important;
}
*, *::before, *::after { box-sizing: border-box; }
[hidden] { display: none !important; }
.root {
  --accent: #2563eb;
  font-family: system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
  font-size: 14px; line-height: 20px; font-weight: 400; font-style: normal;
  color: #1f2328; text-align: start; direction: ltr; letter-spacing: normal; text-transform: none;
  -webkit-font-smoothing: antialiased;
}
button, input, textarea, select { font-family: inherit; font-size: 14px; line-height: 20px; color: inherit; margin: 0; }
button { cursor: pointer; }
.sr-only { position: absolute !important; width: 1px; height: 1px; margin: -1px; padding: 0; overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; border: 0; }

.bubble {
  position: fixed; inset: auto 20px 20px auto; margin: 0; overflow: visible; width: 60px; height: 60px; border-radius: 30px;
  border: 0; padding: 0; background: var(--accent); color: #fff; pointer-events: auto; gap: 8px;
  display: flex; align-items: center; justify-content: center;
  box-shadow: 0 6px 18px rgba(0,0,0,.22), 0 2px 4px rgba(0,0,0,.12);
  transition: transform .15s ease;
}
.bubble:hover { transform: scale(1.05); }
.bubble.labelled { width: auto; padding: 0 20px 0 16px; font-size: 15px; line-height: 20px; font-weight: 600; white-space: nowrap; }
.root.left .bubble { inset: auto auto 20px 20px; }
.root.left .panel { inset: auto auto 92px 20px; }
.bubble:focus-visible { outline: 3px solid #fff; box-shadow: 0 0 0 6px var(--accent); }
.badge {
  position: absolute; top: -4px; right: -4px; min-width: 22px; height: 22px; padding: 0 6px;
  border-radius: 11px; background: #d1242f; color: #fff; font-size: 12px; line-height: 22px;
  font-weight: 700; text-align: center; border: 2px solid #fff;
}

.panel {
  position: fixed; inset: auto 20px 92px auto; margin: 0; padding: 0; border: 0; color: #1f2328; width: 376px; height: 600px;
  max-height: calc(100vh - 112px); pointer-events: auto;
  display: flex; flex-direction: column; overflow: hidden;
  background: #fff; border-radius: 16px;
  box-shadow: 0 12px 40px rgba(0,0,0,.22), 0 2px 8px rgba(0,0,0,.1);
}
.panel:focus { outline: none; }
.head {
  flex: none; display: flex; align-items: center; gap: 10px; padding: 14px 12px 14px 16px;
  background: var(--accent); color: #fff;
}
.avatar img { width: 100%; height: 100%; border-radius: 50%; object-fit: cover; }
.avatar {
  flex: none; overflow: hidden; width: 36px; height: 36px; border-radius: 18px; background: rgba(255,255,255,.22);
  display: flex; align-items: center; justify-content: center; font-size: 16px; line-height: 20px; font-weight: 700;
}
.head-text { flex: 1; min-width: 0; display: flex; flex-direction: column; }
.title { margin: 0; font-size: 16px; line-height: 22px; font-weight: 650; white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }
.sub { font-size: 12px; line-height: 16px; opacity: .92; white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }
.icon-button {
  flex: none; width: 34px; height: 34px; border-radius: 8px; border: 0; padding: 0; background: transparent; color: inherit;
  display: flex; align-items: center; justify-content: center;
}
.icon-button:hover { background: rgba(255,255,255,.18); }
.icon-button:focus-visible { outline: 2px solid #fff; outline-offset: -2px; }
.end-button {
  flex: none; height: 28px; padding: 0 10px; border-radius: 14px; border: 1px solid rgba(255,255,255,.6);
  background: transparent; color: #fff; font-size: 12px; line-height: 16px;
}
.end-button:hover { background: rgba(255,255,255,.18); }

.notice { flex: none; padding: 10px 16px; font-size: 13px; line-height: 18px; border-bottom: 1px solid #e6e8eb; background: #f6f8fa; color: #3d444d; }
.notice.away { background: #fff8e6; color: #5c4400; }
.notice strong { font-weight: 650; }

.list-wrap { flex: 1; min-height: 0; position: relative; display: flex; flex-direction: column; }
.list { flex: 1; min-height: 0; overflow-y: auto; margin: 0; padding: 16px 14px 8px; list-style: none; background: #fbfbfc; overscroll-behavior: contain; }
.greeting { margin: 0 0 12px; padding: 12px 14px; border-radius: 12px; background: #eef2ff; color: #1f2a5a; font-size: 14px; line-height: 20px; white-space: pre-wrap; overflow-wrap: anywhere; }
.msg { display: flex; flex-direction: column; align-items: flex-start; margin: 0 0 8px; }
.msg.mine { align-items: flex-end; }
.who { font-size: 12px; line-height: 16px; color: #59636e; margin: 0 4px 2px; }
.text {
  max-width: 82%; padding: 8px 12px; border-radius: 14px; border-bottom-left-radius: 4px;
  background: #fff; border: 1px solid #e3e6ea; font-size: 14px; line-height: 20px;
  white-space: pre-wrap; overflow-wrap: anywhere; word-break: normal; text-align: start;
}
.msg.mine .text { background: var(--accent); color: #fff; border-color: transparent; border-bottom-left-radius: 14px; border-bottom-right-radius: 4px; }
.meta { display: flex; align-items: center; gap: 4px; font-size: 11px; line-height: 14px; color: #59636e; margin: 3px 4px 0; }
.ticks { display: inline-flex; color: #8c959f; }
.ticks[data-status="read"] { color: var(--accent); }
.ticks[data-status="failed"] { color: #d1242f; }
.note { text-align: center; margin: 6px 0 12px; font-size: 12px; line-height: 16px; color: #59636e; }
.failed-text { color: #d1242f; }

.typing { flex: none; height: 22px; padding: 2px 16px; font-size: 12px; line-height: 18px; color: #59636e; font-style: italic; background: #fbfbfc; white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }

.composer { flex: none; display: flex; align-items: flex-end; gap: 6px; padding: 10px 10px 10px 12px; border-top: 1px solid #e6e8eb; background: #fff; }
.composer textarea {
  flex: 1; min-width: 0; resize: none; height: 40px; max-height: 120px; padding: 9px 12px; border-radius: 20px;
  border: 1px solid #d0d7de; background: #fff; outline: none; font-size: 14px; line-height: 20px;
}
.composer textarea:focus { border-color: var(--accent); box-shadow: 0 0 0 3px rgba(37,99,235,.15); }
.send {
  flex: none; width: 40px; height: 40px; border-radius: 20px; border: 0; padding: 0; background: var(--accent); color: #fff;
  display: flex; align-items: center; justify-content: center;
}
.send:disabled { opacity: .45; cursor: default; }
.send:focus-visible, .attach:focus-visible { outline: 2px solid var(--accent); outline-offset: 2px; }
.attach { flex: none; width: 40px; height: 40px; border-radius: 20px; border: 0; padding: 0; background: transparent; color: #59636e; display: flex; align-items: center; justify-content: center; }
.attach:hover { background: #f0f2f4; }
.attach:disabled { opacity: .4; cursor: default; }

.attachments { display: flex; flex-direction: column; gap: 6px; max-width: 82%; min-width: 0; }
.msg.mine .attachments { align-items: flex-end; }
.attachments + .text { margin-top: 4px; }
.thumb { display: block; padding: 0; border: 1px solid #e3e6ea; border-radius: 12px; overflow: hidden; background: #e6e8eb; max-width: 100%; }
.thumb img { display: block; width: 100%; height: 100%; object-fit: cover; }
.thumb:focus-visible, .file-card:focus-visible, .link:focus-visible { outline: 2px solid var(--accent); outline-offset: 2px; }
.file-card {
  display: grid; grid-template-columns: auto minmax(0, 1fr); gap: 10px; align-items: center; text-align: left;
  width: 240px; max-width: 100%; padding: 8px 10px; border-radius: 12px; border: 1px solid #e3e6ea; background: #fff; color: #1f2328;
}
.file-card:disabled { cursor: default; }
.file-icon { width: 34px; height: 40px; border-radius: 6px; display: flex; align-items: center; justify-content: center; font-size: 10px; line-height: 12px; font-weight: 800; color: #fff; background: #59636e; }
.file-icon[data-type="pdf"] { background: #b91c1c; }
.file-icon[data-type="doc"] { background: #1d4ed8; }
.file-icon[data-type="sheet"] { background: #15803d; }
.file-icon[data-type="slides"] { background: #c2410c; }
.file-icon[data-type="image"] { background: #7c3aed; }
.file-text { display: flex; flex-direction: column; min-width: 0; }
.file-name { font-weight: 600; white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }
.file-size { font-size: 12px; line-height: 16px; color: #59636e; }
.upload { display: flex; align-items: center; gap: 6px; font-size: 12px; line-height: 16px; color: #59636e; }
.upload progress { width: 120px; height: 8px; accent-color: var(--accent); }
.link { border: 0; padding: 0 2px; background: none; color: #1d4ed8; text-decoration: underline; font-size: 12px; line-height: 16px; }
.drop-hint {
  position: absolute; inset: 8px; display: flex; flex-direction: column; align-items: center; justify-content: center; gap: 4px;
  border: 3px dashed var(--accent); border-radius: 14px; background: rgba(239,246,255,.94); color: #1e3a8a;
  font-size: 15px; line-height: 20px; font-weight: 600; text-align: center; padding: 16px; pointer-events: none; z-index: 2;
}
.drop-hint small { font-size: 12px; line-height: 16px; font-weight: 400; }
.file-error { flex: none; display: flex; align-items: flex-start; gap: 8px; padding: 8px 12px; border-top: 1px solid #f3c5c8; background: #fff5f5; color: #a40e26; font-size: 13px; line-height: 18px; }
.file-error p { flex: 1; margin: 0; overflow-wrap: anywhere; }
.file-error button { flex: none; border: 0; background: none; color: inherit; padding: 0 4px; font-size: 13px; line-height: 18px; text-decoration: underline; }

.closed { flex: none; padding: 14px 16px 16px; border-top: 1px solid #e6e8eb; background: #fff; }
.closed p { margin: 0 0 10px; font-size: 14px; line-height: 20px; }
.closed fieldset { border: 0; margin: 0; padding: 0; min-width: 0; }
.closed legend { padding: 0; margin: 0 0 8px; font-size: 14px; line-height: 20px; font-weight: 650; }
.stars { display: flex; gap: 4px; margin: 0 0 10px; }
.star { position: relative; }
.star input { position: absolute; opacity: 0; width: 1px; height: 1px; margin: 0; }
.star label { display: block; width: 40px; height: 40px; border-radius: 8px; border: 1px solid #d0d7de; font-size: 22px; line-height: 38px; text-align: center; color: #c3c9d0; cursor: pointer; user-select: none; }
.star input:checked + label, .stars[data-score="2"] .star:nth-child(-n+2) label, .stars[data-score="3"] .star:nth-child(-n+3) label,
.stars[data-score="4"] .star:nth-child(-n+4) label, .stars[data-score="5"] .star:nth-child(-n+5) label, .stars[data-score="1"] .star:nth-child(1) label { color: #e3a008; border-color: #e3a008; background: #fffbeb; }
.star input:focus-visible + label { outline: 2px solid var(--accent); outline-offset: 2px; }
.closed textarea { display: block; width: 100%; height: 60px; resize: none; padding: 8px 10px; border-radius: 8px; border: 1px solid #d0d7de; margin: 0 0 10px; font-size: 14px; line-height: 20px; background: #fff; outline: none; }
.closed textarea:focus { border-color: var(--accent); box-shadow: 0 0 0 3px rgba(37,99,235,.15); }
.row { display: flex; gap: 8px; flex-wrap: wrap; }
.primary { height: 36px; padding: 0 16px; border-radius: 18px; border: 0; background: var(--accent); color: #fff; font-weight: 600; }
.primary:disabled { opacity: .5; cursor: default; }
.secondary { height: 36px; padding: 0 14px; border-radius: 18px; border: 1px solid #d0d7de; background: #fff; color: #1f2328; }
.primary:focus-visible, .secondary:focus-visible { outline: 2px solid var(--accent); outline-offset: 2px; }
.error { color: #d1242f; font-size: 13px; line-height: 18px; margin: 0 0 8px; }
.gate { flex: none; max-height: 75%; overflow-y: auto; padding: 12px 16px 14px; border-top: 1px solid #e6e8eb; background: #fff; }
.gate p { margin: 0 0 10px; }
.field { margin: 0 0 10px; }
.field label { display: block; font-weight: 600; margin: 0 0 4px; }
.field.check { display: flex; gap: 8px; align-items: flex-start; }
.field.check input { display: inline-block; margin: 3px 0 0; width: auto; height: auto; }
.field.check label { font-weight: 400; margin: 0; }
.field input, .field select, .field textarea { display: block; width: 100%; height: 36px; padding: 6px 10px; border-radius: 8px; border: 1px solid #d0d7de; background: #fff; outline: none; }
.field textarea { height: 72px; resize: none; }
.field [aria-invalid="true"] { border-color: #d1242f; }
.field :focus { border-color: var(--accent); box-shadow: 0 0 0 3px rgba(37,99,235,.15); }
.field .error { margin: 4px 0 0; }
.opt { font-weight: 400; color: #59636e; }
.footer-note { flex: none; text-align: center; font-size: 11px; line-height: 14px; color: #59636e; padding: 0 0 6px; background: #fff; }

@media (max-width: 480px) {
  .panel, .root.left .panel { inset: 0; width: 100%; height: 100%; max-height: none; border-radius: 0; }
  .root.is-open .bubble { display: none; }
  .bubble { inset: auto 16px 16px auto; }
  .root.left .bubble { inset: auto auto 16px 16px; }
}
@media (prefers-reduced-motion: reduce) { .bubble { transition: none; } }
`;

  const host = document.createElement('chat-support-widget');
  host.setAttribute('data-chat-widget', '');
  const shadow = host.attachShadow({ mode: 'open' });
  try {
    const sheet = new CSSStyleSheet();
    sheet.replaceSync(CSS);
    shadow.adoptedStyleSheets = [sheet];
  } catch {
    shadow.append(h('style', { text: CSS })); // browsers without constructable style sheets
  }

  const ui = {
    badge: h('span', { class: 'badge', hidden: true, 'aria-hidden': 'true' }),
    bubbleIcon: h('span', { class: 'bubble-icon' }),
    avatar: h('span', { class: 'avatar', 'aria-hidden': 'true' }),
    title: h('h2', { class: 'title', id: 'cw-title' }),
    sub: h('span', { class: 'sub', id: 'cw-sub' }),
    end: h('button', { type: 'button', class: 'end-button', hidden: true }),
    minimize: h('button', { type: 'button', class: 'icon-button close' }, icon(ICON_DOWN, 22)),
    notice: h('div', { class: 'notice', hidden: true }),
    list: h('ol', { class: 'list', tabindex: '0' }),
    greeting: h('li', { class: 'greeting', dir: 'auto' }),
    typing: h('div', { class: 'typing', 'aria-hidden': 'true' }),
    input: /** @type {HTMLTextAreaElement} */ (h('textarea', { rows: '1', maxlength: '4000', dir: 'auto', enterkeyhint: 'send' })),
    attach: h('button', { type: 'button', class: 'attach', hidden: true, 'aria-describedby': 'cw-limits', title: describeLimits(LIMITS) }, clipIcon()),
    limits: h('span', { class: 'sr-only', id: 'cw-limits' }, describeLimits(LIMITS)),
    picker: /** @type {HTMLInputElement} */ (h('input', { type: 'file', multiple: true, hidden: true, tabindex: '-1', 'aria-hidden': 'true', accept: LIMITS.types.join(',') })),
    dropHint: h('div', { class: 'drop-hint', hidden: true }),
    fileError: h('div', { class: 'file-error', role: 'alert', hidden: true }),
    send: h('button', { type: 'submit', class: 'send' }, icon(ICON_SEND, 20)),
    composer: h('form', { class: 'composer' }),
    gate: h('div', { class: 'gate', hidden: true }),
    closed: h('div', { class: 'closed', hidden: true }),
    live: h('div', { class: 'sr-only', 'aria-live': 'polite', 'aria-atomic': 'true' }),
    bubble: h('button', { type: 'button', class: 'bubble', 'aria-expanded': 'false', 'aria-controls': 'cw-panel' }),
    launcher: h('span', { class: 'launcher-label', hidden: true, 'aria-hidden': 'true' }),
    panel: h('section', { class: 'panel', id: 'cw-panel', role: 'dialog', 'aria-modal': 'false', 'aria-labelledby': 'cw-title', 'aria-describedby': 'cw-sub', tabindex: '-1', hidden: true }),
    root: h('div', { class: 'root', 'data-state': 'connecting' }),
  };
  ui.bubbleIcon.append(icon(ICON_CHAT, 28));
  ui.bubble.append(ui.bubbleIcon, ui.launcher, ui.badge);
  ui.composer.append(ui.attach, ui.limits, ui.picker, ui.input, ui.send);
  ui.panel.append(
    h('header', { class: 'head' }, ui.avatar, h('div', { class: 'head-text' }, ui.title, ui.sub), ui.end, ui.minimize),
    ui.notice,
    h('div', { class: 'list-wrap' }, ui.list, ui.dropHint),
    ui.typing,
    ui.fileError,
    ui.gate,
    ui.composer,
    ui.closed,
  );
  ui.root.append(ui.panel, ui.bubble, ui.live);
  shadow.append(ui.root);

  // The launcher and the panel go to the browser's top layer (popover="manual"): above every
  // z-index of the page, and fixed to the viewport even in a transformed body. Without the
  // Popover API they stay fixed in the host element, as before.
  const POPOVER = typeof HTMLElement.prototype.showPopover === 'function';
  if (POPOVER) for (const el of [ui.bubble, ui.panel]) el.setAttribute('popover', 'manual');
  function mount() {
    (document.body || document.documentElement).append(host);
    ctx.host.remove(); // the launcher's bubble: this one takes its place
    if (POPOVER) {
      try {
        ui.panel.showPopover();
        ui.bubble.showPopover(); // last: above the panel where they meet
      } catch {
        /* the host element was taken out of the page */
      }
    }
  }

  /** Every fixed text, in the language chosen, and the site's look. */
  function relabel() {
    ui.root.style.setProperty('--accent', ACCENT);
    ui.root.classList.toggle('left', LEFT);
    ui.panel.setAttribute('lang', lang);
    ui.panel.setAttribute('dir', RTL.has(lang) ? 'rtl' : 'ltr');
    ui.end.textContent = t('end');
    ui.minimize.setAttribute('aria-label', t('close'));
    ui.list.setAttribute('aria-label', t('messages'));
    ui.greeting.textContent = GREETING;
    ui.input.placeholder = t('placeholder');
    ui.input.setAttribute('aria-label', t('message'));
    ui.attach.setAttribute('aria-label', t('attach'));
    ui.dropHint.replaceChildren(t('drop'), h('small', {}, describeLimits(LIMITS)));
    ui.send.setAttribute('aria-label', t('send'));
    ui.composer.setAttribute('aria-label', t('compose'));
    ui.launcher.textContent = LAUNCHER;
    ui.launcher.hidden = !LAUNCHER;
    ui.bubble.classList.toggle('labelled', !!LAUNCHER);
    ui.closed.dataset.step = ''; // the rating form again, in this language
    render();
  }
  if (document.body) mount();
  else document.addEventListener('DOMContentLoaded', mount, { once: true });

  // ------------------------------------------------------------------ open / close

  /** @param {boolean} [focus] */
  function openPanel(focus = true) {
    if (ui.bubble.hidden) return; // hidden outside business hours
    // The pre-chat form first: the guest token is asked for with the name it gives.
    if (gateKind() !== 'prechat') connectSoon();
    if (isOpen) return;
    isOpen = true;
    tabStore.setItem(OPEN_KEY, '1');
    ui.panel.hidden = false;
    ui.root.classList.add('is-open');
    ui.bubble.setAttribute('aria-expanded', 'true');
    render();
    scrollToEnd();
    if (focus) {
      const target = /** @type {HTMLElement} */ (!ui.gate.hidden && ui.gate.querySelector('input, select, textarea')) || (!ui.composer.hidden && !ui.input.disabled ? ui.input : ui.panel);
      target.focus({ preventScroll: true });
    }
    observeReads();
    emit('open', undefined);
  }

  /** @param {boolean} [focus] */
  function closePanel(focus = true) {
    if (!isOpen) return;
    isOpen = false;
    tabStore.removeItem(OPEN_KEY);
    ui.panel.hidden = true;
    ui.root.classList.remove('is-open');
    ui.bubble.setAttribute('aria-expanded', 'false');
    if (chat && sessionId) chat.stopTyping(sessionId);
    render();
    if (focus) ui.bubble.focus({ preventScroll: true });
    emit('close', undefined);
  }

  ui.bubble.addEventListener('click', () => (isOpen ? closePanel() : openPanel()));
  ui.minimize.addEventListener('click', () => closePanel());
  shadow.addEventListener('keydown', (e) => {
    const ev = /** @type {KeyboardEvent} */ (e);
    if (ev.key === 'Escape' && isOpen) {
      ev.preventDefault();
      ev.stopPropagation();
      closePanel();
    }
  });
  ui.end.addEventListener('click', async () => {
    if (!chat || !sessionId) return;
    ui.end.setAttribute('disabled', '');
    try {
      await chat.closeSession(sessionId, 'Ended by the visitor');
    } catch (err) {
      announce(t('cannotEnd', { error: err && err.message ? err.message : err }));
    } finally {
      ui.end.removeAttribute('disabled');
    }
  });

  // ------------------------------------------------------------------ composer

  ui.composer.addEventListener('submit', (e) => {
    e.preventDefault();
    submit();
  });
  ui.input.addEventListener('keydown', (e) => {
    if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
      e.preventDefault();
      submit();
    }
  });
  ui.input.addEventListener('input', () => {
    autosize();
    updateSendButton();
    if (chat && sessionId && chat.room(sessionId) && ui.input.value.trim()) chat.typing(sessionId);
  });
  ui.input.addEventListener('blur', () => {
    if (chat && sessionId) chat.stopTyping(sessionId);
  });

  function autosize() {
    const el = ui.input;
    el.style.height = '40px';
    el.style.height = `${Math.min(120, Math.max(40, el.scrollHeight + 2))}px`;
  }
  function updateSendButton() {
    ui.send.toggleAttribute('disabled', !ui.input.value.trim());
  }

  function submit() {
    const text = ui.input.value;
    if (!text.trim()) return;
    if (new TextEncoder().encode(text).length > 16 * 1024) {
      announce(t('tooLong'));
      return;
    }
    const s = currentSession();
    if (s && s.status === 'closed') return;
    ui.input.value = '';
    autosize();
    updateSendButton();
    deliver(text, s);
  }

  /** The visitor's message: into the open conversation, or the first of a new one. @param {string} text @param {any} s */
  function deliver(text, s) {
    connectSoon();
    if (sessionId && chat && chat.room(sessionId) && s && s.status !== 'closed') {
      try {
        chat.send(sessionId, text);
      } catch (err) {
        announce(t('notSentErr', { error: err && err.message ? err.message : err }));
      }
      forceBottom = true;
      return;
    }
    if (!startPending) {
      startPending = { clientId: newId(), content: text, createdAt: Date.now(), status: 'sending' };
      sessionId = null; // a new conversation (or the open one, if another tab has it: the server knows)
      startNow();
    } else {
      heldBack.push({ key: newId(), content: text, createdAt: Date.now() });
    }
    forceBottom = true;
    render();
  }

  // ------------------------------------------------------------------ pre-chat and away e-mail forms

  const EMAIL = /^[^\s@]+@[^\s@.]+(\.[^\s@.]+)+$/;

  /** Which form replaces the composer before a conversation: the away e-mail form, the pre-chat form, or none. */
  function gateKind() {
    if (startPending || currentSession() || local.getItem(SESSION_KEY)) return '';
    if (AWAY === 'email' && !hoursNow().open) return 'email';
    const pc = settings.preChatForm;
    return pc && pc.enabled && Array.isArray(pc.fields) && pc.fields.length && !visitorName() && !ident() ? 'prechat' : '';
  }

  /** The form, its fields validated here (errors tied to their field, the first bad one focused). @param {string} kind */
  function gateForm(kind) {
    const list = kind === 'email' ? [{ name: 'email', required: true }, { name: 'message', required: true }] : settings.preChatForm.fields;
    const rows = list
      .filter((/** @type {any} */ f) => f && ['name', 'email', 'phone', 'choice', 'message'].includes(f.name))
      .map((/** @type {any} */ f) => {
        const id = `cw-f-${f.name}`;
        const a = { id, name: f.name, 'aria-required': String(!!f.required), autocomplete: { name: 'name', email: 'email', phone: 'tel' }[/** @type {'name'} */ (f.name)] || 'off' };
        const input = /** @type {HTMLInputElement} */ (
          f.name === 'choice'
            ? h('select', a, h('option', { value: '' }, t('choose')), (Array.isArray(f.options) ? f.options : []).map((/** @type {any} */ o) => h('option', { value: String(o) }, String(o))))
            : f.name === 'message'
              ? h('textarea', { ...a, maxlength: '4000', dir: 'auto' })
              : h('input', { ...a, type: f.name === 'email' ? 'email' : f.name === 'phone' ? 'tel' : 'text', maxlength: '100', dir: 'auto' })
        );
        const err = h('p', { class: 'error', id: `${id}-err`, hidden: true });
        const label = (typeof f.label === 'string' && f.label.trim()) || t(`f_${f.name}`);
        return { f, input, err, el: h('div', { class: 'field' }, h('label', { for: id }, label, f.required ? null : h('span', { class: 'opt' }, ` ${t('optional')}`)), input, err) };
      });
    // With an e-mail field: the visitor may ask for the transcript when the conversation ends.
    const transcript = rows.some((r) => r.f.name === 'email') ? /** @type {HTMLInputElement} */ (h('input', { type: 'checkbox', id: 'cw-f-transcript', name: 'transcript' })) : null;
    const form = h(
      'form',
      { novalidate: true, 'aria-label': kind === 'email' ? t('emailIntro') : t('prechatIntro') },
      h('p', {}, kind === 'email' ? t('emailIntro') : t('prechatIntro')),
      rows.map((r) => r.el),
      transcript ? h('div', { class: 'field check' }, transcript, h('label', { for: 'cw-f-transcript' }, t('f_transcript'))) : null,
      h('button', { type: 'submit', class: 'primary' }, kind === 'email' ? t('send') : t('startChat')),
    );
    form.addEventListener('submit', (e) => {
      e.preventDefault();
      /** @type {Record<string, string>} */
      const values = {};
      /** @type {HTMLElement[]} */
      const bad = [];
      for (const r of rows) {
        const v = r.input.value.trim();
        const problem = !v ? (r.f.required ? t('required') : '') : r.f.name === 'email' && !EMAIL.test(v) ? t('badEmail') : r.f.name === 'phone' && !(/^\+?[\d ]+$/.test(v) && v.replace(/\D/g, '').length >= 5) ? t('badPhone') : '';
        r.err.textContent = problem;
        r.err.hidden = !problem;
        if (problem) {
          r.input.setAttribute('aria-invalid', 'true');
          r.input.setAttribute('aria-describedby', r.err.id);
          bad.push(r.input);
        } else {
          r.input.removeAttribute('aria-invalid');
          r.input.removeAttribute('aria-describedby');
        }
        if (v) values[r.f.name] = r.f.name === 'message' ? v : cut(v, 100);
      }
      if (bad.length) return bad[0].focus();
      if (transcript && transcript.checked && values.email) values.transcript = 'yes';
      const { message, ...who } = values;
      saveStore({ identity: { ...(ident() || {}), ...who } });
      if (message) deliver(message, null);
      else {
        // The name is the guest token's: a token asked for without it is asked for again.
        if (chat && !user.token && guestName !== visitorName()) {
          reset();
          connectRequested = false;
        }
        connectSoon();
      }
      render();
      ui.input.focus({ preventScroll: true });
    });
    return form;
  }

  // ------------------------------------------------------------------ files

  /** Files can go out once the conversation's room is held and it is not closed. */
  function canAttach() {
    const s = currentSession();
    return !!(chat && files && sessionId && chat.room(sessionId) && s && s.status !== 'closed');
  }

  /** A file that cannot be sent: said above the composer (no Retry: it cannot succeed). @param {string} text */
  function fileProblem(text) {
    if (!text) {
      ui.fileError.hidden = true;
      ui.fileError.replaceChildren();
      return;
    }
    ui.fileError.replaceChildren(h('p', {}, text), h('button', { type: 'button', class: 'dismiss', onclick: () => fileProblem('') }, 'Dismiss'));
    ui.fileError.hidden = false;
  }

  /** Sends files picked, dropped or pasted; those the server would refuse are said, not uploaded. @param {File[]} picked */
  function sendFiles(picked) {
    fileProblem('');
    const problems = [];
    for (const f of picked) {
      const refused = refuseFile(f, LIMITS);
      if (refused) {
        problems.push(refused.message);
        continue;
      }
      try {
        chat.sendFile(sessionId, f);
        forceBottom = true;
      } catch (err) {
        problems.push(t('cannotSend', { name: f.name, error: err && err.message ? err.message : err }));
      }
    }
    if (problems.length) fileProblem(problems.join(' ')); // an alert: read out as it shows
    schedule();
  }

  takeFiles({ button: ui.attach, picker: ui.picker, zone: ui.panel, hint: ui.dropHint, input: ui.input, enabled: canAttach, onFiles: sendFiles });

  function newId() {
    if (sdk && sdk.uuid) return sdk.uuid();
    if (crypto && crypto.randomUUID) return crypto.randomUUID();
    return `w-${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}`;
  }

  /** What the visitor's page says, within the server's limits. */
  function context() {
    /** @type {Record<string, any>} */
    const c = {};
    if (/^https?:\/\//.test(location.href)) c.url = location.href.slice(0, 2048);
    if (/^https?:\/\//.test(document.referrer || '')) c.referrer = document.referrer.slice(0, 2048);
    if (navigator.userAgent) c.userAgent = cut(navigator.userAgent, 512);
    // The language the visitor reads here (e-mails to them are written in it).
    c.locale = lang;
    /** @type {Record<string, string>} */
    const attrs = {};
    const { name: _n, ...given } = ident() || {};
    const all = { ...given, ...(user.id ? { userId: String(user.id) } : {}), ...(user.email ? { email: String(user.email) } : {}), ...attributes };
    for (const [k, v] of Object.entries(all)) {
      if (Object.keys(attrs).length >= 20) break;
      const key = cut(String(k).replace(/[\u0000-\u001f\u007f]/g, ''), 64);
      if (!key || v === undefined || v === null) continue;
      attrs[key] = cut(String(v).replace(/[\u0000-\u001f\u007f]/g, ' '), 256);
    }
    if (Object.keys(attrs).length) c.attributes = attrs;
    return c;
  }

  /** Sends the first message (support.start with content), once connected. */
  async function startNow() {
    const p = startPending;
    if (!p || starting || !chat || !chat.ready) return;
    starting = true;
    p.status = 'sending';
    delete p.error;
    render();
    try {
      const res = await chat.startSupport({ context: context(), content: p.content, clientId: p.clientId });
      if (startPending !== p) return;
      sessionId = res.session.sessionId;
      operatorsOnline = res.operatorsOnline;
      resumedOn = connectionCount;
      ratingStep = 'form';
      afterRoomChange();
    } catch (err) {
      const code = err && err.code;
      if (startPending === p && !['offline', 'disconnected', 'timeout', 'internal', 'unauthorized', 'rate_limited'].includes(code)) {
        p.status = 'failed';
        p.error = (err && err.message) || String(err);
      }
      // Else: sent again (same clientId: the server creates nothing twice) on the next `ready`.
    } finally {
      starting = false;
      render();
    }
  }

  // ------------------------------------------------------------------ sessions

  /** @returns {any} */
  function currentSession() {
    return chat && sessionId ? chat.session(sessionId) : undefined;
  }

  function currentDismissed() {
    const d = loadStore().dismissed;
    return Array.isArray(d) ? d.slice(-20) : [];
  }

  /** The visitor's newest support session worth showing, or null (a new conversation). */
  function pickSession() {
    if (!chat) return null;
    const dismissed = new Set(currentDismissed());
    const rooms = chat.rooms().filter((/** @type {any} */ r) => r.type === 'support' && r.session && !dismissed.has(r.roomId));
    rooms.sort((/** @type {any} */ a, /** @type {any} */ b) => (b.session.createdAt || b.createdAt) - (a.session.createdAt || a.createdAt));
    for (const r of rooms) {
      const s = r.session;
      if (s.status === 'closed' && !(r.lastSeq > 0)) continue; // an empty session (see resume)
      if (s.status !== 'closed') return r.roomId;
      if (!s.rating) return r.roomId; // closed, not rated: ask for the rating
      return Date.now() - (s.closedAt || 0) < KEEP_CLOSED_MS ? r.roomId : null;
    }
    return null;
  }

  function chooseSession() {
    if (!chat) return;
    if (startPending && !sessionId) return; // a new conversation is starting
    const next = pickSession();
    if (next === sessionId) return;
    const cur = currentSession();
    if (cur && next) {
      const ns = chat.session(next);
      if (ns && ns.createdAt < cur.createdAt) return; // the shown one is newer
    }
    // A closed conversation stays on screen (with its thanks) until the visitor starts a new one.
    if (cur && !next && cur.status === 'closed' && !currentDismissed().includes(sessionId)) return;
    sessionId = next;
    ratingStep = 'form';
    ratingError = '';
  }

  /** After every (re)connect: resume the open session (queue position, waiting channel). */
  async function resume() {
    if (!chat || !chat.ready || resumedOn === connectionCount) return;
    const s = currentSession();
    if (!s || s.status === 'closed') return;
    resumedOn = connectionCount;
    try {
      const res = await chat.startSupport({ context: context() });
      operatorsOnline = res.operatorsOnline;
      if (res.created) {
        // The session closed just before: this made a new, empty one. Close it again quietly.
        chat.closeSession(res.session.sessionId, 'closed before it was resumed').catch(() => {});
        dismiss(res.session.sessionId);
      } else if (res.session.sessionId !== sessionId) {
        sessionId = res.session.sessionId;
      }
    } catch {
      resumedOn = -1; // the next ready tries again
    }
    render();
  }

  /** @param {string} id */
  function dismiss(id) {
    const d = currentDismissed();
    if (!d.includes(id)) d.push(id);
    saveStore({ dismissed: d.slice(-20) });
  }

  function newConversation() {
    if (sessionId) dismiss(sessionId);
    sessionId = null;
    ratingStep = 'form';
    ratingError = '';
    render();
    ui.input.focus({ preventScroll: true });
  }

  /** The room of the shown session arrived or changed. */
  function afterRoomChange() {
    if (!chat || !sessionId) return;
    const r = chat.room(sessionId);
    if (!r) return;
    // Its messages: held ones, else the newest page.
    if (!historyAsked.has(sessionId) && r.hasOlder && chat.messages(sessionId).filter((/** @type {any} */ m) => m.seq > 0).length < 20) {
      historyAsked.add(sessionId);
      const id = sessionId;
      chat.loadOlder(id).catch(() => historyAsked.delete(id));
    }
    if (startPending && chat.messages(sessionId).some((/** @type {any} */ m) => m.clientId === startPending?.clientId)) startPending = null;
    if (heldBack.length) {
      const list = heldBack;
      heldBack = [];
      for (const m of list) {
        try {
          chat.send(sessionId, m.content);
        } catch {
          /* too long: it was checked before */
        }
      }
    }
  }

  // ------------------------------------------------------------------ render

  let renderQueued = false;
  let forceBottom = false;
  function schedule() {
    if (renderQueued) return;
    renderQueued = true;
    queueMicrotask(() => {
      renderQueued = false;
      render();
    });
  }

  function state() {
    if (loadError) return 'error';
    const s = currentSession();
    if (s) {
      if (s.status === 'waiting') return operatorsOnline === 0 || !hoursNow().open ? 'away' : 'waiting';
      return s.status;
    }
    if (startPending) return operatorsOnline === 0 || !hoursNow().open ? 'away' : 'waiting';
    if ((!chat || !everReady) && connectRequested) return 'connecting';
    return hoursNow().open ? 'idle' : 'away';
  }

  function render() {
    const st = state();
    const s = currentSession();
    ui.root.setAttribute('data-state', st);
    ui.panel.setAttribute('data-state', st);
    if (st !== lastState) {
      const before = lastState;
      lastState = st;
      forceBottom = true;
      if (before) {
        if (st === 'active' && s && s.operator) announce(`${t('joined', { name: s.operator.name || t('anAgent') })}.`);
        if (st === 'closed') announce(t('endedAnnounce'));
        if (st === 'away') announce(t('awayAnnounce'));
      }
      emit('state', { state: st, sessionId });
    }

    // Header.
    const opName = s && s.operator ? s.operator.name || t('agent') : '';
    ui.title.textContent = st === 'active' && opName ? opName : TITLE;
    ui.avatar.textContent = st === 'active' && opName ? [...opName.trim()][0]?.toUpperCase() || '?' : '';
    if (!(st === 'active' && opName)) {
      // The team's picture, loaded only once the panel is open (no request for a closed widget).
      if (AVATAR_URL && isOpen) {
        if (ui.avatar.firstElementChild?.getAttribute('src') !== AVATAR_URL) ui.avatar.replaceChildren(h('img', { src: AVATAR_URL, alt: '', referrerpolicy: 'no-referrer' }));
      } else ui.avatar.replaceChildren(icon(ICON_CHAT, 20));
    }
    // An open conversation is remembered, so that the next page connects at once (and only then).
    const hasSession = !!startPending || !!(s && s.status !== 'closed');
    if (hasSession) local.setItem(SESSION_KEY, '1');
    else if (everReady && chat && chat.ready) local.removeItem(SESSION_KEY);
    const conn = chat ? chat.state : 'idle';
    const reconnecting = everReady && conn !== 'open';
    ui.sub.textContent = reconnecting
      ? t('reconnecting')
      : st === 'connecting'
        ? t('connecting')
        : st === 'error'
          ? t('subUnavailable')
          : st === 'idle'
            ? t('usually')
            : st === 'waiting'
              ? t('waitingSub')
              : st === 'away'
                ? t('awaySub')
                : st === 'active'
                  ? t('online', { title: TITLE })
                  : t('ended');
    ui.end.hidden = !(s && (s.status === 'waiting' || s.status === 'active'));

    // Notice: queue position, away.
    const pos = s && chat ? chat.queuePosition(s.sessionId) : undefined;
    ui.notice.classList.toggle('away', st === 'away');
    if (st === 'waiting' && pos) {
      const wait = waitText(pos.estimatedWaitSeconds);
      ui.notice.replaceChildren(
        ...t('position').split('{strong}').flatMap((part, k) => (k ? [h('strong', { class: 'position', 'data-position': String(pos.position) }, t('number', { n: pos.position })), part] : [part])),
        wait ? t('wait', { wait }) : '',
      );
      ui.notice.hidden = false;
    } else if (st === 'waiting') {
      ui.notice.replaceChildren(t('connectingTeam'));
      ui.notice.hidden = false;
    } else if (st === 'away') {
      const hrs = hoursNow();
      ui.notice.replaceChildren(!hrs.open && hrs.next ? t('awayNext', { when: whenFormat.format(hrs.next) }) : t('away'));
      ui.notice.hidden = false;
    } else if (st === 'error') {
      ui.notice.replaceChildren(loadError);
      ui.notice.hidden = false;
    } else ui.notice.hidden = true;

    // Composer or rating.
    const closed = st === 'closed';
    const gate = gateKind();
    const key = gate && `${gate}|${lang}|${JSON.stringify(settings.preChatForm)}`;
    if (ui.gate.dataset.key !== key) {
      ui.gate.dataset.key = key;
      ui.gate.replaceChildren(...(gate ? [gateForm(gate)] : []));
    }
    ui.gate.hidden = !gate;
    ui.composer.hidden = closed || st === 'error' || !!gate;
    ui.closed.hidden = !closed;
    if (closed) renderClosed(s);
    ui.attach.hidden = !canAttach();
    if (closed || st === 'error') fileProblem('');
    updateSendButton();

    // Typing.
    const typers = chat && sessionId ? chat.typers(sessionId) : [];
    ui.typing.textContent = typers.length ? t(typers.length > 1 ? 'typingMany' : 'typing', { names: typers.map((/** @type {any} */ p) => p.name).join(', ') }) : '';

    renderMessages(s);
    renderBadge();
    // awayBehavior "hide": no bubble outside business hours, unless a conversation is open.
    const hide = AWAY === 'hide' && !hoursNow().open && !hasSession && !local.getItem(SESSION_KEY);
    ui.bubble.hidden = hide;
    if (hide && isOpen) queueMicrotask(() => closePanel(false));
  }

  /** The count the badge shows; whether a new message was just announced (then not the count too). */
  let badgeCount = 0;
  let liveSaid = false;

  /**
   * The launcher's badge: the operator messages the visitor has not read (the room's unread count,
   * which sync restores after a reload), only while the panel is closed; said in the launcher's
   * label, and once per change in the live region (a live message announces itself instead).
   */
  function renderBadge() {
    const r = chat && sessionId ? chat.room(sessionId) : undefined;
    const n = !isOpen && r ? r.unread || 0 : 0;
    ui.badge.hidden = n === 0;
    ui.badge.textContent = n > 9 ? '9+' : String(n);
    ui.bubble.setAttribute('aria-label', isOpen ? t('close') : n ? t('openUnread', { title: TITLE, n }) : t('open', { title: TITLE }));
    if (n !== badgeCount) {
      if (n > 0 && !liveSaid) announce(`${TITLE}: ${t('unread', { n })}`);
      badgeCount = n;
      liveSaid = false;
    }
  }

  /** @type {Map<string, HTMLElement>} */
  const msgEls = new Map();
  /** @type {any} */
  let reads = null;

  function observeReads() {
    if (!chat || reads) return;
    reads = chat.readObserver(ui.list);
    for (const el of msgEls.values()) if (el.dataset.seq && el.dataset.mine === 'false') reads.observe(el, el.dataset.room, Number(el.dataset.seq));
  }

  /** @param {any} s */
  function renderMessages(s) {
    /** @type {{key: string, at: number, el: () => HTMLElement, sig: string}[]} */
    const items = [];
    const msgs = chat && sessionId ? chat.messages(sessionId) : [];
    const shownIds = new Set();
    for (const m of msgs) {
      if (m.kind === 'note') continue; // operators' internal notes: never shown to a visitor
      if (m.clientId) shownIds.add(m.clientId);
      const who = m.mine ? '' : m.senderName || (s && s.operator && s.operator.userId === m.senderId ? s.operator.name : '') || t('support');
      const status = m.mine ? m.status || 'sent' : '';
      const text = m.deletedAt ? t('deleted') : m.content || '';
      const failed = m.mine && m.status === 'failed' && !m.seq && m.clientId ? m : null;
      const code = failed && failed.error ? failed.error.code : '';
      items.push({
        key: `m:${m.key}`,
        at: m.createdAt,
        sig: `${lang}|${m.seq}|${status}|${text}|${who}|${code}|${m.attachments && files ? files.signature(m) : ''}`,
        el: () =>
          messageEl(text, m.mine, who, m.createdAt, status, m.kind, m.roomId, m.seq, failed ? (failed.error && failed.error.message) || t('notSent') : undefined, {
            message: m,
            retry: failed && canRetry(failed.error) ? () => chat.retry(failed.clientId) : undefined,
            discard: failed ? () => chat.discard(failed.clientId) : undefined,
          }),
      });
    }
    const pend = startPending;
    if (pend && !shownIds.has(pend.clientId)) {
      items.push({ key: `m:${pend.clientId}`, at: pend.createdAt, sig: `${lang}|${pend.status}|${pend.content}`, el: () => messageEl(pend.content, true, '', pend.createdAt, pend.status, 'text', '', 0, pend.error, { retry: pend.status === 'failed' ? () => startNow() : undefined }) });
    }
    for (const m of heldBack) items.push({ key: `m:${m.key}`, at: m.createdAt, sig: `0|sending|${m.content}`, el: () => messageEl(m.content, true, '', m.createdAt, 'sending', 'text', '', 0) });
    if (s && s.acceptedAt && s.operator) items.push({ key: `n:joined:${s.sessionId}`, at: s.acceptedAt, sig: `${lang}|${s.operator.name || ''}`, el: () => h('li', { class: 'note' }, t('joined', { name: s.operator.name || t('anAgent') })) });
    if (s && s.status === 'closed' && s.closedAt) {
      const by = s.closedBy === s.visitor.userId ? t('youEnded') : t('theyEnded', { name: (s.operator && s.operator.name) || t('theTeam') });
      items.push({ key: `n:closed:${s.sessionId}`, at: s.closedAt, sig: lang + by, el: () => h('li', { class: 'note' }, by) });
    }
    items.sort((a, b) => a.at - b.at);

    const list = ui.list;
    const nearBottom = list.scrollHeight - list.scrollTop - list.clientHeight < 60;
    const wanted = [ui.greeting];
    const keep = new Set();
    for (const it of items) {
      let el = msgEls.get(it.key);
      if (!el || el.dataset.sig !== it.sig) {
        const fresh = it.el();
        fresh.dataset.sig = it.sig;
        fresh.dataset.key = it.key;
        if (el && reads) reads.unobserve(el);
        el = fresh;
        msgEls.set(it.key, el);
        if (reads && el.dataset.seq && el.dataset.mine === 'false') reads.observe(el, el.dataset.room, Number(el.dataset.seq));
      }
      keep.add(it.key);
      wanted.push(el);
    }
    for (const [k, el] of msgEls) {
      if (!keep.has(k)) {
        if (reads) reads.unobserve(el);
        msgEls.delete(k);
      }
    }
    // Reconcile children in order without re-creating kept nodes.
    let i = 0;
    for (const el of wanted) {
      if (list.children[i] !== el) list.insertBefore(el, list.children[i] || null);
      i++;
    }
    while (list.children.length > wanted.length) list.lastElementChild?.remove();
    if (nearBottom || forceBottom) scrollToEnd();
    forceBottom = false;
  }

  /**
   * @param {string} content @param {boolean} mine @param {string} who @param {number} at @param {string} status
   * @param {string} kind @param {string} roomId @param {number} seq @param {string} [error]
   * @param {{message?: any, retry?: () => void, discard?: () => void}} [more] the SDK's message
   *   (its files), and what a failed send offers: Retry only where trying again can succeed
   */
  function messageEl(content, mine, who, at, status, kind, roomId, seq, error, more = {}) {
    if (kind === 'system') return h('li', { class: 'note' }, content);
    const li = h('li', { class: `msg${mine ? ' mine' : ''}`, 'data-mine': String(mine), 'data-status': status || null });
    if (seq) {
      li.dataset.seq = String(seq);
      li.dataset.room = roomId;
    }
    if (!mine && who) li.append(h('span', { class: 'who', dir: 'auto' }, who));
    const m = more.message;
    const hasFiles = !!(m && !m.deletedAt && files && Array.isArray(m.attachments) && m.attachments.length);
    if (hasFiles && files) li.append(files.render(m));
    if (content || !hasFiles) li.append(h('div', { class: 'text', dir: 'auto' }, content));
    const meta = h('div', { class: 'meta' }, h('time', { datetime: new Date(at).toISOString() }, timeFormat.format(at)));
    if (mine && status) meta.append(ticks(status));
    if (error) meta.append(h('span', { class: 'failed-text' }, ` ${error}`));
    if (more.retry) meta.append(h('button', { type: 'button', class: 'link retry', onclick: more.retry }, t('retry')));
    if (more.discard) meta.append(h('button', { type: 'button', class: 'link discard', onclick: more.discard }, t('discard')));
    li.append(meta);
    return li;
  }

  function scrollToEnd() {
    ui.list.scrollTop = ui.list.scrollHeight;
  }
  // A list scrolled to its end stays there when it shrinks or grows (rating form, rotation, keyboard).
  let stickToEnd = true;
  ui.list.addEventListener('scroll', () => (stickToEnd = ui.list.scrollHeight - ui.list.scrollTop - ui.list.clientHeight < 60), { passive: true });
  if (typeof ResizeObserver === 'function') new ResizeObserver(() => stickToEnd && scrollToEnd()).observe(ui.list);

  /** @param {any} s */
  function renderClosed(s) {
    const box = ui.closed;
    const step = s && s.rating ? 'thanks' : ratingStep;
    if (box.dataset.step === step && box.dataset.session === (s && s.sessionId) && box.dataset.error === ratingError) return;
    box.dataset.step = step;
    box.dataset.session = s ? s.sessionId : '';
    box.dataset.error = ratingError;
    const again = h('button', { type: 'button', class: 'secondary new-conversation', onclick: newConversation }, t('newConv'));
    if (step === 'thanks') {
      const score = s && s.rating ? s.rating.score : 0;
      box.replaceChildren(
        h('p', { class: 'thanks' }, h('strong', {}, t('thanks')), score ? t('rated', { n: score }) : ''),
        h('div', { class: 'row' }, again),
      );
      return;
    }
    const stars = h('div', { class: 'stars' });
    for (let n = 1; n <= 5; n++) {
      const id = `cw-star-${n}`;
      const input = h('input', { type: 'radio', name: 'score', value: String(n), id, required: n === 1 });
      input.addEventListener('change', () => stars.setAttribute('data-score', String(n)));
      stars.append(h('span', { class: 'star' }, input, h('label', { for: id, title: t('stars', { n }) }, h('span', { 'aria-hidden': 'true' }, '★'), h('span', { class: 'sr-only' }, t('stars', { n })))));
    }
    const comment = /** @type {HTMLTextAreaElement} */ (h('textarea', { name: 'comment', maxlength: '1000', placeholder: t('comment'), 'aria-label': t('commentLabel') }));
    const submitBtn = h('button', { type: 'submit', class: 'primary', disabled: step === 'sending' }, step === 'sending' ? t('sending') : t('sendRating'));
    const form = h(
      'form',
      { class: 'rating' },
      h('fieldset', {}, h('legend', {}, t('how')), stars),
      comment,
      ratingError ? h('p', { class: 'error', role: 'alert' }, ratingError) : null,
      h('div', { class: 'row' }, submitBtn, again),
    );
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      const checked = /** @type {HTMLInputElement|null} */ (form.querySelector('input[name="score"]:checked'));
      if (!checked) {
        ratingError = t('pick');
        renderClosedAgain(s);
        return;
      }
      if (!chat || !s) return;
      ratingStep = 'sending';
      ratingError = '';
      submitBtn.setAttribute('disabled', '');
      submitBtn.textContent = t('sending');
      try {
        await chat.rateSession(s.sessionId, Number(checked.value), comment.value);
        ratingStep = 'thanks';
        announce(t('thanks'));
      } catch (err) {
        ratingStep = 'form';
        ratingError = err && err.code === 'conflict' ? t('ratedAlready') : t('ratingFailed', { error: (err && err.message) || err });
      }
      renderClosedAgain(s);
    });
    box.replaceChildren(h('p', {}, t('hasEnded')), form);
  }
  /** @param {any} s */
  function renderClosedAgain(s) {
    ui.closed.dataset.step = '';
    renderClosed(currentSession() || s);
    const focusable = /** @type {HTMLElement|null} */ (ui.closed.querySelector('.thanks') ? ui.closed.querySelector('.new-conversation') : ui.closed.querySelector('.error'));
    if (focusable && isOpen) focusable.focus?.({ preventScroll: true });
  }


  // ------------------------------------------------------------------ connection

  let connectDelay = 2000;
  function connectSoon() {
    if (connectRequested) return;
    connectRequested = true;
    schedule();
    queueMicrotask(() =>
      connect().then(
        () => {
          loadError = '';
          connectDelay = 2000;
        },
        (e) => fail(e),
      ),
    );
  }

  /** Loading the SDK or the first token failed: say so, and try again later. @param {any} e */
  function fail(e) {
    loadError = t('unavailable', { error: (e && e.message) || e });
    render();
    setTimeout(() => {
      if (chat) return;
      connectRequested = false;
      connectSoon();
    }, connectDelay);
    connectDelay = Math.min(60_000, connectDelay * 2);
  }

  /** The WebSocket URL, for a site-signed token without data-ws-url: the guest endpoint tells it. */
  async function learnWsUrl() {
    const known = loadStore().wsUrl;
    if (typeof known === 'string' && known) return known;
    const res = await fetch(`${CHAT_URL}/support/guest`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}', credentials: 'omit', cache: 'no-store' });
    const t = await res.json().catch(() => ({}));
    if (!res.ok || !t.wsUrl) throw new Error(t.message || `cannot learn the WebSocket URL: HTTP ${res.status}`);
    saveStore({ wsUrl: String(t.wsUrl) });
    return String(t.wsUrl);
  }

  async function loadSdk() {
    if (!sdk) sdk = SDK; // bundled into the panel (minified, and sharing its modules with the panel's)
    return sdk;
  }

  /** A guest token for this browser's guest id (a new id the first time). */
  async function fetchGuest() {
    /** @type {Record<string, string>} */
    const body = {};
    if (guestId) body.guestId = guestId;
    const name = visitorName();
    if (name) body.name = cut(name, 100);
    let res = await fetch(`${CHAT_URL}/support/guest`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body), credentials: 'omit', cache: 'no-store' });
    if (res.status === 400 && body.guestId) {
      // A stored id the server does not take: start over as a new guest.
      delete body.guestId;
      guestId = '';
      res = await fetch(`${CHAT_URL}/support/guest`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body), credentials: 'omit', cache: 'no-store' });
    }
    const t = await res.json().catch(() => ({}));
    if (!res.ok || !t.token) throw new Error(t.message || `guest token: HTTP ${res.status}`);
    guestId = t.guestId;
    guestName = name;
    guest = { token: t.token, expiresAt: Number(t.expiresAt) || Date.now() + 3600_000, wsUrl: t.wsUrl, used: false, worked: false };
    // Kept until it expires: the next page connects without asking for a token again.
    saveStore({ guestId, wsUrl: t.wsUrl, guest: { token: t.token, expiresAt: guest.expiresAt, wsUrl: t.wsUrl, name } });
    return guest;
  }

  async function siteToken() {
    const t = typeof user.token === 'function' ? await user.token() : user.token;
    if (!t) throw new Error('setUser: no token');
    return String(t);
  }

  async function connect() {
    const { ChatClient, claims, indexedDbFileStore } = await loadSdk();
    if (chat) return;
    let url;
    let userId;
    /** @type {() => Promise<string>} */
    let token;
    if (user.token) {
      const first = await siteToken();
      userId = String(claims(first).sub || user.id || '');
      url = user.wsUrl || WS_URL_ATTR || (await learnWsUrl());
      let cached = /** @type {string|undefined} */ (first);
      token = async () => {
        const t = cached;
        cached = undefined;
        return t || siteToken();
      };
    } else {
      const kept = loadStore().guest;
      const name = visitorName();
      if (guestId && kept && typeof kept.token === 'string' && kept.expiresAt - Date.now() > TOKEN_MARGIN_MS && (kept.name || '') === name) {
        guest = { token: kept.token, expiresAt: kept.expiresAt, wsUrl: kept.wsUrl, used: false, worked: false };
        guestName = name;
      }
      const g = guest || (await fetchGuest());
      userId = guestId;
      url = g.wsUrl || WS_URL_ATTR;
      token = async () => {
        // A fresh token when it expires soon, when the last one never got a connection open (e.g.
        // refused), or when the visitor's name changed.
        const g = guest;
        const stale = !g || g.expiresAt - Date.now() < TOKEN_MARGIN_MS || (g.used && !g.worked) || guestName !== visitorName();
        const t = stale ? await fetchGuest() : g;
        t.used = true;
        return t.token;
      };
    }
    // apiUrl: attachments (uploads and members-only downloads) go through the REST API.
    const c = new ChatClient({ url, userId, token, apiUrl: CHAT_URL, fileStore: indexedDbFileStore('chat-widget-files') });
    chat = c;
    files = attachmentViews(c, { container: () => shadow, onError: (text) => fileProblem(text) });
    c.on('state', (/** @type {any} */ st) => {
      if (st.state === 'open' && guest) guest.worked = true;
      schedule();
    });
    c.on('ready', () => {
      if (chat !== c) return;
      everReady = true;
      connectionCount++;
      chooseSession();
      afterRoomChange();
      if (startPending && !sessionId) startNow();
      else resume();
      observeReadsIfOpen();
      render();
    });
    c.on('room', (/** @type {any} */ r) => {
      if (chat !== c || r.type !== 'support') return;
      if (c.ready) chooseSession();
      if (r.roomId === sessionId) afterRoomChange();
      schedule();
    });
    c.on('session', (/** @type {any} */ e) => {
      if (chat !== c) return;
      if (e.reason === 'started') {
        operatorsOnline = e.operatorsOnline;
        if (!sessionId && startPending) sessionId = e.session.sessionId;
      }
      if (e.session && e.session.sessionId === sessionId && e.reason === 'closed') ratingStep = 'form';
      if (c.ready) chooseSession();
      schedule();
    });
    c.on('queuePosition', (/** @type {any} */ p) => {
      if (p.sessionId === sessionId || !sessionId) operatorsOnline = p.operatorsOnline;
      schedule();
    });
    c.on('operatorJoined', () => schedule());
    c.on('message', (/** @type {any} */ m, /** @type {any} */ info) => {
      if (m.kind === 'note') return; // (the SDK keeps notes apart; never a visitor's anyway)
      if (m.roomId === sessionId) {
        if (info && info.reason === 'new' && !m.mine) {
          announce(`${m.senderName || TITLE}: ${m.content || (m.attachments && m.attachments[0] ? t('sentFile', { name: m.attachments[0].name }) : '')}`);
          if (!isOpen) liveSaid = true;
        }
        if (m.mine && m.seq === 0) forceBottom = true;
        if (startPending && m.clientId === startPending.clientId) startPending = null;
        schedule();
      }
      if (info && (info.reason === 'new' || (info.reason === 'ack' && !info.duplicate))) {
        emit('message', { sessionId: m.roomId, seq: m.seq, content: m.content, mine: m.mine, senderId: m.senderId, senderName: m.senderName, createdAt: m.createdAt });
      }
    });
    c.on('messages', (/** @type {any} */ e) => {
      if (e.roomId === sessionId) {
        if (startPending && c.messages(sessionId).some((/** @type {any} */ m) => m.clientId === startPending?.clientId)) startPending = null;
        schedule();
      }
    });
    c.on('typing', (/** @type {any} */ e) => {
      if (e.roomId === sessionId) schedule();
    });
    c.connect();
    render();
  }

  function observeReadsIfOpen() {
    if (isOpen) observeReads();
  }

  /** Drops the connection and everything of this identity (setUser with another token). */
  function reset() {
    if (chat) chat.close();
    chat = null;
    files?.destroy();
    files = null;
    fileProblem('');
    if (reads) reads.disconnect();
    reads = null;
    everReady = false;
    sessionId = null;
    startPending = null;
    heldBack = [];
    guest = null;
    resumedOn = -1;
    historyAsked.clear();
    for (const el of msgEls.values()) el.remove();
    msgEls.clear();
    render();
  }

  // ------------------------------------------------------------------ public API

  const api = {
    __widget: true,
    open() {
      openPanel();
    },
    close() {
      closePanel();
    },
    toggle() {
      if (isOpen) closePanel();
      else openPanel();
    },
    /** @param {{id?: string, name?: string, email?: string, token?: string | (() => string | Promise<string>), wsUrl?: string}} u */
    setUser(u) {
      const next = { ...(u || {}) };
      const identityChanged = (next.token || null) !== (user.token || null);
      user = next;
      if (identityChanged && chat) {
        reset();
        connectRequested = false;
        connectSoon();
      } else if (user.token && !chat && !connectRequested && (isOpen || local.getItem(SESSION_KEY))) connectSoon();
    },
    /** @param {Record<string, any>} a */
    setAttributes(a) {
      for (const [k, v] of Object.entries(a || {})) {
        if (v === null || v === undefined) delete attributes[k];
        else attributes[k] = String(v);
      }
    },
    /** @param {string} event @param {(arg: any) => void} fn */
    on(event, fn) {
      if (typeof fn !== 'function') return () => {};
      let set = handlers.get(event);
      if (!set) handlers.set(event, (set = new Set()));
      set.add(fn);
      return () => set?.delete(fn);
    },
    /** @param {string} event @param {(arg: any) => void} fn */
    off(event, fn) {
      handlers.get(event)?.delete(fn);
    },
    getState() {
      return { state: state(), sessionId, userId: chat ? chat.userId : (typeof user.token === 'string' && subject(user.token)) || guestId || null, open: isOpen };
    },
  };
  if (!existing || isQueue) w[GLOBAL] = api;
  /** @type {any} */ (host).api = api;

  // Calls made before the script ran.
  const queued = ctx.queue;
  for (const entry of queued) {
    try {
      const [name, args] = Array.isArray(entry) ? entry : [];
      const fn = /** @type {any} */ (api)[name];
      if (typeof fn === 'function' && !String(name).startsWith('_')) fn.apply(api, Array.isArray(args) ? args : [args]);
    } catch (e) {
      setTimeout(() => {
        throw e;
      });
    }
  }

  // Nothing is asked of the server for a closed widget (but its settings) unless a conversation is
  // open: the token and the socket come when the visitor opens the chat.
  if (local.getItem(SESSION_KEY)) connectSoon();
  // Another tab of this visitor started a conversation: this one follows it.
  window.addEventListener('storage', (e) => {
    if (e.key === SESSION_KEY && e.newValue) connectSoon();
  });
  if (tabStore.getItem(OPEN_KEY) === '1') openPanel(false);
  updateSendButton();
  relabel();
  loadSettings();
  setInterval(schedule, 60_000); // business hours open and close
  return api;
}
