// The clusters page's forms as read: an area's and a cluster's input, where an API error goes,
// and an area's domain in words.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { areaInput, clusterInput, domainName, errorKey, fieldMessage, localRefusal } from '../../crates/ri-web/assets/js/cluster-forming.js';

test('an area is named within a domain; the own domain’s name goes only with OWN', () => {
  assert.deepEqual(areaInput({ name: '  Public event security ', domain: 'PUBLIC_SPACE_PROTECTION', ownDomain: 'ignored', description: ' Festivals ' }), {
    input: { name: 'Public event security', domain: 'PUBLIC_SPACE_PROTECTION', ownDomain: null, description: 'Festivals' },
  });
  assert.deepEqual(areaInput({ name: 'Ports', domain: 'OWN', ownDomain: ' Maritime ', description: '' }).input, {
    name: 'Ports',
    domain: 'OWN',
    ownDomain: 'Maritime',
    description: '',
  });
  // An empty own domain is the API's to refuse, at ownDomain.
  assert.equal(areaInput({ name: 'Ports', domain: 'OWN', ownDomain: '  ', description: '' }).input.ownDomain, null);
  assert.deepEqual(areaInput({ name: ' ', domain: 'NOPE', ownDomain: '', description: '' }).errors.map((e) => e.field), ['name', 'domain']);
});

test('a cluster needs an area and a name', () => {
  assert.deepEqual(clusterInput({ areaId: 'a1', name: ' Festivals ', description: '' }), { input: { areaId: 'a1', name: 'Festivals', description: '' } });
  assert.deepEqual(clusterInput({ areaId: '', name: '', description: '' }).errors.map((e) => e.field), ['areaId', 'name']);
});

test('an API error’s field names the form’s field', () => {
  assert.equal(errorKey('input.name'), 'name');
  assert.equal(errorKey('ownDomain'), 'ownDomain');
  assert.equal(errorKey('nextSteps[1].due'), 'nextSteps');
  assert.equal(errorKey(null), '');
  assert.equal(fieldMessage({ field: 'ownDomain', message: 'ownDomain: the tenant’s own domain needs a name' }), 'the tenant’s own domain needs a name');
  assert.equal(fieldMessage({ field: 'input.name', message: 'name: must not be empty' }), 'must not be empty');
  assert.equal(fieldMessage({ field: 'projectId', message: 'ERRATA is already in the cluster' }), 'ERRATA is already in the cluster');
  const refusal = localRefusal([{ field: 'name', message: 'give the area’s name' }]);
  assert.equal(refusal.code, 'BAD_USER_INPUT');
  assert.equal(refusal.errors[0].field, 'name');
});

test('a domain in words; the own domain by its name', () => {
  assert.equal(domainName({ domain: 'DISASTER_RESILIENCE' }), 'Disaster resilience');
  assert.equal(domainName({ domain: 'OWN', ownDomain: 'Maritime' }), 'Maritime');
});
