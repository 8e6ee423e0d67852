// A cluster's suggestions explained in words, the projects offered besides them, and a
// stakeholder as typed.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { explainSuggestion, kindLabel, otherProjects, stakeholderInput } from '../../crates/ri-web/assets/js/cluster-members.js';

const suggestion = {
  id: 'p9',
  acronym: 'FLOWGUARD',
  score: 0.4166,
  closestMember: 'DISGRID',
  sharedFeatures: [
    { feature: { code: 'T1', label: 'Sensors' }, members: 2 },
    { feature: { code: 'D3', label: 'Water' }, members: 1 },
  ],
};

test('a suggestion is explained by its score, its closest member and the features it shares', () => {
  assert.deepEqual(explainSuggestion(suggestion, 3), {
    summary: 'Similarity 0.42 of 1 · most like DISGRID',
    shared: 'Shares T1 Sensors (2 of 3 projects), D3 Water (1 of 3 projects)',
  });
  assert.deepEqual(explainSuggestion({ ...suggestion, closestMember: null, sharedFeatures: [suggestion.sharedFeatures[1]] }, 0), {
    summary: 'Similarity 0.42 of 1',
    shared: 'Shares D3 Water (1 project)',
  });
  assert.equal(explainSuggestion({ ...suggestion, sharedFeatures: [suggestion.sharedFeatures[1]] }, 1).shared, 'Shares D3 Water (1 of 1 project)');
  assert.equal(explainSuggestion({ ...suggestion, sharedFeatures: [] }, 2).shared, 'Shares no feature');
});

test('the projects offered are those not in the cluster, by acronym', () => {
  const all = [
    { id: 'b', acronym: 'RS2DG' },
    { id: 'a', acronym: 'DISGRID' },
    { id: 'c', acronym: 'EV-SAFE' },
  ];
  assert.deepEqual(otherProjects(all, [{ id: 'a' }]).map((p) => p.acronym), ['EV-SAFE', 'RS2DG']);
  assert.deepEqual(otherProjects([], []), []);
});

test('a stakeholder needs a kind and a name; the note is optional', () => {
  assert.deepEqual(stakeholderInput({ kind: 'INVESTOR', name: ' Baltic Angels ', note: '' }), {
    input: { kind: 'INVESTOR', name: 'Baltic Angels', note: '' },
  });
  assert.deepEqual(stakeholderInput({ kind: '', name: ' ', note: 'x' }).errors.map((e) => e.field), ['kind', 'name']);
  assert.equal(kindLabel('END_USER_ORGANISATION'), 'End-user organisation');
});
