-- Project match alerts, one row per instrument (issue 14): the projects already alerted for an
-- instrument, which every event of that instrument reads. As one row per (project, instrument)
-- pair this was about 150 index lookups and heap rows per instrument event at 100,000
-- instruments and 5,000 projects (14.9 million rows), and it kept PostgreSQL at a full core
-- under 50 requests a second (docs/capacity.md). One row per instrument is one lookup.
--
-- Expand: filled from project_alerts, which the service no longer reads or writes; a later
-- release drops it (contract).

CREATE TABLE instrument_alerts (
    instrument_id text PRIMARY KEY,
    -- Sorted, without duplicates.
    projects text[] NOT NULL
);

INSERT INTO instrument_alerts (instrument_id, projects)
SELECT instrument_id, array_agg(project_id ORDER BY project_id)
FROM project_alerts
GROUP BY instrument_id;

GRANT SELECT, INSERT, UPDATE, DELETE ON instrument_alerts TO ri_app;
