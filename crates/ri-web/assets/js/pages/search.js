// The public search: words, features by category, origin, country and kind, open only by
// default; counts beside every option; results a page at a time. The URL holds the search
// (js/search-state.js), so every change is a navigation and back/forward replay it.

import { gql, logPosition, ApiError } from '../api.js';
import { SEARCH } from '../operations.js';
import { h, replace, notice } from '../dom.js';
import {
  COVER_LEVELS,
  KINDS,
  label,
  countryName,
  formatInstant,
  daysLeftText,
  curatorName,
} from '../format.js';
import {
  PAGE_SIZE,
  emptySearch,
  firstPage,
  nextPage,
  parseSearch,
  previousPage,
  searchQuery,
  searchVariables,
} from '../search-state.js';
import { taxonomy } from '../taxonomy.js';
import { navigate, pageReady } from '../nav.js';
import { saveWatchBox } from '../watch-save.js';

const MAX_TAGS = 6;

function go(state) {
  return navigate(`/${searchQuery(state)}`);
}

/** A group of checkboxes with a count beside each option. */
function checkboxGroup({ id, options, chosen, onToggle, className = '' }) {
  const inputs = new Map();
  const counts = new Map();
  const items = options.map(({ value, text, title }) => {
    const inputId = `${id}-${value}`;
    const input = h('input', {
      type: 'checkbox',
      id: inputId,
      name: id,
      value,
      onchange: () => onToggle(value, input.checked),
    });
    const count = h('span', { class: 'count' });
    inputs.set(value, input);
    counts.set(value, count);
    return h(
      'div',
      { class: 'option' },
      input,
      h('label', { for: inputId, title }, text, ' ', count),
    );
  });
  return {
    items,
    element: h('div', { class: `options ${className}` }, items),
    sync(state, countOf) {
      const selected = new Set(chosen(state));
      for (const [value, input] of inputs) {
        input.checked = selected.has(value);
        if (countOf) {
          const n = countOf.get(value) ?? 0;
          const count = counts.get(value);
          count.textContent = `(${n})`;
          count.parentElement.classList.toggle('none', n === 0);
        }
      }
    },
  };
}

function toggle(list, value, on) {
  const rest = list.filter((v) => v !== value);
  return on ? [...rest, value] : rest;
}

function countMap(entries, key) {
  return new Map((entries ?? []).map((e) => [key(e), e.count]));
}

function placeText(node) {
  if (node.countries.length > 0) return node.countries.map(countryName).join(', ');
  if (node.coverLevel === 'EU') return 'EU-wide';
  if (node.coverLevel === 'INTERNATIONAL') return 'International';
  return 'No country given';
}

function deadlineLine(node) {
  if (!node.deadline) {
    return h('p', { class: 'deadline' }, 'No deadline (open-ended)');
  }
  return h(
    'p',
    { class: 'deadline' },
    'Deadline: ',
    h('time', { datetime: node.deadline }, formatInstant(node.deadline, node.timeZone)),
    ' · ',
    h('strong', {}, daysLeftText(node.deadline)),
  );
}

function resultItem(node) {
  const headingId = `result-${node.id}`;
  const shown = node.features.slice(0, MAX_TAGS);
  const more = node.features.length - shown.length;
  return h(
    'li',
    { class: 'result' },
    h(
      'article',
      { 'aria-labelledby': headingId },
      h(
        'h3',
        { id: headingId },
        h('a', { href: `/instruments/${encodeURIComponent(node.id)}` }, node.title),
      ),
      h(
        'p',
        { class: 'result-meta' },
        h('span', { class: `badge badge-${node.coverLevel.toLowerCase()}` }, label(node.coverLevel)),
        ' ',
        h('span', {}, label(node.kind)),
        ' · ',
        h('span', { class: 'places' }, placeText(node)),
        node.status !== 'OPEN'
          ? [' ', h('span', { class: `badge status-${node.status.toLowerCase()}` }, label(node.status))]
          : null,
      ),
      deadlineLine(node),
      h(
        'p',
        { class: 'curator' },
        'Curated by ',
        curatorName(node.curator),
        node.curator.suspended ? ' (suspended)' : '',
      ),
      shown.length > 0
        ? h(
            'ul',
            { class: 'tags', 'aria-label': 'Features funded' },
            shown.map((f) => h('li', {}, h('abbr', { title: f.label }, f.code), ' ', f.label)),
            more > 0 ? h('li', { class: 'more' }, `and ${more} more`) : null,
          )
        : null,
    ),
  );
}

export async function render(view, _params, query) {
  let state = parseSearch(query);
  const heading = h('h1', {}, 'Find funding for security technology');
  replace(
    view,
    heading,
    h('p', { class: 'loading' }, 'Loading the feature taxonomy…'),
  );
  let tax;
  try {
    tax = await taxonomy();
  } catch (error) {
    replace(
      view,
      heading,
      notice(
        'error',
        `The search cannot start: ${error.message} `,
        h('a', { href: `/${searchQuery(state)}` }, 'Try again'),
      ),
    );
    pageReady(view, 'Search');
    return null;
  }
  const known = new Set(tax.byCode.keys());
  const clean = (s) => ({ ...s, features: s.features.filter((c) => known.has(c)) });
  state = clean(state);

  // The words and the open-only switch.
  const text = h('input', {
    id: 'q',
    type: 'search',
    name: 'q',
    maxlength: '200',
    autocomplete: 'off',
    'aria-describedby': 'q-hint',
  });
  const openOnly = h('input', {
    type: 'checkbox',
    id: 'open-only',
    'aria-describedby': 'open-only-hint',
    onchange: () => go(firstPage({ ...state, openOnly: openOnly.checked })),
  });
  const searchForm = h(
    'form',
    {
      class: 'search-bar',
      role: 'search',
      'aria-label': 'Funding instruments',
      onsubmit: (event) => {
        event.preventDefault();
        go(firstPage({ ...state, text: text.value }));
      },
    },
    h('label', { for: 'q' }, 'Words'),
    h('p', { id: 'q-hint', class: 'hint' }, 'In the title, programme or summary, e.g. drones or border.'),
    h('div', { class: 'search-row' }, text, h('button', { type: 'submit' }, 'Search')),
    h(
      'div',
      { class: 'switch' },
      openOnly,
      h('label', { for: 'open-only' }, 'Open only'),
      h('span', { id: 'open-only-hint', class: 'hint' }, 'Untick to include closed calls.'),
    ),
  );

  // Origin, country and kind.
  const origins = checkboxGroup({
    id: 'origin',
    options: COVER_LEVELS.map((v) => ({ value: v, text: label(v) })),
    chosen: (s) => s.origins,
    onToggle: (v, on) => go(firstPage({ ...state, origins: toggle(state.origins, v, on) })),
  });
  const kinds = checkboxGroup({
    id: 'kind',
    options: KINDS.map((v) => ({ value: v, text: label(v) })),
    chosen: (s) => s.kinds,
    onToggle: (v, on) => go(firstPage({ ...state, kinds: toggle(state.kinds, v, on) })),
  });
  const country = h('select', {
    id: 'country',
    name: 'country',
    onchange: () => go(firstPage({ ...state, country: country.value })),
  });

  // Features, a group per category; a category opens with a button to keep the list short.
  const categories = tax.categories.map((category) => {
    const group = checkboxGroup({
      id: 'feature',
      options: category.features.map((f) => ({
        value: f.code,
        text: [h('span', { class: 'code' }, f.code), ' ', f.label],
      })),
      chosen: (s) => s.features,
      onToggle: (v, on) => go(firstPage({ ...state, features: toggle(state.features, v, on) })),
      className: 'feature-options',
    });
    const panelId = `category-${category.id.toLowerCase()}`;
    const chosenNote = h('span', { class: 'chosen' });
    const button = h(
      'button',
      {
        type: 'button',
        class: 'disclosure',
        'aria-expanded': 'false',
        'aria-controls': panelId,
        onclick: () => setOpen(button.getAttribute('aria-expanded') !== 'true'),
      },
      h('span', { class: 'marker', 'aria-hidden': 'true' }),
      `${category.label} (${category.prefix})`,
      chosenNote,
    );
    group.element.id = panelId;
    const setOpen = (open) => {
      button.setAttribute('aria-expanded', String(open));
      group.element.hidden = !open;
    };
    setOpen(category.features.some((f) => state.features.includes(f.code)));
    return {
      element: h(
        'fieldset',
        { class: 'category' },
        h('legend', {}, button),
        h('p', { class: 'hint category-description' }, category.description),
        group.element,
      ),
      sync(s, counts) {
        group.sync(s, counts);
        const n = category.features.filter((f) => s.features.includes(f.code)).length;
        chosenNote.textContent = n > 0 ? ` · ${n} chosen` : '';
        if (n > 0) setOpen(true);
      },
    };
  });
  const matchAny = h('input', { type: 'radio', name: 'match', id: 'match-any', value: 'ANY' });
  const matchAll = h('input', { type: 'radio', name: 'match', id: 'match-all', value: 'ALL' });
  for (const radio of [matchAny, matchAll]) {
    radio.addEventListener('change', () => go(firstPage({ ...state, match: radio.value })));
  }

  // On a narrow screen the filters fold away behind a button, so that results are near.
  const chosenCount = h('span', { class: 'chosen' });
  const filtersToggle = h(
    'button',
    {
      type: 'button',
      class: 'filters-toggle secondary',
      'aria-expanded': 'false',
      'aria-controls': 'filters-body',
      onclick: () => {
        const open = filtersToggle.getAttribute('aria-expanded') !== 'true';
        filtersToggle.setAttribute('aria-expanded', String(open));
        filters.classList.toggle('folded', !open);
      },
    },
    'Filters',
    chosenCount,
  );
  const filters = h(
    'div',
    { class: 'filters folded' },
    h('h2', { class: 'filters-title' }, 'Narrow the search'),
    filtersToggle,
    h(
      'div',
      { id: 'filters-body', class: 'filters-body' },
      h('fieldset', { class: 'group' }, h('legend', {}, 'Origin'), origins.element),
      h(
        'div',
        { class: 'group field' },
        h('label', { for: 'country' }, 'Country'),
        country,
      ),
      h('fieldset', { class: 'group' }, h('legend', {}, 'Kind'), kinds.element),
      h(
        'fieldset',
        { class: 'group features' },
        h('legend', {}, 'Features'),
        h('p', { class: 'hint' }, 'What the instrument funds, by the SecurIT taxonomy.'),
        h(
          'fieldset',
          { class: 'match' },
          h('legend', {}, 'Show instruments that fund'),
          h('div', { class: 'option' }, matchAny, h('label', { for: 'match-any' }, 'any chosen feature')),
          h('div', { class: 'option' }, matchAll, h('label', { for: 'match-all' }, 'all chosen features')),
        ),
        categories.map((c) => c.element),
      ),
      h(
        'button',
        { type: 'button', class: 'secondary', onclick: () => go(emptySearch()) },
        'Clear the search',
      ),
    ),
  );

  // The results.
  const count = h('p', { id: 'result-count', class: 'result-count', 'aria-live': 'polite', 'aria-atomic': 'true' });
  const resultsHeading = h('h2', { id: 'results-title', tabindex: '-1' }, 'Results');
  const chips = h('ul', { class: 'chips', 'aria-label': 'Chosen filters' });
  const problem = h('div', {});
  const list = h('ol', { class: 'result-list', 'aria-labelledby': 'results-title' });
  const pages = h('nav', { class: 'pagination', 'aria-label': 'Result pages' });
  const results = h(
    'section',
    { class: 'results', 'aria-labelledby': 'results-title' },
    resultsHeading,
    count,
    chips,
    saveWatchBox(() => state),
    problem,
    list,
    pages,
  );

  replace(
    view,
    h(
      'div',
      { class: 'search-page' },
      h(
        'div',
        { class: 'search-head' },
        heading,
        h(
          'p',
          { class: 'lede' },
          'Calls, programmes and strategic documents for innovation in security technology, curated by cluster organisations across Europe.',
        ),
        searchForm,
      ),
      filters,
      results,
    ),
  );

  let focusResults = false;
  pages.addEventListener('click', (event) => {
    if (event.target instanceof Element && event.target.closest('a')) focusResults = true;
  });

  /** Shows the search in the controls; with `counts`, also the counts beside the options. */
  function syncForm(counts = null) {
    const chosen = state.features.length + state.origins.length + state.kinds.length + (state.country ? 1 : 0);
    chosenCount.textContent = chosen > 0 ? ` · ${chosen} chosen` : '';
    drawChips();
    // Results arriving must not overwrite words being typed.
    if (!counts) text.value = state.text;
    openOnly.checked = state.openOnly;
    matchAny.checked = state.match === 'ANY';
    matchAll.checked = state.match === 'ALL';
    origins.sync(state, counts?.origins);
    kinds.sync(state, counts?.kinds);
    for (const c of categories) c.sync(state, counts?.features);
    if (counts?.countries) {
      const present = new Map(counts.countries);
      if (state.country && !present.has(state.country)) present.set(state.country, 0);
      const options = [...present.entries()]
        .map(([code, n]) => ({ code, n, name: countryName(code) }))
        .sort((a, b) => a.name.localeCompare(b.name));
      replace(
        country,
        h('option', { value: '' }, 'Any country'),
        options.map((o) => h('option', { value: o.code }, `${o.name} (${o.n})`)),
      );
    } else if (country.options.length === 0) {
      replace(
        country,
        h('option', { value: '' }, 'Any country'),
        state.country ? h('option', { value: state.country }, countryName(state.country)) : null,
      );
    }
    country.value = state.country;
  }

  /** Each chosen filter as a button that removes it. */
  function drawChips() {
    const chip = (text, without) =>
      h(
        'li',
        {},
        h(
          'button',
          { type: 'button', class: 'chip', 'aria-label': `Remove ${text}`, onclick: () => go(firstPage(without)) },
          text,
          h('span', { class: 'chip-x', 'aria-hidden': 'true' }, '×'),
        ),
      );
    replace(
      chips,
      state.features.map((code) =>
        chip(`${code} ${tax.byCode.get(code)?.label ?? ''}`.trim(), { ...state, features: state.features.filter((c) => c !== code) }),
      ),
      state.origins.map((o) => chip(label(o), { ...state, origins: state.origins.filter((v) => v !== o) })),
      state.country ? chip(countryName(state.country), { ...state, country: '' }) : null,
      state.kinds.map((k) => chip(label(k), { ...state, kinds: state.kinds.filter((v) => v !== k) })),
      state.text.trim() ? chip(`“${state.text.trim()}”`, { ...state, text: '' }) : null,
    );
    chips.hidden = chips.children.length === 0;
  }

  function showResults(data) {
    const { results: found } = data;
    syncForm({
      features: countMap(data.featureFacets.facets.features, (e) => e.feature.code),
      origins: countMap(data.originFacets.facets.coverLevels, (e) => e.coverLevel),
      countries: countMap(data.countryFacets.facets.countries, (e) => e.country),
      kinds: countMap(data.kindFacets.facets.kinds, (e) => e.kind),
    });
    const total = found.totalCount;
    const what = state.openOnly ? 'open instrument' : 'instrument';
    const first = state.back.length * PAGE_SIZE + 1;
    const last = first + found.nodes.length - 1;
    if (total === 0) {
      count.textContent = state.openOnly
        ? 'No open instrument matches. Try fewer features, or include closed calls.'
        : 'No instrument matches. Try fewer features or another country.';
    } else {
      count.textContent =
        `${total} ${what}${total === 1 ? '' : 's'} found` +
        (total > found.nodes.length ? `, showing ${first} to ${last}.` : '.');
    }
    replace(list, found.nodes.map(resultItem));
    const pageCount = Math.max(1, Math.ceil(total / PAGE_SIZE));
    replace(
      pages,
      state.after
        ? h('a', { href: `/${searchQuery(previousPage(state))}`, rel: 'prev' }, '← Previous page')
        : null,
      pageCount > 1 ? h('span', { class: 'page-number' }, `Page ${state.back.length + 1} of ${pageCount}`) : null,
      found.pageInfo.hasNextPage && found.pageInfo.endCursor
        ? h('a', { href: `/${searchQuery(nextPage(state, found.pageInfo.endCursor))}`, rel: 'next' }, 'Next page →')
        : null,
    );
    if (focusResults) {
      focusResults = false;
      resultsHeading.focus();
    }
  }

  let latest = 0;
  async function run() {
    const mine = ++latest;
    results.setAttribute('aria-busy', 'true');
    replace(problem);
    try {
      // After a change of this tab's own, the search waits until it reflects it.
      const variables = { ...searchVariables(state), consistentWith: logPosition() };
      const data = await gql(SEARCH, variables, { auth: false });
      if (mine === latest) showResults(data);
    } catch (error) {
      if (mine !== latest) return;
      const stalePage = error instanceof ApiError && error.errors.some((e) => e.field === 'after');
      count.textContent = '';
      replace(list);
      replace(pages);
      replace(
        problem,
        stalePage
          ? notice('error', 'That page of results is out of date. ', h('a', { href: `/${searchQuery(firstPage(state))}` }, 'Go to the first page'))
          : notice('error', `The search failed: ${error.message} `, h('a', { href: `/${searchQuery(state)}` }, 'Try again')),
      );
    } finally {
      if (mine === latest) results.removeAttribute('aria-busy');
    }
  }

  syncForm();
  pageReady(view, 'Search');
  run();
  return {
    async update(nextQuery) {
      state = clean(parseSearch(nextQuery));
      syncForm();
      await run();
    },
  };
}
