// "Save this search as a watch" on the search page: for a signed-in user, a small form (name,
// reminder days) that saves the search's filter as a watch; its notices go to the inbox and its
// calendar link is shown once. Anonymous readers get a way to sign in.

import { gql, hasSession } from './api.js';
import { CREATE_WATCH } from './operations.js';
import { fieldError, h, replace, notice } from './dom.js';
import { countryName } from './format.js';

/** A watch's filter from the search's state (a watch follows published instruments: no status). */
export function watchFilter(state) {
  return {
    text: state.text.trim() || null,
    features: state.features,
    featureMatch: state.match,
    coverLevels: state.origins,
    countries: state.country ? [state.country] : [],
    kinds: state.kinds,
  };
}

/** A name for the watch from what the search asks for. */
export function suggestedName(state) {
  const parts = [];
  if (state.text.trim()) parts.push(state.text.trim());
  if (state.features.length) parts.push(state.features.join(', '));
  if (state.country) parts.push(countryName(state.country));
  return (parts.join(' · ') || 'All instruments').slice(0, 120);
}

/** "7, 1" → [7, 1]; null when it is not a list of whole numbers. */
export function parseDays(raw) {
  const items = raw.split(/[\s,]+/).filter(Boolean);
  if (!items.length) return [];
  const days = items.map(Number);
  return days.every((d) => Number.isInteger(d)) ? days : null;
}

/** The box, drawn for the search `current()` answers when it is opened. */
export function saveWatchBox(current) {
  if (!hasSession()) {
    return h('p', { class: 'save-watch' }, h('a', { href: '/inbox' }, 'Sign in'), ' to save this search as a watch and be told of new matches.');
  }
  const status = h('div', {});
  const name = h('input', { id: 'watch-name', name: 'name', required: true, maxlength: '120', 'aria-describedby': 'watch-name-error' });
  const nameError = h('p', { id: 'watch-name-error', class: 'field-error', hidden: true });
  const days = h('input', { id: 'watch-days', name: 'reminderDays', value: '7, 1', inputmode: 'numeric', 'aria-describedby': 'watch-days-hint watch-days-error' });
  const daysError = h('p', { id: 'watch-days-error', class: 'field-error', hidden: true });
  // The name follows the search until the user types one of their own.
  let named = false;
  name.value = suggestedName(current());
  name.addEventListener('input', () => {
    named = true;
  });
  const details = h(
    'details',
    {
      class: 'save-watch',
      ontoggle: () => {
        if (details.open && !named) name.value = suggestedName(current());
      },
    },
    h('summary', {}, 'Save this search as a watch'),
    h(
      'form',
      {
        novalidate: true,
        onsubmit: async (event) => {
          event.preventDefault();
          fieldError(name, nameError, '');
          fieldError(days, daysError, '');
          replace(status);
          const reminderDays = parseDays(days.value);
          if (!name.value.trim()) return fieldError(name, nameError, 'Give the watch a name.');
          if (reminderDays === null) return fieldError(days, daysError, 'Write whole numbers of days, such as 7, 1.');
          try {
            const { createWatch } = await gql(CREATE_WATCH, {
              input: { name: name.value.trim(), filter: watchFilter(current()), reminderDays },
            });
            replace(
              status,
              notice('success', `Saved “${name.value.trim()}”. Its notices arrive in your `, h('a', { href: '/inbox' }, 'inbox'), '.'),
              createWatch.calendarPath ? calendarNotice(name.value.trim(), createWatch.calendarPath) : null,
            );
          } catch (error) {
            const fields = { name: [name, nameError], reminderDays: [days, daysError] };
            let shown = false;
            for (const e of error.errors ?? []) {
              const key = Object.keys(fields).find((k) => e.field && e.field.startsWith(k));
              if (key) {
                fieldError(...fields[key], e.message);
                shown = true;
              }
            }
            if (!shown) replace(status, notice('error', `Not saved: ${error.message}`));
          }
        },
      },
      h('label', { for: 'watch-name' }, 'Name'),
      name,
      nameError,
      h('label', { for: 'watch-days' }, 'Remind me before a deadline (days)'),
      h('p', { id: 'watch-days-hint', class: 'hint' }, 'Up to five numbers from 1 to 60, such as 7, 1.'),
      days,
      daysError,
      h('button', { type: 'submit' }, 'Save the watch'),
    ),
    status,
  );
  return details;
}

/** The calendar link of a watch, shown once: the old one stops working. */
export function calendarNotice(name, path) {
  const url = `${window.location.origin}${path}`;
  return notice(
    'success',
    `The calendar of “${name}”: `,
    h('a', { href: url }, 'subscribe from your calendar'),
    ' (copy the link; it is shown only now, and any earlier link stops working).',
  );
}
