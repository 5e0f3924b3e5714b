//! Watch fan-out: many watchers on one server while writes go in at a fixed rate (open
//! loop: write k is sent at k / rate seconds whatever the previous ones are doing), and
//! for each acknowledged write, the time from its acknowledgement to the moment the
//! last watcher received its event.
//!
//! Write k creates the object named by its sequence number (keelson: ConfigMap
//! `fan-<k>`, etcd: key `<prefix><k>`), so a watcher knows which write an event
//! belongs to without decoding it: it finds the name in the event's bytes. The
//! [`Tracker`] keeps, per write, its acknowledgement time, the latest receipt time
//! and how many watchers received it, in atomics shared by every task; receipt
//! times are taken when a watcher's task reads the bytes.
//!
//! keelson's watchers share HTTP/2 connections (h2 by ALPN, `per_connection` watch
//! streams on each), as client-go multiplexes its watches; etcd's share gRPC channels
//! (one watch stream per watcher), as etcd's clients multiplex.

use std::future::Future;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use etcd_client::{WatchOptions, WatchStream};
use tokio::task::JoinSet;

use crate::keelson_api::Api;

/// How many distinct errors are kept.
const KEPT_ERRORS: usize = 5;

/// Per-write times and counts, shared by the writer and every watcher.
pub struct Tracker {
    start: Instant,
    /// `start` on the wall clock, to name when the slowest write happened in server logs.
    start_wall: SystemTime,
    watchers: u32,
    acked_ns: Vec<AtomicU64>,
    last_ns: Vec<AtomicU64>,
    seen: Vec<AtomicU32>,
    errors: Mutex<Vec<String>>,
    error_count: AtomicU64,
}

/// What one fan-out point measured.
#[derive(Debug, Default)]
pub struct FanoutStats {
    /// Acknowledgement → last watcher, in µs, of the writes every watcher received, sorted.
    pub latencies_us: Vec<u64>,
    pub acked: u64,
    /// Events of acknowledged writes that some watcher never received.
    pub lost: u64,
    pub errors: u64,
    pub first_errors: Vec<String>,
    /// When the write with the slowest delivery was acknowledged, to find in server logs.
    pub slowest_acked_at: Option<SystemTime>,
}

impl FanoutStats {
    pub fn quantile_ms(&self, q: f64) -> Option<f64> {
        let n = self.latencies_us.len();
        let i = ((n as f64 * q) as usize).min(n.checked_sub(1)?);
        Some(self.latencies_us[i] as f64 / 1000.0)
    }

    pub fn max_ms(&self) -> Option<f64> {
        self.latencies_us.last().map(|&v| v as f64 / 1000.0)
    }
}

// === impl Tracker ===

impl Tracker {
    pub fn new(writes: usize, watchers: usize) -> Arc<Self> {
        let zeros = |n| (0..n).map(|_| AtomicU64::new(0)).collect();
        Arc::new(Tracker {
            start: Instant::now(),
            start_wall: SystemTime::now(),
            watchers: u32::try_from(watchers).unwrap_or(u32::MAX),
            acked_ns: zeros(writes),
            last_ns: zeros(writes),
            seen: (0..writes).map(|_| AtomicU32::new(0)).collect(),
            errors: Mutex::new(Vec::new()),
            error_count: AtomicU64::new(0),
        })
    }

    fn now_ns(&self) -> u64 {
        u64::try_from(self.start.elapsed().as_nanos()).unwrap_or(u64::MAX) + 1
    }

    /// Write `seq` was acknowledged now.
    pub fn acked(&self, seq: usize) {
        if let Some(a) = self.acked_ns.get(seq) {
            a.store(self.now_ns(), Ordering::Relaxed);
        }
    }

    /// One watcher received write `seq`'s event now.
    pub fn received(&self, seq: usize) {
        if let (Some(last), Some(seen)) = (self.last_ns.get(seq), self.seen.get(seq)) {
            last.fetch_max(self.now_ns(), Ordering::Relaxed);
            seen.fetch_add(1, Ordering::Relaxed);
        }
    }

    pub fn error(&self, e: String) {
        self.error_count.fetch_add(1, Ordering::Relaxed);
        let mut kept = self.errors.lock().unwrap_or_else(|p| p.into_inner());
        if kept.len() < KEPT_ERRORS && !kept.contains(&e) {
            kept.push(e);
        }
    }

    /// Whether every watcher received every acknowledged write.
    pub fn complete(&self) -> bool {
        self.acked_ns.iter().zip(&self.seen).all(|(a, s)| {
            a.load(Ordering::Relaxed) == 0 || s.load(Ordering::Relaxed) >= self.watchers
        })
    }

    pub fn stats(&self) -> FanoutStats {
        let mut out = FanoutStats::default();
        let mut slowest = None;
        for i in 0..self.acked_ns.len() {
            let acked = self.acked_ns[i].load(Ordering::Relaxed);
            if acked == 0 {
                continue;
            }
            out.acked += 1;
            let seen = self.seen[i].load(Ordering::Relaxed).min(self.watchers);
            out.lost += u64::from(self.watchers - seen);
            if seen == self.watchers {
                let last = self.last_ns[i].load(Ordering::Relaxed);
                let latency_us = last.saturating_sub(acked) / 1000;
                if slowest.is_none_or(|(worst, _)| latency_us > worst) {
                    slowest = Some((latency_us, acked));
                }
                out.latencies_us.push(latency_us);
            }
        }
        out.slowest_acked_at =
            slowest.map(|(_, acked_ns)| self.start_wall + Duration::from_nanos(acked_ns));
        out.latencies_us.sort_unstable();
        out.errors = self.error_count.load(Ordering::Relaxed);
        out.first_errors = self
            .errors
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        out
    }
}

/// Sends `writes` writes at `rate` per second, each as its own task (open loop), and
/// waits for their answers; `write(k)` performs write k.
pub async fn paced_writes<F, Fut>(tracker: &Arc<Tracker>, writes: usize, rate: u32, write: F)
where
    F: Fn(usize) -> Fut,
    Fut: Future<Output = Result<(), String>> + Send + 'static,
{
    let mut tick = tokio::time::interval(Duration::from_secs_f64(1.0 / f64::from(rate.max(1))));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let mut sent = JoinSet::new();
    for k in 0..writes {
        tick.tick().await;
        let t = tracker.clone();
        let fut = write(k);
        sent.spawn(async move {
            match tokio::time::timeout(Duration::from_secs(10), fut).await {
                Ok(Ok(())) => t.acked(k),
                Ok(Err(e)) => t.error(format!("write: {e}")),
                Err(_) => t.error("write: no answer within 10 s".into()),
            }
        });
    }
    while sent.join_next().await.is_some() {}
}

/// Waits until every watcher has every acknowledged write, for at most `limit`.
pub async fn drain(tracker: &Tracker, limit: Duration) {
    let t0 = Instant::now();
    while !tracker.complete() && t0.elapsed() < limit {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Opens `n` keelson watches of `path` on HTTP/2 connections of `per_connection`
/// streams each (`connect()` makes a new connection); each feeds `tracker` until
/// aborted. Returns the tasks and the HTTP version the server chose.
pub async fn keelson_watchers(
    n: usize,
    per_connection: usize,
    connect: impl Fn() -> anyhow::Result<Api>,
    path: &str,
    tracker: &Arc<Tracker>,
) -> anyhow::Result<(JoinSet<()>, String)> {
    let mut tasks = JoinSet::new();
    let mut version = String::from("none");
    let mut opened = 0;
    while opened < n {
        let api = connect()?;
        // The first stream opens the connection alone, so that the others find it
        // negotiated (h2) in the pool instead of each opening their own.
        let first = open(&api, path).await?;
        version = format!("{:?}", first.version());
        let mut streams = vec![first];
        let more = per_connection.min(n - opened) - 1;
        let rest = futures_all((0..more).map(|_| {
            let (api, path) = (api.clone(), path.to_string());
            async move { open(&api, &path).await }
        }))
        .await;
        for r in rest {
            streams.push(r?);
        }
        opened += streams.len();
        for s in streams {
            tasks.spawn(keelson_watch(s, tracker.clone()));
        }
    }
    Ok((tasks, version))
}

/// Opens one watch, waiting at most 10 s for its answer.
async fn open(api: &Api, path: &str) -> anyhow::Result<reqwest::Response> {
    match tokio::time::timeout(Duration::from_secs(10), api.open_stream(path)).await {
        Ok(r) => r.map_err(anyhow::Error::msg),
        Err(_) => anyhow::bail!("a watch got no answer within 10 s"),
    }
}

/// Runs futures at once and collects their outputs in order.
async fn futures_all<T: Send + 'static>(
    futs: impl Iterator<Item = impl Future<Output = T> + Send + 'static>,
) -> Vec<T> {
    let handles: Vec<_> = futs.map(tokio::spawn).collect();
    let mut out = Vec::with_capacity(handles.len());
    for h in handles {
        if let Ok(v) = h.await {
            out.push(v);
        }
    }
    out
}

/// Reads one keelson watch: newline-delimited JSON events, each found by the
/// `"name":"fan-` of its object. Lines are found with SIMD searches and read in place in
/// the received chunk; only a line split across chunks is copied. On 2 cores this client
/// shares the CPU with the server it measures, so its own cost per event must stay small
/// (a byte-by-byte scan was a quarter of its time at 1,000 watchers).
async fn keelson_watch(mut resp: reqwest::Response, tracker: Arc<Tracker>) {
    let mut events = EventLines::new();
    loop {
        match resp.chunk().await {
            Ok(Some(chunk)) => events.chunk(&chunk, &tracker),
            Ok(None) => return tracker.error("a keelson watch ended".into()),
            Err(e) => return tracker.error(format!("a keelson watch failed: {e}")),
        }
    }
}

/// Splits a keelson watch stream into event lines and tells the tracker which write each
/// is about.
struct EventLines {
    marker: memchr::memmem::Finder<'static>,
    error: memchr::memmem::Finder<'static>,
    /// The start of a line whose end is in a later chunk.
    split_line: Vec<u8>,
}

impl EventLines {
    const MARKER: &'static [u8] = b"\"name\":\"fan-";

    fn new() -> Self {
        Self {
            marker: memchr::memmem::Finder::new(Self::MARKER),
            error: memchr::memmem::Finder::new(b"\"ERROR\""),
            split_line: Vec::new(),
        }
    }

    fn chunk(&mut self, chunk: &[u8], tracker: &Tracker) {
        let mut rest = chunk;
        if !self.split_line.is_empty() {
            let Some(end) = memchr::memchr(b'\n', rest) else {
                self.split_line.extend_from_slice(rest);
                return;
            };
            self.split_line.extend_from_slice(&rest[..end]);
            self.line(&self.split_line, tracker);
            self.split_line.clear();
            rest = &rest[end + 1..];
        }
        let mut start = 0;
        for end in memchr::memchr_iter(b'\n', rest) {
            self.line(&rest[start..end], tracker);
            start = end + 1;
        }
        self.split_line.extend_from_slice(&rest[start..]);
    }

    fn line(&self, line: &[u8], tracker: &Tracker) {
        match self.marker.find(line) {
            Some(at) => match sequence(&line[at + Self::MARKER.len()..]) {
                Some(seq) => tracker.received(seq),
                None => tracker.error("an event with a strange name".into()),
            },
            None if self.error.find(line).is_some() => tracker.error(format!(
                "a keelson watch sent {}",
                String::from_utf8_lossy(&line[..line.len().min(200)])
            )),
            None => {}
        }
    }
}

/// The decimal number that `digits` starts with, up to its closing quote.
fn sequence(digits: &[u8]) -> Option<usize> {
    let end = memchr::memchr(b'"', digits)?;
    std::str::from_utf8(&digits[..end]).ok()?.parse().ok()
}

/// Opens `n` etcd watches of `prefix` spread over `channels` gRPC channels to `url`
/// (one watch stream each, created before this returns); each feeds `tracker`.
pub async fn etcd_watchers(
    n: usize,
    channels: usize,
    url: &str,
    prefix: &str,
    tracker: &Arc<Tracker>,
) -> anyhow::Result<JoinSet<()>> {
    let mut clients = Vec::new();
    for _ in 0..channels.max(1) {
        clients.push(crate::etcd_node::connect(url).await?.watch_client());
    }
    let mut tasks = JoinSet::new();
    for k in 0..n {
        let mut wc = clients[k % clients.len()].clone();
        let opts = WatchOptions::new().with_prefix();
        let opened = tokio::time::timeout(Duration::from_secs(10), async {
            let mut stream = wc.watch(prefix, Some(opts)).await?;
            // The first message says the watch was created.
            stream.message().await?;
            anyhow::Ok(stream)
        });
        let stream = opened
            .await
            .map_err(|_| anyhow::anyhow!("an etcd watch was not created within 10 s"))??;
        tasks.spawn(etcd_watch(stream, prefix.len(), tracker.clone()));
    }
    Ok(tasks)
}

async fn etcd_watch(mut stream: WatchStream, prefix_len: usize, tracker: Arc<Tracker>) {
    loop {
        match stream.message().await {
            Ok(Some(r)) => {
                for ev in r.events() {
                    let seq = ev
                        .kv()
                        .and_then(|kv| kv.key().get(prefix_len..))
                        .and_then(|d| std::str::from_utf8(d).ok())
                        .and_then(|d| d.parse::<usize>().ok());
                    match seq {
                        Some(seq) => tracker.received(seq),
                        None => tracker.error("an etcd event with a strange key".into()),
                    }
                }
            }
            Ok(None) => return tracker.error("an etcd watch ended".into()),
            Err(e) => return tracker.error(format!("an etcd watch failed: {e}")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_latency_is_to_the_last_watcher_and_missing_events_are_lost() {
        let t = Tracker::new(3, 2);
        t.acked(0);
        t.received(0);
        t.received(0);
        t.acked(1);
        t.received(1);
        let s = t.stats();
        assert_eq!((s.acked, s.lost, s.latencies_us.len()), (2, 1, 1));
        assert!(!t.complete());
        t.received(1);
        assert!(t.complete());
    }

    #[test]
    fn event_lines_split_anywhere_are_counted_once() {
        let stream = concat!(
            r#"{"type":"ADDED","object":{"metadata":{"name":"fan-00000000"}}}"#,
            "\n",
            r#"{"type":"BOOKMARK","object":{"metadata":{"resourceVersion":"9"}}}"#,
            "\n",
            r#"{"type":"ADDED","object":{"metadata":{"name":"fan-00000001"}}}"#,
            "\n",
        )
        .as_bytes();
        for cut in 0..stream.len() {
            for second_cut in cut..stream.len() {
                let t = Tracker::new(2, 1);
                t.acked(0);
                t.acked(1);
                let mut lines = EventLines::new();
                lines.chunk(&stream[..cut], &t);
                lines.chunk(&stream[cut..second_cut], &t);
                lines.chunk(&stream[second_cut..], &t);
                let s = t.stats();
                assert_eq!((s.acked, s.lost), (2, 0), "cuts at {cut} and {second_cut}");
                let seen: Vec<u32> = t.seen.iter().map(|n| n.load(Ordering::Relaxed)).collect();
                assert_eq!(seen, [1, 1], "cuts at {cut} and {second_cut}");
                assert_eq!(t.error_count.load(Ordering::Relaxed), 0);
            }
        }
    }

    #[test]
    fn an_error_event_is_an_error() {
        let t = Tracker::new(1, 1);
        let mut lines = EventLines::new();
        lines.chunk(b"{\"type\":\"ERROR\",\"object\":{\"code\":410}}\n", &t);
        assert_eq!(t.error_count.load(Ordering::Relaxed), 1);
    }
}
