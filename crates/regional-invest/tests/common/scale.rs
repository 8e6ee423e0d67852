//! A scaled-out deployment on one machine for `tests/scale_out.rs`: a NATS JetStream cluster of
//! Debian's nats-server, `regional-invest serve` replicas and Debian's haproxy in front of them,
//! each a child process of the test on free ports, in a scratch directory of the test's own.
//! Every child is killed when dropped, so also when the test panics or times out; the scratch
//! directory (configurations, store directories, the children's logs) is kept after a panic.

use std::fs::File;

use futures_util::StreamExt;
use regional_invest::startup::log_head;
use ri_eventstore::Checkpoint;
use sqlx::{AssertSqlSafe, PgPool};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// A port free a moment ago.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A directory of the test's own, removed when dropped unless the test is failing (or
/// `TEST_KEEP_SCRATCH` is set): then its path is printed and it stays, with every child's log.
pub struct Scratch {
    pub path: PathBuf,
}

impl Scratch {
    pub fn new(prefix: &str) -> Self {
        let path = std::env::temp_dir().join(format!("{prefix}-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&path).unwrap();
        Self { path }
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        if std::thread::panicking() || std::env::var_os("TEST_KEEP_SCRATCH").is_some() {
            eprintln!("logs and configurations kept in {}", self.path.display());
        } else {
            let _ = std::fs::remove_dir_all(&self.path);
        }
    }
}

/// A child process, its output in `<dir>/<name>.log`; SIGKILLed when dropped.
pub struct Proc {
    pub name: String,
    child: Child,
}

impl Proc {
    pub fn spawn(name: &str, command: &mut Command, dir: &Path) -> Self {
        let log = File::create(dir.join(format!("{name}.log"))).unwrap();
        let child = command
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| panic!("start {name}: {e}"));
        Self {
            name: name.to_owned(),
            child,
        }
    }

    /// SIGKILL, as a crash or the kernel's OOM killer would; waits for the process to go.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// SIGTERM, as Kubernetes sends before a pod goes: the process drains, then exits.
    pub fn terminate(&self) {
        let sent = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(sent.success(), "kill -TERM {}", self.name);
    }

    /// The exit status, once the process has exited.
    pub fn exited(&mut self) -> Option<ExitStatus> {
        self.child.try_wait().unwrap()
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Waits until something listens on `port`, or panics naming `what`.
fn wait_listening(port: u16, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "{what} did not listen on {port}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// One server of the NATS cluster.
pub struct NatsNode {
    pub proc: Proc,
    pub server_name: String,
    pub port: u16,
}

impl NatsNode {
    pub fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }
}

/// `n` nats-server processes routed to each other, JetStream on, each with its store directory.
pub struct NatsCluster {
    pub nodes: Vec<NatsNode>,
}

impl NatsCluster {
    /// Starts the servers. Debian's nats-server is 2.9.10, which has no `sync_interval` (2.10
    /// added it): its store is written to the kernel at each message and fsynced every two
    /// minutes, which a SIGKILL of the process does not lose (a power cut could).
    pub fn start(dir: &Path, n: usize) -> Self {
        let binary = ["/usr/sbin/nats-server", "/usr/bin/nats-server"]
            .into_iter()
            .find(|p| Path::new(p).exists())
            .expect("nats-server is not installed: run deploy/local/services.sh");
        let ports: Vec<(u16, u16)> = (0..n).map(|_| (free_port(), free_port())).collect();
        let routes = ports
            .iter()
            .map(|(_, route)| format!("\"nats-route://127.0.0.1:{route}\""))
            .collect::<Vec<_>>()
            .join(", ");
        let nodes = ports
            .iter()
            .enumerate()
            .map(|(i, (port, route))| {
                let server_name = format!("n{i}");
                let store = dir.join(format!("{server_name}-store"));
                let config = dir.join(format!("{server_name}.conf"));
                std::fs::write(
                    &config,
                    format!(
                        "server_name: {server_name}\n\
                         listen: \"127.0.0.1:{port}\"\n\
                         jetstream {{\n  store_dir: \"{store}\"\n  max_memory_store: 64MB\n  \
                         max_file_store: 256MB\n}}\n\
                         cluster {{\n  name: ri-scale\n  listen: \"127.0.0.1:{route}\"\n  \
                         routes: [{routes}]\n}}\n",
                        store = store.display()
                    ),
                )
                .unwrap();
                let proc = Proc::spawn(
                    &format!("nats-{server_name}"),
                    Command::new(binary).arg("-c").arg(&config),
                    dir,
                );
                NatsNode {
                    proc,
                    server_name,
                    port: *port,
                }
            })
            .collect::<Vec<_>>();
        for node in &nodes {
            wait_listening(node.port, &node.proc.name);
        }
        Self { nodes }
    }

    /// Every server's URL, comma-separated, as `NATS_URL` takes them.
    pub fn urls(&self) -> String {
        self.nodes
            .iter()
            .map(NatsNode::url)
            .collect::<Vec<_>>()
            .join(",")
    }

    /// A JetStream context once the cluster has elected its meta leader (the stream list
    /// answers only then; async-nats 0.51 cannot read 2.9's account information), through the
    /// servers at `urls`.
    pub async fn jetstream(urls: &str) -> async_nats::jetstream::Context {
        let urls: Vec<&str> = urls.split(',').collect();
        let client = async_nats::ConnectOptions::new()
            .retry_on_initial_connect()
            .connect(urls)
            .await
            .unwrap();
        let jetstream = async_nats::jetstream::new(client);
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            match jetstream.stream_names().next().await {
                None | Some(Ok(_)) => return jetstream,
                Some(Err(e)) => assert!(Instant::now() < deadline, "JetStream never ready: {e}"),
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

/// A `regional-invest serve` process.
pub struct Replica {
    pub proc: Proc,
    pub port: u16,
}

impl Replica {
    /// Starts `serve --no-migrate` on a free port with `env` (the `RI_*` configuration).
    pub fn start(name: &str, env: &[(&str, String)], dir: &Path) -> Self {
        let port = free_port();
        let mut command = Command::new(env!("CARGO_BIN_EXE_regional-invest"));
        command
            .args(["serve", "--no-migrate"])
            .env("RI_LISTEN", format!("127.0.0.1:{port}"))
            .env("RUST_LOG", "warn");
        for (key, value) in env {
            command.env(key, value);
        }
        Self {
            proc: Proc::spawn(name, &mut command, dir),
            port,
        }
    }

    pub fn base(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// `/readyz`'s status; `None` while nothing answers.
    pub async fn readyz(&self, http: &reqwest::Client) -> Option<u16> {
        let response = http
            .get(format!("{}/readyz", self.base()))
            .send()
            .await
            .ok()?;
        Some(response.status().as_u16())
    }

    /// What this process leads, from its own `/metrics`: the projections whose
    /// `ri_projection_leader` is 1, and `relay` when `ri_relay_leader` is. Empty when it does
    /// not answer.
    pub async fn leads(&self, http: &reqwest::Client) -> Vec<String> {
        let Ok(response) = http.get(format!("{}/metrics", self.base())).send().await else {
            return Vec::new();
        };
        let text = response.text().await.unwrap_or_default();
        let mut leads: Vec<String> = text
            .lines()
            .filter_map(|line| {
                let rest = line.strip_prefix("ri_projection_leader{projection=\"")?;
                let (name, value) = rest.split_once("\"} ")?;
                (value.trim() == "1").then(|| name.to_owned())
            })
            .collect();
        if text.lines().any(|line| line.trim() == "ri_relay_leader 1") {
            leads.push("relay".to_owned());
        }
        leads.sort();
        leads
    }
}

/// One server line of haproxy's statistics.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerStats {
    pub name: String,
    /// `UP`, `DOWN`, `UP 1/2` (going down), `DOWN 1/2` (coming up), ...
    pub status: String,
    /// Sessions haproxy sent to it so far (`stot`: in HTTP mode one per request).
    pub sessions: u64,
}

/// Debian's haproxy in the foreground, balancing `servers` round robin, each checked with
/// `GET /readyz` every 200 ms (down after 2 failures, up after 2 successes; a check may take
/// 2 s, so that a replica slowed by a busy machine is not taken for a dead one). A connection
/// that fails is retried on another server; a request already sent is not (it may have been a
/// write).
pub struct Haproxy {
    pub proc: Proc,
    pub port: u16,
    stats_port: u16,
}

impl Haproxy {
    pub fn start(dir: &Path, servers: &[(&str, u16)]) -> Self {
        let binary = ["/usr/sbin/haproxy", "/usr/bin/haproxy"]
            .into_iter()
            .find(|p| Path::new(p).exists())
            .expect("haproxy is not installed: run deploy/local/test.sh");
        let (port, stats_port) = (free_port(), free_port());
        let lines = servers
            .iter()
            .map(|(name, port)| format!("  server {name} 127.0.0.1:{port} check\n"))
            .collect::<String>();
        let config = dir.join("haproxy.cfg");
        std::fs::write(
            &config,
            format!(
                "global\n  maxconn 512\n\
                 defaults\n  mode http\n  timeout connect 1s\n  timeout check 2s\n  \
                 timeout client 30s\n  timeout server 30s\n  timeout tunnel 60s\n  retries 3\n  option redispatch 1\n\
                 frontend api\n  bind 127.0.0.1:{port}\n  default_backend replicas\n\
                 backend replicas\n  balance roundrobin\n  option httpchk GET /readyz\n  \
                 http-check expect status 200\n  default-server inter 200ms fall 2 rise 2\n\
                 {lines}\
                 listen stats\n  bind 127.0.0.1:{stats_port}\n  stats enable\n  \
                 stats uri /stats\n"
            ),
        )
        .unwrap();
        // `-db`: foreground, no daemon; a child of the test like the others.
        let proc = Proc::spawn(
            "haproxy",
            Command::new(binary).arg("-db").arg("-f").arg(&config),
            dir,
        );
        wait_listening(port, "haproxy");
        Self {
            proc,
            port,
            stats_port,
        }
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}/graphql", self.port)
    }

    pub fn ws_url(&self) -> String {
        format!("ws://127.0.0.1:{}/graphql", self.port)
    }

    /// The backend's servers as haproxy sees them (its CSV statistics).
    pub async fn servers(&self, http: &reqwest::Client) -> Vec<ServerStats> {
        let csv = http
            .get(format!("http://127.0.0.1:{}/stats;csv", self.stats_port))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let mut lines = csv.lines();
        let header: Vec<&str> = lines
            .next()
            .unwrap()
            .trim_start_matches("# ")
            .split(',')
            .collect();
        let column = |name: &str| header.iter().position(|h| *h == name).unwrap();
        let (px, sv, status, stot) = (
            column("pxname"),
            column("svname"),
            column("status"),
            column("stot"),
        );
        lines
            .map(|line| line.split(',').collect::<Vec<_>>())
            .filter(|f| f[px] == "replicas" && f[sv] != "BACKEND" && f[sv] != "FRONTEND")
            .map(|f| ServerStats {
                name: f[sv].to_owned(),
                status: f[status].to_owned(),
                sessions: f[stot].parse().unwrap(),
            })
            .collect()
    }

    /// The statistics of server `name`.
    pub async fn server(&self, http: &reqwest::Client, name: &str) -> ServerStats {
        self.servers(http)
            .await
            .into_iter()
            .find(|s| s.name == name)
            .unwrap()
    }

    /// Waits until haproxy reports `name` with `status` (`UP` or `DOWN`); returns how long that
    /// took.
    pub async fn wait_for(&self, http: &reqwest::Client, name: &str, status: &str) -> Duration {
        let started = Instant::now();
        let deadline = started + Duration::from_secs(30);
        loop {
            let server = self.server(http, name).await;
            if server.status == status {
                return started.elapsed();
            }
            assert!(
                Instant::now() < deadline,
                "{name} never {status}: {server:?}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

/// Every projection's name, and the relay's checkpoint name.
pub fn readers() -> Vec<String> {
    let mut readers: Vec<String> = ri_projections::all()
        .iter()
        .map(|p| p.name().to_owned())
        .collect();
    readers.push(ri_relay::READER.to_owned());
    readers.sort();
    readers
}

/// One projection's tables, each as its rows' text in order.
pub async fn dump(owner: &PgPool, tables: &[&str]) -> Vec<String> {
    let mut dumps = Vec::new();
    for table in tables {
        dumps.push(
            sqlx::query_scalar(AssertSqlSafe(format!(
                "SELECT coalesce(string_agg(t::text, E'\\n' ORDER BY t::text), '') FROM {table} t"
            )))
            .fetch_one(owner)
            .await
            .unwrap(),
        );
    }
    dumps
}

/// Waits until every reader's checkpoint is at the log's head.
pub async fn wait_caught_up(owner: &PgPool) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let head = log_head(owner).await.unwrap().unwrap();
        let mut behind = Vec::new();
        for reader in readers() {
            let at = Checkpoint::load(owner, &reader).await.unwrap();
            if at < head {
                behind.push((reader, at));
            }
        }
        if behind.is_empty() {
            return;
        }
        assert!(Instant::now() < deadline, "behind {head:?}: {behind:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Waits until the relay's checkpoint is at `head` or past it.
pub async fn wait_relay_past(owner: &PgPool, head: Checkpoint) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while Checkpoint::load(owner, ri_relay::READER).await.unwrap() < head {
        assert!(
            Instant::now() < deadline,
            "the relay never reached {head:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The copies JetStream dropped for the relays of `replicas` (`ri_relay_duplicates_total`).
pub async fn duplicates_dropped(
    http: &reqwest::Client,
    all: &[Replica],
    replicas: &[usize],
) -> u64 {
    let mut dropped = 0;
    for i in replicas {
        let url = format!("{}/metrics", all[*i].base());
        let metrics = http.get(url).send().await.unwrap().text().await.unwrap();
        dropped += metrics
            .lines()
            .find_map(|l| l.strip_prefix("ri_relay_duplicates_total "))
            .map_or(0, |n| n.trim().parse::<u64>().unwrap());
    }
    dropped
}
