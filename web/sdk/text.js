// @ts-check
/**
 * text.js: plain-text helpers for chat UIs, without dependencies. Links are found in text, never
 * parsed from HTML: the caller builds elements from the segments with DOM APIs (textContent,
 * setAttribute), so nothing a user wrote becomes markup.
 *
 *   import { linkify } from './text.js';
 *   for (const part of linkify(message.content)) {
 *     if (part.href) { const a = document.createElement('a'); a.href = part.href; a.rel = 'noopener noreferrer'; a.target = '_blank'; a.textContent = part.text; el.append(a); }
 *     else el.append(part.text);
 *   }
 */

/**
 * @typedef {object} TextSegment A run of text, or a link when `href` is set.
 * @property {string} text what to show, exactly as written
 * @property {string} [href] the link's target: only `http:`, `https:` or `mailto:`
 */

/** The schemes a link may have. */
export const LINK_PROTOCOLS = new Set(['http:', 'https:', 'mailto:']);

// http(s)://… and www.…, mailto:…, and bare e-mail addresses.
const LINK_RE = /\b(?:https?:\/\/|www\.)[^\s<>"'`]+|\bmailto:[^\s<>"'`]+|[\p{L}\p{N}._%+-]+@[\p{L}\p{N}-]+(?:\.[\p{L}\p{N}-]+)*\.\p{L}{2,}/giu;

/** Characters that end a sentence rather than a URL. */
const TRAILING = new Set(['.', ',', ';', ':', '!', '?', "'", '"', '»', '…', '’', '”', '؟', '،', '。', '、']);
const PAIRS = /** @type {Record<string, string>} */ ({ ')': '(', ']': '[', '}': '{' });

/** Drops punctuation after a URL ("see https://x.org/a." → without the dot; balanced parentheses stay). @param {string} s */
function trimEnd(s) {
  for (;;) {
    const last = s[s.length - 1];
    if (TRAILING.has(last)) {
      s = s.slice(0, -1);
      continue;
    }
    const open = PAIRS[last];
    if (open && count(s, open) < count(s, last)) {
      s = s.slice(0, -1);
      continue;
    }
    return s;
  }
}

/** @param {string} s @param {string} ch */
function count(s, ch) {
  let n = 0;
  for (const c of s) if (c === ch) n++;
  return n;
}

/**
 * A safe link target for what was found in text, or null (another scheme, no host, not a URL).
 * @param {string} found @returns {string|null}
 */
export function linkTarget(found) {
  let href = found;
  if (/^www\./i.test(found)) href = `https://${found}`;
  else if (!/^[a-z][a-z0-9+.-]*:/i.test(found) && found.includes('@')) href = `mailto:${found}`;
  let u;
  try {
    u = new URL(href);
  } catch {
    return null;
  }
  if (!LINK_PROTOCOLS.has(u.protocol)) return null;
  if (u.protocol !== 'mailto:' && !u.hostname) return null;
  if (u.protocol === 'mailto:' && !/^[^@\s]+@[^@\s]+$/.test(decodeURIComponent(u.pathname))) return null;
  return u.href;
}

/**
 * Splits text into plain runs and links (http, https, www., mailto: and e-mail addresses).
 * Concatenating the segments' `text` gives the input back.
 * @param {string} text @returns {TextSegment[]}
 */
export function linkify(text) {
  /** @type {TextSegment[]} */
  const out = [];
  let at = 0;
  if (typeof text !== 'string' || !text) return out;
  for (const m of text.matchAll(LINK_RE)) {
    const start = m.index ?? 0;
    const found = trimEnd(m[0]);
    const href = found ? linkTarget(found) : null;
    if (!href) continue;
    if (start > at) out.push({ text: text.slice(at, start) });
    out.push({ text: found, href });
    at = start + found.length;
  }
  if (at < text.length) out.push({ text: text.slice(at) });
  return out;
}

/** Bytes for people: "512 B", "12.3 KB", "4.0 MB". @param {number} n */
export function formatBytes(n) {
  if (!(n >= 0)) return '';
  if (n < 1000) return `${n} B`;
  const units = ['KB', 'MB', 'GB', 'TB'];
  let v = n / 1000;
  let i = 0;
  while (v >= 1000 && i < units.length - 1) {
    v /= 1000;
    i++;
  }
  return `${v < 10 ? v.toFixed(1) : Math.round(v)} ${units[i]}`;
}

/** Bytes of UTF-8 (what the server's 16 KiB content limit counts). @param {string} s */
export function utf8Bytes(s) {
  return new TextEncoder().encode(s).length;
}
