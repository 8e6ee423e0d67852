-- Issue 11: the `watches` projection writes one row per notice and at most one per instrument,
-- not one per recipient and one per (watch, instrument) pair. Catching up a 50,000-event log wrote
-- 250,000 notification rows and 170,000 pairs, and their index upkeep capped it near 2,700
-- events/s; the same notices are now about 50,000 rows.
--
-- Expand/contract: this release stops reading and writing notifications.tenant, .recipient,
-- .watch_id and .read_at and the table watch_matches; a later release drops them. Old replicas
-- still running during a rollout keep working on their own rows.

-- 1. A notice reaches every recipient it was made for: parallel arrays, one element per
--    recipient (its notification id, tenant, user and watch), and `keys` (tenant, a space, the
--    user) for the inbox's index. A recipient's notification is (row, element); its sequence,
--    the inbox cursor, is seq * 4096 + element - 1 (a row holds at most 4096 recipients).
ALTER TABLE notifications
    ADD COLUMN ids uuid[],
    ADD COLUMN tenants text[],
    ADD COLUMN recipients text[],
    ADD COLUMN watches text[],
    ADD COLUMN keys text[];
UPDATE notifications
SET ids = ARRAY[id], tenants = ARRAY[tenant], recipients = ARRAY[recipient],
    watches = ARRAY[watch_id], keys = ARRAY[tenant || ' ' || recipient];
ALTER TABLE notifications
    ALTER COLUMN ids SET NOT NULL,
    ALTER COLUMN tenants SET NOT NULL,
    ALTER COLUMN recipients SET NOT NULL,
    ALTER COLUMN watches SET NOT NULL,
    ALTER COLUMN keys SET NOT NULL,
    ALTER COLUMN tenant DROP NOT NULL,
    ALTER COLUMN recipient DROP NOT NULL;
CREATE INDEX notifications_by_key ON notifications USING gin (keys);
DROP INDEX notifications_by_recipient;
DROP INDEX notifications_unread;

-- 2. Read marks, one row per notification a user has read (users read far fewer than they get).
CREATE TABLE notification_reads (
    tenant text NOT NULL,
    recipient text NOT NULL,
    id uuid NOT NULL,
    read_at timestamptz NOT NULL,
    PRIMARY KEY (tenant, recipient, id)
);
INSERT INTO notification_reads (tenant, recipient, id, read_at)
SELECT tenant, recipient, id, read_at FROM notifications WHERE read_at IS NOT NULL;
GRANT SELECT, INSERT ON notification_reads TO ri_app;

-- 3. Which watches an instrument was announced to (a NEW_MATCH), or met when the watch was made
--    or its filter changed: never a NEW_MATCH for them again. One row per instrument. Which
--    instruments a watch follows is no longer stored: those (ever published) that meet its
--    filter now. The projection's table: `replay watches` rebuilds it.
CREATE TABLE watch_notified (
    instrument_id text PRIMARY KEY,
    watches text[] NOT NULL
) WITH (fillfactor = 70);
INSERT INTO watch_notified (instrument_id, watches)
SELECT instrument_id, array_agg(watch_id ORDER BY watch_id)
FROM watch_matches
WHERE notified
GROUP BY instrument_id;
GRANT SELECT, INSERT, UPDATE, DELETE ON watch_notified TO ri_app;

-- 4. Whether an instrument was ever published, in a column: a watch made or changed scans every
--    instrument, and reading it from `state` decompressed each row's JSON.
ALTER TABLE watch_instruments ADD COLUMN published boolean NOT NULL DEFAULT false;
UPDATE watch_instruments SET published = state->>'published_at' IS NOT NULL;
