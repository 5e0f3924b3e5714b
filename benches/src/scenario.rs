//! The figures, in the order they are measured.
//!
//! 1. Throughput, on a fresh keelson and a fresh etcd: 1 KiB ConfigMap creates vs 1 KiB
//!    puts of distinct keys at each concurrency (and 8 KiB at 16 clients), GETs of one
//!    object vs ranges of one key, updates with a precondition ([`updates`]), watch
//!    fan-out ([`watch`]), then issue #3's keelson-only Deployment figures
//!    ([`deployments`]). keelson and etcd points alternate, so drift hits both alike.
//! 2. Footprint, on another fresh pair: 10,000 objects loaded and listed ([`list`]:
//!    one request, resourceVersion=0, pages), a restart timed, then filled up to the
//!    footprint count; RSS and data-dir size; a LIST of everything; then a restart on
//!    the same data dir, timed from spawn to ready.
//!
//! Both run at once on the same cores and disk, so the numbers are a pair; the run's
//! own client shares those cores too.
//!
//! [`three`] measures three keelson replicas behind HAProxy against a three-member etcd
//! in the same way, then leader failover ([`failover`]).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};

use crate::driver::{self, Budget};
use crate::etcd_node::{self, EtcdNode};
use crate::keelson_api::GetConfigMap;
use crate::keelson_node::KeelsonNode;
use crate::report::{Report, Unit};

mod deployments;
mod failover;
mod footprint;
mod list;
mod replicas;
pub mod three;
mod updates;
mod watch;
mod writes;

/// How long and how hard each figure is measured.
#[derive(Clone, Debug)]
pub struct Settings {
    pub quick: bool,
    pub warmup: Duration,
    pub point: Duration,
    pub concurrency: Vec<usize>,
    pub read_clients: usize,
    pub list_objects: u64,
    pub list_repeats: usize,
    pub footprint_objects: u64,
    /// Loading objects gives up after this long (the figures then say how many got in).
    pub load_limit: Duration,
    pub ready_limit: Duration,
    pub stop_grace: Duration,
    /// Three replicas: write concurrencies (through HAProxy; etcd clients spread over
    /// the members the same way).
    pub cluster_concurrency: Vec<usize>,
    /// Three replicas: leader kills in the failover figure.
    pub kills: usize,
    /// Three replicas: closed-loop writers during the failovers.
    pub failover_writers: usize,
    /// Three replicas: how long writers run before each kill.
    pub settle: Duration,
    /// Three replicas: a kill after which no write is acknowledged for this long counts
    /// as this long (and is noted), and the run goes on.
    pub resume_limit: Duration,
    /// Three replicas: also kill etcd's leader, for the same figure.
    pub etcd_failover: bool,
    /// Updates with a precondition: concurrencies (both topologies).
    pub update_concurrency: Vec<usize>,
    /// The page size of the paged LIST.
    pub list_page: usize,
    /// The large value of the object-size dimension, in bytes (writes at 16 clients).
    pub big_value: usize,
    /// Watch fan-out on one node: watcher counts.
    pub watchers: Vec<usize>,
    /// Watch fan-out on a follower of the three-replica cluster.
    pub three_watchers: usize,
    /// Watch fan-out: writes per second (open loop) and for how long.
    pub watch_rate: u32,
    pub watch_window: Duration,
    /// Watch fan-out: how long to wait after the last write for every event to arrive.
    pub watch_drain: Duration,
    /// Watch fan-out: keelson's watchers over HTTP/1.1, one connection each, instead of
    /// HTTP/2 streams (see `--watch-http1`).
    pub watch_http1: bool,
    /// Issue #3's Deployment figures: clients (each with its own Deployment).
    pub deployment_clients: usize,
    /// Only these groups of figures (empty: all); see `--only`.
    pub only: Vec<String>,
}

impl Settings {
    pub fn new(quick: bool) -> Self {
        let q = |quick_value, full_value| if quick { quick_value } else { full_value };
        Settings {
            quick,
            warmup: Duration::from_millis(q(500, 1000)),
            point: Duration::from_millis(q(2000, 10_000)),
            concurrency: vec![1, 16, 64],
            read_clients: 16,
            list_objects: 10_000,
            list_repeats: if quick { 3 } else { 5 },
            footprint_objects: q(20_000, 100_000),
            load_limit: Duration::from_secs(q(30, 600)),
            ready_limit: Duration::from_secs(q(30, 120)),
            stop_grace: Duration::from_secs(10),
            cluster_concurrency: if quick {
                vec![16, 64]
            } else {
                vec![1, 16, 64, 256]
            },
            kills: if quick { 3 } else { 20 },
            failover_writers: 16,
            settle: Duration::from_secs(1),
            resume_limit: Duration::from_secs(30),
            etcd_failover: true,
            update_concurrency: if quick { vec![16] } else { vec![16, 64] },
            list_page: 500,
            big_value: 8 * 1024,
            watchers: vec![100, 1000],
            three_watchers: 1000,
            watch_rate: 500,
            watch_window: Duration::from_secs(q(2, 10)),
            watch_drain: Duration::from_secs(q(2, 10)),
            watch_http1: false,
            deployment_clients: 16,
            only: Vec::new(),
        }
    }

    /// How keelson's watchers connect.
    pub fn watch_protocol(&self) -> crate::keelson_api::Protocol {
        if self.watch_http1 {
            crate::keelson_api::Protocol::Http1Long
        } else {
            crate::keelson_api::Protocol::Http2
        }
    }

    /// Whether the figures of group `name` are measured (see `--only`).
    pub fn wants(&self, name: &str) -> bool {
        self.only.is_empty() || self.only.iter().any(|o| o == name)
    }

    /// One paragraph for the three-replica part of the report.
    pub fn describe_three(&self) -> String {
        format!(
            "closed loop, one connection per client; {} s per point after a {} s warm-up; \
             1 KiB values; keelson clients through HAProxy (leastconn), etcd clients each on \
             one member's endpoint with as many on the leader as HAProxy put on keelson's; \
             failover: {} leader kills (SIGKILL) under {} writers, {} s of writes before each",
            self.point.as_secs_f64(),
            self.warmup.as_secs_f64(),
            self.kills,
            self.failover_writers,
            self.settle.as_secs_f64()
        )
    }

    /// One paragraph for the report.
    pub fn describe(&self) -> String {
        format!(
            "closed loop, one connection per client; {} s per point after a {} s warm-up; \
             1 KiB values; LIST median of {} after one untimed, pages of {}; loads with {} \
             clients; footprint after {} objects; watch fan-out: {} writes/s of {} s, \
             watchers {:?}",
            self.point.as_secs_f64(),
            self.warmup.as_secs_f64(),
            self.list_repeats,
            self.list_page,
            self.load_clients(),
            self.footprint_objects,
            self.watch_rate,
            self.watch_window.as_secs(),
            self.watchers
        )
    }

    fn load_clients(&self) -> usize {
        self.concurrency.iter().copied().max().unwrap_or(16)
    }

    fn timed(&self) -> Budget {
        Budget::timed(self.warmup, self.point)
    }
}

/// Where the binaries are.
#[derive(Clone, Debug)]
pub struct Binaries {
    pub keelson: PathBuf,
    pub etcd: PathBuf,
    /// The directory holding cluster/local-up.sh and cluster/local-down.sh.
    pub cluster_scripts: PathBuf,
}

/// Runs every figure with processes and data under `work`; fills `report`.
pub async fn run(s: &Settings, bins: &Binaries, work: &Path, report: &mut Report) -> Result<()> {
    let first = ["writes", "reads", "updates", "watch", "deployments"];
    if first.iter().any(|g| s.wants(g)) {
        throughput(s, bins, &work.join("throughput"), report).await?;
    }
    if s.wants("list") {
        footprint::run(s, bins, &work.join("footprint"), report).await?;
    }
    Ok(())
}

/// A payload of exactly 1 KiB of letters and digits (safe in JSON and in a key).
pub fn payload() -> Arc<str> {
    payload_of(1024)
}

/// A payload of exactly `len` letters and digits.
pub fn payload_of(len: usize) -> Arc<str> {
    const CHARS: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
    let mut x: u32 = 0x9e37_79b9;
    let s: String = (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            CHARS[x as usize % CHARS.len()] as char
        })
        .collect();
    s.into()
}

/// Starts a fresh keelson and a fresh etcd under `dir`.
pub async fn start_pair(
    s: &Settings,
    bins: &Binaries,
    dir: &Path,
) -> Result<(KeelsonNode, EtcdNode)> {
    let (kdir, edir) = (dir.join("keelson"), dir.join("etcd"));
    std::fs::create_dir_all(&kdir)
        .and_then(|_| std::fs::create_dir_all(&edir))
        .context("creating data dirs")?;
    let mut keelson = KeelsonNode::new(&bins.keelson, &kdir)?;
    let mut etcd = EtcdNode::new(&bins.etcd, &edir)?;
    let t = keelson
        .start(s.ready_limit)
        .await
        .context("starting keelson")?;
    eprintln!("keelson ready in {} ms", t.as_millis());
    let t = etcd.start(s.ready_limit).await.context("starting etcd")?;
    eprintln!("etcd healthy in {} ms", t.as_millis());
    Ok((keelson, etcd))
}

async fn throughput(s: &Settings, bins: &Binaries, dir: &Path, report: &mut Report) -> Result<()> {
    let (mut keelson, mut etcd) = start_pair(s, bins, dir).await?;
    if s.wants("writes") {
        for &c in &s.concurrency {
            let what = format!("writes, {c} client{}", if c == 1 { "" } else { "s" });
            let (k, e) = writes::point(s, &keelson, &etcd, c, &payload(), &what, report).await?;
            if c == 16 {
                writes::size_cost(report, "1 KiB", &k, &e);
                writes::replica_cost(report, "1", &k, &e);
            }
        }
        let big = payload_of(s.big_value);
        let kib = s.big_value / 1024;
        let what = format!("writes of {kib} KiB values, 16 clients");
        let (k, e) = writes::point(s, &keelson, &etcd, 16, &big, &what, report).await?;
        writes::size_cost(report, &format!("{kib} KiB"), &k, &e);
        keelson.check_alive()?;
    }
    if s.wants("reads") {
        reads(s, &mut keelson, &etcd, report).await?;
    }
    if s.wants("updates") {
        updates::single(s, &keelson, &etcd, report).await?;
        keelson.check_alive()?;
    }
    if s.wants("watch") {
        watch::single(s, &keelson, &etcd, report).await?;
        keelson.check_alive()?;
    }
    if s.wants("deployments") {
        deployments::run(s, &keelson, report).await?;
        keelson.check_alive()?;
    }
    stop_pair(s, &mut keelson, &mut etcd, report).await;
    Ok(())
}

async fn reads(
    s: &Settings,
    keelson: &mut KeelsonNode,
    etcd: &EtcdNode,
    report: &mut Report,
) -> Result<()> {
    let c = s.read_clients;
    let what = format!("GET one object, {c} clients");
    let (ns, name) = ("default", "bench-get");
    let (k_cpu, k) = match keelson
        .client()?
        .create_configmap(ns, name, &payload())
        .await
    {
        Ok(()) => {
            let ops = (0..c)
                .map(|_| {
                    Ok(GetConfigMap {
                        api: keelson.client()?,
                        namespace: ns.into(),
                        name: name.into(),
                    })
                })
                .collect::<Result<Vec<_>>>()?;
            let cpu0 = keelson.cpu_time();
            let k = driver::run(&format!("reads c={c} keelson"), ops, s.timed()).await;
            (cpu_per_op(cpu0, keelson.cpu_time(), &k), k)
        }
        Err(e) => {
            report.note(format!(
                "{what}, keelson: creating the object failed, so no GETs: `{e}`"
            ));
            (None, driver::Stats::default())
        }
    };
    keelson.check_alive()?;
    let key = "/bench/reads/one";
    etcd.client()
        .await?
        .put(key, payload().as_bytes(), None)
        .await
        .context("etcd put for the GET figure")?;
    let ops = etcd
        .clients(c)
        .await?
        .into_iter()
        .map(|kv| etcd_node::Get {
            kv,
            key: key.into(),
        })
        .collect();
    let cpu0 = etcd.cpu_time();
    let e = driver::run(&format!("reads c={c} etcd"), ops, s.timed()).await;
    let e_cpu = cpu_per_op(cpu0, etcd.cpu_time(), &e);
    report.point(&what, "GETs or ranges", &k, &e);
    report.row(
        format!("{what}: server CPU µs per op"),
        Unit::Micros,
        k_cpu,
        e_cpu,
    );
    Ok(())
}

/// Server CPU time per successful operation over a whole run (warm-up included), in µs.
pub(crate) fn cpu_per_op(
    before: Option<Duration>,
    after: Option<Duration>,
    stats: &driver::Stats,
) -> Option<f64> {
    let used = after?.checked_sub(before?)?;
    (stats.succeeded > 0).then(|| used.as_secs_f64() * 1e6 / stats.succeeded as f64)
}

/// Stops both, noting a process that needed SIGKILL.
pub async fn stop_pair(
    s: &Settings,
    keelson: &mut KeelsonNode,
    etcd: &mut EtcdNode,
    report: &mut Report,
) {
    if !keelson.stop(s.stop_grace).await {
        report.note(format!(
            "keelson did not exit within {:?} of SIGTERM and was killed",
            s.stop_grace
        ));
    }
    if !etcd.stop(s.stop_grace).await {
        report.note(format!(
            "etcd did not exit within {:?} of SIGTERM and was killed",
            s.stop_grace
        ));
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_payload_is_one_kib_of_safe_characters() {
        let p = super::payload();
        assert_eq!(p.len(), 1024);
        assert!(p.bytes().all(|b| b.is_ascii_alphanumeric()));
    }
}
