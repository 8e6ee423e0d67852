//! `regional-invest`: the one binary of the service. See `docs/operations.md`.

use std::io::Write;
use std::time::Duration;

use anyhow::Context;
use clap::{Parser, Subcommand};
use regional_invest::{App, Config, StartOptions, failures, migrate, replay, telemetry};
use ri_api::auth::{Authenticator, mint_token};
use ri_domain::{Role, TenantSlug};

/// mimalloc rather than glibc's allocator: a GraphQL response is hundreds of small
/// allocations freed together across threads, where glibc's arenas spent a fifth of a search
/// request's CPU; mimalloc served 35–40 % more searches a second on the same machine
/// (docs/performance.md, decision 0007).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

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
        /// Load the shipped seed data when the database holds no tenant yet.
        #[arg(long)]
        seed: bool,
    },
    /// Load the shipped seed data (tenants, instruments, projects with their success stories,
    /// project clusters) into an empty database.
    Seed,
    /// Create the database if missing and apply pending migrations.
    Migrate,
    /// Rebuild a projection from the start of the log and swap it in.
    Replay {
        /// The projection's name (see `docs/architecture.md`).
        projection: String,
    },
    /// Print the events projections could not apply and skipped, oldest first, one per line
    /// (see `docs/decisions/0004-poison-events.md`).
    Failures {
        /// Only this projection's.
        projection: Option<String>,
        /// At most this many.
        #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(i64).range(1..=10_000))]
        limit: i64,
    },
    /// Mint a development JWT and print it alone on stdout (HS256 with `RI_JWT_SECRET`). A
    /// token says who you are; what you may do is what your tenant grants you: `--role` records
    /// those grants in the database first (the tenant must be registered, as the seed does).
    Token {
        /// The tenant's slug.
        #[arg(long, value_parser = parse_tenant)]
        tenant: TenantSlug,
        /// A role to grant the subject in the tenant (curator, follow_up_manager,
        /// tenant_admin); repeatable. Platform admins are named in `RI_PLATFORM_ADMINS`.
        #[arg(long = "role", value_parser = parse_role)]
        roles: Vec<Role>,
        /// The token's subject.
        #[arg(long, default_value = "dev-user")]
        sub: String,
        /// Hours until the token expires.
        #[arg(long, default_value_t = 12, value_parser = clap::value_parser!(u64).range(1..=24 * 366))]
        ttl_hours: u64,
    },
}

fn parse_tenant(raw: &str) -> Result<TenantSlug, String> {
    TenantSlug::parse(raw).map_err(|e| e.to_string())
}

fn parse_role(raw: &str) -> Result<Role, String> {
    raw.parse().map_err(|_| {
        let known: Vec<&str> = Role::ALL.iter().map(|role| role.as_str()).collect();
        format!("unknown role {raw:?}; one of {}", known.join(", "))
    })
}

/// `token`: no telemetry, so that stdout holds the token and nothing else.
async fn token(
    config: &Config,
    tenant: &TenantSlug,
    roles: &[Role],
    sub: &str,
    ttl_hours: u64,
) -> anyhow::Result<()> {
    if roles.contains(&Role::PlatformAdmin) && !config.platform_admins.iter().any(|s| s == sub) {
        anyhow::bail!(
            "platform admins are named in the configuration, not granted: set \
             RI_PLATFORM_ADMINS={sub} for the service and for this command"
        );
    }
    let auth = config.auth()?;
    if auth.rs256_public_key_pem.is_some() && auth.rs256_private_key_pem.is_none() {
        anyhow::bail!(
            "RI_JWT_PUBLIC_KEY_FILE is set: tokens are RS256 from the identity provider, and \
             this command has no private key to mint one"
        );
    }
    // The token must verify against the same configuration.
    Authenticator::new(&auth)?;
    let ttl = Duration::from_secs(ttl_hours.saturating_mul(3600));
    let granted: Vec<Role> = roles
        .iter()
        .copied()
        .filter(|role| *role != Role::PlatformAdmin)
        .collect();
    if !granted.is_empty() {
        regional_invest::grants::grant_roles_in(config, tenant, sub, &granted).await?;
    }
    let token = mint_token(&auth, sub, tenant, ttl)?;
    writeln!(std::io::stdout().lock(), "{token}").context("could not write the token")?;
    Ok(())
}

/// `failures`: no telemetry, so that stdout holds the failures, one tab-separated line each.
async fn print_failures(
    config: &Config,
    projection: Option<&str>,
    limit: i64,
) -> anyhow::Result<()> {
    let failures = failures(config, projection, limit).await?;
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "position\tprojection\tevent_type\ttenant\taggregate\tevent_id\trecorded_at\terror"
    )
    .context("could not write the failures")?;
    for f in &failures {
        writeln!(
            out,
            "{}\t{}\t{}\t{}\t{}/{}\t{}\t{}\t{}",
            f.position,
            f.projection,
            f.event_type,
            f.tenant,
            f.aggregate_type,
            f.aggregate_id,
            f.event_id,
            f.recorded_at,
            f.error.replace(['\t', '\n'], " ")
        )
        .context("could not write the failures")?;
    }
    Ok(())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    if let Command::Token {
        tenant,
        roles,
        sub,
        ttl_hours,
    } = &cli.command
    {
        return token(&Config::load()?, tenant, roles, sub, *ttl_hours).await;
    }
    if let Command::Failures { projection, limit } = &cli.command {
        return print_failures(&Config::load()?, projection.as_deref(), *limit).await;
    }
    let _telemetry = telemetry::init()?;
    let config = Config::load()?;
    match cli.command {
        Command::Serve { no_migrate, seed } => {
            if config.uses_dev_secret() {
                tracing::warn!(
                    "the development JWT secret is in use: anyone can mint tokens; set \
                     RI_JWT_PUBLIC_KEY_FILE (or RI_JWT_SECRET) outside development"
                );
            }
            // A failed seed ends the process non-zero, never ready.
            let options = StartOptions {
                run_migrations: !no_migrate,
                seed,
            };
            let app = App::start_with(&config, options).await?;
            app.run_until_signalled().await;
        }
        Command::Seed => {
            migrate(&config).await?;
            let report = regional_invest::seed_database(&config).await?;
            tracing::info!(?report, "seed");
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
                skipped = report.failures,
                seconds = report.elapsed.as_secs_f64(),
                "replayed"
            );
        }
        Command::Failures { .. } => {} // handled above, before telemetry
        Command::Token { .. } => {}    // handled above, before telemetry
    }
    Ok(())
}
