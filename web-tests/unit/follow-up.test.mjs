// The session form's next steps as typed, and the day the API counts in.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { readSteps, today } from '../../crates/ri-web/assets/js/follow-up.js';

test('empty rows are skipped; a half-filled row is named', () => {
  const full = { projectId: 'p1', action: 'Call the port', owner: 'Ona', due: '2031-01-10' };
  const blank = { projectId: 'p1', action: '', owner: '', due: '' };
  assert.deepEqual(readSteps([full, blank]), { steps: [full] });
  assert.deepEqual(readSteps([blank]), { steps: [] });
  assert.match(readSteps([full, { ...full, owner: '' }]).error, /^next step 2: /);
});

test('today is the UTC date', () => {
  assert.equal(today(new Date('2031-01-10T23:30:00-05:00')), '2031-01-11');
});
