//! `/watches/<id>/deadlines.ics?token=…`: a watch's deadlines as an iCalendar feed, so that
//! they show in people's own calendars. The token is the secret given once when the watch was
//! made (or its token rotated); only its SHA-256 is stored. An unknown watch and a wrong token
//! are the same 404.

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use icalendar::{Calendar, Component, Event, EventLike};
use ri_projections::watches::{self, CalendarFeed};
use serde::Deserialize;
use sqlx::PgPool;

use crate::secret::sha256_hex;

/// Longest token looked up; ours are 64 characters.
const MAX_TOKEN: usize = 128;

pub fn routes(db: PgPool) -> Router {
    Router::new()
        .route("/watches/{id}/deadlines.ics", get(feed))
        .with_state(db)
}

#[derive(Debug, Deserialize)]
struct FeedQuery {
    token: Option<String>,
}

async fn feed(
    State(db): State<PgPool>,
    Path(id): Path<String>,
    Query(query): Query<FeedQuery>,
) -> Response {
    let not_found = || (StatusCode::NOT_FOUND, "no such calendar feed\n").into_response();
    let Some(token) = query
        .token
        .filter(|t| !t.is_empty() && t.len() <= MAX_TOKEN)
    else {
        return not_found();
    };
    match watches::calendar_feed(&db, &id, &sha256_hex(&token)).await {
        Ok(Some(feed)) => (
            [
                (header::CONTENT_TYPE, "text/calendar; charset=utf-8"),
                (header::CACHE_CONTROL, "private, max-age=300"),
            ],
            ics(&feed),
        )
            .into_response(),
        Ok(None) => not_found(),
        Err(e) => {
            tracing::warn!(error = %e, "calendar feed unavailable");
            let retry = [(header::RETRY_AFTER, ri_app::RETRY_AFTER_SECONDS.to_string())];
            (StatusCode::SERVICE_UNAVAILABLE, retry, "try again later\n").into_response()
        }
    }
}

/// One event per deadline, at the deadline; its UID is stable per instrument and its SEQUENCE
/// the instrument's version, so calendars update a moved deadline in place.
pub(crate) fn ics(feed: &CalendarFeed) -> String {
    let mut calendar = Calendar::new();
    calendar
        .name(&format!("Deadlines: {}", feed.name))
        .description("Deadlines of the funding instruments a Regional Invest watch follows");
    for entry in &feed.entries {
        let mut description = format!("Curated by {}.", entry.tenant);
        if let Some(link) = &entry.link {
            description.push_str(&format!(" Details: {link}"));
        }
        let mut event = Event::new();
        event
            .uid(&format!("{}-deadline@regional-invest", entry.instrument_id))
            .summary(&format!("Deadline: {}", entry.title))
            .description(&description)
            .starts(entry.deadline)
            .ends(entry.deadline)
            .sequence(u32::try_from(entry.version).unwrap_or(0));
        if let Some(link) = &entry.link {
            event.url(link);
        }
        calendar.push(event.done());
    }
    calendar.done().to_string()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use ri_projections::watches::CalendarEntry;
    use time::macros::datetime;

    use super::*;

    #[test]
    fn a_feed_has_one_event_per_deadline_with_a_stable_uid() {
        let feed = CalendarFeed {
            watch_id: "w".into(),
            name: "Border tech".into(),
            entries: vec![CalendarEntry {
                instrument_id: "0192f7a0-0000-7000-8000-000000000001".into(),
                title: "Border call, 2027".into(),
                deadline: datetime!(2027-03-01 17:00 +02:00),
                link: Some("https://example.eu/call".into()),
                tenant: "l3ce".into(),
                status: "OPEN".into(),
                version: 4,
            }],
        };
        let text = ics(&feed);
        assert!(text.starts_with("BEGIN:VCALENDAR\r\n"), "{text}");
        assert!(text.contains("BEGIN:VEVENT"), "{text}");
        assert!(
            text.contains("UID:0192f7a0-0000-7000-8000-000000000001-deadline@regional-invest"),
            "{text}"
        );
        assert!(text.contains("DTSTART:20270301T150000Z"), "{text}");
        assert!(text.contains("SEQUENCE:4"), "{text}");
        // Commas are escaped in text values (RFC 5545 3.3.11).
        assert!(
            text.contains("SUMMARY:Deadline: Border call\\, 2027"),
            "{text}"
        );
    }
}
