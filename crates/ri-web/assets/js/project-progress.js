// A project's success, on its page: the milestones by the deliverable's three criteria
// (recognition, new collaborations and markets, operational deployment) and the funding
// applications with their status. Follow-up managers and tenant admins record a milestone,
// record an application and move it on (submitted, awarded, rejected). What is recorded shows
// in place: the page's read model may trail the log by a moment.

import { gql, logPosition, ApiError } from './api.js';
import { fieldError, h, replace, notice } from './dom.js';
import { formatDate } from './format.js';

export const RECORD_MILESTONE = /* GraphQL */ `
mutation WebRecordMilestone($id: ID!, $expectedVersion: Int, $input: MilestoneInput!) {
  recordProjectMilestone(id: $id, expectedVersion: $expectedVersion, input: $input) { id version recordedId }
}`;

export const RECORD_FUNDING_APPLICATION = /* GraphQL */ `
mutation WebRecordFundingApplication($id: ID!, $expectedVersion: Int, $input: FundingApplicationInput!) {
  recordFundingApplication(id: $id, expectedVersion: $expectedVersion, input: $input) { id version recordedId }
}`;

export const CHANGE_FUNDING_APPLICATION = /* GraphQL */ `
mutation WebChangeFundingApplication($id: ID!, $expectedVersion: Int, $applicationId: ID!, $input: FundingApplicationStatusInput!) {
  changeFundingApplicationStatus(id: $id, expectedVersion: $expectedVersion, applicationId: $applicationId, input: $input) { id version recordedId }
}`;

// Read again after an award, which records a RECOGNITION milestone of its own.
export const PROJECT_MILESTONES = /* GraphQL */ `
query WebProjectMilestones($id: ID!, $consistentWith: String) {
  project(id: $id, consistentWith: $consistentWith) {
    milestones { id criterion date description evidenceLink fundingApplicationId }
  }
}`;

export const CRITERIA = [
  ['RECOGNITION', 'Recognition', 'Further funding, awards, new contracts.'],
  ['NEW_COLLABORATIONS_MARKETS', 'New collaborations and markets', 'New partners, customers or markets.'],
  ['OPERATIONAL_DEPLOYMENT', 'Operational deployment', 'The innovation deployed in an operational environment.'],
];

export const APPLICATION_STATUSES = ['PLANNED', 'SUBMITTED', 'AWARDED', 'REJECTED'];

const STATUS_NAMES = { PLANNED: 'Planned', SUBMITTED: 'Submitted', AWARDED: 'Awarded', REJECTED: 'Rejected' };

/** "Awarded" for AWARDED. */
export function statusName(status) {
  return STATUS_NAMES[status] ?? status;
}

/** "EUR 250,000", or '' without an amount. */
export function money(amount) {
  if (!amount) return '';
  return `${amount.currency} ${amount.amount.toLocaleString('en-GB')}`;
}

/**
 * The amount typed as `{ amount, currency }`, null when both are empty, or `{ error }`: whole
 * positive units and a three-letter currency.
 */
export function readMoney(amountText, currencyText) {
  const raw = amountText.replace(/[\s,_]/g, '');
  const currency = currencyText.trim().toUpperCase();
  if (!raw && !currency) return null;
  if (!/^\d+$/.test(raw) || Number(raw) <= 0 || !Number.isSafeInteger(Number(raw))) {
    return { error: 'Give the amount in whole units, for example 250000.' };
  }
  if (!/^[A-Z]{3}$/.test(currency)) return { error: 'Give the currency as its three-letter code, for example EUR.' };
  return { amount: Number(raw), currency };
}

/** The input an API error's `field` names ("input.amount.currency" → "amount"), if any. */
export function fieldOf(error) {
  if (!error.field) return null;
  return error.field.replace(/^input\./, '').split('.')[0];
}

/** Shows each error at its field among `fields` ({ name: [input, box] }), the rest in `general`. */
function showErrors(error, fields, general) {
  const problems = error instanceof ApiError ? error.errors : [{ message: error.message, field: null }];
  const rest = [];
  for (const problem of problems) {
    const at = fields[fieldOf(problem)];
    if (at) fieldError(at[0], at[1], problem.message);
    else rest.push(problem.message);
  }
  if (error instanceof ApiError && error.has('CONFLICT')) {
    replace(general, notice('error', 'The project was changed meanwhile (by someone else, or in another tab). Reload the page to see it, then try again.'));
  } else if (rest.length) {
    replace(general, notice('error', rest.join(' ')));
  }
}

let ids = 0;
/** An input with its label and error box; `[wrapper, input, box]`. */
function field(labelText, input, hint = null) {
  ids += 1;
  input.id = input.id || `progress-${ids}`;
  const box = h('p', { id: `${input.id}-error`, class: 'field-error', hidden: true });
  const hintBox = hint ? h('p', { id: `${input.id}-hint`, class: 'hint' }, hint) : null;
  input.setAttribute('aria-describedby', [hintBox?.id, box.id].filter(Boolean).join(' '));
  return [h('div', { class: 'field' }, h('label', { for: input.id }, labelText), hintBox, input, box), input, box];
}

function clearErrors(fields, general) {
  for (const [input, box] of Object.values(fields)) fieldError(input, box, '');
  replace(general);
}

function milestoneItem(m) {
  return h(
    'li',
    { class: 'curated', dataset: { milestone: m.id } },
    h('strong', {}, `${formatDate(m.date)} · ${CRITERIA.find(([c]) => c === m.criterion)?.[1] ?? m.criterion}`),
    h('span', {}, m.description),
    m.evidenceLink ? h('span', { class: 'curated-meta' }, h('a', { href: m.evidenceLink, rel: 'noopener noreferrer' }, 'Evidence')) : null,
  );
}

function milestoneForm(project, state, list, empty) {
  const status = h('div', {});
  const criterion = h(
    'select',
    { id: 'milestone-criterion' },
    CRITERIA.map(([value, name, what]) => h('option', { value }, `${name}: ${what}`)),
  );
  const [criterionField] = field('Criterion', criterion);
  const [dateField, date, dateBox] = field('Date', h('input', { id: 'milestone-date', type: 'date' }));
  const [descriptionField, description, descriptionBox] = field('What happened', h('textarea', { id: 'milestone-description', rows: '3', maxlength: '2000' }));
  const [linkField, link, linkBox] = field('Evidence link (optional)', h('input', { id: 'milestone-link', type: 'url', inputmode: 'url' }), 'A page that shows it: a press release, a contract notice.');
  const fields = { date: [date, dateBox], description: [description, descriptionBox], evidenceLink: [link, linkBox] };
  return h(
    'form',
    {
      class: 'progress-form',
      novalidate: true,
      onsubmit: async (event) => {
        event.preventDefault();
        clearErrors(fields, status);
        if (!date.value) return fieldError(date, dateBox, 'Give the day it happened.');
        if (!description.value.trim()) return fieldError(description, descriptionBox, 'Say what happened.');
        const input = {
          criterion: criterion.value,
          date: date.value,
          description: description.value.trim(),
          evidenceLink: link.value.trim() || null,
        };
        try {
          const { recordProjectMilestone: done } = await gql(RECORD_MILESTONE, { id: project.id, expectedVersion: state.version, input });
          state.version = done.version;
          list.append(milestoneItem({ ...input, id: done.recordedId }));
          empty.hidden = true;
          date.value = '';
          description.value = '';
          link.value = '';
          replace(status, notice('success', `Recorded the milestone of ${formatDate(input.date)}.`));
        } catch (error) {
          showErrors(error, fields, status);
        }
        return undefined;
      },
    },
    h('h3', {}, 'Record a milestone'),
    criterionField,
    dateField,
    descriptionField,
    linkField,
    status,
    h('button', { type: 'submit' }, 'Record the milestone'),
  );
}

/** The form that moves an application on; answers the new values after a change. */
function statusForm(project, state, application, onChanged) {
  const status = h('div', {});
  const key = `application-${application.id}`;
  const next = h('select', { id: `${key}-status` }, APPLICATION_STATUSES.map((s) => h('option', { value: s, selected: s === application.status }, statusName(s))));
  const [statusField] = field('New status', next);
  const [dateField, date, dateBox] = field('Since', h('input', { id: `${key}-date`, type: 'date' }));
  const [amountField, amount, amountBox] = field('Amount (optional)', h('input', { id: `${key}-amount`, inputmode: 'numeric' }), 'The amount granted, say; empty keeps the one recorded.');
  const [currencyField, currency, currencyBox] = field('Currency', h('input', { id: `${key}-currency`, value: application.amount?.currency ?? 'EUR', maxlength: '3', autocapitalize: 'characters' }));
  const [linkField, link, linkBox] = field('Evidence of the award (optional)', h('input', { id: `${key}-link`, type: 'url', inputmode: 'url' }));
  const fields = { date: [date, dateBox], amount: [amount, amountBox], evidenceLink: [link, linkBox] };
  return h(
    'details',
    { class: 'status-change' },
    h('summary', {}, `Change the status of ${application.instrumentName}`),
    h(
      'form',
      {
        novalidate: true,
        onsubmit: async (event) => {
          event.preventDefault();
          clearErrors({ ...fields, currency: [currency, currencyBox] }, status);
          if (!date.value) return fieldError(date, dateBox, 'Give the day it reached this status.');
          const sum = readMoney(amount.value, amount.value.trim() ? currency.value : '');
          if (sum?.error) return fieldError(amount, amountBox, sum.error);
          const input = { status: next.value, date: date.value, amount: sum, evidenceLink: link.value.trim() || null };
          try {
            const { changeFundingApplicationStatus: done } = await gql(CHANGE_FUNDING_APPLICATION, {
              id: project.id,
              expectedVersion: state.version,
              applicationId: application.id,
              input,
            });
            state.version = done.version;
            onChanged({ ...application, status: input.status, date: input.date, amount: sum ?? application.amount });
          } catch (error) {
            showErrors(error, fields, status);
          }
          return undefined;
        },
      },
      h('div', { class: 'field-row' }, statusField, dateField),
      h('div', { class: 'field-row' }, amountField, currencyField),
      linkField,
      status,
      h('button', { type: 'submit' }, 'Change the status'),
    ),
  );
}

function applicationItem(project, state, application, manages, status, onAward = () => {}) {
  const item = h('li', { class: 'curated', dataset: { application: application.id } });
  const draw = (a) => {
    replace(
      item,
      h('strong', {}, a.instrumentId ? h('a', { href: `/instruments/${encodeURIComponent(a.instrumentId)}` }, a.instrumentName) : a.instrumentName),
      h('span', { class: 'curated-meta' }, [statusName(a.status), `since ${formatDate(a.date)}`, money(a.amount)].filter(Boolean).join(' · ')),
      manages
        ? statusForm(project, state, a, (changed) => {
            draw(changed);
            const award = changed.status === 'AWARDED' ? ' Its recognition milestone is recorded.' : '';
            replace(status, notice('success', `${changed.instrumentName} is now ${statusName(changed.status).toLowerCase()}.${award}`));
            if (award) onAward();
          })
        : null,
    );
  };
  draw(application);
  return item;
}

function applicationForm(project, state, list, empty, manages, listStatus, onAward) {
  const status = h('div', {});
  const [nameField, name, nameBox] = field('Instrument', h('input', { id: 'application-name', maxlength: '300' }), 'As people name it: "Horizon Europe CL3 2025 call", "EIC Accelerator".');
  const next = h('select', { id: 'application-status' }, APPLICATION_STATUSES.map((s) => h('option', { value: s }, statusName(s))));
  const [statusField] = field('Status', next);
  const [dateField, date, dateBox] = field('Since', h('input', { id: 'application-date', type: 'date' }));
  const [amountField, amount, amountBox] = field('Amount (optional)', h('input', { id: 'application-amount', inputmode: 'numeric' }));
  const [currencyField, currency, currencyBox] = field('Currency', h('input', { id: 'application-currency', value: 'EUR', maxlength: '3', autocapitalize: 'characters' }));
  const fields = {
    instrumentName: [name, nameBox],
    instrumentId: [name, nameBox],
    date: [date, dateBox],
    amount: [amount, amountBox],
    currency: [currency, currencyBox],
  };
  return h(
    'form',
    {
      class: 'progress-form',
      novalidate: true,
      onsubmit: async (event) => {
        event.preventDefault();
        clearErrors(fields, status);
        if (!name.value.trim()) return fieldError(name, nameBox, 'Name the instrument applied to.');
        if (!date.value) return fieldError(date, dateBox, 'Give the day it reached this status.');
        const sum = readMoney(amount.value, amount.value.trim() ? currency.value : '');
        if (sum?.error) return fieldError(amount, amountBox, sum.error);
        const input = { instrumentName: name.value.trim(), status: next.value, date: date.value, amount: sum };
        try {
          const { recordFundingApplication: done } = await gql(RECORD_FUNDING_APPLICATION, { id: project.id, expectedVersion: state.version, input });
          state.version = done.version;
          list.append(applicationItem(project, state, { ...input, id: done.recordedId, instrumentId: null }, manages, listStatus, onAward));
          if (input.status === 'AWARDED') onAward();
          empty.hidden = true;
          name.value = '';
          date.value = '';
          amount.value = '';
          replace(status, notice('success', `Recorded the application to ${input.instrumentName}.`));
        } catch (error) {
          showErrors(error, fields, status);
        }
        return undefined;
      },
    },
    h('h3', {}, 'Record a funding application'),
    nameField,
    h('div', { class: 'field-row' }, statusField, dateField),
    h('div', { class: 'field-row' }, amountField, currencyField),
    status,
    h('button', { type: 'submit' }, 'Record the application'),
  );
}

/** The milestones and funding applications of `project`, with the forms for those who manage it. */
export function projectProgress(project, manages) {
  // One version for both forms: each change moves it on.
  const state = { version: project.version };
  const milestones = h('ul', { class: 'curated-list milestone-list' }, project.milestones.map(milestoneItem));
  const noMilestone = h('p', { class: 'hint' }, 'No milestone recorded yet.');
  noMilestone.hidden = project.milestones.length > 0;
  const listStatus = h('div', {});
  // An award records a RECOGNITION milestone: read the milestones again, as far as the change.
  const onAward = async () => {
    try {
      const { project: fresh } = await gql(PROJECT_MILESTONES, { id: project.id, consistentWith: logPosition() });
      if (!fresh) return;
      replace(milestones, fresh.milestones.map(milestoneItem));
      noMilestone.hidden = fresh.milestones.length > 0;
    } catch {
      // The milestone shows on the next visit.
    }
  };
  const applications = h(
    'ul',
    { class: 'curated-list application-list' },
    project.fundingApplications.map((a) => applicationItem(project, state, a, manages, listStatus, onAward)),
  );
  const noApplication = h('p', { class: 'hint' }, 'No funding application recorded yet.');
  noApplication.hidden = project.fundingApplications.length > 0;
  return [
    h(
      'section',
      { class: 'dashboard-section', 'aria-labelledby': 'project-milestones' },
      h('h2', { id: 'project-milestones' }, 'Success milestones'),
      milestones,
      noMilestone,
      manages ? milestoneForm(project, state, milestones, noMilestone) : null,
    ),
    h(
      'section',
      { class: 'dashboard-section', 'aria-labelledby': 'project-applications' },
      h('h2', { id: 'project-applications' }, 'Funding applications'),
      listStatus,
      applications,
      noApplication,
      manages ? applicationForm(project, state, applications, noApplication, manages, listStatus, onAward) : null,
    ),
  ];
}
