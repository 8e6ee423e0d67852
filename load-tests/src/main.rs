//! `ri-load`: the load test of Regional Invest (issue 14). `populate` fills a fresh service
//! through its GraphQL API and writes a manifest; `attack` runs goose's weighted scenarios and
//! WebSocket subscribers against it. `load-tests/run.sh` does both against a service it
//! starts itself (load-tests/README.md).

use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::time::Duration;

use anyhow::Context;
use clap::{Parser, Subcommand};
use goose::config::GooseConfiguration;
use goose::prelude::*;

use attack::{
    close, clusters, dashboard, feedback_burst, instrument_page, next_page, next_step, publish_new,
    revise, search_facets, search_text,
};

mod attack;
mod client;
mod data;
mod manifest;
mod ops;
mod populate;
mod subscribers;

#[derive(Debug, Parser)]
#[command(name = "ri-load", about = "Regional Invest's load test")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
#[allow(clippy::large_enum_variant)] // parsed once; goose's options are many
enum Command {
    /// Fill a fresh service through its GraphQL API and write the manifest.
    Populate {
        /// The service's base URL.
        #[arg(long)]
        url: String,
        /// smoke (3 tenants, 300 instruments) or full (30 tenants, 100,000 instruments).
        #[arg(long, default_value = "smoke")]
        mode: String,
        #[arg(long)]
        manifest: PathBuf,
        /// The `regional-invest` binary whose `token` command mints the users' tokens.
        #[arg(long)]
        token_command: PathBuf,
        /// Requests in flight at once.
        #[arg(long, default_value_t = 16)]
        concurrency: usize,
        /// Instead of the mode's 300 or 100,000 instruments.
        #[arg(long)]
        instruments: Option<usize>,
        #[arg(long)]
        seed: Option<u64>,
    },
    /// Run the goose attack against a populated service (goose's options follow).
    Attack {
        #[arg(long)]
        manifest: PathBuf,
        /// WebSocket subscribers (watchers holding notifications and instrumentEvents).
        #[arg(long, default_value_t = 6)]
        subscribers: usize,
        /// The shortest pause of a user between two transactions, in milliseconds.
        #[arg(long, default_value_t = 100)]
        think_min_ms: u64,
        /// The longest pause, in milliseconds.
        #[arg(long, default_value_t = 1000)]
        think_max_ms: u64,
        /// Open loop: this many requests per second (goose's throttle, over enough users
        /// with no pause), with coordinated-omission mitigation (average cadence) unless
        /// --co-mitigation says otherwise. Without it the run is closed-loop (--users,
        /// --increase-rate).
        #[arg(long)]
        open_loop_rate: Option<usize>,
        /// Where to write ri-load's own results (conflicts, subscribers, failures) as JSON.
        #[arg(long)]
        summary: Option<PathBuf>,
        #[command(flatten)]
        goose: GooseConfiguration,
    },
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Command::Populate {
            url,
            mode,
            manifest,
            token_command,
            concurrency,
            instruments,
            seed,
        } => {
            let mut options = populate::Options::for_mode(&mode)?;
            options.concurrency = concurrency.max(1);
            if let Some(instruments) = instruments {
                options.sizes.instruments = instruments;
            }
            if let Some(seed) = seed {
                options.seed = seed;
            }
            let minter = client::Minter {
                binary: token_command,
            };
            let made = populate::run(&url, &minter, &options).await?;
            made.write(&manifest)?;
            Ok(())
        }
        Command::Attack {
            manifest,
            subscribers,
            think_min_ms,
            think_max_ms,
            open_loop_rate,
            summary,
            goose,
        } => {
            let manifest = manifest::Manifest::read(&manifest)?;
            let failures = run_attack(
                manifest,
                subscribers,
                (think_min_ms, think_max_ms),
                open_loop_rate,
                summary,
                goose,
            )
            .await?;
            if failures > 0 {
                anyhow::bail!("{failures} requests or subscriptions failed");
            }
            Ok(())
        }
    }
}

fn scenarios(think: (Duration, Duration)) -> Result<Vec<Scenario>, GooseError> {
    let (min, max) = think;
    Ok(vec![
        scenario!("PublicSearch")
            .set_weight(80)?
            .set_wait_time(min, max)?
            .register_transaction(
                transaction!(search_facets)
                    .set_name("search by facets")
                    .set_weight(4)?,
            )
            .register_transaction(
                transaction!(search_text)
                    .set_name("search by text")
                    .set_weight(2)?,
            )
            .register_transaction(
                transaction!(next_page)
                    .set_name("next page")
                    .set_weight(2)?,
            )
            .register_transaction(
                transaction!(instrument_page)
                    .set_name("instrument page")
                    .set_weight(3)?,
            ),
        scenario!("Curator")
            .set_weight(10)?
            .set_wait_time(min, max)?
            .register_transaction(
                transaction!(publish_new)
                    .set_name("draft, tag, schedule, publish")
                    .set_weight(2)?,
            )
            .register_transaction(transaction!(revise).set_name("revise").set_weight(5)?)
            .register_transaction(transaction!(close).set_name("close").set_weight(1)?),
        scenario!("FollowUpManager")
            .set_weight(5)?
            .set_wait_time(min, max)?
            .register_transaction(transaction!(clusters).set_name("clusters").set_weight(2)?)
            .register_transaction(
                transaction!(dashboard)
                    .set_name("dashboard")
                    .set_weight(3)?,
            )
            .register_transaction(
                transaction!(next_step)
                    .set_name("add and complete a next step")
                    .set_weight(1)?,
            ),
        scenario!("Practitioner")
            .set_weight(5)?
            .set_wait_time(min, max)?
            .register_transaction(transaction!(feedback_burst).set_name("feedback burst")),
    ])
}

async fn run_attack(
    manifest: manifest::Manifest,
    subscribers: usize,
    think_ms: (u64, u64),
    open_loop_rate: Option<usize>,
    summary: Option<PathBuf>,
    mut goose: GooseConfiguration,
) -> anyhow::Result<u64> {
    let mut think = (
        Duration::from_millis(think_ms.0),
        Duration::from_millis(think_ms.1.max(think_ms.0)),
    );
    if let Some(rate) = open_loop_rate {
        goose.throttle_requests = Some(rate);
        goose
            .co_mitigation
            .get_or_insert(GooseCoordinatedOmissionMitigation::Average);
        goose.users.get_or_insert(rate.max(10));
        think = (Duration::ZERO, Duration::ZERO);
    }
    let host = goose
        .host
        .clone()
        .context("give the service's URL with --host")?;
    let ws_url = format!(
        "{}/graphql",
        host.trim_end_matches('/').replacen("http", "ws", 1)
    );
    let markdown_reports: Vec<PathBuf> = goose
        .report_file
        .iter()
        .filter(|f| f.ends_with(".md"))
        .map(PathBuf::from)
        .collect();

    let (stop, stopped) = tokio::sync::watch::channel(false);
    let sockets = subscribers::start(ws_url, &manifest, subscribers, stopped);
    let shared = attack::install(manifest);

    let mut attack = GooseAttack::initialize_with_config(goose)?;
    for scenario in scenarios(think)? {
        attack = attack.register_scenario(scenario);
    }
    let metrics = attack.execute().await?;

    // Let the last events reach the subscribers, then close them.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let _ = stop.send(true);
    let sockets = sockets.await.context("the subscribers' task failed")?;

    let failed_requests: usize = metrics.requests.values().map(|r| r.fail_count).sum();
    let requests: usize = metrics
        .requests
        .values()
        .map(|r| r.success_count.saturating_add(r.fail_count))
        .sum();
    let conflicts = shared.counters.conflicts.load(Ordering::Relaxed);
    let conflicts_after_retry = shared
        .counters
        .conflicts_after_retry
        .load(Ordering::Relaxed);
    let mut section = format!(
        "\n## ri-load\n\nPopulation: {} tenants, {} instruments, {} projects, {} clusters (made in {:.0} s).\n\n\
         Requests: {requests}, failed: {failed_requests}. CONFLICT answers to writes with \
         `expectedVersion` (reloaded and retried once, not failures): {conflicts}, of which the \
         retry conflicted again: {conflicts_after_retry}.\n",
        shared.manifest.tenants.len(),
        shared.manifest.instruments.len(),
        shared.manifest.projects.len(),
        shared.manifest.clusters.len(),
        shared.manifest.seconds,
    );
    section.push_str(&sockets.markdown());
    eprintln!("{section}");
    for report in &markdown_reports {
        let mut text = std::fs::read_to_string(report).unwrap_or_default();
        text.push_str(&section);
        std::fs::write(report, text)
            .with_context(|| format!("could not add to {}", report.display()))?;
    }
    if let Some(path) = summary {
        let json = serde_json::json!({
            "requests": requests,
            "failed_requests": failed_requests,
            "conflicts": conflicts,
            "conflicts_after_retry": conflicts_after_retry,
            "subscribers": sockets,
            "population": shared.manifest.sizes,
            "populate_seconds": shared.manifest.seconds,
        });
        std::fs::write(&path, serde_json::to_vec_pretty(&json)?)
            .with_context(|| format!("could not write {}", path.display()))?;
    }
    let failures = u64::try_from(failed_requests)
        .unwrap_or(u64::MAX)
        .saturating_add(u64::try_from(sockets.errors.len()).unwrap_or(u64::MAX));
    Ok(failures)
}
