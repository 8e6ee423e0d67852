// The feature-gap heat map: for each feature the tenant's projects declare, how many projects
// need it against how many open instruments fund it. A cell's shade says how much (darker is
// more, within its column); a feature no open instrument funds is marked a gap in words as well
// as in colour. The table is the data: no number is shown only as a colour.

import { gql } from '../api.js';
import { FEATURE_GAPS } from '../operations.js';
import { h, replace, notice } from '../dom.js';
import { pageReady } from '../nav.js';
import { taxonomy } from '../taxonomy.js';
import { signedIn, whoIsSignedIn } from '../signin.js';

const TITLE = 'Feature gaps';
const INTRO = 'The features your organisation’s projects need, against the open instruments that fund them.';

/** The shade (0 to 4) of `value` in a column whose largest value is `max`. */
export function level(value, max) {
  if (value <= 0 || max <= 0) return 0;
  return Math.max(1, Math.min(4, Math.ceil((value / max) * 4)));
}

function cell(value, max, { gap = false, headers }) {
  return h(
    'td',
    { class: `heat heat-${gap ? 'gap' : level(value, max)}`, headers, dataset: { count: String(value) } },
    String(value),
    gap ? h('span', { class: 'gap-mark' }, ' gap') : null,
  );
}

export async function render(view) {
  const me = await signedIn(view, TITLE, INTRO);
  if (!me) return null;
  const body = h('div', { 'aria-live': 'polite', 'aria-busy': 'true' }, h('p', { class: 'loading' }, 'Loading the feature gaps…'));
  replace(view, h('h1', {}, TITLE), h('p', { class: 'lede' }, INTRO), whoIsSignedIn(me), body);
  pageReady(view, TITLE);
  try {
    const [{ featureGaps }, tax] = await Promise.all([gql(FEATURE_GAPS), taxonomy().catch(() => null)]);
    if (!featureGaps.length) {
      replace(body, h('p', {}, 'Your organisation’s projects declare no features yet.'));
      return null;
    }
    const maxProjects = Math.max(...featureGaps.map((g) => g.projects));
    const maxInstruments = Math.max(...featureGaps.map((g) => g.openInstruments));
    const categoryLabel = (id) => tax?.categories.find((c) => c.id === id)?.label ?? id;
    const categories = [...new Set(featureGaps.map((g) => g.feature.category))];
    const gaps = featureGaps.filter((g) => g.openInstruments === 0);
    const rows = categories.flatMap((category) => {
      const catId = `gap-cat-${category}`;
      return [
        h('tr', { class: 'heat-category' }, h('th', { id: catId, colspan: '3', scope: 'colgroup' }, categoryLabel(category))),
        featureGaps
          .filter((g) => g.feature.category === category)
          .map((g) => {
            const rowId = `gap-${g.feature.code}`;
            return h(
              'tr',
              { dataset: { feature: g.feature.code } },
              h('th', { id: rowId, scope: 'row', headers: catId }, `${g.feature.code} ${g.feature.label}`),
              cell(g.projects, maxProjects, { headers: `${catId} ${rowId} gap-projects` }),
              cell(g.openInstruments, maxInstruments, {
                gap: g.openInstruments === 0,
                headers: `${catId} ${rowId} gap-instruments`,
              }),
            );
          }),
      ];
    });
    replace(
      body,
      h(
        'p',
        {},
        `${featureGaps.length} feature${featureGaps.length === 1 ? '' : 's'} needed; `,
        h('strong', {}, `${gaps.length} with no open instrument`),
        '.',
      ),
      h(
        'div',
        { class: 'table-scroll', role: 'region', 'aria-labelledby': 'gap-caption', tabindex: '0' },
        h(
          'table',
          { class: 'heat-map' },
          h('caption', { id: 'gap-caption' }, 'Features needed by projects and funded by open instruments (darker cells: more)'),
          h(
            'thead',
            {},
            h(
              'tr',
              {},
              h('th', { scope: 'col' }, 'Feature'),
              h('th', { scope: 'col', id: 'gap-projects' }, 'Projects that need it'),
              h('th', { scope: 'col', id: 'gap-instruments' }, 'Open instruments that fund it'),
            ),
          ),
          h('tbody', {}, rows),
        ),
      ),
      h(
        'section',
        { 'aria-labelledby': 'gaps-heading' },
        h('h2', { id: 'gaps-heading' }, 'Gaps to fill'),
        gaps.length
          ? h(
              'ul',
              { class: 'gap-list' },
              gaps.map((g) => h('li', {}, `${g.feature.code} ${g.feature.label}: needed by ${g.projects} project${g.projects === 1 ? '' : 's'}`)),
            )
          : h('p', {}, 'Every needed feature is funded by at least one open instrument.'),
      ),
    );
  } catch (error) {
    replace(body, notice('error', `The feature gaps cannot be shown: ${error.message}`));
  } finally {
    body.removeAttribute('aria-busy');
  }
  return null;
}
