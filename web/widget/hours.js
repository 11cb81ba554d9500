/*
 * hours.js: the site's business hours ({timeZone, days: {mon: [{open, close}], …}, holidays}) at
 * an instant, as the server reads them (shared/src/support/settings.rs `is_open`): the weekday,
 * the time and the date in the site's IANA time zone (Intl); a day not listed or a holiday is
 * closed; "24:00" closes at midnight. Pure: the instant is given.
 */

const DAYS = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'];
/** @type {Map<string, Intl.DateTimeFormat>} */
const formats = new Map();

/** The wall clock in `tz` at `at` (ms). @param {string} tz @param {number} at */
function wall(tz, at) {
  let f = formats.get(tz);
  if (!f) formats.set(tz, (f = new Intl.DateTimeFormat('en-US', { timeZone: tz, hourCycle: 'h23', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit' })));
  /** @type {Record<string, string>} */
  const p = {};
  for (const x of f.formatToParts(at)) p[x.type] = x.value;
  const utc = Date.UTC(+p.year, +p.month - 1, +p.day, +p.hour % 24, +p.minute, +p.second);
  return { utc, ...day(utc), min: (+p.hour % 24) * 60 + +p.minute };
}

/** The date and weekday of a UTC-counted wall time. @param {number} utc */
function day(utc) {
  const d = new Date(utc);
  return { date: d.toISOString().slice(0, 10), wd: DAYS[d.getUTCDay()] };
}

/** @param {string} s "HH:MM" */
const mins = (s) => +String(s).slice(0, 2) * 60 + +String(s).slice(3, 5);

/** @param {any} h @param {{date: string, wd: string, min: number}} w */
function openAt(h, w) {
  if (Array.isArray(h.holidays) && h.holidays.includes(w.date)) return false;
  const list = (h.days && h.days[w.wd]) || [];
  return Array.isArray(list) && list.some((i) => mins(i.open) <= w.min && w.min < mins(i.close));
}

/**
 * Whether the team is open at `now` (ms), and if not, when it opens next (ms; null: not within a
 * year). No hours, or a time zone this browser does not know: always open.
 * @param {any} hours the settings' businessHours @param {number} now
 * @returns {{open: boolean, next: number|null}}
 */
export function openNow(hours, now) {
  if (!hours || typeof hours !== 'object' || typeof hours.timeZone !== 'string') return { open: true, next: null };
  const tz = hours.timeZone;
  let w;
  try {
    w = wall(tz, now);
  } catch {
    return { open: true, next: null };
  }
  if (openAt(hours, w)) return { open: true, next: null };
  const today = w.utc - w.min * 60_000 - (w.utc % 60_000);
  for (let k = 0; k < 370; k++) {
    const base = today + k * 86_400_000;
    const opens = ((hours.days && hours.days[day(base).wd]) || []).map((/** @type {any} */ i) => mins(i.open)).sort((/** @type {number} */ a, /** @type {number} */ b) => a - b);
    for (const m of opens) {
      // The instant whose wall clock reads `base + m` (twice: the offset at the guess may differ).
      const target = base + m * 60_000;
      let at = target - (wall(tz, target).utc - target);
      at = target - (wall(tz, at).utc - at);
      if (at > now && openAt(hours, wall(tz, at))) return { open: false, next: at };
    }
  }
  return { open: false, next: null };
}
