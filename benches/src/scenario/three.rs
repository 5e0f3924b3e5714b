//! Three replicas: keelson ×3 behind HAProxy (cluster/local-up.sh) against a
//! three-member etcd, both running at once on loopback.
//!
//! 1. Writes at each concurrency: 1 KiB ConfigMap creates through HAProxy vs 1 KiB puts.
//!    Every client has one connection. HAProxy spreads keelson's (leastconn); etcd's are
//!    placed so that as many sit on the leader as HAProxy put on keelson's leader (read
//!    from HAProxy's sockets in /proc during the point), the rest alternate over the two
//!    followers; a follower forwards a write to its leader on both sides.
//! 2. Linearizable GETs of one object straight on a follower (keelson: GET with no
//!    resourceVersion, a read index from the leader) vs linearizable ranges of one key
//!    on an etcd follower.
//! 3. Updates with a resourceVersion precondition ([`super::updates`]), keelson's
//!    through HAProxy, etcd's clients spread over the members like the writes'.
//! 4. Footprint per replica ([`super::replicas`]).
//! 5. Watch fan-out on a follower ([`super::watch`]): watchers straight on a follower,
//!    writes through HAProxy (keelson) or to the leader (etcd).
//! 6. Leader failover under writers ([`super::failover`]).

use std::path::Path;
use std::time::Duration;

use anyhow::{Context, Result};

use super::writes::replica_cost;
use super::{cpu_per_op, failover, payload, replicas, updates, watch};
use super::{Binaries, Settings};
use crate::driver;
use crate::etcd_cluster::{EtcdCluster, MEMBERS};
use crate::etcd_node;
use crate::keelson_api::{CreateConfigMap, GetConfigMap, Protocol};
use crate::keelson_cluster::{KeelsonCluster, REPLICAS};
use crate::report::{Report, Unit};

/// How long local-up.sh may take (it gives up by itself after 60 s of waiting).
const UP_LIMIT: Duration = Duration::from_secs(150);
/// How long to wait for a leader to be named.
const LEADER_LIMIT: Duration = Duration::from_secs(15);

/// Runs the three-replica figures with processes and data under `dir`; fills `report`.
pub async fn run(s: &Settings, bins: &Binaries, dir: &Path, report: &mut Report) -> Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let mut keelson = KeelsonCluster::start(
        &bins.keelson,
        &bins.cluster_scripts,
        &dir.join("keelson"),
        UP_LIMIT,
    )
    .await
    .context("starting the keelson cluster")?;
    let mut etcd = EtcdCluster::start(&bins.etcd, &dir.join("etcd"), s.ready_limit)
        .await
        .context("starting the etcd cluster")?;
    let outcome = async {
        let mut stored = (0, 0);
        if s.wants("writes") {
            stored = writes(s, &keelson, &mut etcd, report).await?;
        }
        if s.wants("reads") {
            reads(s, &keelson, &mut etcd, report).await?;
            stored = (stored.0 + 1, stored.1 + 1);
        }
        if s.wants("updates") {
            let n = three_updates(s, &keelson, &etcd, report).await?;
            stored = (stored.0 + n, stored.1 + n);
        }
        if s.wants("replicas") {
            replicas::footprint(s, &keelson, &etcd, stored, report).await?;
        }
        if s.wants("watch") {
            three_watch(s, &keelson, &etcd, report).await?;
        }
        keelson.check_alive()?;
        if s.wants("failover") {
            failover::run(s, &mut keelson, &mut etcd, report).await?;
        }
        Ok(())
    }
    .await;
    if let Some(complaint) = keelson.stop(s.stop_grace).await {
        report.note(complaint);
    }
    for name in etcd.stop(s.stop_grace).await {
        report.note(format!(
            "etcd {name} did not exit within {:?} of SIGTERM and was killed",
            s.stop_grace
        ));
    }
    outcome
}

/// Returns the objects (keelson) and keys (etcd) created.
async fn writes(
    s: &Settings,
    keelson: &KeelsonCluster,
    etcd: &mut EtcdCluster,
    report: &mut Report,
) -> Result<(u64, u64)> {
    let mut stored = (0, 0);
    let payload = payload();
    for &c in &s.cluster_concurrency {
        let what = format!("writes, {c} client{}", if c == 1 { "" } else { "s" });
        let ops = (0..c)
            .map(|_| {
                Ok(CreateConfigMap {
                    api: keelson.client()?,
                    namespace: "default".into(),
                    prefix: format!("bench3-c{c}-"),
                    payload: payload.clone(),
                })
            })
            .collect::<Result<Vec<_>>>()?;
        let (cpu0, h0) = (keelson.cpu_time(), keelson.haproxy_cpu_time());
        let midpoint = s.warmup + s.point / 2;
        let label = format!("3x writes c={c} keelson");
        let (k, spread) = tokio::join!(driver::run(&label, ops, s.timed()), async {
            tokio::time::sleep(midpoint).await;
            keelson.backend_connections().await
        });
        let k_cpu = cpu_per_op(cpu0, keelson.cpu_time(), &k);
        let h_cpu = cpu_per_op(h0, keelson.haproxy_cpu_time(), &k);
        keelson.check_alive()?;
        let k_leader = keelson.leader(LEADER_LIMIT).await?;
        let on_leader = spread
            .filter(|sp| sp.iter().sum::<usize>() == c)
            .map(|sp| sp[k_leader]);
        eprintln!(
            "HAProxy backend connections n1..n3 {spread:?}, keelson leader n{}",
            k_leader + 1
        );
        if on_leader.is_none() {
            report.note(format!(
                "{what}: HAProxy's connections per replica could not be read from /proc \
                 (saw {spread:?}); etcd's clients were spread evenly instead"
            ));
        }

        let e_leader = etcd.leader(LEADER_LIMIT).await?;
        let placement = place(c, e_leader, on_leader);
        let mut ops = Vec::with_capacity(c);
        for &m in &placement {
            ops.push(etcd_node::Put {
                kv: etcd.client_to(m).await?,
                prefix: format!("/bench3/writes/c{c}/"),
                value: payload.clone(),
            });
        }
        let cpu0 = etcd.cpu_time();
        let e = driver::run(&format!("3x writes c={c} etcd"), ops, s.timed()).await;
        let e_cpu = cpu_per_op(cpu0, etcd.cpu_time(), &e);
        etcd.check_alive()?;
        let e_on_leader = placement.iter().filter(|&&m| m == e_leader).count();

        report.point(&what, "creates or puts", &k, &e);
        stored = (stored.0 + k.succeeded, stored.1 + e.succeeded);
        if c == 16 {
            replica_cost(report, "3", &k, &e);
        }
        report.row(
            format!("{what}: connections on the leader"),
            Unit::Count,
            on_leader.map(|n| n as f64),
            Some(e_on_leader as f64),
        );
        report.row(
            format!("{what}: server CPU µs per op, 3 servers"),
            Unit::Micros,
            k_cpu,
            e_cpu,
        );
        report.row(
            format!("{what}: HAProxy CPU µs per op"),
            Unit::Micros,
            h_cpu,
            None,
        );
    }
    Ok(stored)
}

/// Updates at each concurrency; returns how many objects each side created for them.
async fn three_updates(
    s: &Settings,
    keelson: &KeelsonCluster,
    etcd: &EtcdCluster,
    report: &mut Report,
) -> Result<u64> {
    let (k_cpu, e_cpu) = (|| keelson.cpu_time(), || etcd.cpu_time());
    let e_leader = etcd.leader(LEADER_LIMIT).await?;
    let mut created = 0;
    for &c in &s.update_concurrency {
        let clients = (0..c).map(|_| keelson.client()).collect::<Result<_>>()?;
        let mut kvs = Vec::with_capacity(c);
        for m in place(c, e_leader, None) {
            kvs.push(etcd.client_to(m).await?);
        }
        let k = updates::Side {
            clients,
            cpu: &k_cpu,
        };
        let e = updates::Side {
            clients: kvs,
            cpu: &e_cpu,
        };
        let what = format!("updates with resourceVersion, {c} clients");
        updates::point(s, &what, &format!("3x-c{c}"), k, e, report).await;
        created += c as u64;
    }
    Ok(created)
}

/// Fan-out to watchers on a follower of each cluster.
async fn three_watch(
    s: &Settings,
    keelson: &KeelsonCluster,
    etcd: &EtcdCluster,
    report: &mut Report,
) -> Result<()> {
    let w = s.three_watchers;
    let k_follower = (keelson.leader(LEADER_LIMIT).await? + 1) % REPLICAS;
    let watch_api = || keelson.replica_client_with(k_follower, s.watch_protocol());
    let k_cpu = || keelson.cpu_time();
    let writers = (0..watch::WRITE_CONNECTIONS)
        .map(|_| keelson.client_with(Protocol::Http2))
        .collect::<Result<_>>()?;
    let side = watch::KeelsonSide {
        watch: &watch_api,
        writers,
        cpu: &k_cpu,
    };
    let k = watch::keelson_point(s, w, &format!("3x-w{w}"), side, report).await?;
    let e_leader = etcd.leader(LEADER_LIMIT).await?;
    let e_follower = (e_leader + 1) % MEMBERS;
    let mut writers = Vec::new();
    for _ in 0..watch::WRITE_CONNECTIONS {
        writers.push(etcd.client_to(e_leader).await?);
    }
    let e_cpu = || etcd.cpu_time();
    let side = watch::EtcdSide {
        watch_url: etcd.url(e_follower),
        writers,
        cpu: &e_cpu,
    };
    let e = watch::etcd_point(s, w, &format!("3x-w{w}"), side, report).await?;
    let what = format!(
        "watch fan-out on a follower, {} watchers",
        crate::report::thousands(w as u64)
    );
    watch::rows(s, &what, &k, &e, report);
    Ok(())
}

/// The member each of `c` etcd clients connects to: `on_leader` of them on the leader,
/// the others alternating over the followers; without `on_leader`, round robin over
/// followers first, then the leader.
fn place(c: usize, leader: usize, on_leader: Option<usize>) -> Vec<usize> {
    let followers: Vec<usize> = (0..MEMBERS).filter(|&m| m != leader).collect();
    match on_leader {
        Some(n) => (0..c)
            .map(|j| {
                if j < n {
                    leader
                } else {
                    followers[(j - n) % followers.len()]
                }
            })
            .collect(),
        None => {
            let order: Vec<usize> = followers.iter().copied().chain([leader]).collect();
            (0..c).map(|j| order[j % order.len()]).collect()
        }
    }
}

async fn reads(
    s: &Settings,
    keelson: &KeelsonCluster,
    etcd: &mut EtcdCluster,
    report: &mut Report,
) -> Result<()> {
    let c = s.read_clients;
    let what = format!("GET one object on a follower, {c} clients");
    let (ns, name) = ("default", "bench3-get");
    let k_follower = (keelson.leader(LEADER_LIMIT).await? + 1) % REPLICAS;
    let (k_cpu, k) = match keelson
        .client()?
        .create_configmap(ns, name, &payload())
        .await
    {
        Ok(()) => {
            let ops = (0..c)
                .map(|_| {
                    Ok(GetConfigMap {
                        api: keelson.replica_client(k_follower)?,
                        namespace: ns.into(),
                        name: name.into(),
                    })
                })
                .collect::<Result<Vec<_>>>()?;
            let cpu0 = keelson.cpu_time();
            let label = format!("3x reads c={c} keelson n{}", k_follower + 1);
            let k = driver::run(&label, ops, s.timed()).await;
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
    if keelson.leader(LEADER_LIMIT).await? == k_follower {
        report.note(format!(
            "{what}, keelson: n{} became the leader during the point",
            k_follower + 1
        ));
    }

    let e_leader = etcd.leader(LEADER_LIMIT).await?;
    let e_follower = (e_leader + 1) % MEMBERS;
    let key = "/bench3/reads/one";
    etcd.client_to(e_leader)
        .await?
        .put(key, payload().as_bytes(), None)
        .await
        .context("etcd put for the GET figure")?;
    let mut ops = Vec::with_capacity(c);
    for _ in 0..c {
        ops.push(etcd_node::Get {
            kv: etcd.client_to(e_follower).await?,
            key: key.into(),
        });
    }
    let cpu0 = etcd.cpu_time();
    let label = format!("3x reads c={c} etcd e{}", e_follower + 1);
    let e = driver::run(&label, ops, s.timed()).await;
    let e_cpu = cpu_per_op(cpu0, etcd.cpu_time(), &e);
    etcd.check_alive()?;
    report.point(&what, "GETs or ranges", &k, &e);
    report.row(
        format!("{what}: server CPU µs per op, 3 servers"),
        Unit::Micros,
        k_cpu,
        e_cpu,
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::place;

    #[test]
    fn places_as_many_on_the_leader_as_asked_and_alternates_the_rest() {
        assert_eq!(place(1, 2, Some(0)), vec![0]);
        assert_eq!(place(1, 2, Some(1)), vec![2]);
        assert_eq!(place(5, 1, Some(1)), vec![1, 0, 2, 0, 2]);
        assert_eq!(place(4, 0, None), vec![1, 2, 0, 1]);
    }
}
