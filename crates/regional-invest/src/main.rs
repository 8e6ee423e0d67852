//! `regional-invest`: the one binary of the service. See `docs/operations.md`.

use clap::{Parser, Subcommand};
use regional_invest::{App, Config, migrate, replay, telemetry};

#[derive(Debug, Parser)]
#[command(
    name = "regional-invest",
    version,
    about = "Funding instruments for Europe's security-technology SMEs"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the service: HTTP API, projections.
    Serve {
        /// Do not apply pending migrations at start.
        #[arg(long)]
        no_migrate: bool,
    },
    /// Create the database if missing and apply pending migrations.
    Migrate,
    /// Rebuild a projection from the start of the log and swap it in.
    Replay {
        /// The projection's name (see `docs/architecture.md`).
        projection: String,
    },
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let _telemetry = telemetry::init()?;
    let config = Config::load()?;
    match cli.command {
        Command::Serve { no_migrate } => {
            App::start(&config, !no_migrate)
                .await?
                .run_until_signalled()
                .await;
        }
        Command::Migrate => {
            migrate(&config).await?;
            tracing::info!("migrations applied");
        }
        Command::Replay { projection } => {
            let report = replay(&config, &projection).await?;
            tracing::info!(
                projection,
                events = report.events,
                seconds = report.elapsed.as_secs_f64(),
                "replayed"
            );
        }
    }
    Ok(())
}
