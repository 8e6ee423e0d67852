// The calendar file of one instrument's deadline (RFC 5545), made in the browser.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  calendarFileName,
  deadlineCalendar,
  escapeText,
  fold,
  utcStamp,
} from '../../crates/ri-web/assets/js/ics.js';

const instrument = {
  id: '0192f7a0-0000-7000-8000-000000000001',
  version: 4,
  title: 'Border call, 2027; second round',
  deadline: '2027-03-01T17:00:00+02:00',
  link: 'https://example.eu/call',
  curator: { slug: 'l3ce', name: 'L3CE' },
};

test('text escapes backslashes, commas, semicolons and newlines', () => {
  assert.equal(escapeText('a\\b, c; d\ne'), 'a\\\\b\\, c\\; d\\ne');
});

test('instants are written in UTC', () => {
  assert.equal(utcStamp('2027-03-01T17:00:00+02:00'), '20270301T150000Z');
  assert.equal(utcStamp('2031-05-15T14:00:00Z'), '20310515T140000Z');
  assert.throws(() => utcStamp('yesterday'));
});

test('the event has the stable UID, the deadline in UTC and CRLF line ends', () => {
  const text = deadlineCalendar(instrument, {
    pageUrl: 'http://127.0.0.1:8080/instruments/0192f7a0-0000-7000-8000-000000000001',
    now: new Date('2026-11-01T10:00:00Z'),
  });
  assert.ok(text.startsWith('BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:'), text);
  assert.ok(text.endsWith('END:VEVENT\r\nEND:VCALENDAR\r\n'), text);
  assert.equal(text.replace(/\r\n/g, '').includes('\n'), false);
  const unfolded = text.replace(/\r\n /g, '');
  assert.ok(unfolded.includes('\r\nUID:0192f7a0-0000-7000-8000-000000000001-deadline@regional-invest\r\n'));
  assert.ok(unfolded.includes('\r\nDTSTAMP:20261101T100000Z\r\n'));
  assert.ok(unfolded.includes('\r\nDTSTART:20270301T150000Z\r\n'));
  assert.ok(unfolded.includes('\r\nDTEND:20270301T150000Z\r\n'));
  assert.ok(unfolded.includes('\r\nSEQUENCE:4\r\n'));
  assert.ok(unfolded.includes('\r\nSUMMARY:Deadline: Border call\\, 2027\\; second round\r\n'), unfolded);
  assert.ok(unfolded.includes('DESCRIPTION:Curated by L3CE. Details: https://example.eu/call'), unfolded);
  for (const line of text.split('\r\n')) {
    assert.ok(new TextEncoder().encode(line).length <= 75, `longer than 75 octets: ${line}`);
  }
});

test('an instrument without a deadline has no calendar file', () => {
  assert.throws(() => deadlineCalendar({ ...instrument, deadline: null }));
});

test('long lines fold at 75 octets without splitting a character', () => {
  const line = `SUMMARY:${'Ž'.repeat(100)}`;
  const folded = fold(line);
  const parts = folded.split('\r\n');
  assert.ok(parts.length > 1);
  for (const part of parts) assert.ok(new TextEncoder().encode(part).length <= 75);
  assert.ok(parts.slice(1).every((p) => p.startsWith(' ')));
  assert.equal(folded.replace(/\r\n /g, ''), line);
  assert.equal(fold('SHORT:line'), 'SHORT:line');
});

test('the file is named after the title', () => {
  assert.equal(calendarFileName('Šiaurės call, 2027!'), 'siaures-call-2027-deadline.ics');
  assert.equal(calendarFileName('***'), 'deadline-deadline.ics');
});
