// The feature matrix in Chromium: a curator of L3CE imports a matrix with two bad cells and sees
// both against their rows and columns, with nothing stored; fixes them; the import lands, and
// the instruments have the features the file gave them. Run by
// crates/regional-invest/tests/web.rs with CURATOR_TOKEN (a curator of l3ce).

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { BASE_URL, assertAccessible, assertNoProblems, assertNoSidewaysScroll, eventually, launch, newPage, screenshot, signIn } from './lib/harness.mjs';

const TOKEN = process.env.CURATOR_TOKEN;
if (!TOKEN) throw new Error('CURATOR_TOKEN is not set');

let browser;
let page;

before(async () => {
  browser = await launch();
  page = await newPage(browser);
});
after(async () => {
  await browser?.close();
});

async function exported() {
  const response = await fetch(`${BASE_URL}/exports/feature-matrix.csv?target=instruments`, {
    headers: { authorization: `Bearer ${TOKEN}` },
  });
  assert.equal(response.status, 200);
  return (await response.text()).replace(/^\uFEFF/, '');
}

/** The rows of a comma-separated file, quoted cells unquoted. */
function rows(csv) {
  const out = [];
  let row = [];
  let cell = '';
  let quoted = false;
  for (let i = 0; i < csv.length; i += 1) {
    const c = csv[i];
    if (quoted) {
      if (c === '"' && csv[i + 1] === '"') {
        cell += '"';
        i += 1;
      } else if (c === '"') quoted = false;
      else cell += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') {
      row.push(cell);
      cell = '';
    } else if (c === '\n' || c === '\r') {
      if (c === '\r' && csv[i + 1] === '\n') i += 1;
      row.push(cell);
      out.push(row);
      row = [];
      cell = '';
    } else cell += c;
  }
  if (cell || row.length) out.push([...row, cell]);
  return out;
}
const quote = (cell) => (/[",\r\n]/.test(cell) ? `"${cell.replaceAll('"', '""')}"` : cell);
const csvOf = (table) => `${table.map((r) => r.map(quote).join(',')).join('\r\n')}\r\n`;

// Two empty cells of the first instrument's column, in feature rows: [row index, feature].
let original;
let cells;

test('a matrix with two bad cells shows both against their rows and columns, and stores nothing', async () => {
  original = rows(await exported());
  assert.ok(original[0].length >= 2, 'L3CE curates instruments');
  cells = original
    .map((r, i) => [i, r])
    .filter(([i, r]) => i > 0 && /^[A-Z]{1,2}\d+\b/.test(r[0]) && r[1].trim() === '')
    .slice(0, 2)
    .map(([i, r]) => [i, r[0].split(/[\s:]/)[0]]);
  assert.equal(cells.length, 2, 'two features the first instrument lacks');

  const bad = original.map((r) => [...r]);
  bad[cells[0][0]][1] = 'yes';
  bad[cells[1][0]][1] = 'x';

  await page.goto(`${BASE_URL}/curate`);
  await signIn(page, TOKEN);
  await page.getByRole('heading', { level: 2, name: 'Feature matrix' }).waitFor();
  await page.getByLabel('Import a feature matrix (CSV)').setInputFiles({
    name: 'matrix.csv',
    mimeType: 'text/csv',
    buffer: Buffer.from(csvOf(bad)),
  });
  await page.getByRole('button', { name: 'Import', exact: true }).click();
  await page.getByText('2 problems in the file; nothing was stored.').waitFor();
  const shown = await page.locator('table.problems tbody tr').evaluateAll((trs) =>
    trs.map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent)),
  );
  const header = original[0][1];
  assert.deepEqual(
    shown.map((r) => r.slice(0, 4)),
    [
      [String(cells[0][0] + 1), `2 (${header})`, original[cells[0][0]][0], 'yes'],
      [String(cells[1][0] + 1), `2 (${header})`, original[cells[1][0]][0], 'x'],
    ],
  );
  await assertAccessible(page, 'the refused import');
  await screenshot(page, 'matrix-problems', { fullPage: true });
  assert.deepEqual(rows(await exported()), original, 'nothing was stored');
  assertNoProblems(page);
});

test('the fixed matrix is imported and the instrument has the features it gives', async () => {
  const fixed = original.map((r) => [...r]);
  fixed[cells[0][0]][1] = 'Y';
  fixed[cells[1][0]][1] = 'Y';
  await page.getByLabel('Import a feature matrix (CSV)').setInputFiles({
    name: 'matrix.csv',
    mimeType: 'text/csv',
    buffer: Buffer.from(csvOf(fixed)),
  });
  await page.getByRole('button', { name: 'Import', exact: true }).click();
  await page.getByText(/^Imported matrix\.csv: \d+ columns?\.$/).waitFor();
  const change = await page.getByText(new RegExp(`^${original[0][1]}: .* added$`)).textContent();
  for (const [, code] of cells) assert.ok(change.includes(code), `${change} names ${code}`);
  await assertAccessible(page, 'the imported matrix');
  await eventually(async () => {
    const now = rows(await exported());
    return cells.every(([i]) => now[i][1].trim() === 'Y');
  });
  assertNoProblems(page);
});

test('on a phone the import scrolls nothing sideways', async () => {
  const phone = await newPage(browser, { width: 375, height: 740, isMobile: true, hasTouch: true });
  await phone.goto(`${BASE_URL}/curate`);
  await signIn(phone, TOKEN);
  await phone.getByRole('heading', { level: 2, name: 'Feature matrix' }).waitFor();
  await assertNoSidewaysScroll(phone, 'the curator area with the matrix import');
});
