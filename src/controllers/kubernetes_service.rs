//! The `default/kubernetes` Service and its Endpoints: how workloads in the cluster find
//! the API servers (upstream's lease endpoint reconciler).
//!
//! Every replica keeps an identity Lease (`kube-system/keelson-apiserver-<id>`) that names
//! its address in an annotation; the controller lists the Leases renewed within their
//! duration and writes their addresses into the Endpoints, grouped by port, so a killed
//! replica drops out once its Lease goes stale. The Service itself is created once, with
//! the first address of the service range as its cluster IP, as upstream does.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, SystemTime};

use serde_json::{json, Value};

use super::lease::NAMESPACE as LEASE_NAMESPACE;
use super::Identity;
use crate::registry::list::{ListOptions, ReadAt};
use crate::registry::{Registry, RegistryError};

/// Prefix of the replicas' identity Lease names.
pub const IDENTITY_PREFIX: &str = "keelson-apiserver-";
/// Annotation on an identity Lease: the replica's API address, `IP:PORT`.
pub const ENDPOINT_ANNOTATION: &str = "keelson.dev/endpoint";
const NAME: &str = "kubernetes";
const NAMESPACE: &str = "default";

/// The API addresses (port → IPs) of replicas whose identity Lease is fresh.
async fn live_endpoints(
    registry: &Registry,
    max_age: Duration,
) -> Result<BTreeMap<u16, BTreeSet<String>>, RegistryError> {
    let leases = engine(registry, "coordination.k8s.io", "leases")?;
    let page = leases
        .list(Some(LEASE_NAMESPACE), &ListOptions::default())
        .await?;
    let now = SystemTime::now();
    let mut endpoints: BTreeMap<u16, BTreeSet<String>> = BTreeMap::new();
    for item in page
        .items
        .iter()
        .filter(|o| o.name.starts_with(IDENTITY_PREFIX))
    {
        let lease = item.decode();
        let fresh = lease["spec"]["renewTime"]
            .as_str()
            .and_then(|t| humantime::parse_rfc3339_weak(t).ok())
            .is_some_and(|renewed| now.duration_since(renewed).unwrap_or_default() < max_age);
        let address = lease["metadata"]["annotations"][ENDPOINT_ANNOTATION].as_str();
        let Some((ip, port)) = address.and_then(|a| a.rsplit_once(':')) else {
            continue;
        };
        // Endpoints hold IP addresses only; a replica advertised by name is left out.
        if ip.parse::<std::net::IpAddr>().is_err() {
            continue;
        }
        if let (true, Ok(port)) = (fresh, port.parse::<u16>()) {
            endpoints.entry(port).or_default().insert(ip.to_string());
        }
    }
    Ok(endpoints)
}

fn engine<'a>(
    registry: &'a Registry,
    group: &str,
    resource: &str,
) -> Result<&'a std::sync::Arc<crate::registry::Engine>, RegistryError> {
    registry
        .engine(group, resource)
        .ok_or_else(|| RegistryError::internal(format!("the {resource} kind is not registered")))
}

fn subsets(endpoints: &BTreeMap<u16, BTreeSet<String>>) -> Value {
    let subsets: Vec<Value> = endpoints
        .iter()
        .map(|(port, ips)| {
            json!({
                "addresses": ips.iter().map(|ip| json!({"ip": ip})).collect::<Vec<_>>(),
                "ports": [{"name": "https", "port": port, "protocol": "TCP"}],
            })
        })
        .collect();
    Value::Array(subsets)
}

/// Makes `default/kubernetes` (Service and Endpoints) match the live replicas.
pub async fn reconcile(
    registry: &Registry,
    identity: &Identity,
    max_age: Duration,
) -> Result<(), RegistryError> {
    let services = engine(registry, "", "services")?;
    // The first address of the service range, as upstream gives it.
    let service_ip = crate::registry::allocator::ranges().first_ip().to_string();
    let service = json!({
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": NAME, "namespace": NAMESPACE,
                     "labels": {"component": "apiserver", "provider": "kubernetes"}},
        "spec": {
            "type": "ClusterIP",
            "clusterIP": service_ip,
            "clusterIPs": [service_ip],
            "ipFamilies": ["IPv4"],
            "ipFamilyPolicy": "SingleStack",
            "sessionAffinity": "None",
            "internalTrafficPolicy": "Cluster",
            "ports": [{"name": "https", "port": 443, "protocol": "TCP", "targetPort": identity.port}],
        },
    });
    // Look in the cache first: a create that finds the Service present would still be a
    // Raft proposal (and an fsync) on every tick.
    match services.get(NAMESPACE, NAME, ReadAt::Any).await {
        Ok(_) => {}
        Err(RegistryError::NotFound { .. }) => match services.create(NAMESPACE, service).await {
            Ok(_) | Err(RegistryError::AlreadyExists { .. }) => {}
            Err(e) => return Err(e),
        },
        Err(e) => return Err(e),
    }
    let wanted = subsets(&live_endpoints(registry, max_age).await?);
    let endpoints = engine(registry, "", "endpoints")?;
    match endpoints.get(NAMESPACE, NAME, ReadAt::Latest).await {
        Ok(current) => {
            let mut current = current.decode();
            let have = current.get("subsets").cloned().unwrap_or(json!([]));
            if have == wanted {
                return Ok(());
            }
            tracing::info!(endpoints = %wanted, "updating the default/kubernetes endpoints");
            current["subsets"] = wanted;
            endpoints.update(NAMESPACE, NAME, current, false).await?;
        }
        Err(RegistryError::NotFound { .. }) => {
            let object = json!({
                "apiVersion": "v1",
                "kind": "Endpoints",
                "metadata": {"name": NAME, "namespace": NAMESPACE,
                             "labels": {"endpointslice.kubernetes.io/skip-mirror": "true"}},
                "subsets": wanted,
            });
            endpoints.create(NAMESPACE, object).await?;
        }
        Err(e) => return Err(e),
    }
    Ok(())
}
