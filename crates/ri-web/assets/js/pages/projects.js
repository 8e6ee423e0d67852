// The follow-up manager's projects: every project of the tenant with its best matches among
// the published instruments, and one project's page with each match explained (the features
// matched and not, by category, the coverage, the stage fit, the days to the deadline).

import { gql, logPosition } from '../api.js';
import { PROJECTS, PROJECT } from '../operations.js';
import { h, replace, notice } from '../dom.js';
import { label, countryName, formatInstant, daysLeftText, curatorName } from '../format.js';
import { pageReady } from '../nav.js';
import { projectProgress } from '../project-progress.js';
import { managesProjects, signedIn, whoIsSignedIn, percent } from '../signin.js';
import { matrixSection } from '../matrix.js';

const PAGE = 50;
const INTRO = 'Follow-up managers see their organisation’s projects here, each with the open instruments that fit it best and why.';

function codes(groups) {
  return groups.flatMap((g) => g.features.map((f) => f.code));
}

function score(value) {
  return `${Math.round(value * 100)} %`;
}

function matchLine(match) {
  const matched = codes(match.explanation.matched);
  const unmatched = codes(match.explanation.unmatched);
  return h(
    'li',
    { class: 'match-item' },
    h('a', { href: `/instruments/${encodeURIComponent(match.instrument.id)}` }, match.instrument.title),
    h(
      'span',
      { class: 'curated-meta' },
      ` score ${score(match.score)} · matches ${matched.join(', ') || 'nothing'}`,
      unmatched.length ? ` · not funded: ${unmatched.join(', ')}` : '',
      match.instrument.deadline ? ` · ${daysLeftText(match.instrument.deadline)}` : '',
    ),
  );
}

function projectItem(project) {
  return h(
    'li',
    { class: 'project' },
    h('h2', {}, h('a', { href: `/projects/${encodeURIComponent(project.id)}` }, project.acronym)),
    project.title && project.title !== project.acronym ? h('p', {}, project.title) : null,
    h(
      'p',
      { class: 'curated-meta' },
      [
        project.stage ? label(project.stage) : null,
        project.countries.length ? project.countries.map(countryName).join(', ') : null,
        `features ${project.features.map((f) => f.code).join(', ') || 'none declared'}`,
      ]
        .filter(Boolean)
        .join(' · '),
    ),
    h('h3', { class: 'small-heading' }, 'Top matches'),
    project.matches.length
      ? h('ol', { class: 'match-list' }, project.matches.map(matchLine))
      : h('p', { class: 'hint' }, 'No published instrument fits it yet.'),
  );
}

async function list(view, me) {
  const body = h('div', { 'aria-live': 'polite', 'aria-busy': 'true' }, h('p', { class: 'loading' }, 'Loading the projects…'));
  // Follow-up managers and tenant admins set the projects' features from a spreadsheet.
  const imports = managesProjects(me);
  replace(
    view,
    h('h1', {}, 'Projects'),
    whoIsSignedIn(me),
    imports ? h('p', {}, h('a', { href: '/projects/new', class: 'button-link' }, 'Register a project')) : null,
    body,
    imports ? matrixSection('projects', 'projects') : null,
  );
  pageReady(view, 'Projects');
  try {
    const nodes = [];
    let after = null;
    let total = 0;
    for (let i = 0; i < 20; i += 1) {
      const data = await gql(PROJECTS, { first: PAGE, after, consistentWith: logPosition() });
      nodes.push(...data.projects.nodes);
      total = data.projects.totalCount;
      if (!data.projects.pageInfo.hasNextPage) break;
      after = data.projects.pageInfo.endCursor;
    }
    replace(
      body,
      h('p', { class: 'result-count' }, `${total} project${total === 1 ? '' : 's'}.`),
      nodes.length ? h('ul', { class: 'project-list' }, nodes.map(projectItem)) : h('p', {}, 'Your organisation has no projects yet.'),
    );
  } catch (error) {
    replace(body, notice('error', `The projects cannot be listed: ${error.message}`));
  } finally {
    body.removeAttribute('aria-busy');
  }
}

function featureGroups(groups, kind) {
  if (!groups.length) return h('p', { class: 'hint' }, kind === 'matched' ? 'None of its features.' : 'Every feature is funded.');
  return h(
    'ul',
    { class: 'explain-list' },
    groups.map((g) =>
      h('li', {}, h('strong', {}, `${g.category.label}: `), g.features.map((f) => `${f.code} ${f.label}`).join(', ')),
    ),
  );
}

function explainedMatch(match, i) {
  const { instrument, explanation: e } = match;
  const id = `match-${i + 1}`;
  return h(
    'li',
    { class: 'explained', 'aria-labelledby': id },
    h(
      'h3',
      { id },
      h('a', { href: `/instruments/${encodeURIComponent(instrument.id)}` }, instrument.title),
      ` — score ${score(match.score)}`,
    ),
    h(
      'p',
      { class: 'curated-meta' },
      [label(instrument.kind), label(instrument.coverLevel), instrument.countries.map(countryName).join(', '), curatorName(instrument.curator)]
        .filter(Boolean)
        .join(' · '),
    ),
    h(
      'dl',
      { class: 'details explanation' },
      h('dt', {}, 'Features funded'),
      h('dd', {}, featureGroups(e.matched, 'matched')),
      h('dt', {}, 'Features not funded'),
      h('dd', {}, featureGroups(e.unmatched, 'unmatched')),
      h('dt', {}, 'Coverage'),
      h('dd', {}, `${percent(e.coverage)} of the project’s features (weighted)`),
      h('dt', {}, 'Stage fit'),
      h(
        'dd',
        {},
        `${percent(e.stageFit)}`,
        e.stageFeatures.length ? ` (funds ${e.stageFeatures.map((f) => f.code).join(', ')})` : '',
      ),
      h('dt', {}, 'Deadline'),
      h(
        'dd',
        {},
        instrument.deadline
          ? `${formatInstant(instrument.deadline, instrument.timeZone)}, ${daysLeftText(instrument.deadline)}`
          : 'none (continuous)',
      ),
    ),
  );
}

async function one(view, me, id) {
  replace(view, h('h1', {}, 'Project'), h('p', { class: 'loading' }, 'Loading the project…'));
  let project;
  try {
    ({ project } = await gql(PROJECT, { id, first: 10, consistentWith: logPosition() }));
  } catch (error) {
    replace(view, h('h1', {}, 'Project'), whoIsSignedIn(me), notice('error', `The project cannot be shown: ${error.message}`));
    pageReady(view, 'Project');
    return;
  }
  if (!project) {
    replace(
      view,
      h('h1', {}, 'No such project'),
      whoIsSignedIn(me),
      notice('error', 'There is no such project among your organisation’s.'),
      h('p', {}, h('a', { href: '/projects' }, 'All projects')),
    );
    pageReady(view, 'No such project');
    return;
  }
  // Another organisation's project that it shares with yours: read only.
  const own = project.tenant === me.tenant;
  const manages = own && managesProjects(me);
  replace(
    view,
    h('p', { class: 'breadcrumb' }, h('a', { href: '/projects' }, 'Projects')),
    h('h1', {}, project.acronym),
    project.title && project.title !== project.acronym ? h('p', { class: 'lede' }, project.title) : null,
    whoIsSignedIn(me),
    own ? null : notice('info', `${project.tenant} shares this project with your organisation: you may read it and add it to your clusters.`),
    manages
      ? h('p', {}, h('a', { href: `/projects/${encodeURIComponent(project.id)}/edit`, class: 'button-link' }, 'Edit the project'))
      : null,
    h(
      'dl',
      { class: 'details' },
      project.openCall ? [h('dt', {}, 'Open call'), h('dd', {}, project.openCall)] : null,
      project.stage ? [h('dt', {}, 'Stage'), h('dd', {}, label(project.stage))] : null,
      project.leadCountry ? [h('dt', {}, 'Lead country'), h('dd', {}, countryName(project.leadCountry))] : null,
      project.consortium.length
        ? [h('dt', {}, 'Consortium'), h('dd', {}, project.consortium.map((m) => `${m.name} (${m.country})`).join('; '))]
        : null,
      h('dt', {}, 'Features'),
      h('dd', {}, project.features.map((f) => `${f.code} ${f.label}`).join(', ') || 'none declared'),
    ),
    project.summary ? h('p', { class: 'summary' }, project.summary) : null,
    h('h2', {}, 'Best matches'),
    project.matches.length
      ? h('ol', { class: 'explained-list' }, project.matches.map(explainedMatch))
      : h('p', { class: 'hint' }, 'No published instrument fits it yet.'),
    projectProgress(project, manages),
  );
  pageReady(view, project.acronym);
}

export async function render(view, params) {
  const me = await signedIn(view, params.id ? 'Project' : 'Projects', INTRO);
  if (!me) return null;
  if (params.id) await one(view, me, params.id);
  else await list(view, me);
  return null;
}
