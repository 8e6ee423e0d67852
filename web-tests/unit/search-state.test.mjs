// The public search's state in the URL: what a shared or bookmarked link holds.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  emptySearch,
  firstPage,
  nextPage,
  parseSearch,
  previousPage,
  searchQuery,
  searchVariables,
  toFilter,
} from '../../crates/ri-web/assets/js/search-state.js';

test('the empty search is open instruments, and its URL has no query', () => {
  const state = parseSearch('');
  assert.deepEqual(state, emptySearch());
  assert.equal(searchQuery(state), '');
  assert.deepEqual(toFilter(state).statuses, ['OPEN']);
});

test('a search survives the round trip through its URL', () => {
  const state = {
    ...emptySearch(),
    text: 'border drones',
    features: ['P12', 'G3'],
    match: 'ALL',
    origins: ['NATIONAL', 'EU'],
    country: 'LT',
    kinds: ['CALL'],
    openOnly: false,
  };
  const query = searchQuery(state);
  assert.equal(query, '?q=border+drones&features=P12,G3&match=all&origin=NATIONAL,EU&country=LT&kind=CALL&closed=include');
  assert.deepEqual(parseSearch(query), state);
});

test('malformed or unknown values in a URL are left out', () => {
  const state = parseSearch('?features=P12,<script>,P12,t1&origin=MARS,EU&country=Lithuania&kind=CALL,NOPE&after=zz');
  assert.deepEqual(state.features, ['P12']);
  assert.deepEqual(state.origins, ['EU']);
  assert.equal(state.country, '');
  assert.deepEqual(state.kinds, ['CALL']);
  assert.equal(state.after, null);
  assert.equal(parseSearch(`?q=${'x'.repeat(500)}`).text.length, 200);
  assert.equal(parseSearch('?country=lt').country, 'LT');
});

test('pages go forward and back, and a changed filter starts again at the first', () => {
  const first = parseSearch('?features=P12');
  const second = nextPage(first, '7b2261');
  const third = nextPage(second, '7b2262');
  assert.equal(searchQuery(third), '?features=P12&after=7b2262&back=-.7b2261');
  assert.deepEqual(parseSearch(searchQuery(third)), third);
  assert.deepEqual(previousPage(parseSearch(searchQuery(third))), second);
  assert.deepEqual(previousPage(second), { ...first, back: [] });
  assert.deepEqual(firstPage(third), first);
});

test('each facet group counts without its own choice', () => {
  const state = { ...emptySearch(), features: ['P12'], country: 'LT', origins: ['NATIONAL'], kinds: ['PROGRAMME'] };
  const v = searchVariables(state);
  assert.deepEqual(v.filter.features, ['P12']);
  assert.deepEqual(v.filter.countries, ['LT']);
  assert.deepEqual(v.byFeature.features, []);
  assert.deepEqual(v.byFeature.countries, ['LT']);
  assert.deepEqual(v.byCountry.countries, []);
  assert.deepEqual(v.byCountry.features, ['P12']);
  assert.deepEqual(v.byOrigin.coverLevels, []);
  assert.deepEqual(v.byKind.kinds, []);
  assert.equal(v.sort, 'DEADLINE_SOONEST');
  // With ALL, a feature's count is within the current results.
  assert.deepEqual(searchVariables({ ...state, match: 'ALL' }).byFeature.features, ['P12']);
  assert.equal(searchVariables({ ...state, text: 'cyber' }).sort, 'RELEVANCE');
});
