// @ts-check
/**
 * jwt.js: reading a JSON Web Token's claims in the browser, for display and timing only — the
 * server verifies every token; nothing here trusts one.
 */

/**
 * The claims of a JWT, unverified; `{}` when it cannot be read. UTF-8 names survive (base64url,
 * then percent-decoding of the bytes).
 * @param {string} token
 * @returns {Record<string, any>}
 */
export function claims(token) {
  try {
    const part = token.split('.')[1].replace(/-/g, '+').replace(/_/g, '/');
    const json = decodeURIComponent([...atob(part)].map((ch) => '%' + ch.charCodeAt(0).toString(16).padStart(2, '0')).join(''));
    const c = JSON.parse(json);
    return c && typeof c === 'object' ? c : {};
  } catch {
    return {};
  }
}

/** The token's `sub`; `''` when it has none. @param {string} token */
export function subject(token) {
  const sub = claims(token).sub;
  return typeof sub === 'string' ? sub : '';
}

/** When the token expires (ms since the epoch); 0 when it does not say. @param {string} token */
export function expiresAt(token) {
  const exp = claims(token).exp;
  return typeof exp === 'number' ? exp * 1000 : 0;
}
