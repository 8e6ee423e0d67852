// The clustering practice of the deliverable's section 3.3, end to end in Chromium (issue 13):
// Mira, a follow-up manager of SAFE, signs in on the OpenID provider's page and, on /clusters
// and the new cluster's dashboard, runs its seven steps through the interface alone: names an
// end-user area, forms a cluster for it and adds a project, assigns the follow-up manager,
// schedules a demo event a few seconds ahead with the project on the agenda, invites a
// practitioner, who answers through the link shown once (in another browser, without signing
// in) once the event has started, after which the dashboard shows the answer and its comment;
// records a follow-up session with a next step, and engages a stakeholder. The API then holds
// all of it. Run by crates/regional-invest/tests/web.rs with PROVIDER_URL (the test provider)
// and FOLLOW_UP_TOKEN (a token of Mira's, to check with the API).

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { BASE_URL, assertAccessible, assertNoProblems, eventually, graphql, launch, newPage, screenshot, signInThroughProvider, wallClock } from './lib/harness.mjs';

const PROVIDER_URL = process.env.PROVIDER_URL;
if (!PROVIDER_URL) throw new Error('PROVIDER_URL is not set');
const TOKEN = process.env.FOLLOW_UP_TOKEN;
if (!TOKEN) throw new Error('FOLLOW_UP_TOKEN is not set');

const STAMP = Date.now().toString(36);
const AREA = `Crowded places ${STAMP}`;
const CLUSTER_NAME = `Crowd safety ${STAMP}`;
const TITLE = `Walkthrough demo ${STAMP}`;
const ZONE = 'Europe/Vilnius';
const ORGANISATION = `Kauno apskrities policija ${STAMP}`;
const COMMENT = `Worth piloting at the Kaunas marathon ${STAMP}.`;
const ACTION = `Draft the pilot agreement ${STAMP}`;
const STAKEHOLDER = `Nordic Security Fund ${STAMP}`;
// How far ahead the demo event starts: the API takes only events in the future, and feedback
// only once they have started.
const LEAD_MS = 20_000;

let browser;
let page;

before(async () => {
  browser = await launch();
  page = await newPage(browser);
});
after(async () => {
  await browser?.close();
});

const readCluster = async (id) =>
  (
    await graphql(
      `query ($id: ID!) { cluster(id: $id) {
         id name area { name } followUpManager projects { id acronym }
         upcomingEvents { id title startsAt agenda { id } invitationCount feedbackCount }
         pastEvents { id title startsAt agenda { id } invitationCount feedbackCount }
         feedback { projectId count meanRelevance meanUsability wouldPilotShare }
         sessions { id attendees nextSteps { action } }
         openSteps { action owner }
         stakeholders { name kind }
       } }`,
      { id },
      TOKEN,
    )
  ).cluster;

test('a follow-up manager runs the seven steps of the clustering practice, and a practitioner answers', async () => {
  // Signing in through the provider, from the clusters page.
  await page.goto(`${BASE_URL}/clusters`);
  await signInThroughProvider(page, 'mira', PROVIDER_URL);
  await page.waitForURL(`${BASE_URL}/clusters`);
  await page.getByText('Signed in as mira of safe (Follow-up manager)').waitFor();

  // 1. An end-user area is named.
  await page.getByRole('heading', { level: 3, name: 'Name an end-user area' }).waitFor();
  const areaForm = page.locator('form.area-form');
  await areaForm.getByLabel('Area name').fill(AREA);
  await areaForm.getByLabel('Security domain').selectOption('PUBLIC_SPACE_PROTECTION');
  await areaForm.getByRole('button', { name: 'Name the area' }).click();
  await page.getByText(`Named the area “${AREA}”. Form a cluster for it below.`).waitFor();
  await page.locator('.area-list li').filter({ hasText: AREA }).waitFor();

  // 2. A cluster is formed for it (its dashboard opens), and a project added.
  const clusterForm = page.locator('form.cluster-form');
  await eventually(async () => (await clusterForm.getByLabel('End-user area').locator('option:checked').textContent()) === AREA, {
    message: 'the new area is chosen for the cluster',
  });
  await clusterForm.getByLabel('Cluster name').fill(CLUSTER_NAME);
  await clusterForm.getByRole('button', { name: 'Form the cluster' }).click();
  await page.getByRole('heading', { level: 1, name: CLUSTER_NAME }).waitFor();
  const clusterId = decodeURIComponent(new URL(page.url()).pathname.split('/').pop());
  await page.locator('p.lede').filter({ hasText: AREA }).waitFor();

  // A new cluster has no project to resemble, so a suggestion is taken only if one is shown;
  // otherwise a project is chosen under "Add another project".
  await page.getByText('Loading the suggestions…').waitFor({ state: 'detached' });
  const suggestions = page.locator('.suggestion-list > li');
  let project; // { id, acronym }
  if ((await suggestions.count()) > 0) {
    const first = suggestions.first();
    project = { id: await first.getAttribute('data-project'), acronym: (await first.locator('strong').textContent()).trim() };
    await first.getByRole('button', { name: `Add ${project.acronym}` }).click();
  } else {
    const add = page.locator('form.add-project');
    const choice = add.locator('select option:not([value=""])').first();
    await choice.waitFor({ state: 'attached' });
    project = { id: await choice.getAttribute('value'), acronym: (await choice.textContent()).split(' – ')[0].trim() };
    await add.getByLabel('Project to add').selectOption(project.id);
    await add.getByRole('button', { name: 'Add the project' }).click();
  }
  await page.getByText(`Added ${project.acronym} to the cluster.`).waitFor();
  await page.locator('.member-list > li').filter({ hasText: project.acronym }).waitFor();
  await page.getByRole('heading', { level: 2, name: 'Projects (1)' }).waitFor();

  // 3. The follow-up manager is assigned.
  await page.getByLabel('Follow-up manager’s subject').fill('mira');
  await page.getByRole('button', { name: 'Assign the follow-up manager' }).click();
  await page.getByText('mira is now the cluster’s follow-up manager.').waitFor();
  await page.locator('p.lede').filter({ hasText: 'follow-up manager mira' }).waitFor();

  // 4. A demo event is scheduled a few seconds ahead with the project on the agenda. The
  // schedule form offers the project just added, without a reload.
  const schedule = page.locator('form.schedule-form');
  const agendaBox = schedule.locator(`input[type=checkbox][value="${project.id}"]`);
  await agendaBox.waitFor();
  await schedule.getByLabel('Title').fill(TITLE);
  const at = Date.now() + LEAD_MS;
  const soon = wallClock(at, ZONE);
  await schedule.getByLabel('Date', { exact: true }).fill(soon.date);
  await schedule.getByLabel('Time', { exact: true }).fill(soon.time);
  await schedule.getByLabel('Time zone').fill(ZONE);
  await schedule.getByLabel('Place').fill('Kaunas Science and Technology Park');
  await agendaBox.check();
  await schedule.getByRole('button', { name: 'Schedule the event' }).click();
  await schedule.getByText(`Scheduled “${TITLE}”`).waitFor();
  const startsAt = Math.floor(at / 1000) * 1000;
  const item = page.locator('li.demo-event').filter({ has: page.getByRole('heading', { level: 4, name: TITLE }) });
  await item.waitFor();
  assert.equal(await item.locator('.event-agenda').textContent(), `Agenda: ${project.acronym}`);

  // 5. A practitioner is invited; the link is shown once.
  await item.locator('summary', { hasText: 'Invitations (0)' }).click();
  const invite = item.locator('form.invite-form');
  await invite.getByLabel('Organisation').fill(ORGANISATION);
  await invite.getByLabel('Country').fill('LT');
  await invite.getByLabel('Sector').selectOption('LAW_ENFORCEMENT');
  await invite.getByLabel('E-mail').fill(`officer.${STAMP}@policija.example.lt`);
  await invite.getByRole('button', { name: 'Invite' }).click();
  await invite.getByText(`Invited ${ORGANISATION}.`).waitFor();
  const link = await item.getByLabel(`Feedback link for ${ORGANISATION}`).inputValue();
  assert.match(link, /\/feedback\/[A-Za-z0-9_-]{43}$/);
  assert.ok(link.startsWith(BASE_URL), link);
  await item.locator('summary', { hasText: 'Invitations (1)' }).waitFor();

  // Once the event has started, the practitioner opens the link in another browser (no
  // sign-in) and answers for the project.
  const practitioner = await newPage(browser);
  const wait = startsAt - Date.now();
  if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait + 300));
  const answer = practitioner.locator(`form[data-project="${project.id}"]`);
  // Each look at the link counts as an attempt: slowly.
  await eventually(
    async () => {
      await practitioner.goto(link);
      await practitioner.locator('.lede, .notice').first().waitFor();
      return (await answer.count()) === 1;
    },
    { interval: 1_000, message: 'the link never opened for feedback' },
  );
  await practitioner.getByRole('heading', { level: 1, name: 'Practitioner feedback' }).waitFor();
  await answer.getByRole('heading', { level: 2, name: project.acronym }).waitFor();
  await answer.getByRole('group', { name: /How relevant is it/ }).getByRole('radio', { name: '4', exact: true }).check();
  await answer.getByRole('group', { name: /How usable/ }).getByRole('radio', { name: '5 excellent' }).check();
  await answer.getByRole('group', { name: /pilot it/ }).getByRole('radio', { name: 'Yes' }).check();
  await answer.getByLabel('Comment (optional)').fill(COMMENT);
  await answer.getByRole('button', { name: `Send feedback on ${project.acronym}` }).click();
  await answer.getByText(`Thank you: your feedback on ${project.acronym} was received.`).waitFor();
  await assertAccessible(practitioner, 'the practitioner’s form after answering');
  assertNoProblems(practitioner);
  await practitioner.context().close();

  // Back on the dashboard, which follows the log: reloaded until it shows the answer.
  const card = page.locator(`.feedback-card[data-project="${project.id}"]`);
  await eventually(
    async () => {
      await page.reload();
      await page.getByRole('heading', { level: 1, name: CLUSTER_NAME }).waitFor();
      return (await card.locator('.feedback-count').textContent({ timeout: 2_000 }).catch(() => null)) === '1';
    },
    { interval: 500, message: 'the dashboard never showed the feedback' },
  );
  assert.equal(await card.locator('.mean-relevance').textContent(), '4.0');
  assert.equal(await card.locator('.mean-usability').textContent(), '5.0');
  assert.equal(await card.locator('.would-pilot').textContent(), '100 %');
  await page.getByRole('img', { name: `Feedback on ${project.acronym}`, exact: true }).waitFor();
  // The practitioners' comments are read when opened, with who said them.
  const comments = page.locator('details.comments');
  await comments.locator('summary', { hasText: 'Practitioners’ comments' }).click();
  const said = comments.locator('li').filter({ hasText: `“${COMMENT}”` });
  await said.waitFor();
  await said.getByText(ORGANISATION, { exact: false }).waitFor();

  // 6. A follow-up session is recorded with one next step, and listed.
  const session = page.locator('form.session-form');
  await session.getByRole('heading', { level: 3, name: 'Record a follow-up session' }).waitFor();
  await session.getByLabel('Attendees (optional)').fill('Mira, Kaunas police');
  await session.getByLabel('Notes (optional)').fill('Agreed to prepare a pilot.');
  assert.equal(await session.getByLabel('Project', { exact: true }).inputValue(), project.id);
  await session.getByLabel('Action', { exact: true }).fill(ACTION);
  await session.getByLabel('Who', { exact: true }).fill('Mira');
  await session.getByLabel('Due', { exact: true }).fill(new Date(Date.now() + 14 * 86_400_000).toISOString().slice(0, 10));
  await session.getByRole('button', { name: 'Record the session' }).click();
  await page.getByText(/^Recorded the session of .* with 1 next step\.$/).waitFor();
  await page.locator('.session-list > li').filter({ hasText: 'With Mira, Kaunas police' }).filter({ hasText: '1 next step' }).waitFor();
  await page.locator('.step-list > li').filter({ hasText: `${project.acronym}: ${ACTION}` }).waitFor();

  // 7. A stakeholder is engaged, and listed.
  const stakeholder = page.locator('form.stakeholder-form');
  await stakeholder.getByLabel('Kind of stakeholder').selectOption('INVESTOR');
  await stakeholder.getByLabel('Stakeholder’s name').fill(STAKEHOLDER);
  await stakeholder.getByLabel('Note on the stakeholder (optional)').fill('Interested after the demo');
  await stakeholder.getByRole('button', { name: 'Engage the stakeholder' }).click();
  await page.getByText(`Engaged ${STAKEHOLDER}.`).waitFor();
  await page.locator('.stakeholder-list > li').filter({ hasText: STAKEHOLDER }).getByText('Investor · engaged').waitFor();

  // The API holds what was done through the pages.
  const stored = await eventually(
    async () => {
      const c = await readCluster(clusterId);
      const events = [...c.upcomingEvents, ...c.pastEvents];
      const ready = c.sessions.length === 1 && c.stakeholders.length === 1 && events.some((e) => e.feedbackCount === 1);
      return ready ? c : null;
    },
    { message: 'the API holds the session, the stakeholder and the feedback' },
  );
  assert.equal(stored.name, CLUSTER_NAME);
  assert.equal(stored.area.name, AREA);
  assert.deepEqual(stored.projects, [project]);
  assert.equal(stored.followUpManager, 'mira');
  const events = [...stored.upcomingEvents, ...stored.pastEvents];
  assert.equal(events.length, 1);
  assert.equal(events[0].title, TITLE);
  assert.equal(Date.parse(events[0].startsAt), startsAt);
  assert.deepEqual(events[0].agenda, [{ id: project.id }]);
  assert.equal(events[0].invitationCount, 1);
  assert.equal(events[0].feedbackCount, 1);
  assert.deepEqual(stored.feedback, [{ projectId: project.id, count: 1, meanRelevance: 4, meanUsability: 5, wouldPilotShare: 1 }]);
  assert.deepEqual(stored.sessions[0].attendees, ['Mira', 'Kaunas police']);
  assert.deepEqual(stored.sessions[0].nextSteps, [{ action: ACTION }]);
  assert.deepEqual(stored.openSteps, [{ action: ACTION, owner: 'Mira' }]);
  assert.deepEqual(stored.stakeholders, [{ name: STAKEHOLDER, kind: 'INVESTOR' }]);

  await assertAccessible(page, 'the cluster dashboard after the walkthrough');
  assertNoProblems(page);
  await screenshot(page, 'walkthrough-dashboard', { fullPage: true });
});
