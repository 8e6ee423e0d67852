// The heat map's shades: 0 only for nothing, 1 to 4 by the share of the column's largest value.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { level } from '../../crates/ri-web/assets/js/pages/gaps.js';

test('a count is shaded by its share of the largest in its column', () => {
  assert.equal(level(0, 5), 0);
  assert.equal(level(0, 0), 0);
  assert.equal(level(1, 100), 1);
  assert.equal(level(1, 4), 1);
  assert.equal(level(2, 4), 2);
  assert.equal(level(3, 4), 3);
  assert.equal(level(4, 4), 4);
  assert.equal(level(7, 4), 4);
});
