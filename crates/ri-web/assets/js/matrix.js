// The feature matrix as a spreadsheet (docs/projects.md#downloads-and-the-csv-import): download
// the current one, change cells, import it back. A refused file shows every bad cell against its
// row and column, and nothing was stored; an import cut short says what was applied and that
// importing the same file again finishes it.

import { h, replace, notice } from './dom.js';

/** "T1, T8 added; P3 removed" (or "unchanged") for a column the import applied. */
export function columnChange(column) {
  const parts = [];
  if (column.declared.length) parts.push(`${column.declared.join(', ')} added`);
  if (column.retracted.length) parts.push(`${column.retracted.join(', ')} removed`);
  return parts.length ? parts.join('; ') : 'unchanged';
}

async function call(url, init) {
  let response;
  try {
    response = await fetch(url, init);
  } catch {
    return { status: 0, body: { error: { message: 'The service cannot be reached. Check your connection and try again.' } } };
  }
  const type = response.headers.get('content-type') ?? '';
  if (type.includes('json')) return { status: response.status, body: await response.json().catch(() => ({})) };
  return { status: response.status, body: null, blob: response.ok ? await response.blob() : null };
}

function problemsTable(problems) {
  const table = h(
    'table',
    { class: 'problems' },
    h('caption', { id: 'matrix-problems' }, 'The cells to fix'),
    h(
      'thead',
      {},
      h('tr', {}, ['Row', 'Column', 'Feature', 'Value', 'Problem'].map((name) => h('th', { scope: 'col' }, name))),
    ),
    h(
      'tbody',
      {},
      problems.map((p) =>
        h(
          'tr',
          {},
          h('td', {}, String(p.row)),
          h('td', {}, p.column ? `${p.column}${p.header ? ` (${p.header})` : ''}` : '–'),
          h('td', {}, p.feature ?? '–'),
          h('td', {}, p.value ?? ''),
          h('td', {}, p.reason),
        ),
      ),
    ),
  );
  return h('div', { class: 'table-scroll', role: 'region', 'aria-labelledby': 'matrix-problems', tabindex: '0' }, table);
}

/**
 * The download and import section for `target` ('projects' or 'instruments'); `what` names the
 * columns in words ("projects").
 */
export function matrixSection(target, what) {
  const result = h('div', { 'aria-live': 'polite' });
  const fileId = `matrix-file-${target}`;
  const file = h('input', { id: fileId, name: 'matrix', type: 'file', accept: '.csv,text/csv', required: true, 'aria-describedby': `${fileId}-hint` });
  const busy = (on) => {
    for (const b of section.querySelectorAll('button')) b.disabled = on;
  };

  const download = async () => {
    replace(result);
    busy(true);
    try {
      const { status, body, blob } = await call(`/exports/feature-matrix.csv?target=${target}`, { method: 'GET' });
      if (status !== 200 || !blob) {
        replace(result, notice('error', `The matrix cannot be downloaded: ${body?.error?.message ?? `status ${status}`}`));
        return;
      }
      const url = URL.createObjectURL(blob);
      const a = h('a', { href: url, download: `feature-matrix-${target}.csv` });
      document.body.append(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(url), 10_000);
    } finally {
      busy(false);
    }
  };

  const upload = async (event) => {
    event.preventDefault();
    replace(result);
    const chosen = file.files?.[0];
    if (!chosen) {
      replace(result, notice('error', 'Choose a CSV file to import.'));
      file.focus();
      return;
    }
    busy(true);
    try {
      const { status, body } = await call(`/imports/feature-matrix?target=${target}`, {
        method: 'POST',
        headers: { 'content-type': 'text/csv' },
        body: await chosen.arrayBuffer(),
      });
      if (status === 200 && body?.imported) {
        replace(
          result,
          notice(
            'success',
            h('p', {}, `Imported ${chosen.name}: ${body.columns.length} column${body.columns.length === 1 ? '' : 's'}.`),
            h('ul', {}, body.columns.map((c) => h('li', {}, `${c.header}: ${columnChange(c)}`))),
          ),
        );
      } else if (Array.isArray(body?.problems)) {
        replace(result, notice('error', h('p', {}, `${body.error.message}.`), problemsTable(body.problems)));
      } else if (body?.failed) {
        replace(
          result,
          notice(
            'error',
            h('p', {}, `${body.error.message}.`),
            body.applied.length
              ? h('p', {}, 'Applied: ', body.applied.map((c) => `${c.header} (${columnChange(c)})`).join(', '), '.')
              : null,
          ),
        );
      } else {
        replace(result, notice('error', `The import failed: ${body?.error?.message ?? `status ${status}`}`));
      }
    } finally {
      busy(false);
    }
  };

  const section = h(
    'section',
    { class: 'matrix', 'aria-labelledby': `matrix-title-${target}` },
    h('h2', { id: `matrix-title-${target}` }, 'Feature matrix'),
    h(
      'p',
      {},
      `Your ${what}’ features as a spreadsheet: a column per ${what.replace(/s$/, '')}, a row per feature, Y where it has it. `,
      h('button', { type: 'button', class: 'secondary', onclick: download }, 'Download the current matrix'),
    ),
    h(
      'form',
      { novalidate: true, onsubmit: upload },
      h('label', { for: fileId }, 'Import a feature matrix (CSV)'),
      h('p', { id: `${fileId}-hint`, class: 'hint' }, 'Each column ends with exactly its Y cells. The whole file is checked first: a file with a problem stores nothing.'),
      file,
      ' ',
      h('button', { type: 'submit' }, 'Import'),
    ),
    result,
  );
  return section;
}
