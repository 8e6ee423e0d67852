-- Poison events (issue 11): an event a projection cannot apply is recorded here and skipped,
-- so one bad event never halts a read model every tenant shares. One row per (projection,
-- event); a replay that meets the same event again updates its error. Operators read it with
-- `regional-invest failures` or the platform-admin GraphQL query `projectionFailures`; see
-- docs/decisions/0004-poison-events.md. Not under row-level security: only platform admins
-- read it, and it names events, not their payloads.

CREATE TABLE projection_failures (
    projection     text        NOT NULL,
    event_id       uuid        NOT NULL,
    position       bigint      NOT NULL,
    tenant         text        NOT NULL,
    aggregate_type text        NOT NULL,
    aggregate_id   text        NOT NULL,
    event_type     text        NOT NULL,
    error          text        NOT NULL,
    recorded_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (projection, event_id)
);

CREATE INDEX projection_failures_order ON projection_failures (projection, position);

GRANT SELECT, INSERT, UPDATE ON projection_failures TO ri_app;
