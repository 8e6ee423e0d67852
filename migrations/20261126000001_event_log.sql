-- The event log: one append-only table in global order, followed by tailing readers.
-- See docs/architecture.md. Shipped rows are facts: the service role may only SELECT and INSERT.

-- The role the service runs as (it owns nothing, so row-level security applies to it).
-- Roles are cluster-wide: several databases may race to create it.
DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'ri_app') THEN
        CREATE ROLE ri_app NOLOGIN;
    END IF;
EXCEPTION WHEN duplicate_object OR unique_violation THEN
    NULL;
END
$$;

CREATE TABLE events (
    position        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    -- The writing transaction: readers only take rows whose transaction is older than every
    -- transaction still running, so a row that commits late is never skipped.
    tx_id           xid8        NOT NULL DEFAULT pg_current_xact_id(),
    event_id        uuid        NOT NULL,
    tenant          text        NOT NULL,
    aggregate_type  text        NOT NULL,
    aggregate_id    text        NOT NULL,
    sequence        bigint      NOT NULL CHECK (sequence > 0),
    event_type      text        NOT NULL,
    event_version   text        NOT NULL,
    payload         jsonb       NOT NULL,
    metadata        jsonb       NOT NULL,
    recorded_at     timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT events_event_id_key UNIQUE (event_id),
    -- Optimistic concurrency: two writers of the same next sequence cannot both commit.
    CONSTRAINT events_stream_key UNIQUE (tenant, aggregate_type, aggregate_id, sequence),
    CONSTRAINT events_metadata_tenant CHECK (metadata ->> 'tenant' = tenant)
);

CREATE INDEX events_log_order ON events (tx_id, position);

CREATE FUNCTION events_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the event log is append-only: % on events refused', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END
$$;

CREATE TRIGGER events_append_only
    BEFORE UPDATE OR DELETE ON events
    FOR EACH ROW EXECUTE FUNCTION events_refuse_change();

CREATE TRIGGER events_no_truncate
    BEFORE TRUNCATE ON events
    FOR EACH STATEMENT EXECUTE FUNCTION events_refuse_change();

-- Newest snapshot per aggregate; replaced only by a newer one.
CREATE TABLE snapshots (
    tenant           text        NOT NULL,
    aggregate_type   text        NOT NULL,
    aggregate_id     text        NOT NULL,
    last_sequence    bigint      NOT NULL,
    snapshot_version bigint      NOT NULL,
    payload          jsonb       NOT NULL,
    taken_at         timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant, aggregate_type, aggregate_id)
);

-- Where each tailing reader (projection, relay) stands in the log's (tx_id, position) order.
CREATE TABLE reader_checkpoints (
    reader      text        PRIMARY KEY,
    tx_id       xid8        NOT NULL DEFAULT '0',
    position    bigint      NOT NULL DEFAULT 0,
    updated_at  timestamptz NOT NULL DEFAULT now()
);

GRANT SELECT, INSERT ON events TO ri_app;
GRANT SELECT, INSERT, UPDATE ON snapshots TO ri_app;
GRANT SELECT, INSERT, UPDATE ON reader_checkpoints TO ri_app;
