// What pages need of the router, without importing it: page titles and focus, announcements,
// and navigation within the site.

let router = null;
// Focus moves to a page's heading after a navigation, not when the site first loads.
let focusHeading = false;

/** The next page to be ready takes focus (the router calls this on back and forward). */
export function focusNextPage() {
  focusHeading = true;
}

/** The router registers itself here (app.js). */
export function setRouter(route) {
  router = route;
}

/** Goes to a path of the site without reloading (replace: no new history entry). */
export function navigate(url, { replace = false } = {}) {
  focusHeading = true;
  if (replace) history.replaceState(null, '', url);
  else history.pushState(null, '', url);
  return router ? router() : Promise.resolve();
}

/**
 * Sets the document's title and moves focus to the page's heading (unless focus is already
 * within the page). Does nothing for a view that is no longer shown.
 */
export function pageReady(view, title) {
  if (!view.isConnected) return;
  document.title = title ? `${title} · Regional Invest` : 'Regional Invest';
  const heading = view.querySelector('h1');
  const move = focusHeading;
  focusHeading = false;
  if (move && heading && !view.contains(document.activeElement)) {
    heading.setAttribute('tabindex', '-1');
    heading.focus({ preventScroll: true });
  }
}

/** Says something to screen-reader users without moving focus. */
export function announce(message) {
  const announcer = document.getElementById('announcer');
  if (!announcer) return;
  announcer.textContent = '';
  // Set in a later task, so that a repeated message is announced again.
  setTimeout(() => {
    announcer.textContent = message;
  }, 50);
}
