/*
 * widget.js: the support chat widget. A site pastes one line and gets a chat bubble:
 *
 *   <script src="https://CHAT-HOST/widget.js" data-chat-url="https://REST-API-BASE-URL" async></script>
 *
 * Attributes of that script tag:
 *   data-chat-url   the REST API's base URL (locally http://127.0.0.1:3001/api); the widget asks
 *                   it for guest tokens (POST {chat-url}/support/guest)
 *   data-ws-url     optional: the WebSocket URL, when the site signs its own tokens (setUser with a
 *                   token) and no guest token should be asked for only to learn it
 *   data-title      optional: the panel's title (default "Support")
 *   data-greeting   optional: the greeting shown before a conversation starts
 *   data-color      optional: the accent colour, as #rgb or #rrggbb
 *   data-max-file-mb optional: a smaller size limit for attachments than the server's (MB)
 *   data-locale     optional: en, ru, de, fr, es, pt or ar (else the settings', <html lang>, the browser's)
 *   data-position   optional: right (default) or left
 *   data-launcher-label optional: a text on the launcher next to its icon
 *   data-global     optional: the name of the global the API goes to (default ChatWidget); a
 *                   page's own object of that name is never replaced
 * The site's settings (GET {chat-url}/support/settings) give the same, the tag's attributes win.
 *
 * JavaScript API, in the spirit of window.$chatwoot:
 *
 *   ChatWidget.open(); ChatWidget.close(); ChatWidget.toggle();
 *   ChatWidget.setUser({ id, name, email, token });   // token: a JWT the site signed (identity
 *                                                     // validation), or a function returning one;
 *                                                     // without it the visitor is a guest
 *   ChatWidget.setAttributes({ plan: 'pro' });        // sent with the next conversation (strings)
 *   const off = ChatWidget.on('message' | 'open' | 'close' | 'state', fn);
 *   ChatWidget.getState();                            // {state, sessionId, userId, open}
 *
 * Calls made before this script has loaded are queued with this stub (put it before the tag):
 *
 *   <script>
 *     window.ChatWidget = window.ChatWidget || { q: [] };
 *     ['open', 'close', 'toggle', 'setUser', 'setAttributes', 'on'].forEach(function (m) {
 *       window.ChatWidget[m] = window.ChatWidget[m] || function () { window.ChatWidget.q.push([m, [].slice.call(arguments)]); };
 *     });
 *   </script>
 *
 * (a queued entry is [method, [arguments]]; the script replays them in order when it runs). On a
 * site whose Content-Security-Policy allows scripts by origin only, put the stub in a file of the site.
 *
 * How it works: everything is drawn in a shadow root with its own style sheet (`:host { all:
 * initial }`, sizes in px), so the site's CSS cannot reach it. All socket work goes through the
 * browser SDK (sdk/chat.js, bundled into the panel): reconnects,
 * sync, the outbox of unsent messages, typing, receipts. The visitor's guest id stays in
 * localStorage, so a returning visitor (any tab) finds their open conversation. Everything a
 * person wrote is inserted as text, never as HTML.
 *
 * This file is the launcher: the global and its queue, the settings, business hours and the bubble;
 * it loads the panel (panel.js, built as dist/widget-panel-<hash>.js next to it) with import() when the
 * visitor opens the widget or a conversation is open. scripts/build-web.sh (`make web`) bundles it
 * into one small classic script, web/dist/widget.js, which is what `/widget.js` serves.
 */
import { subject } from '../sdk/jwt.js';
import { openNow } from './hours.js';
import { LAUNCHER_TEXTS } from './launcher-texts.js';

(function () {
  'use strict';

  // The tag that loaded this file (currentScript; a tag injected by a tag manager is found by its attribute).
  const script = /** @type {HTMLScriptElement|null} */ (document.currentScript || document.querySelector('script[data-chat-url][src*="widget"]'));
  const data = (script && script.dataset) || {};
  // The global the API goes to: data-global, else ChatWidget. A page's own object of that name
  // (anything but our command queue, {q: [...]}) is left alone: then the API has no global (it is
  // still on the element, document.querySelector('chat-support-widget').api) and the console says so.
  const GLOBAL = /^[A-Za-z_$][\w$]{0,63}$/.test(data.global || '') ? String(data.global) : 'ChatWidget';
  const w = /** @type {any} */ (window);
  if (w.__chatWidgetLoaded) return; // the tag is on the page twice
  w.__chatWidgetLoaded = true;
  const existing = w[GLOBAL];
  const isQueue = !!existing && typeof existing === 'object' && Array.isArray(existing.q);
  if (existing && !isQueue) console.warn(`Chat widget: window.${GLOBAL} belongs to this page and was left alone; name the widget's global with data-global="…" on its script tag.`);

  const scriptUrl = new URL((script && script.src) || location.href, location.href);
  const CHAT_ORIGIN = scriptUrl.origin;
  // The panel: dist/widget-panel-<hash>.js (its name is built in: scripts/build-web.sh) next to a
  // widget.js served from dist/, else under dist/ (`/widget.js`).
  // @ts-ignore: defined by the build
  const PANEL_FILE = typeof __PANEL_FILE__ === 'string' ? __PANEL_FILE__ : 'widget-panel.js';
  const PANEL_URL = new URL(/\/dist\/[^/]*$/.test(scriptUrl.pathname) ? PANEL_FILE : `dist/${PANEL_FILE}`, scriptUrl).href;
  const CHAT_URL = String(data.chatUrl || CHAT_ORIGIN + '/api').replace(/\/+$/, '');
  const OPEN_KEY = `chat.widget.open|${CHAT_URL}`;
  const SESSION_KEY = `chat.widget.session|${CHAT_URL}`;
  const SETTINGS_KEY = `chat.widget.settings|${CHAT_URL}`;
  const COLOR = /^#(?:[0-9a-f]{3}|[0-9a-f]{6})$/i;

  /** @param {() => any} fn */
  const safe = (fn) => {
    try {
      return fn();
    } catch {
      return null;
    }
  };
  const getLocal = (/** @type {string} */ k) => safe(() => window.localStorage.getItem(k));

  /** @type {Record<string, any>} the site's settings, cached in localStorage, revalidated below */
  let settings = {};
  const cached = safe(() => JSON.parse(getLocal(SETTINGS_KEY) || 'null'));
  if (cached && cached.settings && typeof cached.settings === 'object') settings = cached.settings;

  // ------------------------------------------------------------------ the bubble

  const CSS = `
:host { all: initial !important; display: block !important; position: fixed !important; right: 0 !important; bottom: 0 !important; width: 0 !important; height: 0 !important; margin: 0 !important; padding: 0 !important; border: 0 !important; z-index: 2147483000 !important; visibility: visible !important; opacity: 1 !important; transform: none !important; pointer-events: none !important; }
*, *::before, *::after { box-sizing: border-box; }
[hidden] { display: none !important; }
.root { --accent: #2563eb; font-family: system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; font-size: 14px; line-height: 20px; color: #1f2328; }
button { font-family: inherit; cursor: pointer; margin: 0; }
.bubble { position: fixed; inset: auto 20px 20px auto; margin: 0; overflow: visible; width: 60px; height: 60px; border-radius: 30px; border: 0; padding: 0; background: var(--accent); color: #fff; pointer-events: auto; gap: 8px; display: flex; align-items: center; justify-content: center; box-shadow: 0 6px 18px rgba(0,0,0,.22), 0 2px 4px rgba(0,0,0,.12); transition: transform .15s ease; }
.bubble:hover { transform: scale(1.05); }
.bubble.labelled { width: auto; padding: 0 20px 0 16px; font-size: 15px; line-height: 20px; font-weight: 600; white-space: nowrap; }
.root.left .bubble { inset: auto auto 20px 20px; }
.bubble:focus-visible { outline: 3px solid #fff; box-shadow: 0 0 0 6px var(--accent); }
.bubble-icon { display: flex; }
@media (max-width: 480px) { .bubble { inset: auto 16px 16px auto; } .root.left .bubble { inset: auto auto 16px 16px; } }
@media (prefers-reduced-motion: reduce) { .bubble { transition: none; } }
`;
  const host = document.createElement('chat-support-widget');
  host.setAttribute('data-chat-widget', '');
  const shadow = host.attachShadow({ mode: 'open' });
  const style = document.createElement('style');
  style.textContent = CSS;
  const root = document.createElement('div');
  root.className = 'root';
  const bubble = document.createElement('button');
  bubble.type = 'button';
  bubble.className = 'bubble';
  bubble.setAttribute('aria-expanded', 'false');
  const iconBox = document.createElement('span');
  iconBox.className = 'bubble-icon';
  // The chat icon, as the panel draws it (fixed markup, never user content).
  iconBox.innerHTML = '<svg viewBox="0 0 24 24" width="28" height="28" aria-hidden="true" focusable="false"><path d="M21 12a8 8 0 0 1-11.6 7.1L4 20.5l1.4-4.9A8 8 0 1 1 21 12z" fill="none" stroke="currentColor" stroke-width="2" stroke-linecap="round" stroke-linejoin="round"></path></svg>';
  const label = document.createElement('span');
  label.className = 'launcher-label';
  label.setAttribute('aria-hidden', 'true');
  bubble.append(iconBox, label);
  root.append(bubble);
  shadow.append(style, root);
  const POPOVER = typeof HTMLElement.prototype.showPopover === 'function';
  if (POPOVER) bubble.setAttribute('popover', 'manual');

  /** The bubble's look and label, from the tag's data-* (first), the settings, then the defaults. */
  function relabel() {
    const s = settings;
    const str = (/** @type {any} */ v, /** @type {number} */ n) => (typeof v === 'string' && v.trim() ? [...v.trim()].slice(0, n).join('') : '');
    let lang = 'en';
    for (const tag of [data.locale, s.defaultLanguage, document.documentElement.lang, navigator.language]) {
      const l = String(tag || '').trim().toLowerCase().split(/[-_]/)[0];
      if (l && Object.prototype.hasOwnProperty.call(LAUNCHER_TEXTS, l)) {
        lang = l;
        break;
      }
    }
    const texts = (s.texts && typeof s.texts === 'object' && s.texts[lang] && typeof s.texts[lang] === 'object' && s.texts[lang]) || {};
    const [open, support] = LAUNCHER_TEXTS[lang];
    const title = str(data.title, 60) || str(s.teamName, 60) || (typeof texts.support === 'string' ? texts.support : support);
    bubble.setAttribute('aria-label', (typeof texts.open === 'string' ? texts.open : open).replace(/\{title\}/g, title));
    root.style.setProperty('--accent', COLOR.test(data.color || '') ? String(data.color) : COLOR.test(s.brandColor || '') ? s.brandColor : '#2563eb');
    root.classList.toggle('left', (data.position || s.position) === 'left');
    const text = str(data.launcherLabel, 40) || str(s.launcherLabel, 40);
    label.textContent = text;
    label.hidden = !text;
    bubble.classList.toggle('labelled', !!text);
    // awayBehavior "hide": no bubble outside business hours, unless a conversation is open.
    bubble.hidden = s.awayBehavior === 'hide' && !openNow(s.businessHours, Date.now()).open && !getLocal(SESSION_KEY);
  }
  relabel();

  /** @type {Promise<void>|null} the panel, once asked for */
  let panel = null;
  function mount() {
    if (panel) return; // the panel came first
    (document.body || document.documentElement).append(host);
    if (POPOVER) safe(() => bubble.showPopover());
  }
  if (document.body) mount();
  else document.addEventListener('DOMContentLoaded', mount, { once: true });

  // ------------------------------------------------------------------ settings

  /** The site's settings, fresh (GET {chat-url}/support/settings): the cached ones, or the defaults, show first. */
  const fresh = (async () => {
    try {
      // cache: 'no-cache' revalidates with the browser's own If-None-Match (an unchanged answer is a
      // 304 with no body; no CORS preflight, as a header of ours would need).
      const res = await fetch(`${CHAT_URL}/support/settings`, { credentials: 'omit', cache: 'no-cache' });
      if (!res.ok && res.status !== 404) return;
      const body = res.ok ? await res.json() : {};
      const next = body && body.settings && typeof body.settings === 'object' ? body.settings : {};
      if (JSON.stringify(next) === JSON.stringify(settings)) return;
      settings = next;
      safe(() => {
        if (res.ok) window.localStorage.setItem(SETTINGS_KEY, JSON.stringify({ etag: res.headers.get('etag'), version: body.version, updatedAt: body.updatedAt, settings }));
        else window.localStorage.removeItem(SETTINGS_KEY); // an older server: the defaults
      });
      relabel();
    } catch {
      /* offline or an older server: what is shown stays */
    }
  })();

  // ------------------------------------------------------------------ the panel, on demand

  /** Calls made before the panel is there: the page's queue first, then ours. @type {any[]} */
  const queue = isQueue ? [...existing.q] : [];
  function loadPanel() {
    if (panel) return panel;
    panel = import(/* webpackIgnore: true */ PANEL_URL).then(
      (m) => {
        real = m.start({ script, data, existing, isQueue, queue, host, getSettings: () => settings, fresh });
      },
      (e) => {
        panel = null;
        console.warn('Chat widget: its panel did not load', e);
      },
    );
    return panel;
  }
  /** @type {any} the panel's API, once it is there (this object then forwards to it) */
  let real = null;
  /** Whether the launcher may open the panel (not while hidden outside business hours). */
  const openable = () => !bubble.hidden;

  const api = {
    __widget: true,
    open() {
      queue.push(['open', []]);
      if (openable()) loadPanel();
    },
    close() {
      queue.push(['close', []]);
    },
    toggle() {
      queue.push(['open', []]); // closed until the panel is there: a toggle opens
      if (openable()) loadPanel();
    },
    /** @param {any} u */
    setUser(u) {
      queue.push(['setUser', [u]]);
    },
    /** @param {any} a */
    setAttributes(a) {
      queue.push(['setAttributes', [a]]);
    },
    /** @param {string} event @param {(arg: any) => void} fn */
    on(event, fn) {
      const entry = ['on', [event, fn]];
      queue.push(entry);
      return () => {
        const i = queue.indexOf(entry);
        if (i >= 0) queue.splice(i, 1);
        else real?.off(event, fn);
      };
    },
    /** @param {string} event @param {(arg: any) => void} fn */
    off(event, fn) {
      const i = queue.findIndex((e) => e[0] === 'on' && e[1][0] === event && e[1][1] === fn);
      if (i >= 0) queue.splice(i, 1);
    },
    getState() {
      const store = safe(() => JSON.parse(getLocal(`chat.widget.v1|${CHAT_URL}`) || '{}')) || {};
      // The site's user (setUser with a token, as the panel reads it), else the stored guest id.
      const set = queue.filter((e) => Array.isArray(e) && e[0] === 'setUser').pop();
      const token = set && Array.isArray(set[1]) && set[1][0] && set[1][0].token;
      const userId = (typeof token === 'string' && subject(token)) || (typeof store.guestId === 'string' ? store.guestId : null);
      return { state: openNow(settings.businessHours, Date.now()).open ? 'idle' : 'away', sessionId: null, userId, open: false };
    },
  };
  // Once the panel is there, a page that kept this object reaches the panel's API through it.
  for (const [name, fn] of Object.entries(api)) {
    if (typeof fn === 'function') /** @type {any} */ (api)[name] = (/** @type {any[]} */ ...args) => (real ? real[name](...args) : fn(...args));
  }
  if (!existing || isQueue) w[GLOBAL] = api;
  /** @type {any} */ (host).api = api;

  // A link from the site's e-mails (shared/src/mail): `#chat-resume=<guest id>` reopens that
  // guest's conversation in this browser, `#chat-open` opens the chat (a visitor the site signs
  // in). The fragment is removed at once: it never reaches a server, nor a shared URL.
  const link = /^#chat-(?:resume=(g_[0-9a-f]{32})|open)$/.exec(location.hash);
  if (link) {
    const key = `chat.widget.v1|${CHAT_URL}`;
    const kept = safe(() => JSON.parse(getLocal(key) || '{}')) || {};
    // Another guest's token and answers would speak for the wrong person: only the id is kept.
    if (link[1] && kept.guestId !== link[1]) safe(() => window.localStorage.setItem(key, JSON.stringify({ guestId: link[1] })));
    safe(() => window.localStorage.setItem(SESSION_KEY, '1'));
    safe(() => history.replaceState(history.state, '', location.pathname + location.search));
    queue.push(['open', []]);
  }

  bubble.addEventListener('click', () => api.open());
  // A conversation is open (this tab or another), or the panel was open in this tab: the panel now.
  // (or the page's queue asks to open it)
  const queuedOpen = queue.some((e) => Array.isArray(e) && (e[0] === 'open' || e[0] === 'toggle'));
  if ((queuedOpen && openable()) || getLocal(SESSION_KEY) || safe(() => window.sessionStorage.getItem(OPEN_KEY)) === '1') loadPanel();
  window.addEventListener('storage', (e) => {
    if (e.key === SESSION_KEY && e.newValue) loadPanel();
  });
  // Business hours open and close (awayBehavior "hide").
  const timer = setInterval(() => (panel ? clearInterval(timer) : relabel()), 60_000);
})();
