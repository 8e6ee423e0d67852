// How values read on the pages.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  countryName,
  daysLeftText,
  formatDate,
  formatFunding,
  formatInstant,
  isTimeZone,
  label,
} from '../../crates/ri-web/assets/js/format.js';

test('days left count whole days until the deadline', () => {
  const now = Date.parse('2030-03-01T12:00:00Z');
  assert.equal(daysLeftText('2030-03-13T12:00:00Z', now), '12 days left');
  assert.equal(daysLeftText('2030-03-02T13:00:00Z', now), '1 day left');
  assert.equal(daysLeftText('2030-03-01T18:00:00Z', now), 'closes within a day');
  assert.equal(daysLeftText('2030-02-28T12:00:00Z', now), 'deadline passed');
});

test('instants read in their own time zone, with the zone named', () => {
  assert.equal(formatInstant('2031-05-15T14:00:00Z', 'Europe/Vilnius'), '15 May 2031 at 17:00 (Europe/Vilnius, EEST)');
  // The instrument's own zone, whatever the reader's; an unknown one is not swapped silently.
  assert.match(formatInstant('2031-05-15T23:30:00Z', 'America/New_York'), /^15 May 2031 at 19:30 \(America\/New_York, /);
  assert.match(formatInstant('2031-05-15T23:30:00Z', 'Asia/Tokyo'), /^16 May 2031 at 08:30 \(Asia\/Tokyo, /);
  assert.equal(
    formatInstant('2031-05-15T14:00:00Z', 'Not/AZone'),
    '15 May 2031 at 14:00 (UTC; the time zone "Not/AZone" is unknown)',
  );
  assert.equal(formatDate('2030-05-03'), '3 May 2030');
});

test('funding, countries, zones and labels', () => {
  assert.equal(formatFunding({ min: null, max: 60000, currency: 'EUR' }), 'up to €60,000');
  assert.equal(formatFunding({ min: 10000, max: 60000, currency: 'EUR' }), '€10,000 to €60,000');
  assert.equal(formatFunding({ min: 5000, max: null, currency: 'EUR' }), 'from €5,000');
  assert.equal(formatFunding(null), '');
  assert.equal(countryName('LT'), 'Lithuania');
  assert.equal(isTimeZone('Europe/Vilnius'), true);
  assert.equal(isTimeZone('Mars/Olympus'), false);
  assert.equal(label('STRATEGIC_DOCUMENT'), 'Strategic document');
  assert.equal(label('SOMETHING_NEW'), 'SOMETHING_NEW');
});
