// @ts-check
// Saved replies in the console's composer: `/` and letters open a filtered list (an accessible
// listbox driven from the textarea: arrows, Enter or Tab to insert, Escape to close); inserting
// fills the placeholders {visitor.name}, {visitor.email} and {operator.name}.

import { h } from '../sdk/dom.js';

/** @typedef {import('../sdk/chat.js').SavedReply} SavedReply */

/** The `/word` being typed just before the caret, or null. @param {string} text @param {number} caret */
export function slashQuery(text, caret) {
  const m = /(^|\s)\/([\w-]*)$/.exec(text.slice(0, caret));
  return m ? { query: m[2].toLowerCase(), start: caret - m[2].length - 1 } : null;
}

/** Replies whose shortcut starts with (then contains) the query, or whose title contains it. @param {SavedReply[]} replies @param {string} q */
export function matchReplies(replies, q) {
  const starts = replies.filter((r) => r.shortcut.toLowerCase().startsWith(q));
  const rest = replies.filter((r) => !starts.includes(r) && (r.shortcut.toLowerCase().includes(q) || (r.title || '').toLowerCase().includes(q)));
  return [...starts, ...rest].slice(0, 8);
}

/** Fills {visitor.name}, {visitor.email}, {operator.name}. @param {string} text @param {Record<string, string>} values */
export function fillPlaceholders(text, values) {
  return text.replace(/\{(visitor\.name|visitor\.email|operator\.name)\}/g, (_, k) => values[k] ?? '');
}

/**
 * Wires the picker to a textarea and a listbox element.
 * @param {{input: HTMLTextAreaElement, list: HTMLElement, replies: () => SavedReply[], values: () => Record<string, string>, onOpen?: () => void}} o
 * @returns {{close: () => void, isOpen: () => boolean}}
 */
export function replyPicker(o) {
  const { input, list } = o;
  /** @type {SavedReply[]} */
  let shown = [];
  let active = 0;
  /** @type {{query: string, start: number}|null} */
  let at = null;

  function close() {
    shown = [];
    at = null;
    list.hidden = true;
    list.replaceChildren();
    input.removeAttribute('aria-activedescendant');
  }

  function render() {
    list.replaceChildren(
      ...shown.map((r, i) =>
        h(
          'li',
          { id: `reply-opt-${i}`, role: 'option', class: 'reply-option', 'aria-selected': String(i === active), dataset: { shortcut: r.shortcut }, onmousedown: (/** @type {Event} */ e) => (e.preventDefault(), insert(i)) },
          h('span', { class: 'reply-shortcut' }, `/${r.shortcut}`),
          h('span', { class: 'reply-title' }, r.title || ''),
          h('span', { class: 'reply-text' }, r.text),
        ),
      ),
    );
    list.hidden = shown.length === 0;
    if (shown.length) input.setAttribute('aria-activedescendant', `reply-opt-${active}`);
    else input.removeAttribute('aria-activedescendant');
    list.querySelector('[aria-selected="true"]')?.scrollIntoView({ block: 'nearest' });
  }

  function update() {
    at = slashQuery(input.value, input.selectionStart ?? input.value.length);
    const before = shown.length;
    shown = at ? matchReplies(o.replies(), at.query) : [];
    if (!shown.length) return close();
    active = Math.min(active, shown.length - 1);
    if (!before && o.onOpen) o.onOpen();
    render();
  }

  /** @param {number} i */
  function insert(i) {
    const r = shown[i];
    if (!r || !at) return close();
    const text = fillPlaceholders(r.text, o.values());
    const end = input.selectionStart ?? input.value.length;
    input.value = input.value.slice(0, at.start) + text + input.value.slice(end);
    const caret = at.start + text.length;
    input.setSelectionRange(caret, caret);
    close();
    input.dispatchEvent(new Event('input', { bubbles: true }));
    input.focus();
  }

  input.addEventListener('input', update);
  input.addEventListener('blur', close);
  input.addEventListener(
    'keydown',
    (e) => {
      if (list.hidden || !shown.length) return;
      if (e.key === 'ArrowDown' || e.key === 'ArrowUp') {
        active = (active + (e.key === 'ArrowDown' ? 1 : shown.length - 1)) % shown.length;
        render();
      } else if (e.key === 'Enter' || e.key === 'Tab') insert(active);
      else if (e.key === 'Escape') close();
      else return;
      e.preventDefault();
      e.stopImmediatePropagation();
    },
    { capture: true },
  );
  return { close, isOpen: () => !list.hidden };
}
