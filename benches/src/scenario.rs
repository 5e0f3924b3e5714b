//! The figures, in the order they are measured.
//!
//! 1. Throughput, on a fresh keelson and a fresh etcd: 1 KiB ConfigMap creates vs 1 KiB
//!    puts of distinct keys at each concurrency, then GETs of one object vs ranges of
//!    one key. keelson and etcd points alternate, so drift hits both alike.
//! 2. Footprint, on another fresh pair: 10,000 objects loaded and listed in one request
//!    (keelson: full LIST; etcd: one prefix range), then filled up to the footprint
//!    count; RSS and data-dir size; then a restart on the same data dir, timed from
//!    spawn to ready.
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
use crate::keelson_api::{CreateConfigMap, GetConfigMap};
use crate::keelson_node::KeelsonNode;
use crate::report::{Report, Unit};

mod failover;
mod footprint;
pub mod three;

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
}

impl Settings {
    pub fn new(quick: bool) -> Self {
        let q = |quick_value, full_value| if quick { quick_value } else { full_value };
        Settings {
            quick,
            warmup: Duration::from_secs(1),
            point: Duration::from_secs(q(3, 10)),
            concurrency: vec![1, 16, 64],
            read_clients: 16,
            list_objects: 10_000,
            list_repeats: if quick { 3 } else { 5 },
            footprint_objects: q(10_000, 100_000),
            load_limit: Duration::from_secs(q(30, 600)),
            ready_limit: Duration::from_secs(q(30, 120)),
            stop_grace: Duration::from_secs(10),
            cluster_concurrency: vec![1, 16, 64, 256],
            kills: if quick { 3 } else { 20 },
            failover_writers: 16,
            settle: Duration::from_secs(1),
            resume_limit: Duration::from_secs(30),
            etcd_failover: true,
        }
    }

    /// One paragraph for the three-replica part of the report.
    pub fn describe_three(&self) -> String {
        format!(
            "closed loop, one connection per client; {} s per point after a {} s warm-up; \
             1 KiB values; keelson clients through HAProxy (leastconn), etcd clients each on \
             one member's endpoint with as many on the leader as HAProxy put on keelson's; \
             failover: {} leader kills (SIGKILL) under {} writers, {} s of writes before each",
            self.point.as_secs(),
            self.warmup.as_secs(),
            self.kills,
            self.failover_writers,
            self.settle.as_secs_f64()
        )
    }

    /// One paragraph for the report.
    pub fn describe(&self) -> String {
        format!(
            "closed loop, one connection per client; {} s per point after a {} s warm-up; \
             1 KiB values; LIST median of {} after one untimed; loads with {} clients; \
             footprint after {} objects",
            self.point.as_secs(),
            self.warmup.as_secs(),
            self.list_repeats,
            self.load_clients(),
            self.footprint_objects
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
    throughput(s, bins, &work.join("throughput"), report).await?;
    footprint::run(s, bins, &work.join("footprint"), report).await
}

/// A payload of exactly 1 KiB of letters and digits (safe in JSON and in a key).
pub fn payload() -> Arc<str> {
    const CHARS: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
    let mut x: u32 = 0x9e37_79b9;
    let s: String = (0..1024)
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
    let payload = payload();
    for &c in &s.concurrency {
        let what = format!("writes, {c} client{}", if c == 1 { "" } else { "s" });
        let ops = (0..c)
            .map(|_| {
                let api = keelson.client()?;
                Ok(CreateConfigMap {
                    api,
                    namespace: "default".into(),
                    prefix: format!("bench-c{c}-"),
                    payload: payload.clone(),
                })
            })
            .collect::<Result<Vec<_>>>()?;
        let cpu0 = keelson.cpu_time();
        let k = driver::run(&format!("writes c={c} keelson"), ops, s.timed()).await;
        let k_cpu = cpu_per_op(cpu0, keelson.cpu_time(), &k);
        keelson.check_alive()?;
        let ops = etcd.clients(c).await?.into_iter();
        let ops = ops
            .map(|kv| etcd_node::Put {
                kv,
                prefix: format!("/bench/writes/c{c}/"),
                value: payload.clone(),
            })
            .collect();
        let cpu0 = etcd.cpu_time();
        let e = driver::run(&format!("writes c={c} etcd"), ops, s.timed()).await;
        let e_cpu = cpu_per_op(cpu0, etcd.cpu_time(), &e);
        report.point(&what, "creates or puts", &k, &e);
        report.row(
            format!("{what}: server CPU µs per op"),
            Unit::Micros,
            k_cpu,
            e_cpu,
        );
    }
    reads(s, &mut keelson, &etcd, report).await?;
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
