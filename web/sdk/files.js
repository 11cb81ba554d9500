/**
 * files.js: what the SDK needs around files — which types show inline as images, the headers a
 * browser sets itself, base64url bytes (VAPID keys), and where files waiting to be uploaded are
 * kept (IndexedDB, so an upload queued offline survives a reload; memory otherwise); and what UIs
 * check before an upload starts: the server's limits (`UPLOAD_LIMITS`), in words for people.
 *
 * @typedef {object} FileStore Keeps the bytes of files not uploaded yet (e.g. in IndexedDB).
 * @property {(key: string, file: Blob) => Promise<void>} put
 * @property {(key: string) => Promise<Blob|undefined>} get
 * @property {(key: string) => Promise<void>} delete
 */

import { formatBytes } from './text.js';

/** Types sent as `kind: image` (shown inline); any other file is `kind: file`. */
export const IMAGE_TYPES = new Set(['image/jpeg', 'image/png', 'image/gif', 'image/webp']);

/**
 * @typedef {object} UploadLimits What the server takes as an attachment.
 * @property {number} maxBytes largest file, in bytes
 * @property {readonly string[]} types content types allowed (lower case)
 */

/**
 * The server's limits as deployed by default (the template's MaxUploadBytes and AllowedUploadTypes;
 * a test holds them to shared/src/app.rs). A UI checks a file against them before uploading it.
 * @type {Readonly<UploadLimits>}
 */
export const UPLOAD_LIMITS = Object.freeze({
  maxBytes: 25 * 1024 * 1024,
  types: Object.freeze([
    'image/jpeg', 'image/png', 'image/gif', 'image/webp', 'application/pdf', 'text/plain', 'text/csv',
    'application/msword', 'application/vnd.openxmlformats-officedocument.wordprocessingml.document',
    'application/vnd.ms-excel', 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
    'application/vnd.ms-powerpoint', 'application/vnd.openxmlformats-officedocument.presentationml.presentation',
    'application/vnd.oasis.opendocument.text', 'application/vnd.oasis.opendocument.spreadsheet',
  ]),
});

/**
 * What kind of file, for its icon: a type for CSS and a short label.
 * @param {string} mime @param {string} name @returns {[string, string]}
 */
export function fileKind(mime, name) {
  const ext = (name.split('.').pop() || '').toLowerCase();
  if (mime === 'application/pdf' || ext === 'pdf') return ['pdf', 'PDF'];
  if (/word|opendocument\.text/.test(mime) || ['doc', 'docx', 'odt'].includes(ext)) return ['doc', 'DOC'];
  if (/excel|spreadsheet/.test(mime) || ['xls', 'xlsx', 'ods'].includes(ext)) return ['sheet', 'XLS'];
  if (mime === 'text/csv' || ext === 'csv') return ['sheet', 'CSV'];
  if (/powerpoint|presentation/.test(mime) || ['ppt', 'pptx'].includes(ext)) return ['slides', 'PPT'];
  if (mime.startsWith('text/')) return ['text', 'TXT'];
  if (mime.startsWith('image/')) return ['image', 'IMG'];
  return ['file', 'FILE'];
}

/** How people call a content type. @param {string} t */
function typeWord(t) {
  if (t === 'text/plain') return 'text';
  if (t === 'text/csv') return 'CSV';
  if (t === 'application/pdf') return 'PDF';
  if (/msword|wordprocessing/.test(t)) return 'Word';
  if (/excel|spreadsheetml/.test(t)) return 'Excel';
  if (/powerpoint|presentation/.test(t)) return 'PowerPoint';
  if (/opendocument/.test(t)) return 'OpenDocument';
  return (t.split('/')[1] || t).replace(/^x-/, '').toUpperCase();
}

/** A limit in words, rounded down: "26 MB". @param {number} bytes */
export function formatLimit(bytes) {
  for (const [unit, size] of /** @type {[string, number][]} */ ([['GB', 1e9], ['MB', 1e6], ['KB', 1e3]])) {
    if (bytes >= size) return `${Math.floor(bytes / size)} ${unit}`;
  }
  return formatBytes(bytes);
}

/**
 * The limits in words, for a hint or an error: "Images (JPEG, PNG, GIF, WebP), PDF, text, CSV,
 * Word, Excel, PowerPoint and OpenDocument files, up to 26 MB".
 * @param {UploadLimits} [limits]
 */
export function describeLimits(limits = UPLOAD_LIMITS) {
  const images = limits.types.filter((t) => t.startsWith('image/')).map((t) => (t === 'image/webp' ? 'WebP' : t.slice(6).toUpperCase()));
  const others = [...new Set(limits.types.filter((t) => !t.startsWith('image/')).map(typeWord))];
  const kinds = [images.length ? `Images (${images.join(', ')})` : '', ...others].filter(Boolean);
  const list = kinds.length > 1 ? `${kinds.slice(0, -1).join(', ')} and ${kinds[kinds.length - 1]}` : kinds[0] || 'Files';
  return `${list}${others.length ? ' files' : ''}, up to ${formatLimit(limits.maxBytes)}`;
}

/**
 * Why a file cannot be sent, checked before its upload starts (the server refuses it anyway), or
 * null. `code`: `too_large`, `type_refused` or `empty`; neither can succeed on a retry.
 * @param {{size: number, type?: string, name?: string}} file @param {UploadLimits} [limits]
 * @returns {{code: string, message: string}|null}
 */
export function refuseFile(file, limits = UPLOAD_LIMITS) {
  const name = file.name || 'This file';
  if (!(file.size > 0)) return { code: 'empty', message: `${name} is empty.` };
  if (file.size > limits.maxBytes) return { code: 'too_large', message: `${name} is too large (${formatBytes(file.size)}): files can be up to ${formatLimit(limits.maxBytes)}.` };
  const type = (file.type || '').toLowerCase();
  if (!limits.types.includes(type)) return { code: 'type_refused', message: `${name} cannot be sent: this type of file is not accepted. Accepted: ${describeLimits(limits)}.` };
  return null;
}

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
