// The follow-up manager's next steps in Chromium: on a seeded L3CE cluster's dashboard, a
// session whose next step lacks who does it is refused in the form; the fixed session is
// recorded with its next step, which appears among the open steps at once; marking it done
// removes it, and the API agrees. Run by crates/regional-invest/tests/web.rs with
// FOLLOW_UP_TOKEN (a follow-up manager of safe).

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { BASE_URL, assertAccessible, assertNoProblems, assertNoSidewaysScroll, eventually, graphql, launch, newPage, signIn } from './lib/harness.mjs';

const TOKEN = process.env.FOLLOW_UP_TOKEN;
if (!TOKEN) throw new Error('FOLLOW_UP_TOKEN is not set');

const ACTION = `Send the pilot plan ${Date.now().toString(36)}`;

let browser;
let page;
let cluster;

before(async () => {
  browser = await launch();
  page = await newPage(browser);
});
after(async () => {
  await browser?.close();
});

const openSteps = async () =>
  (await graphql('query ($id: ID!) { cluster(id: $id) { openSteps { action } sessions { id } } }', { id: cluster.id }, TOKEN)).cluster;

test('a session with an incomplete next step is refused in the form, and nothing is stored', async () => {
  const { clusters } = await graphql('query { clusters { id name projectCount } }', {}, TOKEN);
  cluster = clusters.find((c) => c.projectCount >= 1);
  assert.ok(cluster, 'a seeded cluster with projects');
  const before = await openSteps();
  await page.goto(`${BASE_URL}/clusters/${cluster.id}`);
  await signIn(page, TOKEN);
  await page.getByRole('heading', { level: 3, name: 'Record a follow-up session' }).waitFor();
  await page.getByLabel('Attendees (optional)').fill('Ona, a border guard');
  await page.getByLabel('Action').fill(ACTION);
  await page.getByRole('button', { name: 'Record the session' }).click();
  await page.getByText('next step 1: give the project, the action, who does it and by when').waitFor();
  await assertAccessible(page, 'the dashboard with a refused session');
  assert.deepEqual(await openSteps(), before, 'nothing was stored');
  assertNoProblems(page);
});

test('the session is recorded with its next step, which is then marked done', async () => {
  const due = new Date(Date.now() + 7 * 86_400_000).toISOString().slice(0, 10);
  await page.getByLabel('Who').fill('Ona');
  await page.getByLabel('Due').fill(due);
  await page.getByRole('button', { name: 'Record the session' }).click();
  await page.getByText(/^Recorded the session of .* with 1 next step\.$/).waitFor();
  // The session is listed at once, with its attendees.
  await page.locator('.session-list > li').filter({ hasText: 'With Ona, a border guard' }).filter({ hasText: '1 next step' }).waitFor();
  const step = page.locator('.step-list > li').filter({ hasText: ACTION });
  await step.waitFor();
  await eventually(async () => (await openSteps()).openSteps.some((s) => s.action === ACTION));

  await step.getByRole('button', { name: /^Mark done/ }).click();
  await page.locator('.notice-success').filter({ hasText: `Done: ` }).filter({ hasText: ACTION }).waitFor();
  await step.waitFor({ state: 'detached' });
  await eventually(async () => !(await openSteps()).openSteps.some((s) => s.action === ACTION));

  // The session and the step moved the cluster's version on; the page knows, so a change in
  // another part of it, without a reload, is no conflict.
  const stakeholder = `Port authority ${Date.now().toString(36)}`;
  const form = page.locator('form.stakeholder-form');
  await form.getByLabel('Kind of stakeholder').selectOption('INVESTOR');
  await form.getByLabel('Stakeholder’s name').fill(stakeholder);
  await form.getByRole('button', { name: 'Engage the stakeholder' }).click();
  await page.locator('.stakeholder-list > li').filter({ hasText: stakeholder }).waitFor();
  assertNoProblems(page);
});

test('a project another organisation shares is read, not edited', async () => {
  const { cluster: dashboard } = await graphql(
    'query ($id: ID!) { cluster(id: $id) { projects { id acronym sharedBy } } }',
    { id: cluster.id },
    TOKEN,
  );
  const shared = dashboard.projects.find((p) => p.sharedBy);
  assert.ok(shared, `a seeded cluster holds a shared project: ${JSON.stringify(dashboard.projects)}`);
  await page.goto(`${BASE_URL}/projects/${shared.id}`);
  await page.getByRole('heading', { level: 1, name: shared.acronym }).waitFor();
  await page.getByText(`${shared.sharedBy} shares this project with your organisation`).waitFor();
  assert.equal(await page.getByRole('link', { name: 'Edit the project' }).count(), 0);
  await assertAccessible(page, 'a shared project');
  assertNoProblems(page);
});

test('on a phone the session form scrolls nothing sideways', async () => {
  const phone = await newPage(browser, { width: 375, height: 740, isMobile: true, hasTouch: true });
  await phone.goto(`${BASE_URL}/clusters/${cluster.id}`);
  await signIn(phone, TOKEN);
  await phone.getByRole('heading', { level: 3, name: 'Record a follow-up session' }).waitFor();
  await assertNoSidewaysScroll(phone, 'the cluster dashboard with the session form');
});
