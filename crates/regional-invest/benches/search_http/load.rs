//! Closed-loop load: `tasks` callers each sending the next call when the last one is answered,
//! every call timed; and the CPU the server, this process and the whole machine used meanwhile.

use std::future::Future;
use std::time::{Duration, Instant};

use crate::service::{machine_jiffies, process_cpu};

/// One measurement.
#[derive(Debug)]
pub(crate) struct Run {
    pub(crate) calls: usize,
    pub(crate) elapsed: Duration,
    pub(crate) p50: Duration,
    pub(crate) p99: Duration,
    pub(crate) p999: Duration,
    /// CPU of the server process (the service; `None` for the SQL baseline, whose server is
    /// PostgreSQL's backends) per call.
    pub(crate) server_cpu: Option<Duration>,
    /// CPU of this process (the callers: HTTP client, or sqlx for the baseline) per call.
    pub(crate) client_cpu: Duration,
    /// Share of the machine's CPU (all cores) busy during the run, everyone's work included.
    pub(crate) machine_busy: f64,
}

impl Run {
    pub(crate) fn rate(&self) -> f64 {
        self.calls as f64 / self.elapsed.as_secs_f64()
    }
}

/// The nearest-rank percentile of sorted durations.
fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = (p * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// Runs `op` from `tasks` tasks in a loop: 1 s of warm-up, then `seconds` measured.
/// `server_pid`: the process whose CPU is accounted as the server's.
pub(crate) async fn measure<F, Fut>(
    tasks: usize,
    seconds: u64,
    server_pid: Option<u32>,
    op: F,
) -> Run
where
    F: Fn() -> Fut + Clone + Send + 'static,
    Fut: Future<Output = ()> + Send,
{
    loop_for(tasks, Duration::from_secs(1), op.clone()).await;
    let server_stat = server_pid.map(|pid| format!("/proc/{pid}/stat"));
    let server_before = server_stat.as_deref().map(process_cpu);
    let client_before = process_cpu("/proc/self/stat");
    let machine_before = machine_jiffies();
    let started = Instant::now();
    let mut durations = loop_for(tasks, Duration::from_secs(seconds), op).await;
    let elapsed = started.elapsed();
    let machine_after = machine_jiffies();
    let client = process_cpu("/proc/self/stat").saturating_sub(client_before);
    let server = server_stat
        .as_deref()
        .map(process_cpu)
        .zip(server_before)
        .map(|(after, before)| after.saturating_sub(before));
    durations.sort_unstable();
    let calls = durations.len().max(1) as u32;
    let busy = machine_after.0.saturating_sub(machine_before.0) as f64;
    let total = machine_after.1.saturating_sub(machine_before.1).max(1) as f64;
    Run {
        calls: durations.len(),
        elapsed,
        p50: percentile(&durations, 0.50),
        p99: percentile(&durations, 0.99),
        p999: percentile(&durations, 0.999),
        server_cpu: server.map(|s| s / calls),
        client_cpu: client / calls,
        machine_busy: busy / total,
    }
}

async fn loop_for<F, Fut>(tasks: usize, length: Duration, op: F) -> Vec<Duration>
where
    F: Fn() -> Fut + Clone + Send + 'static,
    Fut: Future<Output = ()> + Send,
{
    let until = Instant::now() + length;
    let handles: Vec<_> = (0..tasks)
        .map(|_| {
            let op = op.clone();
            tokio::spawn(async move {
                let mut durations = Vec::new();
                while Instant::now() < until {
                    let started = Instant::now();
                    op().await;
                    durations.push(started.elapsed());
                }
                durations
            })
        })
        .collect();
    let mut all = Vec::new();
    for h in handles {
        all.extend(h.await.expect("a caller panicked"));
    }
    all
}
