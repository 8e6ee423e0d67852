// The curator's form for one instrument, new or existing: details, features and schedule, then
// publish, withdraw or archive. A save sends only what changed, as the API's commands (draft,
// revise, tag, untag, set the deadline), each with the version it was based on; the API's field
// errors appear beside their fields, and a version conflict says plainly what happened.

import { gql, logPosition, ApiError } from '../api.js';
import { INSTRUMENT, DRAFT, REVISE, TAG, UNTAG, SET_DEADLINE, PUBLISH, WITHDRAW, ARCHIVE } from '../operations.js';
import { h, replace, notice } from '../dom.js';
import {
  COVER_LEVELS,
  KINDS,
  PERIODICITIES,
  TARGET_ORGANISATIONS,
  label,
  isTimeZone,
  localZone,
} from '../format.js';
import { zonedToInstant, instantToZoned } from '../zoned.js';
import { taxonomy } from '../taxonomy.js';
import { currentUser } from '../session.js';
import { navigate, pageReady, announce } from '../nav.js';

const DETAILS = [
  'title',
  'kind',
  'coverLevel',
  'countries',
  'programme',
  'link',
  'summary',
  'targetOrganisations',
  'funding',
  'periodicity',
  'languages',
];
const UNORDERED = new Set(['countries', 'targetOrganisations', 'languages', 'features']);

/** The form's values of a stored instrument (the same shape readForm gives). */
export function fromInstrument(i) {
  return {
    title: i.title,
    kind: i.kind,
    coverLevel: i.coverLevel,
    countries: [...i.countries],
    programme: i.programme ?? null,
    link: i.link ?? null,
    summary: i.summary ?? '',
    targetOrganisations: [...i.targetOrganisations],
    funding: i.funding ? { min: i.funding.min ?? null, max: i.funding.max ?? null, currency: i.funding.currency } : null,
    periodicity: i.periodicity ?? null,
    languages: [...i.languages],
    features: i.features.map((f) => f.code),
    openingDate: i.openingDate ?? null,
    deadline: i.deadline ?? null,
    timeZone: i.timeZone ?? null,
  };
}

function same(field, a, b) {
  const norm = (v) => (UNORDERED.has(field) && Array.isArray(v) ? [...v].sort() : v);
  return JSON.stringify(norm(a) ?? null) === JSON.stringify(norm(b) ?? null);
}

/** The InstrumentPatchInput of what changed between `saved` and `values`. */
export function patchOf(saved, values) {
  const patch = {};
  for (const field of DETAILS) {
    if (!same(field, saved[field], values[field])) patch[field] = values[field];
  }
  return patch;
}

function sameInstant(a, b) {
  if (!a || !b) return !a && !b;
  return new Date(a).getTime() === new Date(b).getTime();
}

export function scheduleChanged(saved, values) {
  return (
    (saved.openingDate ?? null) !== (values.openingDate ?? null) ||
    !sameInstant(saved.deadline, values.deadline) ||
    (saved.timeZone ?? null) !== (values.timeZone ?? null)
  );
}

const splitCodes = (raw, upper) =>
  [...new Set(raw.split(/[\s,;]+/).map((c) => c.trim()).filter(Boolean).map((c) => (upper ? c.toUpperCase() : c.toLowerCase())))];

/** Loads an instrument, waiting a moment for one just created (the read side follows the log). */
async function loadInstrument(id) {
  for (let attempt = 0; attempt < 20; attempt += 1) {
    const { instrument } = await gql(INSTRUMENT, { id, consistentWith: logPosition() });
    if (instrument || attempt === 19) return instrument;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  return null;
}

export async function render(view, params) {
  const title = params.id ? 'Edit instrument' : 'New instrument';
  replace(view, h('h1', {}, title), h('p', { class: 'loading' }, 'Loading…'));
  let user;
  let tax;
  let instrument = null;
  try {
    [user, tax] = await Promise.all([currentUser(), taxonomy()]);
    if (user.me && params.id) instrument = await loadInstrument(params.id);
  } catch (error) {
    replace(view, h('h1', {}, title), notice('error', `The form cannot be shown: ${error.message}`));
    pageReady(view, title);
    return null;
  }
  if (!user.me || !user.me.canCurate) {
    replace(
      view,
      h('h1', {}, title),
      notice('info', 'Sign in as a curator to draft and edit instruments. ', h('a', { href: '/curate' }, 'Sign in')),
    );
    pageReady(view, title);
    return null;
  }
  if (params.id && !instrument) {
    replace(view, h('h1', {}, 'No such instrument'), h('p', {}, 'Your organisation has no instrument with this address. ', h('a', { href: '/curate' }, 'Back to your instruments')));
    pageReady(view, 'No such instrument');
    return null;
  }
  if (instrument && instrument.curator.slug !== user.me.tenant) {
    replace(
      view,
      h('h1', {}, instrument.title),
      notice('error', `This instrument is curated by ${instrument.curator.name ?? instrument.curator.slug}; you can only edit your own organisation’s instruments.`),
    );
    pageReady(view, instrument.title);
    return null;
  }
  return editor(view, tax, instrument);
}

function editor(view, tax, instrument) {
  // What the API holds, as far as this page knows; the version every change is based on.
  const state = {
    id: instrument?.id ?? null,
    version: instrument?.version ?? null,
    status: instrument?.status ?? null,
    saved: instrument
      ? fromInstrument(instrument)
      : { features: [], openingDate: null, deadline: null, timeZone: null },
  };
  const fields = new Map(); // API field name -> { wrapper, control, error, labelText }

  function field(name, labelText, control, hint = null) {
    const errorId = `${control.id}-error`;
    const hintId = hint ? `${control.id}-hint` : null;
    const error = h('p', { class: 'field-error', id: errorId, hidden: true });
    if (hintId) control.setAttribute('aria-describedby', hintId);
    const wrapper = h(
      'div',
      { class: 'field' },
      h('label', { for: control.id }, labelText),
      hint ? h('p', { class: 'hint', id: hintId }, hint) : null,
      error,
      control,
    );
    fields.set(name, { wrapper, control, error, labelText, hintId });
    return wrapper;
  }

  function group(name, legendText, controls, hint = null, className = '') {
    const error = h('p', { class: 'field-error', id: `f-${name}-error`, hidden: true });
    const wrapper = h(
      'fieldset',
      { class: `field group ${className}`, id: `f-${name}` },
      h('legend', {}, legendText),
      hint ? h('p', { class: 'hint' }, hint) : null,
      error,
      controls,
    );
    const first = () => wrapper.querySelector('input');
    fields.set(name, { wrapper, control: null, first, error, labelText: legendText });
    return wrapper;
  }

  const input = (id, attrs = {}) => h('input', { id, name: id, ...attrs });
  const select = (id, options, { empty = null } = {}) =>
    h(
      'select',
      { id, name: id },
      empty !== null ? h('option', { value: '' }, empty) : null,
      options.map((v) => h('option', { value: v }, label(v))),
    );

  const c = {
    title: input('f-title', { type: 'text', maxlength: '300', required: true, autocomplete: 'off' }),
    kind: select('f-kind', KINDS),
    coverLevel: select('f-coverLevel', COVER_LEVELS),
    countries: input('f-countries', { type: 'text', autocomplete: 'off', spellcheck: 'false' }),
    programme: input('f-programme', { type: 'text', autocomplete: 'off' }),
    link: input('f-link', { type: 'url', autocomplete: 'off', spellcheck: 'false' }),
    summary: h('textarea', { id: 'f-summary', name: 'f-summary', rows: '5' }),
    fundingMin: input('f-funding-min', { type: 'text', inputmode: 'numeric', autocomplete: 'off' }),
    fundingMax: input('f-funding-max', { type: 'text', inputmode: 'numeric', autocomplete: 'off' }),
    currency: input('f-funding-currency', { type: 'text', maxlength: '3', autocomplete: 'off', spellcheck: 'false' }),
    periodicity: select('f-periodicity', PERIODICITIES, { empty: 'Not given' }),
    languages: input('f-languages', { type: 'text', autocomplete: 'off', spellcheck: 'false' }),
    openingDate: input('f-openingDate', { type: 'date' }),
    deadline: input('f-deadline', { type: 'datetime-local' }),
    timeZone: input('f-timeZone', { type: 'text', list: 'time-zones', autocomplete: 'off', spellcheck: 'false' }),
  };
  const targets = new Map(
    TARGET_ORGANISATIONS.map((v) => [v, input(`f-target-${v}`, { type: 'checkbox', value: v })]),
  );
  const features = new Map();
  for (const category of tax.categories) {
    for (const f of category.features) features.set(f.code, input(`f-feature-${f.code}`, { type: 'checkbox', value: f.code }));
  }
  let zones = [];
  try {
    zones = Intl.supportedValuesOf('timeZone');
  } catch {
    zones = [];
  }

  const summaryBox = h('div', { class: 'error-summary-slot' });
  const status = h('div', { class: 'save-status', role: 'status', 'aria-live': 'polite' });
  const saveButton = h('button', { type: 'submit' }, state.id ? 'Save changes' : 'Save draft');
  const heading = h('h1', {}, instrument ? instrument.title : 'New instrument');
  const lifecycle = h('section', { class: 'lifecycle', 'aria-labelledby': 'lifecycle-title' });
  const formFields = h(
    'fieldset',
    { class: 'form-body' },
    h('legend', { class: 'visually-hidden' }, 'The instrument'),
    h(
      'section',
      { class: 'form-section', 'aria-labelledby': 'sec-basics' },
      h('h2', { id: 'sec-basics' }, 'What it is'),
      field('title', 'Title', c.title),
      h('div', { class: 'field-row' }, field('kind', 'Kind', c.kind), field('coverLevel', 'Origin', c.coverLevel)),
      field('countries', 'Countries', c.countries, 'ISO codes, separated by commas, e.g. LT, LV. Needed for a national or regional instrument.'),
      field('programme', 'Programme (optional)', c.programme),
      field('link', 'Link (optional)', c.link, 'The instrument’s own page, starting with https://'),
      field('summary', 'Summary', c.summary, 'What it funds and for whom, in a few sentences.'),
    ),
    h(
      'section',
      { class: 'form-section', 'aria-labelledby': 'sec-who' },
      h('h2', { id: 'sec-who' }, 'Who and how much'),
      group(
        'targetOrganisations',
        'For',
        h('div', { class: 'options columns' }, [...targets].map(([v, box]) => h('div', { class: 'option' }, box, h('label', { for: box.id }, label(v))))),
      ),
      h(
        'div',
        { class: 'field-row' },
        field('funding.min', 'Least funding (optional)', c.fundingMin, 'A whole amount.'),
        field('funding.max', 'Most funding (optional)', c.fundingMax, 'A whole amount.'),
        field('funding.currency', 'Currency', c.currency, 'ISO 4217, e.g. EUR.'),
      ),
      h('div', { class: 'field-row' }, field('periodicity', 'Periodicity', c.periodicity), field('languages', 'Languages (optional)', c.languages, 'ISO 639-1 codes, e.g. en, lt.')),
    ),
    h(
      'section',
      { class: 'form-section', 'aria-labelledby': 'sec-features' },
      h('h2', { id: 'sec-features' }, 'Features funded'),
      group(
        'features',
        'Features',
        tax.categories.map((category) =>
          h(
            'fieldset',
            { class: 'category' },
            h('legend', {}, `${category.label} (${category.prefix})`),
            h(
              'div',
              { class: 'options columns' },
              category.features.map((f) => {
                const box = features.get(f.code);
                return h('div', { class: 'option' }, box, h('label', { for: box.id }, h('span', { class: 'code' }, f.code), ' ', f.label));
              }),
            ),
          ),
        ),
        'A published instrument funds at least one feature.',
        'features-group',
      ),
    ),
    h(
      'section',
      { class: 'form-section', 'aria-labelledby': 'sec-schedule' },
      h('h2', { id: 'sec-schedule' }, 'Schedule'),
      h(
        'div',
        { class: 'field-row' },
        field('openingDate', 'Opens on (optional)', c.openingDate),
        field('deadline', 'Deadline', c.deadline, 'Date and time as the clocks of the time zone below show it. A call needs one in the future to be published.'),
        field('timeZone', 'Time zone', c.timeZone, 'IANA name, e.g. Europe/Vilnius.'),
      ),
      h('datalist', { id: 'time-zones' }, zones.map((z) => h('option', { value: z }))),
    ),
  );
  const form = h(
    'form',
    { class: 'instrument-form', novalidate: true, onsubmit: (event) => { event.preventDefault(); save(); } },
    formFields,
    h('div', { class: 'form-actions' }, saveButton, h('a', { href: '/curate' }, 'Back to your instruments')),
  );

  function fill(values) {
    c.title.value = values.title ?? '';
    c.kind.value = values.kind ?? 'CALL';
    c.coverLevel.value = values.coverLevel ?? 'NATIONAL';
    c.countries.value = (values.countries ?? []).join(', ');
    c.programme.value = values.programme ?? '';
    c.link.value = values.link ?? '';
    c.summary.value = values.summary ?? '';
    for (const [v, box] of targets) box.checked = (values.targetOrganisations ?? []).includes(v);
    c.fundingMin.value = values.funding?.min ?? '';
    c.fundingMax.value = values.funding?.max ?? '';
    c.currency.value = values.funding?.currency ?? 'EUR';
    c.periodicity.value = values.periodicity ?? '';
    c.languages.value = (values.languages ?? []).join(', ');
    for (const [code, box] of features) box.checked = (values.features ?? []).includes(code);
    c.openingDate.value = values.openingDate ?? '';
    const zone = values.timeZone && isTimeZone(values.timeZone) ? values.timeZone : null;
    c.timeZone.value = values.timeZone ?? (values.deadline ? 'UTC' : localZone());
    c.deadline.value = values.deadline ? instantToZoned(values.deadline, zone ?? 'UTC') : '';
  }

  /** The form as the API's values, or the fields that cannot be read. */
  function readForm() {
    const errors = [];
    const amount = (control, name) => {
      const raw = control.value.replace(/[\s_,.'’]/g, '');
      if (!raw) return null;
      if (!/^\d{1,15}$/.test(raw)) {
        errors.push({ field: name, code: 'BAD_USER_INPUT', message: 'must be a whole amount, e.g. 50000' });
        return null;
      }
      return Number(raw);
    };
    const min = amount(c.fundingMin, 'funding.min');
    const max = amount(c.fundingMax, 'funding.max');
    const currency = c.currency.value.trim().toUpperCase() || 'EUR';
    const timeZone = c.timeZone.value.trim() || null;
    let deadline = null;
    if (c.deadline.value) {
      if (!timeZone) {
        errors.push({ field: 'timeZone', code: 'BAD_USER_INPUT', message: 'give the time zone the deadline is in' });
      } else if (!isTimeZone(timeZone)) {
        errors.push({ field: 'timeZone', code: 'BAD_USER_INPUT', message: `${timeZone} is not a time zone name this browser knows` });
      } else {
        deadline = zonedToInstant(c.deadline.value, timeZone);
        if (!deadline) errors.push({ field: 'deadline', code: 'BAD_USER_INPUT', message: 'give a date and a time' });
      }
    } else if (c.deadline.validity && c.deadline.validity.badInput) {
      errors.push({ field: 'deadline', code: 'BAD_USER_INPUT', message: 'give a date and a time' });
    }
    const values = {
      title: c.title.value,
      kind: c.kind.value,
      coverLevel: c.coverLevel.value,
      countries: splitCodes(c.countries.value, true),
      programme: c.programme.value.trim() || null,
      link: c.link.value.trim() || null,
      summary: c.summary.value,
      targetOrganisations: [...targets].filter(([, b]) => b.checked).map(([v]) => v),
      funding: min === null && max === null ? null : { min, max, currency },
      periodicity: c.periodicity.value || null,
      languages: splitCodes(c.languages.value, false),
      features: [...features].filter(([, b]) => b.checked).map(([v]) => v),
      openingDate: c.openingDate.value || null,
      deadline,
      // The zone belongs to the deadline; without one it stays as it was.
      timeZone: c.deadline.value ? timeZone : (state.saved.timeZone ?? null),
    };
    return { values, errors };
  }

  function clearErrors() {
    replace(summaryBox);
    for (const f of fields.values()) {
      f.error.hidden = true;
      f.error.textContent = '';
      f.wrapper.classList.remove('has-error');
      if (f.control) {
        f.control.removeAttribute('aria-invalid');
        if (f.hintId) f.control.setAttribute('aria-describedby', f.hintId);
        else f.control.removeAttribute('aria-describedby');
      }
    }
  }

  function fieldOf(apiField) {
    if (!apiField) return null;
    const name = apiField.replace(/^input\./, '');
    return fields.get(name) ?? fields.get(name.split('.')[0]) ?? (name === 'funding' ? fields.get('funding.min') : null);
  }

  /** Shows `errors` at their fields; `saved` names the steps of this save that were stored. */
  function showErrors(errors, saved = []) {
    clearErrors();
    const partly = saved.length
      ? h('p', { class: 'partly-saved' }, `Saved before the problem: ${saved.join(', ')}. The rest was not saved.`)
      : null;
    if (errors.some((e) => e.code === 'CONFLICT')) {
      const box = notice(
        'error',
        h('h2', {}, 'Someone else changed this instrument'),
        h('p', {}, saved.length ? 'Someone else changed this instrument meanwhile, so the rest of your changes were not saved. Reload to see the current version, then make them again.' : 'Someone else changed this instrument since you opened it, so your changes were not saved. Reload to see the current version, then make your changes again.'),
        partly,
        h('button', { type: 'button', onclick: () => navigate(window.location.pathname, { replace: true }) }, 'Reload the instrument'),
      );
      box.classList.add('conflict');
      box.setAttribute('tabindex', '-1');
      replace(summaryBox, box);
      box.focus();
      return;
    }
    const items = errors.map((e) => {
      const f = fieldOf(e.field);
      if (!f) return h('li', {}, e.message);
      f.error.hidden = false;
      f.error.textContent = f.error.textContent ? `${f.error.textContent}; ${e.message}` : `Error: ${e.message}`;
      f.wrapper.classList.add('has-error');
      if (f.control) {
        f.control.setAttribute('aria-invalid', 'true');
        f.control.setAttribute('aria-describedby', [f.hintId, f.error.id].filter(Boolean).join(' '));
      }
      const target = f.control ?? f.first();
      return h(
        'li',
        {},
        h(
          'a',
          {
            href: `#${target?.id ?? ''}`,
            onclick: (event) => {
              event.preventDefault();
              target?.focus();
            },
          },
          `${f.labelText}: ${e.message}`,
        ),
      );
    });
    const box = h(
      'div',
      { class: 'error-summary', role: 'alert', tabindex: '-1', 'aria-labelledby': 'error-summary-title' },
      h('h2', { id: 'error-summary-title' }, 'There is a problem'),
      partly,
      h('ul', {}, items),
    );
    replace(summaryBox, box);
    box.focus();
  }

  function problem(error) {
    if (error instanceof ApiError) return error.errors;
    return [{ message: String(error?.message ?? error), code: 'INTERNAL', field: null }];
  }

  let busy = false;
  function setBusy(on) {
    busy = on;
    form.setAttribute('aria-busy', String(on));
    saveButton.disabled = on;
    for (const b of lifecycle.querySelectorAll('button')) b.disabled = on;
  }

  /** Saves what changed; true when everything was stored. */
  async function store() {
    const { values, errors } = readForm();
    if (errors.length > 0) {
      showErrors(errors);
      return false;
    }
    // The steps stored so far: a later step that fails must not hide that these were.
    const saved = [];
    try {
      if (!state.id) {
        const input = Object.fromEntries(DETAILS.map((f) => [f, values[f]]));
        const { draftInstrument } = await gql(DRAFT, { input });
        state.id = draftInstrument.id;
        state.version = draftInstrument.version;
        state.status = 'DRAFT';
        state.saved = { ...input, features: [], openingDate: null, deadline: null, timeZone: null };
        // The page is the instrument's own from now on (reload and share work).
        history.replaceState(null, '', `/curate/${encodeURIComponent(state.id)}`);
        saveButton.textContent = 'Save changes';
        saved.push('the new draft with its details');
      } else {
        const patch = patchOf(state.saved, values);
        if (Object.keys(patch).length > 0) {
          const { reviseInstrument } = await gql(REVISE, { id: state.id, expectedVersion: state.version, input: patch });
          state.version = reviseInstrument.version;
          Object.assign(state.saved, patch);
          saved.push('the details');
        }
      }
      const add = values.features.filter((f) => !state.saved.features.includes(f));
      const remove = state.saved.features.filter((f) => !values.features.includes(f));
      if (add.length > 0) {
        const { tagInstrumentFeatures } = await gql(TAG, { id: state.id, expectedVersion: state.version, features: add });
        state.version = tagInstrumentFeatures.version;
        state.saved.features = [...state.saved.features, ...add];
        saved.push('the added features');
      }
      if (remove.length > 0) {
        const { untagInstrumentFeatures } = await gql(UNTAG, { id: state.id, expectedVersion: state.version, features: remove });
        state.version = untagInstrumentFeatures.version;
        state.saved.features = state.saved.features.filter((f) => !remove.includes(f));
        saved.push('the removed features');
      }
      if (scheduleChanged(state.saved, values)) {
        const schedule = { openingDate: values.openingDate, deadline: values.deadline, timeZone: values.timeZone };
        const { setInstrumentDeadline } = await gql(SET_DEADLINE, { id: state.id, expectedVersion: state.version, ...schedule });
        state.version = setInstrumentDeadline.version;
        Object.assign(state.saved, schedule);
      }
      heading.textContent = state.saved.title;
      clearErrors();
      drawLifecycle();
      return true;
    } catch (error) {
      showErrors(problem(error), saved);
      drawLifecycle();
      return false;
    }
  }

  async function save() {
    if (busy) return;
    setBusy(true);
    replace(status);
    const ok = await store();
    setBusy(false);
    if (ok) {
      replace(status, notice('success', `Saved (version ${state.version}).`));
      announce(`Saved, version ${state.version}.`);
      document.title = `${state.saved.title} · Regional Invest`;
    }
  }

  async function act(mutation, variables, done) {
    if (busy) return;
    setBusy(true);
    replace(status);
    // Unsaved changes go first, so that what is published is what the form shows.
    const stored = await store();
    if (!stored) {
      setBusy(false);
      return;
    }
    try {
      const data = await gql(mutation, { id: state.id, expectedVersion: state.version, ...variables });
      const change = Object.values(data)[0];
      state.version = change.version;
      state.status = done.status;
      clearErrors();
      const message = notice('success', done.message, ' ', state.status === 'OPEN' ? h('a', { href: `/instruments/${encodeURIComponent(state.id)}` }, 'See its public page') : null);
      message.setAttribute('tabindex', '-1');
      replace(status, message);
      message.focus();
    } catch (error) {
      showErrors(problem(error));
    } finally {
      setBusy(false);
      drawLifecycle();
    }
  }

  function drawLifecycle() {
    const heading2 = h('h2', { id: 'lifecycle-title' }, 'Status');
    if (!state.id) {
      replace(lifecycle, heading2, h('p', {}, 'Not saved yet. Save the draft, then publish it when it is complete.'));
      return;
    }
    const s = state.status;
    const parts = [
      heading2,
      h('p', {}, 'Now: ', h('span', { class: `badge status-${s.toLowerCase()}` }, label(s)), ` (version ${state.version}).`),
    ];
    if (s === 'ARCHIVED') {
      parts.push(h('p', {}, 'Archived: it has left the search for good and cannot change. Its history stays.'));
      formFields.disabled = true;
      saveButton.hidden = true;
      replace(lifecycle, parts);
      return;
    }
    const actions = h('div', { class: 'actions' });
    if (s === 'DRAFT' || s === 'WITHDRAWN') {
      actions.appendChild(
        h('button', { type: 'button', onclick: () => act(PUBLISH, {}, { status: 'OPEN', message: 'Published: it is in the public search now.' }) }, 'Publish'),
      );
    }
    if (s === 'OPEN' || s === 'CLOSED') {
      const reason = h('input', { id: 'withdraw-reason', type: 'text', autocomplete: 'off' });
      const reasonError = h('p', { class: 'field-error', id: 'withdraw-reason-error', hidden: true });
      actions.appendChild(
        h(
          'div',
          { class: 'withdraw' },
          h('label', { for: 'withdraw-reason' }, 'Reason for withdrawing'),
          reasonError,
          reason,
          h(
            'button',
            {
              type: 'button',
              class: 'secondary',
              onclick: () => {
                if (!reason.value.trim()) {
                  reasonError.textContent = 'Error: say why it is withdrawn.';
                  reasonError.hidden = false;
                  reason.setAttribute('aria-invalid', 'true');
                  reason.setAttribute('aria-describedby', reasonError.id);
                  reason.focus();
                  return;
                }
                act(WITHDRAW, { reason: reason.value.trim() }, { status: 'WITHDRAWN', message: 'Withdrawn: it has left the public search.' });
              },
            },
            'Withdraw',
          ),
        ),
      );
    }
    const confirm = h('div', { class: 'confirm', hidden: true });
    const archive = h(
      'button',
      {
        type: 'button',
        class: 'danger',
        'aria-expanded': 'false',
        onclick: () => {
          confirm.hidden = false;
          archive.setAttribute('aria-expanded', 'true');
          confirm.querySelector('button')?.focus();
        },
      },
      'Archive…',
    );
    replace(
      confirm,
      h('p', {}, 'Archive for good? It leaves the search and can no longer change; its history stays.'),
      h('button', { type: 'button', class: 'danger', onclick: () => act(ARCHIVE, {}, { status: 'ARCHIVED', message: 'Archived.' }) }, 'Archive for good'),
      h(
        'button',
        {
          type: 'button',
          class: 'secondary',
          onclick: () => {
            confirm.hidden = true;
            archive.setAttribute('aria-expanded', 'false');
            archive.focus();
          },
        },
        'Cancel',
      ),
    );
    actions.appendChild(h('div', {}, archive, confirm));
    parts.push(actions);
    replace(lifecycle, parts);
  }

  fill(instrument ? state.saved : { kind: 'CALL', coverLevel: 'NATIONAL', timeZone: localZone() });
  drawLifecycle();
  replace(
    view,
    h('p', { class: 'breadcrumb' }, h('a', { href: '/curate' }, '← Your instruments')),
    heading,
    summaryBox,
    status,
    h('div', { class: 'editor' }, form, lifecycle),
  );
  pageReady(view, instrument ? instrument.title : 'New instrument');
  return null;
}
