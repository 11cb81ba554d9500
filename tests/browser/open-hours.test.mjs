// The widget's business hours (web/widget/hours.js) in Node, at fixed instants: open or closed in
// the site's time zone, holidays, "24:00", and the next opening across a DST change.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { openNow } from '../../web/widget/hours.js';

const at = (iso) => Date.parse(iso);
const weekdays = { mon: [{ open: '09:00', close: '17:30' }], tue: [{ open: '09:00', close: '17:30' }], wed: [{ open: '09:00', close: '17:30' }], thu: [{ open: '09:00', close: '17:30' }], fri: [{ open: '09:00', close: '17:30' }] };
const berlin = { timeZone: 'Europe/Berlin', days: weekdays, holidays: ['2026-12-25'] };

describe('openNow', () => {
  test('no hours, or an unknown time zone: always open', () => {
    assert.deepEqual(openNow(undefined, at('2026-12-05T12:00:00Z')), { open: true, next: null });
    assert.deepEqual(openNow({ timeZone: 'Mars/Olympus', days: {} }, at('2026-12-05T12:00:00Z')), { open: true, next: null });
  });

  test('weekday and time in the site’s zone, not UTC', () => {
    // Monday 2026-12-07 08:30 UTC is 09:30 in Berlin (CET, +1): open.
    assert.deepEqual(openNow(berlin, at('2026-12-07T08:30:00Z')), { open: true, next: null });
    // 07:59 UTC is 08:59 in Berlin: closed, opens at 09:00 Berlin = 08:00 UTC.
    assert.deepEqual(openNow(berlin, at('2026-12-07T07:59:00Z')), { open: false, next: at('2026-12-07T08:00:00Z') });
    // 17:30 Berlin closes (the interval's end is not inside it).
    assert.deepEqual(openNow(berlin, at('2026-12-07T16:30:00Z')), { open: false, next: at('2026-12-08T08:00:00Z') });
    // Friday 16:29 UTC = 17:29 Berlin: open; Saturday: closed until Monday.
    assert.equal(openNow(berlin, at('2026-12-11T16:29:00Z')).open, true);
    assert.deepEqual(openNow(berlin, at('2026-12-12T12:00:00Z')), { open: false, next: at('2026-12-14T08:00:00Z') });
    // Sunday 23:30 UTC is Monday 08:30 in Tokyo (+9): closed; 00:30 UTC is 09:30 there: open.
    assert.equal(openNow({ timeZone: 'Asia/Tokyo', days: weekdays }, at('2026-12-06T23:30:00Z')).open, false);
    assert.equal(openNow({ timeZone: 'Asia/Tokyo', days: weekdays }, at('2026-12-07T00:30:00Z')).open, true);
  });

  test('a holiday is closed all day, in the site’s zone', () => {
    // Friday 2026-12-25 10:00 Berlin: a holiday; next: Monday 28th 09:00 Berlin.
    assert.deepEqual(openNow(berlin, at('2026-12-25T09:00:00Z')), { open: false, next: at('2026-12-28T08:00:00Z') });
    // Thursday 24th 23:30 UTC is the 25th in Berlin already: the holiday is skipped too.
    assert.deepEqual(openNow(berlin, at('2026-12-24T23:30:00Z')), { open: false, next: at('2026-12-28T08:00:00Z') });
  });

  test('across a DST change the next opening keeps the wall-clock time', () => {
    // Berlin springs forward on Sunday 2027-03-28: Saturday evening (CET, +1) the next opening is
    // Monday 09:00 CEST (+2) = 07:00 UTC, not 08:00.
    assert.deepEqual(openNow(berlin, at('2027-03-27T20:00:00Z')), { open: false, next: at('2027-03-29T07:00:00Z') });
    // New York falls back on Sunday 2026-11-01: Saturday (EDT, -4) → Monday 09:00 EST (-5) = 14:00 UTC.
    assert.deepEqual(openNow({ timeZone: 'America/New_York', days: weekdays }, at('2026-10-31T16:00:00Z')), { open: false, next: at('2026-11-02T14:00:00Z') });
  });

  test('"24:00" closes at midnight; never open: no next opening', () => {
    const allDay = { timeZone: 'UTC', days: Object.fromEntries(['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'].map((d) => [d, [{ open: '00:00', close: '24:00' }]])) };
    assert.deepEqual(openNow(allDay, at('2026-12-06T23:59:30Z')), { open: true, next: null });
    assert.deepEqual(openNow(allDay, at('2026-12-07T00:00:00Z')), { open: true, next: null });
    const evenings = { timeZone: 'UTC', days: { sat: [{ open: '18:00', close: '24:00' }] } };
    assert.deepEqual(openNow(evenings, at('2026-12-05T23:59:00Z')), { open: true, next: null });
    assert.deepEqual(openNow(evenings, at('2026-12-06T00:00:00Z')), { open: false, next: at('2026-12-12T18:00:00Z') });
    assert.deepEqual(openNow({ timeZone: 'UTC', days: {} }, at('2026-12-05T12:00:00Z')), { open: false, next: null });
  });
});
