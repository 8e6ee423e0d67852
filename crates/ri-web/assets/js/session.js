// Who is signed in: the browser's session with the service (an HttpOnly cookie the service
// sets after the OpenID provider's sign-in or the development sign-in), as the API sees it.

import { gql, hasSession, forgetSession, ApiError } from './api.js';
import { ME } from './operations.js';

/**
 * The signed-in user's `me`, or null when nobody is signed in. A session the API refuses (it
 * expired) is forgotten, and `{ refused: true }` says so.
 */
export async function currentUser() {
  if (!hasSession()) return { me: null, refused: false };
  try {
    const { me } = await gql(ME);
    if (!me.authenticated) {
      forgetSession();
      return { me: null, refused: true };
    }
    return { me, refused: false };
  } catch (error) {
    if (error instanceof ApiError && error.has('UNAUTHENTICATED')) {
      forgetSession();
      return { me: null, refused: true };
    }
    throw error;
  }
}

/** How this service lets people sign in: `{ provider: name | null, development: bool }`. */
export async function signInOptions() {
  try {
    const response = await fetch('/auth/options', { credentials: 'omit' });
    if (!response.ok) return { provider: null, development: false };
    const options = await response.json();
    return { provider: options.provider ?? null, development: options.development === true };
  } catch {
    return { provider: null, development: false };
  }
}

/** Where the OpenID sign-in starts, coming back to `path`. */
export function providerSignIn(path) {
  return `/auth/login?return=${encodeURIComponent(path)}`;
}

/** The people the development sign-in offers: `[{ subject, tenant, roles }]`, or none. */
export async function developmentPeople() {
  try {
    const response = await fetch('/auth/dev/people');
    return response.ok ? await response.json() : [];
  } catch {
    return [];
  }
}

/**
 * The development sign-in: a session for a pasted token (`{ token }`) or a picked person
 * (`{ subject, tenant }`). Answers null, or the service's reason
 * for refusing it.
 */
export async function signInWithToken(token) {
  return developmentSignIn({ token });
}

async function developmentSignIn(body) {
  let response;
  try {
    response = await fetch('/auth/dev', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
  } catch {
    return 'The service cannot be reached. Check your connection and try again.';
  }
  if (response.ok) return null;
  try {
    const body = await response.json();
    return body.error ?? `The service answered with status ${response.status}.`;
  } catch {
    return `The service answered with status ${response.status}.`;
  }
}

/** The development sign-in as a person some tenant granted a role; null, or why not. */
export async function signInAsPerson(subject, tenant) {
  return developmentSignIn({ subject, tenant });
}

/** Ends the session; answers where to go next (the provider's sign-out page, or null). */
export async function signOut() {
  forgetSession();
  try {
    const response = await fetch('/auth/logout', { method: 'POST' });
    const body = await response.json();
    return typeof body.redirect === 'string' && body.redirect !== '/' ? body.redirect : null;
  } catch {
    return null;
  }
}
