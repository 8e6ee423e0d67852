//! Connections to PostgreSQL with the service's guards, and the schema migrations.
//!
//! Every connection gets a statement timeout and an idle-in-transaction timeout: one stuck
//! transaction anywhere holds back every tailing reader (they wait for the oldest running
//! transaction), so no transaction of ours may stay open for long. Service connections switch to
//! the non-owning role `ri_app`, so row-level security applies to them.

use std::str::FromStr;
use std::time::Duration;

use sqlx::migrate::{MigrateDatabase, MigrateError, Migrator};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{AssertSqlSafe, Executor, PgPool, Postgres};

pub static MIGRATOR: Migrator = sqlx::migrate!("../../migrations");

#[derive(Debug, Clone)]
pub struct DbConfig {
    pub url: String,
    /// The role service connections switch to; `None` keeps the login role (tools, tests).
    pub app_role: Option<String>,
    pub statement_timeout: Duration,
    pub idle_in_transaction_timeout: Duration,
    pub max_connections: u32,
}

impl DbConfig {
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            app_role: Some("ri_app".to_owned()),
            statement_timeout: Duration::from_secs(30),
            idle_in_transaction_timeout: Duration::from_secs(60),
            max_connections: 16,
        }
    }

    pub fn connect_options(&self) -> Result<PgConnectOptions, sqlx::Error> {
        Ok(PgConnectOptions::from_str(&self.url)?
            .application_name("regional-invest")
            .options([
                (
                    "statement_timeout",
                    self.statement_timeout.as_millis().to_string(),
                ),
                (
                    "idle_in_transaction_session_timeout",
                    self.idle_in_transaction_timeout.as_millis().to_string(),
                ),
            ]))
    }
}

/// Creates the database named in the URL when it does not exist yet.
pub async fn ensure_database(url: &str) -> Result<(), sqlx::Error> {
    if Postgres::database_exists(url).await? {
        return Ok(());
    }
    match Postgres::create_database(url).await {
        Ok(()) => Ok(()),
        // Another process created it between our check and our CREATE.
        Err(_) if Postgres::database_exists(url).await? => Ok(()),
        Err(e) => Err(e),
    }
}

/// A pool for the service: guarded connections running as the application role.
pub async fn app_pool(config: &DbConfig) -> Result<PgPool, sqlx::Error> {
    let set_role = match &config.app_role {
        Some(role) => Some(set_role_statement(role)?),
        None => None,
    };
    PgPoolOptions::new()
        .max_connections(config.max_connections)
        .acquire_timeout(Duration::from_secs(10))
        .after_connect(move |conn, _meta| {
            let set_role = set_role.clone();
            Box::pin(async move {
                if let Some(sql) = set_role {
                    conn.execute(AssertSqlSafe(sql)).await?;
                }
                Ok(())
            })
        })
        .connect_with(config.connect_options()?)
        .await
}

/// A pool for request traffic through a connection pooler in transaction mode (PgBouncer,
/// docs/operations.md): each transaction may run on another server connection, so nothing is
/// set for the session. No startup `options` (PgBouncer refuses them: the timeouts come from
/// the login role's settings), no `SET ROLE` (the login role itself must be a member of the
/// application role, subject to row-level security), and, unless the URL says otherwise
/// (`statement-cache-capacity`), no statement cache: a cached statement would be looked for on a
/// server connection that never prepared it.
pub async fn pooled_pool(url: &str, max_connections: u32) -> Result<PgPool, sqlx::Error> {
    let mut options = PgConnectOptions::from_str(url)?.application_name("regional-invest");
    if !url.contains("statement-cache-capacity=") {
        options = options.statement_cache_capacity(0);
    }
    PgPoolOptions::new()
        .max_connections(max_connections)
        .acquire_timeout(Duration::from_secs(10))
        .connect_with(options)
        .await
}

/// What the role a pool's connections run as may do, as far as row-level security goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoleCheck {
    pub role: String,
    /// A superuser or `BYPASSRLS` role: row-level security does not apply to it.
    pub bypasses_rls: bool,
    /// It owns a table in `public`: row-level security does not apply to that table.
    pub owns_tables: bool,
    /// It has the rights of the application role (always true when none is configured).
    pub has_app_role: bool,
    pub statement_timeout: String,
    pub idle_in_transaction_timeout: String,
}

impl RoleCheck {
    /// Why requests must not run as this role, if they must not.
    pub fn refusal(&self, app_role: Option<&str>) -> Option<String> {
        let role = &self.role;
        if self.bypasses_rls {
            Some(format!("role {role} is a superuser or has BYPASSRLS"))
        } else if self.owns_tables {
            Some(format!("role {role} owns tables"))
        } else if !self.has_app_role {
            Some(format!(
                "role {role} is not a member of {}",
                app_role.unwrap_or("the application role")
            ))
        } else {
            None
        }
    }
}

/// Checks the role `pool`'s connections run as (in a transaction, as everything through a
/// transaction-mode pooler must be).
pub async fn check_role(pool: &PgPool, app_role: Option<&str>) -> Result<RoleCheck, sqlx::Error> {
    let mut tx = pool.begin().await?;
    let row: (String, bool, bool, bool, String, String) = sqlx::query_as(
        "SELECT current_user::text, r.rolsuper OR r.rolbypassrls, \
                EXISTS (SELECT 1 FROM pg_tables WHERE schemaname = 'public' \
                        AND tableowner = current_user), \
                CASE WHEN $1 = '' THEN true ELSE pg_has_role(current_user, $1, 'USAGE') END, \
                current_setting('statement_timeout'), \
                current_setting('idle_in_transaction_session_timeout') \
         FROM pg_roles r WHERE r.rolname = current_user",
    )
    .bind(app_role.unwrap_or(""))
    .fetch_one(&mut *tx)
    .await?;
    tx.commit().await?;
    let (role, bypasses_rls, owns_tables, has_app_role, statement_timeout, idle) = row;
    Ok(RoleCheck {
        role,
        bypasses_rls,
        owns_tables,
        has_app_role,
        statement_timeout,
        idle_in_transaction_timeout: idle,
    })
}

/// A pool with the login role's own rights, for migrations and replays (which create tables).
pub async fn owner_pool(config: &DbConfig) -> Result<PgPool, sqlx::Error> {
    PgPoolOptions::new()
        .max_connections(4)
        .acquire_timeout(Duration::from_secs(10))
        .connect_with(config.connect_options()?)
        .await
}

pub async fn migrate(owner: &PgPool) -> Result<(), MigrateError> {
    MIGRATOR.run(owner).await
}

fn set_role_statement(role: &str) -> Result<String, sqlx::Error> {
    let valid = role.starts_with(|c: char| c.is_ascii_lowercase() || c == '_')
        && role
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if !valid {
        return Err(sqlx::Error::Configuration(
            format!("database role {role:?} must match [a-z_][a-z0-9_]*").into(),
        ));
    }
    Ok(format!("SET ROLE {role}"))
}
