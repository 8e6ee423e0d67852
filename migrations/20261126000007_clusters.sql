-- Read models of the `clusters` projection: end-user areas, project clusters with their
-- projects and stakeholders, demo events with their invitations (and every token hash an
-- invitation ever had) and the practitioners' feedback, follow-up sessions with their next
-- steps. Rebuilt from the log by `regional-invest replay clusters`.
--
-- Clusters are their tenant's alone, so every table carries the tenant, keys include it, and
-- all are under row-level security as in 20261126000003: the projection sets `app.projector`
-- to 'on' in its transaction and may then do anything; a reader sets `app.tenant` to its
-- tenant's slug (and `app.platform_admin` to 'on' for a platform admin) and sees that tenant's
-- rows only. Entities inside a cluster (events, invitations, sessions, steps, stakeholders)
-- have caller-chosen UUIDs that are unique within their cluster, hence keys on
-- (tenant, cluster_id, id).
--
-- Practitioners have no account: they reach their invitation by the SHA-256 of their link's
-- token. `invitation_by_token(hash)` below is the one way around the tenant policies: a
-- SECURITY DEFINER function that turns on the SELECT-only `app.token_lookup` policies for its
-- own duration (the SET clause restores the setting on return) and returns the one invitation
-- whose current or past token has that hash, with what the feedback page needs to decide and
-- show; the caller then reads the rest as that invitation's tenant.

CREATE TABLE cluster_areas (
    tenant      text        NOT NULL,
    id          text        NOT NULL,
    -- The EndUserArea aggregate's sequence after the last event applied.
    version     bigint      NOT NULL,
    name        text        NOT NULL,
    -- SENSITIVE_INFRASTRUCTURE_PROTECTION, DISASTER_RESILIENCE, PUBLIC_SPACE_PROTECTION or
    -- OWN (the tenant's own domain, named in own_domain).
    domain      text        NOT NULL,
    own_domain  text,
    description text        NOT NULL,
    named_at    timestamptz NOT NULL,
    updated_at  timestamptz NOT NULL,
    PRIMARY KEY (tenant, id),
    CHECK ((domain = 'OWN') = (own_domain IS NOT NULL))
);

CREATE TABLE clusters (
    tenant            text        NOT NULL,
    id                text        NOT NULL,
    -- The ProjectCluster aggregate's sequence after the last event applied.
    version           bigint      NOT NULL,
    area_id           text        NOT NULL,
    name              text        NOT NULL,
    description       text        NOT NULL,
    -- The subject of the follow-up manager.
    follow_up_manager text,
    formed_at         timestamptz NOT NULL,
    updated_at        timestamptz NOT NULL,
    PRIMARY KEY (tenant, id)
);

CREATE TABLE cluster_projects (
    tenant      text        NOT NULL,
    cluster_id  text        NOT NULL,
    project_id  text        NOT NULL,
    -- The acronym when it was assigned (the projects read model has the current one).
    acronym     text        NOT NULL,
    assigned_at timestamptz NOT NULL,
    -- The log position of the assignment: the order of assignment.
    position    bigint      NOT NULL,
    PRIMARY KEY (tenant, cluster_id, project_id)
);
CREATE INDEX cluster_projects_by_project ON cluster_projects (tenant, project_id);

CREATE TABLE cluster_stakeholders (
    tenant     text        NOT NULL,
    cluster_id text        NOT NULL,
    id         uuid        NOT NULL,
    kind       text        NOT NULL
        CHECK (kind IN ('INVESTOR', 'INTEGRATOR', 'END_USER_ORGANISATION', 'EACTDA', 'DIANA',
                        'OTHER')),
    name       text        NOT NULL,
    note       text        NOT NULL,
    engaged_at timestamptz NOT NULL,
    position   bigint      NOT NULL,
    PRIMARY KEY (tenant, cluster_id, id)
);

CREATE TABLE cluster_demo_events (
    tenant               text        NOT NULL,
    cluster_id           text        NOT NULL,
    id                   uuid        NOT NULL,
    title                text        NOT NULL,
    starts_at            timestamptz NOT NULL,
    -- The IANA zone the organiser gave the time in, and the offset they gave, for display.
    time_zone            text        NOT NULL,
    utc_offset           text        NOT NULL,
    place                text,
    online_link          text,
    -- The agenda in order: project ids and their acronyms, index for index.
    agenda               text[]      NOT NULL,
    agenda_acronyms      text[]      NOT NULL,
    feedback_window_days integer     NOT NULL CHECK (feedback_window_days BETWEEN 1 AND 90),
    feedback_closes_at   timestamptz NOT NULL,
    status               text        NOT NULL CHECK (status IN ('SCHEDULED', 'HELD', 'CANCELLED')),
    cancel_reason        text,
    scheduled_at         timestamptz NOT NULL,
    updated_at           timestamptz NOT NULL,
    PRIMARY KEY (tenant, cluster_id, id)
);

CREATE TABLE cluster_invitations (
    tenant        text        NOT NULL,
    cluster_id    text        NOT NULL,
    event_id      uuid        NOT NULL,
    id            uuid        NOT NULL,
    organisation  text        NOT NULL,
    country       text        NOT NULL,
    sector        text        NOT NULL,
    email         text        NOT NULL,
    -- The current token's hash (see cluster_invitation_tokens for every one it had).
    token_sha256  text        NOT NULL,
    -- NULL: when the event's feedback window closes.
    expires_at    timestamptz,
    status        text        NOT NULL CHECK (status IN ('ACTIVE', 'REVOKED')),
    revoke_reason text,
    invited_at    timestamptz NOT NULL,
    updated_at    timestamptz NOT NULL,
    PRIMARY KEY (tenant, cluster_id, id)
);
CREATE INDEX cluster_invitations_by_event ON cluster_invitations (tenant, cluster_id, event_id);

-- Every token hash an invitation ever had: a replaced one stays, retired, so that its link
-- reads as "replaced by a newer one" instead of "unknown". Hashes of 256-bit random tokens do
-- not collide; should the API ever send one twice, the first invitation keeps it.
CREATE TABLE cluster_invitation_tokens (
    token_sha256  text        PRIMARY KEY CHECK (token_sha256 ~ '^[0-9a-f]{64}$'),
    tenant        text        NOT NULL,
    cluster_id    text        NOT NULL,
    invitation_id uuid        NOT NULL,
    issued_at     timestamptz NOT NULL,
    retired_at    timestamptz
);

CREATE TABLE cluster_feedback (
    tenant        text        NOT NULL,
    cluster_id    text        NOT NULL,
    event_id      uuid        NOT NULL,
    -- The invitation's id (source INVITATION) or the paper sheet's (source PAPER).
    respondent_id uuid        NOT NULL,
    project_id    text        NOT NULL,
    acronym       text        NOT NULL,
    source        text        NOT NULL CHECK (source IN ('INVITATION', 'PAPER')),
    organisation  text        NOT NULL,
    country       text        NOT NULL,
    sector        text        NOT NULL,
    relevance     smallint    NOT NULL CHECK (relevance BETWEEN 1 AND 5),
    usability     smallint    NOT NULL CHECK (usability BETWEEN 1 AND 5),
    would_pilot   boolean     NOT NULL,
    feature_codes text[]      NOT NULL,
    comment       text        NOT NULL,
    submitted_at  timestamptz NOT NULL,
    updated_at    timestamptz NOT NULL,
    -- How many times it was edited.
    revisions     integer     NOT NULL,
    PRIMARY KEY (tenant, cluster_id, respondent_id, project_id)
);
CREATE INDEX cluster_feedback_by_project ON cluster_feedback (tenant, cluster_id, project_id);

CREATE TABLE cluster_sessions (
    tenant        text        NOT NULL,
    cluster_id    text        NOT NULL,
    id            uuid        NOT NULL,
    date          date        NOT NULL,
    demo_event_id uuid,
    attendees     text[]      NOT NULL,
    notes         text        NOT NULL,
    recorded_at   timestamptz NOT NULL,
    PRIMARY KEY (tenant, cluster_id, id)
);

CREATE TABLE cluster_next_steps (
    tenant       text        NOT NULL,
    cluster_id   text        NOT NULL,
    session_id   uuid        NOT NULL,
    id           uuid        NOT NULL,
    project_id   text        NOT NULL,
    acronym      text        NOT NULL,
    action       text        NOT NULL,
    owner        text        NOT NULL,
    due          date        NOT NULL,
    completed_on date,
    added_at     timestamptz NOT NULL,
    position     bigint      NOT NULL,
    PRIMARY KEY (tenant, cluster_id, id)
);

DO $$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['cluster_areas', 'clusters', 'cluster_projects',
                             'cluster_stakeholders', 'cluster_demo_events',
                             'cluster_invitations', 'cluster_invitation_tokens',
                             'cluster_feedback', 'cluster_sessions', 'cluster_next_steps']
    LOOP
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
        EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
        EXECUTE format(
            'CREATE POLICY %I ON %I '
            'USING (NULLIF(current_setting(''app.projector'', true), '''') = ''on'') '
            'WITH CHECK (NULLIF(current_setting(''app.projector'', true), '''') = ''on'')',
            t || '_projector', t);
        EXECUTE format(
            'CREATE POLICY %I ON %I FOR SELECT '
            'USING (tenant = NULLIF(current_setting(''app.tenant'', true), '''') '
            'OR NULLIF(current_setting(''app.platform_admin'', true), '''') = ''on'')',
            t || '_reader', t);
    END LOOP;
END
$$;

-- Read only, and only inside invitation_by_token (which sets the flag for its own duration).
CREATE POLICY cluster_invitation_tokens_lookup ON cluster_invitation_tokens FOR SELECT
    USING (NULLIF(current_setting('app.token_lookup', true), '') = 'on');
CREATE POLICY cluster_invitations_lookup ON cluster_invitations FOR SELECT
    USING (NULLIF(current_setting('app.token_lookup', true), '') = 'on');
CREATE POLICY cluster_demo_events_lookup ON cluster_demo_events FOR SELECT
    USING (NULLIF(current_setting('app.token_lookup', true), '') = 'on');

-- The invitation whose current or past token hash is `hash`, whoever's it is; no row for an
-- unknown hash. `current` is false for a token replaced by a newer one.
CREATE FUNCTION invitation_by_token(hash text)
RETURNS TABLE (
    invitation_id      uuid,
    tenant             text,
    cluster_id         text,
    event_id           uuid,
    current            boolean,
    status             text,
    expires_at         timestamptz,
    organisation       text,
    event_title        text,
    starts_at          timestamptz,
    utc_offset         text,
    time_zone          text,
    event_status       text,
    feedback_closes_at timestamptz
)
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = public, pg_temp
SET app.token_lookup = 'on'
AS $$
    SELECT i.id, i.tenant, i.cluster_id, i.event_id, t.retired_at IS NULL, i.status,
           i.expires_at, i.organisation, e.title, e.starts_at, e.utc_offset, e.time_zone,
           e.status, e.feedback_closes_at
    FROM cluster_invitation_tokens t
    JOIN cluster_invitations i
      ON i.tenant = t.tenant AND i.cluster_id = t.cluster_id AND i.id = t.invitation_id
    JOIN cluster_demo_events e
      ON e.tenant = i.tenant AND e.cluster_id = i.cluster_id AND e.id = i.event_id
    WHERE t.token_sha256 = lower(hash)
$$;

REVOKE ALL ON FUNCTION invitation_by_token(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION invitation_by_token(text) TO ri_app;

GRANT SELECT, INSERT, UPDATE, DELETE
    ON cluster_areas, clusters, cluster_projects, cluster_stakeholders, cluster_demo_events,
       cluster_invitations, cluster_invitation_tokens, cluster_feedback, cluster_sessions,
       cluster_next_steps
    TO ri_app;

-- Feedback attempts by key (the API's `token:<hash>` and `ip:<address>`), counted per fixed
-- window, for rate limiting across every process of the service. Not a projection: no tenant,
-- no replay; rows older than a day are deleted as new attempts come in.
CREATE TABLE feedback_attempts (
    key          text        NOT NULL,
    window_start timestamptz NOT NULL,
    attempts     integer     NOT NULL,
    PRIMARY KEY (key, window_start)
);
CREATE INDEX feedback_attempts_by_window ON feedback_attempts (window_start);

GRANT SELECT, INSERT, UPDATE, DELETE ON feedback_attempts TO ri_app;
