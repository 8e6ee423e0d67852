// Signing in on the pages that need it (curating, projects, clusters, feature gaps, the inbox):
// through the organisation's OpenID provider, or, on a development machine, with a pasted token
// (the development sign-in). Either way the service keeps the session in an HttpOnly cookie; no
// page holds a token. `signedIn` answers the user, or draws the sign-in (which comes back to
// the same page) and answers null. A session that expired signs in again through the provider
// by itself, once a minute at most.

import { h, replace, notice } from './dom.js';
import { label } from './format.js';
import { currentUser, developmentPeople, providerSignIn, signInAsPerson, signInOptions, signInWithToken, signOut } from './session.js';
import { navigate, pageReady } from './nav.js';

const REAUTH_KEY = 'regional-invest.reauthenticated-at';

function here() {
  return window.location.pathname + window.location.search;
}

/** The development sign-in: a pasted token becomes a session (never kept by the page). */
function tokenForm(hint) {
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
  const back = here();
  return h(
    'form',
    {
      class: 'sign-in',
      novalidate: true,
      onsubmit: async (event) => {
        event.preventDefault();
        const value = input.value.trim().replace(/^Bearer\s+/i, '');
        if (!value) return fail('Paste your access token.');
        const refused = await signInWithToken(value);
        if (refused) return fail(`This token was refused: ${refused}`);
        navigate(back, { replace: true });
        return undefined;
      },
    },
    h('h2', {}, 'Development sign-in'),
    notice('info', 'This service is set up for development: anyone with a token it accepts can sign in here.'),
    h('label', { for: 'token' }, 'Access token'),
    h('p', { id: 'token-hint', class: 'hint' }, 'A token minted by ', h('code', {}, hint), '. It becomes this browser’s session; the page does not keep it.'),
    input,
    error,
    h('button', { type: 'submit' }, 'Sign in'),
  );
}

/** The development sign-in's people: one button each, signing in as them. */
async function peoplePicker() {
  const people = await developmentPeople();
  if (!people.length) return null;
  const status = h('div', {});
  const back = here();
  return h(
    'div',
    { class: 'dev-people' },
    h('p', {}, 'Sign in as someone an organisation granted a role:'),
    h(
      'ul',
      { class: 'curated-list' },
      people.map((p) =>
        h(
          'li',
          {},
          h(
            'button',
            {
              type: 'button',
              class: 'secondary',
              onclick: async () => {
                const refused = await signInAsPerson(p.subject, p.tenant);
                if (refused) replace(status, notice('error', `Not signed in: ${refused}`));
                else navigate(back, { replace: true });
              },
            },
            `${p.subject} of ${p.tenant} (${p.roles.map((r) => label(r.toUpperCase())).join(', ')})`,
          ),
        ),
      ),
    ),
    status,
  );
}

/**
 * Draws the ways to sign in on `view`. `hint` is the command that mints a token for the
 * development sign-in.
 */
export async function drawSignIn(view, title, intro, { message = null, hint = 'regional-invest token --tenant safe --role follow_up_manager' } = {}) {
  const options = await signInOptions();
  const ways = [];
  if (options.provider) {
    ways.push(h('p', {}, h('a', { class: 'button-link', href: providerSignIn(here()) }, `Sign in with ${options.provider}`)));
  }
  if (options.development) {
    const form = tokenForm(`cargo run -p regional-invest -- ${hint.replace(/^regional-invest /, '')}`);
    // The people to pick go under the form's heading and notice.
    const people = await peoplePicker();
    if (people) form.insertBefore(people, form.querySelector('label'));
    ways.push(form);
  }
  if (!ways.length) ways.push(notice('error', 'Signing in is not set up on this service. Ask its operators.'));
  replace(view, h('h1', {}, title), message ? notice('info', message) : null, h('p', {}, intro, ' Sign in to continue.'), ...ways);
  pageReady(view, title);
  return options;
}

/** Signs in again through the provider after a session expired, unless that was just tried. */
function reauthenticate(options) {
  if (!options.provider) return false;
  let last = 0;
  try {
    last = Number(sessionStorage.getItem(REAUTH_KEY) ?? 0);
    if (Date.now() - last < 60_000) return false;
    sessionStorage.setItem(REAUTH_KEY, String(Date.now()));
  } catch {
    return false;
  }
  window.location.assign(providerSignIn(here()));
  return true;
}

/** The signed-in user's `me`, or null after drawing the sign-in (or an error) in `view`. */
export async function signedIn(view, title, intro, hint = undefined) {
  replace(view, h('h1', {}, title), h('p', { class: 'loading' }, 'Checking your sign-in…'));
  let user;
  try {
    user = await currentUser();
  } catch (error) {
    replace(view, h('h1', {}, title), notice('error', `The service cannot be reached: ${error.message}`));
    pageReady(view, title);
    return null;
  }
  if (!user.me) {
    const message = user.refused ? 'Your session has ended. Sign in again.' : null;
    const options = await drawSignIn(view, title, intro, { message, hint });
    if (user.refused) reauthenticate(options);
    return null;
  }
  return user.me;
}

/** "Signed in as … of …", with a sign-out button. */
export function whoIsSignedIn(me) {
  return h(
    'p',
    { class: 'who' },
    `Signed in as ${me.subject ?? 'unknown'} of ${me.tenant ?? 'no tenant'} (${me.roles.map(label).join(', ') || 'no role'}). `,
    h(
      'button',
      {
        type: 'button',
        class: 'secondary',
        onclick: async () => {
          const provider = await signOut();
          if (provider) window.location.assign(provider);
          else navigate(window.location.pathname, { replace: true });
        },
      },
      'Sign out',
    ),
  );
}

/** Whether `me` may change the tenant's projects and clusters (as the API's policy says). */
export function managesProjects(me) {
  return me.roles.some((r) => r === 'FOLLOW_UP_MANAGER' || r === 'TENANT_ADMIN');
}

/** A percentage of a share 0 to 1: "67 %". */
export function percent(share) {
  return share == null ? '–' : `${Math.round(share * 100)} %`;
}
