// A follow-up manager registers a project: what it is, its consortium, and the features it
// declares (the taxonomy's checkboxes by category). Saving registers it and then declares the
// features; every error the API gives is shown at its field, and a refusal after the project
// was registered says so.

import { gql, ApiError } from '../api.js';
import { DECLARE_PROJECT_FEATURES, REGISTER_PROJECT } from '../operations.js';
import { h, replace, notice } from '../dom.js';
import { navigate, pageReady } from '../nav.js';
import { label } from '../format.js';
import { taxonomy } from '../taxonomy.js';
import { signedIn, whoIsSignedIn } from '../signin.js';
import { fieldError } from '../watch-save.js';

const TITLE = 'Register a project';
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

export async function render(view) {
  const me = await signedIn(view, TITLE, INTRO);
  if (!me) return null;
  if (!me.roles.some((r) => r === 'FOLLOW_UP_MANAGER' || r === 'TENANT_ADMIN')) {
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
  try {
    tax = await taxonomy();
  } catch (error) {
    replace(view, h('h1', {}, TITLE), notice('error', `The feature taxonomy cannot be read: ${error.message}`));
    pageReady(view, TITLE);
    return null;
  }

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

  const summaryBox = h('div', {});
  const submit = h('button', { type: 'submit' }, 'Register the project');
  let registered = null; // { id, version } once registerProject has stored it

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
      stored ? h('p', { class: 'partly-saved' }, `${stored} was registered; its features were not declared. Fix them and save again.`) : null,
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
        if (local.length) return show(local, null);
        const chosen = [...boxes].filter(([, b]) => b.checked).map(([code]) => code);
        submit.disabled = true;
        try {
          if (!registered) {
            const { registerProject } = await gql(REGISTER_PROJECT, {
              input: {
                acronym: c.acronym.value.trim(),
                title: c.title.value.trim(),
                openCall: c.openCall.value.trim() || null,
                stage: c.stage.value || null,
                leadCountry: c.leadCountry.value.trim().toUpperCase() || null,
                consortium: consortium.members,
                summary: c.summary.value.trim(),
              },
            });
            registered = registerProject;
          }
          if (chosen.length) {
            const { declareProjectFeatures } = await gql(DECLARE_PROJECT_FEATURES, {
              id: registered.id,
              expectedVersion: registered.version,
              features: chosen,
            });
            registered.version = declareProjectFeatures.version;
          }
          // The project's page waits until it has read this tab's change (consistentWith).
          navigate(`/projects/${encodeURIComponent(registered.id)}`);
        } catch (error) {
          const errors = error instanceof ApiError ? error.errors : [{ message: String(error?.message ?? error) }];
          show(errors, registered ? c.acronym.value.trim() : null);
          if (registered) {
            // What was registered can no longer be changed here: only the features are sent again.
            for (const control of Object.values(c)) control.disabled = true;
          }
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

  replace(view, h('p', { class: 'breadcrumb' }, h('a', { href: '/projects' }, 'Projects')), h('h1', {}, TITLE), h('p', { class: 'lede' }, INTRO), whoIsSignedIn(me), form);
  pageReady(view, TITLE);
  return null;
}
