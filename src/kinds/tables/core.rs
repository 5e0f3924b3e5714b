//! Core (`v1`) kinds' columns, except pods and events: services, endpoints, nodes,
//! service accounts, replication controllers, pod templates and resource quotas.
//! Persistent volumes and claims are in `storage.rs`.

use std::collections::BTreeSet;

use serde_json::Value;

use super::format::{
    container_images, container_names, format_labels, int, int_or, list, map, or_none, text,
};
use super::{AGE, CONTAINERS_DESCRIPTION, IMAGES_DESCRIPTION, NAME};
use crate::registry::strategy::Column;

// === services ===

/// Upstream defaults an absent Service type to ClusterIP.
fn service_type(svc: &Value) -> &str {
    match text(svc, "/spec/type") {
        "" => "ClusterIP",
        t => t,
    }
}

/// Load-balancer ingress points: IPs, else hostnames, sorted and without repeats.
pub fn load_balancer_ingress(obj: &Value) -> String {
    let points: BTreeSet<&str> = list(obj, "/status/loadBalancer/ingress")
        .iter()
        .map(|i| match text(i, "/ip") {
            "" => text(i, "/hostname"),
            ip => ip,
        })
        .filter(|p| !p.is_empty())
        .collect();
    points.into_iter().collect::<Vec<_>>().join(",")
}

/// EXTERNAL-IP, as upstream's `getServiceExternalIP` with wide output (the server never
/// clips it).
pub fn external_ip(svc: &Value) -> String {
    let external: Vec<&str> = list(svc, "/spec/externalIPs")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    match service_type(svc) {
        "ClusterIP" | "NodePort" => or_none(&external.join(",")),
        "LoadBalancer" => {
            let ingress = load_balancer_ingress(svc);
            let mut all: Vec<&str> = ingress.split(',').filter(|s| !s.is_empty()).collect();
            if !external.is_empty() {
                all.extend(external);
                return all.join(",");
            }
            if ingress.is_empty() {
                "<pending>".into()
            } else {
                ingress
            }
        }
        "ExternalName" => text(svc, "/spec/externalName").to_string(),
        _ => "<unknown>".into(),
    }
}

/// PORT(S): `port/protocol`, or `port:nodePort/protocol`, joined with ",".
pub fn ports(svc: &Value) -> String {
    let pieces: Vec<String> = list(svc, "/spec/ports")
        .iter()
        .map(|p| {
            let protocol = match text(p, "/protocol") {
                "" => "TCP",
                protocol => protocol,
            };
            match int(p, "/nodePort") {
                node_port if node_port > 0 => {
                    format!("{}:{node_port}/{protocol}", int(p, "/port"))
                }
                _ => format!("{}/{protocol}", int(p, "/port")),
            }
        })
        .collect();
    or_none(&pieces.join(","))
}

fn cluster_ip(svc: &Value) -> String {
    let first = list(svc, "/spec/clusterIPs")
        .first()
        .and_then(Value::as_str)
        .unwrap_or_else(|| text(svc, "/spec/clusterIP"));
    or_none(first)
}

pub const SERVICE: &[Column] = &[
    NAME,
    Column::new("Type", "type determines how the Service is exposed. Defaults to ClusterIP. Valid options are ExternalName, ClusterIP, NodePort, and LoadBalancer. \"ClusterIP\" allocates a cluster-internal IP address for load-balancing to endpoints. Endpoints are determined by the selector or if that is not specified, by manual construction of an Endpoints object or EndpointSlice objects. If clusterIP is \"None\", no virtual IP is allocated and the endpoints are published as a set of endpoints rather than a virtual IP. \"NodePort\" builds on ClusterIP and allocates a port on every node which routes to the same endpoints as the clusterIP. \"LoadBalancer\" builds on NodePort and creates an external load-balancer (if supported in the current cloud) which routes to the same endpoints as the clusterIP. \"ExternalName\" aliases this service to the specified externalName. Several other fields do not apply to ExternalName services. More info: https://kubernetes.io/docs/concepts/services-networking/service/#publishing-services-service-types", |o, _| service_type(o).into()),
    Column::new("Cluster-IP", "clusterIP is the IP address of the service and is usually assigned randomly. If an address is specified manually, is in-range (as per system configuration), and is not in use, it will be allocated to the service; otherwise creation of the service will fail. This field may not be changed through updates unless the type field is also being changed to ExternalName (which requires this field to be blank) or the type field is being changed from ExternalName (in which case this field may optionally be specified, as describe above).  Valid values are \"None\", empty string (\"\"), or a valid IP address. Setting this to \"None\" makes a \"headless service\" (no virtual IP), which is useful when direct endpoint connections are preferred and proxying is not required.  Only applies to types ClusterIP, NodePort, and LoadBalancer. If this field is specified when creating a Service of type ExternalName, creation will fail. This field will be wiped when updating a Service to type ExternalName. More info: https://kubernetes.io/docs/concepts/services-networking/service/#virtual-ips-and-service-proxies", |o, _| cluster_ip(o).into()),
    Column::new("External-IP", "externalIPs is a list of IP addresses for which nodes in the cluster will also accept traffic for this service.  These IPs are not managed by Kubernetes.  The user is responsible for ensuring that traffic arrives at a node with this IP.  A common example is external load-balancers that are not part of the Kubernetes system.", |o, _| external_ip(o).into()),
    Column::new("Port(s)", "The list of ports that are exposed by this service. More info: https://kubernetes.io/docs/concepts/services-networking/service/#virtual-ips-and-service-proxies", |o, _| ports(o).into()),
    AGE,
    Column::new("Selector", "Route service traffic to pods with label keys and values matching this selector. If empty or not present, the service is assumed to have an external process managing its endpoints, which Kubernetes will not modify. Only applies to types ClusterIP, NodePort, and LoadBalancer. Ignored if type is ExternalName. More info: https://kubernetes.io/docs/concepts/services-networking/service/", |o, _| format_labels(map(o, "/spec/selector")).into()).wide(),
];

// === endpoints ===

/// ENDPOINTS: up to three `ip:port` (or bare IPs for port-less subsets), then
/// " + N more...", as upstream's `formatEndpoints`.
pub fn endpoints(obj: &Value) -> String {
    const MAX: usize = 3;
    let subsets = list(obj, "/subsets");
    if subsets.is_empty() {
        return "<none>".into();
    }
    let mut shown: Vec<String> = Vec::new();
    let mut count = 0;
    for subset in subsets {
        let addresses: Vec<&str> = list(subset, "/addresses")
            .iter()
            .map(|a| text(a, "/ip"))
            .collect();
        let ports = list(subset, "/ports");
        if ports.is_empty() {
            count += addresses.len();
            shown.extend(addresses.iter().map(|ip| ip.to_string()));
            continue;
        }
        for port in ports {
            count += addresses.len();
            for ip in &addresses {
                let port = int(port, "/port");
                shown.push(if ip.contains(':') {
                    format!("[{ip}]:{port}")
                } else {
                    format!("{ip}:{port}")
                });
            }
        }
    }
    if shown.len() > MAX {
        return format!("{} + {} more...", shown[..MAX].join(","), count - MAX);
    }
    shown.join(",")
}

pub const ENDPOINTS: &[Column] = &[
    NAME,
    Column::new("Endpoints", "The set of all endpoints is the union of all subsets. Addresses are placed into subsets according to the IPs they share. A single address with multiple ports, some of which are ready and some of which are not (because they come from different containers) will result in the address being displayed in different subsets for the different ports. No address will appear in both Addresses and NotReadyAddresses in the same subset. Sets of addresses and ports that comprise a service.", |o, _| endpoints(o).into()),
    AGE,
];

// === nodes ===

/// STATUS: Ready / NotReady / Unknown, then SchedulingDisabled when cordoned.
fn node_status(node: &Value) -> String {
    let ready = list(node, "/status/conditions")
        .iter()
        .rev()
        .find(|c| text(c, "/type") == "Ready");
    let mut status = vec![match ready {
        Some(c) if text(c, "/status") == "True" => "Ready",
        Some(_) => "NotReady",
        None => "Unknown",
    }];
    if node
        .pointer("/spec/unschedulable")
        .and_then(Value::as_bool)
        .unwrap_or(false)
    {
        status.push("SchedulingDisabled");
    }
    status.join(",")
}

/// ROLES: from `node-role.kubernetes.io/<role>` and `kubernetes.io/role` labels.
fn node_roles(node: &Value) -> String {
    let mut roles = BTreeSet::new();
    for (key, value) in map(node, "/metadata/labels").into_iter().flatten() {
        if let Some(role) = key.strip_prefix("node-role.kubernetes.io/") {
            if !role.is_empty() {
                roles.insert(role.to_string());
            }
        } else if key == "kubernetes.io/role" {
            if let Some(role) = value.as_str().filter(|r| !r.is_empty()) {
                roles.insert(role.to_string());
            }
        }
    }
    or_none(&roles.into_iter().collect::<Vec<_>>().join(","))
}

fn node_address(node: &Value, type_: &str) -> String {
    let found = list(node, "/status/addresses")
        .iter()
        .find(|a| text(a, "/type") == type_)
        .map_or("", |a| text(a, "/address"));
    or_none(found)
}

fn node_info(node: &Value, field: &str) -> Value {
    match text(node, &format!("/status/nodeInfo/{field}")) {
        "" => "<unknown>".into(),
        v => v.into(),
    }
}

const NODE_ADDRESSES: &str = "List of addresses reachable to the node. Queried from cloud provider, if available. More info: https://kubernetes.io/docs/reference/node/node-status/#addresses Note: This field is declared as mergeable, but the merge key is not sufficiently unique, which can cause data corruption when it is merged. Callers should instead use a full-replacement patch. See https://pr.k8s.io/79391 for an example. Consumers should assume that addresses can change during the lifetime of a Node. However, there are some exceptions where this may not be possible, such as Pods that inherit a Node's address in its own status or consumers of the downward API (status.hostIP).";

pub const NODE: &[Column] = &[
    NAME,
    Column::new("Status", "The status of the node", |o, _| node_status(o).into()),
    Column::new("Roles", "The roles of the node", |o, _| node_roles(o).into()),
    AGE,
    Column::new("Version", "Kubelet Version reported by the node.", |o, _| text(o, "/status/nodeInfo/kubeletVersion").into()),
    Column::new("Internal-IP", NODE_ADDRESSES, |o, _| node_address(o, "InternalIP").into()).wide(),
    Column::new("External-IP", NODE_ADDRESSES, |o, _| node_address(o, "ExternalIP").into()).wide(),
    Column::new("OS-Image", "OS Image reported by the node from /etc/os-release (e.g. Debian GNU/Linux 7 (wheezy)).", |o, _| node_info(o, "osImage")).wide(),
    Column::new("Kernel-Version", "Kernel Version reported by the node from 'uname -r' (e.g. 3.16.0-0.bpo.4-amd64).", |o, _| node_info(o, "kernelVersion")).wide(),
    Column::new("Container-Runtime", "ContainerRuntime Version reported by the node through runtime remote API (e.g. containerd://1.4.2).", |o, _| node_info(o, "containerRuntimeVersion")).wide(),
];

// === service accounts ===

pub const SERVICE_ACCOUNT: &[Column] = &[
    NAME,
    Column::new("Secrets", "Secrets is a list of the secrets in the same namespace that pods running using this ServiceAccount are allowed to use. Pods are only limited to this list if this service account has a \"kubernetes.io/enforce-mountable-secrets\" annotation set to \"true\". The \"kubernetes.io/enforce-mountable-secrets\" annotation is deprecated since v1.32. Prefer separate namespaces to isolate access to mounted secrets. This field should not be used to find auto-generated service account token secrets for use outside of pods. Instead, tokens can be requested directly using the TokenRequest API, or service account token secrets can be manually created. More info: https://kubernetes.io/docs/concepts/configuration/secret", |o, _| list(o, "/secrets").len().into()),
    AGE,
];

// === replication controllers and pod templates ===

pub const REPLICATION_CONTROLLER: &[Column] = &[
    NAME,
    Column::new("Desired", "Replicas is the number of desired replicas. This is a pointer to distinguish between explicit zero and unspecified. Defaults to 1. More info: https://kubernetes.io/docs/concepts/workloads/controllers/replicationcontroller#what-is-a-replicationcontroller", |o, _| int_or(o, "/spec/replicas", 1).into()).typed("integer"),
    Column::new("Current", "Replicas is the most recently observed number of replicas. More info: https://kubernetes.io/docs/concepts/workloads/controllers/replicationcontroller#what-is-a-replicationcontroller", |o, _| int(o, "/status/replicas").into()).typed("integer"),
    Column::new("Ready", "The number of ready replicas for this replication controller.", |o, _| int(o, "/status/readyReplicas").into()).typed("integer"),
    AGE,
    Column::new("Containers", CONTAINERS_DESCRIPTION, |o, _| container_names(o, "/spec/template/spec")).wide(),
    Column::new("Images", IMAGES_DESCRIPTION, |o, _| container_images(o, "/spec/template/spec")).wide(),
    Column::new("Selector", "Selector is a label query over pods that should match the Replicas count. If Selector is empty, it is defaulted to the labels present on the Pod template. Label keys and values that must match in order to be controlled by this replication controller, if empty defaulted to labels on Pod template. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/labels/#label-selectors", |o, _| format_labels(map(o, "/spec/selector")).into()).wide(),
];

pub const POD_TEMPLATE: &[Column] = &[
    NAME,
    Column::new("Containers", CONTAINERS_DESCRIPTION, |o, _| {
        container_names(o, "/template/spec")
    }),
    Column::new("Images", IMAGES_DESCRIPTION, |o, _| {
        container_images(o, "/template/spec")
    }),
    Column::new("Pod Labels", "The labels for the pod template.", |o, _| {
        format_labels(map(o, "/template/metadata/labels")).into()
    }),
];

// === resource quotas ===

/// REQUEST and LIMIT: `resource: used/hard` for each hard limit in name order; names
/// starting with `limits.` go to LIMIT.
fn quota(obj: &Value, limits: bool) -> Value {
    let used = map(obj, "/status/used");
    let mut hard: Vec<(&String, &Value)> = map(obj, "/status/hard").into_iter().flatten().collect();
    hard.sort_by(|a, b| a.0.cmp(b.0));
    let mut pieces = Vec::new();
    for (resource, hard) in hard {
        let is_limit = resource.split('.').next() == Some("limits") && resource.contains('.');
        if is_limit != limits {
            continue;
        }
        let used = used
            .and_then(|u| u.get(resource))
            .and_then(Value::as_str)
            .unwrap_or("0");
        pieces.push(format!(
            "{resource}: {used}/{}",
            hard.as_str().unwrap_or("0")
        ));
    }
    Value::String(pieces.join(", "))
}

pub const RESOURCE_QUOTA: &[Column] = &[
    NAME,
    Column::new("Request", "Request represents a minimum amount of cpu/memory that a container may consume.", |o, _| quota(o, false)),
    Column::new("Limit", "Limits control the maximum amount of cpu/memory that a container may use independent of contention on the node.", |o, _| quota(o, true)),
    AGE,
];

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::super::testing::{cell, header};
    use super::*;

    #[test]
    fn service_cells() {
        let svc = json!({"spec": {"type": "NodePort", "clusterIP": "10.96.0.10",
            "ports": [{"port": 80, "protocol": "TCP"}, {"port": 443, "nodePort": 30443}],
            "selector": {"app": "web"}}});
        assert_eq!(
            cell(SERVICE, &svc, "Port(s)"),
            json!("80/TCP,443:30443/TCP")
        );
        assert_eq!(cell(SERVICE, &svc, "External-IP"), json!("<none>"));
        assert_eq!(cell(SERVICE, &svc, "Cluster-IP"), json!("10.96.0.10"));
        assert_eq!(cell(SERVICE, &svc, "Selector"), json!("app=web"));
        let lb = json!({"spec": {"type": "LoadBalancer"}});
        assert_eq!(cell(SERVICE, &lb, "External-IP"), json!("<pending>"));
        assert_eq!(cell(SERVICE, &lb, "Port(s)"), json!("<none>"));
        assert_eq!(cell(SERVICE, &lb, "Cluster-IP"), json!("<none>"));
        let lb_up = json!({"spec": {"type": "LoadBalancer", "externalIPs": ["1.2.3.4"]},
            "status": {"loadBalancer": {"ingress": [{"ip": "5.6.7.8"}, {"hostname": "lb.example.com"}]}}});
        assert_eq!(
            cell(SERVICE, &lb_up, "External-IP"),
            json!("5.6.7.8,lb.example.com,1.2.3.4")
        );
        let ext = json!({"spec": {"type": "ExternalName", "externalName": "db.example.com"}});
        assert_eq!(cell(SERVICE, &ext, "External-IP"), json!("db.example.com"));
        assert_eq!(cell(SERVICE, &json!({}), "Type"), json!("ClusterIP"));
        assert_eq!(
            header(SERVICE),
            [
                "Name",
                "Type",
                "Cluster-IP",
                "External-IP",
                "Port(s)",
                "Age",
                "Selector*"
            ]
        );
    }

    #[test]
    fn endpoints_cells() {
        let ep = json!({"subsets": [{"addresses": [{"ip": "10.0.0.1"}, {"ip": "10.0.0.2"}],
            "ports": [{"port": 80}, {"port": 81}]}]});
        assert_eq!(
            endpoints(&ep),
            "10.0.0.1:80,10.0.0.2:80,10.0.0.1:81 + 1 more..."
        );
        assert_eq!(endpoints(&json!({})), "<none>");
        let headless = json!({"subsets": [{"addresses": [{"ip": "fd00::1"}]}]});
        assert_eq!(endpoints(&headless), "fd00::1");
    }

    #[test]
    fn node_cells() {
        let node = json!({"metadata": {"labels": {"node-role.kubernetes.io/control-plane": "", "kubernetes.io/role": "worker"}},
            "spec": {"unschedulable": true},
            "status": {"conditions": [{"type": "Ready", "status": "False"}],
                "addresses": [{"type": "InternalIP", "address": "192.168.1.2"}]}});
        assert_eq!(
            cell(NODE, &node, "Status"),
            json!("NotReady,SchedulingDisabled")
        );
        assert_eq!(cell(NODE, &node, "Roles"), json!("control-plane,worker"));
        assert_eq!(cell(NODE, &node, "Internal-IP"), json!("192.168.1.2"));
        assert_eq!(cell(NODE, &node, "External-IP"), json!("<none>"));
        assert_eq!(cell(NODE, &node, "OS-Image"), json!("<unknown>"));
        assert_eq!(cell(NODE, &json!({}), "Status"), json!("Unknown"));
    }

    #[test]
    fn quota_cells() {
        let rq = json!({"status": {"hard": {"pods": "10", "limits.cpu": "2", "requests.cpu": "1"},
            "used": {"pods": "3"}}});
        assert_eq!(
            cell(RESOURCE_QUOTA, &rq, "Request"),
            json!("pods: 3/10, requests.cpu: 0/1")
        );
        assert_eq!(cell(RESOURCE_QUOTA, &rq, "Limit"), json!("limits.cpu: 0/2"));
    }
}
