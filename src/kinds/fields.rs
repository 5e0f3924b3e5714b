//! The fields each kind's field selectors may use beyond metadata.name and
//! metadata.namespace, with their values (upstream's `ToSelectableFields` in
//! pkg/registry/*/strategy.go). Every function names all of its fields even for an empty
//! object: the HTTP layer learns the supported names by calling it with `null`.

use serde_json::Value;

fn text(obj: &Value, path: &str) -> String {
    obj.pointer(path)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string()
}

fn number(obj: &Value, path: &str) -> String {
    obj.pointer(path)
        .and_then(Value::as_i64)
        .unwrap_or(0)
        .to_string()
}

fn flag(obj: &Value, path: &str) -> String {
    obj.pointer(path)
        .and_then(Value::as_bool)
        .unwrap_or(false)
        .to_string()
}

/// Pods: where they run, how, and their phase and first IP.
pub fn pod(obj: &Value) -> Vec<(&'static str, String)> {
    vec![
        ("spec.nodeName", text(obj, "/spec/nodeName")),
        ("spec.restartPolicy", text(obj, "/spec/restartPolicy")),
        ("spec.schedulerName", text(obj, "/spec/schedulerName")),
        (
            "spec.serviceAccountName",
            text(obj, "/spec/serviceAccountName"),
        ),
        ("spec.hostNetwork", flag(obj, "/spec/hostNetwork")),
        ("status.phase", text(obj, "/status/phase")),
        ("status.podIP", text(obj, "/status/podIPs/0/ip")),
        (
            "status.nominatedNodeName",
            text(obj, "/status/nominatedNodeName"),
        ),
    ]
}

/// Core Events: the object they are about, and who reported what.
pub fn event(obj: &Value) -> Vec<(&'static str, String)> {
    let mut source = text(obj, "/source/component");
    if source.is_empty() {
        source = text(obj, "/reportingComponent");
    }
    vec![
        ("involvedObject.kind", text(obj, "/involvedObject/kind")),
        (
            "involvedObject.namespace",
            text(obj, "/involvedObject/namespace"),
        ),
        ("involvedObject.name", text(obj, "/involvedObject/name")),
        ("involvedObject.uid", text(obj, "/involvedObject/uid")),
        (
            "involvedObject.apiVersion",
            text(obj, "/involvedObject/apiVersion"),
        ),
        (
            "involvedObject.resourceVersion",
            text(obj, "/involvedObject/resourceVersion"),
        ),
        (
            "involvedObject.fieldPath",
            text(obj, "/involvedObject/fieldPath"),
        ),
        ("reason", text(obj, "/reason")),
        ("reportingComponent", text(obj, "/reportingComponent")),
        ("source", source),
        ("type", text(obj, "/type")),
    ]
}

/// Nodes: whether they take new pods.
pub fn node(obj: &Value) -> Vec<(&'static str, String)> {
    vec![("spec.unschedulable", flag(obj, "/spec/unschedulable"))]
}

/// ReplicaSets and ReplicationControllers: their observed replicas.
pub fn replicas(obj: &Value) -> Vec<(&'static str, String)> {
    vec![("status.replicas", number(obj, "/status/replicas"))]
}

/// Jobs: how many pods succeeded.
pub fn job(obj: &Value) -> Vec<(&'static str, String)> {
    vec![("status.successful", number(obj, "/status/succeeded"))]
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn value<'a>(fields: &'a [(&'static str, String)], name: &str) -> &'a str {
        fields
            .iter()
            .find(|(f, _)| *f == name)
            .map_or("<missing>", |(_, v)| v.as_str())
    }

    #[test]
    fn pods_give_upstream_values_and_defaults() {
        let p = json!({"spec": {"nodeName": "n1", "hostNetwork": true},
            "status": {"phase": "Running", "podIPs": [{"ip": "10.0.0.2"}, {"ip": "fd00::2"}]}});
        let f = pod(&p);
        assert_eq!(value(&f, "spec.nodeName"), "n1");
        assert_eq!(value(&f, "spec.hostNetwork"), "true");
        assert_eq!(value(&f, "status.podIP"), "10.0.0.2");
        assert_eq!(value(&f, "status.phase"), "Running");
        let empty = pod(&Value::Null);
        assert_eq!(value(&empty, "spec.hostNetwork"), "false");
        assert_eq!(empty.len(), 8);
    }

    #[test]
    fn events_fall_back_to_the_reporting_component() {
        let e = json!({"involvedObject": {"kind": "Pod", "name": "x"}, "reportingComponent": "k"});
        let f = event(&e);
        assert_eq!(value(&f, "involvedObject.kind"), "Pod");
        assert_eq!(value(&f, "source"), "k");
        assert_eq!(
            value(
                &job(&json!({"status": {"succeeded": 3}})),
                "status.successful"
            ),
            "3"
        );
        assert_eq!(value(&replicas(&Value::Null), "status.replicas"), "0");
        assert_eq!(value(&node(&Value::Null), "spec.unschedulable"), "false");
    }
}
