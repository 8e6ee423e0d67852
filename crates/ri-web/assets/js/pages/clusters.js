// Clusters and their dashboards: the tenant's clusters with their counts, and one cluster's
// projects, practitioner feedback per project (a chart drawn as inline SVG, with a title, a
// description and a table of the same numbers), demo events and next steps.

import { gql } from '../api.js';
import { CLUSTERS, CLUSTER } from '../operations.js';
import { h, replace, notice } from '../dom.js';
import { pageReady } from '../nav.js';
import { managesProjects, signedIn, whoIsSignedIn, percent } from '../signin.js';
import { nextSteps } from '../follow-up.js';
import { formingSection } from '../cluster-forming.js';
import { clusterProjects, clusterPeople } from '../cluster-members.js';
import { demoEvents } from '../demo-events.js';
import { addSession, commentsPanel, milestoneList, sessionList } from '../cluster-notes.js';

const INTRO = 'Follow-up managers run their organisation’s project clusters here: demo events, practitioner feedback and next steps.';

function plural(n, one, many = `${one}s`) {
  return `${n} ${n === 1 ? one : many}`;
}

function clusterItem(c) {
  return h(
    'li',
    { class: 'curated' },
    h('a', { href: `/clusters/${encodeURIComponent(c.id)}` }, c.name),
    h(
      'span',
      { class: 'curated-meta' },
      [
        c.area?.name,
        plural(c.projectCount, 'project'),
        plural(c.upcomingEventCount, 'upcoming event'),
        plural(c.openStepCount, 'open step'),
        c.overdueStepCount ? `${c.overdueStepCount} overdue` : null,
        c.followUpManager ? `follow-up manager ${c.followUpManager}` : 'no follow-up manager',
      ]
        .filter(Boolean)
        .join(' · '),
    ),
  );
}

async function list(view, me) {
  const body = h('div', { 'aria-live': 'polite', 'aria-busy': 'true' }, h('p', { class: 'loading' }, 'Loading the clusters…'));
  replace(
    view,
    h('h1', {}, 'Clusters'),
    whoIsSignedIn(me),
    body,
    formingSection(me, managesProjects(me), { onChange: () => list(view, me) }),
  );
  pageReady(view, 'Clusters');
  try {
    const { clusters } = await gql(CLUSTERS);
    replace(
      body,
      h('p', { class: 'result-count' }, `${plural(clusters.length, 'cluster')}.`),
      clusters.length ? h('ul', { class: 'curated-list' }, clusters.map(clusterItem)) : h('p', {}, 'Your organisation has no clusters yet.'),
    );
  } catch (error) {
    replace(body, notice('error', `The clusters cannot be listed: ${error.message}`));
  } finally {
    body.removeAttribute('aria-busy');
  }
}

function fixed(value) {
  return value == null ? '–' : value.toFixed(1);
}

// One project's feedback as three bars: mean relevance and usability (of 5), and the share who
// would pilot it (of 100 %).
const CHART = { width: 360, row: 30, labelWidth: 110, barWidth: 170 };

export function feedbackChart(summary, idPrefix) {
  const bars = [
    ['Relevance', summary.meanRelevance ?? 0, 5, `${fixed(summary.meanRelevance)} of 5`],
    ['Usability', summary.meanUsability ?? 0, 5, `${fixed(summary.meanUsability)} of 5`],
    ['Would pilot', summary.wouldPilotShare ?? 0, 1, percent(summary.wouldPilotShare)],
  ];
  const height = bars.length * CHART.row + 4;
  const titleId = `${idPrefix}-chart-title`;
  const descId = `${idPrefix}-chart-desc`;
  return h(
    'svg:svg',
    {
      class: 'chart',
      viewBox: `0 0 ${CHART.width} ${height}`,
      role: 'img',
      'aria-labelledby': titleId,
      'aria-describedby': descId,
      focusable: 'false',
    },
    h('svg:title', { id: titleId }, `Feedback on ${summary.acronym}`),
    h(
      'svg:desc',
      { id: descId },
      `${plural(summary.count, 'response')}: ${bars.map(([name, , , text]) => `${name.toLowerCase()} ${text}`).join(', ')}.`,
    ),
    bars.map(([name, value, max, text], i) => {
      const y = i * CHART.row + 4;
      const w = Math.round((value / max) * CHART.barWidth);
      return h(
        'svg:g',
        { class: `bar bar-${i + 1}` },
        h('svg:text', { x: '0', y: String(y + 16), class: 'bar-label' }, name),
        h('svg:rect', { x: String(CHART.labelWidth), y: String(y + 3), width: String(CHART.barWidth), height: '18', class: 'bar-track' }),
        h('svg:rect', { x: String(CHART.labelWidth), y: String(y + 3), width: String(w), height: '18', class: 'bar-value' }),
        h('svg:text', { x: String(CHART.labelWidth + CHART.barWidth + 8), y: String(y + 16), class: 'bar-text' }, text),
      );
    }),
  );
}

function feedbackCard(summary, index) {
  const prefix = `fb${index + 1}`;
  const headingId = `${prefix}-heading`;
  return h(
    'section',
    { class: 'feedback-card', 'aria-labelledby': headingId, dataset: { project: summary.projectId } },
    h('h3', { id: headingId }, summary.acronym),
    summary.count === 0
      ? h('p', { class: 'hint' }, 'No feedback yet.')
      : [
          feedbackChart(summary, prefix),
          h(
            'table',
            { class: 'numbers' },
            h('caption', { class: 'visually-hidden' }, `Feedback on ${summary.acronym} in numbers`),
            h(
              'tbody',
              {},
              h('tr', {}, h('th', { scope: 'row' }, 'Responses'), h('td', { class: 'feedback-count' }, String(summary.count))),
              h('tr', {}, h('th', { scope: 'row' }, 'Mean relevance (1–5)'), h('td', { class: 'mean-relevance' }, fixed(summary.meanRelevance))),
              h('tr', {}, h('th', { scope: 'row' }, 'Mean usability (1–5)'), h('td', { class: 'mean-usability' }, fixed(summary.meanUsability))),
              h('tr', {}, h('th', { scope: 'row' }, 'Would pilot'), h('td', { class: 'would-pilot' }, percent(summary.wouldPilotShare))),
              summary.topFeatures.length
                ? h(
                    'tr',
                    {},
                    h('th', { scope: 'row' }, 'Features cited'),
                    h('td', {}, summary.topFeatures.map((f) => `${f.feature.code} ${f.feature.label} (${f.count})`).join(', ')),
                  )
                : null,
            ),
          ),
        ],
  );
}

function section(id, title, ...content) {
  return h('section', { class: 'dashboard-section', 'aria-labelledby': id }, h('h2', { id }, title), ...content);
}

async function dashboard(view, me, id) {
  replace(view, h('h1', {}, 'Cluster dashboard'), h('p', { class: 'loading' }, 'Loading the cluster…'));
  let cluster;
  try {
    ({ cluster } = await gql(CLUSTER, { id }));
  } catch (error) {
    replace(view, h('h1', {}, 'Cluster dashboard'), whoIsSignedIn(me), notice('error', `The cluster cannot be shown: ${error.message}`));
    pageReady(view, 'Cluster dashboard');
    return;
  }
  if (!cluster) {
    replace(
      view,
      h('h1', {}, 'No such cluster'),
      whoIsSignedIn(me),
      notice('error', 'There is no such cluster among your organisation’s.'),
      h('p', {}, h('a', { href: '/clusters' }, 'All clusters')),
    );
    pageReady(view, 'No such cluster');
    return;
  }
  const manages = managesProjects(me);
  const people = clusterPeople(cluster, manages);
  const sessions = sessionList(cluster);
  const steps = section('cluster-steps', 'Next steps', nextSteps(cluster, manages), h('h3', {}, 'Follow-up sessions'), sessions);
  steps.addEventListener('ri:session-recorded', (event) => addSession(sessions, event.detail));
  replace(
    view,
    h('p', { class: 'breadcrumb' }, h('a', { href: '/clusters' }, 'Clusters')),
    h('h1', {}, cluster.name),
    h(
      'p',
      { class: 'lede' },
      [cluster.area?.name, cluster.followUpManager ? `follow-up manager ${cluster.followUpManager}` : 'no follow-up manager yet']
        .filter(Boolean)
        .join(' · '),
    ),
    cluster.description ? h('p', {}, cluster.description) : null,
    whoIsSignedIn(me),
    section(
      'cluster-feedback',
      'Practitioner feedback',
      cluster.feedback.length
        ? h('div', { class: 'feedback-cards' }, cluster.feedback.map(feedbackCard))
        : h('p', { class: 'hint' }, 'No project in the cluster yet.'),
      cluster.feedback.some((f) => f.count > 0) ? commentsPanel(cluster) : null,
    ),
    section('cluster-events', 'Demo events', demoEvents(cluster, manages)),
    steps,
    section('cluster-milestones', 'Success milestones', milestoneList(cluster)),
    section('cluster-projects', `Projects (${cluster.projects.length})`, clusterProjects(cluster, manages)),
    people ? section('cluster-people', 'Follow-up manager and stakeholders', people) : null,
  );
  pageReady(view, cluster.name);
}

export async function render(view, params) {
  const me = await signedIn(view, params.id ? 'Cluster dashboard' : 'Clusters', INTRO);
  if (!me) return null;
  if (params.id) await dashboard(view, me, params.id);
  else await list(view, me);
  return null;
}
