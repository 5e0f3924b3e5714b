//! Services: upstream's defaults (type ClusterIP, sessionAffinity None,
//! internalTrafficPolicy Cluster, ports' protocol TCP and targetPort = port, IPv4 single
//! stack) and, on update, the allocated values a client left out carried over from the
//! stored Service. The cluster IP and node ports themselves are allocated by the engine
//! (`registry::allocator`), which needs the other Services and writes allocation records.

use serde_json::{json, Value};

use super::tables;
use crate::registry::error::FieldError;
use crate::registry::strategy::{Column, NameRule, Strategy};

pub struct Service;
pub const SERVICE: Service = Service;

fn set_default(map: &mut serde_json::Map<String, Value>, field: &str, value: Value) {
    if map.get(field).is_none_or(Value::is_null) {
        map.insert(field.into(), value);
    }
}

/// Upstream's defaulting of a Service's spec (SetDefaults_Service and the REST storage's
/// IP family defaults for a single-stack IPv4 cluster).
pub fn default_spec(service: &mut Value) {
    let Some(spec) = service.get_mut("spec").and_then(Value::as_object_mut) else {
        return;
    };
    set_default(spec, "type", json!("ClusterIP"));
    set_default(spec, "sessionAffinity", json!("None"));
    let service_type = spec["type"].as_str().unwrap_or("ClusterIP").to_string();
    if service_type != "ExternalName" {
        set_default(spec, "internalTrafficPolicy", json!("Cluster"));
        set_default(spec, "ipFamilies", json!(["IPv4"]));
        set_default(spec, "ipFamilyPolicy", json!("SingleStack"));
    }
    if matches!(service_type.as_str(), "NodePort" | "LoadBalancer") {
        set_default(spec, "externalTrafficPolicy", json!("Cluster"));
    }
    if service_type == "LoadBalancer" {
        set_default(spec, "allocateLoadBalancerNodePorts", json!(true));
    }
    if let Some(ports) = spec.get_mut("ports").and_then(Value::as_array_mut) {
        for port in ports.iter_mut().filter_map(Value::as_object_mut) {
            set_default(port, "protocol", json!("TCP"));
            if let Some(number) = port.get("port").cloned() {
                set_default(port, "targetPort", number);
            }
        }
    }
}

/// On update, what the client left out of the allocated fields keeps its stored value
/// (upstream's PatchAllocatedValues), so `kubectl apply` of a manifest without a cluster
/// IP does not try to take another.
fn carry_allocated(new: &mut Value, old: &Value) {
    let (old_spec, Some(spec)) = (
        &old["spec"],
        new.get_mut("spec").and_then(Value::as_object_mut),
    ) else {
        return;
    };
    let same_kind =
        |t: Option<&Value>| t.and_then(Value::as_str).unwrap_or("ClusterIP") != "ExternalName";
    if same_kind(spec.get("type")) && same_kind(old_spec.get("type")) {
        for field in ["clusterIP", "clusterIPs", "ipFamilies", "ipFamilyPolicy"] {
            if spec.get(field).is_none_or(|v| v.is_null() || v == "") {
                if let Some(value) = old_spec.get(field).filter(|v| !v.is_null()) {
                    spec.insert(field.into(), value.clone());
                }
            }
        }
    }
    let Some(ports) = spec.get_mut("ports").and_then(Value::as_array_mut) else {
        return;
    };
    for port in ports.iter_mut() {
        if port.get("nodePort").is_some_and(|n| !n.is_null()) {
            continue;
        }
        let stored = old_spec["ports"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|o| {
                o["port"] == port["port"]
                    && o["protocol"].as_str().unwrap_or("TCP")
                        == port["protocol"].as_str().unwrap_or("TCP")
            });
        if let Some(node_port) = stored
            .and_then(|o| o.get("nodePort"))
            .filter(|n| !n.is_null())
        {
            port["nodePort"] = node_port.clone();
        }
    }
}

impl Strategy for Service {
    fn name_rule(&self) -> NameRule {
        NameRule::Dns1035Label
    }

    fn prepare_for_create(&self, obj: &mut Value) {
        default_spec(obj);
    }

    fn prepare_for_update(&self, new: &mut Value, old: &Value) {
        carry_allocated(new, old);
        default_spec(new);
    }

    fn validate_update(&self, new: &Value, old: &Value) -> Vec<FieldError> {
        let (was, is) = (&old["spec"]["clusterIP"], &new["spec"]["clusterIP"]);
        let set = |v: &Value| v.as_str().is_some_and(|s| !s.is_empty());
        let external =
            new["spec"]["type"] == "ExternalName" || old["spec"]["type"] == "ExternalName";
        if set(was) && set(is) && was != is && !external {
            let ip = is.as_str().unwrap_or_default();
            return vec![FieldError::invalid(
                "spec.clusterIPs[0]",
                ip,
                "may not change once set",
            )];
        }
        Vec::new()
    }

    fn table_columns(&self) -> &'static [Column] {
        tables::core::SERVICE
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_as_upstream() {
        let mut svc = json!({"spec": {"ports": [{"port": 80}, {"port": 53, "protocol": "UDP", "targetPort": "dns"}]}});
        default_spec(&mut svc);
        let spec = &svc["spec"];
        assert_eq!(spec["type"], "ClusterIP");
        assert_eq!(spec["sessionAffinity"], "None");
        assert_eq!(spec["internalTrafficPolicy"], "Cluster");
        assert_eq!(spec["ipFamilies"], json!(["IPv4"]));
        assert_eq!(spec["ipFamilyPolicy"], "SingleStack");
        assert_eq!(
            spec["ports"][0],
            json!({"port": 80, "protocol": "TCP", "targetPort": 80})
        );
        assert_eq!(spec["ports"][1]["targetPort"], "dns");
        assert!(spec.get("externalTrafficPolicy").is_none());
    }

    #[test]
    fn updates_keep_allocated_values_left_out() {
        let old = json!({"spec": {"type": "NodePort", "clusterIP": "10.0.0.9", "clusterIPs": ["10.0.0.9"],
            "ports": [{"port": 80, "protocol": "TCP", "nodePort": 30080}]}});
        let mut new = json!({"spec": {"type": "NodePort", "ports": [{"port": 80}]}});
        SERVICE.prepare_for_update(&mut new, &old);
        assert_eq!(new["spec"]["clusterIP"], "10.0.0.9");
        assert_eq!(new["spec"]["ports"][0]["nodePort"], 30080);
        let mut moved = new.clone();
        moved["spec"]["clusterIP"] = json!("10.0.0.10");
        let errs = SERVICE.validate_update(&moved, &old);
        assert_eq!(errs[0].field, "spec.clusterIPs[0]");
    }
}
