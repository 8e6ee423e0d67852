// The curator area in Chromium: a curator of L3CE signs in with a token, drafts a call (the
// API's field error shows beside the field it names), saves and publishes it, and finds it in
// the public search and on its page, with its calendar file and history; a change made
// elsewhere meanwhile gives a clear conflict message. Run by crates/regional-invest/tests/web.rs
// with CURATOR_TOKEN (a curator of l3ce) in the environment.

import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
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
  resultTitles,
  screenshot,
} from './lib/harness.mjs';

const TOKEN = process.env.CURATOR_TOKEN;
if (!TOKEN) throw new Error('CURATOR_TOKEN is not set');

// A title no seed instrument has, different on every run.
const STAMP = Date.now().toString(36);
const TITLE = `Drone detection pilots for border guards ${STAMP}`;

let browser;
let page;
let id;

before(async () => {
  browser = await launch();
  // One tab throughout: the token lives in this tab's sessionStorage.
  page = await newPage(browser);
});
after(async () => {
  await browser?.close();
});

test('a curator signs in with a token, and a refused token says so', async () => {
  await page.goto(`${BASE_URL}/curate`);
  await page.getByRole('heading', { level: 1, name: 'Curator area' }).waitFor();
  await assertAccessible(page, 'the sign-in page');
  await page.getByLabel('Access token').fill('not-a-token');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByText('This token was refused').waitFor();
  assert.equal(await page.getByLabel('Access token').getAttribute('aria-invalid'), 'true');
  await screenshot(page, 'curate-sign-in');

  await page.getByLabel('Access token').fill(TOKEN);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('heading', { level: 1, name: /^Instruments of L3CE/ }).waitFor();
  await page.getByText(/Signed in as .* of l3ce \(curator\)/).waitFor();
  // The tenant's instruments by status: the seed left L3CE's Lithuanian strategy open.
  const open = page.locator('section').filter({ has: page.getByRole('heading', { name: /^Open \(/ }) });
  await open.getByRole('link', { name: 'Cybersecurity strategy (Lithuania)' }).waitFor();
  await page.getByRole('heading', { name: /^Draft \(\d+\)$/ }).waitFor();
  await assertAccessible(page, 'the curator area');
  await screenshot(page, 'curate', { fullPage: true });
  assertNoProblems(page);
});

test('a curator drafts a call, sees the API’s field error beside its field, saves and publishes it', async () => {
  await page.getByRole('link', { name: 'New instrument' }).click();
  await page.getByRole('heading', { level: 1, name: 'New instrument' }).waitFor();
  await page.getByLabel('Title').fill(TITLE);
  await page.getByLabel('Kind').selectOption('CALL');
  await page.getByLabel('Origin').selectOption('NATIONAL');
  await page.getByLabel('Countries').fill('LT');
  await page.getByLabel('Summary').fill('Pilots of drone detection at the Lithuanian border, with end users.');
  await page.getByLabel('SMEs').check();
  await page.getByLabel('Most funding (optional)').fill('60000');
  await page.getByLabel('Languages (optional)').fill('en, lt');
  await page.getByRole('checkbox', { name: /^P3 Detection/ }).check();
  await page.getByRole('checkbox', { name: /^D2 / }).check();
  await page.getByLabel('Deadline').fill('2031-05-15T17:00');
  await page.getByLabel('Time zone').fill('Europe/Vilnius');
  // A link the API refuses: nothing is stored, and the error stands beside the link.
  await page.getByLabel('Link (optional)').fill('not a link');
  await page.getByRole('button', { name: 'Save draft' }).click();
  await page.getByRole('heading', { name: 'There is a problem' }).waitFor();
  const linkError = page.locator('#f-link-error');
  await linkError.waitFor();
  assert.match(await linkError.textContent(), /^Error: /);
  assert.equal(await page.getByLabel('Link (optional)').getAttribute('aria-invalid'), 'true');
  assert.match(await page.getByLabel('Link (optional)').getAttribute('aria-describedby'), /f-link-error/);
  assert.equal(new URL(page.url()).pathname, '/curate/new');
  await assertAccessible(page, 'the form with an error');
  await screenshot(page, 'curate-field-error', { fullPage: true });

  await page.getByLabel('Link (optional)').fill('https://example.eu/drone-pilots');
  await page.getByRole('button', { name: 'Save draft' }).click();
  // Drafted, tagged, scheduled: three changes.
  await page.getByText('Saved (version 3).').waitFor();
  const path = new URL(page.url()).pathname;
  assert.match(path, /^\/curate\/[0-9a-f-]{36}$/);
  id = path.split('/').pop();
  await page.getByText('Now: Draft (version 3).').waitFor();

  await page.getByRole('button', { name: 'Publish' }).click();
  await page.getByText('Published: it is in the public search now.').waitFor();
  await page.getByText('Now: Open (version 4).').waitFor();
  await assertAccessible(page, 'the published instrument’s form');
  await screenshot(page, 'curate-published', { fullPage: true });
  assertNoProblems(page);
});

test('the published call is in the public search and on its page, with calendar file and history', async () => {
  assert.ok(id, 'the previous test published a call');
  // The read side follows the log: a moment after publishing, the search has it.
  await eventually(
    async () => {
      await page.goto(`${BASE_URL}/?features=P3&country=LT`);
      await page.locator('#result-count').filter({ hasText: /found|matches/ }).waitFor();
      return (await resultTitles(page)).includes(TITLE);
    },
    { message: 'the published call never showed in the search' },
  );
  const result = page.locator('.result').filter({ hasText: TITLE });
  await result.getByText(/^Curated by L3CE/).waitFor();
  await result.getByText(/Deadline: 15 May 2031 at 17:00 \(Europe\/Vilnius/).waitFor();
  await result.getByText(/\d+ days left/).waitFor();

  await result.getByRole('link', { name: TITLE }).click();
  await page.getByRole('heading', { level: 1, name: TITLE }).waitFor();
  await page.getByText(/^Curated by L3CE/).waitFor();
  await page.locator('dl.details').getByText('up to €60,000').waitFor();
  await page.getByRole('link', { name: 'The instrument’s own page' }).waitFor();
  await page.getByRole('heading', { level: 3, name: 'Development support' }).waitFor();

  // The calendar file: RFC 5545, lines ending CRLF, the deadline in UTC (17:00 in Vilnius in
  // May is 14:00Z), the same UID as the watch feeds.
  const [download] = await Promise.all([
    page.waitForEvent('download'),
    page.getByRole('button', { name: 'Add to calendar (.ics)' }).click(),
  ]);
  assert.match(download.suggestedFilename(), /^drone-detection-pilots-for-border-guards.*-deadline\.ics$/);
  const ics = await readFile(await download.path(), 'utf8');
  assert.ok(ics.startsWith('BEGIN:VCALENDAR\r\nVERSION:2.0\r\n'), ics);
  assert.ok(ics.endsWith('END:VCALENDAR\r\n'), ics);
  assert.equal(ics.replace(/\r\n/g, '').includes('\n'), false, 'every line ends with CRLF');
  assert.ok(ics.includes(`\r\nUID:${id}-deadline@regional-invest\r\n`), ics);
  assert.ok(ics.includes('\r\nDTSTART:20310515T140000Z\r\n'), ics);
  assert.ok(ics.includes(`\r\nSUMMARY:Deadline: ${TITLE}\r\n`), ics);

  // Signed in as its curator: the history, and a way to edit.
  const history = page.locator('.history');
  await history.getByText('Published', { exact: true }).waitFor();
  await history.getByText('Drafted', { exact: true }).waitFor();
  await page.getByRole('link', { name: 'Edit this instrument' }).waitFor();
  await assertAccessible(page, 'the new instrument’s page');
  await screenshot(page, 'instrument-published', { fullPage: true });

  // The history's first entry opens the page as it was then: a draft, with nothing to edit;
  // and back to now.
  await history
    .locator('li')
    .filter({ has: page.getByText('Drafted', { exact: true }) })
    .getByRole('link', { name: /^As it was then/ })
    .click();
  await page.getByText(/^As it was on .*: version \d+, last changed/).waitFor();
  await page.locator('.result-meta .badge', { hasText: /^Draft$/ }).waitFor();
  await page.locator('dl.details').getByText('up to €60,000').waitFor();
  assert.equal(await page.getByRole('link', { name: 'Edit this instrument' }).count(), 0);
  await assertAccessible(page, 'the instrument as it was');
  await page.getByRole('link', { name: 'See it as it is now' }).click();
  await page.getByRole('link', { name: 'Edit this instrument' }).waitFor();
  assert.equal(await page.locator('.result-meta .badge', { hasText: /^Draft$/ }).count(), 0);

  // And on a phone.
  await page.setViewportSize({ width: 390, height: 844 });
  await assertNoSidewaysScroll(page, 'the instrument page');
  await page.setViewportSize({ width: 1280, height: 900 });
  assertNoProblems(page);
});

test('a change made elsewhere meanwhile gives a clear conflict message, and nothing is lost silently', async () => {
  assert.ok(id, 'an earlier test published a call');
  await page.goto(`${BASE_URL}/curate/${id}`);
  await page.getByRole('heading', { level: 1, name: TITLE }).waitFor();
  await page.getByText('Now: Open (version 4).').waitFor();
  // Another curator revises it after this form was opened.
  const elsewhere = 'Revised in another window.';
  const data = await graphql(
    `mutation ($id: ID!, $input: InstrumentPatchInput!) { reviseInstrument(id: $id, input: $input) { version } }`,
    { id, input: { summary: elsewhere } },
    TOKEN,
  );
  assert.equal(data.reviseInstrument.version, 5);

  await page.getByLabel('Summary').fill('My own summary, made on the old version.');
  await page.getByRole('button', { name: 'Save changes' }).click();
  const conflict = page.locator('.conflict');
  await conflict.getByRole('heading', { name: 'Someone else changed this instrument' }).waitFor();
  await conflict.getByText(/your changes were not saved/).waitFor();
  await page.evaluate(() => window.scrollTo(0, 0));
  await screenshot(page, 'curate-conflict');

  // Reload shows their change (once the read side has it).
  await eventually(
    async () => {
      await page.getByRole('button', { name: 'Reload the instrument' }).or(page.getByRole('button', { name: 'Save changes' })).first().waitFor();
      if (await page.getByRole('button', { name: 'Reload the instrument' }).isVisible()) {
        await page.getByRole('button', { name: 'Reload the instrument' }).click();
      } else {
        await page.reload();
      }
      await page.getByRole('heading', { level: 1, name: TITLE }).waitFor();
      return (await page.getByLabel('Summary').inputValue()) === elsewhere;
    },
    { message: 'the reloaded form never showed the other change' },
  );
  await page.getByText('Now: Open (version 5).').waitFor();

  // On the current version, withdrawing works; the search no longer has it.
  await page.getByLabel('Reason for withdrawing').fill('Replaced by the 2032 call.');
  await page.getByRole('button', { name: 'Withdraw' }).click();
  await page.getByText('Withdrawn: it has left the public search.').waitFor();
  await eventually(
    async () => {
      await page.goto(`${BASE_URL}/?features=P3&country=LT`);
      await page.locator('#result-count').filter({ hasText: /found|matches/ }).waitFor();
      return !(await resultTitles(page)).includes(TITLE);
    },
    { message: 'the withdrawn call stayed in the search' },
  );
  assertNoProblems(page);
});

test('a save refused after its first steps says what was stored and what was not', async () => {
  await page.goto(`${BASE_URL}/curate/new`);
  await page.getByRole('heading', { level: 1, name: 'New instrument' }).waitFor();
  await page.getByLabel('Title').fill(`Opening after its deadline ${STAMP}`);
  await page.getByLabel('Kind').selectOption('CALL');
  await page.getByLabel('Origin').selectOption('NATIONAL');
  await page.getByLabel('Countries').fill('LT');
  await page.getByLabel('Summary').fill('A call whose schedule the API refuses.');
  await page.getByLabel('SMEs').check();
  await page.getByRole('checkbox', { name: /^P3 Detection/ }).check();
  // The page cannot tell that the deadline is before the opening date; the API can, at the
  // last step, after the draft and its features were stored.
  await page.getByLabel('Opens on (optional)').fill('2031-06-01');
  await page.getByLabel('Deadline').fill('2031-05-15T17:00');
  await page.getByLabel('Time zone').fill('Europe/Vilnius');
  await page.getByRole('button', { name: 'Save draft' }).click();
  await page.getByRole('heading', { name: 'There is a problem' }).waitFor();
  await page.getByText('Saved before the problem: the new draft with its details, the added features. The rest was not saved.').waitFor();
  assert.match(await page.locator('#f-deadline-error').textContent(), /opening date/);
  assert.match(new URL(page.url()).pathname, /^\/curate\/[0-9a-f-]{36}$/, 'the page is the stored draft’s');
  await assertAccessible(page, 'a partly saved instrument');
  assertNoProblems(page);
});
