-- A cluster dashboard counts the links issued for each invitation of its past demo events. The
-- tokens were indexed by hash only, and under row-level security that count read every token of
-- every tenant once per invitation (4,000 tokens: 6 ms of a 17 ms dashboard at 200 clusters,
-- growing with all tenants' links; docs/capacity.md).
CREATE INDEX cluster_invitation_tokens_by_invitation
    ON cluster_invitation_tokens (tenant, cluster_id, invitation_id);
