// The inbox's and the watch form's pure parts: counts and filters in words, the reminder days
// as typed, and the watch filter made from the search.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { filterText, unreadText } from '../../crates/ri-web/assets/js/pages/inbox.js';
import { parseDays, suggestedName, watchFilter } from '../../crates/ri-web/assets/js/watch-save.js';
import { emptySearch } from '../../crates/ri-web/assets/js/search-state.js';

test('the unread count in words', () => {
  assert.equal(unreadText(0), 'Nothing unread');
  assert.equal(unreadText(3), '3 unread');
});

test('a watch filter in words', () => {
  const filter = {
    text: 'drones',
    features: [{ code: 'P3' }, { code: 'D2' }],
    featureMatch: 'ALL',
    coverLevels: [],
    countries: ['LT'],
    kinds: [],
  };
  assert.equal(filterText(filter), '“drones” · features P3, D2 (all) · Lithuania');
  assert.equal(
    filterText({ text: null, features: [], featureMatch: 'ANY', coverLevels: [], countries: [], kinds: [] }),
    'every published instrument',
  );
});

test('reminder days as typed', () => {
  assert.deepEqual(parseDays('7, 1'), [7, 1]);
  assert.deepEqual(parseDays(' 14 2 '), [14, 2]);
  assert.deepEqual(parseDays(''), []);
  assert.equal(parseDays('7, soon'), null);
  assert.equal(parseDays('1.5'), null);
});

test('the watch follows the search without its status or page', () => {
  const state = { ...emptySearch(), text: ' drones ', features: ['P3'], country: 'LT', kinds: ['CALL'], after: 'ab' };
  assert.deepEqual(watchFilter(state), {
    text: 'drones',
    features: ['P3'],
    featureMatch: 'ANY',
    coverLevels: [],
    countries: ['LT'],
    kinds: ['CALL'],
  });
  assert.equal(suggestedName(state), 'drones · P3 · Lithuania');
  assert.equal(suggestedName(emptySearch()), 'All instruments');
});
