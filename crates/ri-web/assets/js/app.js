// The page router: every page path of the service answers with index.html, and this draws the
// page for the path. Links within the site change the page without a reload; back and forward
// work; each new page moves focus to its heading so screen readers announce it.

import * as search from './pages/search.js';
import * as instrument from './pages/instrument.js';
import * as curate from './pages/curate.js';
import * as edit from './pages/edit.js';
import * as projects from './pages/projects.js';
import * as projectForm from './pages/project-form.js';
import * as clusters from './pages/clusters.js';
import * as feedback from './pages/feedback.js';
import * as gaps from './pages/gaps.js';
import * as inbox from './pages/inbox.js';
import * as notFound from './pages/not-found.js';
import { focusNextPage, navigate, setRouter } from './nav.js';

// [pattern, page module, nav section]. The server's list of page paths (ri_web::PAGES) matches.
const ROUTES = [
  [/^\/$/, search, 'search'],
  [/^\/instruments\/(?<id>[^/]+)$/, instrument, 'search'],
  [/^\/curate$/, curate, 'curate'],
  [/^\/curate\/new$/, edit, 'curate'],
  [/^\/curate\/(?<id>[^/]+)$/, edit, 'curate'],
  // The follow-up manager's pages, and the practitioner's feedback form (no account).
  [/^\/projects$/, projects, 'projects'],
  [/^\/projects\/new$/, projectForm, 'projects'],
  [/^\/projects\/(?<id>[^/]+)\/edit$/, projectForm, 'projects'],
  [/^\/projects\/(?<id>[^/]+)$/, projects, 'projects'],
  [/^\/clusters$/, clusters, 'clusters'],
  [/^\/clusters\/(?<id>[^/]+)$/, clusters, 'clusters'],
  [/^\/feedback\/(?<token>[^/]+)$/, feedback, null],
  [/^\/gaps$/, gaps, 'gaps'],
  [/^\/inbox$/, inbox, 'inbox'],
];

const main = document.getElementById('main');
let current = null; // { module, key, instance }

function match(pathname) {
  for (const [pattern, module, section, extra] of ROUTES) {
    const found = pattern.exec(pathname);
    if (found) {
      const params = { ...(extra ?? {}) };
      for (const [k, v] of Object.entries(found.groups ?? {})) params[k] = decodeURIComponent(v);
      return { module, section, params };
    }
  }
  return { module: notFound, section: null, params: {} };
}

function markSection(section) {
  for (const link of document.querySelectorAll('.site-nav a')) {
    if (link.dataset.section === section) link.setAttribute('aria-current', 'page');
    else link.removeAttribute('aria-current');
  }
}

// Where the page drawn last is (a change of the #fragment alone draws nothing).
let drawn = null;

async function route() {
  const { pathname, search: query } = window.location;
  drawn = pathname + query;
  const { module, section, params } = match(pathname);
  markSection(section);
  const key = `${pathname}`;
  // Same page, new query (a search changed): the page updates itself in place.
  if (current && current.module === module && current.key === key && current.instance?.update) {
    await current.instance.update(query);
    return;
  }
  current?.instance?.destroy?.();
  // Each page draws into its own view; a page still loading when the next one starts draws
  // into a view that is no longer on the page.
  const view = document.createElement('div');
  view.className = 'view';
  main.replaceChildren(view);
  const page = { module, key, instance: null };
  current = page;
  main.setAttribute('aria-busy', 'true');
  try {
    page.instance = (await module.render(view, params, query)) ?? null;
  } catch (error) {
    const p = document.createElement('p');
    p.className = 'notice notice-error';
    p.setAttribute('role', 'alert');
    p.textContent = `This page could not be shown: ${error?.message ?? error}`;
    view.replaceChildren(p);
  } finally {
    if (current === page) main.removeAttribute('aria-busy');
  }
  if (current === page && !window.location.hash) window.scrollTo(0, 0);
}

function isInternal(link, event) {
  if (event.defaultPrevented || event.button !== 0) return false;
  if (event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return false;
  if (link.target || link.hasAttribute('download')) return false;
  const url = new URL(link.href, window.location.href);
  if (url.origin !== window.location.origin) return false;
  if (url.pathname.startsWith('/graphql') || url.pathname.startsWith('/assets/')) return false;
  // A link to a place on the same page scrolls there.
  if (url.pathname === window.location.pathname && url.search === window.location.search && url.hash) {
    return false;
  }
  return match(url.pathname).module !== notFound;
}

document.addEventListener('click', (event) => {
  const link = event.target instanceof Element ? event.target.closest('a[href]') : null;
  if (!link || !isInternal(link, event)) return;
  event.preventDefault();
  const url = new URL(link.href, window.location.href);
  // Leaving a page moves focus to the next one's heading.
  link.blur();
  navigate(url.pathname + url.search + url.hash);
});

window.addEventListener('popstate', () => {
  if (window.location.pathname + window.location.search === drawn) return;
  focusNextPage();
  route();
});

setRouter(route);
route();
