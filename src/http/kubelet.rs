//! Subresources a kubelet (or the cluster network) serves: pods/log, exec, attach,
//! portforward, proxy; nodes/proxy; services/proxy.
//!
//! keelson connects to no kubelet and no pod network. Each request is checked as
//! upstream checks it before connecting (the object exists, a container is named when
//! needed, the pod has a node, the service has endpoints), and answers upstream's error
//! for the first check that fails. A request that passes every check is answered as
//! upstream answers when the backend cannot be reached.

use actix_web::HttpResponse;
use serde_json::Value;

use super::resource::ResourceRequest;
use super::status::ApiError;
use super::subresource::Subresource;
use crate::registry::list::ReadAt;
use crate::registry::{Registry, RegistryError};

/// Upstream's answer when the node's kubelet cannot be dialled.
const NO_KUBELET: &str = "error dialing backend: keelson does not connect to kubelets";
/// Upstream's answer when a pod or service backend cannot be reached.
const NO_NETWORK: &str =
    "error trying to reach service: keelson does not proxy to the cluster network";

pub async fn serve(
    sub: &Subresource,
    request: &ResourceRequest<'_>,
    registry: &Registry,
) -> Result<HttpResponse, ApiError> {
    let engine = request.engine;
    // A proxy target may carry a scheme and port: `https:web:8443`.
    let name = match sub.name {
        "proxy" => proxy_target(&request.info.name)?,
        _ => request.info.name.clone(),
    };
    let object = engine
        .get(request.namespace(), &name, ReadAt::Latest)
        .await?
        .decode();
    match (sub.resource, sub.name) {
        ("pods", "log") => {
            container(&object, request.query.get("container"))?;
            if node_name(&object).is_empty() {
                // Upstream streams nothing for a pod not yet on a node.
                return Ok(HttpResponse::Ok().content_type("text/plain").finish());
            }
            Err(unreachable_node(registry, node_name(&object)).await)
        }
        ("pods", "exec" | "attach" | "portforward") => {
            if sub.name != "portforward" {
                container(&object, request.query.get("container"))?;
            }
            if node_name(&object).is_empty() {
                return Err(ApiError::bad_request(format!(
                    "pod {name} does not have a host assigned"
                )));
            }
            Err(unreachable_node(registry, node_name(&object)).await)
        }
        ("pods", _) => {
            let ip = object
                .pointer("/status/podIPs/0/ip")
                .or_else(|| object.pointer("/status/podIP"))
                .and_then(Value::as_str)
                .unwrap_or_default();
            if ip.parse::<std::net::IpAddr>().is_err() {
                return Err(ApiError::bad_request("address not allowed"));
            }
            Err(unavailable(NO_NETWORK))
        }
        ("nodes", _) => Err(node_unreachable(&object)),
        _ => service_proxy(request, registry, &name).await,
    }
}

/// `name`, `name:port` or `scheme:name:port` → the name (upstream's SplitSchemeNamePort).
fn proxy_target(id: &str) -> Result<String, ApiError> {
    let parts: Vec<&str> = id.split(':').collect();
    let name = match parts.as_slice() {
        [name] | [name, _] => *name,
        [scheme, name, _] if matches!(*scheme, "" | "http" | "https") => *name,
        _ => "",
    };
    if name.is_empty() {
        return Err(ApiError::bad_request(format!("invalid request {id:?}")));
    }
    Ok(name.to_string())
}

fn node_name(pod: &Value) -> &str {
    pod.pointer("/spec/nodeName")
        .and_then(Value::as_str)
        .unwrap_or_default()
}

/// Upstream's `validateContainer`: a named container must exist; none named is fine
/// only when the pod has exactly one.
fn container(pod: &Value, wanted: Option<&str>) -> Result<(), ApiError> {
    let name = pod
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let names = |path: &str| -> Vec<String> {
        pod.pointer(path)
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|c| c.get("name").and_then(Value::as_str).map(str::to_string))
            .collect()
    };
    let main = names("/spec/containers");
    let mut all = names("/spec/initContainers");
    all.extend(main.iter().cloned());
    all.extend(names("/spec/ephemeralContainers"));
    match wanted.filter(|c| !c.is_empty()) {
        Some(c) if all.iter().any(|n| n == c) => Ok(()),
        Some(c) => Err(ApiError::bad_request(format!(
            "container {c} is not valid for pod {name}"
        ))),
        None if main.len() == 1 => Ok(()),
        None if main.is_empty() => Err(ApiError::bad_request(format!(
            "a container name must be specified for pod {name}"
        ))),
        None => Err(ApiError::bad_request(format!(
            "a container name must be specified for pod {name}, choose one of: [{}]",
            all.join(" ")
        ))),
    }
}

/// The pod's node: missing is upstream's 404 for the node; present, it cannot be reached.
async fn unreachable_node(registry: &Registry, node: &str) -> ApiError {
    let Some(nodes) = registry.engine("", "nodes") else {
        return unavailable(NO_KUBELET);
    };
    match nodes.get("", node, ReadAt::Latest).await {
        Ok(found) => node_unreachable(&found.decode()),
        Err(e) => e.into(),
    }
}

/// Upstream's `GetConnectionInfo` for a node: no address to dial is an internal error
/// naming the addresses it knows; with one, the dial fails.
fn node_unreachable(node: &Value) -> ApiError {
    let addresses = node
        .pointer("/status/addresses")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    if addresses.is_empty() {
        return RegistryError::internal("no preferred addresses found; known addresses: []").into();
    }
    RegistryError::internal(NO_KUBELET).into()
}

/// A service with no ready endpoint is upstream's 503; with one, it cannot be reached.
async fn service_proxy(
    request: &ResourceRequest<'_>,
    registry: &Registry,
    name: &str,
) -> Result<HttpResponse, ApiError> {
    let endpoints = registry.engine("", "endpoints");
    let ready = match endpoints {
        Some(engine) => match engine.get(request.namespace(), name, ReadAt::Latest).await {
            Ok(found) => found
                .decode()
                .pointer("/subsets")
                .and_then(Value::as_array)
                .is_some_and(|subsets| {
                    subsets.iter().any(|s| {
                        s.get("addresses")
                            .and_then(Value::as_array)
                            .is_some_and(|a| !a.is_empty())
                    })
                }),
            Err(_) => false,
        },
        None => false,
    };
    if !ready {
        return Err(unavailable(&format!(
            "no endpoints available for service \"{name}\""
        )));
    }
    Err(unavailable(NO_NETWORK))
}

fn unavailable(message: &str) -> ApiError {
    RegistryError::Unavailable {
        message: message.to_string(),
        retry_after_seconds: 0,
    }
    .into()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn containers_are_checked_as_upstream() {
        let one = json!({"metadata": {"name": "p"}, "spec": {"containers": [{"name": "a"}]}});
        assert!(container(&one, None).is_ok());
        assert!(container(&one, Some("a")).is_ok());
        assert_eq!(
            container(&one, Some("b")).map_err(|e| e.to_string()),
            Err("container b is not valid for pod p".into())
        );
        let two = json!({"metadata": {"name": "p"}, "spec": {
            "initContainers": [{"name": "i"}], "containers": [{"name": "a"}, {"name": "b"}]}});
        assert_eq!(
            container(&two, None).map_err(|e| e.to_string()),
            Err("a container name must be specified for pod p, choose one of: [i a b]".into())
        );
    }

    #[test]
    fn proxy_targets_may_name_scheme_and_port() {
        assert_eq!(proxy_target("web").ok(), Some("web".into()));
        assert_eq!(proxy_target("web:80").ok(), Some("web".into()));
        assert_eq!(proxy_target("https:web:443").ok(), Some("web".into()));
        assert!(proxy_target("a:b:c:d").is_err());
    }
}
