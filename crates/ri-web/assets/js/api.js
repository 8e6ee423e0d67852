// The one way the pages reach the service: GraphQL over HTTP at /graphql. Errors arrive as
// ApiError, carrying each error's `extensions.code` and `extensions.field`.

const TOKEN_KEY = 'regional-invest.token';
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

/** The signed-in user's token (kept for this browser tab only), or null. */
export function token() {
  try {
    return sessionStorage.getItem(TOKEN_KEY);
  } catch {
    return null;
  }
}

export function setToken(value) {
  try {
    if (value) sessionStorage.setItem(TOKEN_KEY, value);
    else sessionStorage.removeItem(TOKEN_KEY);
  } catch {
    // Storage refused (private mode): the user signs in again on the next page.
  }
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
 * `auth: false` sends no token (public reads stay public when a token has expired).
 */
export async function gql(query, variables = {}, { auth = true } = {}) {
  const headers = {
    'content-type': 'application/json',
    accept: 'application/graphql-response+json, application/json;q=0.9',
  };
  const bearer = auth ? token() : null;
  if (bearer) headers.authorization = `Bearer ${bearer}`;
  let response;
  try {
    response = await fetch('/graphql', {
      method: 'POST',
      headers,
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
