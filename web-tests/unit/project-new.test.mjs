// The project form's consortium, one partner a line.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseConsortium } from '../../crates/ri-web/assets/js/pages/project-new.js';

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
