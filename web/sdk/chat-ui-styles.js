// The mounted chat UI's styles (chat-ui.js). A string adopted into the UI's shadow root as a
// constructed style sheet: nothing of the host page's CSS reaches the UI, nothing of this reaches
// the page, and a strict Content-Security-Policy (style-src 'self', no 'unsafe-inline') allows it.
// Sizes are in px (not rem): the host page's root font size does not matter. Logical properties
// (inline-start/end) so that a right-to-left page mirrors the layout.

export const CSS = `
:host {
  all: initial;
  display: block;
  height: 100%;
  min-height: 0;
  min-width: 0;
  contain: layout paint;
}
.shell {
  --bg: #eef2f6;
  --panel: #ffffff;
  --line: #d5dce4;
  --text: #0f172a;
  --muted: #526071;
  --accent: #1d5fd6;
  --accent-dark: #184fb3;
  --mine: #dbeafe;
  --theirs: #ffffff;
  --read: #0369a1;
  --danger: #b91c1c;
  --ok: #15803d;
  --radius: 14px;
  container: chat / inline-size;
  height: 100%;
  width: 100%;
  font: 15px/1.35 system-ui, -apple-system, "Segoe UI", Roboto, "Noto Sans", "DejaVu Sans", "Liberation Sans", sans-serif;
  color: var(--text);
  background: var(--bg);
  text-align: start;
  -webkit-text-size-adjust: 100%;
}
*, *::before, *::after { box-sizing: border-box; }
[hidden] { display: none !important; }
button, input, textarea { font: inherit; color: inherit; letter-spacing: inherit; }
.muted { color: var(--muted); }
.sr-only { position: absolute !important; width: 1px; height: 1px; margin: -1px; padding: 0; overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; border: 0; }

button {
  cursor: pointer;
  border: 1px solid var(--line);
  background: var(--panel);
  border-radius: 8px;
  padding: 7px 12px;
  min-height: 34px;
}
button:hover { border-color: #a9b6c5; }
button:disabled { cursor: default; opacity: 0.6; }
:focus-visible { outline: 2px solid var(--accent); outline-offset: 1px; }
button.primary { background: var(--accent); border-color: var(--accent); color: #fff; font-weight: 600; }
button.primary:hover:not(:disabled) { background: var(--accent-dark); }
button.link { border: none; background: none; padding: 2px 6px; min-height: 0; color: var(--accent); }
button.link:hover { text-decoration: underline; }
.danger { color: var(--danger) !important; }
.icon-button { display: inline-grid; place-items: center; padding: 0; width: 36px; height: 36px; border-radius: 50%; border: none; background: none; color: var(--muted); flex: none; }
.icon-button:hover { background: #e8edf3; color: var(--text); }
.icon-button[aria-pressed="true"] { color: var(--accent); }
.icon-button svg { display: block; }

input, textarea {
  border: 1px solid var(--line);
  border-radius: 8px;
  padding: 8px 10px;
  background: #fff;
  width: 100%;
  min-width: 0;
}

/* ---------------------------------------------------------------- layout */

.cu { height: 100%; display: grid; grid-template-columns: minmax(240px, 320px) minmax(0, 1fr); grid-template-rows: minmax(0, 1fr); position: relative; overflow: hidden; }
.sidebar { background: var(--panel); border-inline-end: 1px solid var(--line); display: flex; flex-direction: column; min-height: 0; min-width: 0; }
.conversation { display: flex; flex-direction: column; min-width: 0; min-height: 0; position: relative; }

.avatar {
  position: relative;
  flex: none;
  width: 38px;
  height: 38px;
  border-radius: 50%;
  display: grid;
  place-items: center;
  color: #fff;
  font-weight: 700;
  background: #64748b;
}
.dot { position: absolute; inset-inline-end: -1px; bottom: -1px; width: 12px; height: 12px; border-radius: 50%; border: 2px solid var(--panel); }
.dot.on { background: var(--ok); }
.dot.off { background: #8a96a6; }

.me { display: flex; align-items: center; gap: 8px; padding: 12px; border-bottom: 1px solid var(--line); min-width: 0; }
.me-text { display: flex; flex-direction: column; min-width: 0; flex: 1; font-size: 14px; }
.me-text strong { font-size: 15px; }
.me-text > * { overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
.conn { font-size: 12px; padding: 2px 8px; border-radius: 999px; background: #fef3c7; color: #7c2d12; white-space: nowrap; flex: none; }
.conn[data-state="online"] { background: #dcfce7; color: #14532d; }
.conn[data-state="offline"] { background: #fee2e2; color: #7f1d1d; }
.signout { font-size: 13px; color: var(--muted); flex: none; }

.new-room { padding: 10px 12px; border-bottom: 1px solid var(--line); }
.new-room-buttons { display: flex; gap: 8px; }
.new-room-buttons button { flex: 1; font-size: 14px; min-width: 0; }
.new-room-buttons button[aria-expanded="true"] { background: #eff6ff; border-color: var(--accent); }
.new-room-form { display: flex; flex-direction: column; gap: 6px; margin-top: 10px; font-size: 14px; }
.new-room-form label { color: var(--muted); }
.row { display: flex; gap: 6px; min-width: 0; }

.offer { margin: 0 12px 8px; padding: 8px 10px; border-radius: 10px; background: #e8f0fe; font-size: 14px; display: flex; flex-wrap: wrap; gap: 6px; align-items: center; }
.offer span { flex: 1 1 160px; }

.rooms-empty { margin: 0; padding: 16px; font-size: 14px; line-height: 1.4; }
.rooms { list-style: none; margin: 0; padding: 6px; overflow-y: auto; flex: 1; min-height: 0; }
.room-button {
  width: 100%;
  display: grid;
  grid-template-columns: auto minmax(0, 1fr) auto;
  align-items: center;
  gap: 10px;
  border: none;
  border-radius: 10px;
  padding: 9px 8px;
  background: none;
  text-align: start;
  min-height: 56px;
}
.room-button:hover { background: #f1f5f9; }
.room.selected .room-button { background: #e0ecff; }
.room-main { display: flex; flex-direction: column; min-width: 0; }
.room-title, .preview-text { overflow: hidden; text-overflow: ellipsis; white-space: nowrap; text-align: match-parent; min-width: 0; }
.room-title { font-weight: 600; }
.room-preview { display: flex; min-width: 0; color: var(--muted); font-size: 14px; }
.preview-who { flex: 0 0 auto; max-width: 50%; overflow: hidden; text-overflow: ellipsis; white-space: pre; }
.room.has-unread .room-preview { color: var(--text); }
.room-side { display: flex; flex-direction: column; align-items: flex-end; gap: 4px; min-width: 0; }
.room-time { font-size: 12px; color: var(--muted); white-space: nowrap; }
.room-flags { display: flex; gap: 4px; align-items: center; }
.badge { min-width: 20px; height: 20px; padding: 0 6px; border-radius: 999px; background: var(--accent); color: #fff; font-size: 12px; font-weight: 700; display: grid; place-items: center; white-space: nowrap; }
.muted-icon { color: var(--muted); display: inline-flex; }

/* ---------------------------------------------------------------- conversation */

.banner {
  display: flex;
  flex-wrap: wrap;
  gap: 4px 10px;
  align-items: center;
  justify-content: center;
  padding: 8px 14px;
  background: #fef3c7;
  color: #713f12;
  font-size: 14px;
  border-bottom: 1px solid #fde68a;
  text-align: center;
}
.no-room { flex: 1; display: grid; place-items: center; padding: 16px; text-align: center; }

.conv-header { display: flex; align-items: center; gap: 10px; padding: 8px 12px; background: var(--panel); border-bottom: 1px solid var(--line); min-width: 0; }
.conv-text { display: flex; flex-direction: column; min-width: 0; flex: 1; }
.conv-text > * { overflow: hidden; text-overflow: ellipsis; white-space: nowrap; text-align: match-parent; }
.conv-sub { font-size: 13px; }
.conv-sub[data-online="true"] { color: var(--ok); }
.back { display: none; font-size: 22px; line-height: 1; padding: 2px 10px; flex: none; }

.messages { flex: 1; overflow-y: auto; overflow-x: hidden; padding: 8px 16px 4px; min-height: 0; overscroll-behavior: contain; }
.older { text-align: center; font-size: 13px; margin: 6px 0 10px; min-height: 1em; }
.room-start { text-align: center; margin: 0 0 10px; }
.message-list { list-style: none; margin: 0; padding: 0; display: flex; flex-direction: column; gap: 4px; }

.msg { display: flex; flex-direction: column; max-width: min(78%, 560px); min-width: 0; position: relative; }
.msg.mine { align-self: flex-end; align-items: flex-end; }
.msg.theirs { align-self: flex-start; align-items: flex-start; }
.msg.cont { margin-top: -2px; }
.msg.system { align-self: center; max-width: 92%; }
.system-text, .system-line { font-size: 13px; color: #334155; background: #e2e8f0; padding: 3px 10px; border-radius: 999px; display: inline-block; max-width: 100%; overflow-wrap: anywhere; }

.bubble-row { display: flex; align-items: flex-start; gap: 2px; max-width: 100%; min-width: 0; }
.msg.mine .bubble-row { flex-direction: row-reverse; }
.bubble {
  padding: 7px 10px 5px;
  border-radius: var(--radius);
  background: var(--theirs);
  box-shadow: 0 1px 1px rgba(15, 23, 42, 0.08);
  min-width: 72px;
  max-width: 100%;
  overflow-wrap: anywhere;
}
.msg.theirs:not(.cont) .bubble { border-end-start-radius: 4px; }
.msg.mine:not(.cont) .bubble { border-end-end-radius: 4px; }
.msg.mine .bubble { background: var(--mine); }
.sender { font-size: 13px; font-weight: 700; color: var(--accent-dark); margin-bottom: 2px; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
.content { white-space: pre-wrap; unicode-bidi: plaintext; text-align: start; }
.content a { color: var(--accent-dark); text-decoration: underline; }
.content.tombstone { font-style: italic; color: var(--muted); }
.content.clamped { max-height: 18em; overflow: hidden; -webkit-mask-image: linear-gradient(#000 75%, transparent); mask-image: linear-gradient(#000 75%, transparent); }
.show-more { font-size: 13px; padding: 2px 0; }
.quote {
  font-size: 13px;
  border-inline-start: 3px solid var(--accent);
  background: rgba(37, 99, 235, 0.07);
  padding: 3px 8px;
  border-radius: 4px;
  margin-bottom: 4px;
  color: #334155;
  white-space: pre-wrap;
  overflow: hidden;
}
.meta { display: flex; justify-content: flex-end; align-items: center; gap: 5px; font-size: 12px; color: var(--muted); margin-top: 2px; }
.edited { font-style: italic; }
.ticks { display: inline-flex; color: #5f6b7a; }
.ticks[data-status="read"] { color: var(--read); }
.ticks[data-status="failed"] { color: var(--danger); }

.attachments { display: flex; flex-direction: column; gap: 6px; margin-bottom: 2px; min-width: 0; }
.thumb { -webkit-tap-highlight-color: transparent; display: block; padding: 0; border: none; border-radius: 10px; overflow: hidden; background: #cbd5e1; max-width: 100%; width: 240px; min-height: 0; }
.thumb img { display: block; width: 100%; height: 100%; object-fit: cover; }
.thumb.loading { background: linear-gradient(90deg, #cbd5e1, #e2e8f0, #cbd5e1); }
.file-card { display: grid; grid-template-columns: auto minmax(0, 1fr); gap: 10px; align-items: center; text-align: start; padding: 8px 10px; border-radius: 10px; background: rgba(255, 255, 255, 0.7); border: 1px solid var(--line); width: 260px; max-width: 100%; }
.file-icon { width: 36px; height: 42px; border-radius: 6px; display: grid; place-items: center; font-size: 11px; font-weight: 800; color: #fff; background: #64748b; letter-spacing: 0.02em; }
.file-icon[data-type="pdf"] { background: #b91c1c; }
.file-icon[data-type="doc"] { background: #1d4ed8; }
.file-icon[data-type="sheet"] { background: #15803d; }
.file-icon[data-type="slides"] { background: #c2410c; }
.file-icon[data-type="text"] { background: #475569; }
.file-icon[data-type="image"] { background: #7c3aed; }
.file-text { display: flex; flex-direction: column; min-width: 0; }
.file-name { font-weight: 600; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; text-align: match-parent; }
.file-size { font-size: 12px; color: var(--muted); }
.upload { display: flex; align-items: center; gap: 6px; font-size: 13px; color: var(--muted); }
.upload progress { flex: 1; min-width: 80px; height: 8px; accent-color: var(--accent); }

.failed { font-size: 13px; color: var(--danger); display: flex; flex-wrap: wrap; gap: 4px; align-items: center; margin-top: 2px; }
.more { width: 30px; height: 30px; font-size: 18px; line-height: 1; opacity: 0; align-self: center; }
.msg:focus-within .more, .msg.show-actions .more { opacity: 1; }
.actions { display: none; gap: 2px; font-size: 13px; flex-wrap: wrap; }
.msg:focus-within .actions, .msg.show-actions .actions, .actions.confirming { display: flex; }
.actions.confirming { gap: 6px; align-items: center; color: var(--muted); }
.actions button { font-size: 13px; color: #475569; padding: 4px 8px; }
@media (hover: hover) {
  .msg:hover .more { opacity: 1; }
  .msg:hover .actions { display: flex; }
}
@media (hover: none) {
  .more { opacity: 0.75; }
  .bubble { -webkit-user-select: none; user-select: none; -webkit-touch-callout: none; }
}
@media (pointer: coarse) {
  .actions button { min-height: 40px; padding: 8px 12px; }
  .more { width: 40px; height: 40px; }
}

.typing { min-height: 22px; padding: 0 18px 2px; font-size: 13px; color: var(--muted); font-style: italic; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }

.composer { background: var(--panel); border-top: 1px solid var(--line); padding: 8px 12px; padding-bottom: max(8px, env(safe-area-inset-bottom)); }
.composer-context { display: flex; align-items: center; gap: 8px; font-size: 14px; padding: 4px 8px; margin-bottom: 8px; border-inline-start: 3px solid var(--accent); background: #f1f5ff; border-radius: 4px; min-width: 0; }
.composer-context > span { flex: 1; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; min-width: 0; }
.composer-context[data-mode="edit"] { border-color: #d97706; background: #fffbeb; }
.composer-row { display: flex; gap: 6px; align-items: flex-end; min-width: 0; }
.composer-row textarea { resize: none; min-height: 40px; max-height: 160px; line-height: 1.35; flex: 1; }
.composer-foot { display: flex; flex-wrap: wrap; gap: 0 8px; align-items: baseline; justify-content: flex-end; font-size: 13px; min-height: 0; }
.composer-foot:empty { display: none; }
.composer-error { color: var(--danger); flex: 1 1 220px; margin: 4px 0 0; }
.counter { color: var(--muted); margin: 4px 0 0; font-variant-numeric: tabular-nums; white-space: nowrap; }
.counter.over { color: var(--danger); font-weight: 700; }
textarea[aria-invalid="true"] { border-color: var(--danger); }

.drop-hint { position: absolute; inset: 8px; border: 3px dashed var(--accent); border-radius: 16px; background: rgba(239, 246, 255, 0.92); display: grid; place-items: center; font-size: 18px; font-weight: 600; color: var(--accent-dark); z-index: 5; pointer-events: none; }

.toast {
  position: absolute;
  top: 12px;
  inset-inline: 0;
  margin-inline: auto;
  width: max-content;
  background: #1e293b;
  color: #fff;
  padding: 10px 16px;
  border-radius: 10px;
  max-width: min(90%, 520px);
  font-size: 14px;
  box-shadow: 0 8px 24px rgba(0, 0, 0, 0.2);
  z-index: 10;
  overflow-wrap: anywhere;
}

.lightbox { border: none; padding: 0; background: transparent; max-width: 96vw; max-height: 96vh; color: #fff; }
.lightbox::backdrop { background: rgba(15, 23, 42, 0.85); }
.lightbox figure { margin: 0; display: flex; flex-direction: column; align-items: center; gap: 8px; }
.lightbox img { display: block; max-width: 94vw; max-height: 80vh; object-fit: contain; border-radius: 6px; background: #334155; }
.lightbox figcaption { font-size: 14px; overflow-wrap: anywhere; text-align: center; }
.lightbox-actions { display: flex; gap: 8px; justify-content: center; margin-top: 8px; }
.lightbox-actions button { background: #fff; color: #0f172a; }

/* ---------------------------------------------------------------- narrow containers (phones) */

@container chat (max-width: 719px) {
  .cu { grid-template-columns: minmax(0, 1fr); }
  .cu .conversation { display: none; }
  .cu.show-conversation .sidebar { display: none; }
  .cu.show-conversation .conversation { display: flex; }
  .back { display: inline-block; }
  .msg { max-width: 88%; }
  .messages { padding-inline: 10px; }
  .thumb { width: 200px; }
}
@media (prefers-reduced-motion: reduce) { * { transition: none !important; } }
`;
