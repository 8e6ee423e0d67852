//! A PgBouncer of the test's own (Debian's package, installed by deploy/local/services.sh) in
//! transaction mode in front of the shared PostgreSQL, on a free port, and the login role the
//! service uses through it.

use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The login role requests use through the pooler: a member of `ri_app` that owns nothing,
/// with the service's timeouts as its own settings (the pooler passes no startup options).
pub const POOLED_ROLE: &str = "ri_test_pooled";

/// Server connections per database and user: fewer than the service's pool, so the service's
/// connections share them transaction by transaction.
pub const SERVER_POOL_SIZE: u32 = 3;

pub struct PgBouncer {
    child: Child,
    pub port: u16,
    dir: PathBuf,
}

impl PgBouncer {
    /// Starts PgBouncer in transaction mode in front of the PostgreSQL of `database_url` (its
    /// host is 127.0.0.1) and waits until it listens. As root it runs as `postgres` (it
    /// refuses to run as root).
    pub fn start(database_url: &str) -> Self {
        let upstream = database_url
            .split('@')
            .nth(1)
            .and_then(|rest| rest.split('/').next())
            .and_then(|host| host.rsplit(':').next())
            .and_then(|port| port.parse::<u16>().ok())
            .unwrap_or(5432);
        let binary = ["/usr/sbin/pgbouncer", "/usr/bin/pgbouncer"]
            .into_iter()
            .find(|p| std::path::Path::new(p).exists())
            .expect("pgbouncer is not installed: run deploy/local/services.sh");
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let dir = std::env::temp_dir().join(format!("ri-pgbouncer-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        let users = dir.join("users.txt");
        std::fs::write(
            &users,
            format!("\"postgres\" \"\"\n\"{POOLED_ROLE}\" \"\"\n"),
        )
        .unwrap();
        let ini = dir.join("pgbouncer.ini");
        std::fs::write(
            &ini,
            format!(
                "[databases]\n\
                 * = host=127.0.0.1 port={upstream}\n\
                 [pgbouncer]\n\
                 listen_addr = 127.0.0.1\n\
                 listen_port = {port}\n\
                 unix_socket_dir =\n\
                 auth_type = trust\n\
                 auth_file = {users}\n\
                 pool_mode = transaction\n\
                 default_pool_size = {SERVER_POOL_SIZE}\n\
                 max_client_conn = 200\n\
                 server_reset_query = DEALLOCATE ALL\n\
                 server_reset_query_always = 1\n\
                 ignore_startup_parameters = extra_float_digits\n\
                 logfile =\n\
                 pidfile =\n",
                users = users.display()
            ),
        )
        .unwrap();
        let mut command = Command::new(binary);
        if is_root() {
            command.args(["-u", "postgres"]);
        }
        let child = command
            .arg(&ini)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let bouncer = Self { child, port, dir };
        let deadline = Instant::now() + Duration::from_secs(15);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "pgbouncer did not listen on {port}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        bouncer
    }

    /// The URL of `database_url`'s database through this pooler, as `user`.
    pub fn url(&self, database_url: &str, user: &str) -> String {
        let database = database_url.rsplit('/').next().unwrap();
        format!("postgres://{user}@127.0.0.1:{}/{database}", self.port)
    }
}

impl Drop for PgBouncer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

/// Creates [`POOLED_ROLE`] when missing (roles are the cluster's, shared by every test).
/// `ri_app` must exist: migrate a database first.
pub async fn ensure_pooled_role(owner: &sqlx::PgPool) {
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
        "DO $$ BEGIN \
           IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{POOLED_ROLE}') THEN \
             CREATE ROLE {POOLED_ROLE} LOGIN IN ROLE ri_app; \
             ALTER ROLE {POOLED_ROLE} SET statement_timeout = '30s'; \
             ALTER ROLE {POOLED_ROLE} SET idle_in_transaction_session_timeout = '60s'; \
           END IF; \
         EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; \
         END $$"
    )))
    .execute(owner)
    .await
    .unwrap();
}
