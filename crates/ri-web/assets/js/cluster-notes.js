// What a cluster's dashboard keeps beside its numbers: the follow-up sessions with their
// attendees and notes, the success milestones of its projects, and the practitioners' comments
// (read when opened: they may be many).

import { gql } from './api.js';
import { h, replace, notice } from './dom.js';
import { formatDate, countryName } from './format.js';
import { sectorLabel } from './demo-form.js';

export const CLUSTER_COMMENTS = /* GraphQL */ `
query WebClusterComments($id: ID!) {
  cluster(id: $id) {
    id
    pastEvents {
      id
      title
      feedback { respondentId projectId acronym organisation country sector source comment submittedAt }
    }
  }
}`;

const CRITERIA = {
  RECOGNITION: 'Recognition',
  NEW_COLLABORATIONS_MARKETS: 'New collaborations and markets',
  OPERATIONAL_DEPLOYMENT: 'Operational deployment',
};

function plural(n, one, many = `${one}s`) {
  return `${n} ${n === 1 ? one : many}`;
}

function sessionItem(s) {
  return h(
    'li',
    { class: 'curated' },
    h('strong', {}, formatDate(s.date)),
    s.attendees?.length ? h('span', { class: 'curated-meta' }, `With ${s.attendees.join(', ')}`) : null,
    s.notes ? h('span', {}, s.notes) : null,
    h('span', { class: 'curated-meta' }, plural(s.nextSteps.length, 'next step')),
  );
}

/**
 * The follow-up sessions, latest first, with attendees, notes and how many steps they agreed.
 * A session recorded on the page (the `ri:session-recorded` event of js/follow-up.js, with
 * the session as its detail) is added in place by `addSession`.
 */
export function sessionList(cluster) {
  const list = h('ul', { class: 'curated-list session-list' }, cluster.sessions.map(sessionItem));
  const empty = h('p', { class: 'hint' }, 'No follow-up session recorded yet.');
  empty.hidden = cluster.sessions.length > 0;
  return h('div', { class: 'sessions' }, list, empty);
}

/** Adds a session just recorded to a `sessionList`. */
export function addSession(container, session) {
  container.querySelector('.session-list')?.prepend(sessionItem(session));
  const empty = container.querySelector('.hint');
  if (empty) empty.hidden = true;
}

/** The success milestones of the cluster's projects, by date. */
export function milestoneList(cluster) {
  if (!cluster.milestones?.length) return h('p', { class: 'hint' }, 'No milestone recorded for these projects yet.');
  return h(
    'ul',
    { class: 'curated-list' },
    cluster.milestones.map((m) =>
      h(
        'li',
        { class: 'curated' },
        h('strong', {}, `${m.acronym} · ${CRITERIA[m.criterion] ?? m.criterion}`),
        h('span', {}, m.description),
        h(
          'span',
          { class: 'curated-meta' },
          formatDate(m.date),
          m.evidenceLink ? [' · ', h('a', { href: m.evidenceLink, rel: 'noopener noreferrer' }, 'Evidence')] : null,
        ),
      ),
    ),
  );
}

/** The comments of `events`' feedback, grouped by project in agenda order: [{ acronym, comments }]. */
export function commentsByProject(events) {
  const groups = new Map();
  for (const event of events) {
    for (const entry of event.feedback) {
      const comment = entry.comment.trim();
      if (!comment) continue;
      if (!groups.has(entry.projectId)) groups.set(entry.projectId, { acronym: entry.acronym, comments: [] });
      groups.get(entry.projectId).comments.push({ ...entry, comment, event: event.title });
    }
  }
  return [...groups.values()];
}

/** The practitioners' comments, read when the reader opens them. */
export function commentsPanel(cluster) {
  const body = h('div', { 'aria-live': 'polite' });
  let loaded = false;
  const details = h(
    'details',
    {
      class: 'comments',
      ontoggle: async () => {
        if (!details.open || loaded) return;
        loaded = true;
        replace(body, h('p', { class: 'loading' }, 'Loading the comments…'));
        try {
          const { cluster: read } = await gql(CLUSTER_COMMENTS, { id: cluster.id });
          const groups = commentsByProject(read?.pastEvents ?? []);
          if (!groups.length) {
            replace(body, h('p', { class: 'hint' }, 'No practitioner has left a comment yet.'));
            return;
          }
          replace(
            body,
            groups.map((g) => [
              h('h3', {}, g.acronym),
              h(
                'ul',
                { class: 'curated-list' },
                g.comments.map((c) =>
                  h(
                    'li',
                    { class: 'curated' },
                    h('span', {}, `“${c.comment}”`),
                    h(
                      'span',
                      { class: 'curated-meta' },
                      `${c.organisation}, ${countryName(c.country)} · ${sectorLabel(c.sector)} · ${c.event}${c.source === 'PAPER' ? ' · on paper' : ''}`,
                    ),
                  ),
                ),
              ),
            ]),
          );
        } catch (error) {
          loaded = false;
          replace(body, notice('error', `The comments cannot be shown: ${error.message}`));
        }
      },
    },
    h('summary', {}, 'Practitioners’ comments'),
    body,
  );
  return details;
}
