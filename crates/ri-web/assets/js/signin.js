// Signing in on the follow-up manager's pages (projects, clusters, feature gaps): the same
// token as the curator area, kept in this tab only. `signedIn` answers the user, or draws the
// sign-in form (which comes back to the same page) and answers null.

import { setToken } from './api.js';
import { h, replace, notice } from './dom.js';
import { label } from './format.js';
import { currentUser, signOut } from './session.js';
import { navigate, pageReady } from './nav.js';

function signInForm(view, title, intro, message) {
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
  const here = window.location.pathname + window.location.search;
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
        navigate(here, { replace: true });
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
    h('h1', {}, title),
    message ? notice('info', message) : null,
    h('p', {}, intro, ' Sign in to continue.'),
    form,
    h(
      'details',
      { class: 'dev-hint' },
      h('summary', {}, 'Where do I get a token?'),
      h(
        'p',
        {},
        'Until accounts arrive, tokens are issued by the service’s operators. On a development machine: ',
        h('code', {}, 'cargo run -p regional-invest -- token --tenant safe --role follow_up_manager'),
      ),
    ),
  );
  pageReady(view, title);
}

/** The signed-in user's `me`, or null after drawing the sign-in form (or an error) in `view`. */
export async function signedIn(view, title, intro) {
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
    signInForm(view, title, intro, user.refused ? 'Your sign-in was refused (the token may have expired). Sign in again.' : null);
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
        onclick: () => {
          signOut();
          navigate(window.location.pathname, { replace: true });
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
