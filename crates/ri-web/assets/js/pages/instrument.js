// One instrument: every detail, its features by category, the deadline with an "add to
// calendar" file, the curating tenant, and its history (auditTrail), which the API shows to the
// curating tenant's signed-in members. `?asOf=<instant>` shows it as it stood then; each
// history entry links there.

import { gql, logPosition, hasSession, forgetSession, ApiError } from '../api.js';
import { INSTRUMENT, AUDIT_TRAIL, ME } from '../operations.js';
import { h, replace, notice } from '../dom.js';
import {
  label,
  countryName,
  formatInstant,
  formatDate,
  daysLeftText,
  formatFunding,
  curatorName,
} from '../format.js';
import { deadlineCalendar, calendarFileName } from '../ics.js';
import { taxonomy } from '../taxonomy.js';
import { pageReady } from '../nav.js';

const HISTORY_PAGE = 50;

/**
 * The instrument as the signed-in user may see it (their drafts too), else as the public does;
 * as it stood at `asOf` when given.
 */
async function load(id, asOf) {
  const variables = { id, consistentWith: logPosition(), asOf };
  if (hasSession()) {
    try {
      return { data: await gql(INSTRUMENT, variables), expired: false };
    } catch (error) {
      if (!(error instanceof ApiError && error.has('UNAUTHENTICATED'))) throw error;
      forgetSession();
      return { data: await gql(INSTRUMENT, variables, { auth: false }), expired: true };
    }
  }
  return { data: await gql(INSTRUMENT, variables, { auth: false }), expired: false };
}

/** `?asOf=` of the page's query, if it is an instant. */
function asOfOf(query) {
  const asOf = new URLSearchParams(query ?? '').get('asOf');
  return asOf && !Number.isNaN(Date.parse(asOf)) ? asOf : null;
}

function pagePath(id, asOf) {
  const path = `/instruments/${encodeURIComponent(id)}`;
  return asOf ? `${path}?asOf=${encodeURIComponent(asOf)}` : path;
}

function row(term, ...value) {
  const shown = value.flat().filter((v) => v !== null && v !== undefined && v !== '');
  if (shown.length === 0) return null;
  return [h('dt', {}, term), h('dd', {}, ...value)];
}

function hostOf(link) {
  try {
    return ` (${new URL(link).host})`;
  } catch {
    return '';
  }
}

function downloadCalendar(instrument) {
  const pageUrl = new URL(`/instruments/${encodeURIComponent(instrument.id)}`, window.location.origin).href;
  const text = deadlineCalendar(instrument, { pageUrl });
  const url = URL.createObjectURL(new Blob([text], { type: 'text/calendar;charset=utf-8' }));
  const link = h('a', { href: url, download: calendarFileName(instrument.title), hidden: true });
  document.body.appendChild(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

function featuresByCategory(instrument, tax) {
  if (instrument.features.length === 0) {
    return h('p', {}, 'No features tagged yet.');
  }
  const codes = new Set(instrument.features.map((f) => f.code));
  const sections = [];
  if (tax) {
    for (const category of tax.categories) {
      const mine = category.features.filter((f) => codes.has(f.code));
      if (mine.length === 0) continue;
      sections.push(
        h(
          'section',
          { class: 'feature-category' },
          h('h3', {}, category.label),
          h('ul', { class: 'tags' }, mine.map((f) => h('li', {}, h('abbr', { title: f.label }, f.code), ' ', f.label))),
        ),
      );
    }
  } else {
    sections.push(
      h('ul', { class: 'tags' }, instrument.features.map((f) => h('li', {}, f.code, ' ', f.label))),
    );
  }
  return sections;
}

function historyEntry(id, entry) {
  return h(
    'li',
    {},
    h(
      'p',
      { class: 'history-head' },
      h('time', { datetime: entry.recordedAt }, formatInstant(entry.recordedAt, null)),
      ' · ',
      h('strong', {}, entry.eventType.replace(/^Instrument/, '').replace(/([a-z])([A-Z])/g, '$1 $2')),
      ` · by ${entry.actor} · version ${entry.version} · `,
      h(
        'a',
        { href: pagePath(id, entry.recordedAt), 'aria-label': `As it was then, version ${entry.version}` },
        'As it was then',
      ),
    ),
    entry.summary ? h('p', {}, entry.summary) : null,
    entry.changes.length > 0
      ? h(
          'table',
          { class: 'changes' },
          h('caption', { class: 'visually-hidden' }, `Changes in version ${entry.version}`),
          h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Field'), h('th', { scope: 'col' }, 'Before'), h('th', { scope: 'col' }, 'After'))),
          h(
            'tbody',
            {},
            entry.changes.map((c) =>
              h('tr', {}, h('th', { scope: 'row' }, c.field), h('td', {}, c.old ?? '—'), h('td', {}, c.new ?? '—')),
            ),
          ),
        )
      : null,
  );
}

async function showHistory(section, id) {
  const heading = h('h2', { id: 'history-title' }, 'History');
  if (!hasSession()) {
    replace(
      section,
      heading,
      h(
        'p',
        {},
        'The history of an instrument is shown to the signed-in members of the organisation that curates it. ',
        h('a', { href: '/curate' }, 'Sign in'),
      ),
    );
    return;
  }
  replace(section, heading, h('p', { class: 'loading' }, 'Loading the history…'));
  const entries = [];
  let after = null;
  try {
    for (let pages = 0; pages < 20; pages += 1) {
      const data = await gql(AUDIT_TRAIL, { id, first: HISTORY_PAGE, after });
      entries.push(...data.auditTrail.nodes);
      if (!data.auditTrail.pageInfo.hasNextPage) break;
      after = data.auditTrail.pageInfo.endCursor;
    }
  } catch (error) {
    replace(section, heading, notice('error', `The history cannot be shown: ${error.message}`));
    return;
  }
  if (entries.length === 0) {
    replace(section, heading, h('p', {}, 'No history visible to you: it is shown to the curating organisation.'));
    return;
  }
  replace(section, heading, h('ol', { class: 'history' }, entries.map((entry) => historyEntry(id, entry))));
}

async function canEdit(instrument) {
  if (!hasSession()) return false;
  try {
    const { me } = await gql(ME);
    return me.canCurate && me.tenant === instrument.curator.slug;
  } catch {
    return false;
  }
}

export async function render(view, params, query) {
  const id = params.id;
  const asOf = asOfOf(query);
  replace(view, h('p', { class: 'loading' }, 'Loading the instrument…'));
  let loaded;
  let tax = null;
  try {
    [loaded, tax] = await Promise.all([load(id, asOf), taxonomy().catch(() => null)]);
  } catch (error) {
    replace(view, h('h1', {}, 'Instrument'), notice('error', `The instrument cannot be shown: ${error.message}`));
    pageReady(view, 'Instrument');
    return null;
  }
  const instrument = loaded.data.instrument;
  if (!instrument && asOf) {
    replace(
      view,
      h('h1', {}, 'Not there yet'),
      h('p', {}, `On ${formatInstant(asOf, null)} this instrument did not exist yet, or was not yet published. `, h('a', { href: pagePath(id, null) }, 'See it as it is now')),
    );
    pageReady(view, 'Not there yet');
    return null;
  }
  if (!instrument) {
    replace(
      view,
      h('h1', {}, 'No such instrument'),
      h('p', {}, 'It may have been archived, or it is a draft that only its curators see. ', h('a', { href: '/' }, 'Back to the search')),
    );
    pageReady(view, 'No such instrument');
    return null;
  }

  const places =
    instrument.countries.length > 0
      ? instrument.countries.map(countryName).join(', ')
      : instrument.coverLevel === 'EU'
        ? 'EU-wide'
        : instrument.coverLevel === 'INTERNATIONAL'
          ? 'International'
          : '';
  const deadline = instrument.deadline
    ? h(
        'div',
        { class: 'deadline-box' },
        h('p', {}, h('span', { class: 'deadline-label' }, 'Deadline '), h('time', { datetime: instrument.deadline }, formatInstant(instrument.deadline, instrument.timeZone))),
        h('p', { class: 'days-left' }, daysLeftText(instrument.deadline)),
        h(
          'button',
          { type: 'button', class: 'secondary', onclick: () => downloadCalendar(instrument) },
          'Add to calendar (.ics)',
        ),
      )
    : h('div', { class: 'deadline-box' }, h('p', {}, 'No deadline: open-ended.'));

  const edit = h('p', { class: 'edit-link' });
  const history = h('section', { class: 'history-section', 'aria-labelledby': 'history-title' });
  replace(
    view,
    h('p', { class: 'breadcrumb' }, h('a', { href: '/' }, '← Search')),
    loaded.expired ? notice('info', 'Your sign-in has expired; showing the public view.') : null,
    asOf
      ? notice(
          'info',
          `As it was on ${formatInstant(asOf, null)}: version ${instrument.version}, last changed ${formatInstant(instrument.updatedAt, null)}. `,
          h('a', { href: pagePath(id, null) }, 'See it as it is now'),
        )
      : null,
    h(
      'article',
      { class: 'instrument' },
      h(
        'header',
        { class: 'instrument-head' },
        h('h1', {}, instrument.title),
        h(
          'p',
          { class: 'result-meta' },
          h('span', { class: `badge badge-${instrument.coverLevel.toLowerCase()}` }, label(instrument.coverLevel)),
          ' ',
          label(instrument.kind),
          places ? ` · ${places}` : '',
          ' ',
          h('span', { class: `badge status-${instrument.status.toLowerCase()}` }, label(instrument.status)),
        ),
        h(
          'p',
          { class: 'curator' },
          'Curated by ',
          h('strong', {}, curatorName(instrument.curator)),
          instrument.curator.suspended ? ' (suspended)' : '',
        ),
        edit,
      ),
      deadline,
      instrument.summary ? h('p', { class: 'summary' }, instrument.summary) : null,
      instrument.link
        ? h('p', {}, h('a', { href: instrument.link, rel: 'noopener noreferrer external', class: 'external' }, 'The instrument’s own page'), h('span', { class: 'hint' }, hostOf(instrument.link)))
        : null,
      h('h2', {}, 'Details'),
      h(
        'dl',
        { class: 'details' },
        row('Kind', label(instrument.kind)),
        row('Origin', label(instrument.coverLevel)),
        row('Countries', places),
        row('Programme', instrument.programme),
        row('For', instrument.targetOrganisations.map(label).join(', ')),
        row('Funding', formatFunding(instrument.funding)),
        row('Periodicity', instrument.periodicity ? label(instrument.periodicity) : ''),
        row('Languages', instrument.languages.join(', ').toUpperCase()),
        row('Opens', formatDate(instrument.openingDate)),
        row('Deadline', instrument.deadline ? formatInstant(instrument.deadline, instrument.timeZone) : ''),
        row('Published', instrument.publishedAt ? formatInstant(instrument.publishedAt, null) : ''),
        row('Last changed', formatInstant(instrument.updatedAt, null)),
        row('Status', label(instrument.status)),
      ),
      h('h2', {}, 'Features funded'),
      h('div', { class: 'features' }, featuresByCategory(instrument, tax)),
      history,
    ),
  );
  pageReady(view, asOf ? `${instrument.title} (as it was)` : instrument.title);
  showHistory(history, instrument.id);
  if (!asOf && (await canEdit(instrument))) {
    replace(edit, h('a', { href: `/curate/${encodeURIComponent(instrument.id)}`, class: 'button-link' }, 'Edit this instrument'));
  }
  return null;
}
