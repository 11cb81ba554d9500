// @ts-check
// The console's Reports view: what `GET /support/reports` answers, as bars per day (plain DOM,
// hidden from screen readers, with the same numbers in a table), a totals summary and a table per
// operator. Everything is built with the dom helpers (text nodes only).

import { h } from '../sdk/dom.js';

/**
 * @typedef {{count: number, averageMs?: number, medianMs?: number, p90Ms?: number}} Timing
 * @typedef {{started: number, accepted: number, answered: number, missed: number, closed: number,
 *   wait: Timing, firstResponse: Timing, resolution: Timing,
 *   csat: {count: number, average?: number, distribution: number[]}}} Stats
 * @typedef {Stats & {date: string}} DayStats
 * @typedef {{from: string, to: string, operatorId?: string, total: Stats, days: DayStats[],
 *   operators: (Stats & {operatorId: string, name?: string, days: DayStats[]})[]}} Report
 */

/** A UTC day, `YYYY-MM-DD`. @param {Date} d */
export const isoDay = (d) => d.toISOString().slice(0, 10);

/** The default range: the last 7 UTC days, today included. @param {number} [now] */
export function lastWeek(now = Date.now()) {
  return { from: isoDay(new Date(now - 6 * 86_400_000)), to: isoDay(new Date(now)) };
}

/** "45 s", "3.5 min", "1.2 h", "—" (none). @param {number|undefined} ms */
export function human(ms) {
  if (ms === undefined || ms === null || !Number.isFinite(ms)) return '—';
  const s = ms / 1000;
  if (s < 60) return `${Math.round(s)} s`;
  if (s < 3600) return `${+(s / 60).toFixed(1)} min`;
  return `${+(s / 3600).toFixed(1)} h`;
}

/** "4.5" or "—". @param {number|undefined} v */
const avg = (v) => (typeof v === 'number' && Number.isFinite(v) ? v.toFixed(1) : '—');

/** @param {Timing} t */
const timing = (t) => (t && t.count ? `median ${human(t.medianMs)} · p90 ${human(t.p90Ms)}` : '—');

/** "Mon 7 Dec" for a UTC day. @param {string} date */
function dayLabel(date) {
  return new Date(`${date}T00:00:00Z`).toLocaleDateString(undefined, { weekday: 'short', day: 'numeric', month: 'short', timeZone: 'UTC' });
}

const SERIES = /** @type {const} */ ([
  ['started', 'Started'],
  ['answered', 'Answered'],
  ['missed', 'Missed'],
]);

/** One bar (its height through the CSSOM: no inline style attribute under a strict CSP). @param {string} key @param {string} label @param {number} n @param {number} max */
function bar(key, label, n, max) {
  const el = h('span', { class: `bar bar-${key}`, title: `${label}: ${n}` });
  el.style.height = `${Math.round((n / max) * 100)}%`;
  return el;
}

/** Bars per day (decoration: the table after it says the same). @param {DayStats[]} days */
function bars(days) {
  const max = Math.max(1, ...days.flatMap((d) => SERIES.map(([k]) => d[k] || 0)));
  const legend = h('p', { class: 'legend', 'aria-hidden': 'true' }, ...SERIES.map(([k, label]) => h('span', { class: `key bar-${k}` }, label)));
  const cols = days.map((d) =>
    h(
      'div',
      { class: 'day', dataset: { date: d.date } },
      h('div', { class: 'bars' }, ...SERIES.map(([k, label]) => bar(k, label, d[k] || 0, max))),
      h('span', { class: 'day-label' }, dayLabel(d.date)),
    ),
  );
  return h('div', { class: 'chart-box' }, legend, h('div', { class: 'chart', 'aria-hidden': 'true' }, ...cols));
}

/** @param {string} caption @param {string[]} head @param {(string|number)[][]} rows @param {string} [cls] */
function table(caption, head, rows, cls = '') {
  return h(
    'table',
    { class: `report-table ${cls}` },
    h('caption', {}, caption),
    h('thead', {}, h('tr', {}, ...head.map((x) => h('th', { scope: 'col' }, x)))),
    h('tbody', {}, ...rows.map((r) => h('tr', {}, ...r.map((x, i) => (i === 0 ? h('th', { scope: 'row' }, String(x)) : h('td', {}, String(x))))))),
  );
}

/** The totals: counts, timings in human units, CSAT average and distribution. @param {Stats} t */
function summary(t) {
  /** @param {string} key @param {string} label @param {string|number} value */
  const item = (key, label, value) => h('div', { class: 'stat', dataset: { stat: key } }, h('dt', {}, label), h('dd', {}, String(value)));
  const dist = (t.csat && t.csat.distribution) || [0, 0, 0, 0, 0];
  return h(
    'dl',
    { class: 'summary' },
    item('started', 'Started', t.started),
    item('accepted', 'Accepted', t.accepted),
    item('answered', 'Answered', t.answered),
    item('missed', 'Missed', t.missed),
    item('closed', 'Closed', t.closed),
    item('wait', 'Wait', timing(t.wait)),
    item('firstResponse', 'First response', timing(t.firstResponse)),
    item('resolution', 'Resolution', timing(t.resolution)),
    item('csat', 'CSAT', t.csat && t.csat.count ? `${avg(t.csat.average)} / 5 (${t.csat.count} rated)` : 'not rated'),
    item('csatDistribution', 'Ratings 1–5', dist.map((n, i) => `${i + 1}★ ${n}`).join(' · ')),
  );
}

/**
 * The whole report as DOM. @param {Report} r @param {(operatorId: string) => string} nameOf
 * @returns {HTMLElement}
 */
export function reportView(r, nameOf) {
  const dayRows = r.days.map((d) => [d.date, d.started, d.answered, d.missed, d.closed, human(d.wait && d.wait.medianMs), avg(d.csat && d.csat.average)]);
  const opRows = r.operators.map((o) => [o.name || nameOf(o.operatorId), o.started, o.answered, o.missed, o.closed, human(o.firstResponse && o.firstResponse.medianMs), human(o.resolution && o.resolution.medianMs), o.csat && o.csat.count ? `${avg(o.csat.average)} (${o.csat.count})` : '—']);
  const ops = table('Per operator', ['Operator', 'Started', 'Answered', 'Missed', 'Closed', 'First response (median)', 'Resolution (median)', 'CSAT'], opRows, 'per-operator');
  ops.querySelectorAll('tbody tr').forEach((tr, i) => ((/** @type {HTMLElement} */ (tr)).dataset.operatorId = r.operators[i].operatorId));
  return h(
    'div',
    { class: 'report', dataset: { from: r.from, to: r.to } },
    h('h3', { class: 'sub-title' }, `Totals, ${r.from} to ${r.to}${r.operatorId ? ` · ${nameOf(r.operatorId)}` : ''}`),
    summary(r.total),
    h('h3', { class: 'sub-title' }, 'Sessions per day'),
    bars(r.days),
    table('Sessions per day (UTC)', ['Day', 'Started', 'Answered', 'Missed', 'Closed', 'Wait (median)', 'CSAT'], dayRows, 'per-day'),
    r.operators.length ? ops : h('p', { class: 'muted' }, 'No operator was active in this range.'),
  );
}
