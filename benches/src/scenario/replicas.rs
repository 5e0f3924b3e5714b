//! Footprint per replica in the three-replica setup (issue #6): after the writes of
//! the three-replica part, each keelson replica's and each etcd member's RSS and data
//! dir size, paired by role (the leader with the leader, then the followers in index
//! order), with the objects each side stored. A full run first tops the side with
//! fewer objects up to the other's count, so the pairs hold the same data.

use std::time::Duration;

use anyhow::Result;

use super::{payload, Settings};
use crate::driver::{self, Budget};
use crate::etcd_cluster::{EtcdCluster, MEMBERS};
use crate::etcd_node;
use crate::keelson_api::CreateConfigMap;
use crate::keelson_cluster::{KeelsonCluster, REPLICAS};
use crate::process::dir_size;
use crate::report::{mib, thousands, Report, Unit};

const LEADER_LIMIT: Duration = Duration::from_secs(15);

/// `stored`: the objects (keelson) and keys (etcd) the part has written so far.
pub(super) async fn footprint(
    s: &Settings,
    keelson: &KeelsonCluster,
    etcd: &EtcdCluster,
    stored: (u64, u64),
    report: &mut Report,
) -> Result<()> {
    let (mut k_n, mut e_n) = stored;
    if !s.quick && k_n != e_n {
        let target = k_n.max(e_n);
        if k_n < target {
            k_n += top_up_keelson(s, keelson, target - k_n).await?;
        } else {
            e_n += top_up_etcd(s, etcd, target - e_n).await?;
        }
    }
    report.row(
        "footprint: objects stored",
        Unit::Count,
        Some(k_n as f64),
        Some(e_n as f64),
    );
    let k_leader = keelson.leader(LEADER_LIMIT).await?;
    let e_leader = etcd.leader(LEADER_LIMIT).await?;
    let k_order = by_role(k_leader, REPLICAS);
    let e_order = by_role(e_leader, MEMBERS);
    let mb = |v: Option<u64>| v.map(mib);
    for (rank, (&k, &e)) in k_order.iter().zip(&e_order).enumerate() {
        let role = if rank == 0 {
            "leader".to_string()
        } else {
            format!("follower {rank}")
        };
        let who = format!("n{} vs e{}", k + 1, e + 1);
        report.row(
            format!("footprint, {role} ({who}): RSS MiB"),
            Unit::MiB,
            mb(keelson.rss_bytes(k)),
            mb(etcd.member(e).rss_bytes()),
        );
        report.row(
            format!("footprint, {role} ({who}): data dir (du) MiB"),
            Unit::MiB,
            Some(mib(dir_size(&keelson.data_dir(k)))),
            Some(mib(dir_size(etcd.member(e).data_dir()))),
        );
    }
    eprintln!(
        "footprint per replica after {} / {} objects",
        thousands(k_n),
        thousands(e_n)
    );
    Ok(())
}

/// The leader first, then the others in index order.
fn by_role(leader: usize, n: usize) -> Vec<usize> {
    std::iter::once(leader)
        .chain((0..n).filter(|&i| i != leader))
        .collect()
}

async fn top_up_keelson(s: &Settings, keelson: &KeelsonCluster, n: u64) -> Result<u64> {
    let value = payload();
    let ops = (0..64)
        .map(|_| {
            Ok(CreateConfigMap {
                api: keelson.client()?,
                namespace: "default".into(),
                prefix: "bench3-fill-".into(),
                payload: value.clone(),
            })
        })
        .collect::<Result<Vec<_>>>()?;
    let label = format!("3x top up {n} keelson");
    Ok(driver::run(&label, ops, Budget::count(n, s.load_limit))
        .await
        .succeeded)
}

async fn top_up_etcd(s: &Settings, etcd: &EtcdCluster, n: u64) -> Result<u64> {
    let value = payload();
    let leader = etcd.leader(LEADER_LIMIT).await?;
    let mut ops = Vec::new();
    for _ in 0..64 {
        ops.push(etcd_node::Put {
            kv: etcd.client_to(leader).await?,
            prefix: "/bench3/fill/".into(),
            value: value.clone(),
        });
    }
    let label = format!("3x top up {n} etcd");
    Ok(driver::run(&label, ops, Budget::count(n, s.load_limit))
        .await
        .succeeded)
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_leader_comes_first() {
        assert_eq!(super::by_role(1, 3), vec![1, 0, 2]);
    }
}
