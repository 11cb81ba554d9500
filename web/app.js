// @ts-check
// The demo page: a thin host of the chat UI (sdk/chat-ui.js). It signs in through the local
// stack's development token endpoint, then mounts the whole chat in #chat. A real site does the
// same with its own token provider (its backend signs the JWT) — see web/README.md.

import { mountChat } from './sdk/chat-ui.js';

const SESSION_KEY = 'chat.demo.session';
/** The REST API of the local stack (on AWS: the stack's HttpApiUrl output). */
const API_URL = `${location.origin}/api`;

/** @param {string} id @returns {any} */
const $ = (id) => document.getElementById(id);

// The service worker: the offline app shell now, push notifications once the user turns them on
// (the permission is asked on a click, never on load).
const swReady = 'serviceWorker' in navigator ? navigator.serviceWorker.register('./sw.js').then(() => navigator.serviceWorker.ready, () => null) : null;

/** @type {{userId: string, name: string, wsUrl: string}|null} */
let session = null;
/** @type {import('./sdk/chat-ui.js').ChatMount|null} */
let ui = null;

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
  $('chat').hidden = true;
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

/** @param {string} [firstToken] a token already fetched; later connections fetch fresh ones */
function start(firstToken) {
  if (!session) return;
  const s = session;
  $('signin').hidden = true;
  $('chat').hidden = false;
  let cached = firstToken;
  ui = mountChat($('chat'), {
    url: s.wsUrl,
    apiUrl: API_URL,
    userId: s.userId,
    name: s.name,
    token: async () => {
      const t = cached;
      cached = undefined;
      return t || (await devToken(s.userId, s.name)).token;
    },
    serviceWorker: swReady ? /** @type {Promise<ServiceWorkerRegistration>} */ (swReady) : undefined,
    onSignOut: signOut,
  });
}

function signOut() {
  ui?.destroy({ forget: true });
  ui = null;
  sessionStorage.removeItem(SESSION_KEY);
  session = null;
  history.replaceState(null, '', location.pathname);
  showSignIn();
}

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

// Tests and curious developers: the live client and the UI's root (a shadow root).
Object.defineProperty(window, 'chatApp', { get: () => ({ chat: ui?.chat ?? null, session, current: ui?.current ?? null, root: ui?.root ?? null, ui }) });

boot();
