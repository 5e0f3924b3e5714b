//! Updates with a resourceVersion precondition (issue #6): each client first creates
//! its own 1 KiB ConfigMap, then replaces it again and again with PUT, carrying the
//! resourceVersion the previous answer gave (no client ever conflicts). etcd's peer is
//! what kube-apiserver sends it for the same update: a txn comparing the key's
//! mod_revision, then a put. Used on one node and on three replicas.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Result;
use etcd_client::KvClient;

use super::{cpu_per_op, payload, Settings};
use crate::driver::{self, Stats};
use crate::etcd_node::EtcdNode;
use crate::etcd_ops::{self, Update};
use crate::keelson_api::{Api, UpdateConfigMap};
use crate::keelson_node::KeelsonNode;
use crate::report::{Report, Unit};

/// The updates points on one node.
pub(super) async fn single(
    s: &Settings,
    keelson: &KeelsonNode,
    etcd: &EtcdNode,
    report: &mut Report,
) -> Result<()> {
    let (k_cpu, e_cpu) = (|| keelson.cpu_time(), || etcd.cpu_time());
    for &c in &s.update_concurrency {
        let clients = (0..c).map(|_| keelson.client()).collect::<Result<_>>()?;
        let k = Side {
            clients,
            cpu: &k_cpu,
        };
        let e = Side {
            clients: etcd.clients(c).await?,
            cpu: &e_cpu,
        };
        let what = format!("updates with resourceVersion, {c} clients");
        point(s, &what, &format!("c{c}"), k, e, report).await;
    }
    Ok(())
}

/// One side of a point: its clients (one connection each) and the CPU clock of its
/// server(s).
pub(super) struct Side<'a, C> {
    pub clients: Vec<C>,
    pub cpu: &'a dyn Fn() -> Option<Duration>,
}

/// Measures one concurrency: `tag` keeps names apart between points and topologies.
pub(super) async fn point(
    s: &Settings,
    what: &str,
    tag: &str,
    keelson: Side<'_, Api>,
    etcd: Side<'_, KvClient>,
    report: &mut Report,
) {
    let value = payload();
    let (k, k_cpu) = keelson_side(s, tag, keelson, &value).await;
    let (e, e_cpu) = etcd_side(s, tag, etcd, &value).await;
    report.point(what, "updates", &k, &e);
    report.row(
        format!("{what}: server CPU µs per op"),
        Unit::Micros,
        k_cpu,
        e_cpu,
    );
}

async fn keelson_side(
    s: &Settings,
    tag: &str,
    side: Side<'_, Api>,
    value: &Arc<str>,
) -> (Stats, Option<f64>) {
    let mut ops = Vec::new();
    let mut setup = Stats::default();
    for (j, api) in side.clients.into_iter().enumerate() {
        let name = format!("upd-{tag}-{j}");
        match api.create_configmap_rv("default", &name, value).await {
            Ok(rv) => ops.push(UpdateConfigMap {
                api,
                namespace: "default".into(),
                name,
                rv,
                payload: value.clone(),
            }),
            Err(e) => note_setup_error(&mut setup, e),
        }
    }
    if ops.is_empty() {
        return (setup, None);
    }
    let cpu0 = (side.cpu)();
    let k = driver::run(&format!("updates {tag} keelson"), ops, s.timed()).await;
    let cpu = cpu_per_op(cpu0, (side.cpu)(), &k);
    (merge_setup(k, setup), cpu)
}

async fn etcd_side(
    s: &Settings,
    tag: &str,
    side: Side<'_, KvClient>,
    value: &Arc<str>,
) -> (Stats, Option<f64>) {
    let mut ops = Vec::new();
    let mut setup = Stats::default();
    for (j, mut kv) in side.clients.into_iter().enumerate() {
        let key = format!("/bench/updates/{tag}/{j}");
        match etcd_ops::put_rev(&mut kv, &key, value).await {
            Ok(rev) => ops.push(Update {
                kv,
                key,
                rev,
                value: value.clone(),
            }),
            Err(e) => note_setup_error(&mut setup, e),
        }
    }
    if ops.is_empty() {
        return (setup, None);
    }
    let cpu0 = (side.cpu)();
    let e = driver::run(&format!("updates {tag} etcd"), ops, s.timed()).await;
    let cpu = cpu_per_op(cpu0, (side.cpu)(), &e);
    (merge_setup(e, setup), cpu)
}

/// A client whose object could not be created is left out and counted as an error.
fn note_setup_error(setup: &mut Stats, e: String) {
    setup.errors += 1;
    if setup.first_errors.len() < 3 {
        setup
            .first_errors
            .push(format!("creating the object to update: {e}"));
    }
}

fn merge_setup(mut run: Stats, setup: Stats) -> Stats {
    run.errors += setup.errors;
    run.first_errors.extend(setup.first_errors);
    run
}
