-- Read models of the `streams` projection: one row per aggregate, and event counts per type.
-- Rebuilt from the log by `regional-invest replay streams`.

CREATE TABLE stream_summaries (
    tenant            text        NOT NULL,
    aggregate_type    text        NOT NULL,
    aggregate_id      text        NOT NULL,
    version           bigint      NOT NULL,
    event_count       bigint      NOT NULL,
    last_event_type   text        NOT NULL,
    first_recorded_at timestamptz NOT NULL,
    last_recorded_at  timestamptz NOT NULL,
    last_position     bigint      NOT NULL,
    PRIMARY KEY (tenant, aggregate_type, aggregate_id)
);

CREATE INDEX stream_summaries_recent ON stream_summaries (tenant, last_recorded_at DESC);

CREATE TABLE event_type_counts (
    tenant          text   NOT NULL,
    aggregate_type  text   NOT NULL,
    event_type      text   NOT NULL,
    event_count     bigint NOT NULL,
    PRIMARY KEY (tenant, aggregate_type, event_type)
);

GRANT SELECT, INSERT, UPDATE, DELETE ON stream_summaries, event_type_counts TO ri_app;
