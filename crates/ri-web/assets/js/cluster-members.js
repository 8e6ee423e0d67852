// A cluster's projects and people on its dashboard: the projects in the order assigned and,
// for follow-up managers and tenant admins, assigning a project (with the suggestions shown and
// explained) and removing one, the follow-up manager, and the stakeholders engaged (step 7 of
// the deliverable's clustering practice). Every change is shown in place from the mutation's
// answer (the dashboard's read model trails the log by a moment) and carries the version the
// page holds (`cluster.version`, shared by both parts); a conflict asks for a reload.

import { gql } from './api.js';
import { h, replace, notice } from './dom.js';
import { formatDate } from './format.js';
import { advanceVersion } from './demo-form.js';
import { PROJECTS_CHANGED } from './follow-up.js';
import { fieldMessage, formFields, localRefusal, showRefusal, waitFor } from './cluster-forming.js';

export const SUGGESTED_PROJECTS = /* GraphQL */ `
query WebSuggestedProjects($clusterId: ID!, $first: Int) {
  suggestedProjects(clusterId: $clusterId, first: $first) {
    id acronym title score closestMember
    sharedFeatures { feature { code label } members }
  }
}`;

export const PROJECT_CHOICES = /* GraphQL */ `
query WebClusterProjectChoices($after: String) {
  projects(first: 100, after: $after) {
    nodes { id acronym title }
    pageInfo { hasNextPage endCursor }
  }
}`;

export const CLUSTER_VERSION = /* GraphQL */ `
query WebClusterVersion($id: ID!) {
  cluster(id: $id) { id version }
}`;

export const ASSIGN_PROJECT = /* GraphQL */ `
mutation WebAssignProjectToCluster($clusterId: ID!, $projectId: ID!, $expectedVersion: Int) {
  assignProjectToCluster(clusterId: $clusterId, projectId: $projectId, expectedVersion: $expectedVersion) { id version }
}`;

export const REMOVE_PROJECT = /* GraphQL */ `
mutation WebRemoveProjectFromCluster($clusterId: ID!, $projectId: ID!, $expectedVersion: Int) {
  removeProjectFromCluster(clusterId: $clusterId, projectId: $projectId, expectedVersion: $expectedVersion) { id version }
}`;

export const ASSIGN_FOLLOW_UP_MANAGER = /* GraphQL */ `
mutation WebAssignFollowUpManager($clusterId: ID!, $subject: String!, $expectedVersion: Int) {
  assignFollowUpManager(clusterId: $clusterId, subject: $subject, expectedVersion: $expectedVersion) { id version }
}`;

export const ENGAGE_STAKEHOLDER = /* GraphQL */ `
mutation WebEngageStakeholder($clusterId: ID!, $expectedVersion: Int, $input: StakeholderInput!) {
  engageStakeholder(clusterId: $clusterId, expectedVersion: $expectedVersion, input: $input) { id version entityId }
}`;

export const DISENGAGE_STAKEHOLDER = /* GraphQL */ `
mutation WebDisengageStakeholder($clusterId: ID!, $stakeholderId: ID!, $expectedVersion: Int) {
  disengageStakeholder(clusterId: $clusterId, stakeholderId: $stakeholderId, expectedVersion: $expectedVersion) { id version }
}`;

/** The kinds of stakeholder, as the schema's `StakeholderKind` lists them. */
export const STAKEHOLDER_KINDS = ['END_USER_ORGANISATION', 'INVESTOR', 'INTEGRATOR', 'EACTDA', 'DIANA', 'OTHER'];

const KIND_LABELS = {
  END_USER_ORGANISATION: 'End-user organisation',
  INVESTOR: 'Investor',
  INTEGRATOR: 'Integrator',
  EACTDA: 'EACTDA (European Anti-Crime Technology Development Association)',
  DIANA: 'DIANA (NATO’s Defence Innovation Accelerator)',
  OTHER: 'Other',
};

/** A stakeholder kind in words. */
export function kindLabel(kind) {
  return KIND_LABELS[kind] ?? String(kind);
}

/**
 * Why a project is suggested, in words: `summary` (the similarity and the member it resembles
 * most) and `shared` (each shared feature with how many of the cluster's `memberCount` projects
 * declare it, most shared first, as the API orders them).
 */
export function explainSuggestion(suggestion, memberCount) {
  // "2 of 3 projects", "1 of 1 project"; without the count, "1 project".
  const count = (n) => (memberCount ? `${n} of ${memberCount} ${memberCount === 1 ? 'project' : 'projects'}` : `${n} ${n === 1 ? 'project' : 'projects'}`);
  const summary = [
    `Similarity ${suggestion.score.toFixed(2)} of 1`,
    suggestion.closestMember ? `most like ${suggestion.closestMember}` : null,
  ]
    .filter(Boolean)
    .join(' · ');
  const shared = suggestion.sharedFeatures.length
    ? `Shares ${suggestion.sharedFeatures
        .map((s) => `${s.feature.code} ${s.feature.label} (${count(s.members)})`)
        .join(', ')}`
    : 'Shares no feature';
  return { summary, shared };
}

/** The tenant's projects not in the cluster, by acronym: what "Add another project" offers. */
export function otherProjects(all, members) {
  const inCluster = new Set(members.map((p) => p.id));
  return all.filter((p) => !inCluster.has(p.id)).sort((a, b) => a.acronym.localeCompare(b.acronym));
}

/** `engageStakeholder`'s input from the form's values: `{ input }` or `{ errors }`. */
export function stakeholderInput({ kind, name, note }) {
  const errors = [];
  if (!STAKEHOLDER_KINDS.includes(kind)) errors.push({ field: 'kind', message: 'choose the kind of stakeholder' });
  if (!name.trim()) errors.push({ field: 'name', message: 'give the stakeholder’s name' });
  if (errors.length) return { errors };
  return { input: { kind, name: name.trim(), note: note.trim() } };
}

/** Puts errors naming one of `keys` in an item's own error box (its "field"). */
function itemKit(box, keys) {
  return {
    show(errors) {
      const mine = errors.filter((e) => keys.includes((e.field ?? '').split('.').pop()));
      box.textContent = mine.map((e) => `Error: ${fieldMessage(e)}`).join('; ');
      box.hidden = !mine.length;
      return errors.filter((e) => !mine.includes(e));
    },
  };
}

function removeButton(text, name, describedBy, onclick) {
  return h(
    'div',
    {},
    h('button', { type: 'button', class: 'secondary', 'aria-describedby': describedBy, onclick }, text, h('span', { class: 'visually-hidden' }, ` ${name}`)),
  );
}

function plainProjectItem(p) {
  return h(
    'li',
    { class: 'curated', dataset: { project: p.id } },
    p.registered ? h('a', { href: `/projects/${encodeURIComponent(p.id)}` }, p.acronym) : h('span', {}, p.acronym),
    p.title && p.title !== p.acronym ? h('span', { class: 'curated-meta' }, p.title) : null,
  );
}

function setProjectCount(cluster) {
  // The section's heading is the dashboard's (pages/clusters.js): keep its count true.
  const heading = document.getElementById('cluster-projects');
  if (heading) heading.textContent = `Projects (${cluster.projects.length})`;
  // The event form and the session form offer the projects: they draw themselves again.
  document.dispatchEvent(new CustomEvent(PROJECTS_CHANGED));
}

/** The projects section's content. */
export function clusterProjects(cluster, manages) {
  if (!manages) {
    return cluster.projects.length
      ? h('ul', { class: 'curated-list member-list' }, cluster.projects.map(plainProjectItem))
      : h('p', { class: 'hint' }, 'No project yet.');
  }

  const status = h('div', {});
  const empty = h('p', { class: 'hint' }, 'No project yet.');
  const list = h('ul', { class: 'curated-list member-list' });
  const suggestionsBox = h('div', { 'aria-live': 'polite' }, h('p', { class: 'loading' }, 'Loading the suggestions…'));
  let choices = [];
  const select = h('select', { name: 'projectId' });
  const addKit = formFields('add-project');
  const addSubmit = h('button', { type: 'submit' }, 'Add the project');

  const drawChoices = () => {
    const left = otherProjects(choices, cluster.projects);
    replace(select, h('option', { value: '' }, left.length ? 'Choose a project' : 'No other project'), left.map((p) => h('option', { value: p.id }, `${p.acronym} – ${p.title}`)));
  };
  const changed = (version) => {
    advanceVersion(cluster, { version });
    empty.hidden = cluster.projects.length > 0;
    setProjectCount(cluster);
    drawChoices();
    refreshSuggestions(version);
  };

  const memberItem = (p) => {
    const error = h('p', { id: `member-${p.id}-error`, class: 'field-error', role: 'alert', hidden: true });
    const item = plainProjectItem(p);
    item.append(
      error,
      removeButton('Remove', p.acronym, error.id, async (event) => {
        const button = event.currentTarget;
        button.disabled = true;
        replace(status);
        try {
          const { removeProjectFromCluster: done } = await gql(REMOVE_PROJECT, { clusterId: cluster.id, projectId: p.id, expectedVersion: cluster.version });
          item.remove();
          cluster.projects = cluster.projects.filter((x) => x.id !== p.id);
          if (!choices.some((x) => x.id === p.id)) choices.push({ id: p.id, acronym: p.acronym, title: p.title ?? '' });
          changed(done.version);
          replace(status, notice('success', `Removed ${p.acronym} from the cluster.`));
        } catch (error2) {
          showRefusal(error2, status, itemKit(error, ['projectId']), { action: `${p.acronym} was not removed` });
          button.disabled = false;
        }
      }),
    );
    return item;
  };

  /** Assigns `p`; `kit` shows the errors at the control it was chosen with. */
  const add = async (p, kit) => {
    replace(status);
    try {
      const { assignProjectToCluster: done } = await gql(ASSIGN_PROJECT, { clusterId: cluster.id, projectId: p.id, expectedVersion: cluster.version });
      const member = { id: p.id, acronym: p.acronym, title: p.title, registered: true };
      cluster.projects.push(member);
      list.append(memberItem(member));
      suggestionsBox.querySelector(`li[data-project="${CSS.escape(p.id)}"]`)?.remove();
      changed(done.version);
      replace(status, notice('success', `Added ${p.acronym} to the cluster.`));
      return true;
    } catch (error) {
      showRefusal(error, status, kit, { action: `${p.acronym} was not added` });
      return false;
    }
  };

  const suggestionItem = (s) => {
    const why = explainSuggestion(s, cluster.projects.length);
    const error = h('p', { id: `suggestion-${s.id}-error`, class: 'field-error', role: 'alert', hidden: true });
    return h(
      'li',
      { class: 'curated suggestion', dataset: { project: s.id } },
      h('strong', {}, s.acronym),
      s.title && s.title !== s.acronym ? h('span', { class: 'curated-meta' }, s.title) : null,
      h('span', { class: 'suggestion-score' }, why.summary),
      h('span', { class: 'suggestion-shared' }, why.shared),
      error,
      h(
        'div',
        {},
        h(
          'button',
          {
            type: 'button',
            'aria-describedby': error.id,
            onclick: async (event) => {
              const button = event.currentTarget;
              button.disabled = true;
              if (!(await add(s, itemKit(error, ['projectId'])))) button.disabled = false;
            },
          },
          'Add',
          h('span', { class: 'visually-hidden' }, ` ${s.acronym}`),
        ),
      ),
    );
  };

  let latest = 0;
  const loadSuggestions = async (ticket) => {
    const { suggestedProjects } = await gql(SUGGESTED_PROJECTS, { clusterId: cluster.id, first: 10 });
    if (ticket !== latest) return;
    const shown = suggestedProjects.filter((s) => !cluster.projects.some((p) => p.id === s.id));
    replace(
      suggestionsBox,
      shown.length
        ? h('ul', { class: 'curated-list suggestion-list' }, shown.map(suggestionItem))
        : h('p', { class: 'hint' }, cluster.projects.length ? 'No suggestion: no other project of yours shares a feature with these.' : 'No suggestion yet: a project is suggested when it shares features with the cluster’s projects. Add one below first.'),
    );
  };
  // After a change, the suggestions are asked for again once the read side has caught up.
  async function refreshSuggestions(version) {
    const ticket = ++latest;
    const caughtUp = await waitFor(async () => (await gql(CLUSTER_VERSION, { id: cluster.id })).cluster?.version >= version, { timeout: 15000 });
    if (ticket !== latest) return;
    if (!caughtUp) {
      suggestionsBox.prepend(h('p', { class: 'hint' }, 'These suggestions may be out of date: reload the page to update them.'));
      return;
    }
    await loadSuggestions(ticket).catch(() => {});
  }

  list.append(...cluster.projects.map(memberItem));
  empty.hidden = cluster.projects.length > 0;
  replace(select, h('option', { value: '' }, 'Loading the projects…'));
  loadSuggestions(++latest).catch((error) => replace(suggestionsBox, notice('error', `The suggestions cannot be shown: ${error.message}`)));
  (async () => {
    let after = null;
    const found = [];
    for (let page = 0; page < 10; page += 1) {
      const { projects } = await gql(PROJECT_CHOICES, { after });
      found.push(...projects.nodes);
      if (!projects.pageInfo.hasNextPage) break;
      after = projects.pageInfo.endCursor;
    }
    choices = found;
    drawChoices();
  })().catch((error) => replace(select, h('option', { value: '' }, `The projects cannot be listed: ${error.message}`)));

  const addForm = h(
    'form',
    {
      class: 'add-project',
      novalidate: true,
      onsubmit: async (event) => {
        event.preventDefault();
        addKit.clear();
        replace(status);
        const p = choices.find((x) => x.id === select.value);
        if (!p) return showRefusal(localRefusal([{ field: 'projectId', message: 'choose a project' }]), status, addKit, { action: 'Not added' });
        addSubmit.disabled = true;
        await add(p, addKit);
        addSubmit.disabled = false;
        return undefined;
      },
    },
    h('h3', {}, 'Add another project'),
    addKit.field('projectId', 'Project to add', select, 'Any of your organisation’s projects not in the cluster.'),
    h('div', { class: 'form-actions' }, addSubmit),
  );

  return [status, list, empty, h('h3', {}, 'Suggested projects'), h('p', { class: 'hint' }, 'Your projects whose features resemble the cluster’s, best first, with the features they share.'), suggestionsBox, addForm];
}

function ledeText(cluster) {
  return [cluster.area?.name, cluster.followUpManager ? `follow-up manager ${cluster.followUpManager}` : 'no follow-up manager yet'].filter(Boolean).join(' · ');
}

function stakeholderMeta(s) {
  return [kindLabel(s.kind), s.engagedAt ? `engaged ${formatDate(s.engagedAt.slice(0, 10))}` : null].filter(Boolean).join(' · ');
}

/** The follow-up manager and stakeholders section's content, or null when there is nothing to show or do. */
export function clusterPeople(cluster, manages) {
  const stakeholders = cluster.stakeholders ?? [];
  const managerText = () => (cluster.followUpManager ? `Follow-up manager: ${cluster.followUpManager}.` : 'No follow-up manager yet.');
  if (!manages) {
    if (!cluster.followUpManager && !stakeholders.length) return null;
    return [
      h('p', {}, managerText()),
      h('h3', {}, 'Stakeholders'),
      stakeholders.length
        ? h('ul', { class: 'curated-list stakeholder-list' }, stakeholders.map((s) => h('li', { class: 'curated' }, h('strong', {}, s.name), h('span', { class: 'curated-meta' }, stakeholderMeta(s)), s.note ? h('span', { class: 'curated-meta' }, s.note) : null)))
        : h('p', { class: 'hint' }, 'No stakeholder engaged yet.'),
    ];
  }

  // The follow-up manager.
  const current = h('p', { class: 'follow-up-manager' }, managerText());
  const fmStatus = h('div', {});
  const fmKit = formFields('fm', { subject: 'followUpManager' });
  const subject = h('input', { type: 'text', name: 'subject', autocomplete: 'off', spellcheck: 'false', maxlength: '255', value: cluster.followUpManager ?? '' });
  const fmSubmit = h('button', { type: 'submit' }, 'Assign the follow-up manager');
  const fmForm = h(
    'form',
    {
      class: 'follow-up-manager-form',
      novalidate: true,
      onsubmit: async (event) => {
        event.preventDefault();
        fmKit.clear();
        replace(fmStatus);
        const value = subject.value.trim();
        if (!value) return showRefusal(localRefusal([{ field: 'followUpManager', message: 'give the user’s subject' }]), fmStatus, fmKit, { action: 'Not assigned' });
        fmSubmit.disabled = true;
        try {
          const { assignFollowUpManager: done } = await gql(ASSIGN_FOLLOW_UP_MANAGER, { clusterId: cluster.id, subject: value, expectedVersion: cluster.version });
          advanceVersion(cluster, done);
          cluster.followUpManager = value;
          current.textContent = managerText();
          const lede = document.querySelector('h1 ~ p.lede');
          if (lede) lede.textContent = ledeText(cluster);
          replace(fmStatus, notice('success', `${value} is now the cluster’s follow-up manager.`));
        } catch (error) {
          showRefusal(error, fmStatus, fmKit, { action: 'Not assigned' });
        } finally {
          fmSubmit.disabled = false;
        }
        return undefined;
      },
    },
    fmKit.field('followUpManager', 'Follow-up manager’s subject', subject, 'The subject the person signs in with, e.g. rita.'),
    fmStatus,
    h('div', { class: 'form-actions' }, fmSubmit),
  );

  // The stakeholders.
  const status = h('div', {});
  const list = h('ul', { class: 'curated-list stakeholder-list' });
  const empty = h('p', { class: 'hint' }, 'No stakeholder engaged yet.');
  const sync = () => {
    empty.hidden = list.children.length > 0;
  };
  const stakeholderItem = (s) => {
    const error = h('p', { id: `stakeholder-${s.id}-error`, class: 'field-error', role: 'alert', hidden: true });
    const item = h('li', { class: 'curated', dataset: { stakeholder: s.id } }, h('strong', {}, s.name), h('span', { class: 'curated-meta' }, stakeholderMeta(s)), s.note ? h('span', { class: 'curated-meta' }, s.note) : null, error);
    item.append(
      removeButton('Disengage', s.name, error.id, async (event) => {
        const button = event.currentTarget;
        button.disabled = true;
        replace(status);
        try {
          const { disengageStakeholder: done } = await gql(DISENGAGE_STAKEHOLDER, { clusterId: cluster.id, stakeholderId: s.id, expectedVersion: cluster.version });
          advanceVersion(cluster, done);
          cluster.stakeholders = (cluster.stakeholders ?? []).filter((x) => x.id !== s.id);
          item.remove();
          sync();
          replace(status, notice('success', `Disengaged ${s.name}.`));
        } catch (error2) {
          showRefusal(error2, status, itemKit(error, ['stakeholderId']), { action: `${s.name} was not disengaged` });
          button.disabled = false;
        }
      }),
    );
    return item;
  };
  list.append(...stakeholders.map(stakeholderItem));
  sync();

  const kit = formFields('stakeholder', { stakeholders: 'name' });
  const c = {
    kind: h('select', { name: 'kind' }, STAKEHOLDER_KINDS.map((k) => h('option', { value: k }, kindLabel(k)))),
    name: h('input', { type: 'text', name: 'name', maxlength: '300', autocomplete: 'off' }),
    note: h('input', { type: 'text', name: 'note', autocomplete: 'off' }),
  };
  const submit = h('button', { type: 'submit' }, 'Engage the stakeholder');
  const form = h(
    'form',
    {
      class: 'stakeholder-form',
      novalidate: true,
      onsubmit: async (event) => {
        event.preventDefault();
        kit.clear();
        replace(status);
        const read = stakeholderInput({ kind: c.kind.value, name: c.name.value, note: c.note.value });
        if (read.errors) return showRefusal(localRefusal(read.errors), status, kit, { action: 'Not engaged' });
        submit.disabled = true;
        try {
          const { engageStakeholder: done } = await gql(ENGAGE_STAKEHOLDER, { clusterId: cluster.id, expectedVersion: cluster.version, input: read.input });
          advanceVersion(cluster, done);
          const s = { id: done.entityId, ...read.input, engagedAt: new Date().toISOString() };
          cluster.stakeholders = [...(cluster.stakeholders ?? []), s];
          list.append(stakeholderItem(s));
          sync();
          c.name.value = '';
          c.note.value = '';
          replace(status, notice('success', `Engaged ${s.name}.`));
        } catch (error) {
          showRefusal(error, status, kit, { action: 'Not engaged' });
        } finally {
          submit.disabled = false;
        }
        return undefined;
      },
    },
    h('h4', {}, 'Engage a stakeholder'),
    kit.field('kind', 'Kind of stakeholder', c.kind),
    kit.field('name', 'Stakeholder’s name', c.name, 'An organisation interested in the innovations’ development and uptake.'),
    kit.field('note', 'Note on the stakeholder (optional)', c.note),
    h('div', { class: 'form-actions' }, submit),
  );

  return [h('h3', {}, 'Follow-up manager'), current, fmForm, h('h3', {}, 'Stakeholders'), status, list, empty, form];
}
