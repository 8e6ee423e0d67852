// The matrix import's words for what a column gained and lost.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { columnChange } from '../../crates/ri-web/assets/js/matrix.js';

test('what an import did to a column', () => {
  assert.equal(columnChange({ declared: ['T1', 'T8'], retracted: ['P3'] }), 'T1, T8 added; P3 removed');
  assert.equal(columnChange({ declared: [], retracted: [] }), 'unchanged');
});
