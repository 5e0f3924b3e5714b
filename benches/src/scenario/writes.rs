//! Write points on one node: `c` clients creating ConfigMaps of a given value vs puts
//! of distinct keys, with the server CPU per operation; and the cost-model points that
//! writes give (object size, replica count).

use std::sync::Arc;

use anyhow::Result;

use super::{cpu_per_op, Settings};
use crate::driver;
use crate::etcd_node::{self, EtcdNode};
use crate::keelson_api::CreateConfigMap;
use crate::keelson_node::KeelsonNode;
use crate::report::{Report, Unit};

/// One write point: `c` clients creating objects of `value` vs puts; returns both sides.
pub(super) async fn point(
    s: &Settings,
    keelson: &KeelsonNode,
    etcd: &EtcdNode,
    c: usize,
    value: &Arc<str>,
    what: &str,
    report: &mut Report,
) -> Result<(driver::Stats, driver::Stats)> {
    let tag = format!("c{c}-{}", value.len());
    let ops = (0..c)
        .map(|_| {
            Ok(CreateConfigMap {
                api: keelson.client()?,
                namespace: "default".into(),
                prefix: format!("bench-{tag}-"),
                payload: value.clone(),
            })
        })
        .collect::<Result<Vec<_>>>()?;
    let cpu0 = keelson.cpu_time();
    let k = driver::run(&format!("writes {tag} keelson"), ops, s.timed()).await;
    let k_cpu = cpu_per_op(cpu0, keelson.cpu_time(), &k);
    let ops = etcd.clients(c).await?.into_iter();
    let ops = ops
        .map(|kv| etcd_node::Put {
            kv,
            prefix: format!("/bench/writes/{tag}/"),
            value: value.clone(),
        })
        .collect();
    let cpu0 = etcd.cpu_time();
    let e = driver::run(&format!("writes {tag} etcd"), ops, s.timed()).await;
    let e_cpu = cpu_per_op(cpu0, etcd.cpu_time(), &e);
    report.point(what, "creates or puts", &k, &e);
    report.row(
        format!("{what}: server CPU µs per op"),
        Unit::Micros,
        k_cpu,
        e_cpu,
    );
    Ok((k, e))
}

/// The object-size points of the cost model: creates/s and p99 at 16 clients.
pub(super) fn size_cost(report: &mut Report, at: &str, k: &driver::Stats, e: &driver::Stats) {
    let fig = "writes, 16 clients: creates or puts/s";
    report.cost(
        "object size",
        fig,
        at,
        Unit::PerSec,
        k.ops_per_sec(),
        e.ops_per_sec(),
    );
    let (kq, eq) = (k.quantile_ms(0.99), e.quantile_ms(0.99));
    report.cost(
        "object size",
        "writes, 16 clients: p99 ms",
        at,
        Unit::Millis,
        kq,
        eq,
    );
}

/// The replica-count points of the cost model (1 KiB writes at 16 clients).
pub(crate) fn replica_cost(report: &mut Report, at: &str, k: &driver::Stats, e: &driver::Stats) {
    let fig = "writes, 16 clients: creates or puts/s";
    report.cost(
        "replicas",
        fig,
        at,
        Unit::PerSec,
        k.ops_per_sec(),
        e.ops_per_sec(),
    );
    let (kq, eq) = (k.quantile_ms(0.99), e.quantile_ms(0.99));
    report.cost(
        "replicas",
        "writes, 16 clients: p99 ms",
        at,
        Unit::Millis,
        kq,
        eq,
    );
}
