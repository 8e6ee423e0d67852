// The demo events' pure parts: ordering an agenda by hand, the time from a date, a time and a
// zone, reading the forms, what an event's status allows, the cluster's version, merging the
// invitations the read model shows with those made on the page, and the answers of a sheet.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  agendaOf,
  allowedActions,
  closesAt,
  initialOrder,
  moveItem,
  readEventForm,
  readWhenAndWhere,
  startsAtFrom,
} from '../../crates/ri-web/assets/js/demo-events.js';
import { clusterVersion, fieldKey, readPractitioner, sectorLabel, uuid } from '../../crates/ri-web/assets/js/demo-form.js';
import { feedbackUrl, mergeInvitations } from '../../crates/ri-web/assets/js/demo-invitations.js';
import { answersFrom } from '../../crates/ri-web/assets/js/pages/feedback.js';

test('an item moves up and down by one place, and not past either end', () => {
  assert.deepEqual(moveItem(['a', 'b', 'c'], 2, -1), ['a', 'c', 'b']);
  assert.deepEqual(moveItem(['a', 'b', 'c'], 0, 1), ['b', 'a', 'c']);
  assert.deepEqual(moveItem(['a', 'b', 'c'], 0, -1), ['a', 'b', 'c']);
  assert.deepEqual(moveItem(['a', 'b', 'c'], 2, 1), ['a', 'b', 'c']);
  const list = ['a', 'b'];
  moveItem(list, 0, 1);
  assert.deepEqual(list, ['a', 'b'], 'the list given is left as it was');
});

test('an agenda editor starts with the agenda in its order, then the other projects; the agenda is the ticked ones in order', () => {
  assert.deepEqual(initialOrder(['p1', 'p2', 'p3', 'p4'], ['p3', 'p1']), ['p3', 'p1', 'p2', 'p4']);
  assert.deepEqual(initialOrder(['p1', 'p2'], ['gone', 'p2']), ['p2', 'p1']);
  assert.deepEqual(agendaOf(['p3', 'p1', 'p2'], new Set(['p2', 'p3'])), ['p3', 'p2']);
});

test('the start is the instant the zone’s clocks show the date and time', () => {
  assert.deepEqual(startsAtFrom('2031-05-03', '10:00', 'Europe/Vilnius'), { startsAt: '2031-05-03T07:00:00Z' });
  assert.deepEqual(startsAtFrom('2031-01-10', '10:00:30', 'Europe/Vilnius'), { startsAt: '2031-01-10T08:00:30Z' });
  assert.deepEqual(startsAtFrom('2031-01-10', '10:00', 'UTC'), { startsAt: '2031-01-10T10:00:00Z' });
  assert.equal(startsAtFrom('', '10:00', 'UTC').error.field, 'startsAt');
  assert.equal(startsAtFrom('2031-01-10', '', 'UTC').error.field, 'startsAt');
  assert.equal(startsAtFrom('2031-01-10', '10:00', '').error.field, 'timeZone');
  assert.match(startsAtFrom('2031-01-10', '10:00', 'Mars/Olympus').error.message, /Mars\/Olympus/);
  assert.equal(closesAt('2031-01-10T08:00:00Z', 14), '2031-01-24T08:00:00Z');
});

test('the schedule form gives the API’s input, or every error at its field', () => {
  const good = {
    title: ' Demo day ',
    date: '2031-05-03',
    time: '10:00',
    timeZone: 'Europe/Vilnius',
    place: ' Vilnius Tech Park ',
    onlineLink: '',
    windowDays: '',
    agenda: ['p2', 'p1'],
  };
  assert.deepEqual(readEventForm(good), {
    input: {
      title: 'Demo day',
      startsAt: '2031-05-03T07:00:00Z',
      timeZone: 'Europe/Vilnius',
      place: 'Vilnius Tech Park',
      onlineLink: null,
      agenda: ['p2', 'p1'],
      feedbackWindowDays: 14,
    },
  });
  assert.equal(readEventForm({ ...good, windowDays: '30' }).input.feedbackWindowDays, 30);
  const bad = readEventForm({ title: '', date: '', time: '', timeZone: 'Europe/Vilnius', place: ' ', onlineLink: '', windowDays: '91', agenda: [] });
  assert.deepEqual(bad.errors.map((e) => e.field), ['title', 'startsAt', 'venue', 'feedbackWindowDays', 'agenda']);
  assert.equal(readEventForm({ ...good, windowDays: '2.5' }).errors[0].field, 'feedbackWindowDays');
  assert.deepEqual(readWhenAndWhere({ ...good, place: '', onlineLink: ' https://meet.example.eu/x ' }).value.onlineLink, 'https://meet.example.eu/x');
});

test('only what the API allows for an event’s status and time is offered', () => {
  const now = Date.parse('2031-05-10T12:00:00Z');
  const event = (over) => ({
    status: 'SCHEDULED',
    startsAt: '2031-05-20T08:00:00Z',
    feedbackClosesAt: '2031-06-03T08:00:00Z',
    feedbackCount: 0,
    ...over,
  });
  assert.deepEqual(allowedActions(event(), now), { reschedule: true, reviseAgenda: true, cancel: true, markHeld: false, invite: true, paper: false });
  assert.deepEqual(allowedActions(event({ startsAt: '2031-05-09T08:00:00Z' }), now), {
    reschedule: true,
    reviseAgenda: true,
    cancel: true,
    markHeld: true,
    invite: true,
    paper: true,
  });
  const answered = allowedActions(event({ startsAt: '2031-05-09T08:00:00Z', feedbackCount: 2 }), now);
  assert.deepEqual([answered.reschedule, answered.reviseAgenda, answered.cancel, answered.markHeld], [false, false, false, true]);
  const cancelled = allowedActions(event({ status: 'CANCELLED', startsAt: '2031-05-09T08:00:00Z' }), now);
  assert.ok(Object.values(cancelled).every((v) => v === false), JSON.stringify(cancelled));
  const held = allowedActions(event({ status: 'HELD', startsAt: '2031-05-09T08:00:00Z' }), now);
  assert.deepEqual(held, { reschedule: false, reviseAgenda: false, cancel: false, markHeld: false, invite: true, paper: true });
  const closed = allowedActions(event({ status: 'HELD', startsAt: '2031-04-01T08:00:00Z', feedbackClosesAt: '2031-04-15T08:00:00Z' }), now);
  assert.equal(closed.invite, false);
  assert.equal(closed.paper, true, 'paper sheets are not bound by the window');
});

test('the version advances only when nothing came between', () => {
  const cluster = { version: 7 };
  const v = clusterVersion(cluster);
  v.advance({ version: 8 });
  assert.equal(v.version, 8);
  v.advance({ version: 10 });
  assert.equal(v.version, 8, 'another change came between: the next expectedVersion meets it');
  v.advance({ version: 8 });
  assert.equal(v.version, 8);
  // Another part of the page advancing the cluster's version is seen here.
  cluster.version = 9;
  assert.equal(v.version, 9);
});

test('API fields name the form’s fields; practitioners are read with their errors', () => {
  assert.equal(fieldKey('input.practitioner.organisation'), 'organisation');
  assert.equal(fieldKey('agenda[1]'), 'agenda');
  assert.equal(fieldKey('startsAt'), 'startsAt');
  assert.equal(fieldKey(null), null);
  assert.deepEqual(readPractitioner({ organisation: ' Lietuvos policija ', country: 'lt', sector: 'LAW_ENFORCEMENT' }), {
    practitioner: { organisation: 'Lietuvos policija', country: 'LT', sector: 'LAW_ENFORCEMENT' },
  });
  assert.deepEqual(
    readPractitioner({ organisation: '', country: 'Lithuania', sector: '' }).errors.map((e) => e.field),
    ['organisation', 'country', 'sector'],
  );
  assert.equal(sectorLabel('BORDER_GUARD'), 'Border guard');
});

test('ids made in the browser are version 4 UUIDs', () => {
  assert.equal(uuid(new Uint8Array(16)), '00000000-0000-4000-8000-000000000000');
  assert.match(uuid(), /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
});

test('the link is the page’s address plus the path; invitations made here show until the read model has them', () => {
  assert.equal(feedbackUrl('http://127.0.0.1:8080/', '/feedback/abc'), 'http://127.0.0.1:8080/feedback/abc');
  const loaded = [{ id: 'i1', linksIssued: 1, revoked: false, revokeReason: null, organisation: 'A' }];
  const known = new Map([
    ['i1', { id: 'i1', linksIssued: 2, revoked: true, revokeReason: 'left', organisation: 'A' }],
    ['i2', { id: 'i2', linksIssued: 1, revoked: false, revokeReason: null, organisation: 'B' }],
  ]);
  assert.deepEqual(mergeInvitations(loaded, known), [
    { id: 'i1', linksIssued: 2, revoked: true, revokeReason: 'left', organisation: 'A' },
    { id: 'i2', linksIssued: 1, revoked: false, revokeReason: null, organisation: 'B' },
  ]);
  assert.deepEqual(mergeInvitations(loaded, new Map()), loaded);
});

test('a sheet’s answers need both ratings and would pilot', () => {
  assert.deepEqual(answersFrom({ relevance: '4', usability: '3', wouldPilot: 'no', relevantFeatures: ['P12'], comment: ' ok ' }), {
    input: { relevance: 4, usability: 3, wouldPilot: false, relevantFeatures: ['P12'], comment: 'ok' },
  });
  assert.deepEqual(answersFrom({ relevance: null, usability: '3', wouldPilot: null }).errors.map((e) => e.field), ['relevance', 'wouldPilot']);
});
