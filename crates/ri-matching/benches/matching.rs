//! Benchmark of matching (not a test): the top 20 instruments for one project over 100,000
//! synthetic instruments, and the full matrix of 1,000 projects by 100,000 instruments (each
//! project's top 20). Targets (issue 5): top 20 within 5 ms; the matrix within 10 s on the
//! 2-core machine.
//!
//! `cargo bench -p ri-matching` (release build). `RI_BENCH_INSTRUMENTS`, `RI_BENCH_PROJECTS`
//! and `RI_BENCH_RUNS` change the 100,000 instruments, the 1,000 projects and the 3 runs of
//! the matrix. Data come from a seeded `StdRng`, so every run scores the same pairs.

#![allow(clippy::print_stdout, clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;
use std::time::{Duration, Instant};

use rand::{RngExt, SeedableRng, rngs::StdRng};
use ri_matching::*;
use ri_taxonomy::{FeatureCode, FeatureSet};
use time::OffsetDateTime;
use time::macros::datetime;

const TOP: usize = 20;
const NOW: OffsetDateTime = datetime!(2026-11-26 12:00 UTC);

/// Features that instruments carry more often than the rest (weight 8 against 1), as in the
/// seed catalogue and the search benchmark.
const COMMON_FEATURES: [&str; 10] = [
    "P12", "T1", "T15", "T9", "T10", "T14", "T4", "P10", "P13", "D1",
];

/// The EU-27 and three EEA/EFTA countries, weighted roughly by how many instruments cover them.
const COUNTRIES: [(&str, u32); 30] = [
    ("DE", 8),
    ("FR", 7),
    ("IT", 6),
    ("ES", 6),
    ("PL", 5),
    ("NL", 4),
    ("BE", 3),
    ("SE", 3),
    ("AT", 3),
    ("DK", 3),
    ("FI", 3),
    ("LT", 3),
    ("PT", 2),
    ("CZ", 2),
    ("RO", 2),
    ("GR", 2),
    ("HU", 2),
    ("IE", 2),
    ("SK", 1),
    ("SI", 1),
    ("HR", 1),
    ("BG", 1),
    ("LV", 1),
    ("EE", 1),
    ("LU", 1),
    ("MT", 1),
    ("CY", 1),
    ("NO", 2),
    ("IS", 1),
    ("CH", 2),
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

fn features(rng: &mut StdRng, count: usize, common_weight: u32) -> FeatureSet {
    let weighted: Vec<(FeatureCode, u32)> = FeatureCode::all()
        .map(|c| {
            let w = if COMMON_FEATURES.contains(&c.as_str()) {
                common_weight
            } else {
                1
            };
            (c, w)
        })
        .collect();
    let mut set = FeatureSet::empty();
    while set.len() < count {
        set.insert(pick(rng, &weighted));
    }
    set
}

fn countries(rng: &mut StdRng, count: usize) -> Vec<Country> {
    let mut out: Vec<Country> = Vec::new();
    while out.len() < count {
        let c: Country = pick(rng, &COUNTRIES).parse().unwrap();
        if !out.contains(&c) {
            out.push(c);
        }
    }
    out
}

/// As in the search benchmark: 70 % open, 10 % closed, 8 % draft, 6 % withdrawn, 6 % archived;
/// 60 % calls; cover levels 30/35/25/10 % regional/national/EU/international; 1–3 countries;
/// 1–8 features; deadlines over the next two years (the past two for closed ones; 5 % of open
/// ones without).
fn instrument(rng: &mut StdRng, i: usize) -> InstrumentProfile {
    use InstrumentStatus::*;
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
    let countries = if cover_level.needs_country() {
        let n = rng.random_range(1..=3);
        countries(rng, n)
    } else {
        Vec::new()
    };
    let days = rng.random_range(1..730);
    let deadline = match status {
        Closed | Archived => Some(NOW - time::Duration::days(days)),
        _ if rng.random_range(0..100) < 5 => None,
        _ => Some(NOW + time::Duration::days(days)),
    };
    let count = rng.random_range(1..=8);
    InstrumentProfile {
        id: format!("syn-{i}"),
        features: features(rng, count, 8),
        kind,
        cover_level,
        countries,
        status,
        deadline,
    }
}

/// Like the seed's open-call projects: 2–22 features (about 10), a third prototyping, half
/// demonstrators, the rest without a stage; a consortium of 0–3 countries.
fn project(rng: &mut StdRng) -> ProjectProfile {
    let count = rng.random_range(2..=22).min(rng.random_range(2..=22));
    let stage = match rng.random_range(0..6) {
        0 | 1 => Some(Stage::Prototyping),
        2..=4 => Some(Stage::Demonstrator),
        _ => None,
    };
    let n = rng.random_range(0..=3);
    ProjectProfile {
        features: features(rng, count, 3),
        stage,
        countries: countries(rng, n),
    }
}

fn env(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .map(|v| v.parse().expect(name))
        .unwrap_or(default)
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let at = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[at]
}

fn main() {
    let n_instruments = env("RI_BENCH_INSTRUMENTS", 100_000);
    let n_projects = env("RI_BENCH_PROJECTS", 1_000);
    let runs = env("RI_BENCH_RUNS", 3);
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());

    let mut rng = StdRng::seed_from_u64(5);
    let started = Instant::now();
    let instruments: Vec<InstrumentProfile> = (0..n_instruments)
        .map(|i| instrument(&mut rng, i))
        .collect();
    let projects: Vec<ProjectProfile> = (0..n_projects).map(|_| project(&mut rng)).collect();
    let weights = Weights::default();
    println!(
        "data: {n_instruments} instruments, {n_projects} projects, made in {:.0} ms; {threads} threads available",
        ms(started.elapsed())
    );
    let eligible_anywhere = instruments
        .iter()
        .filter(|i| match (i.status, i.kind) {
            (InstrumentStatus::Open, _) => true,
            (InstrumentStatus::Closed, k) => k != InstrumentKind::Call,
            _ => false,
        })
        .count();
    println!("instruments passing the status rules: {eligible_anywhere}");

    // One pair, for scale.
    let pairs = 1_000_000;
    let started = Instant::now();
    let mut eligible = 0usize;
    for k in 0..pairs {
        let p = &projects[k % projects.len()];
        let i = &instruments[(k * 7919) % instruments.len()];
        if black_box(score(&weights, p, i, NOW)).is_ok() {
            eligible += 1;
        }
    }
    let per_pair = started.elapsed().as_secs_f64() * 1e9 / pairs as f64;

    // Top 20 for one project, every project in turn (after one warm-up pass).
    for p in projects.iter().take(20) {
        black_box(top_matches(&weights, p, &instruments, TOP, 0.0, NOW));
    }
    let mut times = Vec::with_capacity(projects.len());
    let mut returned = 0usize;
    for p in &projects {
        let started = Instant::now();
        let top = black_box(top_matches(&weights, p, &instruments, TOP, 0.0, NOW));
        times.push(started.elapsed());
        returned += top.len();
    }
    times.sort();

    // The matrix.
    let mut matrix_times = Vec::with_capacity(runs);
    let mut matrix_rows = 0usize;
    for _ in 0..runs {
        let started = Instant::now();
        let rows = black_box(matrix(&weights, &projects, &instruments, TOP, 0.0, NOW));
        matrix_times.push(started.elapsed());
        matrix_rows = rows.iter().map(Vec::len).sum();
    }
    matrix_times.sort();

    println!();
    println!("| measurement | result | target |");
    println!("|---|---:|---:|");
    println!(
        "| `score`, one pair (explanation included; {:.0} % eligible) | {per_pair:.0} ns | — |",
        100.0 * eligible as f64 / pairs as f64
    );
    println!(
        "| `top_matches`, top {TOP} of {n_instruments}, p50 over {} projects | {:.2} ms | — |",
        projects.len(),
        ms(percentile(&times, 0.5))
    );
    println!(
        "| `top_matches`, top {TOP} of {n_instruments}, p99 | **{:.2} ms** | ≤ 5 ms |",
        ms(percentile(&times, 0.99))
    );
    println!(
        "| `top_matches`, top {TOP} of {n_instruments}, max | {:.2} ms | — |",
        ms(times[times.len() - 1])
    );
    println!(
        "| `matrix`, {n_projects} × {n_instruments}, top {TOP} each, {threads} threads, best of {runs} | {:.2} s | — |",
        matrix_times[0].as_secs_f64()
    );
    println!(
        "| `matrix`, worst of {runs} | **{:.2} s** | ≤ 10 s |",
        matrix_times[matrix_times.len() - 1].as_secs_f64()
    );
    println!();
    println!(
        "matches returned: {:.1} a project by top_matches, {:.1} by matrix",
        returned as f64 / projects.len() as f64,
        matrix_rows as f64 / projects.len() as f64
    );
}
