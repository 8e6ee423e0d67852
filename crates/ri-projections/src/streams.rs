//! The `streams` projection: for every aggregate, its version, event count, last event and
//! times; and per tenant, how many events of each type the log holds. It is generic over all
//! aggregates, which makes it the operators' view of the log and the reference projection for
//! the runner's guarantees.

use std::collections::BTreeMap;

use futures_util::FutureExt;
use futures_util::future::BoxFuture;
use ri_eventstore::StoredEvent;
use sqlx::PgConnection;
use time::OffsetDateTime;

use crate::error::ProjectionError;
use crate::projection::Projection;

#[derive(Debug, Clone, Copy, Default)]
pub struct Streams;

#[derive(Debug)]
struct Summary {
    version: i64,
    count: i64,
    last_event_type: String,
    first_recorded_at: OffsetDateTime,
    last_recorded_at: OffsetDateTime,
    last_position: i64,
}

type StreamKey<'a> = (&'a str, &'a str, &'a str);

impl Projection for Streams {
    fn name(&self) -> &'static str {
        "streams"
    }

    fn tables(&self) -> &'static [&'static str] {
        &["stream_summaries", "event_type_counts"]
    }

    fn apply<'a>(
        &'a self,
        conn: &'a mut PgConnection,
        events: &'a [StoredEvent],
    ) -> BoxFuture<'a, Result<(), ProjectionError>> {
        async move {
            // Fold the batch first so each row is written once per batch.
            let mut streams: BTreeMap<StreamKey<'a>, Summary> = BTreeMap::new();
            let mut counts: BTreeMap<StreamKey<'a>, i64> = BTreeMap::new();
            for e in events {
                let key = (
                    e.tenant.as_str(),
                    e.aggregate_type.as_str(),
                    e.aggregate_id.as_str(),
                );
                let s = streams.entry(key).or_insert_with(|| Summary {
                    version: e.sequence,
                    count: 0,
                    last_event_type: e.event_type.clone(),
                    first_recorded_at: e.recorded_at,
                    last_recorded_at: e.recorded_at,
                    last_position: e.position,
                });
                s.count += 1;
                // Per-aggregate order is log order, so the last one seen is the newest.
                s.version = e.sequence;
                s.last_event_type.clone_from(&e.event_type);
                s.last_recorded_at = e.recorded_at;
                s.last_position = e.position;
                *counts
                    .entry((
                        e.tenant.as_str(),
                        e.aggregate_type.as_str(),
                        e.event_type.as_str(),
                    ))
                    .or_default() += 1;
            }
            upsert_streams(conn, &streams).await?;
            upsert_counts(conn, &counts).await?;
            Ok(())
        }
        .boxed()
    }
}

async fn upsert_streams(
    conn: &mut PgConnection,
    streams: &BTreeMap<StreamKey<'_>, Summary>,
) -> Result<(), ProjectionError> {
    let (mut tenants, mut types, mut ids) = (vec![], vec![], vec![]);
    let (mut versions, mut counts, mut last_types) = (vec![], vec![], vec![]);
    let (mut firsts, mut lasts, mut positions) = (vec![], vec![], vec![]);
    for ((tenant, ty, id), s) in streams {
        tenants.push(*tenant);
        types.push(*ty);
        ids.push(*id);
        versions.push(s.version);
        counts.push(s.count);
        last_types.push(s.last_event_type.as_str());
        firsts.push(s.first_recorded_at);
        lasts.push(s.last_recorded_at);
        positions.push(s.last_position);
    }
    sqlx::query(
        "INSERT INTO stream_summaries AS s (tenant, aggregate_type, aggregate_id, version, \
             event_count, last_event_type, first_recorded_at, last_recorded_at, last_position) \
         SELECT * FROM UNNEST($1::text[], $2::text[], $3::text[], $4::int8[], $5::int8[], \
                              $6::text[], $7::timestamptz[], $8::timestamptz[], $9::int8[]) \
         ON CONFLICT (tenant, aggregate_type, aggregate_id) DO UPDATE SET \
             version = EXCLUDED.version, \
             event_count = s.event_count + EXCLUDED.event_count, \
             last_event_type = EXCLUDED.last_event_type, \
             last_recorded_at = EXCLUDED.last_recorded_at, \
             last_position = EXCLUDED.last_position",
    )
    .bind(&tenants)
    .bind(&types)
    .bind(&ids)
    .bind(&versions)
    .bind(&counts)
    .bind(&last_types)
    .bind(&firsts)
    .bind(&lasts)
    .bind(&positions)
    .execute(conn)
    .await?;
    Ok(())
}

async fn upsert_counts(
    conn: &mut PgConnection,
    counts: &BTreeMap<StreamKey<'_>, i64>,
) -> Result<(), ProjectionError> {
    let (mut tenants, mut types, mut events, mut ns) = (vec![], vec![], vec![], vec![]);
    for ((tenant, ty, event), n) in counts {
        tenants.push(*tenant);
        types.push(*ty);
        events.push(*event);
        ns.push(*n);
    }
    sqlx::query(
        "INSERT INTO event_type_counts AS c (tenant, aggregate_type, event_type, event_count) \
         SELECT * FROM UNNEST($1::text[], $2::text[], $3::text[], $4::int8[]) \
         ON CONFLICT (tenant, aggregate_type, event_type) DO UPDATE \
         SET event_count = c.event_count + EXCLUDED.event_count",
    )
    .bind(&tenants)
    .bind(&types)
    .bind(&events)
    .bind(&ns)
    .execute(conn)
    .await?;
    Ok(())
}
