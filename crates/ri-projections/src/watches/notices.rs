//! Notices as the projection writes them: one row per notice with every recipient it reaches
//! (parallel arrays), not one row per recipient. An instrument revision that a dozen watches
//! follow is one row, so a catch-up writes about a fifth of the rows it used to (issue 11).
//! Reads expand a row into one [`super::Notification`] per recipient.

use sqlx::PgConnection;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::error::ProjectionError;

/// Most recipients one row holds; a recipient's sequence is `row seq * ROW_SPAN + element`.
pub(crate) const ROW_SPAN: i64 = 4096;
const ROW_SPAN_USIZE: usize = 4096;

/// One recipient of a notice.
#[derive(Debug, Clone)]
pub(crate) struct Recipient {
    /// UUIDv5 of the cause and the recipient: a replay makes the same id.
    pub(crate) id: Uuid,
    pub(crate) tenant: String,
    pub(crate) user: String,
    pub(crate) watch_id: Option<String>,
}

/// A notice as the projection inserts it: what it says, and to whom.
#[derive(Debug, Clone)]
pub(crate) struct NoticeRow {
    pub(crate) recipients: Vec<Recipient>,
    pub(crate) kind: &'static str,
    /// For PROJECT_MATCH: the best-scoring of `matches`.
    pub(crate) project_id: Option<String>,
    /// For PROJECT_MATCH: the projects the event made match, best first.
    pub(crate) matches: Vec<super::MatchedProject>,
    pub(crate) instrument_id: String,
    pub(crate) title: String,
    pub(crate) message: String,
    pub(crate) changes: serde_json::Value,
    pub(crate) deadline: Option<OffsetDateTime>,
    pub(crate) created_at: OffsetDateTime,
    /// The event that made it.
    pub(crate) cause: super::StoredCause,
}

/// Inserts `notices` in their order (one statement), a row per notice and per 4,096 of its
/// recipients. A row's id is its first recipient's id, so a replay that makes the same notice
/// inserts nothing (and neither does one meeting rows written one per recipient, before
/// migration `20261202180000`: each held its recipient's id).
pub(crate) async fn insert_notices(
    conn: &mut PgConnection,
    notices: &[NoticeRow],
) -> Result<(), ProjectionError> {
    let mut rows = Rows::default();
    for n in notices {
        for chunk in n.recipients.chunks(ROW_SPAN_USIZE) {
            rows.push(n, chunk);
        }
    }
    if rows.ids.is_empty() {
        return Ok(());
    }
    // Schema-qualified: during a replay the search path holds only the projection's copies.
    // The recipients come flat, each with its row's ordinal, and are gathered per row.
    sqlx::query(
        "WITH r AS ( \
             SELECT * FROM UNNEST($11::int8[], $12::uuid[], $13::text[], $14::text[], \
                 $15::text[]) WITH ORDINALITY AS r(row_ord, id, tenant, recipient, watch, ord)), \
         g AS ( \
             SELECT row_ord, array_agg(id ORDER BY ord) AS ids, \
                 array_agg(tenant ORDER BY ord) AS tenants, \
                 array_agg(recipient ORDER BY ord) AS recipients, \
                 array_agg(watch ORDER BY ord) AS watches, \
                 array_agg(DISTINCT tenant || ' ' || recipient) AS keys \
             FROM r GROUP BY row_ord) \
         INSERT INTO public.notifications (id, kind, project_id, instrument_id, title, \
             message, changes, deadline, created_at, ids, tenants, recipients, watches, keys, \
             matches, cause) \
         SELECT n.id, n.kind, n.project_id, n.instrument_id, n.title, n.message, n.changes, \
             n.deadline, n.created_at, g.ids, g.tenants, g.recipients, g.watches, g.keys, \
             n.matches, n.cause \
         FROM UNNEST($1::uuid[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], \
             $7::jsonb[], $8::timestamptz[], $9::timestamptz[], $10::int8[], $16::jsonb[], \
             $17::jsonb[]) \
             AS n(id, kind, project_id, instrument_id, title, message, changes, deadline, \
                 created_at, row_ord, matches, cause) \
         JOIN g ON g.row_ord = n.row_ord \
         ORDER BY n.row_ord \
         ON CONFLICT (id) DO NOTHING",
    )
    .bind(&rows.ids)
    .bind(&rows.kinds)
    .bind(&rows.projects)
    .bind(&rows.instruments)
    .bind(&rows.titles)
    .bind(&rows.messages)
    .bind(&rows.changes)
    .bind(&rows.deadlines)
    .bind(&rows.created)
    .bind(&rows.ords)
    .bind(&rows.r_ords)
    .bind(&rows.r_ids)
    .bind(&rows.r_tenants)
    .bind(&rows.r_users)
    .bind(&rows.r_watches)
    .bind(&rows.matches)
    .bind(&rows.causes)
    .execute(conn)
    .await?;
    Ok(())
}

/// The statement's parameters, column by column.
#[derive(Default)]
struct Rows {
    ids: Vec<Uuid>,
    kinds: Vec<&'static str>,
    projects: Vec<Option<String>>,
    instruments: Vec<String>,
    titles: Vec<String>,
    messages: Vec<String>,
    changes: Vec<serde_json::Value>,
    deadlines: Vec<Option<OffsetDateTime>>,
    created: Vec<OffsetDateTime>,
    ords: Vec<i64>,
    r_ords: Vec<i64>,
    r_ids: Vec<Uuid>,
    r_tenants: Vec<String>,
    r_users: Vec<String>,
    r_watches: Vec<Option<String>>,
    matches: Vec<serde_json::Value>,
    causes: Vec<serde_json::Value>,
}

impl Rows {
    fn push(&mut self, n: &NoticeRow, recipients: &[Recipient]) {
        let Some(first) = recipients.first() else {
            return;
        };
        let ord = i64::try_from(self.ids.len()).unwrap_or(i64::MAX);
        self.ids.push(first.id);
        self.kinds.push(n.kind);
        self.projects.push(n.project_id.clone());
        self.instruments.push(n.instrument_id.clone());
        self.titles.push(n.title.clone());
        self.messages.push(n.message.clone());
        self.changes.push(n.changes.clone());
        self.matches
            .push(serde_json::to_value(&n.matches).unwrap_or_default());
        self.causes
            .push(serde_json::to_value(&n.cause).unwrap_or_default());
        self.deadlines.push(n.deadline);
        self.created.push(n.created_at);
        self.ords.push(ord);
        for r in recipients {
            self.r_ords.push(ord);
            self.r_ids.push(r.id);
            self.r_tenants.push(r.tenant.clone());
            self.r_users.push(r.user.clone());
            self.r_watches.push(r.watch_id.clone());
        }
    }
}
