// Wall-clock times in IANA zones to instants and back (the curator's deadline field).

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { instantToZoned, zonedToInstant } from '../../crates/ri-web/assets/js/zoned.js';

test('a wall-clock time in a zone is the instant its clocks show it', () => {
  assert.equal(zonedToInstant('2031-05-15T17:00', 'Europe/Vilnius'), '2031-05-15T14:00:00Z');
  assert.equal(zonedToInstant('2031-01-15T17:00', 'Europe/Vilnius'), '2031-01-15T15:00:00Z');
  assert.equal(zonedToInstant('2030-03-31T17:00', 'Europe/Brussels'), '2030-03-31T15:00:00Z');
  assert.equal(zonedToInstant('2030-07-01T09:30', 'America/New_York'), '2030-07-01T13:30:00Z');
  assert.equal(zonedToInstant('2030-07-01T09:30', 'UTC'), '2030-07-01T09:30:00Z');
  assert.equal(zonedToInstant('2030-07-01T09:30:15', 'UTC'), '2030-07-01T09:30:15Z');
});

test('across daylight-saving changes: a skipped time moves on, a repeated one is the earlier', () => {
  // 2030-03-31 02:30 does not exist in Brussels (clocks go from 02:00 to 03:00).
  assert.equal(zonedToInstant('2030-03-31T02:30', 'Europe/Brussels'), '2030-03-31T01:30:00Z');
  // 2030-10-27 02:30 happens twice in Brussels; the first is in summer time.
  assert.equal(zonedToInstant('2030-10-27T02:30', 'Europe/Brussels'), '2030-10-27T00:30:00Z');
});

test('malformed values give null', () => {
  assert.equal(zonedToInstant('', 'UTC'), null);
  assert.equal(zonedToInstant('15/05/2031 17:00', 'UTC'), null);
  assert.equal(zonedToInstant(null, 'UTC'), null);
});

test('an instant reads back as the wall-clock time of its zone', () => {
  assert.equal(instantToZoned('2031-05-15T14:00:00Z', 'Europe/Vilnius'), '2031-05-15T17:00');
  assert.equal(instantToZoned('2027-03-01T17:00:00+02:00', 'Europe/Vilnius'), '2027-03-01T17:00');
  assert.equal(instantToZoned('not a date', 'UTC'), '');
  for (const zone of ['Europe/Lisbon', 'Asia/Kolkata', 'Pacific/Auckland']) {
    const local = '2030-11-02T08:45';
    assert.equal(instantToZoned(zonedToInstant(local, zone), zone), local, zone);
  }
});
