// The public search in Chromium, on the service with the shipped seed: by two features and a
// country it shows the seed's instruments that fund either feature in that country; the URL
// holds the search; open only is the default and can be switched off; the instrument page shows
// the details; keyboard and narrow screens work. Run by crates/regional-invest/tests/web.rs.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import {
  BASE_URL,
  assertAccessible,
  assertNoProblems,
  assertNoSidewaysScroll,
  launch,
  newPage,
  resultTitles,
  screenshot,
} from './lib/harness.mjs';

// The seed (crates/regional-invest/seed/instruments.json): the open instruments that fund
// cybersecurity (P12) or showcasing (G3) in Lithuania. EACTDA's programme funds G3 too, but
// EU-wide, and Innovation Fund Denmark funds P12 in Denmark.
const LITHUANIAN = ['Cybersecurity strategy (Lithuania)', 'Start-up (Startas / InoStartas)'];
// Without the country: EACTDA (EU-wide) and Innovation Fund Denmark join them.
const ANYWHERE = [
  ...LITHUANIAN,
  'EACTDA innovation uptake funding for law enforcement',
  'Innovation Fund Denmark',
];
// A 2023 call that funded P12 and is closed now: found only with closed calls included.
const CLOSED_CALL = 'Digital Europe Programme CYBER-03 UPTAKE';

let browser;
before(async () => {
  browser = await launch();
});
after(async () => {
  await browser?.close();
});

const sorted = (titles) => [...titles].sort();

async function count(page) {
  return (await page.locator('#result-count').textContent()).trim();
}

test('search by two features and a country shows the expected seed instruments', async () => {
  const page = await newPage(browser);
  await page.goto(`${BASE_URL}/`);
  await page.getByText('5 open instruments found.').waitFor();
  assert.equal(await page.getByLabel('Open only').isChecked(), true, 'open only is the default');
  await assertAccessible(page, 'the search page');

  // Two features, from two categories.
  await page.getByRole('button', { name: /^Process \(P\)/ }).click();
  await page.getByRole('checkbox', { name: /^P12 Cybersecurity/ }).check();
  await page.waitForURL(/features=P12/);
  await page.getByRole('button', { name: /^General \(G\)/ }).click();
  await page.getByRole('checkbox', { name: /^G3 Showcasing/ }).check();
  await page.waitForURL(/features=P12,G3/);
  await page.getByText('4 open instruments found.').waitFor();
  assert.deepEqual(sorted(await resultTitles(page)), sorted(ANYWHERE));
  // Beside each country, how many of these it would leave.
  const lithuania = page.locator('#country option[value="LT"]');
  assert.equal(await lithuania.textContent(), 'Lithuania (2)');

  await page.getByLabel('Country').selectOption('LT');
  await page.waitForURL(/country=LT/);
  await page.getByText('2 open instruments found.').waitFor();
  assert.deepEqual(sorted(await resultTitles(page)), sorted(LITHUANIAN));
  // Each result names its origin, countries and curating tenant.
  const first = page.locator('.result').filter({ hasText: 'Cybersecurity strategy (Lithuania)' });
  await first.getByText('National', { exact: true }).waitFor();
  await first.getByText('Lithuania', { exact: true }).waitFor();
  await first.getByText(/^Curated by L3CE/).waitFor();
  await first.getByText('No deadline (open-ended)').waitFor();
  // Counts beside the options of the other groups follow the search.
  assert.match(await page.locator('label[for="origin-NATIONAL"]').textContent(), /\(2\)$/);
  assert.match(await page.locator('label[for="kind-PROGRAMME"]').textContent(), /\(1\)$/);
  assert.match(await page.locator('label[for="feature-G5"]').textContent(), /\(1\)$/);
  // The chosen filters, each with a button that removes it.
  await page.getByRole('button', { name: 'Remove P12 Cybersecurity' }).waitFor();
  await page.getByRole('button', { name: 'Remove Lithuania' }).waitFor();
  await assertAccessible(page, 'the search page with results');
  await page.evaluate(() => window.scrollTo(0, 0));
  await screenshot(page, 'search', { docs: 'docs/screenshots/search.png' });
  await screenshot(page, 'search-full', { fullPage: true });

  // The URL is the search: a reload (or a shared link) shows the same.
  const url = new URL(page.url());
  assert.equal(url.searchParams.get('features'), 'P12,G3');
  assert.equal(url.searchParams.get('country'), 'LT');
  const shared = await newPage(browser);
  await shared.goto(url.href);
  await shared.getByText('2 open instruments found.').waitFor();
  assert.deepEqual(sorted(await resultTitles(shared)), sorted(LITHUANIAN));
  assert.equal(await shared.getByRole('checkbox', { name: /^P12 Cybersecurity/ }).isChecked(), true);
  assert.equal(await shared.getByRole('checkbox', { name: /^G3 Showcasing/ }).isChecked(), true);
  assert.equal(await shared.getByLabel('Country').inputValue(), 'LT');
  assertNoProblems(shared);

  // Back: the search before the country was chosen; then forward, and the chip removes it.
  await page.goBack();
  await page.getByText('4 open instruments found.').waitFor();
  assert.equal(await page.getByLabel('Country').inputValue(), '');
  await page.goForward();
  await page.getByText('2 open instruments found.').waitFor();
  await page.getByRole('button', { name: 'Remove Lithuania' }).click();
  await page.getByText('4 open instruments found.').waitFor();
  assert.equal(new URL(page.url()).searchParams.get('country'), null);

  // Open only is a switch: off, the closed calls of 2023 show too, marked closed.
  await page.getByLabel('Open only').uncheck();
  await page.waitForURL(/closed=include/);
  const closed = page.locator('.result').filter({ hasText: CLOSED_CALL });
  await closed.waitFor();
  await closed.getByText('Closed', { exact: true }).waitFor();
  assert.ok((await resultTitles(page)).length > ANYWHERE.length);
  assertNoProblems(page);
});

test('results come a page at a time, and the URL keeps the page', async () => {
  const page = await newPage(browser);
  // Open and closed: the seed has more than a page of them.
  await page.goto(`${BASE_URL}/?closed=include`);
  await page.getByText(/^\d+ instruments found, showing 1 to 10\.$/).waitFor();
  const total = Number((await count(page)).split(' ')[0]);
  assert.equal((await resultTitles(page)).length, 10);
  const firstPage = await resultTitles(page);
  await page.getByRole('link', { name: 'Next page →' }).click();
  await page.getByText(`${total} instruments found, showing 11 to ${Math.min(total, 20)}.`).waitFor();
  await page.getByText(/^Page 2 of \d+$/).waitFor();
  // Focus moves to the results, so keyboard users continue there.
  assert.equal(await page.evaluate(() => document.activeElement?.id), 'results-title');
  const secondPage = await resultTitles(page);
  assert.equal(secondPage.filter((t) => firstPage.includes(t)).length, 0, 'pages overlap');
  // The URL holds the page: a reload shows it again.
  assert.ok(new URL(page.url()).searchParams.get('after'));
  await page.reload();
  await page.getByText(`${total} instruments found, showing 11 to ${Math.min(total, 20)}.`).waitFor();
  assert.deepEqual(await resultTitles(page), secondPage);
  await page.getByRole('link', { name: '← Previous page' }).click();
  await page.getByText(`${total} instruments found, showing 1 to 10.`).waitFor();
  assert.deepEqual(await resultTitles(page), firstPage);
  assertNoProblems(page);
});

test('the instrument page shows every detail, its features by category and its curator', async () => {
  const page = await newPage(browser);
  await page.goto(`${BASE_URL}/?features=P12&country=LT`);
  await page.getByRole('link', { name: 'Cybersecurity strategy (Lithuania)' }).click();
  await page.getByRole('heading', { level: 1, name: 'Cybersecurity strategy (Lithuania)' }).waitFor();
  assert.match(new URL(page.url()).pathname, /^\/instruments\/[0-9a-f-]{36}$/);
  // Focus moves to the new page's heading, for screen readers.
  assert.equal(await page.evaluate(() => document.activeElement?.tagName), 'H1');
  const details = page.locator('dl.details');
  await details.getByText('Strategic document', { exact: true }).waitFor();
  await details.getByText('Lithuania', { exact: true }).waitFor();
  await page.getByText(/^Curated by L3CE/).waitFor();
  await page.getByRole('heading', { level: 3, name: 'Process' }).waitFor();
  await page.locator('.features').getByText('Cybersecurity').waitFor();
  // The history is the curating tenant's to see.
  await page.getByRole('heading', { name: 'History' }).waitFor();
  await page.getByText(/shown to the signed-in members/).waitFor();
  await assertAccessible(page, 'the instrument page');
  await screenshot(page, 'instrument', { fullPage: true });
  // Back to the search it came from.
  await page.goBack();
  await page.getByText('1 open instrument found.').waitFor();
  assertNoProblems(page);
});

test('the search works from the keyboard and on a narrow screen', async () => {
  const page = await newPage(browser, { width: 390, height: 844, isMobile: true, hasTouch: true });
  await page.goto(`${BASE_URL}/`);
  await page.getByText('5 open instruments found.').waitFor();
  // The first Tab reaches the skip link, which leads to the content.
  await page.keyboard.press('Tab');
  assert.equal(await page.evaluate(() => document.activeElement?.textContent), 'Skip to content');
  await page.keyboard.press('Enter');
  assert.equal(await page.evaluate(() => document.activeElement?.id), 'main');
  // Words, then Enter.
  await page.getByLabel('Words').focus();
  await page.keyboard.type('Lithuania');
  await page.keyboard.press('Enter');
  await page.waitForURL(/q=Lithuania/);
  await page.getByText('1 open instrument found.').waitFor();
  assert.deepEqual(await resultTitles(page), ['Cybersecurity strategy (Lithuania)']);
  // On a phone the filters fold away; they open with the keyboard, and so does a category,
  // and a space ticks a feature.
  await page.goto(`${BASE_URL}/`);
  await page.getByText('5 open instruments found.').waitFor();
  assert.equal(await page.getByRole('checkbox', { name: /^National/ }).isVisible(), false);
  await page.getByRole('button', { name: /^Filters/ }).focus();
  await page.keyboard.press('Enter');
  await page.getByRole('button', { name: /^General \(G\)/ }).focus();
  await page.keyboard.press('Enter');
  await page.getByRole('checkbox', { name: /^G3 Showcasing/ }).focus();
  await page.keyboard.press('Space');
  await page.waitForURL(/features=G3/);
  await page.getByText('2 open instruments found.').waitFor();
  await page.getByRole('button', { name: 'Filters · 1 chosen' }).waitFor();
  await assertNoSidewaysScroll(page, 'the search page');
  await assertAccessible(page, 'the search page on a phone');
  await screenshot(page, 'search-mobile', { fullPage: true });
  assertNoProblems(page);
});

test('the follow-up pages ask for a sign-in and send nothing without one; a bad link is said to be bad', async () => {
  const page = await newPage(browser);
  const graphql = [];
  page.on('request', (request) => {
    if (request.url().endsWith('/graphql')) graphql.push(request.url());
  });
  for (const [path, heading] of [
    ['/projects', 'Projects'],
    ['/projects/p1', 'Project'],
    ['/clusters', 'Clusters'],
    ['/clusters/c1', 'Cluster dashboard'],
    ['/gaps', 'Feature gaps'],
  ]) {
    await page.goto(`${BASE_URL}${path}`);
    await page.getByRole('heading', { level: 1, name: heading }).waitFor();
    await page.getByLabel('Access token').waitFor();
    await assertAccessible(page, path);
  }
  assert.deepEqual(graphql, []);
  await page.goto(`${BASE_URL}/feedback/an-invitation-token`);
  await page.getByRole('heading', { level: 1, name: 'Practitioner feedback' }).waitFor();
  await page.getByText('This link is not valid.').waitFor();
  await assertAccessible(page, 'a bad feedback link');
  await screenshot(page, 'feedback-bad-link');
  assertNoProblems(page);
});

test('an unknown address answers 404 with the app’s own not-found page and its way back', async () => {
  for (const size of [{}, { width: 390, height: 844 }]) {
    const page = await newPage(browser, size);
    const response = await page.goto(`${BASE_URL}/no-such-page`);
    assert.equal(response.status(), 404);
    await page.getByRole('heading', { level: 1, name: 'Page not found' }).waitFor();
    await assertAccessible(page, `not found ${size.width ?? 'desktop'}`);
    await page.getByRole('link', { name: 'Search funding instruments' }).click();
    await page.waitForURL(`${BASE_URL}/`);
    await page.getByRole('heading', { level: 1 }).first().waitFor();
    assertNoProblems(page);
  }
});
