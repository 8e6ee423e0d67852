// The follow-up manager's pages in Chromium: a demo event of a seeded L3CE cluster is scheduled
// over the API a few seconds ahead, with a practitioner invited; once it has started, the
// practitioner opens their link, fills the form (ratings as radio groups, would pilot, relevant
// features, a comment) and sends it; the follow-up manager signs in and the cluster's dashboard
// shows the feedback, as an SVG chart and in numbers. Also: the projects with their top matches
// and the explanation of each, and the feature-gap heat map. Run by
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

// How far ahead the demo event starts: the API takes only events in the future, and feedback
// only once they have started (as crates/regional-invest/tests/clusters.rs does).
const LEAD_MS = 6_000;

let browser;
let page;
let cluster;
let project; // the first project on the agenda: { id, acronym }
let link;

before(async () => {
  browser = await launch();
  page = await newPage(browser);
});
after(async () => {
  await browser?.close();
});


test('a demo event of a seeded cluster is scheduled and a practitioner invited', async () => {
  const { clusters } = await graphql('query { clusters { id name projectCount } }', {}, TOKEN);
  const chosen = clusters.find((c) => c.projectCount >= 2) ?? clusters.find((c) => c.projectCount >= 1);
  assert.ok(chosen, `a seeded cluster with projects: ${JSON.stringify(clusters)}`);
  const data = await graphql(
    'query ($id: ID!) { cluster(id: $id) { id name projects { id acronym registered features { code } } } }',
    { id: chosen.id },
    TOKEN,
  );
  cluster = data.cluster;
  const agenda = cluster.projects.slice(0, 2);
  project = agenda[0];
  const startsAt = new Date(Date.now() + LEAD_MS);
  const scheduled = await graphql(
    `mutation ($clusterId: ID!, $input: ScheduleDemoEventInput!) {
       scheduleDemoEvent(clusterId: $clusterId, input: $input) { entityId }
     }`,
    {
      clusterId: cluster.id,
      input: {
        title: 'Browser test demo day',
        startsAt: startsAt.toISOString(),
        timeZone: 'Europe/Vilnius',
        place: 'Vilnius Tech Park',
        agenda: agenda.map((p) => p.id),
      },
    },
    TOKEN,
  );
  const invited = await graphql(
    `mutation ($clusterId: ID!, $eventId: ID!, $input: InvitePractitionerInput!) {
       invitePractitioner(clusterId: $clusterId, eventId: $eventId, input: $input) { link }
     }`,
    {
      clusterId: cluster.id,
      eventId: scheduled.scheduleDemoEvent.entityId,
      input: {
        practitioner: { organisation: 'Lietuvos policija', country: 'LT', sector: 'LAW_ENFORCEMENT' },
        email: `officer-${Date.now()}@policija.lt`,
      },
    },
    TOKEN,
  );
  link = invited.invitePractitioner.link;
  assert.match(link, /^\/feedback\/[A-Za-z0-9_-]{43}$/);
  // Feedback opens when the event starts (each look at the link counts as an attempt: slowly).
  await new Promise((resolve) => setTimeout(resolve, Math.max(0, startsAt.getTime() - Date.now() + 300)));
  await eventually(
    async () => {
      const { invitation } = await graphql(
        'query ($token: String!) { invitation(token: $token) { state } }',
        { token: link.slice('/feedback/'.length) },
      );
      return invitation?.state === 'OPEN';
    },
    { interval: 1_000, message: 'the link never opened for feedback' },
  );
});

test('the practitioner gives feedback through the link', async () => {
  await page.goto(`${BASE_URL}${link}`);
  await page.getByRole('heading', { level: 1, name: 'Practitioner feedback' }).waitFor();
  await page.getByText('Browser test demo day').first().waitFor();
  const form = page.locator(`form[data-project="${project.id}"]`);
  await form.getByRole('heading', { level: 2, name: project.acronym }).waitFor();
  await assertAccessible(page, 'the feedback form');

  // Sending without ratings says what is missing, beside each group.
  await form.getByRole('button', { name: `Send feedback on ${project.acronym}` }).click();
  await form.getByText('Choose a rating from 1 to 5.').first().waitFor();
  await form.getByText('Say whether you would pilot it.').waitFor();

  const relevance = form.getByRole('group', { name: /How relevant is it/ });
  const usability = form.getByRole('group', { name: /How usable/ });
  await relevance.getByRole('radio', { name: '4', exact: true }).check();
  // From the keyboard: arrows move within a radio group.
  await usability.getByRole('radio', { name: '1 poor' }).focus();
  await page.keyboard.press('ArrowRight');
  await page.keyboard.press('ArrowRight');
  await page.keyboard.press('ArrowRight');
  await page.keyboard.press('ArrowRight');
  assert.equal(await usability.getByRole('radio', { name: '5 excellent' }).isChecked(), true);
  await form.getByRole('group', { name: /pilot it/ }).getByRole('radio', { name: 'Yes' }).check();
  const features = form.getByRole('group', { name: /features are relevant/ }).getByRole('checkbox');
  let feature = null;
  if ((await features.count()) > 0) {
    await features.first().check();
    feature = await features.first().getAttribute('value');
  }
  await form.getByLabel('Comment (optional)').fill('Useful for crowd monitoring at events.');
  await form.getByRole('button', { name: `Send feedback on ${project.acronym}` }).click();
  await form.getByText(`Thank you: your feedback on ${project.acronym} was received.`).waitFor();
  await form.getByRole('button', { name: `Update feedback on ${project.acronym}` }).waitFor();
  await screenshot(page, 'feedback-form', { fullPage: true });

  // What the link now holds, as the API says.
  const { invitation } = await eventually(() =>
    graphql(
      'query ($token: String!) { invitation(token: $token) { feedback { projectId relevance usability wouldPilot relevantFeatures { code } comment } } }',
      { token: link.slice('/feedback/'.length) },
    ).then((d) => (d.invitation.feedback.length > 0 ? d : null)),
  { interval: 1_000 });
  const given = invitation.feedback[0];
  assert.equal(given.projectId, project.id);
  assert.equal(given.relevance, 4);
  assert.equal(given.usability, 5);
  assert.equal(given.wouldPilot, true);
  assert.deepEqual(given.relevantFeatures.map((f) => f.code), feature ? [feature] : []);
  assert.equal(given.comment, 'Useful for crowd monitoring at events.');
  assertNoProblems(page);
});

test('the follow-up manager signs in and the dashboard shows the feedback', async () => {
  await page.goto(`${BASE_URL}/clusters`);
  await page.getByRole('heading', { level: 1, name: 'Clusters' }).waitFor();
  await assertAccessible(page, 'the clusters sign-in');
  await signIn(page, TOKEN);
  await page.getByRole('link', { name: cluster.name }).click();
  await page.getByRole('heading', { level: 1, name: cluster.name }).waitFor();
  assert.equal(new URL(page.url()).pathname, `/clusters/${cluster.id}`);
  const card = page.locator(`.feedback-card[data-project="${project.id}"]`);
  // The dashboard follows the log: reload until it shows the answer.
  await eventually(
    async () => {
      if ((await card.locator('.feedback-count').textContent({ timeout: 2_000 }).catch(() => null)) === '1') return true;
      await page.reload();
      await page.getByRole('heading', { level: 1, name: cluster.name }).waitFor();
      return false;
    },
    { interval: 500, message: 'the dashboard never showed the feedback' },
  );
  assert.equal(await card.locator('.mean-relevance').textContent(), '4.0');
  assert.equal(await card.locator('.mean-usability').textContent(), '5.0');
  assert.equal(await card.locator('.would-pilot').textContent(), '100 %');
  const chart = card.locator('svg.chart');
  assert.equal(await chart.getAttribute('role'), 'img');
  assert.equal(await chart.locator('title').textContent(), `Feedback on ${project.acronym}`);
  assert.match(await chart.locator('desc').textContent(), /1 response: relevance 4\.0 of 5, usability 5\.0 of 5, would pilot 100 %/);
  assert.equal(await chart.locator('rect.bar-value').count(), 3);
  await page.getByRole('img', { name: `Feedback on ${project.acronym}`, exact: true }).waitFor();
  await page.getByText('Browser test demo day').first().waitFor();
  // The practitioners' comments are read when opened, with who said them.
  await page.getByText('Practitioners’ comments').click();
  await page.getByText('“Useful for crowd monitoring at events.”').waitFor();
  await page.getByRole('heading', { level: 2, name: 'Success milestones' }).waitFor();
  await assertAccessible(page, 'the cluster dashboard');
  await screenshot(page, 'cluster-dashboard', { fullPage: true });
  assertNoProblems(page);
});

test('the projects show their top matches with the explanation of each', async () => {
  await page.goto(`${BASE_URL}/projects`);
  await page.getByRole('heading', { level: 1, name: 'Projects' }).waitFor();
  await page.locator('.result-count').waitFor();
  const withMatches = page.locator('.project', { has: page.locator('.match-list') });
  assert.ok((await withMatches.count()) > 0, 'a seeded project has matches');
  await assertAccessible(page, 'the projects');
  const first = withMatches.first();
  assert.match(await first.locator('.match-item').first().textContent(), /score \d+ % · matches /);
  const acronym = (await first.locator('h2').textContent()).trim();
  await first.getByRole('link', { name: acronym, exact: true }).click();
  await page.getByRole('heading', { level: 1, name: acronym }).waitFor();
  const match = page.locator('.explained').first();
  await match.getByText('Features funded').waitFor();
  await match.getByText('Coverage').waitFor();
  assert.match(await match.locator('h3').textContent(), /score \d+ %/);
  await assertAccessible(page, 'a project');
  await screenshot(page, 'project', { fullPage: true });
  assertNoProblems(page);
});

test('the feature-gap heat map shows the counts', async () => {
  const { featureGaps } = await graphql('query { featureGaps { feature { code } projects openInstruments } }', {}, TOKEN);
  assert.ok(featureGaps.length > 0);
  await page.goto(`${BASE_URL}/gaps`);
  await page.getByRole('heading', { level: 1, name: 'Feature gaps' }).waitFor();
  const table = page.getByRole('table', { name: /Features needed by projects/ });
  await table.waitFor();
  assert.equal(await table.locator('td.heat').count(), featureGaps.length * 2);
  const sample = featureGaps[0];
  const row = table.locator(`tr[data-feature="${sample.feature.code}"] td`);
  assert.equal(await row.nth(0).getAttribute('data-count'), String(sample.projects));
  assert.equal(await row.nth(1).getAttribute('data-count'), String(sample.openInstruments));
  const gaps = featureGaps.filter((g) => g.openInstruments === 0).length;
  assert.equal(await table.locator('td.heat-gap').count(), gaps);
  await assertAccessible(page, 'the feature gaps');
  await screenshot(page, 'gaps', { fullPage: true });
  assertNoProblems(page);
});

test('on a phone nothing scrolls sideways', async () => {
  const phone = await newPage(browser, { width: 375, height: 740, isMobile: true, hasTouch: true });
  await phone.goto(`${BASE_URL}${link}`);
  await phone.getByRole('heading', { level: 1, name: 'Practitioner feedback' }).waitFor();
  await phone.locator('form.feedback-form').first().waitFor();
  await assertNoSidewaysScroll(phone, 'the feedback form');
  await phone.goto(`${BASE_URL}/gaps`);
  await signIn(phone, TOKEN);
  await phone.getByRole('table').waitFor();
  await assertNoSidewaysScroll(phone, 'the feature gaps');
  await phone.goto(`${BASE_URL}/clusters/${cluster.id}`);
  await phone.locator('svg.chart').first().waitFor();
  await assertNoSidewaysScroll(phone, 'the cluster dashboard');
  await assertAccessible(phone, 'the cluster dashboard on a phone');
  await screenshot(phone, 'cluster-dashboard-mobile', { fullPage: true });
  assertNoProblems(phone);
});
