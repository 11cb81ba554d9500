// @ts-check
/**
 * dom.js: the small DOM helpers the chat UI (`chat-ui.js`) and the operator console share.
 * Text always goes in as text nodes, never as markup.
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
