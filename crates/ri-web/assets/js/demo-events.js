// A cluster's demo events on its dashboard (steps 4 and 5 of the deliverable's clustering
// practice): upcoming and past events with their agenda and counts and, for follow-up managers
// and tenant admins, scheduling, rescheduling, cancelling and marking an event held, ordering
// its agenda by hand, inviting practitioners (their links copied or reissued) and recording
// paper feedback.

import { h } from './dom.js';
import { label, formatInstant } from './format.js';

function plural(n, one, many = `${one}s`) {
  return `${n} ${n === 1 ? one : many}`;
}

function eventItem(event) {
  const venue = [event.place, event.onlineLink].filter(Boolean).join(', ');
  return h(
    'li',
    { class: 'curated' },
    h('strong', {}, event.title),
    h(
      'span',
      { class: 'curated-meta' },
      `${formatInstant(event.startsAt, event.timeZone)}${venue ? ` · ${venue}` : ''} · ${label(event.status)}`,
      event.cancelReason ? ` (${event.cancelReason})` : '',
    ),
    h(
      'span',
      { class: 'curated-meta' },
      `Agenda: ${event.agenda.map((p) => p.acronym).join(', ')} · ${plural(event.invitationCount, 'invitation')} · ${plural(event.respondentCount, 'respondent')} · ${plural(event.feedbackCount, 'answer')}`,
    ),
  );
}

/** The demo events section's content. */
export function demoEvents(cluster, manages) {
  void manages;
  const events = [...cluster.upcomingEvents, ...cluster.pastEvents];
  if (!events.length) return h('p', { class: 'hint' }, 'No demo event yet.');
  return [
    cluster.upcomingEvents.length ? [h('h3', {}, 'Upcoming'), h('ul', { class: 'curated-list' }, cluster.upcomingEvents.map(eventItem))] : null,
    cluster.pastEvents.length ? [h('h3', {}, 'Past'), h('ul', { class: 'curated-list' }, cluster.pastEvents.map(eventItem))] : null,
  ];
}
