-- The public search reads published rows through a view owned by the tables' owner.
--
-- Under row-level security PostgreSQL evaluates the policy before any condition whose operator
-- is not LEAKPROOF; `&&`, `@>` and `@@` are not, so for the service role the GIN indexes on
-- countries, feature codes and the text vector were never used (docs/performance.md). Rows
-- that are not drafts are public to everyone, so they need no policy: the view reads them with
-- its owner's rights, and the owner is not subject to the policies once FORCE is off (the
-- service never runs as the owner). Drafts are still read from the table itself, under the
-- policy that shows each tenant only its own.

ALTER TABLE catalogue_instruments NO FORCE ROW LEVEL SECURITY;

CREATE VIEW catalogue_public AS
    SELECT * FROM catalogue_instruments WHERE status <> 'DRAFT';

GRANT SELECT ON catalogue_public TO ri_app;
