// The dashboard's comments, grouped by project.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { commentsByProject } from '../../crates/ri-web/assets/js/cluster-notes.js';

const entry = (projectId, acronym, comment) => ({ projectId, acronym, comment, organisation: 'Police', country: 'LT', sector: 'LAW_ENFORCEMENT', source: 'INVITATION' });

test('comments are grouped by project in the order first seen, blank ones left out', () => {
  const events = [
    { title: 'Demo day 1', feedback: [entry('p1', 'DRONE', ' Useful '), entry('p2', 'CYBER', ''), entry('p2', 'CYBER', 'Too slow')] },
    { title: 'Demo day 2', feedback: [entry('p1', 'DRONE', 'Would buy')] },
  ];
  const groups = commentsByProject(events);
  assert.deepEqual(
    groups.map((g) => [g.acronym, g.comments.map((c) => [c.comment, c.event])]),
    [
      ['DRONE', [['Useful', 'Demo day 1'], ['Would buy', 'Demo day 2']]],
      ['CYBER', [['Too slow', 'Demo day 1']]],
    ],
  );
  assert.deepEqual(commentsByProject([{ title: 'x', feedback: [entry('p1', 'A', '  ')] }]), []);
});
