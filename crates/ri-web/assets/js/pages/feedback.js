// The practitioner's feedback form, opened from an invitation link (/feedback/<token>) without
// an account: the link's token is the credential. One form per project on the demo event's
// agenda: relevance and usability (1 to 5, a radio group each), whether they would pilot it,
// the features they found relevant, a comment. Sending again changes the answers until the
// feedback window closes.

import { gql, ApiError } from '../api.js';
import { FEEDBACK_INVITATION, SUBMIT_FEEDBACK } from '../operations.js';
import { h, replace, notice } from '../dom.js';
import { formatInstant } from '../format.js';
import { pageReady, announce } from '../nav.js';

const TITLE = 'Practitioner feedback';

const CLOSED = {
  NOT_OPEN_YET: 'Feedback opens when the demo event starts. Come back to this link then.',
  REPLACED: 'This link has been replaced by a newer one. Use the latest link you were sent.',
  REVOKED: 'This invitation has been withdrawn.',
  CANCELLED: 'This demo event was cancelled, so there is nothing to give feedback on.',
  WINDOW_CLOSED: 'The time for feedback on this demo event is over. Thank you all the same.',
  EXPIRED: 'This link has expired.',
};

const RATINGS = [
  ['1', '1 poor'],
  ['2', '2'],
  ['3', '3'],
  ['4', '4'],
  ['5', '5 excellent'],
];

function ratingGroup(prefix, name, legend, current) {
  const errorId = `${prefix}-${name}-error`;
  return h(
    'fieldset',
    { class: 'rating', id: `${prefix}-${name}`, 'aria-describedby': errorId, dataset: { field: name } },
    h('legend', {}, legend),
    h(
      'div',
      { class: 'rating-options' },
      RATINGS.map(([value, text]) =>
        h(
          'span',
          { class: 'rating-option' },
          h('input', {
            type: 'radio',
            id: `${prefix}-${name}-${value}`,
            name: `${prefix}-${name}`,
            value,
            checked: current === Number(value),
          }),
          h('label', { for: `${prefix}-${name}-${value}` }, text),
        ),
      ),
    ),
    h('p', { id: errorId, class: 'field-error', hidden: true }),
  );
}

/**
 * The answers on one project, as fields whose ids start with `prefix`: relevance and usability
 * (radio groups), would pilot, its features (checkboxes) and a comment, filled with `given`.
 * Also the dashboard's paper feedback (js/demo-events.js); read them with readAnswers.
 */
export function answerFields(prefix, project, given) {
  const pilot = h(
    'fieldset',
    { class: 'rating', id: `${prefix}-wouldPilot`, 'aria-describedby': `${prefix}-wouldPilot-error`, dataset: { field: 'wouldPilot' } },
    h('legend', {}, 'Would your organisation pilot it?'),
    h(
      'div',
      { class: 'rating-options' },
      [
        ['yes', 'Yes'],
        ['no', 'No'],
      ].map(([value, text]) =>
        h(
          'span',
          { class: 'rating-option' },
          h('input', {
            type: 'radio',
            id: `${prefix}-pilot-${value}`,
            name: `${prefix}-pilot`,
            value,
            checked: given ? given.wouldPilot === (value === 'yes') : false,
          }),
          h('label', { for: `${prefix}-pilot-${value}` }, text),
        ),
      ),
    ),
    h('p', { id: `${prefix}-wouldPilot-error`, class: 'field-error', hidden: true }),
  );
  const chosen = new Set(given?.relevantFeatures.map((f) => f.code) ?? []);
  const features = project.features.length
    ? h(
        'fieldset',
        { class: 'feature-choice', id: `${prefix}-relevantFeatures`, 'aria-describedby': `${prefix}-relevantFeatures-error`, dataset: { field: 'relevantFeatures' } },
        h('legend', {}, 'Which of its features are relevant to your work?'),
        h(
          'div',
          { class: 'options' },
          project.features.map((f) =>
            h(
              'div',
              { class: 'option' },
              h('input', {
                type: 'checkbox',
                id: `${prefix}-feature-${f.code}`,
                name: `${prefix}-features`,
                value: f.code,
                checked: chosen.has(f.code),
              }),
              h('label', { for: `${prefix}-feature-${f.code}` }, `${f.code} ${f.label}`),
            ),
          ),
        ),
        h('p', { id: `${prefix}-relevantFeatures-error`, class: 'field-error', hidden: true }),
      )
    : null;
  const comment = h('textarea', { id: `${prefix}-comment`, name: `${prefix}-comment`, rows: '3', maxlength: '2000', 'aria-describedby': `${prefix}-comment-error` });
  comment.value = given?.comment ?? '';
  return [
    ratingGroup(prefix, 'relevance', 'How relevant is it to your work? (1 poor to 5 excellent)', given?.relevance),
    ratingGroup(prefix, 'usability', 'How usable did it look? (1 poor to 5 excellent)', given?.usability),
    pilot,
    features,
    h(
      'div',
      { class: 'field', dataset: { field: 'comment' } },
      h('label', { for: `${prefix}-comment` }, 'Comment (optional)'),
      comment,
      h('p', { id: `${prefix}-comment-error`, class: 'field-error', hidden: true }),
    ),
  ];
}

/**
 * The answers as chosen (`relevance`, `usability`: '1' to '5' or null; `wouldPilot`: 'yes',
 * 'no' or null; `relevantFeatures`; `comment`): `{ input }` for the API, or `{ errors }`, each
 * `{ field, message }`.
 */
export function answersFrom({ relevance, usability, wouldPilot, relevantFeatures = [], comment = '' }) {
  const errors = [];
  if (!relevance) errors.push({ field: 'relevance', message: 'Choose a rating from 1 to 5.' });
  if (!usability) errors.push({ field: 'usability', message: 'Choose a rating from 1 to 5.' });
  if (!wouldPilot) errors.push({ field: 'wouldPilot', message: 'Say whether you would pilot it.' });
  if (errors.length) return { errors };
  return {
    input: {
      relevance: Number(relevance),
      usability: Number(usability),
      wouldPilot: wouldPilot === 'yes',
      relevantFeatures: [...relevantFeatures],
      comment: comment.trim(),
    },
  };
}

/** The answers in `form`'s fields made by answerFields(prefix, …), as answersFrom gives them. */
export function readAnswers(form, prefix) {
  const value = (name) => form.querySelector(`input[name="${prefix}-${name}"]:checked`)?.value ?? null;
  return answersFrom({
    relevance: value('relevance'),
    usability: value('usability'),
    wouldPilot: value('pilot'),
    relevantFeatures: [...form.querySelectorAll(`input[name="${prefix}-features"]:checked`)].map((c) => c.value),
    comment: form.querySelector(`#${prefix}-comment`)?.value ?? '',
  });
}

/** Shows `message` at the answers' field `field` (an API field name) in `form`; false when it has none. */
export function showAnswerError(form, field, message) {
  const group = form.querySelector(`[data-field="${field}"]`);
  const error = group?.querySelector('.field-error');
  if (!group || !error) return false;
  error.textContent = message;
  error.hidden = false;
  (group.matches('fieldset') ? group : group.querySelector('textarea, input') ?? group).setAttribute('aria-invalid', 'true');
  return true;
}

/** Clears the errors showAnswerError showed in `form`. */
export function clearAnswerErrors(form) {
  for (const el of form.querySelectorAll('.field-error')) {
    el.hidden = true;
    el.textContent = '';
  }
  for (const el of form.querySelectorAll('[aria-invalid]')) el.removeAttribute('aria-invalid');
}

function projectForm(token, project, given, index) {
  const prefix = `p${index + 1}`;
  const headingId = `${prefix}-heading`;
  const status = h('div', { class: 'form-status', 'aria-live': 'polite' });
  const button = h('button', { type: 'submit' }, given ? `Update feedback on ${project.acronym}` : `Send feedback on ${project.acronym}`);

  const form = h(
    'form',
    { class: 'feedback-form', novalidate: true, 'aria-labelledby': headingId, dataset: { project: project.id } },
    h('h2', { id: headingId }, project.acronym),
    project.title && project.title !== project.acronym ? h('p', { class: 'hint' }, project.title) : null,
    answerFields(prefix, project, given),
    button,
    status,
  );

  const firstInvalid = () => form.querySelector('[aria-invalid="true"] input');

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    clearAnswerErrors(form);
    replace(status);
    const read = readAnswers(form, prefix);
    if (read.errors) {
      for (const e of read.errors) showAnswerError(form, e.field, e.message);
      firstInvalid()?.focus();
      return;
    }
    button.disabled = true;
    try {
      const { submitDemoFeedback: receipt } = await gql(SUBMIT_FEEDBACK, { token, projectId: project.id, input: read.input }, { auth: false });
      replace(
        status,
        notice('success', h('p', {}, `Thank you: your feedback on ${receipt.acronym} was received. You can change it with this link until the feedback closes.`)),
      );
      button.textContent = `Update feedback on ${project.acronym}`;
      announce(`Your feedback on ${receipt.acronym} was received.`);
    } catch (error) {
      const errors = error instanceof ApiError ? error.errors : [{ message: String(error.message ?? error), field: null }];
      const unplaced = errors.filter((e) => !(e.field && showAnswerError(form, e.field, e.message)));
      if (unplaced.length) replace(status, notice('error', h('p', {}, `Your feedback was not saved: ${unplaced.map((e) => e.message).join('; ')}`)));
      firstInvalid()?.focus();
    } finally {
      button.disabled = false;
    }
  });
  return form;
}

export async function render(view, params) {
  const token = params.token;
  replace(view, h('h1', {}, TITLE), h('p', { class: 'loading' }, 'Opening your invitation…'));
  let invitation;
  try {
    ({ invitation } = await gql(FEEDBACK_INVITATION, { token }, { auth: false }));
  } catch (error) {
    const api = error instanceof ApiError;
    let message = `Your invitation cannot be opened: ${error.message}`;
    if (api && error.has('RATE_LIMITED')) message = 'Too many attempts with this link. Try again in an hour.';
    else if (api && (error.has('NOT_FOUND') || error.has('BAD_USER_INPUT'))) invitation = null;
    if (invitation !== null) {
      replace(view, h('h1', {}, TITLE), notice('error', h('p', {}, message)));
      pageReady(view, TITLE);
      return null;
    }
  }
  if (!invitation) {
    replace(
      view,
      h('h1', {}, TITLE),
      notice('error', h('p', {}, 'This link is not valid. Check that you copied the whole link from your invitation.')),
    );
    pageReady(view, TITLE);
    return null;
  }
  const when = formatInstant(invitation.startsAt, invitation.timeZone);
  const head = [
    h('h1', {}, TITLE),
    h('p', { class: 'lede' }, `${invitation.eventTitle}, ${when}. Invited: ${invitation.organisation}.`),
  ];
  if (invitation.state !== 'OPEN') {
    replace(
      view,
      ...head,
      notice('info', h('p', {}, CLOSED[invitation.state] ?? 'Feedback cannot be given with this link.')),
      invitation.agenda.length
        ? [
            h('h2', {}, 'On the agenda'),
            h('ul', {}, invitation.agenda.map((p) => h('li', {}, p.title && p.title !== p.acronym ? `${p.acronym}: ${p.title}` : p.acronym))),
          ]
        : null,
    );
    pageReady(view, TITLE);
    return null;
  }
  const given = new Map(invitation.feedback.map((f) => [f.projectId, f]));
  replace(
    view,
    ...head,
    h(
      'p',
      {},
      `Thank you for taking part. Please tell us about each project demonstrated: each project is sent on its own, and you can change your answers until ${formatInstant(invitation.feedbackClosesAt, invitation.timeZone)}.`,
    ),
    h('div', { class: 'feedback-forms' }, invitation.agenda.map((p, i) => projectForm(token, p, given.get(p.id), i))),
  );
  pageReady(view, TITLE);
  return null;
}
