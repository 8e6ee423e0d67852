// Forming a cluster and managing its members in Chromium (steps 1 to 3 and 7 of the
// clustering practice): on /clusters, an area in the organisation's own domain without the
// domain's name is refused at that field and nothing is stored; named, a cluster is formed
// around it and its dashboard opens. There a project is added, a suggested project is shown
// with its explanation, added and removed, the follow-up manager assigned, a stakeholder
// without a name refused at its field, then engaged and disengaged; each change shows at once
// and the API agrees. At phone width nothing scrolls sideways. Run by
// crates/regional-invest/tests/web.rs with FOLLOW_UP_TOKEN (a follow-up manager of safe).

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import {
  BASE_URL,
  assertAccessible,
  assertNoProblems,
  assertNoSidewaysScroll,
  eventually,
  graphql,
  launch,
  newPage,
  screenshot,
  signIn,
} from './lib/harness.mjs';

const TOKEN = process.env.FOLLOW_UP_TOKEN;
if (!TOKEN) throw new Error('FOLLOW_UP_TOKEN is not set');

const STAMP = Date.now().toString(36);
const AREA = `Port security ${STAMP}`;
const CLUSTER_NAME = `Port operators ${STAMP}`;
const STAKEHOLDER = `Baltic Angels ${STAMP}`;

let browser;
let page;
let clusterId;

before(async () => {
  browser = await launch();
  page = await newPage(browser);
});
after(async () => {
  await browser?.close();
});

const areas = async () => (await graphql('query { areas { id name domain ownDomain } }', {}, TOKEN)).areas;
const cluster = async () =>
  (
    await graphql(
      'query ($id: ID!) { cluster(id: $id) { version followUpManager projects { id acronym } stakeholders { id name kind } } }',
      { id: clusterId },
      TOKEN,
    )
  ).cluster;

test('an area of the own domain without its name is refused at that field, and nothing is stored', async () => {
  const before = await areas();
  await page.goto(`${BASE_URL}/clusters`);
  await signIn(page, TOKEN);
  await page.getByRole('heading', { level: 3, name: 'Name an end-user area' }).waitFor();
  const form = page.locator('form.area-form');
  await form.getByLabel('Area name').fill(AREA);
  await form.getByLabel('Security domain').selectOption('OWN');
  await form.getByRole('button', { name: 'Name the area' }).click();
  const error = page.locator('#area-ownDomain-error');
  await error.waitFor();
  assert.match(await error.textContent(), /^Error: the tenant's own domain needs a name$/);
  assert.equal(await form.getByLabel('Own domain’s name (only for your own domain)').getAttribute('aria-invalid'), 'true');
  await form.getByText('Not named: see the field marked. Nothing was stored.').waitFor();
  await assertAccessible(page, 'the clusters page with a refused area');
  await screenshot(page, 'clusters-forming-refused-area', { fullPage: true });
  assert.deepEqual(await areas(), before, 'nothing was stored');
  assertNoProblems(page);
});

test('the area is named and a cluster formed around it opens its dashboard', async () => {
  const form = page.locator('form.area-form');
  await form.getByLabel('Own domain’s name (only for your own domain)').fill('Maritime security');
  await form.getByRole('button', { name: 'Name the area' }).click();
  await page.getByText(`Named the area “${AREA}”. Form a cluster for it below.`).waitFor();
  const area = await eventually(async () => (await areas()).find((a) => a.name === AREA), { message: 'the area is stored' });
  assert.equal(area.domain, 'OWN');
  assert.equal(area.ownDomain, 'Maritime security');
  await page.locator('.area-list li').filter({ hasText: AREA }).waitFor();

  const clusterForm = page.locator('form.cluster-form');
  assert.equal(await clusterForm.getByLabel('End-user area').inputValue(), area.id, 'the new area is chosen');
  await clusterForm.getByLabel('Cluster name').fill(CLUSTER_NAME);
  await clusterForm.getByRole('button', { name: 'Form the cluster' }).click();
  await page.getByRole('heading', { level: 1, name: CLUSTER_NAME }).waitFor();
  clusterId = decodeURIComponent(new URL(page.url()).pathname.split('/').pop());
  const { clusters } = await graphql('query { clusters { id name area { name } } }', {}, TOKEN);
  assert.equal(clusters.find((c) => c.id === clusterId)?.area.name, AREA);
  assertNoProblems(page);
});

test('a project is added, a suggested one shown with its explanation, added and removed', async () => {
  const { projects } = await graphql('query { projects(first: 100) { nodes { id acronym features { code } } } }', {}, TOKEN);
  const first = projects.nodes.find((p) => p.features.length > 0);
  assert.ok(first, 'a seeded project with features');
  await page.getByText('No suggestion yet').waitFor();

  const add = page.locator('form.add-project');
  await add.getByLabel('Project to add').selectOption(first.id);
  await add.getByRole('button', { name: 'Add the project' }).click();
  await page.getByText(`Added ${first.acronym} to the cluster.`).waitFor();
  await page.locator('.member-list > li').filter({ hasText: first.acronym }).waitFor();
  assert.equal(await page.getByRole('heading', { level: 2, name: 'Projects (1)' }).count(), 1);
  await eventually(async () => (await cluster()).projects.some((p) => p.id === first.id), { message: 'the API holds the project' });

  const { suggestedProjects } = await eventually(
    async () => {
      const data = await graphql(
        'query ($id: ID!) { suggestedProjects(clusterId: $id) { id acronym score closestMember sharedFeatures { feature { code label } members } } }',
        { id: clusterId },
        TOKEN,
      );
      return data.suggestedProjects.length ? data : null;
    },
    { message: 'the API suggests a project' },
  );
  const suggested = suggestedProjects[0];
  const item = page.locator(`.suggestion-list > li[data-project="${suggested.id}"]`);
  await item.waitFor();
  const shared = suggested.sharedFeatures[0];
  await item.getByText(`Similarity ${suggested.score.toFixed(2)} of 1 · most like ${suggested.closestMember}`).waitFor();
  await item.getByText(`${shared.feature.code} ${shared.feature.label} (${shared.members} of 1 project)`, { exact: false }).waitFor();
  await assertAccessible(page, 'the dashboard with suggestions');
  await screenshot(page, 'clusters-forming-suggestions', { fullPage: true });

  await item.getByRole('button', { name: `Add ${suggested.acronym}` }).click();
  await page.getByText(`Added ${suggested.acronym} to the cluster.`).waitFor();
  const member = page.locator('.member-list > li').filter({ hasText: suggested.acronym });
  await member.waitFor();
  await item.waitFor({ state: 'detached' });
  await eventually(async () => (await cluster()).projects.some((p) => p.id === suggested.id), { message: 'the API holds the suggested project' });

  await member.getByRole('button', { name: `Remove ${suggested.acronym}` }).click();
  await page.getByText(`Removed ${suggested.acronym} from the cluster.`).waitFor();
  await member.waitFor({ state: 'detached' });
  await eventually(async () => !(await cluster()).projects.some((p) => p.id === suggested.id), { message: 'the API no longer holds it' });
  assertNoProblems(page);
});

test('the follow-up manager is assigned; a stakeholder is refused without a name, then engaged and disengaged', async () => {
  await page.getByLabel('Follow-up manager’s subject').fill('ona');
  await page.getByRole('button', { name: 'Assign the follow-up manager' }).click();
  await page.getByText('ona is now the cluster’s follow-up manager.').waitFor();
  await page.locator('p.lede').filter({ hasText: 'follow-up manager ona' }).waitFor();
  await eventually(async () => (await cluster()).followUpManager === 'ona', { message: 'the API holds the follow-up manager' });

  const form = page.locator('form.stakeholder-form');
  const before = (await cluster()).stakeholders;
  await form.getByLabel('Kind of stakeholder').selectOption('INVESTOR');
  await form.getByRole('button', { name: 'Engage the stakeholder' }).click();
  const error = page.locator('#stakeholder-name-error');
  await error.waitFor();
  assert.equal(await error.textContent(), 'Error: give the stakeholder’s name');
  assert.equal(await form.getByLabel('Stakeholder’s name').getAttribute('aria-invalid'), 'true');
  await assertAccessible(page, 'the dashboard with a refused stakeholder');
  assert.deepEqual((await cluster()).stakeholders, before, 'nothing was stored');

  await form.getByLabel('Stakeholder’s name').fill(STAKEHOLDER);
  await form.getByLabel('Note on the stakeholder (optional)').fill('Met at the port demo');
  await form.getByRole('button', { name: 'Engage the stakeholder' }).click();
  await page.getByText(`Engaged ${STAKEHOLDER}.`).waitFor();
  assert.equal(await form.getByLabel('Stakeholder’s name').getAttribute('aria-invalid'), null);
  const item = page.locator('.stakeholder-list > li').filter({ hasText: STAKEHOLDER });
  await item.getByText('Investor · engaged').waitFor();
  const stored = await eventually(async () => (await cluster()).stakeholders.find((s) => s.name === STAKEHOLDER), { message: 'the API holds the stakeholder' });
  assert.equal(stored.kind, 'INVESTOR');

  await item.getByRole('button', { name: `Disengage ${STAKEHOLDER}` }).click();
  await page.getByText(`Disengaged ${STAKEHOLDER}.`).waitFor();
  await item.waitFor({ state: 'detached' });
  await eventually(async () => !(await cluster()).stakeholders.some((s) => s.name === STAKEHOLDER), { message: 'the API no longer holds it' });
  await assertAccessible(page, 'the dashboard after the changes');
  assertNoProblems(page);
});

test('on a phone the forms scroll nothing sideways', async () => {
  const phone = await newPage(browser, { width: 390, height: 844, isMobile: true, hasTouch: true });
  await phone.goto(`${BASE_URL}/clusters`);
  await signIn(phone, TOKEN);
  await phone.locator('.area-list li').filter({ hasText: AREA }).waitFor();
  await assertNoSidewaysScroll(phone, 'the clusters page with its forms');
  await assertAccessible(phone, 'the clusters page on a phone');
  await phone.goto(`${BASE_URL}/clusters/${clusterId}`);
  await phone.getByRole('heading', { level: 3, name: 'Suggested projects' }).waitFor();
  await phone.getByText('Loading the suggestions…').waitFor({ state: 'detached' });
  await phone.getByRole('button', { name: 'Engage the stakeholder' }).waitFor();
  await assertNoSidewaysScroll(phone, 'the cluster dashboard with its forms');
  await assertAccessible(phone, 'the cluster dashboard on a phone');
  await screenshot(phone, 'clusters-forming-phone', { fullPage: true });
  assertNoProblems(phone);
});
