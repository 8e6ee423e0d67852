// A cluster's demo events on its dashboard (steps 4 and 5 of the deliverable's clustering
// practice): upcoming and past events with their agenda and counts and, for follow-up managers
// and tenant admins, scheduling, rescheduling, cancelling and marking an event held, ordering
// its agenda by hand, inviting practitioners (their links copied or reissued) and recording
// paper feedback (js/demo-invitations.js). Only what the API allows for an event's status is
// offered. Changes show in place from each mutation's result: the dashboard's read model may
// trail the log by a moment.

import { gql } from './api.js';
import { h, replace, notice } from './dom.js';
import { announce, navigate } from './nav.js';
import { label, formatInstant, isTimeZone, localZone } from './format.js';
import { zonedToInstant, instantToZoned } from './zoned.js';
import { clusterVersion, formKit, problems } from './demo-form.js';
import { invitationsSection, paperSection, DEMO_PROJECT_FEATURES } from './demo-invitations.js';
import { onProjectsChanged } from './follow-up.js';

// Scheduling adds an event and undoes nothing, so it passes no expectedVersion; the changes of
// a scheduled event pass the version the page knows, and a CONFLICT says to reload.
export const SCHEDULE_DEMO_EVENT = /* GraphQL */ `
mutation WebScheduleDemoEvent($clusterId: ID!, $input: ScheduleDemoEventInput!) {
  scheduleDemoEvent(clusterId: $clusterId, input: $input) { id version entityId }
}`;

export const RESCHEDULE_DEMO_EVENT = /* GraphQL */ `
mutation WebRescheduleDemoEvent(
  $clusterId: ID!
  $eventId: ID!
  $expectedVersion: Int
  $startsAt: DateTime!
  $timeZone: String!
  $place: String
  $onlineLink: String
) {
  rescheduleDemoEvent(
    clusterId: $clusterId
    eventId: $eventId
    expectedVersion: $expectedVersion
    startsAt: $startsAt
    timeZone: $timeZone
    place: $place
    onlineLink: $onlineLink
  ) { id version entityId }
}`;

export const REVISE_DEMO_AGENDA = /* GraphQL */ `
mutation WebReviseDemoAgenda($clusterId: ID!, $eventId: ID!, $expectedVersion: Int, $agenda: [ID!]!) {
  reviseDemoAgenda(clusterId: $clusterId, eventId: $eventId, expectedVersion: $expectedVersion, agenda: $agenda) { id version entityId }
}`;

export const CANCEL_DEMO_EVENT = /* GraphQL */ `
mutation WebCancelDemoEvent($clusterId: ID!, $eventId: ID!, $expectedVersion: Int, $reason: String!) {
  cancelDemoEvent(clusterId: $clusterId, eventId: $eventId, expectedVersion: $expectedVersion, reason: $reason) { id version entityId }
}`;

export const MARK_DEMO_EVENT_HELD = /* GraphQL */ `
mutation WebMarkDemoEventHeld($clusterId: ID!, $eventId: ID!, $expectedVersion: Int) {
  markDemoEventHeld(clusterId: $clusterId, eventId: $eventId, expectedVersion: $expectedVersion) { id version entityId }
}`;

const DAY = 24 * 60 * 60 * 1000;
export const DEFAULT_WINDOW_DAYS = 14;

/** `list` with the item at `index` moved by `delta` places (−1 up, +1 down); unchanged when it cannot move. */
export function moveItem(list, index, delta) {
  const to = index + delta;
  const out = list.slice();
  if (index < 0 || index >= list.length || to < 0 || to >= list.length) return out;
  const [item] = out.splice(index, 1);
  out.splice(to, 0, item);
  return out;
}

/** The order an agenda editor starts in: the agenda's projects in its order, then the cluster's others in theirs. */
export function initialOrder(projectIds, agendaIds) {
  const on = agendaIds.filter((id) => projectIds.includes(id));
  return [...on, ...projectIds.filter((id) => !on.includes(id))];
}

/** The agenda: the chosen projects in the order shown. */
export function agendaOf(order, chosen) {
  return order.filter((id) => chosen.has(id));
}

/**
 * The instant at which the clocks of `zone` show `date` ("2031-05-03") and `time` ("10:00",
 * or with seconds): `{ startsAt }` (RFC 3339, UTC), or `{ error }` naming the field.
 */
export function startsAtFrom(date, time, zone) {
  if (!zone) return { error: { field: 'timeZone', message: 'give the time zone, e.g. Europe/Vilnius' } };
  if (!isTimeZone(zone)) return { error: { field: 'timeZone', message: `“${zone}” is not a time zone this browser knows; give one such as Europe/Vilnius` } };
  const startsAt = date && time ? zonedToInstant(`${date}T${time}`, zone) : null;
  return startsAt ? { startsAt } : { error: { field: 'startsAt', message: 'give the date and the time' } };
}

/** When feedback closes: `days` after the start. */
export function closesAt(startsAt, days) {
  return new Date(Date.parse(startsAt) + days * DAY).toISOString().replace('.000Z', 'Z');
}

/**
 * The time and venue as typed (`date`, `time`, `timeZone`, `place`, `onlineLink`):
 * `{ value: { startsAt, timeZone, place, onlineLink } }` or `{ errors }`.
 */
export function readWhenAndWhere(v) {
  const errors = [];
  const timeZone = (v.timeZone ?? '').trim();
  const when = startsAtFrom(v.date, v.time, timeZone);
  if (when.error) errors.push(when.error);
  const place = (v.place ?? '').trim() || null;
  const onlineLink = (v.onlineLink ?? '').trim() || null;
  if (!place && !onlineLink) errors.push({ field: 'venue', message: 'give a place, an online link or both' });
  return errors.length ? { errors } : { value: { startsAt: when.startsAt, timeZone, place, onlineLink } };
}

/** The schedule form as typed (the above, `title`, `windowDays`, `agenda`): `{ input }` for the API, or `{ errors }`. */
export function readEventForm(v) {
  const errors = [];
  const title = (v.title ?? '').trim();
  if (!title) errors.push({ field: 'title', message: 'give the event a title' });
  const where = readWhenAndWhere(v);
  errors.push(...(where.errors ?? []));
  const days = String(v.windowDays ?? '').trim();
  let feedbackWindowDays = DEFAULT_WINDOW_DAYS;
  if (days) {
    feedbackWindowDays = /^\d+$/.test(days) ? Number(days) : NaN;
    if (!(feedbackWindowDays >= 1 && feedbackWindowDays <= 90)) {
      errors.push({ field: 'feedbackWindowDays', message: 'give a whole number of days from 1 to 90' });
    }
  }
  if (!v.agenda?.length) errors.push({ field: 'agenda', message: 'choose at least one project for the agenda' });
  if (errors.length) return { errors };
  return { input: { title, ...where.value, agenda: [...v.agenda], feedbackWindowDays } };
}

/** What may be done with `event` at `now`, as the API allows. */
export function allowedActions(event, now = Date.now()) {
  const scheduled = event.status === 'SCHEDULED';
  const live = event.status !== 'CANCELLED';
  const started = now >= Date.parse(event.startsAt);
  const open = now < Date.parse(event.feedbackClosesAt);
  const plan = scheduled && event.feedbackCount === 0;
  return {
    reschedule: plan,
    reviseAgenda: plan,
    cancel: plan,
    markHeld: scheduled && started,
    invite: live && open,
    paper: live && started,
  };
}

function plural(n, one, many = `${one}s`) {
  return `${n} ${n === 1 ? one : many}`;
}

function eventMeta(event) {
  const venue = [event.place, event.onlineLink].filter(Boolean).join(', ');
  return [
    h(
      'span',
      { class: 'curated-meta' },
      `${formatInstant(event.startsAt, event.timeZone)}${venue ? ` · ${venue}` : ''} · `,
      h('span', { class: 'event-status' }, label(event.status)),
      event.cancelReason ? ` (${event.cancelReason})` : '',
    ),
    h('span', { class: 'curated-meta event-agenda' }, `Agenda: ${event.agenda.map((p) => p.acronym).join(', ')}`),
    h(
      'span',
      { class: 'curated-meta' },
      `${plural(event.invitationCount, 'invitation')} · ${plural(event.respondentCount, 'respondent')} · ${plural(event.feedbackCount, 'answer')}`,
    ),
  ];
}

/** A read-only event (for readers who may not change the cluster). */
function eventItem(event) {
  return h('li', { class: 'curated demo-event' }, h('strong', {}, event.title), eventMeta(event));
}

/**
 * The cluster's projects to tick for an agenda and put in order with Up and Down buttons (the
 * focus stays on the button pressed, and the new place is announced). `value()` is the agenda.
 */
function agendaEditor(kit, prefix, projects, chosenIds, legend) {
  const byId = new Map(projects.map((p) => [p.id, p]));
  let order = initialOrder(projects.map((p) => p.id), chosenIds);
  const rows = new Map();
  const list = h('ol', { class: 'agenda-order' });
  const draw = () => {
    list.append(...order.map((id) => rows.get(id).li));
    order.forEach((id, i) => {
      rows.get(id).up.disabled = i === 0;
      rows.get(id).down.disabled = i === order.length - 1;
    });
  };
  const move = (id, delta) => {
    const row = rows.get(id);
    const pressed = delta < 0 ? row.up : row.down;
    order = moveItem(order, order.indexOf(id), delta);
    draw();
    (pressed.disabled ? (delta < 0 ? row.down : row.up) : pressed).focus();
    announce(`${byId.get(id).acronym} is now ${order.indexOf(id) + 1} of ${order.length}.`);
  };
  for (const id of order) {
    const p = byId.get(id);
    const box = h('input', { type: 'checkbox', id: `${prefix}-agenda-${id}`, value: id, checked: chosenIds.includes(id) });
    const up = h('button', { type: 'button', class: 'secondary', 'aria-label': `Move ${p.acronym} up`, onclick: () => move(id, -1) }, 'Up');
    const down = h('button', { type: 'button', class: 'secondary', 'aria-label': `Move ${p.acronym} down`, onclick: () => move(id, 1) }, 'Down');
    const li = h(
      'li',
      { dataset: { project: id } },
      h(
        'div',
        { class: 'agenda-row' },
        h('span', { class: 'option' }, box, h('label', { for: box.id }, p.title && p.title !== p.acronym ? `${p.acronym}: ${p.title}` : p.acronym)),
        h('span', { class: 'agenda-moves' }, up, down),
      ),
    );
    rows.set(id, { li, box, up, down });
  }
  draw();
  const error = kit.register('agenda', [rows.get(order[0])?.box].filter(Boolean), kit.errorLine('agenda'));
  const element = h(
    'fieldset',
    { class: 'field group agenda-editor' },
    h('legend', {}, legend),
    h('p', { class: 'hint' }, 'Tick the projects that demonstrate. They demonstrate in the order of this list: move a project with its Up and Down buttons.'),
    error,
    list,
  );
  return {
    element,
    value: () => agendaOf(order, new Set(order.filter((id) => rows.get(id).box.checked))),
  };
}

/** Date, time and zone, and place and link, in `kit` (filled from `event` when given). */
function whenAndWhereFields(kit, prefix, zonesId, event = null) {
  // A zone this browser does not know is shown, and given again, as UTC.
  const zone = event && isTimeZone(event.timeZone) ? event.timeZone : 'UTC';
  const [date, time] = event ? instantToZoned(event.startsAt, zone).split('T') : ['', ''];
  const c = {
    date: h('input', { type: 'date', id: `${prefix}-date`, value: date }),
    time: h('input', { type: 'time', id: `${prefix}-time`, value: time }),
    timeZone: h('input', { type: 'text', list: zonesId, autocomplete: 'off', spellcheck: 'false', value: event ? zone : localZone() }),
    place: h('input', { type: 'text', maxlength: '500', value: event?.place ?? '' }),
    onlineLink: h('input', { type: 'url', value: event?.onlineLink ?? '' }),
  };
  const whenError = kit.register('startsAt', [c.date, c.time], kit.errorLine('startsAt'));
  const venueError = kit.register('venue', [c.place, c.onlineLink], kit.errorLine('venue'));
  const elements = [
    h(
      'fieldset',
      { class: 'field group' },
      h('legend', {}, 'When'),
      whenError,
      h(
        'div',
        { class: 'field-row' },
        h('div', { class: 'field' }, h('label', { for: c.date.id }, 'Date'), c.date),
        h('div', { class: 'field' }, h('label', { for: c.time.id }, 'Time'), c.time),
        kit.field('timeZone', 'Time zone', c.timeZone, 'The time is on the clocks of this zone, e.g. Europe/Vilnius.'),
      ),
    ),
    h(
      'fieldset',
      { class: 'field group' },
      h('legend', {}, 'Where: a place, an online link or both'),
      venueError,
      kit.field('place', 'Place', c.place),
      kit.field('onlineLink', 'Online link', c.onlineLink, 'An address starting with https://'),
    ),
  ];
  const read = () =>
    readWhenAndWhere({
      date: c.date.value,
      time: c.time.value,
      timeZone: c.timeZone.value,
      place: c.place.value,
      onlineLink: c.onlineLink.value,
    });
  return { c, elements, read };
}

/** One event for those who manage the cluster: its details, and what may be done with it now. */
function managedEvent(ctx, event) {
  const prefix = `ev-${event.id}`;
  const headingId = `${prefix}-title`;
  const li = h('li', { class: 'curated demo-event', dataset: { event: event.id } });
  const meta = h('div', { class: 'event-meta' });
  const status = h('div', { class: 'form-status' });
  const allowed = () => allowedActions(event);
  const drawMeta = () => replace(meta, h('h4', { id: headingId }, event.title), eventMeta(event));
  let refresh = () => {};
  const changed = () => {
    drawMeta();
    refresh();
  };
  const failed = (what, error) => {
    const all = problems(error);
    if (all.some((p) => p.code === 'CONFLICT' && !p.field)) {
      replace(
        status,
        notice(
          'error',
          h('p', {}, `${what}: someone else changed this cluster since you opened the page. Reload to see the current version, then try again.`),
          h('button', { type: 'button', onclick: () => navigate(window.location.pathname, { replace: true }) }, 'Reload the dashboard'),
        ),
      );
    } else {
      replace(status, notice('error', `${what}: ${all.map((p) => p.message).join('; ')}`));
    }
  };

  // Marking held, once the event has started.
  const held = h(
    'button',
    {
      type: 'button',
      class: 'secondary',
      onclick: async () => {
        held.disabled = true;
        try {
          const { markDemoEventHeld: done } = await gql(MARK_DEMO_EVENT_HELD, { clusterId: ctx.cluster.id, eventId: event.id, expectedVersion: ctx.version.version });
          ctx.version.advance(done);
          event.status = 'HELD';
          replace(status, notice('success', `Marked “${event.title}” as held.`));
          changed();
        } catch (error) {
          failed('Not marked as held', error);
        } finally {
          held.disabled = false;
        }
      },
    },
    'Mark as held',
    h('span', { class: 'visually-hidden' }, `: ${event.title}`),
  );

  // Rescheduling.
  const reKit = formKit(`${prefix}-re`);
  const re = whenAndWhereFields(reKit, `${prefix}-re`, ctx.zonesId, event);
  const reschedule = h(
    'details',
    { class: 'event-action' },
    h('summary', {}, 'Reschedule'),
    h(
      'form',
      {
        novalidate: true,
        onsubmit: async (e) => {
          e.preventDefault();
          reKit.clear();
          const read = re.read();
          if (read.errors) return reKit.show(read.errors, 'The event was not rescheduled');
          try {
            const { rescheduleDemoEvent: done } = await gql(RESCHEDULE_DEMO_EVENT, {
              clusterId: ctx.cluster.id,
              eventId: event.id,
              expectedVersion: ctx.version.version,
              ...read.value,
            });
            ctx.version.advance(done);
            Object.assign(event, read.value, { feedbackClosesAt: closesAt(read.value.startsAt, event.feedbackWindowDays) });
            reKit.done(`Rescheduled to ${formatInstant(event.startsAt, event.timeZone)}.`);
            changed();
          } catch (error) {
            reKit.show(problems(error), 'The event was not rescheduled');
          }
        },
      },
      re.elements,
      h('button', { type: 'submit' }, 'Reschedule'),
      reKit.status,
    ),
  );

  // The agenda's order.
  const agKit = formKit(`${prefix}-ag`);
  const editor = agendaEditor(agKit, `${prefix}-ag`, ctx.cluster.projects, event.agenda.map((p) => p.id), 'Agenda, in order');
  const agenda = h(
    'details',
    { class: 'event-action' },
    h('summary', {}, 'Change the agenda'),
    h(
      'form',
      {
        novalidate: true,
        onsubmit: async (e) => {
          e.preventDefault();
          agKit.clear();
          const ids = editor.value();
          if (!ids.length) return agKit.show([{ field: 'agenda', message: 'choose at least one project for the agenda' }], 'The agenda was not changed');
          try {
            const { reviseDemoAgenda: done } = await gql(REVISE_DEMO_AGENDA, {
              clusterId: ctx.cluster.id,
              eventId: event.id,
              expectedVersion: ctx.version.version,
              agenda: ids,
            });
            ctx.version.advance(done);
            const before = new Map(event.agenda.map((p) => [p.id, p]));
            event.agenda = ids.map((id) => before.get(id) ?? ctx.cluster.projects.find((p) => p.id === id));
            agKit.done(`The agenda is now: ${event.agenda.map((p) => p.acronym).join(', ')}.`);
            changed();
          } catch (error) {
            agKit.show(problems(error), 'The agenda was not changed');
          }
        },
      },
      editor.element,
      h('button', { type: 'submit' }, 'Save the agenda'),
      agKit.status,
    ),
  );

  // Cancelling, with a reason.
  const cancelKit = formKit(`${prefix}-cancel`);
  const reason = h('input', { type: 'text', maxlength: '500' });
  const cancel = h(
    'details',
    { class: 'event-action' },
    h('summary', {}, 'Cancel the event'),
    h(
      'form',
      {
        novalidate: true,
        onsubmit: async (e) => {
          e.preventDefault();
          cancelKit.clear();
          const why = reason.value.trim();
          if (!why) return cancelKit.show([{ field: 'reason', message: 'give the reason, for the invited practitioners and the history' }], 'The event was not cancelled');
          try {
            const { cancelDemoEvent: done } = await gql(CANCEL_DEMO_EVENT, {
              clusterId: ctx.cluster.id,
              eventId: event.id,
              expectedVersion: ctx.version.version,
              reason: why,
            });
            ctx.version.advance(done);
            Object.assign(event, { status: 'CANCELLED', cancelReason: why });
            replace(status, notice('success', `Cancelled “${event.title}”.`));
            changed();
          } catch (error) {
            cancelKit.show(problems(error), 'The event was not cancelled');
          }
        },
      },
      cancelKit.field('reason', 'Why is it cancelled?', reason),
      h('button', { type: 'submit', class: 'danger' }, 'Cancel the event'),
      cancelKit.status,
    ),
  );

  const invitations = invitationsSection(ctx, event, allowed, changed);
  const paper = paperSection(ctx, event, allowed, (newPair, newSheet) => {
    if (newPair) event.feedbackCount += 1;
    if (newSheet) event.respondentCount += 1;
    changed();
  });

  refresh = () => {
    const may = allowed();
    held.hidden = !may.markHeld;
    reschedule.hidden = !may.reschedule;
    agenda.hidden = !may.reviseAgenda;
    cancel.hidden = !may.cancel;
    invitations.refresh();
    paper.refresh();
  };
  // What the start and the end of the feedback window allow appears then (within a day), also
  // after a reschedule.
  let timers = [];
  const arm = () => {
    for (const t of timers) clearTimeout(t);
    timers = [event.startsAt, event.feedbackClosesAt]
      .map((at) => Date.parse(at) - Date.now())
      .filter((wait) => wait > 0 && wait < DAY)
      .map((wait) => setTimeout(() => li.isConnected && refresh(), wait + 500));
  };
  const draw = refresh;
  refresh = () => {
    draw();
    arm();
  };
  drawMeta();
  refresh();
  li.append(meta, h('div', { class: 'event-actions' }, held, reschedule, agenda, cancel), status, invitations.element, paper.element);
  return li;
}

/** The form that schedules an event; `scheduled(event)` shows it. */
function scheduleForm(ctx, scheduled) {
  const kit = formKit('demo-new');
  const title = h('input', { type: 'text', maxlength: '200' });
  const where = whenAndWhereFields(kit, 'demo-new', ctx.zonesId);
  const windowDays = h('input', { type: 'number', min: '1', max: '90', step: '1', inputmode: 'numeric', value: String(DEFAULT_WINDOW_DAYS), class: 'short' });
  let editor = agendaEditor(kit, 'demo-new', ctx.cluster.projects, [], 'Agenda');
  const editorSlot = h('div', {}, editor.element);
  const form = h(
    'form',
    {
      class: 'schedule-form',
      novalidate: true,
      onsubmit: async (e) => {
        e.preventDefault();
        kit.clear();
        const read = readEventForm({
          title: title.value,
          ...Object.fromEntries(Object.entries(where.c).map(([k, c]) => [k, c.value])),
          windowDays: windowDays.value,
          agenda: editor.value(),
        });
        if (read.errors) return kit.show(read.errors, 'The event was not scheduled');
        try {
          const { scheduleDemoEvent: done } = await gql(SCHEDULE_DEMO_EVENT, { clusterId: ctx.cluster.id, input: read.input });
          ctx.version.advance(done);
          const { input } = read;
          const event = {
            id: done.entityId,
            title: input.title,
            startsAt: input.startsAt,
            timeZone: input.timeZone,
            place: input.place,
            onlineLink: input.onlineLink,
            status: 'SCHEDULED',
            cancelReason: null,
            feedbackWindowDays: input.feedbackWindowDays,
            feedbackClosesAt: closesAt(input.startsAt, input.feedbackWindowDays),
            agenda: input.agenda.map((id) => ctx.cluster.projects.find((p) => p.id === id)).map((p) => ({ id: p.id, acronym: p.acronym, title: p.title })),
            invitationCount: 0,
            respondentCount: 0,
            feedbackCount: 0,
          };
          scheduled(event);
          kit.done(`Scheduled “${event.title}” on ${formatInstant(event.startsAt, event.timeZone)}. Invite practitioners from the event, under Upcoming.`);
          announce(`Scheduled ${event.title}.`);
          title.value = '';
          where.c.date.value = '';
          where.c.time.value = '';
          editor = agendaEditor(kit, 'demo-new', ctx.cluster.projects, [], 'Agenda');
          replace(editorSlot, editor.element);
        } catch (error) {
          kit.show(problems(error), 'The event was not scheduled');
        }
      },
    },
    h('h3', {}, 'Schedule a demo event'),
    kit.field('title', 'Title', title),
    where.elements,
    kit.field('feedbackWindowDays', 'Days for feedback', windowDays, 'From the start, how long practitioners may give or change their feedback (1 to 90).'),
    editorSlot,
    h('button', { type: 'submit' }, 'Schedule the event'),
    kit.status,
  );
  return form;
}

function zoneList(id) {
  let zones = [];
  try {
    zones = Intl.supportedValuesOf('timeZone');
  } catch {
    zones = [localZone()];
  }
  return h('datalist', { id }, zones.map((z) => h('option', { value: z })));
}

/** The demo events section's content. */
export function demoEvents(cluster, manages) {
  const events = [...cluster.upcomingEvents, ...cluster.pastEvents];
  if (!manages) {
    if (!events.length) return h('p', { class: 'hint' }, 'No demo event yet.');
    return [
      cluster.upcomingEvents.length ? [h('h3', {}, 'Upcoming'), h('ul', { class: 'curated-list' }, cluster.upcomingEvents.map(eventItem))] : null,
      cluster.pastEvents.length ? [h('h3', {}, 'Past'), h('ul', { class: 'curated-list' }, cluster.pastEvents.map(eventItem))] : null,
    ];
  }

  let features = null;
  const ctx = {
    cluster,
    version: clusterVersion(cluster),
    zonesId: 'demo-zones',
    projectFeatures: () => {
      features ??= gql(DEMO_PROJECT_FEATURES, { id: cluster.id }).then(({ cluster: c }) => new Map((c?.projects ?? []).map((p) => [p.id, p.features])));
      return features;
    },
  };
  const none = h('p', { class: 'hint' }, 'No demo event yet.');
  const upcoming = h('ul', { class: 'curated-list event-list', id: 'upcoming-events' }, cluster.upcomingEvents.map((e) => managedEvent(ctx, e)));
  const past = h('ul', { class: 'curated-list event-list', id: 'past-events' }, cluster.pastEvents.map((e) => managedEvent(ctx, e)));
  const upcomingHead = h('h3', {}, 'Upcoming');
  const pastHead = h('h3', {}, 'Past');
  const draw = () => {
    none.hidden = upcoming.children.length + past.children.length > 0;
    upcomingHead.hidden = upcoming.hidden = upcoming.children.length === 0;
    pastHead.hidden = past.hidden = past.children.length === 0;
  };
  draw();
  const scheduled = (event) => {
    const item = managedEvent(ctx, event);
    const later = [...upcoming.children].find((li) => {
      const other = cluster.upcomingEvents.find((e) => e.id === li.dataset.event);
      return other && Date.parse(other.startsAt) > Date.parse(event.startsAt);
    });
    cluster.upcomingEvents.push(event);
    upcoming.insertBefore(item, later ?? null);
    draw();
  };
  // The form offers the cluster's projects as they are now: drawn again when they change.
  const formBox = h('div', {});
  const drawForm = () =>
    replace(
      formBox,
      cluster.projects.length ? scheduleForm(ctx, scheduled) : h('p', { class: 'hint' }, 'Assign projects to the cluster to schedule a demo event of them.'),
    );
  drawForm();
  onProjectsChanged(formBox, drawForm);
  return h(
    'div',
    { class: 'demo-events' },
    zoneList(ctx.zonesId),
    none,
    upcomingHead,
    upcoming,
    pastHead,
    past,
    formBox,
  );
}
