//! Subscriptions, over `graphql-transport-ws` on `/graphql` ([`super::http`]), fed from NATS:
//! every server process subscribes to the relay's subjects itself, so a client connected to
//! any process receives every event, whichever process committed it and whichever runs the
//! relay.
//!
//! A field is a NATS subject turned into a stream: [`relayed_events`] subscribes (one core NATS
//! subscription per GraphQL subscription, dropped with it) and decodes each message the relay
//! published (docs/events.md) into a [`RelayedEvent`], with its `subscription.receive` span; the
//! field filters and decides what the caller may see.
//!
//! Delivery is core NATS: what is published while a subscription is open, in the relay's order
//! (within an instrument: sequence order), at most once per publish. A relay that re-publishes
//! a batch after a failure publishes its events again (JetStream drops the copies; a core
//! subscriber does not): clients key on `eventId`. Nothing is replayed: a client that
//! reconnects re-reads what it shows and subscribes again.

use std::collections::HashMap;
use std::future::ready;

use async_graphql::{Context, ID, InputObject, Json, SimpleObject, Subscription};
use futures_util::{Stream, StreamExt};
use ri_domain::TenantSlug;
use ri_domain::instrument::{INSTRUMENT, InstrumentEvent};
use sqlx::PgPool;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use tracing::Instrument;

use super::error::{ApiError, Code};
use super::{Api, principal};
use crate::trace::adopt_message_parent;

/// Instruments' first publications are remembered, per subscription, up to this many.
const MAX_KNOWN_PUBLIC: usize = 4096;

/// The version of instrument `$2` of tenant `$1` that first published it, if one at or before
/// version `$3` did (a draft is closed only to record a past call, which makes it public
/// history: the catalogue's `published_at`). Literal types, so that the partial index on publications serves it
/// (migrations/20261202140000_public_means_published.sql).
const FIRST_PUBLICATION: &str = "SELECT min(sequence) FROM events \
     WHERE aggregate_type = 'FundingInstrument' \
       AND event_type IN ('InstrumentPublished', 'InstrumentReopened', 'InstrumentClosed') \
       AND tenant = $1 AND aggregate_id = $2 AND sequence <= $3";

#[derive(Debug)]
pub struct SubscriptionRoot;

/// Which instrument events to receive; every field narrows.
#[derive(InputObject, Debug, Clone, Default)]
pub(crate) struct InstrumentEventFilter {
    /// A tenant's slug: only its instruments.
    pub tenant: Option<String>,
    /// Only this instrument's events.
    pub instrument_id: Option<ID>,
    /// Only these event types, e.g. `InstrumentPublished` (docs/events.md); empty: all.
    #[graphql(default)]
    pub types: Vec<String>,
}

/// One event of a funding instrument.
#[derive(SimpleObject, Debug, Clone, PartialEq)]
pub(crate) struct InstrumentEventMessage {
    /// Unique per event; a re-published copy carries the same id.
    pub event_id: ID,
    /// The slug of the tenant the instrument belongs to.
    pub tenant: String,
    pub instrument_id: ID,
    /// The event type, e.g. `InstrumentPublished`.
    #[graphql(name = "type")]
    pub event_type: String,
    /// The instrument's version after this event (the event's sequence).
    pub version: i64,
    pub recorded_at: OffsetDateTime,
    /// The event's payload as stored (docs/events.md).
    pub payload: Json<serde_json::Value>,
}

#[Subscription]
impl SubscriptionRoot {
    /// Events of funding instruments as they are recorded. Signed-in callers only.
    ///
    /// You receive every event of your tenant's instruments, and the events of other tenants'
    /// instruments from their first publication on: an event is sent when the instrument had
    /// been published (`InstrumentPublished`, `InstrumentReopened`, or a past call recorded
    /// with `InstrumentClosed`) at or before the event's version, as the log records it. Another tenant's drafts, and everything before its first
    /// publication, are never sent, whenever the relay delivers them. Platform admins, who see
    /// every tenant's drafts, receive every tenant's events.
    ///
    /// Order: as recorded within an instrument. Nothing is replayed: subscribe, then read the
    /// current state. Copies are possible after a server failure: key on `eventId`.
    async fn instrument_events(
        &self,
        ctx: &Context<'_>,
        filter: Option<InstrumentEventFilter>,
    ) -> async_graphql::Result<impl Stream<Item = async_graphql::Result<InstrumentEventMessage>>>
    {
        let caller = principal(ctx);
        let Some(user) = caller.user() else {
            return Err(ApiError::unauthenticated().into());
        };
        let filter = filter.unwrap_or_default();
        let tenant = filter
            .tenant
            .as_deref()
            .map(|t| {
                TenantSlug::parse(t).map_err(|e| ApiError::field("filter.tenant", e.to_string()))
            })
            .transpose()?;
        let types = filter
            .types
            .iter()
            .map(|t| {
                InstrumentEvent::TYPES
                    .into_iter()
                    .find(|known| known == t)
                    .ok_or_else(|| {
                        ApiError::field(
                            "filter.types",
                            format!(
                                "unknown event type {t:?}; known: {}",
                                InstrumentEvent::TYPES.join(", ")
                            ),
                        )
                    })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let api = ctx.data_unchecked::<Api>();
        let subject = instrument_subject(&api.event_subject_prefix, tenant.as_ref(), &types);
        let events = relayed_events(api, subject).await?;
        let gate = Gate {
            db: api.db.clone(),
            viewer: user.tenant.clone(),
            platform_admin: caller.is_platform_admin(),
            instrument_id: filter.instrument_id.map(|id| id.0),
            types,
            published: HashMap::new(),
        };
        Ok(futures_util::stream::unfold(
            (Box::pin(events), gate),
            |(mut events, mut gate)| async move {
                while let Some(Received { event, span }) = events.next().await {
                    // The span ends here, before the event goes to the client.
                    if let Some(item) = gate.admit(event).instrument(span).await {
                        return Some((item.map_err(Into::into), (events, gate)));
                    }
                }
                None
            },
        ))
    }

    /// Your notifications as they are made: new matches of your watches, changes to what they
    /// follow, deadline reminders. Signed-in callers only; nothing is replayed (read
    /// `notifications` for what came before).
    async fn notifications(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<impl Stream<Item = super::watches::Notification>> {
        Ok(notification_stream(ctx).await?)
    }

    /// Events of one of your tenant's project clusters as they are recorded (docs/events.md):
    /// its projects, demo events, invitations, feedback, follow-up. Signed-in users of the
    /// cluster's tenant only (another tenant's cluster is NOT_FOUND); nothing is replayed.
    async fn cluster_activity(
        &self,
        ctx: &Context<'_>,
        cluster_id: ID,
    ) -> async_graphql::Result<impl Stream<Item = super::clusters::ClusterActivity>> {
        Ok(super::clusters::activity(ctx, cluster_id).await?)
    }
}

/// NATS header naming a notification's recipient (ri_relay::notifications::RECIPIENT).
const RECIPIENT: &str = "ri-recipient";

/// Your notifications as they are made (docs/events.md), from any server process.
async fn notification_stream(
    ctx: &Context<'_>,
) -> Result<impl Stream<Item = super::watches::Notification> + Send + use<>, ApiError> {
    let Some(user) = principal(ctx).user() else {
        return Err(ApiError::unauthenticated());
    };
    let api = ctx.data_unchecked::<Api>();
    let subject = format!(
        "{}.{}.*",
        api.notification_subject_prefix,
        user.tenant.as_str()
    );
    let client = api.nats.as_ref().ok_or_else(unavailable)?;
    if client.connection_state() != async_nats::connection::State::Connected {
        return Err(unavailable());
    }
    let subscriber = client.subscribe(subject.clone()).await.map_err(|e| {
        tracing::warn!(error = %e, %subject, "cannot subscribe to NATS");
        unavailable()
    })?;
    client.flush().await.map_err(|e| {
        tracing::warn!(error = %e, %subject, "NATS did not answer after subscribing");
        unavailable()
    })?;
    let recipient = user.subject.clone();
    Ok(subscriber.filter_map(move |message| {
        let mine = message
            .headers
            .as_ref()
            .and_then(|h| h.get(RECIPIENT))
            .is_some_and(|r| r.as_str() == recipient);
        let decoded = if mine {
            match serde_json::from_slice::<ri_projections::watches::Notification>(&message.payload)
            {
                // The header and the body must agree: the body is what is shown.
                Ok(n) if n.recipient == recipient => Some(n.into()),
                Ok(_) => None,
                Err(e) => {
                    tracing::warn!(subject = %message.subject, error = %e, "a notification message does not decode; skipped");
                    None
                }
            }
        } else {
            None
        };
        ready(decoded)
    }))
}

/// `<prefix>.<tenant or *>.fundinginstrument.<type or *>`: one type narrows the subject itself.
fn instrument_subject(prefix: &str, tenant: Option<&TenantSlug>, types: &[&'static str]) -> String {
    let tenant = tenant.map_or("*", TenantSlug::as_str);
    let event = match types {
        [one] => one.to_lowercase(),
        _ => "*".to_owned(),
    };
    format!("{prefix}.{tenant}.{}.{event}", INSTRUMENT.to_lowercase())
}

/// The event type's name as the domain spells it (the subject has it lower-case); a type this
/// server does not know (a newer server's) as it came.
fn event_type_name(token: &str) -> String {
    InstrumentEvent::TYPES
        .into_iter()
        .find(|t| t.eq_ignore_ascii_case(token))
        .map_or_else(|| token.to_owned(), str::to_owned)
}

/// What one subscriber may see, and the filter it asked for.
struct Gate {
    db: PgPool,
    viewer: TenantSlug,
    platform_admin: bool,
    instrument_id: Option<String>,
    types: Vec<&'static str>,
    /// Other tenants' instruments and the version that first published them: the events from
    /// that version on are visible, those before it never are, so the log need not be asked
    /// twice.
    published: HashMap<String, i64>,
}

impl Gate {
    /// The message for `event` if it passes the filter and the caller may see it; an error
    /// when that cannot be decided (the event is left out and the subscription goes on).
    async fn admit(
        &mut self,
        event: RelayedEvent,
    ) -> Option<Result<InstrumentEventMessage, ApiError>> {
        if self
            .instrument_id
            .as_ref()
            .is_some_and(|id| *id != event.aggregate_id)
        {
            return None;
        }
        let event_type = event_type_name(&event.event);
        if !self.types.is_empty() && !self.types.contains(&event_type.as_str()) {
            return None;
        }
        match self.visible(&event).await {
            Ok(true) => Some(Ok(InstrumentEventMessage {
                event_id: ID(event.event_id),
                tenant: event.tenant,
                instrument_id: ID(event.aggregate_id),
                event_type,
                version: event.sequence,
                recorded_at: event.recorded_at,
                payload: Json(event.payload),
            })),
            Ok(false) => None,
            Err(e) => Some(Err(ApiError::new(
                e.code,
                format!("an event was left out: {}", e.message),
            ))),
        }
    }

    /// Whether the caller may see `event`: its own tenant's, or another tenant's instrument
    /// published at or before the event's version. Decided from the log, which is exact as of
    /// the event whenever it is delivered (not from the catalogue, which says what is public
    /// now and lags).
    async fn visible(&mut self, event: &RelayedEvent) -> Result<bool, ApiError> {
        if self.platform_admin || event.tenant == self.viewer.as_str() {
            return Ok(true);
        }
        if let Some(first) = self.published.get(&event.aggregate_id) {
            return Ok(*first <= event.sequence);
        }
        // The relay publishes committed events only: a publication is in the log by now.
        let first = self.first_publication(event).await?;
        let Some(first) = first else {
            // Not published by this version; a later event may be.
            return Ok(false);
        };
        if self.published.len() >= MAX_KNOWN_PUBLIC {
            self.published.clear();
        }
        self.published.insert(event.aggregate_id.clone(), first);
        Ok(first <= event.sequence)
    }

    async fn first_publication(&self, event: &RelayedEvent) -> Result<Option<i64>, ApiError> {
        let mut tx = self.db.begin().await?;
        let value = sqlx::query_scalar::<_, Option<i64>>(FIRST_PUBLICATION)
            .bind(&event.tenant)
            .bind(&event.aggregate_id)
            .bind(event.sequence)
            .fetch_one(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(value)
    }
}

/// An event as the relay published it (docs/events.md), read back from its message.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct RelayedEvent {
    /// `ce-id`.
    pub event_id: String,
    /// The tenant's slug (the subject's token).
    pub tenant: String,
    /// The aggregate type, lower-case (the subject's token), e.g. `fundinginstrument`.
    pub aggregate: String,
    /// The event type, lower-case (the subject's token), e.g. `instrumentpublished`.
    pub event: String,
    /// `ce-subject`.
    pub aggregate_id: String,
    /// `ce-sequence`: the aggregate's version after the event.
    pub sequence: i64,
    /// `ce-time`.
    pub recorded_at: OffsetDateTime,
    /// The body.
    pub payload: serde_json::Value,
}

/// A received event and the span to handle it in: `subscription.receive` (a consumer span),
/// a child of the relay's publish span when the message carries its `traceparent`.
#[derive(Debug)]
pub(crate) struct Received {
    pub event: RelayedEvent,
    pub span: tracing::Span,
}

fn unavailable() -> ApiError {
    ApiError::new(
        Code::Unavailable,
        "subscriptions are unavailable: the event feed (NATS) is not connected; try again",
    )
}

/// The relay's events on `subject` (NATS wildcards allowed) from now on, each with its span.
/// The NATS subscription is in place when this returns; it ends when the stream is dropped.
/// Messages that are not the relay's events are logged and skipped.
///
/// UNAVAILABLE when NATS is not configured or not connected.
pub(crate) async fn relayed_events(
    api: &Api,
    subject: String,
) -> Result<impl Stream<Item = Received> + Send + use<>, ApiError> {
    let client = api.nats.as_ref().ok_or_else(unavailable)?;
    if client.connection_state() != async_nats::connection::State::Connected {
        return Err(unavailable());
    }
    let subscriber = client.subscribe(subject.clone()).await.map_err(|e| {
        tracing::warn!(error = %e, %subject, "cannot subscribe to NATS");
        unavailable()
    })?;
    // The server has the subscription once it has answered a ping: from here on nothing
    // published on the subject is missed.
    client.flush().await.map_err(|e| {
        tracing::warn!(error = %e, %subject, "NATS did not answer after subscribing");
        unavailable()
    })?;
    Ok(subscriber.filter_map(|message| ready(receive(&message))))
}

/// Opens the message's span and decodes the message in it.
fn receive(message: &async_nats::Message) -> Option<Received> {
    let span = tracing::info_span!(
        "subscription.receive",
        otel.kind = "consumer",
        messaging.system = "nats",
        messaging.destination.name = %message.subject,
        messaging.message.id = tracing::field::Empty,
    );
    adopt_message_parent(&span, message.headers.as_ref());
    match span.in_scope(|| decode(message)) {
        Ok(event) => {
            span.record("messaging.message.id", event.event_id.as_str());
            Some(Received { event, span })
        }
        Err(reason) => {
            span.in_scope(|| {
                tracing::warn!(subject = %message.subject, reason, "a NATS message is not a relayed event; skipped");
            });
            None
        }
    }
}

/// The event in a relay's message: subject `<prefix>.<tenant>.<aggregate>.<event>`, the
/// `ce-*` headers, a JSON body.
pub(crate) fn decode(message: &async_nats::Message) -> Result<RelayedEvent, String> {
    let mut tokens = message.subject.as_str().rsplitn(4, '.');
    let (Some(event), Some(aggregate), Some(tenant), Some(_prefix)) =
        (tokens.next(), tokens.next(), tokens.next(), tokens.next())
    else {
        return Err("the subject is not <prefix>.<tenant>.<aggregate>.<event>".to_owned());
    };
    let headers = message.headers.as_ref().ok_or("no headers")?;
    let header = |name: &str| {
        headers
            .get(name)
            .map(|v| v.as_str().to_owned())
            .ok_or_else(|| format!("no {name} header"))
    };
    let sequence = header("ce-sequence")?
        .parse::<i64>()
        .map_err(|e| format!("ce-sequence: {e}"))?;
    let recorded_at = OffsetDateTime::parse(&header("ce-time")?, &Rfc3339)
        .map_err(|e| format!("ce-time: {e}"))?;
    let payload = serde_json::from_slice(&message.payload).map_err(|e| format!("the body: {e}"))?;
    Ok(RelayedEvent {
        event_id: header("ce-id")?,
        tenant: tenant.to_owned(),
        aggregate: aggregate.to_owned(),
        event: event.to_owned(),
        aggregate_id: header("ce-subject")?,
        sequence,
        recorded_at,
        payload,
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    fn message(subject: &str, headers: &[(&str, &str)], body: &str) -> async_nats::Message {
        let mut map = async_nats::HeaderMap::new();
        for (k, v) in headers {
            map.insert(*k, *v);
        }
        async_nats::Message {
            subject: subject.into(),
            reply: None,
            payload: body.to_owned().into(),
            headers: Some(map),
            status: None,
            description: None,
            length: 0,
        }
    }

    const HEADERS: [(&str, &str); 4] = [
        ("ce-id", "0192f7a0-0000-7000-8000-000000000001"),
        ("ce-subject", "abc"),
        ("ce-sequence", "3"),
        ("ce-time", "2025-05-03T10:00:00.5Z"),
    ];

    #[test]
    fn a_relayed_message_decodes_into_its_event() {
        let m = message(
            "ri.evt.l3ce.fundinginstrument.instrumentpublished",
            &HEADERS,
            "\"InstrumentPublished\"",
        );
        let e = decode(&m).unwrap();
        assert_eq!(e.event_id, "0192f7a0-0000-7000-8000-000000000001");
        assert_eq!(
            (e.tenant.as_str(), e.aggregate.as_str(), e.event.as_str()),
            ("l3ce", "fundinginstrument", "instrumentpublished")
        );
        assert_eq!((e.aggregate_id.as_str(), e.sequence), ("abc", 3));
        assert_eq!(
            e.recorded_at,
            time::macros::datetime!(2025-05-03 10:00:00.5 UTC)
        );
        assert_eq!(e.payload, serde_json::json!("InstrumentPublished"));
        assert_eq!(event_type_name(&e.event), "InstrumentPublished");
        assert_eq!(event_type_name("somethingnew"), "somethingnew");
    }

    #[test]
    fn other_messages_do_not_decode() {
        let subject = "ri.evt.l3ce.fundinginstrument.instrumentpublished";
        assert!(decode(&message("ri.l3ce", &HEADERS, "{}")).is_err());
        assert!(decode(&message(subject, &HEADERS[1..], "{}")).is_err());
        assert!(decode(&message(subject, &HEADERS, "not json")).is_err());
        let mut bad = HEADERS;
        bad[2] = ("ce-sequence", "three");
        assert!(decode(&message(subject, &bad, "{}")).is_err());
    }

    #[test]
    fn one_event_type_narrows_the_subject() {
        let l3ce = TenantSlug::parse("l3ce").unwrap();
        assert_eq!(
            instrument_subject("ri.evt", None, &[]),
            "ri.evt.*.fundinginstrument.*"
        );
        assert_eq!(
            instrument_subject("ri.evt", Some(&l3ce), &["InstrumentPublished"]),
            "ri.evt.l3ce.fundinginstrument.instrumentpublished"
        );
        assert_eq!(
            instrument_subject(
                "ri.evt",
                Some(&l3ce),
                &["InstrumentPublished", "InstrumentReopened"]
            ),
            "ri.evt.l3ce.fundinginstrument.*"
        );
    }
}
