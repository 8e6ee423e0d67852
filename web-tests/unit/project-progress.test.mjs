// The project page's funding amounts as typed and shown, and where an API error belongs.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fieldOf, money, readMoney, statusName } from '../../crates/ri-web/assets/js/project-progress.js';

test('an amount is whole positive units with a three-letter currency; both empty is none', () => {
  assert.deepEqual(readMoney('250 000', 'eur'), { amount: 250000, currency: 'EUR' });
  assert.deepEqual(readMoney('1,500,000', 'EUR'), { amount: 1500000, currency: 'EUR' });
  assert.equal(readMoney('', ''), null);
  assert.match(readMoney('12.5', 'EUR').error, /whole units/);
  assert.match(readMoney('0', 'EUR').error, /whole units/);
  assert.match(readMoney('-3', 'EUR').error, /whole units/);
  assert.match(readMoney('99999999999999999999', 'EUR').error, /whole units/);
  assert.match(readMoney('100', 'euro').error, /three-letter/);
  assert.match(readMoney('', 'EUR').error, /whole units/);
});

test('amounts and statuses read as people write them', () => {
  assert.equal(money({ amount: 250000, currency: 'EUR' }), 'EUR 250,000');
  assert.equal(money(null), '');
  assert.equal(statusName('AWARDED'), 'Awarded');
  assert.equal(statusName('SOMETHING_NEW'), 'SOMETHING_NEW');
});

test('an error names its input by the first part of its field', () => {
  assert.equal(fieldOf({ field: 'input.amount.currency' }), 'amount');
  assert.equal(fieldOf({ field: 'input.evidenceLink' }), 'evidenceLink');
  assert.equal(fieldOf({ field: 'date' }), 'date');
  assert.equal(fieldOf({ field: null }), null);
});
