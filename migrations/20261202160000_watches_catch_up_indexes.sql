-- The watches projection writes about five notifications per instrument event while it catches
-- up (issue 11: 250,000 for a 50,000-event log), and each index costs every one of them. No read
-- looks a notification up by `seq` alone: the inbox pages by (tenant, recipient, seq)
-- (notifications_by_recipient), the relay by the partial notifications_unpublished. `seq` stays
-- an identity column, so its values are still unique; only the index that checked it goes.
ALTER TABLE notifications DROP CONSTRAINT notifications_seq_key;

-- Each run of instrument events reads which projects were already alerted for its instruments;
-- without this index that is a scan of every alerted pair, once per run.
CREATE INDEX project_alerts_by_instrument ON project_alerts (instrument_id);
