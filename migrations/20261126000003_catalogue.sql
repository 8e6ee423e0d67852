-- Read models of the instrument catalogue (`catalogue`), the tenant directory (`tenants`) and the
-- audit trail (`audit`). Rebuilt from the log by `regional-invest replay <projection>`.
--
-- Row-level security: the service role `ri_app` owns nothing, so the policies below apply to it.
-- A projection sets `app.projector` to 'on' in its own transaction and may then do anything; a
-- reader sets `app.tenant` (its tenant's slug, or '' when anonymous) and, for a platform admin,
-- `app.platform_admin` to 'on'. All three are transaction-local (`set_config(..., true)`); a
-- custom setting can read back as '' on a pooled connection, hence the NULLIFs.

CREATE TABLE catalogue_instruments (
    id                   text        PRIMARY KEY,
    tenant               text        NOT NULL,
    -- The aggregate's sequence after the last event applied (the `expectedVersion` to send).
    version              bigint      NOT NULL,
    status               text        NOT NULL
        CHECK (status IN ('DRAFT', 'OPEN', 'CLOSED', 'WITHDRAWN', 'ARCHIVED')),
    title                text        NOT NULL,
    kind                 text        NOT NULL,
    cover_level          text        NOT NULL,
    countries            text[]      NOT NULL,
    programme            text,
    link                 text,
    summary              text        NOT NULL,
    target_organisations text[]      NOT NULL,
    funding_min          bigint,
    funding_max          bigint,
    currency             text,
    periodicity          text,
    languages            text[]      NOT NULL,
    -- ri_taxonomy::FeatureSet::bits, and the same set as codes for GIN `&&` / `@>`.
    features             bigint      NOT NULL,
    feature_codes        text[]      NOT NULL,
    opening_date         date,
    deadline             timestamptz,
    time_zone            text,
    drafted_at           timestamptz NOT NULL,
    updated_at           timestamptz NOT NULL,
    -- The latest publication (a withdrawn instrument can be published again).
    published_at         timestamptz,
    -- setweight(title, 'A') || setweight(programme, 'B') || setweight(summary, 'C'), 'simple'
    -- configuration. Written by the projection rather than GENERATED ALWAYS: replay swaps rows
    -- in with `INSERT … SELECT *`, which a generated column refuses.
    search               tsvector    NOT NULL
);

CREATE INDEX catalogue_instruments_status_deadline
    ON catalogue_instruments (status, deadline, id);
CREATE INDEX catalogue_instruments_search ON catalogue_instruments USING gin (search);
CREATE INDEX catalogue_instruments_countries ON catalogue_instruments USING gin (countries);
CREATE INDEX catalogue_instruments_feature_codes
    ON catalogue_instruments USING gin (feature_codes);
CREATE INDEX catalogue_instruments_tenant_status ON catalogue_instruments (tenant, status);
CREATE INDEX catalogue_instruments_cover_level ON catalogue_instruments (cover_level);
CREATE INDEX catalogue_instruments_kind ON catalogue_instruments (kind);
CREATE INDEX catalogue_instruments_updated ON catalogue_instruments (updated_at DESC, id DESC);

CREATE TABLE tenants (
    slug          text        PRIMARY KEY,
    name          text        NOT NULL,
    kind          text        NOT NULL,
    country       text        NOT NULL,
    website       text,
    domains       text[]      NOT NULL,
    member_count  bigint,
    status        text        NOT NULL CHECK (status IN ('ACTIVE', 'SUSPENDED')),
    -- The Tenant aggregate's sequence after the last event applied.
    version       bigint      NOT NULL,
    registered_at timestamptz NOT NULL,
    updated_at    timestamptz NOT NULL
);

CREATE TABLE tenant_roles (
    tenant  text NOT NULL,
    subject text NOT NULL,
    role    text NOT NULL,
    PRIMARY KEY (tenant, subject, role)
);

CREATE TABLE audit_entries (
    position       bigint      PRIMARY KEY,
    tenant         text        NOT NULL,
    aggregate_type text        NOT NULL,
    aggregate_id   text        NOT NULL,
    sequence       bigint      NOT NULL,
    event_type     text        NOT NULL,
    actor          text        NOT NULL,
    recorded_at    timestamptz NOT NULL,
    -- [{"field": …, "old": text or null, "new": text or null}, …]
    changes        jsonb       NOT NULL,
    summary        text
);

CREATE INDEX audit_entries_aggregate ON audit_entries (tenant, aggregate_id, sequence);

ALTER TABLE catalogue_instruments ENABLE ROW LEVEL SECURITY;
ALTER TABLE catalogue_instruments FORCE ROW LEVEL SECURITY;
ALTER TABLE audit_entries ENABLE ROW LEVEL SECURITY;
ALTER TABLE audit_entries FORCE ROW LEVEL SECURITY;

CREATE POLICY catalogue_projector ON catalogue_instruments
    USING (NULLIF(current_setting('app.projector', true), '') = 'on')
    WITH CHECK (NULLIF(current_setting('app.projector', true), '') = 'on');

-- Published (and closed, withdrawn, archived) instruments are public; drafts only to their
-- tenant and to platform admins.
CREATE POLICY catalogue_reader ON catalogue_instruments FOR SELECT
    USING (
        status <> 'DRAFT'
        OR tenant = NULLIF(current_setting('app.tenant', true), '')
        OR NULLIF(current_setting('app.platform_admin', true), '') = 'on'
    );

CREATE POLICY audit_projector ON audit_entries
    USING (NULLIF(current_setting('app.projector', true), '') = 'on')
    WITH CHECK (NULLIF(current_setting('app.projector', true), '') = 'on');

CREATE POLICY audit_reader ON audit_entries FOR SELECT
    USING (
        tenant = NULLIF(current_setting('app.tenant', true), '')
        OR NULLIF(current_setting('app.platform_admin', true), '') = 'on'
    );

GRANT SELECT, INSERT, UPDATE, DELETE
    ON catalogue_instruments, tenants, tenant_roles, audit_entries TO ri_app;
