// What the curator's form sends: only what changed.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fromInstrument, patchOf, scheduleChanged } from '../../crates/ri-web/assets/js/pages/edit.js';

const stored = {
  id: 'i',
  version: 3,
  title: 'Border call',
  kind: 'CALL',
  coverLevel: 'NATIONAL',
  countries: ['LT', 'LV'],
  programme: null,
  link: 'https://example.eu',
  summary: 'Prototypes.',
  targetOrganisations: ['SME'],
  funding: { min: null, max: 60000, currency: 'EUR' },
  periodicity: null,
  languages: ['en'],
  features: [{ code: 'T1' }, { code: 'D2' }],
  openingDate: null,
  deadline: '2031-05-15T14:00:00Z',
  timeZone: 'Europe/Vilnius',
};

test('an unchanged form changes nothing', () => {
  const saved = fromInstrument(stored);
  const same = { ...saved, countries: ['LV', 'LT'], deadline: '2031-05-15T17:00:00+03:00' };
  assert.deepEqual(patchOf(saved, same), {});
  assert.equal(scheduleChanged(saved, same), false);
});

test('a revision carries only the changed fields, and null clears an optional one', () => {
  const saved = fromInstrument(stored);
  const values = { ...saved, title: 'Border call 2031', link: null, funding: { min: 1000, max: 60000, currency: 'EUR' } };
  assert.deepEqual(patchOf(saved, values), {
    title: 'Border call 2031',
    link: null,
    funding: { min: 1000, max: 60000, currency: 'EUR' },
  });
});

test('a moved deadline or another zone is a schedule change', () => {
  const saved = fromInstrument(stored);
  assert.equal(scheduleChanged(saved, { ...saved, deadline: '2031-05-16T14:00:00Z' }), true);
  assert.equal(scheduleChanged(saved, { ...saved, timeZone: 'Europe/Riga' }), true);
  assert.equal(scheduleChanged(saved, { ...saved, openingDate: '2031-01-01' }), true);
  assert.equal(scheduleChanged(saved, { ...saved, deadline: null }), true);
});
