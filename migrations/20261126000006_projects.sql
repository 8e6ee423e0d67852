-- Read models of the `projects` projection: each tenant's funded projects, their success
-- milestones and their funding applications. Rebuilt from the log by
-- `regional-invest replay projects`.
--
-- Projects are their tenant's alone ("projects and matches are isolated by tenant"), so all
-- three tables are under row-level security as in 20261126000003: the projection sets
-- `app.projector` to 'on' in its transaction and may then do anything; a reader sets
-- `app.tenant` to its tenant's slug and sees that tenant's rows, and nothing else (no platform
-- admin exception: an admin reads a tenant's projects as that tenant). FORCE makes the
-- policies bind the tables' owner too; replay writes as the projector.
--
-- Keys include the tenant: aggregates are per tenant in the log, so two tenants may use one
-- project id without either seeing or shadowing the other's.

CREATE TABLE projects (
    tenant                       text             NOT NULL,
    id                           text             NOT NULL,
    -- The aggregate's sequence after the last event applied (the `expectedVersion` to send).
    version                      bigint           NOT NULL,
    -- ri_domain::project::ProjectDetails as the events hold it; the columns below repeat it
    -- for queries.
    details                      jsonb            NOT NULL,
    acronym                      text             NOT NULL,
    title                        text             NOT NULL,
    open_call                    text,
    stage                        text CHECK (stage IN ('PROTOTYPING', 'DEMONSTRATOR')),
    security_domain              text,
    -- The lead's and the consortium members' countries, each once, sorted.
    countries                    text[]           NOT NULL,
    summary                      text             NOT NULL,
    -- ri_taxonomy::FeatureSet::bits, and the same set as codes.
    features                     bigint           NOT NULL,
    feature_codes                text[]           NOT NULL,
    applications_beyond_security text,
    match_threshold              double precision NOT NULL
        CHECK (match_threshold BETWEEN 0 AND 1),
    registered_at                timestamptz      NOT NULL,
    updated_at                   timestamptz      NOT NULL,
    PRIMARY KEY (tenant, id)
);

CREATE INDEX projects_feature_codes ON projects USING gin (feature_codes);

CREATE TABLE project_milestones (
    tenant              text        NOT NULL,
    project_id          text        NOT NULL,
    id                  uuid        NOT NULL,
    criterion           text        NOT NULL
        CHECK (criterion IN ('RECOGNITION', 'NEW_COLLABORATIONS_MARKETS',
                             'OPERATIONAL_DEPLOYMENT')),
    date                date        NOT NULL,
    description         text        NOT NULL,
    evidence_link       text,
    -- The funding application whose award this milestone records.
    funding_application uuid,
    -- The log position of the event that recorded it: the order of recording.
    position            bigint      NOT NULL,
    recorded_at         timestamptz NOT NULL,
    PRIMARY KEY (tenant, project_id, id)
);

CREATE TABLE project_applications (
    tenant          text        NOT NULL,
    project_id      text        NOT NULL,
    id              uuid        NOT NULL,
    instrument_id   text,
    instrument_name text        NOT NULL,
    status          text        NOT NULL
        CHECK (status IN ('PLANNED', 'SUBMITTED', 'AWARDED', 'REJECTED')),
    -- The day it reached its status.
    status_date     date        NOT NULL,
    amount          bigint,
    currency        text,
    position        bigint      NOT NULL,
    recorded_at     timestamptz NOT NULL,
    updated_at      timestamptz NOT NULL,
    PRIMARY KEY (tenant, project_id, id)
);

ALTER TABLE projects ENABLE ROW LEVEL SECURITY;
ALTER TABLE projects FORCE ROW LEVEL SECURITY;
ALTER TABLE project_milestones ENABLE ROW LEVEL SECURITY;
ALTER TABLE project_milestones FORCE ROW LEVEL SECURITY;
ALTER TABLE project_applications ENABLE ROW LEVEL SECURITY;
ALTER TABLE project_applications FORCE ROW LEVEL SECURITY;

CREATE POLICY projects_projector ON projects
    USING (NULLIF(current_setting('app.projector', true), '') = 'on')
    WITH CHECK (NULLIF(current_setting('app.projector', true), '') = 'on');
CREATE POLICY projects_reader ON projects FOR SELECT
    USING (tenant = NULLIF(current_setting('app.tenant', true), ''));

CREATE POLICY project_milestones_projector ON project_milestones
    USING (NULLIF(current_setting('app.projector', true), '') = 'on')
    WITH CHECK (NULLIF(current_setting('app.projector', true), '') = 'on');
CREATE POLICY project_milestones_reader ON project_milestones FOR SELECT
    USING (tenant = NULLIF(current_setting('app.tenant', true), ''));

CREATE POLICY project_applications_projector ON project_applications
    USING (NULLIF(current_setting('app.projector', true), '') = 'on')
    WITH CHECK (NULLIF(current_setting('app.projector', true), '') = 'on');
CREATE POLICY project_applications_reader ON project_applications FOR SELECT
    USING (tenant = NULLIF(current_setting('app.tenant', true), ''));

GRANT SELECT, INSERT, UPDATE, DELETE
    ON projects, project_milestones, project_applications TO ri_app;
