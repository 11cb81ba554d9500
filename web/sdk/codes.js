// @ts-check
/**
 * codes.js: every error code a client can meet — the server's (`shared/src/error.rs`; a test keeps
 * the two lists equal) and the ones the SDK gives to failures it sees itself — so UIs name codes
 * instead of re-listing strings.
 */

/** The server's error codes (`code` of an `error` frame, of a REST problem). */
export const SERVER_CODES = Object.freeze({
  unauthorized: 'unauthorized',
  forbidden: 'forbidden',
  not_member: 'not_member',
  not_found: 'not_found',
  invalid_frame: 'invalid_frame',
  too_large: 'too_large',
  rate_limited: 'rate_limited',
  conflict: 'conflict',
  room_full: 'room_full',
  internal: 'internal',
});

/** Codes of failures the SDK sees itself. */
export const CLIENT_CODES = Object.freeze({
  /** No answer in time. */
  timeout: 'timeout',
  /** The browser is offline. */
  offline: 'offline',
  /** The socket closed before the answer came. */
  disconnected: 'disconnected',
  /** API Gateway answered itself (throttled, an integration error). */
  gateway: 'gateway',
  /** Storage refused an upload. */
  upload_refused: 'upload_refused',
  /** The browser or the server lacks the feature. */
  unsupported: 'unsupported',
});

/** Failures worth trying again later (the SDK resends messages that failed with these). */
/** @type {Set<string>} */
export const RETRYABLE = new Set([SERVER_CODES.internal, CLIENT_CODES.timeout, SERVER_CODES.unauthorized]);

/**
 * Failures no retry can mend (the file is too large or of a refused type, the frame is invalid, the
 * user may not write there): UIs offer no Retry for them, only Discard.
 * @type {Set<string>}
 */
export const FINAL_CODES = new Set([SERVER_CODES.too_large, SERVER_CODES.invalid_frame, SERVER_CODES.forbidden, SERVER_CODES.not_member, SERVER_CODES.room_full, 'type_refused', 'empty', 'file_missing']);

/** Whether a failed send (its `error`) may succeed if tried again. @param {{code?: string}|undefined} error */
export function canRetry(error) {
  return !(error && error.code && FINAL_CODES.has(error.code));
}

/** Failures of the connection rather than of the request: UIs say "reconnecting", not an error. */
/** @type {Set<string>} */
export const CONNECTION_CODES = new Set([CLIENT_CODES.offline, CLIENT_CODES.disconnected, CLIENT_CODES.timeout]);

/** The code of an HTTP status, as the REST API uses them. @param {number} status */
export function codeOfStatus(status) {
  if (status === 401) return SERVER_CODES.unauthorized;
  if (status === 403) return SERVER_CODES.forbidden;
  if (status === 404) return SERVER_CODES.not_found;
  if (status === 409) return SERVER_CODES.conflict;
  if (status === 413) return SERVER_CODES.too_large;
  if (status === 429) return SERVER_CODES.rate_limited;
  if (status >= 500) return SERVER_CODES.internal;
  return SERVER_CODES.invalid_frame;
}
