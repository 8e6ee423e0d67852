// A follow-up manager registers a project in Chromium: a consortium line the page cannot read
// and a lead country the API refuses are each shown at their field, with nothing stored; the
// fixed form registers the project with its features and opens its page, which shows them at
// once; then the project is edited (title, open call, a partner more, a feature less), and a
// milestone and a funding application are recorded on its page (a refused link and amount shown
// at their fields), the application then awarded. Run by crates/regional-invest/tests/web.rs
// with FOLLOW_UP_TOKEN (a follow-up manager of safe).

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { BASE_URL, assertAccessible, assertNoProblems, assertNoSidewaysScroll, graphql, launch, newPage, screenshot, signIn } from './lib/harness.mjs';

const TOKEN = process.env.FOLLOW_UP_TOKEN;
if (!TOKEN) throw new Error('FOLLOW_UP_TOKEN is not set');

const ACRONYM = `DRN${Date.now().toString(36).toUpperCase()}`;

let browser;
let page;

before(async () => {
  browser = await launch();
  page = await newPage(browser);
});
after(async () => {
  await browser?.close();
});

async function projectCount() {
  const { projects } = await graphql('query { projects(first: 100) { totalCount } }', {}, TOKEN);
  return projects.totalCount;
}

test('bad input is shown at its field and stores nothing', async () => {
  const before = await projectCount();
  await page.goto(`${BASE_URL}/projects`);
  await signIn(page, TOKEN);
  await page.getByRole('link', { name: 'Register a project' }).click();
  await page.getByRole('heading', { level: 1, name: 'Register a project' }).waitFor();
  await page.getByLabel('Acronym').fill(ACRONYM);
  await page.getByLabel('Title').fill('Drone detection for public events');
  await page.getByLabel('Stage').selectOption('PROTOTYPING');
  await page.getByLabel('Consortium (optional)').fill('Vasco LT');
  await page.getByRole('button', { name: 'Register the project' }).click();
  await page.getByRole('heading', { name: 'There is a problem' }).waitFor();
  assert.match(await page.locator('#p-consortium-error').textContent(), /line 1: write the partner’s name, a comma/);
  assert.equal(await page.getByLabel('Consortium (optional)').getAttribute('aria-invalid'), 'true');

  await page.getByLabel('Consortium (optional)').fill('Vasco, LT\nSkyguard, LV');
  await page.getByLabel('Lead country (optional)').fill('XX');
  await page.getByRole('button', { name: 'Register the project' }).click();
  await page.locator('#p-leadCountry-error').getByText(/^Error: /).waitFor();
  assert.equal(await page.getByLabel('Lead country (optional)').getAttribute('aria-invalid'), 'true');
  await assertAccessible(page, 'the project form with an error');
  assert.equal(await projectCount(), before, 'nothing was stored');
  assertNoProblems(page);
});

test('the fixed form registers the project with its features and opens its page', async () => {
  await page.getByLabel('Lead country (optional)').fill('LT');
  await page.locator('summary').filter({ hasText: /^Process$/ }).click();
  await page.getByRole('checkbox', { name: /^P3 / }).check();
  await page.locator('summary').filter({ hasText: /^Development support$/ }).click();
  await page.getByRole('checkbox', { name: /^D2 / }).check();
  await page.getByRole('button', { name: 'Register the project' }).click();
  await page.waitForURL(/\/projects\/[^/]+$/);
  await page.getByRole('heading', { level: 1, name: new RegExp(ACRONYM) }).waitFor();
  await page.getByText(/P3 /).first().waitFor();
  await screenshot(page, 'project-registered', { fullPage: true });
  const id = new URL(page.url()).pathname.split('/').pop();
  const { project } = await graphql(
    'query ($id: ID!) { project(id: $id) { acronym stage leadCountry consortium { name country } features { code } } }',
    { id },
    TOKEN,
  );
  assert.deepEqual(project, {
    acronym: ACRONYM,
    stage: 'PROTOTYPING',
    leadCountry: 'LT',
    consortium: [
      { name: 'Vasco', country: 'LT' },
      { name: 'Skyguard', country: 'LV' },
    ],
    features: [{ code: 'P3' }, { code: 'D2' }],
  });
  assertNoProblems(page);
});

test('the project is edited: a new title, a partner more, a feature less', async () => {
  await page.getByRole('link', { name: 'Edit the project' }).click();
  await page.getByRole('heading', { level: 1, name: `Edit ${ACRONYM}` }).waitFor();
  assert.equal(await page.getByLabel('Consortium (optional)').inputValue(), 'Vasco, LT\nSkyguard, LV');
  await page.getByLabel('Title').fill('Drone detection for public events and stadiums');
  await page.getByLabel('Consortium (optional)').fill('Vasco, LT\nSkyguard, LV\nArena Labs, EE');
  await page.getByLabel('Open call (optional)').fill('SecurIT Open Call 2');
  await page.locator('summary').filter({ hasText: /^Development support$/ }).click();
  await page.getByRole('checkbox', { name: /^D2 / }).uncheck();
  await assertAccessible(page, 'the project edit form');
  await page.getByRole('button', { name: 'Save changes' }).click();
  await page.getByRole('heading', { level: 1, name: ACRONYM }).waitFor();
  await page.getByText('Drone detection for public events and stadiums').waitFor();
  const id = new URL(page.url()).pathname.split('/').pop();
  const { project } = await graphql(
    'query ($id: ID!) { project(id: $id) { title openCall consortium { country } features { code } } }',
    { id },
    TOKEN,
  );
  assert.deepEqual(project, {
    title: 'Drone detection for public events and stadiums',
    openCall: 'SecurIT Open Call 2',
    consortium: [{ country: 'LT' }, { country: 'LV' }, { country: 'EE' }],
    features: [{ code: 'P3' }],
  });
  assertNoProblems(page);
});

test('a milestone and a funding application are recorded on its page, and the application moves on', async () => {
  const id = new URL(page.url()).pathname.split('/').pop();
  await page.getByRole('heading', { level: 2, name: 'Success milestones' }).waitFor();
  await page.getByText('No milestone recorded yet.').waitFor();
  await page.getByLabel('Criterion').selectOption('OPERATIONAL_DEPLOYMENT');
  await page.getByLabel('Date', { exact: true }).fill('2026-06-01');
  await page.getByLabel('What happened').fill('Piloted by the Vilnius police at the city marathon');
  // A link the API refuses is shown at its field, and nothing is stored.
  await page.getByLabel('Evidence link (optional)').fill('not a link');
  await page.getByRole('button', { name: 'Record the milestone' }).click();
  const linkError = page.locator('#milestone-link-error');
  await linkError.waitFor();
  assert.equal(await page.getByLabel('Evidence link (optional)').getAttribute('aria-invalid'), 'true');
  const before = await graphql('query ($id: ID!) { project(id: $id) { milestones { id } } }', { id }, TOKEN);
  assert.deepEqual(before.project.milestones, []);
  await page.getByLabel('Evidence link (optional)').fill('https://police.example.lt/marathon-pilot');
  await page.getByRole('button', { name: 'Record the milestone' }).click();
  await page.getByText('Recorded the milestone of').waitFor();
  await page.locator('.milestone-list li').filter({ hasText: 'Piloted by the Vilnius police' }).waitFor();

  await page.getByLabel('Instrument', { exact: true }).fill('EIC Accelerator 2026');
  await page.locator('#application-status').selectOption('SUBMITTED');
  await page.locator('#application-date').fill('2026-05-01');
  await page.locator('#application-amount').fill('12.5');
  await page.getByRole('button', { name: 'Record the application' }).click();
  await page.getByText('Give the amount in whole units').waitFor();
  await page.locator('#application-amount').fill('2 500 000');
  await page.getByRole('button', { name: 'Record the application' }).click();
  await page.getByText('Recorded the application to EIC Accelerator 2026.').waitFor();
  const item = page.locator('.application-list li').filter({ hasText: 'EIC Accelerator 2026' });
  await item.getByText('Submitted · since').waitFor();
  await item.getByText('Change the status of EIC Accelerator 2026').click();
  await item.getByLabel('New status').selectOption('AWARDED');
  await item.getByLabel('Since').fill('2026-10-01');
  await assertAccessible(page, 'the project page with its success forms');
  await item.getByRole('button', { name: 'Change the status' }).click();
  await page.getByText('EIC Accelerator 2026 is now awarded. Its recognition milestone is recorded.').waitFor();
  await item.getByText('Awarded · since').waitFor();
  // The award's own milestone shows at once.
  await page.locator('.milestone-list li').filter({ hasText: 'Funding awarded: EIC Accelerator 2026' }).waitFor();

  const { project } = await graphql(
    'query ($id: ID!) { project(id: $id) { milestones { criterion date evidenceLink } fundingApplications { instrumentName status date amount { amount currency } } } }',
    { id },
    TOKEN,
  );
  assert.deepEqual(project.milestones, [
    { criterion: 'OPERATIONAL_DEPLOYMENT', date: '2026-06-01', evidenceLink: 'https://police.example.lt/marathon-pilot' },
    { criterion: 'RECOGNITION', date: '2026-10-01', evidenceLink: null },
  ]);
  assert.deepEqual(project.fundingApplications, [
    { instrumentName: 'EIC Accelerator 2026', status: 'AWARDED', date: '2026-10-01', amount: { amount: 2500000, currency: 'EUR' } },
  ]);
  assertNoProblems(page);
});

test('on a phone the form scrolls nothing sideways', async () => {
  const phone = await newPage(browser, { width: 375, height: 740, isMobile: true, hasTouch: true });
  await phone.goto(`${BASE_URL}/projects/new`);
  await signIn(phone, TOKEN);
  await phone.getByRole('heading', { level: 1, name: 'Register a project' }).waitFor();
  await assertNoSidewaysScroll(phone, 'the project form');
  await assertAccessible(phone, 'the project form on a phone');
});
