//! The synthetic catalogue of the search benchmarks (issue 3's SQL search, issue 12's HTTP
//! search): tenants and instruments written with SQL straight into `tenants` and
//! `catalogue_instruments` by the table owner, every value a deterministic hash of the row's
//! number, so the catalogue is identical in every run and for every benchmark. And the issue-3
//! baseline: the search's first page, total and facets as hand-written SQL.
//!
//! The rows have no events behind them: a read model fed from the table (the search index loads
//! `catalogue_instruments` at start, with the checkpoints absent = START) indexes them as they
//! are, and the log stays empty.

use sqlx::postgres::PgRow;
use sqlx::{AssertSqlSafe, PgPool};

/// Synthetic tenants: `synthetic-01` … `synthetic-30`, "Synthetic cluster 1" …, the last one
/// suspended.
pub const TENANTS: i64 = 30;
/// The page size of the benchmarks' searches.
pub const PAGE: u32 = 20;
/// Rows per INSERT while seeding.
const CHUNK: i64 = 20_000;

/// The issue-3 search: three common features, one cover level, one country.
pub const FEATURE_FILTER: [&str; 3] = ["T1", "T15", "P12"];
pub const COVER_LEVEL_CODE: &str = "NATIONAL";
pub const COUNTRY: &str = "DE";

/// Features that instruments carry more often than the rest (weight 8 against 1), as in the
/// seed catalogue, where AI, big data and cross-border cooperation lead.
const COMMON_FEATURES: [&str; 10] = [
    "P12", "T1", "T15", "T9", "T10", "T14", "T4", "P10", "P13", "D1",
];

/// The EU-27 and three EEA/EFTA countries, with a weight roughly by how many instruments cover
/// them.
pub const COUNTRIES: [(&str, f64); 30] = [
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

/// The words titles and summaries are drawn from.
pub const WORDS: [&str; 48] = [
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
                 'syn-' || lpad(g::text, greatest(6, length(g::text)), '0') AS id, \
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

/// Writes the synthetic tenants (all of them) and instruments `syn-000001..=instruments` as the
/// table owner, then `ANALYZE`s both tables. On a freshly migrated database.
pub async fn seed(owner: &PgPool, instruments: i64) -> Result<(), sqlx::Error> {
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
    .execute(owner)
    .await?;

    let codes: Vec<&str> = ri_taxonomy::FEATURES.iter().map(|f| f.code).collect();
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
    let mut start = 1;
    while start <= instruments {
        let mut tx = owner.begin().await?;
        sqlx::query("SELECT set_config('app.projector', 'on', true)")
            .execute(&mut *tx)
            .await?;
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
            .await?;
        tx.commit().await?;
        start += CHUNK;
    }
    sqlx::query("ANALYZE tenants, catalogue_instruments")
        .execute(owner)
        .await?;
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// The issue-3 baseline: the same result as hand-written SQL

/// The API's conditions in the same form (`= ANY`, arrays bound as arrays): with `= $1` and
/// `ARRAY[$2]` the planner's estimates shift enough to pick a parallel plan for "all of 3",
/// which under eight concurrent callers on two cores is a third slower, and the comparison
/// would measure that plan rather than the API.
const BASELINE_WHERE: &str = "c.status = 'OPEN' AND (c.deadline IS NULL OR c.deadline > now()) \
     AND c.cover_level = ANY($1) AND c.countries && $2";

fn features_condition(all_features: bool) -> &'static str {
    if all_features {
        " AND c.feature_codes @> $3"
    } else {
        " AND c.feature_codes && $3"
    }
}

/// The first page of the issue-3 search (features any of, or with `all_features` all of,
/// [`FEATURE_FILTER`]), soonest deadline first, with the tenant's name.
pub fn baseline_page_sql(all_features: bool) -> String {
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
        features_condition(all_features)
    )
}

/// The total (`('total', '', n)`) and the facet counts (`(facet, value, n)`) of the issue-3
/// search, every facet under the full filter as the SQL search counts them.
pub fn baseline_facets_sql(all_features: bool) -> String {
    format!(
        "WITH m AS (SELECT c.kind, c.cover_level, c.countries, c.feature_codes \
                    FROM catalogue_public c WHERE {BASELINE_WHERE}{}) \
         SELECT 'total', '', count(*) FROM m \
         UNION ALL SELECT 'feature', f, count(*) FROM m, unnest(m.feature_codes) f GROUP BY f \
         UNION ALL SELECT 'country', x, count(*) FROM m, unnest(m.countries) x GROUP BY x \
         UNION ALL SELECT 'cover_level', cover_level, count(*) FROM m GROUP BY cover_level \
         UNION ALL SELECT 'kind', kind, count(*) FROM m GROUP BY kind",
        features_condition(all_features)
    )
}

/// The first page and the total with the facets, in a read-only repeatable-read transaction
/// that sets `app.tenant` as `read.rs` does (`in_transaction`), or as two autocommitted
/// statements without it (the policy reads an unset `app.tenant` as NULL: anonymous).
///
/// Unnamed (not cached) statements, so that PostgreSQL plans them with their values every
/// time, as it ends up doing for the API's cached ones: a cached copy of these settles on a
/// generic plan a little slower than the custom one.
pub async fn baseline(
    pool: &PgPool,
    all_features: bool,
    in_transaction: bool,
) -> Result<(Vec<PgRow>, Vec<(String, String, i64)>), sqlx::Error> {
    let features: Vec<&str> = FEATURE_FILTER.to_vec();
    let page_sql = baseline_page_sql(all_features);
    let facets_sql = baseline_facets_sql(all_features);
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
            .await?;
        sqlx::query(
            "SELECT set_config('app.tenant', '', true), \
                    set_config('app.platform_admin', '', true), \
                    set_config('app.projector', '', true)",
        )
        .execute(&mut *tx)
        .await?;
        let rows = page.fetch_all(&mut *tx).await?;
        let counts = facets.fetch_all(&mut *tx).await?;
        tx.commit().await?;
        Ok((rows, counts))
    } else {
        let rows = page.fetch_all(pool).await?;
        let counts = facets.fetch_all(pool).await?;
        Ok((rows, counts))
    }
}
