// The one way the pages reach the service: GraphQL over HTTP at /graphql. Errors arrive as
// ApiError, carrying each error's `extensions.code` and `extensions.field`.

const POSITION_KEY = 'regional-invest.log-position';

/**
 * Where this tab's last change went in the log (`extensions.logPosition` of a mutation's
 * response), or null: searches pass it as `consistentWith`, so a curator who has just published
 * finds the instrument at once, on whichever replica answers.
 */
export function logPosition() {
  try {
    return sessionStorage.getItem(POSITION_KEY);
  } catch {
    return null;
  }
}

function rememberPosition(value) {
  if (typeof value !== 'string') return;
  try {
    sessionStorage.setItem(POSITION_KEY, value);
  } catch {
    // Storage refused: searches may lag this tab's own change by a moment.
  }
}

/**
 * Whether this browser has a session with the service. The session itself is an HttpOnly
 * cookie no script can read (docs/decisions/0009); the service sets `ri_signed_in=1` beside it,
 * with the same lifetime, so that pages know without asking.
 */
export function hasSession() {
  return document.cookie.split(';').some((c) => c.trim() === 'ri_signed_in=1');
}

/** Forgets the session on this page's side (after the service refused it). */
export function forgetSession() {
  document.cookie = 'ri_signed_in=; Max-Age=0; Path=/; SameSite=Lax';
}

/** One or more GraphQL errors: `errors[i]` is `{ message, code, field }`. */
export class ApiError extends Error {
  constructor(errors) {
    super(errors.map((e) => e.message).join('; '));
    this.name = 'ApiError';
    this.errors = errors;
  }

  /** The first error's code, e.g. CONFLICT. */
  get code() {
    return this.errors[0]?.code ?? 'INTERNAL';
  }

  has(code) {
    return this.errors.some((e) => e.code === code);
  }
}

/**
 * Runs a GraphQL operation; returns its `data` or throws ApiError.
 * `auth: false` sends no session cookie (the public's view, whoever is signed in).
 */
export async function gql(query, variables = {}, { auth = true } = {}) {
  const headers = {
    'content-type': 'application/json',
    accept: 'application/graphql-response+json, application/json;q=0.9',
  };
  let response;
  try {
    response = await fetch('/graphql', {
      method: 'POST',
      headers,
      credentials: auth ? 'same-origin' : 'omit',
      body: JSON.stringify({ query, variables }),
    });
  } catch {
    throw new ApiError([
      { message: 'The service cannot be reached. Check your connection and try again.', code: 'UNAVAILABLE', field: null },
    ]);
  }
  let body;
  try {
    body = await response.json();
  } catch {
    throw new ApiError([
      { message: `The service answered with status ${response.status}. Try again later.`, code: 'INTERNAL', field: null },
    ]);
  }
  rememberPosition(body.extensions?.logPosition);
  if (Array.isArray(body.errors) && body.errors.length > 0) {
    throw new ApiError(
      body.errors.map((e) => ({
        message: String(e.message ?? 'unknown error'),
        code: e.extensions?.code ?? 'INTERNAL',
        field: e.extensions?.field ?? null,
      })),
    );
  }
  return body.data;
}
