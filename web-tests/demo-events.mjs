// Demo events on a seeded L3CE cluster's dashboard, in Chromium: a demo event in the past is
// refused at its time (nothing stored); scheduled with two projects ordered by hand; its agenda
// reordered from the keyboard; rescheduled to a few seconds ahead; a practitioner invited, the
// link copied and opened in another page (it shows the event), then replaced by a new link (the
// old one reads as replaced); once it has started, a paper sheet recorded and the event marked
// held; another event cancelled with a reason. The API agrees each time; at phone width nothing
// scrolls sideways. Run by crates/regional-invest/tests/web.rs with FOLLOW_UP_TOKEN (a follow-up
// manager of safe).

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { BASE_URL, assertAccessible, assertNoProblems, assertNoSidewaysScroll, eventually, graphql, launch, newPage, screenshot, signIn, wallClock } from './lib/harness.mjs';

const TOKEN = process.env.FOLLOW_UP_TOKEN;
if (!TOKEN) throw new Error('FOLLOW_UP_TOKEN is not set');

const STAMP = Date.now().toString(36);
const TITLE = `Demo day ${STAMP}`;
const OTHER = `Spare demo ${STAMP}`;
const ZONE = 'Europe/Vilnius';
const ORGANISATION = `Valstybės sienos apsaugos tarnyba ${STAMP}`;
const PAPER_ORGANISATION = `Vilniaus priešgaisrinė gelbėjimo valdyba ${STAMP}`;
// How far ahead the rescheduled event starts: the API takes only future times, and paper
// feedback only once the event has started.
const LEAD_MS = 20_000;

let browser;
let page;
let cluster;
let a; // the cluster's first two projects: { id, acronym }
let b;
let eventId;
let startsAt;
let firstLink;

before(async () => {
  browser = await launch();
  page = await newPage(browser, { permissions: ['clipboard-read', 'clipboard-write'] });
});
after(async () => {
  await browser?.close();
});

const events = async () => {
  const data = await graphql(
    `query ($id: ID!) { cluster(id: $id) {
       upcomingEvents { id title startsAt timeZone status cancelReason agenda { id } feedback { source projectId organisation relevance usability wouldPilot comment } invitations { organisation linksIssued revoked } }
       pastEvents { id title startsAt timeZone status cancelReason agenda { id } feedback { source projectId organisation relevance usability wouldPilot comment } invitations { organisation linksIssued revoked } }
     } }`,
    { id: cluster.id },
    TOKEN,
  );
  return [...data.cluster.upcomingEvents, ...data.cluster.pastEvents];
};

const eventItem = (title) => page.locator('li.demo-event').filter({ has: page.getByRole('heading', { level: 4, name: title }) });

test('a demo event in the past is refused at its time, and nothing is stored', async () => {
  const { clusters } = await graphql('query { clusters { id name projectCount } }', {}, TOKEN);
  const chosen = clusters.find((c) => c.projectCount >= 2);
  assert.ok(chosen, `a seeded cluster with two projects: ${JSON.stringify(clusters)}`);
  ({ cluster } = await graphql('query ($id: ID!) { cluster(id: $id) { id name projects { id acronym } } }', { id: chosen.id }, TOKEN));
  [a, b] = cluster.projects;
  const before = await events();

  await page.goto(`${BASE_URL}/clusters/${cluster.id}`);
  await signIn(page, TOKEN);
  await page.getByRole('heading', { level: 3, name: 'Schedule a demo event' }).waitFor();
  const form = page.locator('form.schedule-form');
  await form.getByLabel('Title').fill(TITLE);
  const yesterday = wallClock(Date.now() - 86_400_000, ZONE);
  await form.getByLabel('Date', { exact: true }).fill(yesterday.date);
  await form.getByLabel('Time', { exact: true }).fill('10:00');
  await form.getByLabel('Time zone').fill(ZONE);
  await form.getByLabel('Place').fill('Vilnius Tech Park');
  // Both projects on the agenda, the second first: ordered by hand.
  await form.locator(`input[type=checkbox][value="${a.id}"]`).check();
  await form.locator(`input[type=checkbox][value="${b.id}"]`).check();
  await form.getByRole('button', { name: `Move ${b.acronym} up` }).click();
  assert.equal(await page.evaluate(() => document.activeElement?.getAttribute('aria-label')), `Move ${b.acronym} down`, 'focus stays on the moved project');
  await form.getByRole('button', { name: 'Schedule the event' }).click();

  const error = form.locator('#demo-new-startsAt-error');
  await error.waitFor();
  assert.match(await error.textContent(), /future/);
  assert.equal(await form.getByLabel('Date', { exact: true }).getAttribute('aria-invalid'), 'true');
  await form.getByText('The event was not scheduled. See the fields marked.').waitFor();
  await assertAccessible(page, 'the dashboard with a refused demo event');
  assert.deepEqual(await events(), before, 'nothing was stored');
  assertNoProblems(page);
});

test('the event is scheduled with its agenda in the order chosen, reordered from the keyboard and rescheduled', async () => {
  const form = page.locator('form.schedule-form');
  const later = wallClock(Date.now() + 3 * 86_400_000, ZONE);
  await form.getByLabel('Date', { exact: true }).fill(later.date);
  await form.getByLabel('Time', { exact: true }).fill('10:00');
  await form.getByRole('button', { name: 'Schedule the event' }).click();
  await form.getByText(`Scheduled “${TITLE}”`).waitFor();
  const item = eventItem(TITLE);
  await item.waitFor();
  eventId = await item.getAttribute('data-event');
  assert.equal(await item.locator('.event-agenda').textContent(), `Agenda: ${b.acronym}, ${a.acronym}`);
  const stored = await eventually(async () => (await events()).find((e) => e.id === eventId), { message: 'the event is stored' });
  assert.equal(stored.title, TITLE);
  assert.equal(stored.timeZone, ZONE);
  assert.deepEqual(stored.agenda.map((p) => p.id), [b.id, a.id]);

  // The agenda's order changed from the keyboard.
  await item.locator('summary', { hasText: 'Change the agenda' }).click();
  const up = item.getByRole('button', { name: `Move ${a.acronym} up` });
  await up.focus();
  await page.keyboard.press('Enter');
  assert.equal(await page.evaluate(() => document.activeElement?.getAttribute('aria-label')), `Move ${a.acronym} down`);
  await item.getByRole('button', { name: 'Save the agenda' }).click();
  await item.getByText(`The agenda is now: ${a.acronym}, ${b.acronym}.`).waitFor();
  assert.equal(await item.locator('.event-agenda').textContent(), `Agenda: ${a.acronym}, ${b.acronym}`);
  await eventually(async () => {
    const e = (await events()).find((x) => x.id === eventId);
    return e.agenda.map((p) => p.id).join() === [a.id, b.id].join();
  }, { message: 'the API holds the new order' });

  // Rescheduled to a few seconds ahead (seconds typed, so the test need not wait a minute).
  await item.locator('summary', { hasText: 'Reschedule' }).click();
  const at = Date.now() + LEAD_MS;
  const soon = wallClock(at, ZONE);
  await item.getByLabel('Date', { exact: true }).fill(soon.date);
  await item.getByLabel('Time', { exact: true }).fill(soon.time);
  await item.getByRole('button', { name: 'Reschedule', exact: true }).click();
  await item.getByText('Rescheduled to').waitFor();
  startsAt = new Date(Math.floor(at / 1000) * 1000).toISOString().replace('.000Z', 'Z');
  await eventually(async () => (await events()).find((x) => x.id === eventId).startsAt === startsAt, { message: `the API holds the new time ${startsAt}` });
  assertNoProblems(page);
});

test('a practitioner is invited, the link copied and opened; a new link replaces it', async () => {
  const item = eventItem(TITLE);
  await item.locator('summary', { hasText: 'Invitations (0)' }).click();
  await item.getByText('No practitioner invited yet.').waitFor();
  const form = item.locator('form.invite-form');
  await form.getByLabel('Organisation').fill(ORGANISATION);
  await form.getByLabel('Country').fill('LT');
  await form.getByLabel('Sector').selectOption('BORDER_GUARD');
  await form.getByLabel('E-mail').fill(`ona.${STAMP}@vsat.example.lt`);
  await form.getByRole('button', { name: 'Invite' }).click();
  await form.getByText(`Invited ${ORGANISATION}.`).waitFor();
  const linkInput = item.getByLabel(`Feedback link for ${ORGANISATION}`);
  firstLink = await linkInput.inputValue();
  assert.match(firstLink, /\/feedback\/[A-Za-z0-9_-]{43}$/);
  assert.ok(firstLink.startsWith(BASE_URL), firstLink);
  await item.getByRole('button', { name: 'Copy link' }).click();
  await item.getByText(`Copied the link for ${ORGANISATION}.`).waitFor();
  assert.equal(await page.evaluate(() => navigator.clipboard.readText()), firstLink);
  await item.locator('summary', { hasText: 'Invitations (1)' }).waitFor();
  await assertAccessible(page, 'the dashboard with an invitation link');

  // The practitioner's page shows the event (a link works once the read model holds it).
  const practitioner = await newPage(browser);
  await eventually(async () => {
    await practitioner.goto(firstLink);
    await practitioner.locator('.lede, .notice').first().waitFor();
    return (await practitioner.locator('main').textContent()).includes(TITLE);
  }, { interval: 1000, message: 'the link shows the event' });

  // A new link: shown at once, and the old one then reads as replaced.
  const row = item.locator('li.invitation', { hasText: ORGANISATION });
  await row.getByRole('button', { name: `New link for ${ORGANISATION}` }).click();
  await item.getByText(`A new link for ${ORGANISATION}: the one sent before no longer works.`).waitFor();
  const newLink = await row.getByLabel(`Feedback link for ${ORGANISATION}`).inputValue();
  assert.notEqual(newLink, firstLink);
  assert.match(newLink, /\/feedback\/[A-Za-z0-9_-]{43}$/);
  await eventually(async () => {
    await practitioner.goto(firstLink);
    await practitioner.locator('.notice').first().waitFor();
    return (await practitioner.locator('main').textContent()).includes('This link has been replaced by a newer one');
  }, { interval: 1000, message: 'the old link reads as replaced' });
  await eventually(async () => {
    const inv = (await events()).find((x) => x.id === eventId).invitations;
    return inv.length === 1 && inv[0].organisation === ORGANISATION && inv[0].linksIssued === 2 && !inv[0].revoked;
  }, { message: 'the API holds the invitation with two links issued' });
  await practitioner.context().close();
  assertNoProblems(page);
});

test('once the event has started, a paper sheet is recorded and the event marked held', async () => {
  const item = eventItem(TITLE);
  const wait = Date.parse(startsAt) - Date.now();
  if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait + 200));
  // The paper form and Mark as held appear by themselves when the event starts.
  const paper = item.locator('details.demo-paper');
  await paper.locator('summary').waitFor({ state: 'visible', timeout: 10_000 });
  await paper.locator('summary').click();
  await paper.getByLabel('Organisation').fill(PAPER_ORGANISATION);
  await paper.getByLabel('Country').fill('lt');
  await paper.getByLabel('Sector').selectOption('FIRE_AND_RESCUE');
  const sheet = paper.locator(`form.paper-form[data-project="${a.id}"]`);
  await sheet.waitFor();
  const p = `#paper-${eventId}-1`;
  // Sent without the ratings first: the errors are at their fields, from the form.
  await sheet.getByRole('button', { name: `Record the answers on ${a.acronym}` }).click();
  await sheet.locator(`${p}-relevance-error`).getByText('Choose a rating from 1 to 5.').waitFor();
  await sheet.locator(`${p}-relevance-4`).check();
  await sheet.locator(`${p}-usability-5`).check();
  await sheet.locator(`${p}-pilot-yes`).check();
  await sheet.getByLabel('Comment (optional)').fill('Filled in on paper at the stand.');
  await sheet.getByRole('button', { name: `Record the answers on ${a.acronym}` }).click();
  await sheet.getByText(`Recorded the answers of ${PAPER_ORGANISATION} on ${a.acronym} (sheet 1).`).waitFor();
  await item.getByText('1 respondent · 1 answer').waitFor();
  // With feedback, the event can no longer be moved, reordered or cancelled.
  for (const action of ['Reschedule', 'Change the agenda', 'Cancel the event']) {
    assert.equal(await item.locator('summary', { hasText: action }).isVisible(), false, `${action} is no longer offered`);
  }
  const paperEntry = await eventually(async () => (await events()).find((x) => x.id === eventId).feedback.find((f) => f.source === 'PAPER'), {
    message: 'the API holds the paper sheet',
  });
  assert.deepEqual(paperEntry, {
    source: 'PAPER',
    projectId: a.id,
    organisation: PAPER_ORGANISATION,
    relevance: 4,
    usability: 5,
    wouldPilot: true,
    comment: 'Filled in on paper at the stand.',
  });

  await item.getByRole('button', { name: /^Mark as held/ }).click();
  await item.getByText(`Marked “${TITLE}” as held.`).waitFor();
  assert.equal(await item.locator('.event-status').textContent(), 'Held');
  await eventually(async () => (await events()).find((x) => x.id === eventId).status === 'HELD', { message: 'the API holds the event as held' });
  assertNoProblems(page);
});

test('another event is cancelled with a reason', async () => {
  const form = page.locator('form.schedule-form');
  const later = wallClock(Date.now() + 30 * 86_400_000, ZONE);
  await form.getByLabel('Title').fill(OTHER);
  await form.getByLabel('Date', { exact: true }).fill(later.date);
  await form.getByLabel('Time', { exact: true }).fill('14:30');
  await form.getByLabel('Time zone').fill(ZONE);
  await form.getByLabel('Online link').fill('https://meet.example.eu/spare-demo');
  await form.locator(`input[type=checkbox][value="${b.id}"]`).check();
  await form.getByRole('button', { name: 'Schedule the event' }).click();
  await form.getByText(`Scheduled “${OTHER}”`).waitFor();
  const item = eventItem(OTHER);
  await item.locator('summary', { hasText: 'Cancel the event' }).click();
  await item.getByRole('button', { name: 'Cancel the event' }).click();
  await item.getByText('Error: give the reason, for the invited practitioners and the history').waitFor();
  await item.getByLabel('Why is it cancelled?').fill('The venue is closed for repairs');
  await item.getByRole('button', { name: 'Cancel the event' }).click();
  await item.getByText(`Cancelled “${OTHER}”.`).waitFor();
  assert.equal(await item.locator('.event-status').textContent(), 'Cancelled');
  assert.equal(await item.locator('summary', { hasText: 'Invitations' }).isVisible(), true, 'the invitations can still be read');
  assert.equal(await item.locator('form.invite-form').isVisible(), false, 'nobody can be invited to a cancelled event');
  const cancelled = await eventually(async () => (await events()).find((x) => x.title === OTHER && x.status === 'CANCELLED'), {
    message: 'the API holds the event as cancelled',
  });
  assert.equal(cancelled.cancelReason, 'The venue is closed for repairs');
  assert.deepEqual(cancelled.agenda.map((p) => p.id), [b.id]);
  await assertAccessible(page, 'the dashboard after cancelling an event');
  await screenshot(page, 'demo-events', { fullPage: true });
  assertNoProblems(page);
});

test('on a phone the demo events and their forms scroll nothing sideways', async () => {
  const phone = await newPage(browser, { width: 390, height: 844, isMobile: true, hasTouch: true });
  await phone.goto(`${BASE_URL}/clusters/${cluster.id}`);
  await signIn(phone, TOKEN);
  await phone.getByRole('heading', { level: 3, name: 'Schedule a demo event' }).waitFor();
  await eventually(async () => (await phone.locator('li.demo-event').count()) >= 2, { message: 'the events are listed' });
  await phone.evaluate(() => {
    for (const d of document.querySelectorAll('.demo-events details')) d.open = true;
  });
  await phone.locator('li.demo-event .invitation-list').first().waitFor();
  await assertNoSidewaysScroll(phone, 'the cluster dashboard with the demo event forms open');
  await assertAccessible(phone, 'the cluster dashboard on a phone');
  await screenshot(phone, 'demo-events-phone', { fullPage: true });
  assertNoProblems(phone);
});
