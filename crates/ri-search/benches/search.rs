//! Benchmark of the in-memory search (not a test): the issue-3 query shapes (any and all of
//! three common features, cover level NATIONAL, country DE, open, soonest deadline first,
//! first page of 20 with the total and every facet), text queries, and a search without any
//! filter, each called by 8 threads at once; p50/p99 per call; build time and memory.
//! Targets (issue 12): p99 ≤ 1 ms at 100,000 instruments and ≤ 10 ms at 1,000,000.
//!
//! `cargo bench -p ri-search` (release build). `RI_BENCH_INSTRUMENTS` (default
//! `100000,1000000`), `RI_BENCH_SECONDS` (5 per query shape), `RI_BENCH_TASKS` (8 callers) and
//! `RI_BENCH_BATCH` (10,000 documents per `apply` while building) and `RI_BENCH_CORES` (the
//! searches let run at once, default the machine's cores) change the sizes;
//! `RI_BENCH_ONLY=<part of a shape's name>` runs only the matching shapes;
//! `RI_BENCH_TALLY_MAX` and `RI_BENCH_LIST_MAX` set the index's hidden tuning knobs;
//! `RI_BENCH_TEXT_CACHE=0` turns the text leaf cache off (every text search reads postings). Each shape
//! also reports its callers' CPU time per call, which the machine's other load inflates less
//! than wall-clock time. Data come
//! from a seeded `StdRng`, distributed as in the issue-3 SQL benchmark, so every run is alike.

#![allow(clippy::print_stdout, clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use rand::{RngExt, SeedableRng, rngs::StdRng};
use ri_domain::TenantSlug;
use ri_domain::instrument::{CoverLevel, InstrumentKind, InstrumentStatus};
use ri_domain::values::{CountryCode, CurrencyCode, FundingRange, LanguageCode};
use ri_search::{Change, FeatureMatch, Index, IndexConfig, InstrumentDoc, Page, Query, Sort};
use ri_taxonomy::{FeatureCode, FeatureSet};
use time::OffsetDateTime;
use time::macros::datetime;

/// The allocator the service runs with (`crates/regional-invest/src/main.rs`), so that the
/// search is measured as it runs there.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const NOW: OffsetDateTime = datetime!(2026-12-02 12:00 UTC);
const TENANTS: usize = 30;
const PAGE: usize = 20;

/// Features that instruments carry more often than the rest (weight 8 against 1).
const COMMON_FEATURES: [&str; 10] = [
    "P12", "T1", "T15", "T9", "T10", "T14", "T4", "P10", "P13", "D1",
];

const COUNTRIES: [(&str, u32); 30] = [
    ("DE", 16),
    ("FR", 14),
    ("IT", 12),
    ("ES", 12),
    ("PL", 10),
    ("NL", 8),
    ("BE", 6),
    ("SE", 6),
    ("AT", 6),
    ("DK", 6),
    ("FI", 6),
    ("LT", 6),
    ("PT", 4),
    ("CZ", 4),
    ("RO", 4),
    ("GR", 4),
    ("HU", 4),
    ("IE", 4),
    ("SK", 3),
    ("BG", 3),
    ("HR", 3),
    ("SI", 3),
    ("LV", 3),
    ("EE", 3),
    ("LU", 2),
    ("CY", 2),
    ("MT", 2),
    ("NO", 3),
    ("IS", 2),
    ("CH", 3),
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
    "European Defence Fund",
    "Interreg Baltic Sea Region",
    "Internal Security Fund",
    "EU4Health",
    "LIFE",
    "Connecting Europe Facility",
];

fn pick<T: Copy>(rng: &mut StdRng, weighted: &[(T, u32)]) -> T {
    let total: u32 = weighted.iter().map(|(_, w)| w).sum();
    let mut at = rng.random_range(0..total);
    for &(item, w) in weighted {
        if at < w {
            return item;
        }
        at -= w;
    }
    weighted[weighted.len() - 1].0
}

struct Generator {
    rng: StdRng,
    features: Vec<(FeatureCode, u32)>,
    tenants: Vec<(TenantSlug, String)>,
    countries: Vec<(CountryCode, u32)>,
    languages: Vec<Vec<LanguageCode>>,
    eur: CurrencyCode,
}

impl Generator {
    fn new() -> Self {
        let lang = |l: &str| LanguageCode::parse("l", l).unwrap();
        Self {
            rng: StdRng::seed_from_u64(12),
            features: FeatureCode::all()
                .map(|c| {
                    (
                        c,
                        if COMMON_FEATURES.contains(&c.as_str()) {
                            8
                        } else {
                            1
                        },
                    )
                })
                .collect(),
            tenants: (1..=TENANTS)
                .map(|i| {
                    (
                        TenantSlug::parse(&format!("synthetic-{i:02}")).unwrap(),
                        format!("Synthetic cluster {i}"),
                    )
                })
                .collect(),
            countries: COUNTRIES
                .iter()
                .map(|(c, w)| (CountryCode::parse("c", c).unwrap(), *w))
                .collect(),
            languages: vec![
                vec![lang("en")],
                vec![lang("en"), lang("fr")],
                vec![lang("de"), lang("en")],
                vec![lang("en"), lang("lt")],
            ],
            eur: CurrencyCode::parse("currency", "EUR").unwrap(),
        }
    }

    fn words(&mut self, n: usize) -> String {
        (0..n)
            .map(|_| WORDS[self.rng.random_range(0..WORDS.len())])
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// 70 % open, 10 % closed, 8 % draft (never published: not indexed), 6 % withdrawn,
    /// 6 % archived; 60 % calls; cover levels 30/35/25/10 %; 1–3 countries; 1–8 features;
    /// deadlines over the next two years (the past two for closed and archived ones; 5 % of the
    /// others without).
    fn doc(&mut self, i: usize) -> InstrumentDoc {
        use InstrumentStatus::*;
        let rng = &mut self.rng;
        let status = pick(
            rng,
            &[
                (Open, 70),
                (Closed, 10),
                (Draft, 8),
                (Withdrawn, 6),
                (Archived, 6),
            ],
        );
        let kind = pick(
            rng,
            &[
                (InstrumentKind::Call, 60),
                (InstrumentKind::Programme, 25),
                (InstrumentKind::StrategicDocument, 15),
            ],
        );
        let cover_level = pick(
            rng,
            &[
                (CoverLevel::Regional, 30),
                (CoverLevel::National, 35),
                (CoverLevel::Eu, 25),
                (CoverLevel::International, 10),
            ],
        );
        let n_countries = pick(rng, &[(1, 50), (2, 30), (3, 20)]);
        let mut countries = Vec::new();
        while countries.len() < n_countries {
            let c = pick(rng, &self.countries);
            if !countries.contains(&c) {
                countries.push(c);
            }
        }
        let n_features = rng.random_range(1..=8);
        let mut features = FeatureSet::empty();
        while features.len() < n_features {
            features.insert(pick(rng, &self.features));
        }
        let minutes = rng.random_range(60..730 * 24 * 60);
        let deadline = match status {
            Closed | Archived => Some(NOW - time::Duration::minutes(minutes)),
            _ if rng.random_range(0..100) < 5 => None,
            _ => Some(NOW + time::Duration::minutes(minutes)),
        };
        let (tenant, tenant_name) = self.tenants[rng.random_range(0..TENANTS)].clone();
        let programme = (rng.random_range(0..10) < 6)
            .then(|| PROGRAMMES[rng.random_range(0..PROGRAMMES.len())].to_owned());
        let funding = (rng.random_range(0..10) < 8).then(|| {
            let min = 10_000 * rng.random_range(1..=50u64);
            FundingRange::new(
                Some(min),
                Some(min * (2 + (i as u64 % 20))),
                self.eur.clone(),
            )
            .unwrap()
        });
        let languages = self.languages[rng.random_range(0..4)].clone();
        let updated_at = NOW - time::Duration::minutes(rng.random_range(0..900 * 24 * 60));
        let n_summary = 12 + i % 13;
        let mut title = self.words(4);
        if let Some(first) = title.get_mut(0..1) {
            first.make_ascii_uppercase();
        }
        InstrumentDoc {
            id: format!("syn-{i:07}"),
            tenant,
            tenant_name: Some(tenant_name),
            tenant_suspended: false,
            version: 3,
            status,
            title,
            kind,
            cover_level,
            countries,
            programme,
            link: Some(format!("https://example.org/synthetic/{i}")),
            summary: format!("Synthetic benchmark instrument. {}", self.words(n_summary)),
            target_organisations: Vec::new(),
            funding,
            periodicity: None,
            languages,
            features,
            opening_date: None,
            deadline,
            time_zone: None,
            drafted_at: updated_at,
            updated_at,
            published_at: (status != Draft).then_some(updated_at),
        }
    }
}

fn env(name: &str, default: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| default.to_owned())
}

fn num(name: &str, default: usize) -> usize {
    env(name, &default.to_string()).parse().expect(name)
}

/// kB values of `/proc/self/status`.
fn status_kb(key: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(key))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

fn mb(kb: u64) -> f64 {
    kb as f64 / 1024.0
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let at = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted.get(at).copied().unwrap_or_default()
}

fn shapes() -> Vec<(&'static str, Query)> {
    let issue3 = |feature_match| Query {
        features: FeatureSet::parse(["T1", "T15", "P12"]).unwrap(),
        feature_match,
        cover_levels: vec![CoverLevel::National],
        countries: vec![CountryCode::parse("c", "DE").unwrap()],
        first: PAGE,
        ..Query::default()
    };
    let text = |t: &str| Query {
        text: Some(t.to_owned()),
        sort: Sort::Relevance,
        first: PAGE,
        ..Query::default()
    };
    vec![
        ("issue 3, any of 3 features", issue3(FeatureMatch::Any)),
        ("issue 3, all of 3 features", issue3(FeatureMatch::All)),
        (
            "issue 3, any of 3, text \"drone\"",
            Query {
                text: Some("drone ".to_owned()),
                ..issue3(FeatureMatch::Any)
            },
        ),
        (
            "text \"drone surveillance\", relevance",
            text("drone surveillance "),
        ),
        (
            "text \"quantum cyber\" (prefix), relevance",
            text("quantum cyber"),
        ),
        (
            "no filter (open only)",
            Query {
                first: PAGE,
                ..Query::default()
            },
        ),
    ]
}

/// Time the calling thread has spent on a CPU (`/proc/thread-self/schedstat`): what the
/// searches cost whatever else the machine is running.
fn thread_cpu() -> Duration {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse().ok())
        .map_or(Duration::ZERO, Duration::from_nanos)
}

/// Every call's time, sorted; the first page; the callers' CPU time.
fn measure(
    index: &Index,
    query: &Query,
    tasks: usize,
    seconds: u64,
) -> (Vec<Duration>, Page, Duration) {
    let page = index.search(query, NOW).unwrap();
    assert!(page.hits.len() <= PAGE);
    // Warm-up.
    let warm = Instant::now() + Duration::from_millis(500);
    while Instant::now() < warm {
        std::hint::black_box(index.search(query, NOW).unwrap());
    }
    let end = Instant::now() + Duration::from_secs(seconds);
    let mut cpu = Duration::ZERO;
    let mut all: Vec<Duration> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..tasks)
            .map(|_| {
                s.spawn(|| {
                    let mut times = Vec::new();
                    let started = thread_cpu();
                    while Instant::now() < end {
                        let t = Instant::now();
                        let page = index.search(query, NOW).unwrap();
                        times.push(t.elapsed());
                        std::hint::black_box(page);
                    }
                    (times, thread_cpu().saturating_sub(started))
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| {
                let (times, used) = h.join().unwrap();
                cpu += used;
                times
            })
            .collect()
    });
    all.sort_unstable();
    (all, page, cpu)
}

fn main() {
    let sizes: Vec<usize> = env("RI_BENCH_INSTRUMENTS", "100000,1000000")
        .split(',')
        .map(|s| s.trim().parse().expect("RI_BENCH_INSTRUMENTS"))
        .collect();
    let seconds = num("RI_BENCH_SECONDS", 5) as u64;
    let tasks = num("RI_BENCH_TASKS", 8);
    let batch = num("RI_BENCH_BATCH", 10_000).max(1);
    let cores = num(
        "RI_BENCH_CORES",
        std::thread::available_parallelism().map_or(1, |n| n.get()),
    );
    println!("{tasks} callers, {cores} searches at once, {seconds} s per shape, now = {NOW}");
    for n in sizes {
        let rss_before = status_kb("VmRSS:");
        let started = Instant::now();
        let mut config = IndexConfig {
            // As the service would: one search per core at a time.
            concurrent_searches: (cores > 0).then_some(cores),
            ..IndexConfig::default()
        };
        if let Ok(t) = std::env::var("RI_BENCH_TALLY_MAX") {
            config.tally_max = Some(t.parse().expect("RI_BENCH_TALLY_MAX"));
        }
        if let Ok(l) = std::env::var("RI_BENCH_LIST_MAX") {
            config.list_max = Some(l.parse().expect("RI_BENCH_LIST_MAX"));
        }
        if let Ok(c) = std::env::var("RI_BENCH_TEXT_CACHE") {
            config.text.cache_bytes = c.parse().expect("RI_BENCH_TEXT_CACHE");
        }
        let index = Index::new(config).unwrap();
        let mut generator = Generator::new();
        let mut generating = Duration::ZERO;
        let mut i = 0;
        while i < n {
            let t = Instant::now();
            let docs: Vec<Change> = (i..(i + batch).min(n))
                .map(|k| Change::Upsert(std::sync::Arc::new(generator.doc(k))))
                .collect();
            generating += t.elapsed();
            i += docs.len();
            index.apply(docs, Some(i as u64)).unwrap();
        }
        let loaded = started.elapsed() - generating;
        index.compact().unwrap();
        let built = started.elapsed() - generating;
        let snapshot = index.snapshot();
        let rss = status_kb("VmRSS:");
        let memory = snapshot.memory();
        let indexed = snapshot.len();
        println!(
            "\n## {n} instruments ({indexed} public, indexed)\n\nbuild: {:.1} s in batches of \
             {batch}, of which {:.1} s compacting (plus {:.1} s generating); VmRSS {:.0} MB (+{:.0} MB), VmHWM {:.0} MB; \
             {:.0} bytes per indexed instrument by RSS; estimate: blocks {:.0} MB, documents \
             {:.0} MB, tantivy {:.0} MB",
            built.as_secs_f64(),
            (built - loaded).as_secs_f64(),
            generating.as_secs_f64(),
            mb(rss),
            mb(rss.saturating_sub(rss_before)),
            mb(status_kb("VmHWM:")),
            rss.saturating_sub(rss_before) as f64 * 1024.0 / indexed.max(1) as f64,
            memory.blocks as f64 / 1_048_576.0,
            memory.docs as f64 / 1_048_576.0,
            memory.text as f64 / 1_048_576.0,
        );
        println!(
            "\n| query | total | calls | per second | p50 ms | p99 ms | max ms | CPU µs per call |\n|---|---:|---:|---:|---:|---:|---:|---:|"
        );
        let only = std::env::var("RI_BENCH_ONLY").ok();
        for (name, query) in shapes() {
            if only.as_deref().is_some_and(|o| !name.contains(o)) {
                continue;
            }
            let (times, page, cpu) = measure(&index, &query, tasks, seconds);
            assert!(
                !page.facets.countries.is_empty() || page.total == 0,
                "facets are counted"
            );
            println!(
                "| {name} | {} | {} | {:.0} | {:.3} | {:.3} | {:.3} | {:.0} |",
                page.total,
                times.len(),
                times.len() as f64 / seconds as f64,
                ms(percentile(&times, 0.5)),
                ms(percentile(&times, 0.99)),
                ms(times.last().copied().unwrap_or_default()),
                cpu.as_secs_f64() * 1e6 / times.len().max(1) as f64,
            );
        }
        let t = Instant::now();
        let suggestions = snapshot.suggest("dro", 10).unwrap();
        println!(
            "\nsuggest(\"dro\", 10): {} suggestions in {:.3} ms (one caller)",
            suggestions.len(),
            ms(t.elapsed())
        );
    }
}
