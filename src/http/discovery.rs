//! API discovery: the legacy documents (/api, /apis, /api/v1, /apis/<g>, /apis/<g>/<v>)
//! and aggregated discovery (apidiscovery.k8s.io/v2), all built from the descriptors.

use serde_json::{json, Value};

use crate::registry::descriptor::ResourceDescriptor;

const STATUS_VERBS: &[&str] = &["get", "patch", "update"];

pub fn api_versions(server_address: &str) -> Value {
    json!({"kind": "APIVersions", "versions": ["v1"], "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": server_address}]})
}

fn group_entry(group: &str, version: &str) -> Value {
    let gv = json!({"groupVersion": format!("{group}/{version}"), "version": version});
    json!({"name": group, "versions": [gv.clone()], "preferredVersion": gv})
}

pub fn api_group_list(groups: &[(&str, &str)]) -> Value {
    let groups: Vec<Value> = groups.iter().map(|(g, v)| group_entry(g, v)).collect();
    json!({"kind": "APIGroupList", "apiVersion": "v1", "groups": groups})
}

pub fn api_group(group: &str, version: &str) -> Value {
    let mut g = group_entry(group, version);
    g["kind"] = json!("APIGroup");
    g["apiVersion"] = json!("v1");
    g
}

pub fn resource_list(group_version: &str, descs: &[&ResourceDescriptor]) -> Value {
    let mut resources = Vec::new();
    for d in descs {
        let mut r = json!({"name": d.resource, "singularName": d.singular, "namespaced": d.namespaced, "kind": d.kind, "verbs": d.verbs});
        if !d.short_names.is_empty() {
            r["shortNames"] = json!(d.short_names);
        }
        if !d.categories.is_empty() {
            r["categories"] = json!(d.categories);
        }
        resources.push(r);
        // Upstream lists a resource's subresources in name order.
        let mut subs = Vec::new();
        if d.status {
            subs.push(json!({"name": format!("{}/status", d.resource), "singularName": "", "namespaced": d.namespaced, "kind": d.kind, "verbs": STATUS_VERBS}));
        }
        for sub in super::subresource::of(d) {
            let mut r = json!({"name": format!("{}/{}", d.resource, sub.name), "singularName": "", "namespaced": d.namespaced, "kind": sub.kind, "verbs": sub.verbs});
            if let Some((group, version)) = sub.kind_group_version {
                r["group"] = json!(group);
                r["version"] = json!(version);
            }
            subs.push(r);
        }
        subs.sort_by(|a, b| a["name"].as_str().cmp(&b["name"].as_str()));
        resources.extend(subs);
    }
    json!({"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": group_version, "resources": resources})
}

fn discovery_resource(d: &ResourceDescriptor) -> Value {
    let kind = json!({"group": d.group, "version": d.version, "kind": d.kind});
    let mut r = json!({
        "resource": d.resource,
        "responseKind": kind,
        "scope": if d.namespaced { "Namespaced" } else { "Cluster" },
        "singularResource": d.singular,
        "verbs": d.verbs,
    });
    if !d.short_names.is_empty() {
        r["shortNames"] = json!(d.short_names);
    }
    if !d.categories.is_empty() {
        r["categories"] = json!(d.categories);
    }
    let mut subresources = Vec::new();
    if d.status {
        subresources
            .push(json!({"subresource": "status", "responseKind": kind, "verbs": STATUS_VERBS}));
    }
    for sub in super::subresource::of(d) {
        let (group, version) = sub.kind_group_version.unwrap_or(("", ""));
        subresources.push(json!({
            "subresource": sub.name,
            "responseKind": {"group": group, "version": version, "kind": sub.kind},
            "verbs": sub.verbs,
        }));
    }
    if !subresources.is_empty() {
        subresources.sort_by(|a, b| a["subresource"].as_str().cmp(&b["subresource"].as_str()));
        r["subresources"] = Value::Array(subresources);
    }
    r
}

/// Aggregated discovery for the core group (`legacy`) or all named groups.
pub fn aggregated(descs: &[&ResourceDescriptor], groups: &[(&str, &str)], legacy: bool) -> Value {
    let items: Vec<Value> = if legacy {
        vec![group_item("", "v1", descs)]
    } else {
        groups
            .iter()
            .map(|(g, v)| group_item(g, v, descs))
            .collect()
    };
    json!({"kind": "APIGroupDiscoveryList", "apiVersion": "apidiscovery.k8s.io/v2", "metadata": {}, "items": items})
}

fn group_item(group: &str, version: &str, descs: &[&ResourceDescriptor]) -> Value {
    let resources: Vec<Value> = descs
        .iter()
        .filter(|d| d.group == group && d.version == version)
        .map(|d| discovery_resource(d))
        .collect();
    json!({"metadata": {"name": group, "creationTimestamp": null}, "versions": [{"version": version, "resources": resources, "freshness": "Current"}]})
}

pub const AGGREGATED_CONTENT_TYPE: &str =
    "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList";
