//! The closed-loop driver. Each worker owns one client (one connection) and runs its
//! operation back to back: a new request goes out only when the previous one answered.
//! A run is bounded by time (warm-up, then a measured window) and by a total count, and
//! every operation by a timeout, so a stuck server ends a run instead of hanging it.
//!
//! Latencies of the successful operations that started after the warm-up and ended
//! inside the window are kept in a `Vec` (bounded by the run) and sorted once.

use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How long one operation may take before it counts as an error.
const OP_TIMEOUT: Duration = Duration::from_secs(10);
/// How often a running point prints a progress line.
const PROGRESS_EVERY: Duration = Duration::from_secs(5);
/// How many distinct error messages a run keeps for the report.
const KEPT_ERRORS: usize = 5;

/// One client's operation; a worker calls it back to back.
pub trait Op: Send + 'static {
    /// Runs operation number `seq`, unique across all workers of one run.
    fn run(&mut self, seq: u64) -> impl Future<Output = Result<(), String>> + Send + '_;
}

/// The bounds of one run.
#[derive(Clone, Copy, Debug)]
pub struct Budget {
    /// Operations in this first stretch are not measured.
    pub warmup: Duration,
    /// The measured window; no operation starts after it.
    pub measure: Duration,
    /// No more than this many operations start in the whole run.
    pub max_ops: u64,
}

impl Budget {
    /// A fixed-duration point: `measure` after `warmup`.
    pub fn timed(warmup: Duration, measure: Duration) -> Self {
        Budget {
            warmup,
            measure,
            max_ops: u64::MAX,
        }
    }

    /// A fixed count of operations, with no warm-up, given up after `limit`.
    pub fn count(n: u64, limit: Duration) -> Self {
        Budget {
            warmup: Duration::ZERO,
            measure: limit,
            max_ops: n,
        }
    }
}

/// What one run measured.
#[derive(Debug, Default)]
pub struct Stats {
    /// Successful operations over the whole run, warm-up included.
    pub succeeded: u64,
    /// Failed operations over the whole run.
    pub errors: u64,
    /// The measured window (shorter than asked when the count ran out first).
    pub window: Duration,
    /// Latencies in µs of the measured successful operations, sorted.
    pub latencies_us: Vec<u32>,
    /// The first few distinct error messages.
    pub first_errors: Vec<String>,
}

impl Stats {
    /// Measured successful operations per second.
    pub fn ops_per_sec(&self) -> Option<f64> {
        let secs = self.window.as_secs_f64();
        (secs > 0.0 && !self.latencies_us.is_empty()).then(|| self.latencies_us.len() as f64 / secs)
    }

    /// The latency at quantile `q` (0..=1), in milliseconds.
    pub fn quantile_ms(&self, q: f64) -> Option<f64> {
        let n = self.latencies_us.len();
        if n == 0 {
            return None;
        }
        let i = ((n as f64 * q) as usize).min(n - 1);
        Some(f64::from(self.latencies_us[i]) / 1000.0)
    }

    /// One line for the progress log.
    pub fn summary(&self) -> String {
        let f = |v: Option<f64>, d: usize| v.map_or("-".into(), |v| format!("{v:.d$}"));
        format!(
            "{} ok in window, {}/s, p50 {} ms, p99 {} ms, {} errors",
            self.latencies_us.len(),
            f(self.ops_per_sec(), 0),
            f(self.quantile_ms(0.50), 2),
            f(self.quantile_ms(0.99), 2),
            self.errors
        )
    }
}

#[derive(Default)]
struct Shared {
    next_seq: AtomicU64,
    succeeded: AtomicU64,
    errors: AtomicU64,
    first_errors: Mutex<Vec<String>>,
}

impl Shared {
    fn note_error(&self, e: String) {
        self.errors.fetch_add(1, Ordering::Relaxed);
        let mut kept = self.first_errors.lock().unwrap_or_else(|p| p.into_inner());
        if kept.len() < KEPT_ERRORS && !kept.contains(&e) {
            kept.push(e);
        }
    }
}

/// Runs one worker per element of `ops` within `budget`; prints progress under `label`.
pub async fn run<O: Op>(label: &str, ops: Vec<O>, budget: Budget) -> Stats {
    let shared = Arc::new(Shared::default());
    let start = Instant::now();
    let measure_from = start + budget.warmup;
    let end = measure_from + budget.measure;
    eprintln!("{label}: {} clients ...", ops.len());
    let workers: Vec<_> = ops
        .into_iter()
        .map(|op| {
            tokio::spawn(worker(
                op,
                shared.clone(),
                measure_from,
                end,
                budget.max_ops,
            ))
        })
        .collect();
    let progress = tokio::spawn(progress(label.to_string(), shared.clone(), start));
    let mut latencies_us = Vec::new();
    for w in workers {
        match w.await {
            Ok(mut l) => latencies_us.append(&mut l),
            Err(e) => shared.note_error(format!("worker failed: {e}")),
        }
    }
    progress.abort();
    latencies_us.sort_unstable();
    let finished = Instant::now().min(end);
    let first_errors = std::mem::take(
        &mut *shared
            .first_errors
            .lock()
            .unwrap_or_else(|p| p.into_inner()),
    );
    let stats = Stats {
        succeeded: shared.succeeded.load(Ordering::Relaxed),
        errors: shared.errors.load(Ordering::Relaxed),
        window: finished.saturating_duration_since(measure_from),
        latencies_us,
        first_errors,
    };
    eprintln!(
        "{label}: {:.1}s, {}",
        start.elapsed().as_secs_f64(),
        stats.summary()
    );
    for e in &stats.first_errors {
        eprintln!("{label}: error: {e}");
    }
    stats
}

async fn worker<O: Op>(
    mut op: O,
    shared: Arc<Shared>,
    measure_from: Instant,
    end: Instant,
    max_ops: u64,
) -> Vec<u32> {
    let mut latencies = Vec::new();
    loop {
        let t0 = Instant::now();
        if t0 >= end {
            break;
        }
        let seq = shared.next_seq.fetch_add(1, Ordering::Relaxed);
        if seq >= max_ops {
            break;
        }
        let result = match tokio::time::timeout(OP_TIMEOUT, op.run(seq)).await {
            Ok(r) => r,
            Err(_) => Err(format!("no answer within {} s", OP_TIMEOUT.as_secs())),
        };
        let t1 = Instant::now();
        match result {
            Ok(()) => {
                shared.succeeded.fetch_add(1, Ordering::Relaxed);
                if t0 >= measure_from && t1 <= end {
                    latencies.push(u32::try_from((t1 - t0).as_micros()).unwrap_or(u32::MAX));
                }
            }
            Err(e) => shared.note_error(e),
        }
    }
    latencies
}

async fn progress(label: String, shared: Arc<Shared>, start: Instant) {
    let mut tick =
        tokio::time::interval_at(tokio::time::Instant::now() + PROGRESS_EVERY, PROGRESS_EVERY);
    loop {
        tick.tick().await;
        eprintln!(
            "{label}: {:.0}s, {} ok, {} errors",
            start.elapsed().as_secs_f64(),
            shared.succeeded.load(Ordering::Relaxed),
            shared.errors.load(Ordering::Relaxed)
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Sleep;
    impl Op for Sleep {
        async fn run(&mut self, seq: u64) -> Result<(), String> {
            tokio::time::sleep(Duration::from_millis(1)).await;
            if seq % 10 == 9 {
                Err("every tenth fails".into())
            } else {
                Ok(())
            }
        }
    }

    #[tokio::test]
    async fn a_count_budget_stops_at_the_count() {
        let stats = run(
            "test",
            vec![Sleep, Sleep],
            Budget::count(50, Duration::from_secs(10)),
        )
        .await;
        assert_eq!(stats.succeeded + stats.errors, 50);
        assert_eq!(stats.errors, 5);
        assert_eq!(stats.first_errors, vec!["every tenth fails".to_string()]);
        assert!(stats.quantile_ms(0.99).is_some());
    }

    #[tokio::test]
    async fn a_timed_budget_measures_only_after_the_warmup() {
        let b = Budget::timed(Duration::from_millis(100), Duration::from_millis(200));
        let stats = run("test", vec![Sleep], b).await;
        assert_eq!(stats.window, Duration::from_millis(200));
        assert!((stats.latencies_us.len() as u64) < stats.succeeded);
    }
}
