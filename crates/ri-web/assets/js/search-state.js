// The public search's state and its URL: everything a search is lives in the query string, so
// a search can be shared, bookmarked, reloaded and gone back to. Pure: the unit tests import it.

import { COVER_LEVELS, KINDS } from './format.js';

export const PAGE_SIZE = 10;
const MAX_TEXT = 200;
const FIRST_PAGE = '-';

/** The search nobody has narrowed yet: open instruments, soonest deadline first. */
export function emptySearch() {
  return {
    text: '',
    features: [],
    match: 'ANY',
    origins: [],
    country: '',
    kinds: [],
    openOnly: true,
    after: null,
    back: [],
  };
}

const list = (raw, allowed) => {
  const seen = new Set();
  for (const item of (raw ?? '').split(',')) {
    const value = item.trim();
    if (value && allowed(value)) seen.add(value);
  }
  return [...seen];
};

const isFeatureCode = (v) => /^[A-Z]{1,3}\d{1,3}$/.test(v);
const isCursor = (v) => /^[0-9a-f]{2,1024}$/.test(v);

/** Reads a search from a query string ("?features=P12,G3&country=LT"); ignores what is malformed. */
export function parseSearch(query) {
  const params = new URLSearchParams(query);
  const state = emptySearch();
  state.text = (params.get('q') ?? '').slice(0, MAX_TEXT);
  state.features = list(params.get('features'), isFeatureCode);
  state.match = params.get('match') === 'all' ? 'ALL' : 'ANY';
  state.origins = list(params.get('origin'), (v) => COVER_LEVELS.includes(v));
  const country = (params.get('country') ?? '').toUpperCase();
  state.country = /^[A-Z]{2}$/.test(country) ? country : '';
  state.kinds = list(params.get('kind'), (v) => KINDS.includes(v));
  state.openOnly = params.get('closed') !== 'include';
  const after = params.get('after');
  state.after = after && isCursor(after) ? after : null;
  if (state.after) {
    state.back = (params.get('back') ?? '')
      .split('.')
      .filter((c) => c === FIRST_PAGE || isCursor(c))
      .map((c) => (c === FIRST_PAGE ? null : c));
    if (state.back.length === 0) state.back = [null];
  }
  return state;
}

/** The query string of a search ("" for the empty one), in a stable order. */
export function searchQuery(state) {
  const params = new URLSearchParams();
  if (state.text.trim()) params.set('q', state.text.trim());
  if (state.features.length) params.set('features', state.features.join(','));
  if (state.match === 'ALL') params.set('match', 'all');
  if (state.origins.length) params.set('origin', state.origins.join(','));
  if (state.country) params.set('country', state.country);
  if (state.kinds.length) params.set('kind', state.kinds.join(','));
  if (!state.openOnly) params.set('closed', 'include');
  if (state.after) {
    params.set('after', state.after);
    params.set('back', state.back.map((c) => c ?? FIRST_PAGE).join('.'));
  }
  const query = params.toString().replace(/%2C/g, ',');
  return query ? `?${query}` : '';
}

/** The same search from its first page (any change of the filter starts there). */
export function firstPage(state) {
  return { ...state, after: null, back: [] };
}

export function nextPage(state, endCursor) {
  return { ...state, after: endCursor, back: [...state.back, state.after] };
}

export function previousPage(state) {
  if (!state.after) return state;
  const back = state.back.slice(0, -1);
  return { ...state, after: state.back.at(-1) ?? null, back };
}

/** The API's InstrumentFilter for a search, without one facet group (for its counts). */
export function toFilter(state, without = null) {
  const filter = {
    text: state.text.trim() || null,
    features: without === 'features' ? [] : state.features,
    featureMatch: state.match,
    coverLevels: without === 'origins' ? [] : state.origins,
    countries: without === 'country' || !state.country ? [] : [state.country],
    kinds: without === 'kinds' ? [] : state.kinds,
    statuses: state.openOnly ? ['OPEN'] : ['OPEN', 'CLOSED'],
  };
  return filter;
}

/**
 * The variables of the WebSearch operation. With ANY, a feature's count is how many
 * instruments choosing it adds (the feature filter left out); with ALL, how many of the
 * current results fund it too.
 */
export function searchVariables(state) {
  return {
    filter: toFilter(state),
    byFeature: state.match === 'ALL' ? toFilter(state) : toFilter(state, 'features'),
    byOrigin: toFilter(state, 'origins'),
    byCountry: toFilter(state, 'country'),
    byKind: toFilter(state, 'kinds'),
    sort: state.text.trim() ? 'RELEVANCE' : 'DEADLINE_SOONEST',
    first: PAGE_SIZE,
    after: state.after,
  };
}
