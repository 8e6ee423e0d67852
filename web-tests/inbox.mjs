// Watches and the inbox in Chromium: a signed-in user saves a search from the search page as a
// watch; a curator publishes a call that matches it (over the API, while the inbox is open); the
// inbox's unread count rises and the notice appears without a reload; it is marked read; the
// watch is listed with a new calendar link. Run by crates/regional-invest/tests/web.rs with
// WATCHER_TOKEN (a user of l3ce without a role) and CURATOR_TOKEN (a curator of l3ce).

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

const WATCHER = process.env.WATCHER_TOKEN;
const CURATOR = process.env.CURATOR_TOKEN;
if (!WATCHER || !CURATOR) throw new Error('WATCHER_TOKEN and CURATOR_TOKEN must be set');

// A word no seed instrument has, different on every run: the watch follows it alone.
const WORD = `zq${Date.now().toString(36)}`;
const TITLE = `Counter-drone pilots ${WORD}`;

let browser;
let page;

before(async () => {
  browser = await launch();
  page = await newPage(browser);
});
after(async () => {
  await browser?.close();
});

test('the inbox asks for a sign-in, then shows an empty inbox and no watches', async () => {
  await page.goto(`${BASE_URL}/inbox`);
  await page.getByRole('heading', { level: 1, name: 'Inbox' }).waitFor();
  await signIn(page, WATCHER);
  await page.getByText(/Signed in as .* of l3ce/).waitFor();
  await page.getByText('Nothing unread').waitFor();
  await page.getByText('No watches yet.').waitFor();
  await assertAccessible(page, 'the empty inbox');
  assertNoProblems(page);
});

test('a search is saved as a watch from the search page, with its calendar link', async () => {
  await page.goto(`${BASE_URL}/?q=${WORD}`);
  await page.getByRole('heading', { level: 1, name: /Find funding/ }).waitFor();
  await page.getByText('Save this search as a watch').click();
  const name = page.getByLabel('Name');
  assert.equal(await name.inputValue(), WORD, 'the name is suggested from the search');
  // A bad reminder list is refused beside its field, and nothing is saved.
  await page.getByLabel('Remind me before a deadline (days)').fill('7, soon');
  await page.getByRole('button', { name: 'Save the watch' }).click();
  await page.getByText('Write whole numbers of days').waitFor();
  await page.getByLabel('Remind me before a deadline (days)').fill('90');
  await page.getByRole('button', { name: 'Save the watch' }).click();
  await page.locator('#watch-days-error').getByText('days must be 1 to 60').waitFor();
  assert.equal(
    await page.getByLabel('Remind me before a deadline (days)').getAttribute('aria-invalid'),
    'true',
    'the API’s refusal of 90 days is shown at the field',
  );
  await page.getByLabel('Remind me before a deadline (days)').fill('14, 2');
  await page.getByRole('button', { name: 'Save the watch' }).click();
  await page.getByText(`Saved “${WORD}”`).waitFor();
  const calendar = page.getByRole('link', { name: 'subscribe from your calendar' });
  assert.match(await calendar.getAttribute('href'), /^http:\/\/[^/]+\/watches\/[^/]+\/deadlines\.ics\?token=./);
  await assertAccessible(page, 'the search with a saved watch');
  // The one saved, and neither refused attempt.
  let watches = [];
  await eventually(async () => {
    ({ watches } = await graphql('query { watches { name reminderDays filter { text } } }', {}, WATCHER));
    return watches.length > 0;
  });
  assert.deepEqual(watches, [{ name: WORD, reminderDays: [14, 2], filter: { text: WORD } }]);
  assertNoProblems(page);
});

test('a matching call published elsewhere shows in the open inbox without a reload', async () => {
  await page.getByRole('link', { name: 'Inbox' }).first().click();
  await page.getByRole('heading', { level: 1, name: 'Inbox' }).waitFor();
  await page.getByText('New notices appear here as they are made.').waitFor();
  await page.getByText('Nothing unread').waitFor();
  // Marks the document: a reload would lose it.
  await page.evaluate(() => {
    window.__sameDocument = true;
  });

  const { draftInstrument } = await graphql(
    `mutation ($input: InstrumentInput!) { draftInstrument(input: $input) { id } }`,
    {
      input: {
        title: TITLE,
        kind: 'CALL',
        coverLevel: 'NATIONAL',
        countries: ['LT'],
        summary: 'Pilots of counter-drone systems with end users.',
        targetOrganisations: ['SME'],
        languages: ['en'],
      },
    },
    CURATOR,
  );
  const id = draftInstrument.id;
  await graphql(
    `mutation ($id: ID!) { setInstrumentDeadline(id: $id, deadline: "2031-03-31T17:00:00+02:00", timeZone: "Europe/Vilnius") { id } }`,
    { id },
    CURATOR,
  );
  await graphql(`mutation ($id: ID!) { tagInstrumentFeatures(id: $id, features: ["P3"]) { id } }`, { id }, CURATOR);
  await graphql(`mutation ($id: ID!) { publishInstrument(id: $id) { id } }`, { id }, CURATOR);

  await page.getByText('1 unread').waitFor({ timeout: 30_000 });
  const item = page.locator('.notice-list > li').filter({ hasText: TITLE });
  await item.getByText('New match').waitFor();
  await item.getByText('Unread').waitFor();
  assert.equal(await page.evaluate(() => window.__sameDocument), true, 'no reload');
  assert.equal(await item.getByRole('link', { name: TITLE, exact: true }).getAttribute('href'), `/instruments/${id}`);
  // Why it fired, in one sentence, and the instrument as the notice saw it.
  const why = item.locator('.notice-cause');
  assert.match(await why.innerText(), /^Why: Instrument published by ana on \d{4}-\d\d-\d\d \d\d:\d\d UTC \(log position \d+\); your watch ".+" \(version \d+\) matched it on the words "[^"]+"\. See it as it was then/);
  const then = why.getByRole('link', { name: /^See it as it was then/ });
  assert.match(await then.getAttribute('href'), new RegExp(`^/instruments/${id}\\?asOf=\\d{4}-`));
  await assertAccessible(page, 'the inbox with a notice');
  await screenshot(page, 'inbox', { fullPage: true });

  await item.getByRole('button', { name: /^Mark read/ }).click();
  await page.getByText('Nothing unread').waitFor();
  assert.equal(await item.getByText('Unread').count(), 0);
  const { notifications } = await graphql('query { notifications { unreadCount } }', {}, WATCHER);
  assert.equal(notifications.unreadCount, 0, 'the mark is stored');
  assertNoProblems(page);
});

test('the watch is listed with its filter, edited, and given a new calendar link', async () => {
  const watch = page.locator('.watch-list > li').filter({ hasText: WORD });
  await watch.getByText(`“${WORD}”`).waitFor();
  await watch.getByText('Reminders 14 days and 2 days before a deadline.').waitFor();

  await watch.getByRole('button', { name: /^Edit/ }).click();
  await watch.getByLabel('Name').fill(`Drones ${WORD}`);
  await watch.getByLabel('Remind me before a deadline (days)').fill('0');
  await watch.getByRole('button', { name: 'Save changes' }).click();
  await watch.getByText('days must be 1 to 60').waitFor();
  await watch.getByLabel('Remind me before a deadline (days)').fill('3');
  await watch.getByRole('button', { name: 'Save changes' }).click();
  await page.getByText(`Saved the watch “Drones ${WORD}”.`).waitFor();
  await watch.getByText('Reminders 3 days before a deadline.').waitFor();
  await assertAccessible(page, 'the inbox with a watch being edited');
  const stored = await eventually(async () => {
    const { watches } = await graphql('query { watches { name reminderDays } }', {}, WATCHER);
    return watches[0]?.reminderDays[0] === 3 && watches;
  });
  assert.deepEqual(stored, [{ name: `Drones ${WORD}`, reminderDays: [3] }]);

  await watch.getByRole('button', { name: /^New calendar link/ }).click();
  await page.getByRole('link', { name: 'subscribe from your calendar' }).waitFor();
  assertNoProblems(page);
});

test('on a phone nothing scrolls sideways', async () => {
  const phone = await newPage(browser, { width: 375, height: 740, isMobile: true, hasTouch: true });
  await phone.goto(`${BASE_URL}/inbox`);
  await signIn(phone, WATCHER);
  await phone.locator('.notice-list > li').filter({ hasText: TITLE }).waitFor();
  await assertNoSidewaysScroll(phone, 'the inbox');
  await assertAccessible(phone, 'the inbox on a phone');
});
