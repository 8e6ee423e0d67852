// What the demo event forms of the cluster dashboard share (js/demo-events.js and
// js/demo-invitations.js): fields with their error messages, the API's refusals shown at those
// fields (a version conflict said plainly, with a reload), the cluster's version as the page
// knows it, the practitioner's fields, and ids made in the browser.

import { ApiError } from './api.js';
import { h, replace, notice } from './dom.js';
import { navigate } from './nav.js';

/** The form field an API error names: `input.practitioner.organisation` → `organisation`, `agenda[1]` → `agenda`. */
export function fieldKey(apiField) {
  if (!apiField) return null;
  return String(apiField).split('.').pop().replace(/\[\d*\]$/, '');
}

/**
 * The cluster's version as this page last knew it, to pass as `expectedVersion`: kept on the
 * page's `cluster` object, which every part of the dashboard reads and advances (js/follow-up.js,
 * js/cluster-members.js), so one part's change is no conflict for the next. A change's result
 * advances it only when nothing came between (its version is the next one); otherwise it stays,
 * and the next change that passes it meets the other change as CONFLICT.
 */
export function clusterVersion(cluster) {
  return {
    get version() {
      return cluster.version;
    },
    advance(result) {
      advanceVersion(cluster, result);
    },
  };
}

/** Advances `cluster.version` to `result.version` when that is the next one. */
export function advanceVersion(cluster, result) {
  if (result && result.version === cluster.version + 1) cluster.version = result.version;
}

/** A random UUID (version 4) from 16 random bytes; crypto.randomUUID needs a secure context. */
export function uuid(bytes = crypto.getRandomValues(new Uint8Array(16))) {
  const b = Uint8Array.from(bytes);
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const hex = [...b].map((x) => x.toString(16).padStart(2, '0')).join('');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** The API's errors of `error` (anything thrown), each `{ message, code, field }`. */
export function problems(error) {
  if (error instanceof ApiError) return error.errors;
  return [{ message: String(error?.message ?? error), code: 'INTERNAL', field: null }];
}

/**
 * A form's fields and their errors, ids starting with `prefix`. `field(key, …)` makes a
 * labelled control with its error line; `register(key, controls, error)` names a group (the
 * first control takes the message's id). `show(errors, what)` puts each error at its field and
 * the rest, with `what` ("The event was not scheduled"), in the form's status; a CONFLICT says
 * to reload instead.
 */
export function formKit(prefix) {
  const fields = new Map();
  const status = h('div', { class: 'form-status' });
  const errorLine = (key) => h('p', { id: `${prefix}-${key}-error`, class: 'field-error', hidden: true });

  const register = (key, controls, error) => {
    for (const c of controls) {
      const described = new Set((c.getAttribute('aria-describedby') ?? '').split(' ').filter(Boolean));
      described.add(error.id);
      c.setAttribute('aria-describedby', [...described].join(' '));
    }
    fields.set(key, { controls, error });
    return error;
  };

  const field = (key, labelText, control, hint = null) => {
    control.id ||= `${prefix}-${key}`;
    const hintEl = hint ? h('p', { id: `${control.id}-hint`, class: 'hint' }, hint) : null;
    if (hintEl) control.setAttribute('aria-describedby', [hintEl.id, control.getAttribute('aria-describedby')].filter(Boolean).join(' '));
    const error = register(key, [control], errorLine(key));
    return h('div', { class: 'field' }, h('label', { for: control.id }, labelText), hintEl, control, error);
  };

  const clear = () => {
    for (const { controls, error } of fields.values()) {
      error.textContent = '';
      error.hidden = true;
      for (const c of controls) c.removeAttribute('aria-invalid');
    }
    replace(status);
  };

  /** Shows `message` at the field `key`; false when the form has no such field. */
  const place = (key, message) => {
    const f = fields.get(key);
    if (!f) return false;
    f.error.textContent = f.error.hidden ? `Error: ${message}` : `${f.error.textContent}; ${message}`;
    f.error.hidden = false;
    for (const c of f.controls) c.setAttribute('aria-invalid', 'true');
    return true;
  };

  const conflict = () => {
    const box = notice(
      'error',
      h('p', {}, 'Someone else changed this cluster since you opened the page, so this was not saved. Reload to see the current version, then try again.'),
      h('button', { type: 'button', onclick: () => navigate(window.location.pathname, { replace: true }) }, 'Reload the dashboard'),
    );
    box.classList.add('conflict');
    replace(status, box);
  };

  /** Shows a refusal; `more(key, message)` may place an error elsewhere (true when it did). */
  const show = (errors, what, more = () => false) => {
    if (errors.some((e) => e.code === 'CONFLICT' && !e.field)) return conflict();
    const unplaced = errors.filter((e) => {
      const key = fieldKey(e.field);
      return !(key && (place(key, e.message) || more(key, e.message)));
    });
    replace(
      status,
      notice(
        'error',
        h('p', {}, `${what}. ${unplaced.length < errors.length ? 'See the fields marked.' : ''}`.trim()),
        unplaced.length ? h('ul', {}, unplaced.map((e) => h('li', {}, e.message))) : null,
      ),
    );
    const first = [...fields.values()].find((f) => !f.error.hidden)?.controls[0];
    first?.focus();
  };

  const done = (message) => replace(status, notice('success', message));

  return { field, register, errorLine, clear, place, show, done, status };
}

export const SECTORS = [
  ['LAW_ENFORCEMENT', 'Law enforcement'],
  ['FIRE_AND_RESCUE', 'Fire and rescue'],
  ['EMERGENCY_MEDICAL', 'Emergency medical services'],
  ['CIVIL_PROTECTION', 'Civil protection'],
  ['BORDER_GUARD', 'Border guard'],
  ['DEFENCE', 'Defence'],
  ['MUNICIPALITY', 'Municipality'],
  ['CRITICAL_INFRASTRUCTURE_OPERATOR', 'Critical infrastructure operator'],
  ['PRIVATE_SECURITY', 'Private security'],
  ['EVENT_ORGANISER', 'Event organiser'],
  ['OTHER', 'Other'],
];

/** "Border guard" for BORDER_GUARD. */
export function sectorLabel(sector) {
  return SECTORS.find(([value]) => value === sector)?.[1] ?? String(sector);
}

/** The practitioner as typed: `{ practitioner }` for the API, or `{ errors }`. */
export function readPractitioner({ organisation = '', country = '', sector = '' }) {
  const errors = [];
  const org = organisation.trim();
  const cc = country.trim().toUpperCase();
  if (!org) errors.push({ field: 'organisation', message: 'give the practitioner’s organisation' });
  if (!/^[A-Z]{2}$/.test(cc)) errors.push({ field: 'country', message: 'give the country as two letters, e.g. LT' });
  if (!SECTORS.some(([value]) => value === sector)) errors.push({ field: 'sector', message: 'choose the sector' });
  return errors.length ? { errors } : { practitioner: { organisation: org, country: cc, sector } };
}

/** The practitioner's fields in `kit`: organisation, country, sector. */
export function practitionerFields(kit) {
  const c = {
    organisation: h('input', { type: 'text', maxlength: '200', autocomplete: 'organization' }),
    country: h('input', { type: 'text', maxlength: '2', autocomplete: 'off', class: 'short' }),
    sector: h('select', {}, h('option', { value: '' }, 'Choose…'), SECTORS.map(([value, text]) => h('option', { value }, text))),
  };
  return {
    controls: c,
    elements: [
      kit.field('organisation', 'Organisation', c.organisation),
      h('div', { class: 'field-row' }, kit.field('country', 'Country', c.country, 'Two letters, e.g. LT.'), kit.field('sector', 'Sector', c.sector)),
    ],
    read: () => readPractitioner({ organisation: c.organisation.value, country: c.country.value, sector: c.sector.value }),
    reset: () => {
      c.organisation.value = '';
      c.country.value = '';
      c.sector.value = '';
    },
  };
}
