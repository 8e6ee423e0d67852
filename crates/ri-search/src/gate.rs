//! At most N searches run at once; callers beyond wait their turn, first come first served.
//!
//! A search is a few hundred microseconds of pure CPU. With more runnable searches than cores,
//! the kernel preempts them mid-way and a preempted one waits out other threads' time slices
//! (milliseconds), which is what the slowest calls are made of. Waiting in line instead, a
//! caller is served after the searches ahead of it: its latency is their CPU time, not the
//! scheduler's slices.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::Thread;

#[derive(Debug)]
pub(crate) struct Gate {
    permits: usize,
    line: Mutex<Line>,
}

#[derive(Debug, Default)]
struct Line {
    running: usize,
    /// Callers waiting, first first; each is woken alone, handed the permit of the search
    /// that ended.
    waiting: VecDeque<(Arc<AtomicBool>, Thread)>,
}

/// A caller's place while its search runs; lets the next one in when dropped.
#[derive(Debug)]
pub(crate) struct Pass<'a> {
    gate: &'a Gate,
}

impl Gate {
    pub(crate) fn new(permits: usize) -> Self {
        Self {
            permits: permits.max(1),
            line: Mutex::new(Line::default()),
        }
    }

    pub(crate) fn enter(&self) -> Pass<'_> {
        // The line holds only counters and handles: a panic elsewhere cannot leave it
        // inconsistent.
        let mut line = self.line.lock().unwrap_or_else(PoisonError::into_inner);
        if line.running < self.permits && line.waiting.is_empty() {
            line.running += 1;
            return Pass { gate: self };
        }
        let admitted = Arc::new(AtomicBool::new(false));
        line.waiting
            .push_back((Arc::clone(&admitted), std::thread::current()));
        drop(line);
        while !admitted.load(Ordering::Acquire) {
            std::thread::park();
        }
        Pass { gate: self }
    }
}

impl Drop for Pass<'_> {
    fn drop(&mut self) {
        let mut line = self
            .gate
            .line
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        match line.waiting.pop_front() {
            Some((admitted, thread)) => {
                drop(line);
                admitted.store(true, Ordering::Release);
                thread.unpark();
            }
            None => line.running = line.running.saturating_sub(1),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    #[test]
    fn no_more_than_the_permits_run_at_once() {
        let gate = Gate::new(2);
        let running = AtomicUsize::new(0);
        let most = AtomicUsize::new(0);
        std::thread::scope(|s| {
            for _ in 0..8 {
                s.spawn(|| {
                    for _ in 0..200 {
                        let _pass = gate.enter();
                        let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                        most.fetch_max(now, Ordering::SeqCst);
                        std::thread::yield_now();
                        running.fetch_sub(1, Ordering::SeqCst);
                    }
                });
            }
        });
        assert_eq!(most.load(Ordering::SeqCst), 2);
    }
}
