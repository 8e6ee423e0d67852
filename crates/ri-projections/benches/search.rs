//! Benchmark of the public instrument search (not a test): `search_instruments` over 100,000
//! synthetic instruments of 30 synthetic tenants, under concurrent load, against the same result
//! written as hand-written SQL on the same pool, in the same run.
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
use ri_taxonomy::{FEATURES, FeatureSet};
use ri_testkit::TestDb;
use sqlx::postgres::PgRow;
use sqlx::{AssertSqlSafe, PgPool, Row};

const TENANTS: i64 = 30;
const PAGE: u32 = 20;
/// Rows per INSERT while seeding.
const CHUNK: i64 = 20_000;

/// The search measured: three common features, one cover level, one country.
const FEATURE_FILTER: [&str; 3] = ["T1", "T15", "P12"];
const COVER_LEVEL: CoverLevel = CoverLevel::National;
const COVER_LEVEL_CODE: &str = "NATIONAL";
const COUNTRY: &str = "DE";

/// Features that instruments carry more often than the rest (weight 8 against 1), as in the
/// seed catalogue, where AI, big data and cross-border cooperation lead.
const COMMON_FEATURES: [&str; 10] = [
    "P12", "T1", "T15", "T9", "T10", "T14", "T4", "P10", "P13", "D1",
];

/// The EU-27 and three EEA/EFTA countries, with a weight roughly by how many instruments cover
/// them.
const COUNTRIES: [(&str, f64); 30] = [
    ("DE", 8.0),
    ("FR", 7.0),
    ("IT", 6.0),
    ("ES", 6.0),
    ("PL", 5.0),
    ("NL", 4.0),
    ("BE", 3.0),
    ("SE", 3.0),
    ("AT", 3.0),
    ("DK", 3.0),
    ("FI", 3.0),
    ("LT", 3.0),
    ("PT", 2.0),
    ("CZ", 2.0),
    ("RO", 2.0),
    ("GR", 2.0),
    ("HU", 2.0),
    ("IE", 2.0),
    ("SK", 1.5),
    ("BG", 1.5),
    ("HR", 1.5),
    ("SI", 1.5),
    ("LV", 1.5),
    ("EE", 1.5),
    ("LU", 1.0),
    ("CY", 1.0),
    ("MT", 1.0),
    ("NO", 1.5),
    ("IS", 1.0),
    ("CH", 1.5),
];

const WORDS: [&str; 48] = [
    "security",
    "border",
    "cyber",
    "resilience",
    "innovation",
    "digital",
    "maritime",
    "surveillance",
    "crisis",
    "management",
    "critical",
    "infrastructure",
    "protection",
    "detection",
    "response",
    "emergency",
    "drones",
    "sensors",
    "artificial",
    "intelligence",
    "data",
    "analytics",
    "cooperation",
    "cross-border",
    "regional",
    "cluster",
    "startups",
    "scale-up",
    "demonstration",
    "pilot",
    "training",
    "skills",
    "research",
    "funding",
    "grant",
    "voucher",
    "public",
    "procurement",
    "smart",
    "cities",
    "forensics",
    "identity",
    "biometrics",
    "quantum",
    "communication",
    "satellite",
    "hybrid",
    "threats",
];

const PROGRAMMES: [&str; 8] = [
    "Horizon Europe",
    "Digital Europe",
    "Interreg",
    "European Defence Fund",
    "Internal Security Fund",
    "Border Management and Visa Instrument",
    "Single Market Programme",
    "European Regional Development Fund",
];

const TARGETS: [&str; 8] = [
    "SME",
    "STARTUP",
    "LARGE_ENTERPRISE",
    "RESEARCH_ORGANISATION",
    "UNIVERSITY",
    "PUBLIC_BODY",
    "CLUSTER",
    "NON_PROFIT",
];

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
    seed(&db, instruments).await;
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
// Synthetic data

/// A pseudo-random number in (0, 1), a pure function of `expr` and `salt`: the same catalogue
/// in every run, whatever the plan or the order rows are written in.
fn u(expr: &str, salt: u32) -> String {
    format!(
        "(((hashint8extended(({expr})::int8, {salt}) & 4294967295)::float8 + 0.5) / 4294967296.0)"
    )
}

/// `generate_series` rows `$1..=$2`, everything drawn from `u(g, …)`. Features: 1 to 8 of the 63
/// drawn without replacement with weights `$3` (Efraimidis–Spirakis), `features` the bits and
/// `feature_codes` the codes in taxonomy order, as `FeatureSet` writes them. Countries: 1 to 3
/// of `$4`, weights `$5`. The `search` vector is the catalogue projection's expression.
fn seed_sql() -> String {
    let words = WORDS.len();
    let word = |expr: &str, salt: u32| {
        format!("($6::text[])[1 + floor({} * {words})::int]", u(expr, salt))
    };
    let programmes = PROGRAMMES.len();
    format!(
        "INSERT INTO catalogue_instruments (id, tenant, version, status, title, kind, cover_level, \
             countries, programme, link, summary, target_organisations, funding_min, funding_max, \
             currency, periodicity, languages, features, feature_codes, opening_date, deadline, \
             time_zone, drafted_at, updated_at, published_at, search) \
         SELECT r.id, r.tenant, r.version, r.status, r.title, r.kind, r.cover_level, k.countries, \
             r.programme, r.link, r.summary, r.targets, r.funding_min, r.funding_max, r.currency, \
             r.periodicity, r.languages, f.bits, f.codes, (r.deadline - r.open_for)::date, \
             r.deadline, CASE WHEN r.deadline IS NOT NULL THEN 'Europe/Brussels' END, \
             r.drafted_at, r.drafted_at + r.open_for / 4, \
             CASE WHEN r.status <> 'DRAFT' THEN r.drafted_at + r.open_for / 8 END, \
             setweight(to_tsvector('simple', r.title), 'A') \
             || setweight(to_tsvector('simple', coalesce(r.programme, '')), 'B') \
             || setweight(to_tsvector('simple', r.summary), 'C') \
         FROM ( \
             SELECT g, s.*, \
                 CASE WHEN s.status IN ('OPEN', 'DRAFT') AND {u_nodeadline} < 0.05 THEN NULL \
                      WHEN s.status IN ('CLOSED', 'ARCHIVED') \
                          THEN date_trunc('hour', now()) - {u_deadline} * interval '730 days' \
                      ELSE date_trunc('hour', now()) + {u_deadline} * interval '730 days' \
                 END AS deadline \
             FROM generate_series($1::int8, $2::int8) g CROSS JOIN LATERAL ( SELECT \
                 'syn-' || lpad(g::text, 6, '0') AS id, \
                 'synthetic-' || lpad((1 + floor({u_tenant} * {TENANTS}))::text, 2, '0') AS tenant, \
                 3 + floor({u_version} * 10)::int8 AS version, \
                 CASE WHEN {u_status} < 0.70 THEN 'OPEN' WHEN {u_status} < 0.80 THEN 'CLOSED' \
                      WHEN {u_status} < 0.88 THEN 'DRAFT' WHEN {u_status} < 0.94 THEN 'WITHDRAWN' \
                      ELSE 'ARCHIVED' END AS status, \
                 initcap({w1}) || ' ' || {w2} || ' ' || {w3} || ' ' || {w4} AS title, \
                 CASE WHEN {u_kind} < 0.60 THEN 'CALL' WHEN {u_kind} < 0.85 THEN 'PROGRAMME' \
                      ELSE 'STRATEGIC_DOCUMENT' END AS kind, \
                 CASE WHEN {u_cover} < 0.30 THEN 'REGIONAL' WHEN {u_cover} < 0.65 THEN 'NATIONAL' \
                      WHEN {u_cover} < 0.90 THEN 'EU' ELSE 'INTERNATIONAL' END AS cover_level, \
                 CASE WHEN {u_programme} < 0.6 \
                      THEN ($7::text[])[1 + floor({u_programme2} * {programmes})::int] END \
                     AS programme, \
                 'https://example.org/synthetic/' || g AS link, \
                 'Synthetic benchmark instrument. ' || ( \
                     SELECT string_agg({wj}, ' ') FROM generate_series(1, 12 + (g % 13)::int) j) \
                     AS summary, \
                 coalesce(( \
                     SELECT array_agg(t ORDER BY n) FROM unnest($8::text[]) WITH ORDINALITY \
                         AS x(t, n) WHERE {u_target} < 0.3), '{{SME}}') AS targets, \
                 CASE WHEN {u_funding} < 0.8 THEN 10000 * (1 + floor({u_amount} * 50))::int8 END \
                     AS funding_min, \
                 CASE WHEN {u_funding} < 0.8 \
                     THEN 10000 * (1 + floor({u_amount} * 50))::int8 * (2 + g % 20) END \
                     AS funding_max, \
                 CASE WHEN {u_funding} < 0.8 THEN 'EUR' END AS currency, \
                 (ARRAY['ONE_OFF', 'ANNUAL', 'RECURRING', 'CONTINUOUS', NULL]) \
                     [1 + floor({u_periodicity} * 5)::int] AS periodicity, \
                 CASE floor({u_lang} * 4)::int WHEN 0 THEN ARRAY['en'] \
                      WHEN 1 THEN ARRAY['en', 'fr'] WHEN 2 THEN ARRAY['de', 'en'] \
                      ELSE ARRAY['en', 'lt'] END AS languages, \
                 now() - interval '3 years' + {u_drafted} * interval '900 days' AS drafted_at, \
                 interval '30 days' + {u_open} * interval '150 days' AS open_for \
             ) s \
         ) r \
         CROSS JOIN LATERAL ( \
             SELECT bit_or(1::int8 << (i - 1)) AS bits, array_agg(($3::text[])[i] ORDER BY i) AS codes \
             FROM (SELECT i FROM generate_series(1, 63) i \
                   ORDER BY -ln({u_feature}) / ($4::float8[])[i] \
                   LIMIT 1 + floor({u_nfeatures} * 8)::int) picked \
         ) f \
         CROSS JOIN LATERAL ( \
             SELECT array_agg(c ORDER BY c) AS countries \
             FROM (SELECT ($5::text[])[i] AS c FROM generate_series(1, {ncountries}) i \
                   ORDER BY -ln({u_country}) / ($9::float8[])[i] \
                   LIMIT CASE WHEN {u_ncountries} < 0.5 THEN 1 \
                              WHEN {u_ncountries} < 0.8 THEN 2 ELSE 3 END) picked \
         ) k",
        u_nodeadline = u("g", 1),
        u_deadline = u("g", 2),
        u_tenant = u("g", 3),
        u_version = u("g", 4),
        u_status = u("g", 5),
        w1 = word("g", 6),
        w2 = word("g", 7),
        w3 = word("g", 8),
        w4 = word("g", 9),
        u_kind = u("g", 10),
        u_cover = u("g", 11),
        u_programme = u("g", 12),
        u_programme2 = u("g", 13),
        wj = word("g * 32 + j", 14),
        u_target = u("g * 8 + n", 15),
        u_funding = u("g", 16),
        u_amount = u("g", 17),
        u_periodicity = u("g", 18),
        u_lang = u("g", 19),
        u_drafted = u("g", 20),
        u_open = u("g", 21),
        u_feature = u("g * 64 + i", 22),
        u_nfeatures = u("g", 23),
        ncountries = COUNTRIES.len(),
        u_country = u("g * 32 + i", 24),
        u_ncountries = u("g", 25),
    )
}

async fn seed(db: &TestDb, instruments: i64) {
    sqlx::query(
        "INSERT INTO tenants (slug, name, kind, country, website, domains, member_count, status, \
                              version, registered_at, updated_at) \
         SELECT 'synthetic-' || lpad(n::text, 2, '0'), 'Synthetic cluster ' || n, \
                CASE WHEN n <= 8 THEN 'CONSORTIUM_PARTNER' ELSE 'AMBASSADOR_CLUSTER' END, \
                ($2::text[])[1 + (n - 1) % array_length($2::text[], 1)], \
                'https://example.org/synthetic-cluster-' || n, '{}', 20 + n * 7, \
                CASE WHEN n = $1 THEN 'SUSPENDED' ELSE 'ACTIVE' END, 1 + n % 4, \
                now() - interval '2 years', now() - interval '1 year' \
         FROM generate_series(1, $1::int8) n",
    )
    .bind(TENANTS)
    .bind(COUNTRIES.iter().map(|(c, _)| *c).collect::<Vec<_>>())
    .execute(&db.owner)
    .await
    .unwrap();

    let codes: Vec<&str> = FEATURES.iter().map(|f| f.code).collect();
    for common in COMMON_FEATURES {
        assert!(codes.contains(&common), "{common} is not a feature code");
    }
    let weights: Vec<f64> = codes
        .iter()
        .map(|c| {
            if COMMON_FEATURES.contains(c) {
                8.0
            } else {
                1.0
            }
        })
        .collect();
    let sql = seed_sql();
    for start in (1..=instruments).step_by(CHUNK as usize) {
        let mut tx = db.owner.begin().await.unwrap();
        sqlx::query("SELECT set_config('app.projector', 'on', true)")
            .execute(&mut *tx)
            .await
            .unwrap();
        sqlx::query(AssertSqlSafe(sql.clone()))
            .bind(start)
            .bind((start + CHUNK - 1).min(instruments))
            .bind(&codes)
            .bind(&weights)
            .bind(COUNTRIES.iter().map(|(c, _)| *c).collect::<Vec<_>>())
            .bind(WORDS)
            .bind(PROGRAMMES)
            .bind(TARGETS)
            .bind(COUNTRIES.iter().map(|(_, w)| *w).collect::<Vec<_>>())
            .execute(&mut *tx)
            .await
            .unwrap();
        tx.commit().await.unwrap();
    }
    sqlx::query("ANALYZE tenants, catalogue_instruments")
        .execute(&db.owner)
        .await
        .unwrap();
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

// ---------------------------------------------------------------------------------------------
// The baseline: the same result as hand-written SQL

/// The API's conditions in the same form (`= ANY`, arrays bound as arrays): with `= $1` and
/// `ARRAY[$2]` the planner's estimates shift enough to pick a parallel plan for "all of 3",
/// which under eight concurrent callers on two cores is a third slower, and the comparison
/// would measure that plan rather than the API.
const BASELINE_WHERE: &str = "c.status = 'OPEN' AND (c.deadline IS NULL OR c.deadline > now()) \
     AND c.cover_level = ANY($1) AND c.countries && $2";

fn features_condition(feature_match: FeatureMatch) -> &'static str {
    match feature_match {
        FeatureMatch::Any => " AND c.feature_codes && $3",
        FeatureMatch::All => " AND c.feature_codes @> $3",
    }
}

fn baseline_page_sql(feature_match: FeatureMatch) -> String {
    format!(
        "SELECT c.id, c.tenant, c.version, c.status, c.title, c.kind, c.cover_level, c.countries, \
                c.programme, c.link, c.summary, c.target_organisations, c.funding_min, \
                c.funding_max, c.currency, c.periodicity, c.languages, c.features, \
                c.opening_date, c.deadline, c.time_zone, c.drafted_at, c.updated_at, \
                c.published_at, t.name AS tenant_name, \
                coalesce(t.status = 'SUSPENDED', false) AS tenant_suspended \
         FROM catalogue_public c LEFT JOIN tenants t ON t.slug = c.tenant \
         WHERE {BASELINE_WHERE}{} \
         ORDER BY coalesce(c.deadline, 'infinity'), c.id LIMIT {PAGE}",
        features_condition(feature_match)
    )
}

fn baseline_facets_sql(feature_match: FeatureMatch) -> String {
    format!(
        "WITH m AS (SELECT c.kind, c.cover_level, c.countries, c.feature_codes \
                    FROM catalogue_public c WHERE {BASELINE_WHERE}{}) \
         SELECT 'total', '', count(*) FROM m \
         UNION ALL SELECT 'feature', f, count(*) FROM m, unnest(m.feature_codes) f GROUP BY f \
         UNION ALL SELECT 'country', x, count(*) FROM m, unnest(m.countries) x GROUP BY x \
         UNION ALL SELECT 'cover_level', cover_level, count(*) FROM m GROUP BY cover_level \
         UNION ALL SELECT 'kind', kind, count(*) FROM m GROUP BY kind",
        features_condition(feature_match)
    )
}

/// The first page and the total with the facets, in a read-only repeatable-read transaction
/// that sets `app.tenant` as `read.rs` does (`in_transaction`), or as two autocommitted
/// statements without it (the policy reads an unset `app.tenant` as NULL: anonymous).
///
/// Unnamed (not cached) statements, so that PostgreSQL plans them with their values every
/// time, as it ends up doing for the API's cached ones: a cached copy of these settles on a
/// generic plan a little slower than the custom one.
async fn baseline(
    pool: &PgPool,
    feature_match: FeatureMatch,
    in_transaction: bool,
) -> (Vec<PgRow>, Vec<(String, String, i64)>) {
    let features: Vec<&str> = FEATURE_FILTER.to_vec();
    let page_sql = baseline_page_sql(feature_match);
    let facets_sql = baseline_facets_sql(feature_match);
    let page = sqlx::query(AssertSqlSafe(page_sql))
        .bind([COVER_LEVEL_CODE])
        .bind([COUNTRY])
        .bind(&features)
        .persistent(false);
    let facets = sqlx::query_as(AssertSqlSafe(facets_sql))
        .bind([COVER_LEVEL_CODE])
        .bind([COUNTRY])
        .bind(&features)
        .persistent(false);
    if in_transaction {
        let mut tx = pool
            .begin_with("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
            .await
            .unwrap();
        sqlx::query(
            "SELECT set_config('app.tenant', '', true), \
                    set_config('app.platform_admin', '', true), \
                    set_config('app.projector', '', true)",
        )
        .execute(&mut *tx)
        .await
        .unwrap();
        let rows = page.fetch_all(&mut *tx).await.unwrap();
        let counts = facets.fetch_all(&mut *tx).await.unwrap();
        tx.commit().await.unwrap();
        (rows, counts)
    } else {
        let rows = page.fetch_all(pool).await.unwrap();
        let counts = facets.fetch_all(pool).await.unwrap();
        (rows, counts)
    }
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
