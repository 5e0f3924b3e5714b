//! The built-in controllers on a three-replica cluster: exactly one replica holds the
//! controller Lease, the `default/kubernetes` Endpoints list every live replica's API
//! address, and when the holder is killed another replica takes the Lease over and the
//! dead replica leaves the Endpoints.

mod support;

use std::collections::BTreeSet;
use std::time::Duration;

use serde_json::Value;
use support::cluster::Cluster;
use support::eventually;

const CONTROLLER_LEASE: &str =
    "/apis/coordination.k8s.io/v1/namespaces/kube-system/leases/keelson-controller-manager";
const ENDPOINTS: &str = "/api/v1/namespaces/default/endpoints/kubernetes";
/// Lease expiry (15 s) plus a few ticks; identity Lease freshness (25 s) plus a tick.
const TAKEOVER_TIMEOUT: Duration = Duration::from_secs(40);

async fn get(cluster: &Cluster, path: &str) -> Option<Value> {
    let resp = cluster
        .http()
        .get(Cluster::url(cluster.haproxy_addr(), path))
        .timeout(Duration::from_secs(5))
        .send()
        .await
        .ok()?;
    if !resp.status().is_success() {
        return None;
    }
    resp.json().await.ok()
}

/// The API ports the Endpoints list.
fn endpoint_ports(endpoints: &Value) -> BTreeSet<u16> {
    endpoints["subsets"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|s| s["addresses"][0]["ip"] == "127.0.0.1")
        .filter_map(|s| s["ports"][0]["port"].as_u64())
        .filter_map(|p| u16::try_from(p).ok())
        .collect()
}

fn ports_of(cluster: &Cluster, ids: &[u64]) -> BTreeSet<u16> {
    ids.iter()
        .map(|id| cluster.replica_addr(*id).port())
        .collect()
}

#[tokio::test]
async fn kubernetes_endpoints_follow_live_replicas_and_controllers_fail_over() {
    let mut cluster = Cluster::start().await;
    let all = ports_of(&cluster, &[1, 2, 3]);
    eventually(
        "default/kubernetes lists all three replicas",
        TAKEOVER_TIMEOUT,
        || async {
            let endpoints = get(&cluster, ENDPOINTS).await?;
            (endpoint_ports(&endpoints) == all).then_some(())
        },
    )
    .await;
    let service = get(&cluster, "/api/v1/namespaces/default/services/kubernetes")
        .await
        .expect("the default/kubernetes Service exists");
    assert_eq!(service["spec"]["clusterIP"], "10.0.0.1");
    assert_eq!(service["spec"]["ports"][0]["port"], 443);

    let holder = |lease: &Value| lease["spec"]["holderIdentity"].as_str().map(str::to_string);
    let first = eventually("a controller Lease holder", TAKEOVER_TIMEOUT, || async {
        holder(&get(&cluster, CONTROLLER_LEASE).await?)
    })
    .await;
    let holder_id: u64 = first
        .strip_prefix("keelson-apiserver-")
        .and_then(|id| id.parse().ok())
        .unwrap_or_else(|| panic!("unexpected holder {first:?}"));

    cluster.kill9(holder_id);
    let survivors: Vec<u64> = [1, 2, 3]
        .into_iter()
        .filter(|id| *id != holder_id)
        .collect();
    let next = eventually(
        "another replica takes the controller Lease",
        TAKEOVER_TIMEOUT,
        || async {
            let lease = get(&cluster, CONTROLLER_LEASE).await?;
            holder(&lease).filter(|h| *h != first)
        },
    )
    .await;
    assert!(
        survivors
            .iter()
            .any(|id| next == format!("keelson-apiserver-{id}")),
        "the new holder {next} is a survivor"
    );
    let live = ports_of(&cluster, &survivors);
    eventually(
        "the killed replica leaves default/kubernetes",
        TAKEOVER_TIMEOUT,
        || async {
            let endpoints = get(&cluster, ENDPOINTS).await?;
            (endpoint_ports(&endpoints) == live).then_some(())
        },
    )
    .await;
}
