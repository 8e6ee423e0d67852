-- Project match alerts, one notice per (instrument event, tenant) (issue 14): publishing an
-- instrument that about 250 projects match wrote about 250 PROJECT_MATCH notices, each with its
-- GIN-indexed recipient keys, and those inserts kept PostgreSQL at most of a core under 50
-- requests a second (docs/capacity.md). A notice now names every project of the tenant that the
-- event made match, with its score and threshold, best first; `project_id` is the best one.
--
-- Expand only: notices written before keep their one project and an empty list.

ALTER TABLE notifications ADD COLUMN matches jsonb NOT NULL DEFAULT '[]'::jsonb;
