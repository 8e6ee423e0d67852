// The follow-up manager's pages and the feature-gap map, which arrive with the projects,
// matching and clusters API (issues 5 and 6). Until then each page says what it will show and
// sends no request: a page calls only operations the schema has.
//
// To add one: write js/pages/<page>.js with `render(view, params, query)`, add its GraphQL
// documents to js/operations.js (checked against the schema by a test), point its route in
// js/app.js at it, and list its files in src/assets.rs. The server's paths (ri_web::PAGES) are
// already there.

import { h, replace } from '../dom.js';
import { pageReady } from '../nav.js';

const PAGES = {
  projects: {
    title: 'Projects',
    lede: 'Your organisation’s funded projects, each with its best-matching open instruments and why they match.',
    will: [
      'every project with its features, stage and consortium',
      'its top matches among the open instruments, with the features that matched and those that did not',
      'funding applications and success milestones',
    ],
  },
  project: {
    title: 'Project',
    lede: 'One project, its features and its matching instruments, explained.',
    will: ['the project’s details and features', 'its top matches with their explanations', 'its funding applications and milestones'],
  },
  clusters: {
    title: 'Clusters',
    lede: 'Project clusters around end-user-centric areas, each run by a follow-up manager.',
    will: [
      'each cluster’s projects and follow-up manager',
      'its demo events with the practitioners invited',
      'practitioner feedback as charts',
      'follow-up sessions and their next steps',
    ],
  },
  cluster: {
    title: 'Cluster dashboard',
    lede: 'One cluster: its projects, demo events, practitioner feedback and next steps.',
    will: ['feedback per project and criterion, drawn as charts', 'demo events and who took part', 'follow-up sessions and next steps'],
  },
  feedback: {
    title: 'Practitioner feedback',
    lede: 'Thank you for taking part in the demo event.',
    will: ['a short form for your feedback on each demonstrated project, reached from your invitation link, without an account'],
  },
  gaps: {
    title: 'Feature gaps',
    lede: 'Which features funded projects need, against how many open instruments fund them.',
    will: ['a heat map of features (rows) by demand from projects and supply of open instruments', 'the features no open instrument funds'],
  },
};

export async function render(view, params) {
  const page = PAGES[params.page] ?? PAGES.projects;
  replace(
    view,
    h('h1', {}, page.title),
    h('p', { class: 'lede' }, page.lede),
    h(
      'div',
      { class: 'notice notice-info', role: 'status' },
      h('p', {}, h('strong', {}, 'Coming with the projects API.'), ' This page will show:'),
      h('ul', {}, page.will.map((w) => h('li', {}, w))),
    ),
    h('p', {}, h('a', { href: '/' }, 'Search funding instruments'), ' in the meantime.'),
  );
  pageReady(view, page.title);
  return null;
}
