// A demo event's practitioners on the cluster dashboard (step 5 of the deliverable's clustering
// practice), for follow-up managers and tenant admins: the invitations, loaded when opened;
// inviting a practitioner, whose personal link is shown once with a Copy link button; a new
// link for an invitation (the old one stops working) and revoking one; and the answers of paper
// sheets, with the fields of the practitioners' own form (js/pages/feedback.js). What is done
// shows at once: the dashboard's read model may trail the log by a moment.

import { gql } from './api.js';
import { h, replace, notice } from './dom.js';
import { announce } from './nav.js';
import { countryName } from './format.js';
import { answerFields, readAnswers, showAnswerError, clearAnswerErrors } from './pages/feedback.js';
import { fieldKey, formKit, practitionerFields, problems, sectorLabel, uuid } from './demo-form.js';

// The API has no query of one event: the dashboard's events, each with its invitations.
export const DEMO_INVITATIONS = /* GraphQL */ `
query WebDemoInvitations($id: ID!) {
  cluster(id: $id) {
    id
    upcomingEvents { id invitations { id organisation country sector email expiresAt revoked revokeReason linksIssued feedbackCount } }
    pastEvents { id invitations { id organisation country sector email expiresAt revoked revokeReason linksIssued feedbackCount } }
  }
}`;

// The features of the cluster's projects, for the paper form of an event scheduled on this page.
export const DEMO_PROJECT_FEATURES = /* GraphQL */ `
query WebDemoProjectFeatures($id: ID!) {
  cluster(id: $id) { id projects { id acronym title features { code label } } }
}`;

// No expectedVersion on these: an invitation, a new link, a revocation or a paper sheet undoes
// nothing anyone else did (the cluster checks each again), and practitioners' answers move the
// cluster's version all through an event.
export const INVITE_PRACTITIONER = /* GraphQL */ `
mutation WebInvitePractitioner($clusterId: ID!, $eventId: ID!, $input: InvitePractitionerInput!) {
  invitePractitioner(clusterId: $clusterId, eventId: $eventId, input: $input) { id version invitationId link }
}`;

export const REISSUE_INVITATION = /* GraphQL */ `
mutation WebReissueInvitation($clusterId: ID!, $invitationId: ID!) {
  reissueInvitation(clusterId: $clusterId, invitationId: $invitationId) { id version invitationId link }
}`;

export const REVOKE_INVITATION = /* GraphQL */ `
mutation WebRevokeInvitation($clusterId: ID!, $invitationId: ID!, $reason: String!) {
  revokeInvitation(clusterId: $clusterId, invitationId: $invitationId, reason: $reason) { id version entityId }
}`;

export const RECORD_PAPER_FEEDBACK = /* GraphQL */ `
mutation WebRecordPaperFeedback($clusterId: ID!, $eventId: ID!, $input: PaperFeedbackInput!) {
  recordPaperFeedback(clusterId: $clusterId, eventId: $eventId, input: $input) { id version entityId }
}`;

/** The link's whole address: the API gives its path (`/feedback/<token>`). */
export function feedbackUrl(origin, path) {
  return `${origin.replace(/\/$/, '')}${path.startsWith('/') ? '' : '/'}${path}`;
}

/**
 * The invitations as the read model has them (`loaded`), with what this page did meanwhile
 * (`known`, by id) that it does not show yet: invitations made here, more links, revocations.
 */
export function mergeInvitations(loaded, known) {
  const out = loaded.map((row) => {
    const mine = known.get(row.id);
    if (!mine) return row;
    return {
      ...row,
      linksIssued: Math.max(row.linksIssued, mine.linksIssued),
      revoked: row.revoked || mine.revoked,
      revokeReason: row.revokeReason ?? mine.revokeReason ?? null,
    };
  });
  const seen = new Set(loaded.map((r) => r.id));
  for (const mine of known.values()) if (!seen.has(mine.id)) out.push(mine);
  return out;
}

function plural(n, one, many = `${one}s`) {
  return `${n} ${n === 1 ? one : many}`;
}

/** The link, shown once, with a Copy link button (or, where copying is refused, selected). */
function linkBox(id, organisation, path) {
  const url = feedbackUrl(window.location.origin, path);
  const input = h('input', { type: 'text', id, readonly: true, value: url, class: 'link-output', spellcheck: 'false' });
  const said = h('div', {});
  const copy = async () => {
    try {
      if (!navigator.clipboard?.writeText) throw new Error('no clipboard');
      await navigator.clipboard.writeText(url);
      replace(said, notice('success', `Copied the link for ${organisation}.`));
    } catch {
      input.focus();
      input.select();
      replace(said, notice('info', 'This browser did not let the page copy: the link is selected, so press Ctrl+C (⌘C on a Mac) to copy it.'));
    }
  };
  return h(
    'div',
    { class: 'link-box' },
    h('p', {}, h('strong', {}, `The link for ${organisation} is shown this once.`), ' Send it to them now: it cannot be shown again, only replaced by a new one.'),
    h('div', { class: 'field' }, h('label', { for: id }, `Feedback link for ${organisation}`), input),
    h('button', { type: 'button', class: 'secondary', onclick: copy }, 'Copy link'),
    said,
  );
}

/**
 * The event's invitations, in a <details> that loads them when first opened. `ctx`: the
 * dashboard's `{ cluster, version }`; `allowed()` what may be done now; `changed()` after a change.
 */
export function invitationsSection(ctx, event, allowed, changed) {
  const prefix = `inv-${event.id}`;
  const known = new Map();
  let rows = null;
  const status = h('div', { class: 'form-status' });
  const list = h('ul', { class: 'curated-list invitation-list' });
  const summary = h('summary', {});
  const drawSummary = () => replace(summary, `Invitations (${event.invitationCount})`);

  // Each invitation's item is made once, so that a link shown in it stays through a redraw.
  const items = new Map();
  const rowItem = (inv) => {
    const li = h('li', { class: 'curated invitation', dataset: { invitation: inv.id } });
    const slot = h('div', {});
    const draw = () => {
      const may = allowed().invite && !inv.revoked;
      const reasonInput = h('input', { type: 'text', id: `${prefix}-${inv.id}-reason`, maxlength: '500' });
      const reasonError = h('p', { id: `${reasonInput.id}-error`, class: 'field-error', hidden: true });
      reasonInput.setAttribute('aria-describedby', reasonError.id);
      const revoke = h(
        'details',
        { class: 'inline-action' },
        h('summary', {}, `Revoke the invitation of ${inv.organisation}`),
        h(
          'form',
          {
            novalidate: true,
            onsubmit: async (e) => {
              e.preventDefault();
              reasonError.hidden = true;
              reasonInput.removeAttribute('aria-invalid');
              const reason = reasonInput.value.trim();
              const refuse = (message) => {
                reasonError.textContent = `Error: ${message}`;
                reasonError.hidden = false;
                reasonInput.setAttribute('aria-invalid', 'true');
                reasonInput.focus();
              };
              if (!reason) return refuse('give the reason');
              try {
                const { revokeInvitation: done } = await gql(REVOKE_INVITATION, { clusterId: ctx.cluster.id, invitationId: inv.id, reason });
                ctx.version.advance(done);
                Object.assign(inv, { revoked: true, revokeReason: reason });
                known.set(inv.id, inv);
                event.invitationCount = Math.max(0, event.invitationCount - 1);
                replace(status, notice('success', `Revoked the invitation of ${inv.organisation}: its link no longer works.`));
                draw();
                changed();
              } catch (error) {
                const all = problems(error);
                const at = all.filter((p) => fieldKey(p.field) === 'reason');
                if (at.length) refuse(at.map((p) => p.message).join('; '));
                const rest = all.filter((p) => !at.includes(p));
                if (rest.length) replace(status, notice('error', `The invitation was not revoked: ${rest.map((p) => p.message).join('; ')}`));
              }
            },
          },
          h('div', { class: 'field' }, h('label', { for: reasonInput.id }, 'Why is it revoked?'), reasonInput, reasonError),
          h('button', { type: 'submit', class: 'danger' }, 'Revoke'),
        ),
      );
      const reissue = h(
        'button',
        {
          type: 'button',
          class: 'secondary',
          onclick: async (e) => {
            const button = e.currentTarget;
            button.disabled = true;
            try {
              const { reissueInvitation: done } = await gql(REISSUE_INVITATION, { clusterId: ctx.cluster.id, invitationId: inv.id });
              ctx.version.advance(done);
              inv.linksIssued += 1;
              known.set(inv.id, inv);
              draw();
              replace(slot, linkBox(`${prefix}-${inv.id}-link${inv.linksIssued}`, inv.organisation, done.link));
              replace(status, notice('success', `A new link for ${inv.organisation}: the one sent before no longer works.`));
              slot.querySelector('input')?.focus();
            } catch (error) {
              replace(status, notice('error', `No new link was made: ${problems(error).map((p) => p.message).join('; ')}`));
              button.disabled = false;
            }
          },
        },
        'New link',
        h('span', { class: 'visually-hidden' }, ` for ${inv.organisation}`),
      );
      replace(
        li,
        h('strong', {}, inv.organisation),
        h('span', { class: 'curated-meta' }, `${countryName(inv.country)} · ${sectorLabel(inv.sector)} · ${inv.email}`),
        h(
          'span',
          { class: 'curated-meta' },
          inv.revoked
            ? `Revoked${inv.revokeReason ? `: ${inv.revokeReason}` : ''}`
            : `${plural(inv.linksIssued, 'link')} issued · answered on ${plural(inv.feedbackCount ?? 0, 'project')}`,
        ),
        // A new link while feedback can be given; revoking whenever it is not revoked yet.
        inv.revoked ? null : h('div', { class: 'actions' }, may ? reissue : null, revoke),
        slot,
      );
    };
    return { li, draw };
  };

  const drawList = () => {
    if (!rows) return;
    replace(
      list,
      rows.map((inv) => {
        if (!items.has(inv.id)) items.set(inv.id, rowItem(inv));
        const item = items.get(inv.id);
        item.draw();
        return item.li;
      }),
    );
    if (!rows.length) list.append(h('li', { class: 'hint' }, 'No practitioner invited yet.'));
  };

  const load = async () => {
    replace(status, h('p', { class: 'loading' }, 'Loading the invitations…'));
    try {
      const { cluster } = await gql(DEMO_INVITATIONS, { id: ctx.cluster.id });
      const found = [...(cluster?.upcomingEvents ?? []), ...(cluster?.pastEvents ?? [])].find((e) => e.id === event.id);
      rows = mergeInvitations(found?.invitations ?? [], known);
      replace(status);
      drawList();
    } catch (error) {
      replace(status, notice('error', `The invitations cannot be shown: ${error.message}. Close and open them again to retry.`));
    }
  };

  // Inviting.
  const kit = formKit(`${prefix}-new`);
  const who = practitionerFields(kit);
  const email = h('input', { type: 'email', maxlength: '320', autocomplete: 'off' });
  const links = h('div', {});
  const inviteForm = h(
    'form',
    {
      class: 'invite-form',
      novalidate: true,
      onsubmit: async (e) => {
        e.preventDefault();
        kit.clear();
        const read = who.read();
        const errors = [...(read.errors ?? [])];
        if (!email.value.trim()) errors.push({ field: 'email', message: 'give their e-mail address' });
        if (errors.length) return kit.show(errors, 'Nobody was invited');
        const input = { practitioner: read.practitioner, email: email.value.trim() };
        try {
          const { invitePractitioner: done } = await gql(INVITE_PRACTITIONER, { clusterId: ctx.cluster.id, eventId: event.id, input });
          ctx.version.advance(done);
          const inv = {
            id: done.invitationId,
            ...input.practitioner,
            email: input.email,
            expiresAt: null,
            revoked: false,
            revokeReason: null,
            linksIssued: 1,
            feedbackCount: 0,
          };
          known.set(inv.id, inv);
          if (rows) rows.push(inv);
          drawList();
          event.invitationCount += 1;
          drawSummary();
          replace(links, linkBox(`${prefix}-${inv.id}-link1`, inv.organisation, done.link));
          kit.done(`Invited ${inv.organisation}.`);
          announce(`Invited ${inv.organisation}. Their link is shown once.`);
          who.reset();
          email.value = '';
          changed();
        } catch (error) {
          kit.show(problems(error), 'Nobody was invited');
        }
      },
    },
    h(
      'fieldset',
      { class: 'field group' },
      h('legend', {}, 'Invite a practitioner'),
      h('p', { class: 'hint' }, 'The service sends no e-mail: you send them the link shown after inviting. It works until the feedback closes.'),
      who.elements,
      kit.field('email', 'E-mail', email),
      h('button', { type: 'submit' }, 'Invite'),
    ),
    kit.status,
  );

  const details = h('details', { class: 'demo-invitations' }, summary, status, list, inviteForm, links);
  details.addEventListener('toggle', () => {
    if (details.open && !rows) load();
  });
  const refresh = () => {
    drawSummary();
    inviteForm.hidden = !allowed().invite;
    drawList();
  };
  refresh();
  return { element: details, refresh };
}

/**
 * Paper sheets for the event: who filled the sheet in, then a form per project on the agenda
 * (each recorded on its own, again to correct it). `recorded(newPair, newSheet)` after each.
 */
export function paperSection(ctx, event, allowed, recorded) {
  const prefix = `paper-${event.id}`;
  const summary = h('summary', {}, 'Record paper feedback');
  const body = h('div', {});
  const details = h('details', { class: 'demo-paper' }, summary, body);
  let sheetId = uuid();
  let sheetNumber = 1;
  const pairs = new Set();
  const sheets = new Set();

  const kit = formKit(`${prefix}-who`);
  const who = practitionerFields(kit);
  // "This sheet was recorded for another practitioner" is the API's `practitioner` error.
  const whoError = kit.register('practitioner', [who.controls.organisation], kit.errorLine('practitioner'));
  const whoBox = h('fieldset', { class: 'field group' }, h('legend', {}, 'Who filled in the sheet'), who.elements, whoError);
  const sheetLine = h('p', { class: 'hint', 'aria-live': 'polite' });
  const forms = h('div', { class: 'paper-forms' });

  const projectForm = (project, index) => {
    const p = `${prefix}-${index + 1}`;
    const headingId = `${p}-heading`;
    const button = h('button', { type: 'submit' }, `Record the answers on ${project.acronym}`);
    const status = h('div', { class: 'form-status' });
    const form = h(
      'form',
      { class: 'feedback-form paper-form', novalidate: true, 'aria-labelledby': headingId, dataset: { project: project.id } },
      h('h5', { id: headingId }, project.acronym),
      answerFields(p, project, null),
      button,
      status,
    );
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      kit.clear();
      clearAnswerErrors(form);
      replace(status);
      const person = who.read();
      const answers = readAnswers(form, p);
      const errors = [...(person.errors ?? []), ...(answers.errors ?? [])];
      const place = (key, message) => kit.place(key, message) || showAnswerError(form, key, message);
      if (errors.length) {
        const unplaced = errors.filter((x) => !place(x.field, x.message));
        replace(status, notice('error', `Not recorded: see the fields marked.${unplaced.length ? ` ${unplaced.map((x) => x.message).join('; ')}` : ''}`));
        form.querySelector('[aria-invalid="true"] input')?.focus();
        return;
      }
      button.disabled = true;
      try {
        const { recordPaperFeedback: done } = await gql(RECORD_PAPER_FEEDBACK, {
          clusterId: ctx.cluster.id,
          eventId: event.id,
          input: { sheetId, practitioner: person.practitioner, projectId: project.id, feedback: answers.input },
        });
        ctx.version.advance(done);
        const pair = `${sheetId} ${project.id}`;
        const newPair = !pairs.has(pair);
        const newSheet = !sheets.has(sheetId);
        pairs.add(pair);
        sheets.add(sheetId);
        replace(status, notice('success', `Recorded the answers of ${person.practitioner.organisation} on ${project.acronym} (sheet ${sheetNumber}).`));
        button.textContent = `Correct the answers on ${project.acronym}`;
        announce(`Recorded the answers on ${project.acronym}.`);
        recorded(newPair, newSheet);
      } catch (error) {
        const all = problems(error);
        if (all.some((x) => x.code === 'CONFLICT' && !x.field)) {
          replace(status, notice('error', 'Not recorded: the cluster changed meanwhile. Reload the dashboard and record it again.'));
        } else {
          const unplaced = all.filter((x) => !place(fieldKey(x.field), x.message));
          replace(status, notice('error', `Not recorded${unplaced.length ? `: ${unplaced.map((x) => x.message).join('; ')}` : ': see the fields marked.'}`));
        }
      } finally {
        button.disabled = false;
      }
    });
    return form;
  };

  const newSheet = () => {
    sheetId = uuid();
    sheetNumber += 1;
    who.reset();
    kit.clear();
    replace(sheetLine, `Sheet ${sheetNumber}: a new practitioner.`);
    build();
  };

  let built = null; // the agenda the forms were made for
  const build = async () => {
    built = event.agenda.map((a) => a.id).join();
    replace(forms, h('p', { class: 'loading' }, 'Loading the agenda…'));
    let agenda = event.agenda;
    if (agenda.some((a) => !a.features)) {
      try {
        const byId = await ctx.projectFeatures();
        agenda = agenda.map((a) => ({ ...a, features: a.features ?? byId.get(a.id) ?? [] }));
      } catch {
        agenda = agenda.map((a) => ({ ...a, features: a.features ?? [] }));
      }
    }
    replace(forms, agenda.map(projectForm));
  };

  replace(
    body,
    h('p', { class: 'hint' }, 'One sheet holds one practitioner’s answers. Say who filled it in, then record their answers on each project on its own.'),
    sheetLine,
    whoBox,
    kit.status,
    forms,
    h('button', { type: 'button', class: 'secondary', onclick: newSheet }, 'Start another sheet'),
  );
  replace(sheetLine, `Sheet ${sheetNumber}.`);
  details.addEventListener('toggle', () => {
    if (details.open && !built) build();
  });
  const refresh = () => {
    details.hidden = !allowed().paper;
    if (built !== null && built !== event.agenda.map((a) => a.id).join()) build();
  };
  refresh();
  return { element: details, refresh };
}
