// The project form's consortium, one partner a line, and what an edit changes.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { consortiumText, parseConsortium, patchOf } from '../../crates/ri-web/assets/js/pages/project-form.js';

test('one partner a line: the name, a comma, the country', () => {
  assert.deepEqual(parseConsortium('Vasco, LT\n\n  Sky, Guard, lv  '), {
    members: [
      { name: 'Vasco', country: 'LT' },
      { name: 'Sky, Guard', country: 'LV' },
    ],
  });
  assert.deepEqual(parseConsortium(''), { members: [] });
  assert.match(parseConsortium('Vasco, LT\nSkyguard').error, /^line 2: /);
  assert.match(parseConsortium('Vasco, Lithuania').error, /^line 1: /);
});

test('an edit sends only what changed; an emptied optional field clears it', () => {
  const saved = {
    acronym: 'VASCREEN',
    title: 'Video screening',
    summary: '',
    openCall: 'Open Call 1',
    stage: 'PROTOTYPING',
    leadCountry: 'LT',
    consortium: [{ name: 'Vasco', country: 'LT' }],
  };
  assert.deepEqual(patchOf(saved, { ...saved }), {});
  assert.deepEqual(patchOf(saved, { ...saved, title: 'Video screening II', openCall: null, stage: 'DEMONSTRATOR' }), {
    title: 'Video screening II',
    openCall: null,
    stage: 'DEMONSTRATOR',
  });
  const consortium = [...saved.consortium, { name: 'Sky', country: 'LV' }];
  assert.deepEqual(patchOf(saved, { ...saved, consortium }), { consortium });
  assert.deepEqual(parseConsortium(consortiumText(consortium)), { members: consortium });
});
