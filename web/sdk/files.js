/**
 * files.js: what the SDK needs around files — which types show inline as images, the headers a
 * browser sets itself, base64url bytes (VAPID keys), and where files waiting to be uploaded are
 * kept (IndexedDB, so an upload queued offline survives a reload; memory otherwise).
 *
 * @typedef {object} FileStore Keeps the bytes of files not uploaded yet (e.g. in IndexedDB).
 * @property {(key: string, file: Blob) => Promise<void>} put
 * @property {(key: string) => Promise<Blob|undefined>} get
 * @property {(key: string) => Promise<void>} delete
 */

/** Types sent as `kind: image` (shown inline); any other file is `kind: file`. */
export const IMAGE_TYPES = new Set(['image/jpeg', 'image/png', 'image/gif', 'image/webp']);

/** Headers a browser sets itself (an XMLHttpRequest refuses them). */
export const UNSAFE_HEADERS = new Set(['content-length', 'host', 'connection', 'expect', 'keep-alive', 'te', 'trailer', 'transfer-encoding', 'upgrade', 'via', 'date', 'cookie', 'origin', 'referer', 'accept-encoding']);

/** A base64url string (a VAPID key) as bytes. @param {string} s */
export function base64UrlToBytes(s) {
  const b64 = s.replace(/-/g, '+').replace(/_/g, '/') + '='.repeat((4 - (s.length % 4)) % 4);
  const bin = atob(b64);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

/** Bytes as base64url (no padding). @param {ArrayBuffer|Uint8Array|null|undefined} buf */
export function bytesToBase64Url(buf) {
  if (!buf) return '';
  const b = buf instanceof Uint8Array ? buf : new Uint8Array(buf);
  let bin = '';
  for (const x of b) bin += String.fromCharCode(x);
  return btoa(bin).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

/**
 * Files waiting to be uploaded, in IndexedDB (Blobs are stored as they are), so an upload queued
 * offline survives a reload. Null where there is no IndexedDB.
 * @returns {FileStore|null}
 */
export function indexedDbFileStore(name = 'chat-files') {
  const idb = /** @type {any} */ (globalThis).indexedDB;
  if (!idb) return null;
  /** @type {Promise<IDBDatabase>|null} */
  let opening = null;
  const db = () =>
    (opening ||= new Promise((resolve, reject) => {
      const req = idb.open(name, 1);
      req.onupgradeneeded = () => req.result.createObjectStore('files');
      req.onsuccess = () => resolve(req.result);
      req.onerror = () => reject(req.error);
    }));
  /** @param {'readonly'|'readwrite'} mode @param {(s: IDBObjectStore) => IDBRequest} fn */
  const run = async (mode, fn) => {
    const d = await db();
    return new Promise((resolve, reject) => {
      const tx = d.transaction('files', mode);
      const req = fn(tx.objectStore('files'));
      tx.oncomplete = () => resolve(req.result);
      tx.onerror = () => reject(tx.error);
      tx.onabort = () => reject(tx.error);
    });
  };
  return {
    put: (key, file) => run('readwrite', (s) => s.put(file, key)).then(() => undefined),
    get: (key) => run('readonly', (s) => s.get(key)).then((v) => /** @type {Blob|undefined} */ (v || undefined)),
    delete: (key) => run('readwrite', (s) => s.delete(key)).then(() => undefined),
  };
}

/** Files in memory only. @returns {FileStore} */
export function memoryFileStore() {
  const m = new Map();
  return {
    put: async (k, f) => void m.set(k, f),
    get: async (k) => m.get(k),
    delete: async (k) => void m.delete(k),
  };
}
