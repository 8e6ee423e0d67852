// What every browser test needs: Debian's Chromium driven by playwright-core, the service's
// address and tokens from the environment (crates/regional-invest/tests/web.rs sets them),
// screenshots into the test output, checks that hold on every page, and polling for what the
// service's read side shows a moment after a change.

import assert from 'node:assert/strict';
import { mkdir, copyFile, readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

/** The repository's root. */
export const REPOSITORY = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

export const BASE_URL = (process.env.BASE_URL ?? '').replace(/\/$/, '');
if (!BASE_URL) {
  throw new Error('BASE_URL is not set: these tests are run by `cargo test -p regional-invest --test web`');
}
const SCREENSHOTS = process.env.SCREENSHOT_DIR ?? path.join(REPOSITORY, 'target/web-screenshots');
const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';

/** A headless Chromium, with what keeps it off the network (only the service on loopback). */
export async function launch() {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-dev-shm-usage',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}

/** A page that fails the test on a script error or a failed request to the service. */
export async function newPage(browser, { width = 1280, height = 900, ...options } = {}) {
  const context = await browser.newContext({ viewport: { width, height }, acceptDownloads: true, ...options });
  const page = await context.newPage();
  page.problems = [];
  page.on('pageerror', (error) => page.problems.push(`script error: ${error.message}`));
  page.on('console', (message) => {
    // The API answers a refused token with 401 and a refused input with 400 (GraphQL over
    // HTTP), which the pages show; Chromium logs each. Anything else is a problem.
    const expected = /Failed to load resource: the server responded with a status of 4\d\d/;
    // Only the service's pages are ours to vouch for (the OpenID provider's load web fonts).
    const ours = page.url().startsWith(BASE_URL);
    if (message.type() === 'error' && ours && !expected.test(message.text())) {
      page.problems.push(`console error: ${message.text()}`);
    }
  });
  page.on('requestfailed', (request) => {
    // A download's blob: URL and aborted navigations are not failures of the service.
    if (request.url().startsWith(BASE_URL) && request.failure()?.errorText !== 'net::ERR_ABORTED') {
      page.problems.push(`request failed: ${request.url()} ${request.failure()?.errorText}`);
    }
  });
  page.setDefaultTimeout(30_000);
  return page;
}

/** Asserts that the page logged no script error and no request of it failed. */
export function assertNoProblems(page) {
  assert.deepEqual(page.problems, [], 'the page had problems');
}

/**
 * Saves a screenshot as <name>.png in the test output; with `docs` (a path in the repository)
 * and UPDATE_DOCS_SCREENSHOTS=1, also there.
 */
export async function screenshot(page, name, { fullPage = false, docs = null } = {}) {
  await mkdir(SCREENSHOTS, { recursive: true });
  const file = path.join(SCREENSHOTS, `${name}.png`);
  // Focus rings and the caret would make screenshots differ from run to run.
  await page.evaluate(() => document.activeElement instanceof HTMLElement && document.activeElement.blur());
  await page.screenshot({ path: file, fullPage });
  if (docs && process.env.UPDATE_DOCS_SCREENSHOTS === '1') {
    const target = path.join(REPOSITORY, docs);
    await mkdir(path.dirname(target), { recursive: true });
    await copyFile(file, target);
  }
  return file;
}

/** Runs `check` until it returns a truthy value or `timeout` passes; returns that value. */
export async function eventually(check, { timeout = 30_000, interval = 250, message = 'never became true' } = {}) {
  const end = Date.now() + timeout;
  let last;
  for (;;) {
    try {
      const value = await check();
      if (value) return value;
      last = value;
    } catch (error) {
      last = error;
    }
    if (Date.now() > end) throw new Error(`${message}; last: ${last?.message ?? JSON.stringify(last)}`);
    await new Promise((resolve) => setTimeout(resolve, interval));
  }
}

/**
 * Signs in as `login` on the OpenID provider's own pages (web-tests/lib/oidc-provider.mjs at
 * `providerUrl`: any password), from a page showing the service's sign-in.
 */
export async function signInThroughProvider(page, login, providerUrl) {
  await page.getByRole('link', { name: 'Sign in with the test provider' }).click();
  await page.waitForURL((url) => url.href.startsWith(providerUrl));
  await page.locator('input[name="login"]').fill(login);
  await page.locator('input[name="password"]').fill('any password');
  await page.getByRole('button', { name: 'Sign-in' }).click();
  // The provider asks once per client whether to share the sign-in.
  await page.getByRole('button', { name: 'Continue' }).click();
}

/** What the clocks of `zone` show at `ms`: { date: 'YYYY-MM-DD', time: 'HH:MM:SS' }. */
export function wallClock(ms, zone) {
  const parts = Object.fromEntries(
    new Intl.DateTimeFormat('en-GB', {
      timeZone: zone,
      hourCycle: 'h23',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
    })
      .formatToParts(new Date(ms))
      .map((p) => [p.type, p.value]),
  );
  return { date: `${parts.year}-${parts.month}-${parts.day}`, time: `${parts.hour}:${parts.minute}:${parts.second}` };
}

/** Signs in on a page's sign-in form with `token` (the form comes back to the same page). */
export async function signIn(page, token) {
  await page.getByLabel('Access token').fill(token);
  await page.getByRole('button', { name: 'Sign in' }).click();
}

/** Sends a GraphQL operation as another client would (to change things behind the page's back). */
export async function graphql(query, variables, bearer) {
  const response = await fetch(`${BASE_URL}/graphql`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      accept: 'application/graphql-response+json',
      ...(bearer ? { authorization: `Bearer ${bearer}` } : {}),
    },
    body: JSON.stringify({ query, variables }),
  });
  const body = await response.json();
  assert.equal(body.errors, undefined, JSON.stringify(body.errors));
  return body.data;
}

/** The titles of the results on the search page, in order. */
export async function resultTitles(page) {
  return page.locator('.result-list .result h3').allTextContents();
}

/**
 * What every page must have for keyboard and screen-reader users and low vision: a language,
 * one h1, a name for every control and link, a legend for every fieldset, unique ids, and text
 * contrast of at least 4.5:1 (3:1 for large text) against its background.
 */
export async function assertAccessible(page, name) {
  const problems = await page.evaluate(() => {
    const out = [];
    const visible = (el) => {
      const style = getComputedStyle(el);
      return el.getClientRects().length > 0 && style.visibility !== 'hidden' && style.display !== 'none';
    };
    if (!document.documentElement.lang) out.push('the document has no language');
    const h1 = [...document.querySelectorAll('h1')].filter(visible);
    if (h1.length !== 1) out.push(`${h1.length} visible h1 elements`);
    for (const el of document.querySelectorAll('input:not([type=hidden]), select, textarea')) {
      const named = el.labels?.length > 0 || el.getAttribute('aria-label') || el.getAttribute('aria-labelledby');
      if (!named) out.push(`a control has no label: ${el.outerHTML.slice(0, 100)}`);
    }
    for (const el of document.querySelectorAll('fieldset')) {
      if (!el.querySelector(':scope > legend')?.textContent.trim()) out.push('a fieldset has no legend');
    }
    for (const el of document.querySelectorAll('a, button')) {
      if (visible(el) && !el.textContent.trim() && !el.getAttribute('aria-label')) {
        out.push(`a ${el.tagName.toLowerCase()} has no name: ${el.outerHTML.slice(0, 100)}`);
      }
    }
    for (const el of document.querySelectorAll('img')) {
      if (!el.hasAttribute('alt')) out.push('an image has no alt text');
    }
    const ids = new Map();
    for (const el of document.querySelectorAll('[id]')) ids.set(el.id, (ids.get(el.id) ?? 0) + 1);
    for (const [id, n] of ids) if (n > 1) out.push(`id ${id} is used ${n} times`);

    // Contrast of each visible text against the first opaque background behind it.
    const rgba = (value) => {
      const m = value.match(/rgba?\(([^)]+)\)/);
      if (!m) return [0, 0, 0, 0];
      const [r, g, b, a = '1'] = m[1].split(/[ ,/]+/).filter(Boolean);
      return [Number(r), Number(g), Number(b), Number(a)];
    };
    const luminance = ([r, g, b]) => {
      const c = [r, g, b].map((v) => {
        const s = v / 255;
        return s <= 0.03928 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4;
      });
      return 0.2126 * c[0] + 0.7152 * c[1] + 0.0722 * c[2];
    };
    const background = (el) => {
      for (let node = el; node; node = node.parentElement) {
        const bg = rgba(getComputedStyle(node).backgroundColor);
        if (bg[3] >= 0.99) return bg;
      }
      return [255, 255, 255, 1];
    };
    const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
    const seen = new Set();
    for (let text = walker.nextNode(); text; text = walker.nextNode()) {
      const el = text.parentElement;
      if (!el || seen.has(el) || !text.textContent.trim() || !visible(el)) continue;
      if (el.closest('.visually-hidden, [hidden], option, datalist')) continue;
      seen.add(el);
      const style = getComputedStyle(el);
      if (Number(style.opacity) < 1 || el.closest('button:disabled')) continue;
      const fg = rgba(style.color);
      const bg = background(el);
      const [l1, l2] = [luminance(fg), luminance(bg)].sort((a, b) => b - a);
      const ratio = (l1 + 0.05) / (l2 + 0.05);
      const size = parseFloat(style.fontSize);
      const large = size >= 24 || (size >= 18.66 && Number(style.fontWeight) >= 700);
      if (ratio < (large ? 3 : 4.5)) {
        out.push(`contrast ${ratio.toFixed(2)} for "${text.textContent.trim().slice(0, 40)}"`);
      }
    }
    return out;
  });
  assert.deepEqual(problems, [], `accessibility of ${name}`);
  await assertNoAxeViolations(page, name);
}

let axeSource = null;

/**
 * axe-core (from npm) finds no serious or critical violation on the page. It is evaluated in
 * the page through the DevTools protocol, which the page's content security policy does not
 * govern, so the page keeps its policy.
 */
export async function assertNoAxeViolations(page, name) {
  axeSource ??= await readFile(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
  if (!(await page.evaluate(() => typeof window.axe === 'object'))) await page.evaluate(axeSource);
  const violations = await page.evaluate(async () => {
    const { violations } = await window.axe.run(document, { resultTypes: ['violations'] });
    return violations
      .filter((v) => v.impact === 'serious' || v.impact === 'critical')
      .map((v) => `${v.impact} ${v.id}: ${v.help} at ${v.nodes.slice(0, 3).map((n) => n.target.join(' ')).join('; ')}`);
  });
  assert.deepEqual(violations, [], `axe-core on ${name}`);
}

/** The page fits a narrow screen: nothing scrolls sideways. */
export async function assertNoSidewaysScroll(page, name) {
  const { scroll, width } = await page.evaluate(() => ({
    scroll: document.documentElement.scrollWidth,
    width: window.innerWidth,
  }));
  assert.ok(scroll <= width, `${name} scrolls sideways: ${scroll}px content in a ${width}px window`);
}
