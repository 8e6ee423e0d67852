// A follow-up manager registers a project, or edits one: what it is, its consortium, and the
// features it declares (the taxonomy's checkboxes by category). Saving registers it (or revises
// what changed) and then declares and retracts features; every error the API gives is shown at
// its field, and a refusal after a step was stored says so.

import { gql, logPosition, ApiError } from '../api.js';
import { DECLARE_PROJECT_FEATURES, PROJECT, REGISTER_PROJECT, RETRACT_PROJECT_FEATURES, REVISE_PROJECT } from '../operations.js';
import { fieldError, h, replace, notice } from '../dom.js';
import { navigate, pageReady } from '../nav.js';
import { label } from '../format.js';
import { taxonomy } from '../taxonomy.js';
import { managesProjects, signedIn, whoIsSignedIn } from '../signin.js';

const NEW_TITLE = 'Register a project';
const INTRO = 'A funded project your organisation follows up, described with the shared feature taxonomy so that it is matched to instruments.';

/**
 * The consortium as typed, one partner a line, "Name, CC": `{ members }`, or `{ error }` naming
 * the first line that is not a name and a two-letter country.
 */
export function parseConsortium(text) {
  const members = [];
  const lines = text.split(/\r?\n/).map((l) => l.trim());
  for (const [i, line] of lines.entries()) {
    if (!line) continue;
    const at = line.lastIndexOf(',');
    const name = at > 0 ? line.slice(0, at).trim() : '';
    const country = at > 0 ? line.slice(at + 1).trim().toUpperCase() : '';
    if (!name || !/^[A-Z]{2}$/.test(country)) {
      return { error: `line ${i + 1}: write the partner’s name, a comma and its country’s two-letter code, e.g. Vasco, LT` };
    }
    members.push({ name, country });
  }
  return { members };
}

/** The consortium as the form shows it, a partner a line. */
export function consortiumText(members) {
  return members.map((m) => `${m.name}, ${m.country}`).join('\n');
}

/**
 * What an edit changed, as `reviseProject`'s input: changed fields only; an optional field
 * emptied is null (cleared); the consortium whole when any partner changed.
 */
export function patchOf(saved, values) {
  const patch = {};
  for (const key of ['acronym', 'title', 'summary']) if (values[key] !== saved[key]) patch[key] = values[key];
  for (const key of ['openCall', 'stage', 'leadCountry']) {
    if ((values[key] || null) !== (saved[key] || null)) patch[key] = values[key] || null;
  }
  if (JSON.stringify(values.consortium) !== JSON.stringify(saved.consortium)) patch.consortium = values.consortium;
  return patch;
}

export async function render(view, params) {
  const editing = Boolean(params.id);
  let TITLE = editing ? 'Edit the project' : NEW_TITLE;
  const me = await signedIn(view, TITLE, INTRO);
  if (!me) return null;
  if (!managesProjects(me)) {
    replace(
      view,
      h('h1', {}, TITLE),
      whoIsSignedIn(me),
      notice('error', 'Registering projects needs the follow-up manager role. Ask your organisation’s admin for it.'),
    );
    pageReady(view, TITLE);
    return null;
  }
  let tax;
  let project = null;
  try {
    [tax, project] = await Promise.all([
      taxonomy(),
      editing ? gql(PROJECT, { id: params.id, first: 0, consistentWith: logPosition() }).then((d) => d.project) : null,
    ]);
  } catch (error) {
    replace(view, h('h1', {}, TITLE), notice('error', `The project cannot be edited: ${error.message}`));
    pageReady(view, TITLE);
    return null;
  }
  if (editing && !project) {
    replace(view, h('h1', {}, 'No such project'), notice('error', 'There is no such project among your organisation’s.'), h('p', {}, h('a', { href: '/projects' }, 'All projects')));
    pageReady(view, 'No such project');
    return null;
  }
  if (project) TITLE = `Edit ${project.acronym}`;

  const fields = new Map();
  const field = (name, labelText, control, hint = null) => {
    const id = `p-${name}`;
    control.id = id;
    const error = h('p', { id: `${id}-error`, class: 'field-error', hidden: true });
    const hintEl = hint ? h('p', { id: `${id}-hint`, class: 'hint' }, hint) : null;
    control.setAttribute('aria-describedby', [hintEl?.id, error.id].filter(Boolean).join(' '));
    fields.set(name, { control, error });
    return h('div', { class: 'field' }, h('label', { for: id }, labelText), hintEl, control, error);
  };
  const c = {
    acronym: h('input', { name: 'acronym', required: true, maxlength: '40' }),
    title: h('input', { name: 'title', required: true }),
    openCall: h('input', { name: 'openCall' }),
    stage: h('select', { name: 'stage' }, h('option', { value: '' }, 'Not said'), ['PROTOTYPING', 'DEMONSTRATOR'].map((v) => h('option', { value: v }, label(v)))),
    leadCountry: h('input', { name: 'leadCountry', maxlength: '2', autocomplete: 'off' }),
    consortium: h('textarea', { name: 'consortium', rows: '4' }),
    summary: h('textarea', { name: 'summary', rows: '4' }),
  };
  const boxes = new Map();
  const featureError = h('p', { id: 'p-features-error', class: 'field-error', hidden: true });
  const features = h(
    'fieldset',
    { class: 'field group', 'aria-describedby': 'p-features-error' },
    h('legend', {}, 'Features'),
    featureError,
    tax.categories.map((category) =>
      h(
        'details',
        { class: 'feature-category' },
        h('summary', {}, category.label),
        h(
          'div',
          { class: 'options columns' },
          category.features.map((f) => {
            const box = h('input', { type: 'checkbox', id: `p-feature-${f.code}`, value: f.code });
            boxes.set(f.code, box);
            return h('div', { class: 'option' }, box, h('label', { for: box.id }, `${f.code} ${f.label}`));
          }),
        ),
      ),
    ),
  );
  fields.set('features', { control: boxes.values().next().value, error: featureError });

  // What is stored: the registered project's fields and features (none before registering).
  let saved = null;
  let version = null;
  let id = project?.id ?? null;
  const values = () => ({
    acronym: c.acronym.value.trim(),
    title: c.title.value.trim(),
    openCall: c.openCall.value.trim() || null,
    stage: c.stage.value || null,
    leadCountry: c.leadCountry.value.trim().toUpperCase() || null,
    summary: c.summary.value.trim(),
    consortium: parseConsortium(c.consortium.value).members ?? [],
  });
  if (project) {
    c.acronym.value = project.acronym;
    c.title.value = project.title;
    c.openCall.value = project.openCall ?? '';
    c.stage.value = project.stage ?? '';
    c.leadCountry.value = project.leadCountry ?? '';
    c.consortium.value = consortiumText(project.consortium);
    c.summary.value = project.summary ?? '';
    for (const f of project.features) {
      const box = boxes.get(f.code);
      if (box) box.checked = true;
    }
    saved = { ...values(), features: project.features.map((f) => f.code) };
    version = project.version;
  }

  const summaryBox = h('div', {});
  const submit = h('button', { type: 'submit' }, editing ? 'Save changes' : 'Register the project');

  const clear = () => {
    for (const { control, error } of fields.values()) fieldError(control, error, '');
    replace(summaryBox);
  };
  const show = (errors, stored) => {
    const items = errors.map((e) => {
      const key = (e.field ?? '').replace(/^input\./, '').split('.')[0].split('[')[0];
      const f = fields.get(key);
      if (f) fieldError(f.control, f.error, `Error: ${e.message}`);
      return h('li', {}, f ? `${key === 'features' ? 'Features' : f.control.labels?.[0]?.textContent ?? key}: ${e.message}` : e.message);
    });
    const box = h(
      'div',
      { class: 'error-summary', role: 'alert', tabindex: '-1', 'aria-labelledby': 'p-error-title' },
      h('h2', { id: 'p-error-title' }, 'There is a problem'),
      stored.length ? h('p', { class: 'partly-saved' }, `Saved before the problem: ${stored.join(', ')}. The rest was not saved.`) : null,
      h('ul', {}, items),
    );
    replace(summaryBox, box);
    box.focus();
  };

  const form = h(
    'form',
    {
      class: 'project-form',
      novalidate: true,
      onsubmit: async (event) => {
        event.preventDefault();
        clear();
        const consortium = parseConsortium(c.consortium.value);
        const local = [];
        if (!c.acronym.value.trim()) local.push({ field: 'acronym', message: 'give the project’s acronym' });
        if (!c.title.value.trim()) local.push({ field: 'title', message: 'give the project’s title' });
        if (consortium.error) local.push({ field: 'consortium', message: consortium.error });
        if (local.length) return show(local, []);
        const chosen = [...boxes].filter(([, b]) => b.checked).map(([code]) => code);
        const now = { ...values(), consortium: consortium.members };
        const stored = [];
        submit.disabled = true;
        try {
          if (!id) {
            const { registerProject } = await gql(REGISTER_PROJECT, { input: now });
            ({ id, version } = registerProject);
            saved = { ...now, features: [] };
            stored.push('the project');
            // From now on the form edits the registered project.
            submit.textContent = 'Save changes';
          } else {
            const patch = patchOf(saved, now);
            if (Object.keys(patch).length) {
              const { reviseProject } = await gql(REVISE_PROJECT, { id, expectedVersion: version, input: patch });
              version = reviseProject.version;
              Object.assign(saved, patch);
              stored.push('the details');
            }
          }
          const add = chosen.filter((code) => !saved.features.includes(code));
          const remove = saved.features.filter((code) => !chosen.includes(code));
          if (add.length) {
            const { declareProjectFeatures } = await gql(DECLARE_PROJECT_FEATURES, { id, expectedVersion: version, features: add });
            version = declareProjectFeatures.version;
            saved.features = [...saved.features, ...add];
            stored.push('the added features');
          }
          if (remove.length) {
            const { retractProjectFeatures } = await gql(RETRACT_PROJECT_FEATURES, { id, expectedVersion: version, features: remove });
            version = retractProjectFeatures.version;
            saved.features = saved.features.filter((code) => !remove.includes(code));
          }
          // The project's page waits until it has read this tab's change (consistentWith).
          navigate(`/projects/${encodeURIComponent(id)}`);
        } catch (error) {
          const conflict = error instanceof ApiError && error.has('CONFLICT');
          const errors = conflict
            ? [{ message: 'Someone else changed this project meanwhile: reload the page to see the current version, then make your changes again.' }]
            : error instanceof ApiError
              ? error.errors
              : [{ message: String(error?.message ?? error) }];
          show(errors, stored);
        } finally {
          submit.disabled = false;
        }
      },
    },
    summaryBox,
    field('acronym', 'Acronym', c.acronym, 'Unique among your organisation’s projects, e.g. VASCREEN.'),
    field('title', 'Title', c.title),
    field('openCall', 'Open call (optional)', c.openCall, 'The call that funded it, e.g. SecurIT Open Call 1.'),
    h('div', { class: 'field-row' }, field('stage', 'Stage', c.stage), field('leadCountry', 'Lead country (optional)', c.leadCountry, 'Two letters, e.g. LT.')),
    field('consortium', 'Consortium (optional)', c.consortium, 'One partner a line: the name, a comma, the country, e.g. Vasco, LT.'),
    field('summary', 'Summary (optional)', c.summary),
    features,
    submit,
  );

  replace(
    view,
    h('p', { class: 'breadcrumb' }, h('a', { href: '/projects' }, 'Projects')),
    h('h1', {}, TITLE),
    editing ? null : h('p', { class: 'lede' }, INTRO),
    whoIsSignedIn(me),
    form,
  );
  pageReady(view, TITLE);
  return null;
}
