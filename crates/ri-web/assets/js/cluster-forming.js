// Forming clusters, on the clusters page (steps 1 to 3 of the deliverable's clustering
// practice, section 3.3): for follow-up managers and tenant admins, naming an end-user area
// and forming a cluster around one. Operations are this module's own (marked GraphQL, so the
// schema test checks them). Also the small form kit the dashboard's members part uses: fields
// with their error boxes, and a refused mutation's errors shown at their fields.

import { gql, ApiError } from './api.js';
import { fieldError, h, replace, notice } from './dom.js';
import { navigate } from './nav.js';
import { label } from './format.js';

export const AREAS = /* GraphQL */ `
query WebAreas {
  areas { id version name domain ownDomain description clusterCount }
}`;

export const NAME_AREA = /* GraphQL */ `
mutation WebNameEndUserArea($input: NameEndUserAreaInput!) {
  nameEndUserArea(input: $input) { id version }
}`;

export const FORM_CLUSTER = /* GraphQL */ `
mutation WebFormCluster($input: FormClusterInput!) {
  formCluster(input: $input) { id version }
}`;

export const FORMED_CLUSTER = /* GraphQL */ `
query WebFormedCluster($id: ID!) {
  cluster(id: $id) { id version }
}`;

/** The security domains an area is named within, in the deliverable's order. */
export const DOMAINS = ['SENSITIVE_INFRASTRUCTURE_PROTECTION', 'DISASTER_RESILIENCE', 'PUBLIC_SPACE_PROTECTION', 'OWN'];

const DOMAIN_LABELS = {
  SENSITIVE_INFRASTRUCTURE_PROTECTION: 'Sensitive infrastructure protection',
  DISASTER_RESILIENCE: 'Disaster resilience',
  PUBLIC_SPACE_PROTECTION: 'Public space protection',
  OWN: 'Your organisation’s own domain',
};

/** An area's domain in words: the security domain, or the name of the tenant's own. */
export function domainName(area) {
  if (area.domain === 'OWN') return area.ownDomain || DOMAIN_LABELS.OWN;
  return DOMAIN_LABELS[area.domain] ?? label(area.domain);
}

/** The key of the form field an API error's `field` names: `input.name` → `name`. */
export function errorKey(field) {
  return (field ?? '').replace(/^input\./, '').split('.')[0].split('[')[0];
}

/** An error's message as shown at its field: without the field's name the API puts first. */
export function fieldMessage(error) {
  const message = String(error.message ?? '');
  for (const prefix of [error.field, errorKey(error.field)]) {
    if (prefix && message.startsWith(`${prefix}: `)) return message.slice(prefix.length + 2);
  }
  return message;
}

/**
 * `nameEndUserArea`'s input from the form's values: `{ input }`, or `{ errors }` (field and
 * message) for what the form can tell itself. The own domain's name goes only with `OWN`; the
 * API judges whether it is given.
 */
export function areaInput({ name, domain, ownDomain, description }) {
  const errors = [];
  if (!name.trim()) errors.push({ field: 'name', message: 'give the area’s name' });
  if (!DOMAINS.includes(domain)) errors.push({ field: 'domain', message: 'choose the security domain' });
  if (errors.length) return { errors };
  return {
    input: {
      name: name.trim(),
      domain,
      ownDomain: domain === 'OWN' ? ownDomain.trim() || null : null,
      description: description.trim(),
    },
  };
}

/** `formCluster`'s input from the form's values: `{ input }` or `{ errors }`. */
export function clusterInput({ areaId, name, description }) {
  const errors = [];
  if (!areaId) errors.push({ field: 'areaId', message: 'choose the end-user area' });
  if (!name.trim()) errors.push({ field: 'name', message: 'give the cluster’s name' });
  if (errors.length) return { errors };
  return { input: { areaId, name: name.trim(), description: description.trim() } };
}

/**
 * A form's fields, each with its label, optional hint and error box; `show(errors)` puts each
 * error at its field (`aliases` maps other names the API uses) and answers those that name none.
 */
export function formFields(prefix, aliases = {}) {
  const fields = new Map();
  const field = (name, labelText, control, hint = null) => {
    const id = `${prefix}-${name}`;
    control.id = id;
    const error = h('p', { id: `${id}-error`, class: 'field-error', hidden: true });
    const hintEl = hint ? h('p', { id: `${id}-hint`, class: 'hint' }, hint) : null;
    control.setAttribute('aria-describedby', [hintEl?.id, error.id].filter(Boolean).join(' '));
    fields.set(name, { control, error, labelText });
    return h('div', { class: 'field' }, h('label', { for: id }, labelText), hintEl, control, error);
  };
  const clear = () => {
    for (const { control, error } of fields.values()) fieldError(control, error, '');
  };
  const show = (errors) => {
    const rest = [];
    let first = null;
    for (const e of errors) {
      const key = errorKey(e.field);
      const f = fields.get(aliases[key] ?? key);
      if (!f) {
        rest.push(e);
        continue;
      }
      const text = f.error.hidden ? `Error: ${fieldMessage(e)}` : `${f.error.textContent}; ${fieldMessage(e)}`;
      fieldError(f.control, f.error, text);
      first ??= f.control;
    }
    first?.focus();
    return rest;
  };
  return { field, clear, show, fields };
}

/** A refusal of the form's own checks, shaped as the API's (BAD_USER_INPUT at each field). */
export function localRefusal(errors) {
  return new ApiError(errors.map((e) => ({ ...e, code: 'BAD_USER_INPUT' })));
}

/** The message of a version conflict, with a button that reloads the page. */
export function conflictNotice(what) {
  return notice(
    'error',
    h('p', {}, `Someone else changed this ${what} since you opened it, so this change was not saved. Reload to see the current version, then try again.`),
    h('button', { type: 'button', onclick: () => navigate(window.location.pathname, { replace: true }) }, 'Reload the page'),
  );
}

/**
 * Shows why a mutation was refused: a conflict says so, every error naming a field is shown at
 * it (`kit.show`), and the rest in `status`, which also says that nothing was saved.
 */
export function showRefusal(error, status, kit, { what = 'cluster', action = 'Not saved' } = {}) {
  if (error instanceof ApiError && error.has('CONFLICT')) {
    replace(status, conflictNotice(what));
    return;
  }
  const errors = error instanceof ApiError ? error.errors : [{ message: String(error?.message ?? error), field: null }];
  const rest = kit ? kit.show(errors) : errors;
  const atFields = errors.length - rest.length;
  replace(
    status,
    notice(
      'error',
      `${action}: `,
      [atFields ? `${atFields === 1 ? 'see the field marked' : 'see the fields marked'}` : null, ...rest.map((e) => e.message.replace(/\.$/, ''))].filter(Boolean).join('; '),
      '. Nothing was stored.',
    ),
  );
}

/** Polls `check` until it answers truthy or `timeout` ms pass; answers the value or null. */
export async function waitFor(check, { timeout = 8000, interval = 300 } = {}) {
  const end = Date.now() + timeout;
  for (;;) {
    try {
      const value = await check();
      if (value) return value;
    } catch {
      // The read side may answer an error while it catches up: try again.
    }
    if (Date.now() > end) return null;
    await new Promise((resolve) => setTimeout(resolve, interval));
  }
}

function areaItem(area) {
  return h(
    'li',
    { class: 'curated', dataset: { area: area.id } },
    h('strong', {}, area.name),
    h(
      'span',
      { class: 'curated-meta' },
      [domainName(area), area.clusterCount == null ? null : `${area.clusterCount} ${area.clusterCount === 1 ? 'cluster' : 'clusters'}`].filter(Boolean).join(' · '),
    ),
    area.description ? h('span', { class: 'curated-meta' }, area.description) : null,
  );
}

/** The area form: name, domain (with the own domain's name), description. */
function areaForm(onNamed) {
  const kit = formFields('area');
  const status = h('div', {});
  const c = {
    name: h('input', { type: 'text', name: 'name', required: true, maxlength: '300', autocomplete: 'off' }),
    domain: h('select', { name: 'domain' }, DOMAINS.map((d) => h('option', { value: d }, DOMAIN_LABELS[d]))),
    ownDomain: h('input', { type: 'text', name: 'ownDomain', maxlength: '300', autocomplete: 'off' }),
    description: h('textarea', { name: 'description', rows: '3' }),
  };
  const submit = h('button', { type: 'submit' }, 'Name the area');
  return h(
    'form',
    {
      class: 'area-form',
      novalidate: true,
      onsubmit: async (event) => {
        event.preventDefault();
        kit.clear();
        replace(status);
        const read = areaInput({ name: c.name.value, domain: c.domain.value, ownDomain: c.ownDomain.value, description: c.description.value });
        if (read.errors) return showRefusal(localRefusal(read.errors), status, kit, { action: 'Not named' });
        submit.disabled = true;
        try {
          const { nameEndUserArea: done } = await gql(NAME_AREA, { input: read.input });
          const area = { id: done.id, version: done.version, clusterCount: 0, ...read.input };
          for (const control of Object.values(c)) if (control.tagName !== 'SELECT') control.value = '';
          replace(status, notice('success', `Named the area “${area.name}”. Form a cluster for it below.`));
          onNamed(area);
        } catch (error) {
          showRefusal(error, status, kit, { what: 'area', action: 'Not named' });
        } finally {
          submit.disabled = false;
        }
        return undefined;
      },
    },
    h('h3', {}, 'Name an end-user area'),
    kit.field('name', 'Area name', c.name, 'What the end users have in common, e.g. Public event security.'),
    kit.field('domain', 'Security domain', c.domain),
    kit.field('ownDomain', 'Own domain’s name (only for your own domain)', c.ownDomain),
    kit.field('description', 'Description (optional)', c.description),
    status,
    h('div', { class: 'form-actions' }, submit),
  );
}

/** The cluster form: the area (a select of the tenant's areas), name, description. */
function clusterForm(areaSelect) {
  const kit = formFields('cluster');
  const status = h('div', {});
  const name = h('input', { type: 'text', name: 'name', required: true, maxlength: '300', autocomplete: 'off' });
  const description = h('textarea', { name: 'description', rows: '3' });
  const submit = h('button', { type: 'submit' }, 'Form the cluster');
  return h(
    'form',
    {
      class: 'cluster-form',
      novalidate: true,
      onsubmit: async (event) => {
        event.preventDefault();
        kit.clear();
        replace(status);
        const read = clusterInput({ areaId: areaSelect.value, name: name.value, description: description.value });
        if (read.errors) return showRefusal(localRefusal(read.errors), status, kit, { action: 'Not formed' });
        submit.disabled = true;
        try {
          const { formCluster: done } = await gql(FORM_CLUSTER, { input: read.input });
          replace(status, notice('info', `Formed the cluster “${read.input.name}”. Opening its dashboard…`));
          // The dashboard reads a model that trails the log by a moment: wait for the cluster.
          const seen = await waitFor(async () => (await gql(FORMED_CLUSTER, { id: done.id })).cluster);
          if (seen) {
            navigate(`/clusters/${encodeURIComponent(done.id)}`);
            return undefined;
          }
          replace(
            status,
            notice('success', `Formed the cluster “${read.input.name}”. Its dashboard is not ready yet: `, h('a', { href: `/clusters/${encodeURIComponent(done.id)}` }, 'open it in a moment'), '.'),
          );
        } catch (error) {
          showRefusal(error, status, kit, { action: 'Not formed' });
        } finally {
          submit.disabled = false;
        }
        return undefined;
      },
    },
    h('h3', {}, 'Form a cluster'),
    kit.field('areaId', 'End-user area', areaSelect, 'The area its projects serve; name a new one above.'),
    kit.field('name', 'Cluster name', name),
    kit.field('description', 'Description (optional)', description),
    status,
    h('div', { class: 'form-actions' }, submit),
  );
}

/**
 * The forms under the clusters list, or null for someone who may not form clusters. A cluster
 * formed opens its dashboard (once the read side has it), so the list needs no redrawing:
 * `onChange` is there for a caller that stays on the list.
 */
export function formingSection(me, manages, { onChange = () => {} } = {}) {
  if (!manages) return null;
  void me;
  void onChange;
  const areas = [];
  const list = h('ul', { class: 'curated-list area-list' });
  const listStatus = h('div', { 'aria-live': 'polite' }, h('p', { class: 'loading' }, 'Loading the areas…'));
  const areaSelect = h('select', { name: 'areaId' }, h('option', { value: '' }, 'Choose an area'));
  const draw = (chosen = areaSelect.value) => {
    areas.sort((a, b) => a.name.localeCompare(b.name));
    replace(list, areas.map(areaItem));
    replace(areaSelect, h('option', { value: '' }, areas.length ? 'Choose an area' : 'No area yet: name one above'), areas.map((a) => h('option', { value: a.id }, a.name)));
    areaSelect.value = chosen;
  };
  gql(AREAS)
    .then(({ areas: found }) => {
      // An area named while the list loaded is kept.
      for (const a of found) if (!areas.some((x) => x.id === a.id)) areas.push(a);
      replace(listStatus, areas.length ? null : h('p', { class: 'hint' }, 'Your organisation has named no end-user area yet.'));
      draw();
    })
    .catch((error) => replace(listStatus, notice('error', `The areas cannot be listed: ${error.message}`)));

  return h(
    'section',
    { class: 'dashboard-section cluster-forming', 'aria-labelledby': 'forming-title' },
    h('h2', { id: 'forming-title' }, 'End-user areas and new clusters'),
    h('p', { class: 'hint' }, 'Name the end-user centric areas first, then form a cluster of projects around one.'),
    listStatus,
    list,
    areaForm((area) => {
      areas.push(area);
      replace(listStatus);
      draw(area.id);
    }),
    clusterForm(areaSelect),
  );
}
