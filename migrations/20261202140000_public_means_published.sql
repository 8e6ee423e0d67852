-- Only instruments that were ever published are public, in any status (issue 11, item 5).
--
-- `status <> 'DRAFT'` made a draft public as soon as it was archived or closed without ever
-- being published. `published_at` is set by the catalogue projection on `InstrumentPublished`
-- and `InstrumentReopened` (the two ways onto the public catalogue) and never cleared, so it is
-- NULL exactly for instruments never published; a replay derives it from the log the same way,
-- so no backfill is needed. Drafts, and instruments archived, closed or withdrawn without
-- ever being published, stay visible to their own tenant (and platform admins) only.

CREATE OR REPLACE VIEW catalogue_public AS
    SELECT * FROM catalogue_instruments WHERE published_at IS NOT NULL;

DROP POLICY catalogue_reader ON catalogue_instruments;

CREATE POLICY catalogue_reader ON catalogue_instruments FOR SELECT
    USING (
        published_at IS NOT NULL
        OR tenant = NULLIF(current_setting('app.tenant', true), '')
        OR NULLIF(current_setting('app.platform_admin', true), '') = 'on'
    );

-- The subscriptions' gate asks whether an instrument had been published by an event's version.
CREATE INDEX events_instrument_publications
    ON events (aggregate_id, sequence)
    WHERE aggregate_type = 'FundingInstrument'
      AND event_type IN ('InstrumentPublished', 'InstrumentReopened');
