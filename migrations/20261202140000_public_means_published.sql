-- Only instruments that were ever published are public, in any status (issue 11, item 5).
--
-- `status <> 'DRAFT'` made a draft public as soon as it was archived without ever being
-- published. `published_at` is set by the catalogue projection on `InstrumentPublished` and
-- `InstrumentReopened`, and on `InstrumentClosed` of a draft (only the seed closes a draft: it
-- records a past call, public history), and never cleared, so it is NULL exactly for
-- instruments never public. Drafts, and drafts archived, stay visible to their own tenant (and
-- platform admins) only.
--
-- The rows already projected get the close of a draft from the log below, as a replay of
-- `catalogue` and `watches` would.

UPDATE catalogue_instruments c SET published_at = f.at
    FROM (SELECT tenant, aggregate_id, min(recorded_at) AS at FROM events
          WHERE aggregate_type = 'FundingInstrument' AND event_type = 'InstrumentClosed'
          GROUP BY tenant, aggregate_id) f
    WHERE c.published_at IS NULL AND c.id = f.aggregate_id AND c.tenant = f.tenant;

UPDATE watch_instruments w
    SET state = jsonb_set(w.state, '{published_at}', to_jsonb(f.at))
    FROM (SELECT tenant, aggregate_id, min(recorded_at) AS at FROM events
          WHERE aggregate_type = 'FundingInstrument' AND event_type = 'InstrumentClosed'
          GROUP BY tenant, aggregate_id) f
    WHERE w.state->>'published_at' IS NULL AND w.id = f.aggregate_id AND w.tenant = f.tenant;

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
      AND event_type IN ('InstrumentPublished', 'InstrumentReopened', 'InstrumentClosed');
