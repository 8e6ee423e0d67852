// The inbox: the notices the signed-in user's watches (and, for follow-up managers, their
// projects' matches) have made, newest first, with the unread count kept current over the
// `notifications` subscription without a reload; marking read; and the user's watches with
// their calendar links.

import { gql, logPosition, ApiError } from '../api.js';
import {
  DELETE_WATCH,
  MARK_NOTIFICATIONS_READ,
  NOTIFICATIONS,
  NOTIFICATIONS_LIVE,
  ROTATE_WATCH_CALENDAR,
  UPDATE_WATCH,
  WATCHES,
} from '../operations.js';
import { fieldError, h, replace, notice } from '../dom.js';
import { announce, pageReady } from '../nav.js';
import { countryName, formatInstant, label } from '../format.js';
import { signedIn, whoIsSignedIn } from '../signin.js';
import { subscribe } from '../live.js';
import { calendarNotice, parseDays } from '../watch-save.js';

const TITLE = 'Inbox';
const INTRO = 'What your watches found and what changed in the instruments they follow.';
const PAGE = 20;

const KIND = {
  NEW_MATCH: 'New match',
  CHANGED: 'Changed',
  DEADLINE_REMINDER: 'Deadline soon',
  PROJECT_MATCH: 'Project match',
};

/** "3 unread" / "Nothing unread". */
export function unreadText(count) {
  return count > 0 ? `${count} unread` : 'Nothing unread';
}

/** A watch's filter in words: "features P3, D2 (any) · Lithuania · calls". */
export function filterText(filter) {
  const parts = [];
  if (filter.text) parts.push(`“${filter.text}”`);
  if (filter.features.length) {
    const codes = filter.features.map((f) => f.code).join(', ');
    parts.push(`features ${codes}${filter.features.length > 1 ? (filter.featureMatch === 'ALL' ? ' (all)' : ' (any)') : ''}`);
  }
  if (filter.coverLevels.length) parts.push(filter.coverLevels.map(label).join(', ').toLowerCase());
  if (filter.countries.length) parts.push(filter.countries.map(countryName).join(', '));
  if (filter.kinds.length) parts.push(filter.kinds.map(label).join(', ').toLowerCase());
  return parts.length ? parts.join(' · ') : 'every published instrument';
}

function noticeItem(n, markRead) {
  const unread = !n.readAt;
  const button = unread
    ? h('button', { type: 'button', class: 'secondary', onclick: () => markRead(n.id) }, 'Mark read', h('span', { class: 'visually-hidden' }, `: ${n.title}`))
    : null;
  return h(
    'li',
    { class: `notice-item${unread ? ' unread' : ''}`, dataset: { id: n.id, kind: n.kind } },
    h(
      'p',
      { class: 'notice-kind' },
      h('strong', {}, KIND[n.kind] ?? label(n.kind)),
      unread ? [' ', h('span', { class: 'badge' }, 'Unread')] : null,
      ' · ',
      h('time', { datetime: n.createdAt }, formatInstant(n.createdAt)),
    ),
    h('h3', {}, n.instrumentId ? h('a', { href: `/instruments/${encodeURIComponent(n.instrumentId)}` }, n.title) : n.title),
    h('p', {}, n.message),
    n.kind === 'CHANGED' && n.changes.length
      ? h(
          'ul',
          { class: 'changes', 'aria-label': 'What changed' },
          n.changes.map((c) => h('li', {}, `${label(c.field)}: ${c.old ?? '—'} → ${c.new ?? '—'}`)),
        )
      : null,
    n.matches.length
      ? h(
          'ul',
          { class: 'matches', 'aria-label': 'Projects that match' },
          n.matches.map((m) =>
            h(
              'li',
              {},
              h('a', { href: `/projects/${encodeURIComponent(m.projectId)}` }, m.acronym || m.projectId),
              ` scores ${m.score.toFixed(2)} (threshold ${m.threshold.toFixed(2)})`,
            ),
          ),
        )
      : null,
    causeLine(n),
    button,
  );
}

/** Why the notice fired, in one sentence, with a link to the instrument as the notice saw it. */
export function causeLine(n) {
  if (!n.cause) return null;
  const link = n.instrumentId
    ? h(
        'a',
        { href: `/instruments/${encodeURIComponent(n.instrumentId)}?asOf=${encodeURIComponent(n.cause.asOf)}` },
        'See it as it was then',
        h('span', { class: 'visually-hidden' }, `: ${n.title}`),
      )
    : null;
  return h('p', { class: 'notice-cause' }, h('strong', {}, 'Why: '), n.cause.summary, link ? [' ', link] : null);
}

export async function render(view) {
  const me = await signedIn(view, TITLE, INTRO);
  if (!me) return null;

  let unread = 0;
  let cursor = null;
  const seen = new Set();
  const count = h('p', { id: 'unread-count', class: 'result-count', 'aria-live': 'polite', 'aria-atomic': 'true' }, 'Loading…');
  const live = h('p', { class: 'live-state' });
  const problem = h('div', {});
  const list = h('ol', { class: 'notice-list', 'aria-labelledby': 'notices-title' });
  const more = h('div', {});
  const watches = h('div', { 'aria-busy': 'true' }, h('p', { class: 'loading' }, 'Loading your watches…'));
  const allRead = h('button', { type: 'button', class: 'secondary', onclick: () => markRead(null) }, 'Mark all read');

  const showCount = () => {
    count.textContent = unreadText(unread);
    allRead.disabled = unread === 0;
  };

  async function markRead(id) {
    replace(problem);
    try {
      await gql(MARK_NOTIFICATIONS_READ, id ? { ids: [id] } : { all: true });
      const items = id ? list.querySelectorAll(`li[data-id="${CSS.escape(id)}"]`) : list.querySelectorAll('li.unread');
      for (const item of items) {
        item.classList.remove('unread');
        item.querySelector('.badge')?.remove();
        item.querySelector('button')?.remove();
      }
      await refreshCount();
      announce(id ? 'Marked read.' : 'All marked read.');
    } catch (error) {
      replace(problem, notice('error', `Could not mark read: ${error.message}`));
    }
  }

  async function refreshCount() {
    const { notifications } = await gql(NOTIFICATIONS, { first: 0 });
    unread = notifications.unreadCount;
    showCount();
  }

  async function loadPage() {
    const { notifications } = await gql(NOTIFICATIONS, { first: PAGE, after: cursor });
    unread = notifications.unreadCount;
    showCount();
    for (const n of notifications.nodes) {
      if (seen.has(n.id)) continue;
      seen.add(n.id);
      list.append(noticeItem(n, markRead));
    }
    cursor = notifications.pageInfo.endCursor;
    replace(
      more,
      notifications.pageInfo.hasNextPage
        ? h('button', { type: 'button', class: 'secondary', onclick: () => loadPage().catch(fail) }, 'Show older notices')
        : null,
    );
    if (!list.children.length) replace(more, h('p', {}, 'No notices yet. Save a search as a watch to be told of new matches.'));
  }

  const fail = (error) => replace(problem, notice('error', `The inbox cannot be read: ${error.message}`));

  replace(
    view,
    h('h1', {}, TITLE),
    h('p', { class: 'lede' }, INTRO),
    whoIsSignedIn(me),
    h(
      'section',
      { 'aria-labelledby': 'notices-title' },
      h('h2', { id: 'notices-title' }, 'Notices'),
      count,
      live,
      allRead,
      problem,
      list,
      more,
    ),
    h('section', { 'aria-labelledby': 'watches-title' }, h('h2', { id: 'watches-title' }, 'Your watches'), watches),
  );
  pageReady(view, TITLE);

  try {
    await loadPage();
  } catch (error) {
    fail(error);
  }
  drawWatches(watches).catch((error) => replace(watches, notice('error', `Your watches cannot be read: ${error.message}`)));

  // New notices arrive over the subscription: shown at the top, counted at once. After a
  // reconnection the count is read again (nothing is replayed over the socket).
  let connectedBefore = false;
  const stop = subscribe(NOTIFICATIONS_LIVE, {
    onData: ({ notifications: n }) => {
      if (!n || seen.has(n.id)) return;
      seen.add(n.id);
      list.prepend(noticeItem(n, markRead));
      if (!n.readAt) unread += 1;
      showCount();
      replace(more);
      announce(`New notice: ${n.title}`);
    },
    onState: (state) => {
      live.textContent =
        state === 'live' ? 'New notices appear here as they are made.' : state === 'refused' ? 'Live updates stopped: sign in again.' : '';
      if (state === 'live') {
        if (connectedBefore) refreshCount().catch(() => {});
        connectedBefore = true;
      }
    },
  });
  return { destroy: stop };
}

async function drawWatches(box) {
  // After a watch saved or deleted in this tab, the list waits until it shows that change.
  const { watches } = await gql(WATCHES, { consistentWith: logPosition() });
  box.removeAttribute('aria-busy');
  if (!watches.length) {
    replace(box, h('p', {}, 'No watches yet. On the ', h('a', { href: '/' }, 'search page'), ', choose what you look for and save it as a watch.'));
    return;
  }
  const status = h('div', { role: 'status' });
  replace(
    box,
    status,
    h(
      'ul',
      { class: 'watch-list' },
      watches.map((w) => {
        const title = h('h3', {}, w.name);
        const reminders = h('p', {}, remindersText(w.reminderDays));
        const editor = h('div', {});
        const edit = actionButton('Edit', ` ${w.name}`, () => {
          const open = edit.getAttribute('aria-expanded') === 'true';
          edit.setAttribute('aria-expanded', String(!open));
          if (open) replace(editor);
          else
            replace(
              editor,
              editForm(w, (saved) => {
                title.textContent = saved.name;
                reminders.textContent = remindersText(saved.reminderDays);
                replace(status, notice('success', `Saved the watch “${saved.name}”.`));
              }),
            );
        });
        edit.setAttribute('aria-expanded', 'false');
        const item = h(
          'li',
          { dataset: { id: w.id } },
          title,
          h('p', {}, filterText(w.filter)),
          reminders,
          edit,
          ' ',
          actionButton('New calendar link', ` for ${w.name}`, async () => {
            try {
              const { rotateWatchCalendarToken: r } = await gql(ROTATE_WATCH_CALENDAR, { id: w.id });
              w.version = r.version;
              replace(status, calendarNotice(w.name, r.calendarPath));
            } catch (error) {
              replace(status, notice('error', `No new calendar link: ${error.message}`));
            }
          }),
          ' ',
          actionButton('Delete', ` ${w.name}`, async () => {
            try {
              await gql(DELETE_WATCH, { id: w.id, expectedVersion: w.version });
              item.remove();
              replace(status, notice('success', `Deleted the watch “${w.name}”.`));
            } catch (error) {
              replace(status, notice('error', `Not deleted: ${conflictText(error)}`));
            }
          }),
          editor,
        );
        return item;
      }),
    ),
  );
}

/** A secondary button whose name, for screen readers, says what it acts on (`hidden`). */
function actionButton(text, hidden, onclick) {
  return h('button', { type: 'button', class: 'secondary', onclick }, text, h('span', { class: 'visually-hidden' }, hidden));
}

/** "Reminders 14 days and 2 days before a deadline." */
export function remindersText(days) {
  if (!days.length) return 'No deadline reminders.';
  return `Reminders ${days.map((d) => `${d} day${d === 1 ? '' : 's'}`).join(' and ')} before a deadline.`;
}

function conflictText(error) {
  return error instanceof ApiError && error.has('CONFLICT') ? 'it changed meanwhile; reload the page' : error.message;
}

/** The form that renames a watch and changes its reminder days; `saved` gets the new values. */
function editForm(w, saved) {
  const nameId = `watch-name-${w.id}`;
  const daysId = `watch-days-${w.id}`;
  const name = h('input', { id: nameId, name: 'name', value: w.name, required: true, maxlength: '120', 'aria-describedby': `${nameId}-error` });
  const nameError = h('p', { id: `${nameId}-error`, class: 'field-error', hidden: true });
  const days = h('input', { id: daysId, name: 'reminderDays', value: w.reminderDays.join(', '), inputmode: 'numeric', 'aria-describedby': `${daysId}-error` });
  const daysError = h('p', { id: `${daysId}-error`, class: 'field-error', hidden: true });
  const problem = h('div', {});
  return h(
    'form',
    {
      class: 'watch-edit',
      novalidate: true,
      onsubmit: async (event) => {
        event.preventDefault();
        fieldError(name, nameError, '');
        fieldError(days, daysError, '');
        replace(problem);
        const reminderDays = parseDays(days.value);
        if (!name.value.trim()) return fieldError(name, nameError, 'Give the watch a name.');
        if (reminderDays === null) return fieldError(days, daysError, 'Write whole numbers of days, such as 7, 1.');
        try {
          const { updateWatch } = await gql(UPDATE_WATCH, {
            id: w.id,
            expectedVersion: w.version,
            input: { name: name.value.trim(), reminderDays },
          });
          w.version = updateWatch.version;
          w.name = name.value.trim();
          w.reminderDays = reminderDays;
          saved(w);
        } catch (error) {
          let shown = false;
          for (const e of error.errors ?? []) {
            if (e.field === 'name') fieldError(name, nameError, e.message);
            else if (e.field === 'reminderDays') fieldError(days, daysError, e.message);
            else continue;
            shown = true;
          }
          if (!shown) replace(problem, notice('error', `Not saved: ${conflictText(error)}`));
        }
      },
    },
    h('label', { for: nameId }, 'Name'),
    name,
    nameError,
    h('label', { for: daysId }, 'Remind me before a deadline (days)'),
    days,
    daysError,
    problem,
    h('button', { type: 'submit' }, 'Save changes'),
  );
}
