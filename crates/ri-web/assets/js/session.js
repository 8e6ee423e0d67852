// Who is signed in: the token in this tab's sessionStorage, as the API sees it (`me`).

import { gql, token, setToken, ApiError } from './api.js';
import { ME } from './operations.js';

/**
 * The signed-in user's `me`, or null when nobody is signed in. A token the API refuses is
 * forgotten, and `{ refused: true }` says so.
 */
export async function currentUser() {
  if (!token()) return { me: null, refused: false };
  try {
    const { me } = await gql(ME);
    if (!me.authenticated) {
      setToken(null);
      return { me: null, refused: true };
    }
    return { me, refused: false };
  } catch (error) {
    if (error instanceof ApiError && error.has('UNAUTHENTICATED')) {
      setToken(null);
      return { me: null, refused: true };
    }
    throw error;
  }
}

export function signOut() {
  setToken(null);
}
