// @ts-check
/**
 * attachments.js: files in a conversation, for any UI on the SDK — the chat UI (`chat-ui.js`), the
 * operator console and the support widget. Images as thumbnails (the local file while it is sent
 * from here, else its bytes through the SDK's members-only download), other files as cards (name,
 * size, type), an upload's progress with Cancel, a download under the file's name; and the ways
 * files come in: a button, a drop, a paste. Names are put in as text, never as markup.
 *
 *   const files = attachmentViews(chat, { container: () => root, onError: toast });
 *   bubble.append(files.render(message));                  // thumbnails, cards, progress
 *   takeFiles({ button, picker, zone, input, hint, enabled: () => !!current, onFiles: send });
 */

import { h, svg } from './dom.js';
import { IMAGE_TYPES, fileKind } from './files.js';
import { formatBytes } from './text.js';

/** @typedef {import('./chat.js').ChatClient} ChatClient */
/** @typedef {import('./chat.js').ChatMessage} ChatMessage */
/** @typedef {import('./chat.js').Attachment} Attachment */

/** The paperclip of an attach button (an icon from fixed path data). @param {number} [size] px */
export function clipIcon(size = 20) {
  const el = svg('svg', { viewBox: '0 0 24 24', width: String(size), height: String(size), 'aria-hidden': 'true', focusable: 'false' });
  el.append(svg('path', { d: 'M20 11.5l-7.8 7.8a5 5 0 0 1-7.1-7.1l8.5-8.5a3.4 3.4 0 0 1 4.8 4.8l-8.5 8.5a1.7 1.7 0 0 1-2.4-2.4l7.8-7.8', fill: 'none', stroke: 'currentColor', 'stroke-width': '1.8', 'stroke-linecap': 'round', 'stroke-linejoin': 'round' }));
  return el;
}

/**
 * @typedef {object} AttachmentViewOptions
 * @property {() => Node & ParentNode} container where a download's temporary link goes (the UI's root)
 * @property {(text: string) => void} [onError] says that a download failed
 * @property {(m: ChatMessage, a: Attachment) => void} [onOpenImage] a click on a thumbnail (default:
 *   download the image)
 * @property {number} [thumbSize] largest side of a thumbnail, px (240)
 */

/**
 * The views of a UI's attachments, with the blob: URLs of the images it showed (revoke them with
 * `destroy()`). @param {ChatClient} chat @param {AttachmentViewOptions} options
 */
export function attachmentViews(chat, options) {
  const max = options.thumbSize || 240;
  /** @type {Map<string, string>} attachment key or `local:<message key>` → blob: URL of the image */
  const imageUrls = new Map();
  /** @type {Map<string, Promise<string|null>>} */
  const imageLoads = new Map();

  /** @param {ChatMessage} m @param {Attachment} a */
  const imageKey = (m, a) => a.key || `local:${m.key}`;

  /** The displayed size of an image: at most `max` × `max`, keeping its ratio. @param {Attachment} a */
  function thumbSize(a) {
    const w = a.width || max;
    const hgt = a.height || Math.round((max * 3) / 4);
    const scale = Math.min(1, max / w, max / hgt);
    return { w: Math.max(40, Math.round(w * scale)), h: Math.max(40, Math.round(hgt * scale)) };
  }

  /**
   * A blob: URL for an image: the file itself while (and after) it is sent from here, else
   * downloaded through a presigned URL. @param {ChatMessage} m @param {Attachment} a
   * @returns {Promise<string|null>}
   */
  function loadImage(m, a) {
    const key = imageKey(m, a);
    const own = imageUrls.get(`local:${m.key}`);
    if (own) {
      imageUrls.set(key, own);
      return Promise.resolve(own);
    }
    const local = m.clientId ? chat.localFile(m.clientId) : undefined;
    if (local) {
      const url = URL.createObjectURL(local);
      imageUrls.set(`local:${m.key}`, url);
      imageUrls.set(key, url);
      return Promise.resolve(url);
    }
    if (!a.key) return Promise.resolve(null);
    let p = imageLoads.get(key);
    if (!p) {
      p = chat
        .attachmentBlob(m.roomId, a.key)
        .then((blob) => {
          const url = URL.createObjectURL(blob);
          imageUrls.set(key, url);
          return url;
        })
        .catch(() => {
          imageLoads.delete(key); // tried again on the next paint
          return null;
        });
      imageLoads.set(key, p);
    }
    return p;
  }

  /** @param {ChatMessage} m @param {Attachment} a */
  function thumbnail(m, a) {
    const { w, h: hh } = thumbSize(a);
    const img = /** @type {HTMLImageElement} */ (h('img', { alt: a.name, width: String(w), height: String(hh), decoding: 'async' }));
    const open = options.onOpenImage ? () => options.onOpenImage?.(m, a) : () => download(m.roomId, a);
    const label = options.onOpenImage ? `Open the image ${a.name}` : `Download the image ${a.name}, ${formatBytes(a.size)}`;
    const button = h('button', { type: 'button', class: 'thumb', 'aria-label': label, title: a.name, onclick: open }, img);
    button.style.width = `${w}px`;
    button.style.aspectRatio = `${w} / ${hh}`;
    const known = imageUrls.get(imageKey(m, a));
    if (known) img.src = known;
    else {
      button.classList.add('loading');
      loadImage(m, a).then((url) => {
        button.classList.remove('loading');
        if (url) img.src = url;
      });
    }
    return button;
  }

  /** @param {ChatMessage} m @param {Attachment} a */
  function fileCard(m, a) {
    const [type, label] = fileKind(a.mimeType, a.name);
    return h(
      'button',
      { type: 'button', class: 'file-card', disabled: !a.key, 'aria-label': `Download ${a.name}, ${formatBytes(a.size)}`, title: a.name, onclick: () => download(m.roomId, a) },
      h('span', { class: 'file-icon', dataset: { type }, 'aria-hidden': 'true', text: label }),
      h('span', { class: 'file-text' }, h('span', { class: 'file-name', dir: 'auto', text: a.name }), h('span', { class: 'file-size', text: `${formatBytes(a.size)} · ${label}` })),
    );
  }

  /** Downloads an attachment under its name (the presigned URL says `Content-Disposition: attachment`). @param {string} roomId @param {Attachment} a */
  async function download(roomId, a) {
    if (!a.key) return;
    try {
      const url = await chat.attachmentUrl(roomId, a.key);
      const link = h('a', { href: url, download: a.name, rel: 'noopener noreferrer' });
      link.hidden = true;
      options.container().append(link);
      link.click();
      link.remove();
    } catch (err) {
      options.onError?.(`Cannot download ${a.name}: ${err instanceof Error ? err.message : String(err)}`);
    }
  }

  /** A pending file message's upload: progress (or waiting) and Cancel; null once uploaded. @param {ChatMessage} m */
  function progress(m) {
    const up = m.upload;
    if (!up || up.state === 'uploaded' || m.status === 'failed' || !m.clientId) return null;
    const clientId = m.clientId;
    const pct = Math.floor((100 * up.loaded) / (up.total || 1));
    const name = m.attachments?.[0]?.name || 'file';
    return h(
      'div',
      { class: 'upload', dataset: { state: up.state } },
      up.state === 'uploading'
        ? [h('progress', { max: '100', value: String(pct), 'aria-label': `Uploading ${name}` }), h('span', { class: 'upload-pct', text: `${pct}%` })]
        : h('span', { text: chat.ready ? 'Waiting to upload…' : 'Waits for the connection' }),
      h('button', { type: 'button', class: 'link cancel-upload', 'aria-label': `Cancel the upload of ${name}`, onclick: () => chat.cancelUpload(clientId) }, 'Cancel'),
    );
  }

  return {
    /** A message's files: thumbnails and cards, and its upload while pending. @param {ChatMessage} m */
    render(m) {
      const box = h('div', { class: 'attachments' });
      for (const a of m.attachments || []) box.append(m.kind === 'image' && IMAGE_TYPES.has(a.mimeType) ? thumbnail(m, a) : fileCard(m, a));
      const up = progress(m);
      if (up) box.append(up);
      return box;
    },
    /** What changes how a message's files look (for a UI that repaints only on change). @param {ChatMessage} m */
    signature(m) {
      const up = m.upload;
      return JSON.stringify([m.attachments, m.status, up && [up.state, Math.floor((100 * up.loaded) / (up.total || 1))]]);
    },
    download,
    loadImage,
    /** An image's blob: URL if it is loaded. @param {ChatMessage} m @param {Attachment} a */
    imageUrl: (m, a) => imageUrls.get(imageKey(m, a)),
    /** Revokes the images' blob: URLs. */
    destroy() {
      for (const url of new Set(imageUrls.values())) URL.revokeObjectURL(url);
      imageUrls.clear();
      imageLoads.clear();
    },
  };
}

/**
 * @typedef {object} TakeFilesOptions
 * @property {(files: File[]) => void} onFiles files picked, dropped or pasted
 * @property {() => boolean} [enabled] whether files are taken now (default: always)
 * @property {HTMLElement} [button] opens the file picker
 * @property {HTMLInputElement} [picker] the hidden `<input type=file>` the button opens
 * @property {HTMLElement} [zone] where files can be dropped
 * @property {HTMLElement} [hint] shown while files are dragged over the zone
 * @property {HTMLElement} [input] where a paste of files (a screenshot) is taken
 */

/**
 * Takes files from a button (a file picker), a drop on a zone, a paste in a text field.
 * Returns a function that stops listening. @param {TakeFilesOptions} o
 */
export function takeFiles(o) {
  /** @type {(() => void)[]} */
  const offs = [];
  /** @param {EventTarget|undefined} target @param {string} type @param {(e: any) => void} fn */
  const on = (target, type, fn) => {
    if (!target) return;
    target.addEventListener(type, fn);
    offs.push(() => target.removeEventListener(type, fn));
  };
  const enabled = () => (o.enabled ? o.enabled() : true);
  /** @param {File[]} files */
  const take = (files) => {
    if (files.length && enabled()) o.onFiles(files);
  };
  const picker = o.picker;
  on(o.button, 'click', () => picker?.click());
  on(picker, 'change', () => {
    if (!picker) return;
    take([...(picker.files || [])]);
    picker.value = '';
  });
  let depth = 0;
  const hint = (/** @type {boolean} */ shown) => o.hint && (o.hint.hidden = !shown);
  const hasFiles = (/** @type {DragEvent} */ e) => !!e.dataTransfer && [...e.dataTransfer.types].includes('Files');
  on(o.zone, 'dragenter', (/** @type {DragEvent} */ e) => {
    if (!enabled() || !hasFiles(e)) return;
    e.preventDefault();
    depth++;
    hint(true);
  });
  on(o.zone, 'dragover', (/** @type {DragEvent} */ e) => {
    if (!enabled() || !hasFiles(e)) return;
    e.preventDefault();
    if (e.dataTransfer) e.dataTransfer.dropEffect = 'copy';
  });
  on(o.zone, 'dragleave', () => {
    depth = Math.max(0, depth - 1);
    if (!depth) hint(false);
  });
  on(o.zone, 'drop', (/** @type {DragEvent} */ e) => {
    if (!enabled() || !hasFiles(e)) return;
    e.preventDefault();
    depth = 0;
    hint(false);
    take(e.dataTransfer ? [...e.dataTransfer.files] : []);
  });
  on(o.input, 'paste', (/** @type {ClipboardEvent} */ e) => {
    const files = e.clipboardData ? [...e.clipboardData.files] : [];
    if (!files.length || !enabled()) return;
    e.preventDefault();
    take(files);
  });
  return () => offs.splice(0).forEach((off) => off());
}
