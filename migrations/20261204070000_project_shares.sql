-- Sharing projects across tenants (issue 16): a tenant's follow-up manager shares a project
-- with another tenant, which may then read it, assign it to its clusters and see it among their
-- suggestions; the practitioners' feedback on it is visible to the owner and to every tenant it
-- is shared with. Without a share nothing of a project crosses tenants. Expand only.

-- The `projects` projection's: which tenants each project is shared with now.
CREATE TABLE project_shares (
    tenant      text        NOT NULL,
    project_id  text        NOT NULL,
    shared_with text        NOT NULL,
    shared_at   timestamptz NOT NULL,
    PRIMARY KEY (tenant, project_id, shared_with)
);
CREATE INDEX project_shares_with ON project_shares (shared_with, project_id);

ALTER TABLE project_shares ENABLE ROW LEVEL SECURITY;
ALTER TABLE project_shares FORCE ROW LEVEL SECURITY;
CREATE POLICY project_shares_projector ON project_shares
    USING (NULLIF(current_setting('app.projector', true), '') = 'on')
    WITH CHECK (NULLIF(current_setting('app.projector', true), '') = 'on');
CREATE POLICY project_shares_reader ON project_shares FOR SELECT
    USING (tenant = NULLIF(current_setting('app.tenant', true), '')
        OR shared_with = NULLIF(current_setting('app.tenant', true), ''));
GRANT SELECT, INSERT, UPDATE, DELETE ON project_shares TO ri_app;

-- A project, its milestones and its funding applications are readable by the tenants it is
-- shared with, while it is.
CREATE POLICY projects_shared_reader ON projects FOR SELECT
    USING (EXISTS (SELECT 1 FROM project_shares s
        WHERE s.tenant = projects.tenant AND s.project_id = projects.id
          AND s.shared_with = NULLIF(current_setting('app.tenant', true), '')));
CREATE POLICY project_milestones_shared_reader ON project_milestones FOR SELECT
    USING (EXISTS (SELECT 1 FROM project_shares s
        WHERE s.tenant = project_milestones.tenant AND s.project_id = project_milestones.project_id
          AND s.shared_with = NULLIF(current_setting('app.tenant', true), '')));
CREATE POLICY project_applications_shared_reader ON project_applications FOR SELECT
    USING (EXISTS (SELECT 1 FROM project_shares s
        WHERE s.tenant = project_applications.tenant
          AND s.project_id = project_applications.project_id
          AND s.shared_with = NULLIF(current_setting('app.tenant', true), '')));

-- The `clusters` projection's: the tenant a cluster's project belongs to when it is not the
-- cluster's (null: the cluster's own), from `ProjectAssignedToCluster` version 2.
ALTER TABLE cluster_projects ADD COLUMN owner text;

-- Feedback names the tenant of the project it is about, so that tenant reads it too, and so
-- do the tenants the project is shared with.
ALTER TABLE cluster_feedback ADD COLUMN project_owner text;
UPDATE cluster_feedback SET project_owner = tenant;
ALTER TABLE cluster_feedback ALTER COLUMN project_owner SET NOT NULL;
CREATE INDEX cluster_feedback_by_owner ON cluster_feedback (project_owner, project_id);
CREATE POLICY cluster_feedback_project_reader ON cluster_feedback FOR SELECT
    USING (project_owner = NULLIF(current_setting('app.tenant', true), '')
        OR EXISTS (SELECT 1 FROM project_shares s
            WHERE s.tenant = cluster_feedback.project_owner
              AND s.project_id = cluster_feedback.project_id
              AND s.shared_with = NULLIF(current_setting('app.tenant', true), '')));

-- A share or its withdrawal is in the audit trail of both tenants: one entry per tenant for
-- the same event.
ALTER TABLE audit_entries DROP CONSTRAINT audit_entries_pkey;
ALTER TABLE audit_entries ADD PRIMARY KEY (position, tenant);
