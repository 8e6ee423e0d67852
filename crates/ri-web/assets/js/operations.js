// Every GraphQL document the pages send, and no other: a test checks each against the API's
// schema (crates/regional-invest/tests/web.rs), so keep each one a plain template literal marked
// with the GraphQL comment, without interpolation.

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
  $consistentWith: String
) {
  results: instruments(
    filter: $filter
    sort: $sort
    first: $first
    after: $after
    consistentWith: $consistentWith
  ) {
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
query WebInstrument($id: ID!, $consistentWith: String, $asOf: DateTime) {
  instrument(id: $id, consistentWith: $consistentWith, asOf: $asOf) {
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
query WebTenantInstruments(
  $filter: InstrumentFilter
  $first: Int
  $after: String
  $consistentWith: String
) {
  instruments(
    filter: $filter
    sort: RECENTLY_UPDATED
    first: $first
    after: $after
    consistentWith: $consistentWith
  ) {
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

// The follow-up manager's pages: projects with their matches, feature gaps, clusters.

export const PROJECTS = /* GraphQL */ `
query WebProjects($filter: ProjectFilter, $first: Int, $after: String, $consistentWith: String) {
  projects(filter: $filter, first: $first, after: $after, consistentWith: $consistentWith) {
    totalCount
    pageInfo { hasNextPage endCursor }
    nodes {
      id
      acronym
      title
      stage
      countries
      features { code label }
      matches(first: 3) {
        score
        instrument { id title deadline timeZone }
        explanation { coverage matched { features { code } } unmatched { features { code } } }
      }
    }
  }
}`;

export const PROJECT = /* GraphQL */ `
query WebProject($id: ID!, $first: Int, $consistentWith: String) {
  project(id: $id, consistentWith: $consistentWith) {
    id
    tenant
    version
    acronym
    title
    openCall
    stage
    securityDomain
    consortium { name country }
    leadCountry
    countries
    summary
    features { code label }
    matchThreshold
    milestones { id criterion date description evidenceLink fundingApplicationId }
    fundingApplications { id instrumentId instrumentName status date amount { amount currency } }
    matches(first: $first) {
      score
      instrument { id title kind coverLevel countries deadline timeZone curator { slug name } }
      explanation {
        matched { category { id label } features { code label } }
        unmatched { category { id label } features { code label } }
        stageFeatures { code label }
        coverage
        stageFit
        daysToDeadline
        ruleVersion
      }
    }
  }
}`;

export const FEATURE_GAPS = /* GraphQL */ `
query WebFeatureGaps {
  featureGaps {
    feature { code label category }
    projects
    openInstruments
  }
}`;

export const CLUSTERS = /* GraphQL */ `
query WebClusters {
  clusters {
    id
    name
    description
    area { id name }
    followUpManager
    projectCount
    upcomingEventCount
    openStepCount
    overdueStepCount
  }
}`;

export const CLUSTER = /* GraphQL */ `
query WebCluster($id: ID!) {
  cluster(id: $id) {
    id
    version
    name
    description
    area { id name }
    followUpManager
    projectCount
    projects { id acronym title registered }
    stakeholders { id kind name note engagedAt }
    upcomingEvents {
      id title startsAt timeZone place onlineLink status cancelReason feedbackWindowDays feedbackClosesAt
      agenda { id acronym title features { code label } }
      invitationCount respondentCount feedbackCount
    }
    pastEvents {
      id title startsAt timeZone place onlineLink status cancelReason feedbackWindowDays feedbackClosesAt
      agenda { id acronym title features { code label } }
      invitationCount respondentCount feedbackCount
    }
    feedback {
      projectId
      acronym
      count
      meanRelevance
      meanUsability
      wouldPilotShare
      topFeatures { feature { code label } count }
    }
    sessions { id date attendees notes nextSteps { id action due completedOn } }
    openSteps { id acronym action owner due overdue }
    milestones { id projectId acronym criterion date description evidenceLink }
  }
}`;

// A practitioner's link: no account, the token is the credential.
export const FEEDBACK_INVITATION = /* GraphQL */ `
query WebFeedbackInvitation($token: String!) {
  invitation(token: $token) {
    state
    organisation
    eventTitle
    startsAt
    timeZone
    feedbackClosesAt
    agenda { id acronym title features { code label } }
    feedback { projectId relevance usability wouldPilot relevantFeatures { code } comment }
  }
}`;

export const SUBMIT_FEEDBACK = /* GraphQL */ `
mutation WebSubmitDemoFeedback($token: String!, $projectId: ID!, $input: FeedbackInput!) {
  submitDemoFeedback(token: $token, projectId: $projectId, input: $input) { projectId acronym receivedAt }
}`;

// Watches (saved searches) and the inbox of notifications they make.
export const WATCHES = /* GraphQL */ `
query WebWatches($consistentWith: String) {
  watches(consistentWith: $consistentWith) {
    id
    name
    version
    reminderDays
    createdAt
    filter {
      text
      coverLevels
      countries
      kinds
      features { code label }
      featureMatch
    }
  }
}`;

export const CREATE_WATCH = /* GraphQL */ `
mutation WebCreateWatch($input: CreateWatchInput!) {
  createWatch(input: $input) { id version calendarPath }
}`;

export const UPDATE_WATCH = /* GraphQL */ `
mutation WebUpdateWatch($id: ID!, $expectedVersion: Int, $input: UpdateWatchInput!) {
  updateWatch(id: $id, expectedVersion: $expectedVersion, input: $input) { id version }
}`;

export const DELETE_WATCH = /* GraphQL */ `
mutation WebDeleteWatch($id: ID!, $expectedVersion: Int) {
  deleteWatch(id: $id, expectedVersion: $expectedVersion) { id version }
}`;

export const ROTATE_WATCH_CALENDAR = /* GraphQL */ `
mutation WebRotateWatchCalendar($id: ID!) {
  rotateWatchCalendarToken(id: $id) { id version calendarPath }
}`;

export const NOTIFICATIONS = /* GraphQL */ `
query WebNotifications($first: Int, $after: String) {
  notifications(first: $first, after: $after) {
    unreadCount
    pageInfo { hasNextPage endCursor }
    nodes { ...WebNotice }
  }
}

fragment WebNotice on Notification {
  id
  kind
  watchId
  instrumentId
  title
  message
  changes { field old new }
  matches { projectId acronym score threshold }
  deadline
  createdAt
  readAt
  cause { summary asOf }
}`;

export const MARK_NOTIFICATIONS_READ = /* GraphQL */ `
mutation WebMarkNotificationsRead($ids: [ID!], $all: Boolean) {
  markNotificationsRead(ids: $ids, all: $all)
}`;

// Sent over the WebSocket (graphql-transport-ws): each notification as it is made.
export const NOTIFICATIONS_LIVE = /* GraphQL */ `
subscription WebNotificationsLive {
  notifications {
    id
    kind
    watchId
    instrumentId
    title
    message
    changes { field old new }
    matches { projectId acronym score threshold }
    deadline
    createdAt
    readAt
    cause { summary asOf }
  }
}`;

// A follow-up manager registers a project, then declares its features.
export const REGISTER_PROJECT = /* GraphQL */ `
mutation WebRegisterProject($input: RegisterProjectInput!) {
  registerProject(input: $input) { id version }
}`;

export const DECLARE_PROJECT_FEATURES = /* GraphQL */ `
mutation WebDeclareProjectFeatures($id: ID!, $expectedVersion: Int, $features: [String!]!) {
  declareProjectFeatures(id: $id, expectedVersion: $expectedVersion, features: $features) { id version }
}`;

export const REVISE_PROJECT = /* GraphQL */ `
mutation WebReviseProject($id: ID!, $expectedVersion: Int, $input: ReviseProjectInput!) {
  reviseProject(id: $id, expectedVersion: $expectedVersion, input: $input) { id version }
}`;

export const RETRACT_PROJECT_FEATURES = /* GraphQL */ `
mutation WebRetractProjectFeatures($id: ID!, $expectedVersion: Int, $features: [String!]!) {
  retractProjectFeatures(id: $id, expectedVersion: $expectedVersion, features: $features) { id version }
}`;

// The follow-up manager's next steps on the cluster dashboard.
export const COMPLETE_NEXT_STEP = /* GraphQL */ `
mutation WebCompleteNextStep($clusterId: ID!, $stepId: ID!, $expectedVersion: Int) {
  completeNextStep(clusterId: $clusterId, stepId: $stepId, expectedVersion: $expectedVersion) { id version }
}`;

export const RECORD_FOLLOW_UP_SESSION = /* GraphQL */ `
mutation WebRecordFollowUpSession($clusterId: ID!, $expectedVersion: Int, $input: FollowUpSessionInput!) {
  recordFollowUpSession(clusterId: $clusterId, expectedVersion: $expectedVersion, input: $input) {
    id
    version
    sessionId
    nextStepIds
  }
}`;
