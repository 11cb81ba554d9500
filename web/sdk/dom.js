// @ts-check
/**
 * dom.js: the small DOM helpers the chat UI (`chat-ui.js`), the operator console and the support
 * widget share. Text always goes in as text nodes, never as markup.
 */

/**
 * Creates an element. Strings among `children` become text nodes.
 * @param {string} tag @param {Record<string, any>} [props] @param {...any} children
 * @returns {HTMLElement}
 */
export function h(tag, props = {}, ...children) {
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

/** A stable hue (0–359) for an id. @param {string} s */
export function hue(s) {
  let x = 0;
  for (const ch of s) x = (x * 31 + (ch.codePointAt(0) ?? 0)) % 360;
  return x;
}

/**
 * An avatar: the name's first letter on the id's colour.
 * @param {HTMLElement} el @param {string} name @param {string} id
 * @param {number} saturation @param {number} lightness percentages
 */
export function avatar(el, name, id, saturation, lightness) {
  el.textContent = [...(name || id || '?').trim()][0]?.toUpperCase() || '?';
  el.style.background = `hsl(${hue(id || name)} ${saturation}% ${lightness}%)`;
}

/** "09:41" in the user's locale. @param {number} t */
export function clock(t) {
  return new Date(t).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
}

const SVG_NS = 'http://www.w3.org/2000/svg';

/** An SVG element with attributes. @param {string} tag @param {Record<string, string>} attrs */
export function svg(tag, attrs) {
  const el = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, v);
  return el;
}

/** What each state of an own message is called (title and accessible name of its ticks). */
export const STATUS_LABEL = { sending: 'Sending', sent: 'Sent', delivered: 'Delivered', read: 'Read', failed: 'Not sent' };

/**
 * The tick icon of an own message: a clock while sending, one tick sent, two delivered or read
 * (read is coloured by the page's CSS through `data-status`), a "!" in a disc when it failed.
 * @param {string} status @param {number} [width] px (height follows, 3:2)
 */
export function ticks(status, width = 22) {
  const icon = svg('svg', { viewBox: '0 0 18 12', width: String(width), height: String(Math.round((width * 2) / 3)), 'aria-hidden': 'true' });
  const stroke = { fill: 'none', stroke: 'currentColor', 'stroke-width': '1.7', 'stroke-linecap': 'round', 'stroke-linejoin': 'round' };
  if (status === 'sending') {
    icon.append(svg('circle', { cx: '7', cy: '6', r: '4.6', ...stroke }), svg('path', { d: 'M7 3.6V6l1.7 1.2', ...stroke }));
  } else if (status === 'failed') {
    icon.append(svg('circle', { cx: '7', cy: '6', r: '5', fill: 'currentColor' }), svg('path', { d: 'M7 3.2v3.4M7 8.6v.2', ...stroke, stroke: '#fff' }));
  } else {
    icon.append(svg('path', { d: 'M1.5 6.6l3 3L11 2.2', ...stroke }));
    if (status === 'delivered' || status === 'read') icon.append(svg('path', { d: 'M8.3 8.8l.8.8L15.6 2.2', ...stroke }));
  }
  const label = STATUS_LABEL[/** @type {keyof typeof STATUS_LABEL} */ (status)] || status;
  return h('span', { class: 'ticks', dataset: { status }, title: label, role: 'img', 'aria-label': label }, icon);
}

/**
 * A function that says something to screen readers through a live region: cleared first and set
 * on the next frame, so the same words are announced again.
 * @param {() => HTMLElement} region
 * @returns {(text: string) => void}
 */
export function announcer(region) {
  return (text) => {
    const el = region();
    el.textContent = '';
    requestAnimationFrame(() => (el.textContent = text));
  };
}

/**
 * A function that shows a short message in an element for `ms`, then hides it; `.cancel()` stops
 * a pending hide (when the UI goes away).
 * @param {() => HTMLElement} element @param {number} [ms]
 * @returns {((text: string) => void) & {cancel: () => void}}
 */
export function toaster(element, ms = 5000) {
  /** @type {any} */
  let timer = null;
  /** @param {string} text */
  const show = (text) => {
    const el = element();
    el.textContent = text;
    el.hidden = false;
    clearTimeout(timer);
    timer = setTimeout(() => (el.hidden = true), ms);
  };
  return Object.assign(show, { cancel: () => clearTimeout(timer) });
}
