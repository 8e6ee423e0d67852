-- Watches (saved searches), the instruments they match, and the notifications they make.
--
-- watches, watch_instruments and watch_matches are the `watches` projection's tables (rebuilt by
-- replay). notifications is not: it is the inbox of every user, written by that projection with
-- deterministic ids (a replay adds nothing twice) and by the deadline reminder job, read and
-- marked read by its recipients, and published to NATS by the notification relay.
--
-- These rows belong to one user each: every read names the tenant and the owner or recipient
-- (no row-level security, so that the calendar feed can find a watch by id and token alone).

CREATE TABLE watches (
    id text PRIMARY KEY,
    tenant text NOT NULL,
    owner text NOT NULL,
    version bigint NOT NULL,
    name text NOT NULL,
    -- The filter as the event holds it, and in columns for the match predicate.
    filter jsonb NOT NULL,
    text text,
    cover_levels text[] NOT NULL,
    countries text[] NOT NULL,
    kinds text[] NOT NULL,
    features bigint NOT NULL,
    feature_match text NOT NULL,
    tenant_filter text,
    reminder_days integer[] NOT NULL,
    calendar_token_sha256 text NOT NULL,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL
);
CREATE INDEX watches_by_owner ON watches (tenant, owner);

-- The projection's own copy of every instrument (its log-order state, independent of the
-- catalogue's progress), with the columns the match predicate reads.
CREATE TABLE watch_instruments (
    id text PRIMARY KEY,
    tenant text NOT NULL,
    status text NOT NULL,
    kind text NOT NULL,
    cover_level text NOT NULL,
    countries text[] NOT NULL,
    features bigint NOT NULL,
    deadline timestamptz,
    search tsvector NOT NULL,
    state jsonb NOT NULL
);

-- current: the instrument meets the watch's filter (whatever its status).
-- notified: it has been a match while open, so it never makes a new-match notice again
-- (instruments matching when the watch was made or its filter changed count as notified).
CREATE TABLE watch_matches (
    watch_id text NOT NULL,
    instrument_id text NOT NULL,
    current boolean NOT NULL,
    notified boolean NOT NULL,
    since timestamptz NOT NULL,
    PRIMARY KEY (watch_id, instrument_id)
);
CREATE INDEX watch_matches_by_instrument ON watch_matches (instrument_id);

CREATE TABLE notifications (
    seq bigint GENERATED ALWAYS AS IDENTITY UNIQUE,
    -- UUIDv5 of what caused it (event and watch, or reminder, watch, instrument, day, deadline).
    id uuid PRIMARY KEY,
    tenant text NOT NULL,
    recipient text NOT NULL,
    kind text NOT NULL CHECK (kind IN ('NEW_MATCH', 'CHANGED', 'DEADLINE_REMINDER')),
    watch_id text,
    instrument_id text,
    title text NOT NULL,
    message text NOT NULL,
    changes jsonb NOT NULL DEFAULT '[]',
    deadline timestamptz,
    created_at timestamptz NOT NULL,
    read_at timestamptz,
    published_at timestamptz
);
CREATE INDEX notifications_by_recipient ON notifications (tenant, recipient, seq DESC);
CREATE INDEX notifications_unread ON notifications (tenant, recipient) WHERE read_at IS NULL;
CREATE INDEX notifications_unpublished ON notifications (seq) WHERE published_at IS NULL;

GRANT SELECT, INSERT, UPDATE, DELETE ON watches, watch_instruments, watch_matches TO ri_app;
GRANT SELECT, INSERT, UPDATE ON notifications TO ri_app;
