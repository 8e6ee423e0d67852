// The cluster dashboard's next steps, for the follow-up manager: each open step marked done
// with one click, and a follow-up session recorded with the next steps it agreed (step 7 of the
// deliverable's clustering practice). The list changes in place: the dashboard's read model may
// trail the log by a moment.

import { gql } from './api.js';
import { COMPLETE_NEXT_STEP, RECORD_FOLLOW_UP_SESSION } from './operations.js';
import { fieldError, h, replace, notice } from './dom.js';
import { announce } from './nav.js';
import { formatDate } from './format.js';
import { advanceVersion } from './demo-form.js';

/** Today as YYYY-MM-DD in UTC (the API's calendar for next steps). */
export function today(now = new Date()) {
  return now.toISOString().slice(0, 10);
}

/** The next steps typed in the form's rows, skipping empty rows; `{ steps }` or `{ error }`. */
export function readSteps(rows) {
  const steps = [];
  for (const [i, row] of rows.entries()) {
    if (!row.action && !row.owner && !row.due) continue;
    if (!row.projectId || !row.action || !row.owner || !row.due) {
      return { error: `next step ${i + 1}: give the project, the action, who does it and by when` };
    }
    steps.push(row);
  }
  return { steps };
}

function stepItem(cluster, step, status) {
  const item = h(
    'li',
    { class: 'curated', dataset: { step: step.id } },
    h('span', {}, `${step.acronym}: ${step.action}`),
    h('span', { class: `curated-meta${step.overdue ? ' overdue' : ''}` }, `${step.owner} · due ${formatDate(step.due)}${step.overdue ? ' · overdue' : ''}`),
  );
  item.append(
    h(
      'button',
      {
        type: 'button',
        class: 'secondary',
        onclick: async (event) => {
          event.currentTarget.disabled = true;
          try {
            // No expectedVersion: completing one step cannot undo another change of the
            // cluster, and practitioners' feedback moves its version all the time.
            const { completeNextStep: done } = await gql(COMPLETE_NEXT_STEP, { clusterId: cluster.id, stepId: step.id });
            advanceVersion(cluster, done);
            item.remove();
            replace(status, notice('success', `Done: ${step.acronym}: ${step.action}.`));
            announce('Marked done.');
          } catch (error) {
            replace(status, notice('error', `Not marked done: ${error.message}`));
            event.currentTarget.disabled = false;
          }
        },
      },
      'Mark done',
      h('span', { class: 'visually-hidden' }, `: ${step.action}`),
    ),
  );
  return item;
}

/** The section's content: the open steps, and the form that records a session. */
export function nextSteps(cluster, canManage) {
  const status = h('div', {});
  const list = h('ul', { class: 'curated-list step-list' }, cluster.openSteps.map((s) => stepItem(cluster, s, status)));
  // Only follow-up managers and tenant admins change the cluster.
  if (!canManage) for (const b of list.querySelectorAll('button')) b.remove();
  const empty = h('p', { class: 'hint' }, 'No open step.');
  empty.hidden = cluster.openSteps.length > 0;
  if (!canManage) return [status, list, empty];
  // The form offers the cluster's projects as they are now: drawn again when they change.
  const formBox = h('div', {});
  const drawForm = () => replace(formBox, cluster.projects.length ? sessionForm(cluster, list, empty, status) : null);
  drawForm();
  onProjectsChanged(formBox, drawForm);
  return [status, list, empty, formBox];
}

/** Calls `draw` whenever the dashboard's projects change, while `box` is on the page. */
export function onProjectsChanged(box, draw) {
  const listener = () => {
    if (box.isConnected) draw();
    else document.removeEventListener(PROJECTS_CHANGED, listener);
  };
  document.addEventListener(PROJECTS_CHANGED, listener);
}

/** The event js/cluster-members.js sends after a project was added to or removed from the cluster. */
export const PROJECTS_CHANGED = 'ri:cluster-projects-changed';

/** The form that records a follow-up session with its next steps. */
function sessionForm(cluster, list, empty, status) {
  const acronymOf = new Map(cluster.projects.map((p) => [p.id, p.acronym]));
  const rows = [];
  const rowsBox = h('div', {});
  const addRow = () => {
    const n = rows.length + 1;
    const id = (name) => `step-${n}-${name}`;
    const row = {
      project: h('select', { id: id('project') }, cluster.projects.map((p) => h('option', { value: p.id }, p.acronym))),
      action: h('input', { id: id('action') }),
      owner: h('input', { id: id('owner') }),
      due: h('input', { id: id('due'), type: 'date' }),
    };
    rows.push(row);
    rowsBox.append(
      h(
        'fieldset',
        { class: 'field group step-row' },
        h('legend', {}, `Next step ${n}`),
        h('div', { class: 'field' }, h('label', { for: row.project.id }, 'Project'), row.project),
        h('div', { class: 'field' }, h('label', { for: row.action.id }, 'Action'), row.action),
        h('div', { class: 'field-row' }, h('div', { class: 'field' }, h('label', { for: row.owner.id }, 'Who'), row.owner), h('div', { class: 'field' }, h('label', { for: row.due.id }, 'Due'), row.due)),
      ),
    );
  };
  addRow();

  const date = h('input', { id: 'session-date', type: 'date', value: today(), 'aria-describedby': 'session-date-error' });
  const dateError = h('p', { id: 'session-date-error', class: 'field-error', hidden: true });
  const attendees = h('input', { id: 'session-attendees', 'aria-describedby': 'session-attendees-hint' });
  const notes = h('textarea', { id: 'session-notes', rows: '3' });
  const stepsError = h('p', { id: 'session-steps-error', class: 'field-error', role: 'alert', hidden: true });
  const form = h(
    'form',
    {
      class: 'session-form',
      novalidate: true,
      onsubmit: async (event) => {
        event.preventDefault();
        fieldError(date, dateError, '');
        stepsError.hidden = true;
        replace(status);
        if (!date.value) return fieldError(date, dateError, 'Give the date of the session.');
        const read = readSteps(
          rows.map((r) => ({ projectId: r.project.value, action: r.action.value.trim(), owner: r.owner.value.trim(), due: r.due.value })),
        );
        if (read.error) {
          stepsError.textContent = read.error;
          stepsError.hidden = false;
          return;
        }
        try {
          const { recordFollowUpSession: done } = await gql(RECORD_FOLLOW_UP_SESSION, {
            clusterId: cluster.id,
            input: {
              date: date.value,
              attendees: attendees.value.split(',').map((a) => a.trim()).filter(Boolean),
              notes: notes.value.trim(),
              nextSteps: read.steps,
            },
          });
          advanceVersion(cluster, done);
          read.steps.forEach((s, i) => {
            list.append(stepItem(cluster, { ...s, id: done.nextStepIds[i], acronym: acronymOf.get(s.projectId) ?? s.projectId, overdue: false }, status));
          });
          empty.hidden = list.children.length > 0;
          for (const r of rows) {
            r.action.value = '';
            r.owner.value = '';
            r.due.value = '';
          }
          // The dashboard lists the session at once (js/cluster-notes.js).
          form.dispatchEvent(
            new CustomEvent('ri:session-recorded', {
              bubbles: true,
              detail: {
                id: done.sessionId,
                date: date.value,
                attendees: attendees.value.split(',').map((a) => a.trim()).filter(Boolean),
                notes: notes.value.trim(),
                nextSteps: read.steps,
              },
            }),
          );
          attendees.value = '';
          notes.value = '';
          replace(status, notice('success', `Recorded the session of ${formatDate(date.value)}${read.steps.length ? ` with ${read.steps.length} next step${read.steps.length === 1 ? '' : 's'}` : ''}.`));
        } catch (error) {
          const problems = error.errors ?? [{ message: error.message }];
          const atDate = problems.find((e) => e.field === 'input.date' || e.field === 'date');
          if (atDate) fieldError(date, dateError, atDate.message);
          const rest = problems.filter((e) => e !== atDate);
          if (rest.length) {
            stepsError.textContent = rest.map((e) => e.message).join('; ');
            stepsError.hidden = false;
          }
        }
      },
    },
    h('h3', {}, 'Record a follow-up session'),
    h('div', { class: 'field' }, h('label', { for: date.id }, 'Date'), date, dateError),
    h('div', { class: 'field' }, h('label', { for: attendees.id }, 'Attendees (optional)'), h('p', { id: 'session-attendees-hint', class: 'hint' }, 'Separated by commas.'), attendees),
    h('div', { class: 'field' }, h('label', { for: notes.id }, 'Notes (optional)'), notes),
    rowsBox,
    stepsError,
    h('button', { type: 'button', class: 'secondary', onclick: addRow }, 'Add another next step'),
    ' ',
    h('button', { type: 'submit' }, 'Record the session'),
  );
  return form;
}
