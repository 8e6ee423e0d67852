// Every GraphQL document the pages send, and no other: a test checks each against the API's
// schema (crates/regional-invest/tests/web.rs), so keep each one a plain template literal marked
// with the GraphQL comment, without interpolation.
//
// Projects, matches, clusters, feedback and feature gaps arrive with their API; their pages
// (js/pages/coming.js) send nothing until then.

export const TAXONOMY = /* GraphQL */ `
query WebTaxonomy {
  taxonomy {
    categories { id label prefix description features { code label category } }
  }
}`;

// The results, and for each facet group the counts with that group's own choice left out, so
// that every option shows how many instruments choosing it would give.
export const SEARCH = /* GraphQL */ `
query WebSearch(
  $filter: InstrumentFilter
  $byFeature: InstrumentFilter
  $byOrigin: InstrumentFilter
  $byCountry: InstrumentFilter
  $byKind: InstrumentFilter
  $sort: InstrumentSort
  $first: Int
  $after: String
) {
  results: instruments(filter: $filter, sort: $sort, first: $first, after: $after) {
    totalCount
    pageInfo { hasNextPage endCursor }
    nodes {
      id
      title
      kind
      coverLevel
      countries
      status
      programme
      deadline
      timeZone
      curator { slug name suspended }
      features { code label }
    }
  }
  featureFacets: instruments(filter: $byFeature, first: 0) {
    facets { features { feature { code } count } }
  }
  originFacets: instruments(filter: $byOrigin, first: 0) {
    facets { coverLevels { coverLevel count } }
  }
  countryFacets: instruments(filter: $byCountry, first: 0) {
    facets { countries { country count } }
  }
  kindFacets: instruments(filter: $byKind, first: 0) {
    facets { kinds { kind count } }
  }
}`;

export const INSTRUMENT = /* GraphQL */ `
query WebInstrument($id: ID!) {
  instrument(id: $id) {
    id
    version
    status
    title
    kind
    coverLevel
    countries
    programme
    link
    summary
    targetOrganisations
    funding { min max currency }
    periodicity
    languages
    features { code label category }
    openingDate
    deadline
    timeZone
    curator { slug name suspended }
    updatedAt
    publishedAt
  }
}`;

export const AUDIT_TRAIL = /* GraphQL */ `
query WebAuditTrail($id: ID!, $first: Int, $after: String) {
  auditTrail(aggregateId: $id, first: $first, after: $after) {
    totalCount
    pageInfo { hasNextPage endCursor }
    nodes { version eventType actor recordedAt summary changes { field old new } }
  }
}`;

export const ME = /* GraphQL */ `
query WebMe {
  me { authenticated subject tenant roles canCurate }
}`;

export const TENANT_INSTRUMENTS = /* GraphQL */ `
query WebTenantInstruments($filter: InstrumentFilter, $first: Int, $after: String) {
  instruments(filter: $filter, sort: RECENTLY_UPDATED, first: $first, after: $after) {
    totalCount
    pageInfo { hasNextPage endCursor }
    nodes { id version title kind status deadline timeZone updatedAt }
  }
}`;

export const DRAFT = /* GraphQL */ `
mutation WebDraftInstrument($input: InstrumentInput!) {
  draftInstrument(input: $input) { id version }
}`;

export const REVISE = /* GraphQL */ `
mutation WebReviseInstrument($id: ID!, $expectedVersion: Int, $input: InstrumentPatchInput!) {
  reviseInstrument(id: $id, expectedVersion: $expectedVersion, input: $input) { id version }
}`;

export const TAG = /* GraphQL */ `
mutation WebTagInstrumentFeatures($id: ID!, $expectedVersion: Int, $features: [String!]!) {
  tagInstrumentFeatures(id: $id, expectedVersion: $expectedVersion, features: $features) { id version }
}`;

export const UNTAG = /* GraphQL */ `
mutation WebUntagInstrumentFeatures($id: ID!, $expectedVersion: Int, $features: [String!]!) {
  untagInstrumentFeatures(id: $id, expectedVersion: $expectedVersion, features: $features) { id version }
}`;

export const SET_DEADLINE = /* GraphQL */ `
mutation WebSetInstrumentDeadline(
  $id: ID!
  $expectedVersion: Int
  $openingDate: Date
  $deadline: DateTime
  $timeZone: String
) {
  setInstrumentDeadline(
    id: $id
    expectedVersion: $expectedVersion
    openingDate: $openingDate
    deadline: $deadline
    timeZone: $timeZone
  ) { id version }
}`;

export const PUBLISH = /* GraphQL */ `
mutation WebPublishInstrument($id: ID!, $expectedVersion: Int) {
  publishInstrument(id: $id, expectedVersion: $expectedVersion) { id version }
}`;

export const WITHDRAW = /* GraphQL */ `
mutation WebWithdrawInstrument($id: ID!, $expectedVersion: Int, $reason: String!) {
  withdrawInstrument(id: $id, expectedVersion: $expectedVersion, reason: $reason) { id version }
}`;

export const ARCHIVE = /* GraphQL */ `
mutation WebArchiveInstrument($id: ID!, $expectedVersion: Int) {
  archiveInstrument(id: $id, expectedVersion: $expectedVersion) { id version }
}`;

export const TENANT = /* GraphQL */ `
query WebTenant($slug: String!) {
  tenant(slug: $slug) { slug name suspended }
}`;
