//! Benchmark of the public instrument search (not a test): `search_instruments` over 100,000
//! synthetic instruments of 30 synthetic tenants, under concurrent load, against the same result
//! written as hand-written SQL on the same pool, in the same run.
//!
//! The catalogue is `ri_testkit::synthetic`'s, shared with the HTTP search benchmark of the
//! `regional-invest` crate (`benches/search_http.rs`).
//!
//! `cargo bench -p ri-projections --bench search` (needs the local PostgreSQL; see
//! docs/performance.md). `RI_BENCH_INSTRUMENTS`, `RI_BENCH_TASKS` and `RI_BENCH_SECONDS` change
//! the catalogue size (100,000), the concurrent callers (8) and the time each measurement runs
//! (10 s). `RI_BENCH_EXPLAIN=1` prints `EXPLAIN (ANALYZE, BUFFERS)` of the API's two queries to
//! stderr; `RI_BENCH_KEEP=1` keeps the database (dropped otherwise) for a closer look.

#![allow(clippy::print_stdout, clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use ri_domain::instrument::CoverLevel;
use ri_domain::values::CountryCode;
use ri_projections::catalogue::{
    FeatureMatch, InstrumentFilter, InstrumentPage, InstrumentSort, Viewer, search_instruments,
};
use ri_taxonomy::FeatureSet;
use ri_testkit::TestDb;
use ri_testkit::synthetic::{self, COUNTRY, COVER_LEVEL_CODE, FEATURE_FILTER, PAGE, TENANTS};
use sqlx::postgres::PgRow;
use sqlx::{AssertSqlSafe, PgPool, Row};

const COVER_LEVEL: CoverLevel = CoverLevel::National;

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

#[tokio::main]
async fn main() {
    // `cargo bench` passes --bench; test runners listing or running all targets do not.
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    let instruments: i64 = env_or("RI_BENCH_INSTRUMENTS", 100_000);
    let tasks: usize = env_or("RI_BENCH_TASKS", 8);
    let seconds: u64 = env_or("RI_BENCH_SECONDS", 10);

    let db = TestDb::new().await;
    let started = Instant::now();
    synthetic::seed(&db.owner, instruments).await.unwrap();
    eprintln!(
        "seeded {instruments} instruments of {TENANTS} tenants in {:.1}s (database {})",
        started.elapsed().as_secs_f64(),
        db.name
    );

    let mut config = db.config.clone();
    config.max_connections = tasks as u32;
    let pool = ri_eventstore::db::app_pool(&config).await.unwrap();

    println!("## Instrument search benchmark\n");
    println!(
        "{instruments} instruments, {TENANTS} tenants; filter: features {} (any / all), cover \
         level {COVER_LEVEL_CODE}, country {COUNTRY}, open, deadline soonest, first page of \
         {PAGE} with total and facets; {tasks} concurrent callers for {seconds} s each.\n",
        FEATURE_FILTER.join(", ")
    );
    println!(
        "| measurement | features | totalCount | calls | per second | p50 ms | p99 ms | p99 API/SQL | throughput API/SQL |"
    );
    println!("|---|---|---:|---:|---:|---:|---:|---:|---:|");

    let mut pages = Vec::new();
    for feature_match in [FeatureMatch::Any, FeatureMatch::All] {
        let label = match feature_match {
            FeatureMatch::Any => "any of 3",
            FeatureMatch::All => "all of 3",
        };
        let filter = filter(feature_match);
        let page = api_call(&pool, &filter).await;
        check_baseline(&pool, feature_match, &page).await;
        pages.push((feature_match, page.clone()));

        let api_pool = pool.clone();
        let api = measure(tasks, seconds, move || {
            let pool = api_pool.clone();
            let filter = filter.clone();
            async move {
                api_call(&pool, &filter).await;
            }
        })
        .await;
        let sql_pool = pool.clone();
        let sql = measure(tasks, seconds, move || {
            let pool = sql_pool.clone();
            async move {
                baseline(&pool, feature_match, true).await;
            }
        })
        .await;
        let bare_pool = pool.clone();
        let bare = measure(tasks, seconds, move || {
            let pool = bare_pool.clone();
            async move {
                baseline(&pool, feature_match, false).await;
            }
        })
        .await;
        let total = page.total_count;
        let ratio = |a: f64, b: f64| format!("{:.2}", a / b);
        println!(
            "| API `search_instruments` | {label} | {total} | {} | {:.0} | {:.1} | {:.1} | {} | {} |",
            api.calls,
            api.rate(),
            ms(api.p50),
            ms(api.p99),
            ratio(ms(api.p99), ms(sql.p99)),
            ratio(api.rate(), sql.rate()),
        );
        println!(
            "| SQL baseline, same transaction | {label} | {total} | {} | {:.0} | {:.1} | {:.1} | — | — |",
            sql.calls,
            sql.rate(),
            ms(sql.p50),
            ms(sql.p99),
        );
        println!(
            "| SQL baseline, autocommit, no transaction | {label} | {total} | {} | {:.0} | {:.1} | {:.1} | — | — |",
            bare.calls,
            bare.rate(),
            ms(bare.p50),
            ms(bare.p99),
        );
    }
    pool.close().await;

    if std::env::var("RI_BENCH_EXPLAIN").is_ok_and(|v| !v.is_empty() && v != "0") {
        for (feature_match, page) in &pages {
            explain(&db, *feature_match, page).await;
        }
    }

    if std::env::var("RI_BENCH_KEEP").is_ok_and(|v| !v.is_empty() && v != "0") {
        eprintln!("kept database {}", db.name);
    } else {
        drop_database(db).await;
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn filter(feature_match: FeatureMatch) -> InstrumentFilter {
    InstrumentFilter {
        cover_levels: vec![COVER_LEVEL],
        countries: vec![CountryCode::parse("countries", COUNTRY).unwrap()],
        features: FeatureSet::parse(FEATURE_FILTER).unwrap(),
        feature_match,
        ..InstrumentFilter::default()
    }
}

async fn api_call(pool: &PgPool, filter: &InstrumentFilter) -> InstrumentPage {
    search_instruments(
        pool,
        &Viewer::anonymous(),
        filter,
        InstrumentSort::DeadlineSoonest,
        PAGE,
        None,
    )
    .await
    .unwrap()
}

// ---------------------------------------------------------------------------------------------
// Measurement

#[derive(Debug)]
struct Run {
    calls: usize,
    elapsed: Duration,
    p50: Duration,
    p99: Duration,
}

impl Run {
    fn rate(&self) -> f64 {
        self.calls as f64 / self.elapsed.as_secs_f64()
    }
}

/// The nearest-rank percentile of sorted durations.
fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let rank = (p * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// Runs `op` from `tasks` tasks in a loop: 2 s of warm-up (every connection prepares its
/// statements and settles its plans), then `seconds` measured, every call timed.
async fn measure<F, Fut>(tasks: usize, seconds: u64, op: F) -> Run
where
    F: Fn() -> Fut + Clone + Send + 'static,
    Fut: Future<Output = ()> + Send,
{
    loop_for(tasks, Duration::from_secs(2), op.clone()).await;
    let started = Instant::now();
    let mut durations = loop_for(tasks, Duration::from_secs(seconds), op).await;
    let elapsed = started.elapsed();
    durations.sort_unstable();
    Run {
        calls: durations.len(),
        elapsed,
        p50: percentile(&durations, 0.50),
        p99: percentile(&durations, 0.99),
    }
}

async fn loop_for<F, Fut>(tasks: usize, length: Duration, op: F) -> Vec<Duration>
where
    F: Fn() -> Fut + Clone + Send + 'static,
    Fut: Future<Output = ()> + Send,
{
    let until = Instant::now() + length;
    let handles: Vec<_> = (0..tasks)
        .map(|_| {
            let op = op.clone();
            tokio::spawn(async move {
                let mut durations = Vec::new();
                while Instant::now() < until {
                    let started = Instant::now();
                    op().await;
                    durations.push(started.elapsed());
                }
                durations
            })
        })
        .collect();
    let mut all = Vec::new();
    for h in handles {
        all.extend(h.await.unwrap());
    }
    all
}

/// The baseline must find what the API finds: the same page, total and facet counts.
async fn check_baseline(pool: &PgPool, feature_match: FeatureMatch, page: &InstrumentPage) {
    assert!(
        page.total_count > 0,
        "the benchmark's filter finds nothing; pick other values"
    );
    for in_transaction in [true, false] {
        let (rows, counts) = baseline(pool, feature_match, in_transaction).await;
        let ids: Vec<String> = rows.iter().map(|r| r.get("id")).collect();
        let api_ids: Vec<String> = page.items.iter().map(|i| i.id.clone()).collect();
        assert_eq!(ids, api_ids, "baseline page differs from the API's");
        let mut sql: BTreeMap<(String, String), i64> = counts
            .into_iter()
            .map(|(facet, value, n)| ((facet, value), n))
            .collect();
        assert_eq!(
            sql.remove(&("total".to_owned(), String::new())),
            Some(page.total_count),
            "baseline total differs"
        );
        let f = &page.facets;
        let api: BTreeMap<(String, String), i64> = f
            .features
            .iter()
            .map(|(c, n)| (("feature".to_owned(), c.to_string()), *n))
            .chain(
                f.countries
                    .iter()
                    .map(|(c, n)| (("country".to_owned(), c.clone()), *n)),
            )
            .chain(f.cover_levels.iter().map(|(c, n)| {
                let code = serde_json::to_value(c).unwrap();
                (
                    ("cover_level".to_owned(), code.as_str().unwrap().to_owned()),
                    *n,
                )
            }))
            .chain(f.kinds.iter().map(|(k, n)| {
                let code = serde_json::to_value(k).unwrap();
                (("kind".to_owned(), code.as_str().unwrap().to_owned()), *n)
            }))
            .collect();
        assert_eq!(sql, api, "baseline facets differ");
    }
}

/// The issue-3 baseline ([`synthetic::baseline`]) for this feature match.
async fn baseline(
    pool: &PgPool,
    feature_match: FeatureMatch,
    in_transaction: bool,
) -> (Vec<PgRow>, Vec<(String, String, i64)>) {
    let all = matches!(feature_match, FeatureMatch::All);
    synthetic::baseline(pool, all, in_transaction)
        .await
        .unwrap()
}

// ---------------------------------------------------------------------------------------------
// EXPLAIN of the API's queries

/// The two statements `search_instruments` sends for this filter, as `read.rs` and `search.rs`
/// build them (kept in step by hand; `explain` checks them against the API's answer).
fn api_sql(feature_match: FeatureMatch) -> (String, String) {
    let features = match feature_match {
        FeatureMatch::Any => " AND c.feature_codes && $3",
        FeatureMatch::All => " AND c.feature_codes @> $3",
    };
    let filter = format!(
        " FROM catalogue_public c{{join}} WHERE ((c.status = 'OPEN' AND (c.deadline IS NULL \
         OR c.deadline > now()))) AND c.cover_level = ANY($1) AND c.countries && $2{features}"
    );
    let page = format!(
        "SELECT c.id, c.tenant, c.version, c.title, c.kind, c.cover_level, \
         c.countries, c.programme, c.link, c.summary, c.target_organisations, c.funding_min, \
         c.funding_max, c.currency, c.periodicity, c.languages, c.features, c.opening_date, \
         c.deadline, c.time_zone, c.drafted_at, c.updated_at, c.published_at, \
         t.name AS tenant_name, coalesce(t.status = 'SUSPENDED', false) AS tenant_suspended, \
         CASE WHEN c.status = 'OPEN' AND c.deadline <= now() THEN 'CLOSED' ELSE c.status END \
         AS status{} ORDER BY coalesce(c.deadline, 'infinity'::timestamptz), c.id LIMIT $4",
        filter.replace("{join}", " LEFT JOIN tenants t ON t.slug = c.tenant")
    );
    let facets = format!(
        "WITH m AS (SELECT c.kind, c.cover_level, c.countries, c.feature_codes{}) \
         SELECT 'total'::text AS facet, ''::text AS value, count(*) AS n FROM m \
         UNION ALL SELECT 'feature', f, count(*) FROM m CROSS JOIN LATERAL unnest(m.feature_codes) \
             AS f GROUP BY f \
         UNION ALL SELECT 'country', x, count(*) FROM m CROSS JOIN LATERAL unnest(m.countries) \
             AS x GROUP BY x \
         UNION ALL SELECT 'cover_level', m.cover_level, count(*) FROM m GROUP BY m.cover_level \
         UNION ALL SELECT 'kind', m.kind, count(*) FROM m GROUP BY m.kind",
        filter.replace("{join}", "")
    );
    (page, facets)
}

/// `EXPLAIN (ANALYZE, BUFFERS)` of the API's statements on a service connection, in the
/// transaction `read.rs` opens, after six executions of the prepared statements so that the
/// plan shown is the one the plan cache settled on (custom or generic), as for sqlx's
/// prepared statements.
async fn explain(db: &TestDb, feature_match: FeatureMatch, api: &InstrumentPage) {
    let (page, facets) = api_sql(feature_match);
    let mut conn = db.app.acquire().await.unwrap();
    sqlx::raw_sql(
        "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY; \
         SELECT set_config('app.tenant', '', true), set_config('app.platform_admin', '', true), \
                set_config('app.projector', '', true)",
    )
    .execute(&mut *conn)
    .await
    .unwrap();

    // The statements rebuilt here must still be the API's: the same page and total.
    let ids: Vec<String> =
        sqlx::query_scalar::<_, String>(AssertSqlSafe(format!("SELECT id FROM ({page}) p")))
            .bind(vec![COVER_LEVEL_CODE])
            .bind(vec![COUNTRY])
            .bind(FEATURE_FILTER.to_vec())
            .bind(i64::from(PAGE) + 1)
            .fetch_all(&mut *conn)
            .await
            .unwrap();
    let api_ids: Vec<&str> = api.items.iter().map(|i| i.id.as_str()).collect();
    assert_eq!(
        &ids[..api_ids.len()],
        &api_ids[..],
        "the page statement rebuilt here is no longer read.rs's; update api_sql"
    );
    let total: i64 = sqlx::query_scalar(AssertSqlSafe(format!(
        "SELECT n FROM ({facets}) f WHERE facet = 'total'"
    )))
    .bind(vec![COVER_LEVEL_CODE])
    .bind(vec![COUNTRY])
    .bind(FEATURE_FILTER.to_vec())
    .fetch_one(&mut *conn)
    .await
    .unwrap();
    assert_eq!(
        total, api.total_count,
        "the facet statement rebuilt here is no longer read.rs's; update api_sql"
    );
    let features = format!("'{{{}}}'", FEATURE_FILTER.join(","));
    let args = format!("'{{{COVER_LEVEL_CODE}}}', '{{{COUNTRY}}}', {features}");
    let statements = [
        ("page", page, format!("{args}, {}", PAGE + 1)),
        ("facets", facets, args.clone()),
    ];
    for (name, sql, args) in statements {
        let types = if name == "page" {
            "text[], text[], text[], int8"
        } else {
            "text[], text[], text[]"
        };
        sqlx::raw_sql(AssertSqlSafe(format!(
            "PREPARE bench_{name} ({types}) AS {sql}"
        )))
        .execute(&mut *conn)
        .await
        .unwrap();
        for _ in 0..6 {
            sqlx::raw_sql(AssertSqlSafe(format!("EXECUTE bench_{name}({args})")))
                .execute(&mut *conn)
                .await
                .unwrap();
        }
        let plan: Vec<String> = sqlx::query_scalar(AssertSqlSafe(format!(
            "EXPLAIN (ANALYZE, BUFFERS) EXECUTE bench_{name}({args})"
        )))
        .fetch_all(&mut *conn)
        .await
        .unwrap();
        eprintln!("\n### {feature_match:?}: {name}\n\n{}\n", plan.join("\n"));
    }
    sqlx::raw_sql("ROLLBACK").execute(&mut *conn).await.unwrap();
}

async fn drop_database(db: TestDb) {
    let TestDb {
        name, owner, app, ..
    } = db;
    owner.close().await;
    app.close().await;
    let server = sqlx::PgPool::connect(&format!("{}/postgres", ri_testkit::server_url()))
        .await
        .unwrap();
    sqlx::query(AssertSqlSafe(format!(
        "DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"
    )))
    .execute(&server)
    .await
    .unwrap();
    server.close().await;
}
