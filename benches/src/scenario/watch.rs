//! Watch fan-out figures ([`crate::fanout`]): W watchers on one server (single node; a
//! follower of the three-replica cluster) while small creates go in at a fixed rate;
//! per write, acknowledgement → last watcher's receipt (p50, p99, max) and events lost.
//! Beside them, the CPU of the server(s) and of this benchmark's own process over the
//! point, so a saturated client shows instead of passing for a slow server.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Result;
use etcd_client::KvClient;

use super::{payload_of, Settings};
use crate::etcd_node::EtcdNode;
use crate::fanout::{self, FanoutStats, Tracker};
use crate::keelson_api::{Api, Protocol};
use crate::keelson_node::KeelsonNode;
use crate::process::cpu_time;
use crate::report::{thousands, Report, Unit};

/// Watchers per HTTP/2 connection (keelson) or per gRPC channel (etcd).
const PER_CONNECTION: usize = 100;
/// Write connections on each side. keelson's are HTTP/2, as etcd's gRPC channels and
/// client-go's connections are: paced writes overlap, and over HTTP/1.1 each overlap
/// opened another connection, whose TLS handshake landed in the middle of the figure.
pub(super) const WRITE_CONNECTIONS: usize = 4;
/// Bytes of each written value: the figure is about fan-out, not bandwidth.
const VALUE_BYTES: usize = 128;

/// One side's measurement of one point.
#[derive(Default)]
pub(super) struct Measured {
    pub stats: FanoutStats,
    pub client_cpu_pct: Option<f64>,
    pub server_cpu_pct: Option<f64>,
}

/// What a keelson point needs: a maker of watch connections (each call a new
/// connection), write clients, and the server's CPU clock.
pub(super) struct KeelsonSide<'a> {
    pub watch: &'a dyn Fn() -> Result<Api>,
    pub writers: Vec<Api>,
    pub cpu: &'a dyn Fn() -> Option<Duration>,
}

/// What an etcd point needs: the member the watchers use, write clients, the CPU clock.
pub(super) struct EtcdSide<'a> {
    pub watch_url: String,
    pub writers: Vec<KvClient>,
    pub cpu: &'a dyn Fn() -> Option<Duration>,
}

/// The fan-out points on one node, and their cost-model points.
pub(super) async fn single(
    s: &Settings,
    keelson: &KeelsonNode,
    etcd: &EtcdNode,
    report: &mut Report,
) -> Result<()> {
    let (k_cpu, e_cpu) = (|| keelson.cpu_time(), || etcd.cpu_time());
    let watch_api = || keelson.client_with(s.watch_protocol());
    for &w in &s.watchers {
        let tag = format!("w{w}");
        let writers = (0..WRITE_CONNECTIONS)
            .map(|_| keelson.client_with(Protocol::Http2))
            .collect::<Result<_>>()?;
        let side = KeelsonSide {
            watch: &watch_api,
            writers,
            cpu: &k_cpu,
        };
        let k = keelson_point(s, w, &tag, side, report).await?;
        let side = EtcdSide {
            watch_url: etcd.client_url(),
            writers: etcd.clients(WRITE_CONNECTIONS).await?,
            cpu: &e_cpu,
        };
        let e = etcd_point(s, w, &tag, side, report).await?;
        let what = format!("watch fan-out, {} watchers", thousands(w as u64));
        rows(s, &what, &k, &e, report);
        let (kq, eq) = (k.stats.quantile_ms(0.99), e.stats.quantile_ms(0.99));
        let fig = "watch fan-out: ack to last watcher, p99 ms";
        report.cost("watchers", fig, &thousands(w as u64), Unit::Millis, kq, eq);
    }
    Ok(())
}

fn writes(s: &Settings) -> usize {
    (s.watch_window.as_secs_f64() * f64::from(s.watch_rate)) as usize
}

/// Measures keelson with `w` watchers; `tag` names the namespace.
pub(super) async fn keelson_point(
    s: &Settings,
    w: usize,
    tag: &str,
    side: KeelsonSide<'_>,
    report: &mut Report,
) -> Result<Measured> {
    let ns = format!("bench-fan-{tag}");
    if let Err(e) = side.writers[0].create_namespace(&ns).await {
        report.note(format!(
            "watch fan-out {tag}, keelson: creating {ns}: `{e}`"
        ));
        return Ok(Measured::default());
    }
    let n = writes(s);
    let tracker = Tracker::new(n, w);
    let path = format!("/api/v1/namespaces/{ns}/configmaps?watch=1");
    // Over HTTP/1.1 a connection carries one watch.
    let per_connection = if s.watch_protocol() == Protocol::Http2 {
        PER_CONNECTION
    } else {
        1
    };
    let opened = fanout::keelson_watchers(w, per_connection, side.watch, &path, &tracker).await;
    let (mut tasks, version) = match opened {
        Ok(o) => o,
        Err(e) => {
            report.note(format!(
                "watch fan-out {tag}, keelson: opening the watches: {e:#}"
            ));
            return Ok(Measured::default());
        }
    };
    eprintln!("fan-out {tag} keelson: {w} watchers open ({version})");
    if version != "HTTP/2.0" && s.watch_protocol() == Protocol::Http2 {
        report.note(format!(
            "watch fan-out {tag}, keelson: the watches ran over {version}, not HTTP/2"
        ));
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let value: Arc<str> = payload_of(VALUE_BYTES);
    let writers = side.writers;
    let m = measure(s, &tracker, side.cpu, n, |k| {
        let api = writers[k % writers.len()].clone();
        let (ns, value) = (ns.clone(), value.clone());
        async move {
            api.create_configmap(&ns, &format!("fan-{k:08}"), &value)
                .await
        }
    })
    .await;
    tasks.abort_all();
    while tasks.join_next().await.is_some() {}
    Ok(m)
}

/// Measures etcd with `w` watchers; `tag` names the key prefix.
pub(super) async fn etcd_point(
    s: &Settings,
    w: usize,
    tag: &str,
    side: EtcdSide<'_>,
    report: &mut Report,
) -> Result<Measured> {
    let prefix = format!("/bench/fan/{tag}/");
    let n = writes(s);
    let tracker = Tracker::new(n, w);
    let channels = w.div_ceil(PER_CONNECTION);
    let opened = fanout::etcd_watchers(w, channels, &side.watch_url, &prefix, &tracker).await;
    let mut tasks = match opened {
        Ok(t) => t,
        Err(e) => {
            report.note(format!(
                "watch fan-out {tag}, etcd: opening the watches: {e:#}"
            ));
            return Ok(Measured::default());
        }
    };
    eprintln!("fan-out {tag} etcd: {w} watchers open on {channels} channels");
    tokio::time::sleep(Duration::from_millis(300)).await;
    let value: Arc<str> = payload_of(VALUE_BYTES);
    let writers = side.writers;
    let m = measure(s, &tracker, side.cpu, n, |k| {
        let mut kv = writers[k % writers.len()].clone();
        let (key, value) = (format!("{prefix}{k:08}"), value.clone());
        async move {
            kv.put(key, value.as_bytes(), None)
                .await
                .map(drop)
                .map_err(|e| e.to_string())
        }
    })
    .await;
    tasks.abort_all();
    while tasks.join_next().await.is_some() {}
    Ok(m)
}

/// Paced writes, then the drain; CPU of both processes over that time.
async fn measure<F, Fut>(
    s: &Settings,
    tracker: &Arc<Tracker>,
    server_cpu: &dyn Fn() -> Option<Duration>,
    n: usize,
    write: F,
) -> Measured
where
    F: Fn(usize) -> Fut,
    Fut: std::future::Future<Output = Result<(), String>> + Send + 'static,
{
    let (t0, me0, server0) = (Instant::now(), cpu_time("self"), server_cpu());
    fanout::paced_writes(tracker, n, s.watch_rate, write).await;
    fanout::drain(tracker, s.watch_drain).await;
    let wall = t0.elapsed().as_secs_f64();
    let pct = |a: Option<Duration>, b: Option<Duration>| {
        Some(b?.checked_sub(a?)?.as_secs_f64() * 100.0 / wall)
    };
    let m = Measured {
        stats: tracker.stats(),
        client_cpu_pct: pct(me0, cpu_time("self")),
        server_cpu_pct: pct(server0, server_cpu()),
    };
    let f = |v: Option<f64>| v.map_or("-".into(), |v| format!("{v:.1}"));
    eprintln!(
        "fan-out: {} acked, p50 {} ms, p99 {} ms, max {} ms (acked at {}), {} lost, client CPU {} %",
        m.stats.acked,
        f(m.stats.quantile_ms(0.5)),
        f(m.stats.quantile_ms(0.99)),
        f(m.stats.max_ms()),
        m.stats
            .slowest_acked_at
            .map_or("-".into(), |at| humantime::format_rfc3339_millis(at).to_string()),
        m.stats.lost,
        f(m.client_cpu_pct)
    );
    m
}

/// The rows of one point, and notes for lost events and errors.
pub(super) fn rows(s: &Settings, what: &str, k: &Measured, e: &Measured, report: &mut Report) {
    let what = format!("{what}, {} writes/s", thousands(u64::from(s.watch_rate)));
    let q = |m: &Measured, q: f64| m.stats.quantile_ms(q);
    for (name, quant) in [("p50", 0.5), ("p99", 0.99)] {
        report.row(
            format!("{what}: ack to last watcher, {name} ms"),
            Unit::Millis,
            q(k, quant),
            q(e, quant),
        );
    }
    report.row(
        format!("{what}: ack to last watcher, max ms"),
        Unit::Millis,
        k.stats.max_ms(),
        e.stats.max_ms(),
    );
    let count = |v: u64| Some(v as f64);
    report.row(
        format!("{what}: writes acknowledged"),
        Unit::Count,
        count(k.stats.acked),
        count(e.stats.acked),
    );
    let drain = s.watch_drain.as_secs();
    report.row(
        format!(
            "{what}: events lost or not yet received {drain} s after the last write (must be 0)"
        ),
        Unit::Count,
        count(k.stats.lost),
        count(e.stats.lost),
    );
    report.row(
        format!("{what}: server CPU, % of one core"),
        Unit::Count,
        k.server_cpu_pct,
        e.server_cpu_pct,
    );
    report.row(
        format!("{what}: benchmark client CPU, % of one core"),
        Unit::Count,
        k.client_cpu_pct,
        e.client_cpu_pct,
    );
    for (side, m) in [("keelson", k), ("etcd", e)] {
        if m.stats.errors > 0 || m.stats.lost > 0 {
            let first = m.stats.first_errors.join("; ");
            report.note(format!(
                "{what}, {side}: {} events had not reached their watcher {drain} s after the \
                 last write (late or lost; every watcher stayed open unless an error below \
                 says otherwise); {} errors; first errors: `{first}`",
                m.stats.lost, m.stats.errors
            ));
        }
    }
}
