// The curator area: sign in, then the tenant's instruments by status, each opening its edit
// form.

import { gql, logPosition } from '../api.js';
import { TENANT, TENANT_INSTRUMENTS } from '../operations.js';
import { h, replace, notice } from '../dom.js';
import { STATUSES, label, formatInstant, formatDate } from '../format.js';
import { signedIn, whoIsSignedIn } from '../signin.js';
import { pageReady } from '../nav.js';
import { matrixSection } from '../matrix.js';

const PAGE = 100;
const MAX_PAGES = 20;

function instrumentItem(node) {
  return h(
    'li',
    { class: 'curated' },
    h('a', { href: `/curate/${encodeURIComponent(node.id)}` }, node.title),
    h(
      'span',
      { class: 'curated-meta' },
      label(node.kind),
      node.deadline ? ` · deadline ${formatInstant(node.deadline, node.timeZone)}` : '',
      ` · changed ${formatDate(node.updatedAt.slice(0, 10))}`,
    ),
  );
}

export async function render(view) {
  const me = await signedIn(
    view,
    'Curator area',
    'Curators of a cluster organisation draft, publish, withdraw and archive its funding instruments here.',
    'regional-invest token --tenant l3ce --role curator',
  );
  if (!me) return null;
  const who = whoIsSignedIn(me);
  if (!me.canCurate) {
    replace(
      view,
      h('h1', {}, 'Curator area'),
      who,
      notice('error', 'Your roles do not include curator, so you cannot curate instruments. Ask your organisation’s admin for the curator role.'),
    );
    pageReady(view, 'Curator area');
    return null;
  }

  const heading = h('h1', {}, 'Your instruments');
  const body = h('div', { 'aria-live': 'polite', 'aria-busy': 'true' }, h('p', { class: 'loading' }, 'Loading your instruments…'));
  replace(
    view,
    heading,
    who,
    h('p', {}, h('a', { href: '/curate/new', class: 'button-link' }, 'New instrument')),
    body,
    matrixSection('instruments', 'instruments'),
  );
  pageReady(view, 'Your instruments');

  try {
    const [tenant, nodes] = await Promise.all([
      gql(TENANT, { slug: me.tenant }).then((d) => d.tenant),
      (async () => {
        const all = [];
        let after = null;
        for (let i = 0; i < MAX_PAGES; i += 1) {
          const data = await gql(TENANT_INSTRUMENTS, {
            filter: { tenant: me.tenant, statuses: STATUSES },
            first: PAGE,
            after,
            consistentWith: logPosition(),
          });
          all.push(...data.instruments.nodes);
          if (!data.instruments.pageInfo.hasNextPage) break;
          after = data.instruments.pageInfo.endCursor;
        }
        return all;
      })(),
    ]);
    if (tenant?.name) heading.textContent = `Instruments of ${tenant.name}`;
    const sections = STATUSES.map((status) => {
      const mine = nodes.filter((n) => n.status === status);
      const id = `status-${status.toLowerCase()}`;
      return h(
        'section',
        { class: 'status-group', 'aria-labelledby': id },
        h('h2', { id }, `${label(status)} (${mine.length})`),
        mine.length > 0 ? h('ul', { class: 'curated-list' }, mine.map(instrumentItem)) : h('p', { class: 'hint' }, 'None.'),
      );
    });
    replace(
      body,
      tenant?.suspended ? notice('error', 'Your organisation is suspended: it cannot change instruments for now.') : null,
      h('p', { class: 'result-count' }, `${nodes.length} instrument${nodes.length === 1 ? '' : 's'} in all.`),
      h('div', { class: 'status-groups' }, sections),
    );
  } catch (error) {
    replace(body, notice('error', `Your instruments cannot be listed: ${error.message}`));
  } finally {
    body.removeAttribute('aria-busy');
  }
  return null;
}
