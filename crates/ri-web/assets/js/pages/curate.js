// The curator area: sign in with a token (kept in this tab only), then the tenant's
// instruments by status, each opening its edit form.

import { gql, logPosition, setToken } from '../api.js';
import { TENANT, TENANT_INSTRUMENTS } from '../operations.js';
import { h, replace, notice } from '../dom.js';
import { STATUSES, label, formatInstant, formatDate } from '../format.js';
import { currentUser, signOut } from '../session.js';
import { navigate, pageReady } from '../nav.js';
import { matrixSection } from '../matrix.js';

const PAGE = 100;
const MAX_PAGES = 20;

function signInForm(view, message) {
  const input = h('input', {
    id: 'token',
    name: 'token',
    type: 'password',
    autocomplete: 'off',
    spellcheck: 'false',
    required: true,
    'aria-describedby': 'token-hint token-error',
  });
  const error = h('p', { id: 'token-error', class: 'field-error', hidden: true });
  const fail = (text) => {
    error.textContent = text;
    error.hidden = false;
    input.setAttribute('aria-invalid', 'true');
    input.focus();
  };
  const form = h(
    'form',
    {
      class: 'sign-in',
      novalidate: true,
      onsubmit: async (event) => {
        event.preventDefault();
        const value = input.value.trim().replace(/^Bearer\s+/i, '');
        if (!value) return fail('Paste your access token.');
        setToken(value);
        let user;
        try {
          user = await currentUser();
        } catch (e) {
          setToken(null);
          return fail(`The service could not check the token: ${e.message}`);
        }
        if (!user.me) return fail('This token was refused: it has expired, or this service did not issue it.');
        navigate('/curate', { replace: true });
        return undefined;
      },
    },
    h('label', { for: 'token' }, 'Access token'),
    h(
      'p',
      { id: 'token-hint', class: 'hint' },
      'The token your organisation gave you. It stays in this browser tab until you sign out or close the tab.',
    ),
    input,
    error,
    h('button', { type: 'submit' }, 'Sign in'),
  );
  replace(
    view,
    h('h1', {}, 'Curator area'),
    message ? notice('info', message) : null,
    h(
      'p',
      {},
      'Curators of a cluster organisation draft, publish, withdraw and archive its funding instruments here. Sign in to continue.',
    ),
    form,
    h(
      'details',
      { class: 'dev-hint' },
      h('summary', {}, 'Where do I get a token?'),
      h(
        'p',
        {},
        'Until accounts arrive, tokens are issued by the service’s operators. On a development machine: ',
        h('code', {}, 'cargo run -p regional-invest -- token --tenant l3ce --role curator'),
      ),
    ),
  );
  pageReady(view, 'Curator area');
  return null;
}

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
  replace(view, h('h1', {}, 'Curator area'), h('p', { class: 'loading' }, 'Checking your sign-in…'));
  let user;
  try {
    user = await currentUser();
  } catch (error) {
    replace(view, h('h1', {}, 'Curator area'), notice('error', `The service cannot be reached: ${error.message}`));
    pageReady(view, 'Curator area');
    return null;
  }
  if (!user.me) {
    return signInForm(view, user.refused ? 'Your sign-in was refused (the token may have expired). Sign in again.' : null);
  }
  const { me } = user;
  const signOutButton = h(
    'button',
    {
      type: 'button',
      class: 'secondary',
      onclick: () => {
        signOut();
        navigate('/curate', { replace: true });
      },
    },
    'Sign out',
  );
  const who = h(
    'p',
    { class: 'who' },
    `Signed in as ${me.subject ?? 'unknown'} of ${me.tenant ?? 'no tenant'} (${me.roles.map(label).join(', ') || 'no role'}). `,
    signOutButton,
  );
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
