// A real OpenID provider for the browser tests and for signing in on a development machine:
// panva's certified `oidc-provider`, with its development login page (any user name, any
// password: the user name becomes the `sub`). Not for production.
//
//   node web-tests/lib/oidc-provider.mjs --port 9400 --redirect http://127.0.0.1:8080/auth/callback
//
// Prints `listening <issuer>` once it answers. `POST /__rotate` replaces its signing key with a
// new one (a key rotation: ID tokens are signed with a key the relying party has not seen),
// and ends every session at the provider.

import http from 'node:http';
import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { parseArgs } from 'node:util';
import Provider from 'oidc-provider';

const { values } = parseArgs({
  options: {
    port: { type: 'string', default: '9400' },
    redirect: { type: 'string', multiple: true, default: ['http://127.0.0.1:8080/auth/callback'] },
    'client-id': { type: 'string', default: 'regional-invest' },
    'client-secret': { type: 'string', default: 'regional-invest-development-client-secret' },
  },
});
const port = Number(values.port);
const issuer = `http://127.0.0.1:${port}`;

function signingKey() {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return { ...privateKey.export({ format: 'jwk' }), kid: randomUUID(), use: 'sig', alg: 'RS256' };
}

function provider() {
  const oidc = new Provider(issuer, {
    clients: [
      {
        client_id: values['client-id'],
        client_secret: values['client-secret'],
        redirect_uris: values.redirect,
        post_logout_redirect_uris: values.redirect.map((uri) => new URL('/', uri).href),
        response_types: ['code'],
        grant_types: ['authorization_code'],
        token_endpoint_auth_method: 'client_secret_basic',
      },
    ],
    jwks: { keys: [signingKey()] },
    pkce: { required: () => true },
    features: { devInteractions: { enabled: true }, rpInitiatedLogout: { enabled: true } },
    claims: { openid: ['sub'], profile: ['name', 'preferred_username'] },
    findAccount: (_ctx, sub) => ({
      accountId: sub,
      claims: () => ({ sub, name: sub, preferred_username: sub }),
    }),
    cookies: { keys: ['regional-invest-development-provider-cookie-key'] },
    ttl: { IdToken: 3600, AccessToken: 3600, Session: 3600, Interaction: 600, Grant: 3600 },
  });
  // The development login page logs its "unsafe" warnings once per start; keep the log short.
  oidc.on('server_error', (_ctx, error) => console.error('provider error:', error));
  return oidc;
}

let current = provider();
const server = http.createServer((request, response) => {
  if (request.method === 'POST' && request.url === '/__rotate') {
    current = provider();
    response.writeHead(204).end();
    return;
  }
  current.callback()(request, response);
});
server.listen(port, '127.0.0.1', () => console.log(`listening ${issuer}`));
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => server.close(() => process.exit(0)));
