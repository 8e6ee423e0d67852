// A path the site does not have: the server answers 404 with the index, and this draws the page.

import { h, replace } from '../dom.js';
import { pageReady } from '../nav.js';

export async function render(view) {
  replace(
    view,
    h('h1', {}, 'Page not found'),
    h('p', {}, 'There is no page at this address. ', h('a', { href: '/' }, 'Search funding instruments')),
  );
  pageReady(view, 'Page not found');
  return null;
}
