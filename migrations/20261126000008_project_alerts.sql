-- Project match alerts (issue 5): the watches projection keeps its own log-order copies of the
-- projects and of the tenants' role grants (each the aggregate's state, folded with its own
-- apply), and which (project, instrument) pairs it has announced.

CREATE TABLE alert_projects (
    id text PRIMARY KEY,
    tenant text NOT NULL,
    state jsonb NOT NULL
);

CREATE TABLE alert_tenants (
    slug text PRIMARY KEY,
    state jsonb NOT NULL
);

CREATE TABLE project_alerts (
    project_id text NOT NULL,
    instrument_id text NOT NULL,
    score double precision NOT NULL,
    at timestamptz NOT NULL,
    PRIMARY KEY (project_id, instrument_id)
);

ALTER TABLE notifications ADD COLUMN project_id text;
ALTER TABLE notifications DROP CONSTRAINT notifications_kind_check;
ALTER TABLE notifications ADD CONSTRAINT notifications_kind_check
    CHECK (kind IN ('NEW_MATCH', 'CHANGED', 'DEADLINE_REMINDER', 'PROJECT_MATCH'));

GRANT SELECT, INSERT, UPDATE, DELETE ON alert_projects, alert_tenants, project_alerts TO ri_app;
