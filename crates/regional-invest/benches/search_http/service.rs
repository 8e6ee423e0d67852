//! A `serve` process of the real binary, started against a database, polled until ready, and
//! killed at the end; its memory and CPU read from `/proc`.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// How long a service may take to become ready (a million instruments take about half a minute
/// on a quiet machine; the shared one is not quiet).
const READY_WITHIN: Duration = Duration::from_secs(900);

/// A running `regional-invest serve`.
pub(crate) struct Service {
    child: Child,
    pub(crate) addr: SocketAddr,
    /// When the process was spawned.
    pub(crate) spawned: Instant,
    /// From spawn to the first `/readyz` 200.
    pub(crate) ready_after: Duration,
    deployment: String,
    log: PathBuf,
}

/// Peak and current resident memory, in bytes.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Memory {
    pub(crate) hwm: u64,
    pub(crate) rss: u64,
}

impl Service {
    /// Starts `serve` on `database_url` (a migrated database), with the search index or
    /// without (`RI_SEARCH_INDEX=false`: every search reads PostgreSQL), and waits until
    /// `/readyz` answers 200.
    pub(crate) async fn start(database_url: &str, index: bool, http: &reqwest::Client) -> Service {
        let mut service = Service::spawn(database_url, index);
        service.ready_after = service.wait_until_ready(http).await;
        service
    }

    /// Starts `serve` and returns at once.
    pub(crate) fn spawn(database_url: &str, index: bool) -> Service {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        // Unique per process: the services share the NATS server with everyone's tests.
        let deployment = format!("bench-{}", &uuid::Uuid::new_v4().simple().to_string()[..12]);
        let log = std::env::temp_dir().join(format!("ri-{deployment}.log"));
        let out = std::fs::File::create(&log).expect("the service's log file");
        let err = out.try_clone().expect("the service's log file");
        let mut command = Command::new(env!("CARGO_BIN_EXE_regional-invest"));
        // The service refuses unknown `RI_` settings (this bench's `RI_BENCH_*` among them).
        for (name, _) in std::env::vars_os() {
            if name.to_string_lossy().starts_with("RI_") {
                command.env_remove(name);
            }
        }
        command
            .arg("serve")
            .env("RI_CONFIG", "/dev/null")
            .env("DATABASE_URL", database_url)
            .env_remove("NATS_URL")
            .env("RI_LISTEN", addr.to_string())
            .env("RI_DEPLOYMENT", &deployment)
            .env("RI_DB_MAX_CONNECTIONS", "4")
            .env("RI_SEARCH_INDEX", index.to_string())
            .env("RI_DRAIN_DELAY_MS", "0")
            .env("RUST_LOG", "warn")
            .env("OTEL_SDK_DISABLED", "true")
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err);
        let spawned = Instant::now();
        let child = command.spawn().expect("start regional-invest serve");
        Service {
            child,
            addr,
            spawned,
            ready_after: Duration::ZERO,
            deployment,
            log,
        }
    }

    pub(crate) fn graphql_url(&self) -> String {
        format!("http://{}/graphql", self.addr)
    }

    /// Polls `/readyz` every 10 ms; the time from spawn to its first 200.
    pub(crate) async fn wait_until_ready(&mut self, http: &reqwest::Client) -> Duration {
        let url = format!("http://{}/readyz", self.addr);
        loop {
            if let Ok(r) = http.get(&url).send().await
                && r.status() == reqwest::StatusCode::OK
            {
                return self.spawned.elapsed();
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!(
                    "the service exited ({status}) before it was ready; see {}",
                    self.log.display()
                );
            }
            assert!(
                self.spawned.elapsed() < READY_WITHIN,
                "the service was not ready within {READY_WITHIN:?}; see {}",
                self.log.display()
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// Polls `/metrics` until the index holds `documents` documents: with an empty log,
    /// `/readyz` does not wait for the index's initial load. The time from spawn.
    pub(crate) async fn wait_for_index(&self, http: &reqwest::Client, documents: i64) -> Duration {
        let url = format!("http://{}/metrics", self.addr);
        loop {
            if let Ok(r) = http.get(&url).send().await
                && let Ok(text) = r.text().await
                && text
                    .lines()
                    .filter_map(|l| l.strip_prefix("ri_search_index_documents "))
                    .any(|v| v.trim().parse::<f64>().ok() == Some(documents as f64))
            {
                return self.spawned.elapsed();
            }
            assert!(
                self.spawned.elapsed() < READY_WITHIN,
                "the index did not load"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    pub(crate) fn pid(&self) -> u32 {
        self.child.id()
    }

    /// `VmHWM` and `VmRSS` from `/proc/<pid>/status`.
    pub(crate) fn memory(&self) -> Memory {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid()))
            .expect("the service's /proc status");
        let field = |name: &str| {
            status
                .lines()
                .find_map(|l| l.strip_prefix(name))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
                .map_or(0, |kb| kb * 1024)
        };
        Memory {
            hwm: field("VmHWM:"),
            rss: field("VmRSS:"),
        }
    }

    /// Kills the process (SIGKILL: nothing of it is needed after a measurement), waits for it,
    /// deletes its NATS streams and its log file.
    pub(crate) async fn stop(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        delete_streams(&self.deployment).await;
        let _ = std::fs::remove_file(&self.log);
    }
}

impl Drop for Service {
    /// A panicking bench must not leave services running.
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// User + system CPU of the process whose `stat` file this is (fields 14 and 15, in clock
/// ticks of `getconf CLK_TCK`, 100 on Linux).
pub(crate) fn process_cpu(stat_path: &str) -> Duration {
    let stat = std::fs::read_to_string(stat_path).unwrap_or_default();
    // The command name (field 2) may hold spaces; fields after it follow the last ')'.
    let after = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    let fields: Vec<&str> = after.split_whitespace().collect();
    let ticks = |i: usize| fields.get(i).and_then(|v| v.parse::<u64>().ok());
    // `after` starts at field 3 (state): utime is field 14, stime 15.
    let total = ticks(11).unwrap_or(0) + ticks(12).unwrap_or(0);
    Duration::from_millis(total * 10)
}

/// Busy and total jiffies of the whole machine (`/proc/stat`'s `cpu` line).
pub(crate) fn machine_jiffies() -> (u64, u64) {
    let stat = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    let line = stat.lines().next().unwrap_or("");
    let values: Vec<u64> = line
        .split_whitespace()
        .skip(1)
        .filter_map(|v| v.parse().ok())
        .collect();
    let total: u64 = values.iter().take(8).sum();
    // idle and iowait
    let idle = values.get(3).copied().unwrap_or(0) + values.get(4).copied().unwrap_or(0);
    (total.saturating_sub(idle), total)
}

/// Deletes the deployment's JetStream streams (best effort).
async fn delete_streams(deployment: &str) {
    let Ok(deployment) = ri_relay::Deployment::parse(deployment) else {
        return;
    };
    let Ok(nats) = async_nats::connect("nats://127.0.0.1:4222").await else {
        return;
    };
    let jetstream = async_nats::jetstream::new(nats);
    for stream in [deployment.event_stream(), deployment.notification_stream()] {
        let _ = jetstream.delete_stream(&stream).await;
    }
}

/// `uptime`'s output, for the record of how loaded the machine was.
pub(crate) fn uptime() -> String {
    Command::new("uptime")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_else(|e| format!("(uptime: {e})"))
}
