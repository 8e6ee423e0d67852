// Signing in through a real OpenID provider (web-tests/lib/oidc-provider.mjs, started by
// crates/regional-invest/tests/web.rs with PROVIDER_URL): Mira, a follow-up manager of SAFE,
// signs in on the provider's page and lands back on the projects page with SAFE's grants; no
// page holds a token; the API answers her over the session cookie and a WebSocket too. A
// session that ends signs in again through the provider by itself. After the provider rotates
// its signing key the next sign-in still works. Someone no tenant granted a role is told so.
// Signing out ends the session at the provider too.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { BASE_URL, assertAccessible, assertNoProblems, assertNoSidewaysScroll, launch, newPage, screenshot, signInThroughProvider } from './lib/harness.mjs';

const PROVIDER_URL = process.env.PROVIDER_URL;
if (!PROVIDER_URL) throw new Error('PROVIDER_URL is not set');

let browser;

before(async () => {
  browser = await launch();
});
after(async () => {
  await browser?.close();
});

/** `me` as the API answers the browser's cookies. */
async function me(page) {
  const response = await page.context().request.post(`${BASE_URL}/graphql`, {
    headers: { 'content-type': 'application/json' },
    data: { query: '{ me { authenticated subject tenant roles } }' },
  });
  return (await response.json()).data.me;
}

test('a follow-up manager signs in on the provider’s page and gets her tenant’s grants', async () => {
  const page = await newPage(browser);
  await page.goto(`${BASE_URL}/projects?stage=x`);
  await page.getByRole('link', { name: 'Sign in with the test provider' }).waitFor();
  // The development sign-in is off here: no token field.
  assert.equal(await page.getByLabel('Access token').count(), 0);
  await assertAccessible(page, 'the sign-in');
  await signInThroughProvider(page, 'mira', PROVIDER_URL);

  await page.waitForURL(`${BASE_URL}/projects?stage=x`);
  await page.getByText('Signed in as mira of safe (Follow-up manager)').waitFor();
  await screenshot(page, 'oidc-signed-in');

  // The session is an HttpOnly cookie; the page stores no token anywhere.
  const cookies = await page.context().cookies(BASE_URL);
  const session = cookies.find((c) => c.name === 'ri_session');
  assert.ok(session, 'a session cookie');
  assert.equal(session.httpOnly, true);
  assert.equal(session.sameSite, 'Lax');
  const stored = await page.evaluate(() => JSON.stringify({ ...localStorage, ...sessionStorage }) + document.cookie);
  assert.ok(!stored.includes(session.value), 'no script can read the session');
  assert.ok(!/eyJ[\w-]+\.[\w-]+\.[\w-]+/.test(stored), `no token in the page's storage: ${stored}`);

  assert.deepEqual(await me(page), { authenticated: true, subject: 'mira', tenant: 'safe', roles: ['FOLLOW_UP_MANAGER'] });

  // A WebSocket opened by the page is signed in by the same session.
  const ack = await page.evaluate(
    () =>
      new Promise((resolve) => {
        const socket = new WebSocket(`ws://${window.location.host}/graphql`, 'graphql-transport-ws');
        socket.onopen = () => socket.send(JSON.stringify({ type: 'connection_init', payload: {} }));
        socket.onmessage = (event) => {
          resolve(JSON.parse(event.data).type);
          socket.close();
        };
        socket.onclose = (event) => resolve(`closed ${event.code}`);
      }),
  );
  assert.equal(ack, 'connection_ack');
  assertNoProblems(page);

  // The session ends (here: its cookie is gone, as when it expires): the page signs in again
  // through the provider, which remembers Mira, and comes back without a form.
  await page.context().clearCookies({ name: 'ri_session' });
  await page.goto(`${BASE_URL}/gaps`);
  await page.waitForURL(`${BASE_URL}/gaps`, { timeout: 30_000 });
  await page.getByText('Signed in as mira of safe').waitFor();
  assert.equal((await me(page)).authenticated, true);

  // Signing out ends the session here and at the provider.
  await page.getByRole('button', { name: 'Sign out' }).click();
  await page.waitForURL((url) => url.href.startsWith(PROVIDER_URL));
  await page.getByRole('button', { name: 'Yes, sign me out' }).click();
  await page.waitForURL(`${BASE_URL}/`);
  assert.equal((await me(page)).authenticated, false);
  await page.goto(`${BASE_URL}/projects`);
  await page.getByRole('link', { name: 'Sign in with the test provider' }).waitFor();
  await page.context().close();
});

test('after the provider rotates its signing key, signing in still works', async () => {
  const rotated = await fetch(`${PROVIDER_URL}/__rotate`, { method: 'POST' });
  assert.equal(rotated.status, 204);
  const page = await newPage(browser, { width: 390, height: 844 });
  await page.goto(`${BASE_URL}/inbox`);
  await signInThroughProvider(page, 'mira', PROVIDER_URL);
  await page.waitForURL(`${BASE_URL}/inbox`);
  await page.getByText('Signed in as mira of safe').waitFor();
  await assertNoSidewaysScroll(page, 'the inbox after signing in, at phone width');
  assertNoProblems(page);
  await page.context().close();
});

test('someone no tenant granted a role is told so, and is not signed in', async () => {
  const page = await newPage(browser, { width: 390, height: 844 });
  await page.goto(`${BASE_URL}/projects`);
  await signInThroughProvider(page, 'nobody', PROVIDER_URL);
  await page.getByRole('heading', { name: 'No role here yet' }).waitFor();
  await page.getByText('You signed in as nobody, but no organisation on Regional Invest has given you a role').waitFor();
  await assertAccessible(page, 'the refused sign-in');
  assert.equal((await me(page)).authenticated, false);
  const cookies = await page.context().cookies(BASE_URL);
  assert.ok(!cookies.some((c) => c.name === 'ri_session' && c.value), 'no session');
  await page.context().close();
});
