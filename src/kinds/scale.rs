//! The `scale` subresource: an autoscaling/v1 Scale seen through a workload (upstream's
//! `ScaleREST` for deployments, replicasets, statefulsets and replicationcontrollers).
//!
//! Reading builds the Scale from the parent; writing changes only the parent's
//! `spec.replicas`, with the Scale's resourceVersion (when given) as precondition. Both
//! are pure functions; the HTTP layer runs them through the parent's engine.

use serde_json::{json, Value};

use super::tables::format::selector_string;
use crate::registry::error::{FieldError, RegistryError, Subject};
use crate::registry::object;

/// The resources (group, plural) that have a `scale` subresource.
const SCALABLE: &[(&str, &str)] = &[
    ("apps", "deployments"),
    ("apps", "replicasets"),
    ("apps", "statefulsets"),
    ("", "replicationcontrollers"),
];

pub fn has_scale(group: &str, resource: &str) -> bool {
    SCALABLE.contains(&(group, resource))
}

/// The Scale of `parent`: its identity (name, namespace, uid, resourceVersion,
/// creationTimestamp), desired and observed replicas, and its selector as a string.
pub fn scale_of(parent: &Value) -> Value {
    let mut metadata = serde_json::Map::new();
    for field in [
        "name",
        "namespace",
        "uid",
        "resourceVersion",
        "creationTimestamp",
    ] {
        if let Some(value) = object::meta(parent).and_then(|m| m.get(field)) {
            metadata.insert(field.into(), value.clone());
        }
    }
    let replicas = |path: &str| parent.pointer(path).and_then(Value::as_i64).unwrap_or(0);
    let mut spec = json!({});
    if let Some(desired) = parent.pointer("/spec/replicas").and_then(Value::as_i64) {
        spec["replicas"] = json!(desired);
    }
    let mut status = json!({"replicas": replicas("/status/replicas")});
    let selector = selector_text(parent);
    if !selector.is_empty() {
        status["selector"] = json!(selector);
    }
    json!({
        "kind": "Scale",
        "apiVersion": "autoscaling/v1",
        "metadata": metadata,
        "spec": spec,
        "status": status,
    })
}

/// The selector as upstream prints it: a LabelSelector for apps kinds, a plain label map
/// (sorted `k=v` pairs) for replication controllers.
fn selector_text(parent: &Value) -> String {
    let selector = parent.pointer("/spec/selector");
    if parent["kind"] == "ReplicationController" {
        let mut pairs: Vec<String> = selector
            .and_then(Value::as_object)
            .into_iter()
            .flatten()
            .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or_default()))
            .collect();
        pairs.sort();
        return pairs.join(",");
    }
    selector_string(selector).unwrap_or_default()
}

/// `parent` with `scale`'s replicas, and the Scale's resourceVersion as the update's
/// precondition when it names one. A negative or missing count is upstream's 422.
pub fn apply_scale(parent: &Value, scale: &Value) -> Result<Value, RegistryError> {
    let name = object::name(parent);
    let replicas = match scale.pointer("/spec/replicas") {
        None | Some(Value::Null) => 0,
        Some(value) => value.as_i64().ok_or_else(|| {
            RegistryError::bad_request(format!(
                "Scale in version \"v1\" cannot be handled as a Scale: json: cannot unmarshal {} into Go struct field ScaleSpec.spec.replicas of type int32",
                json_type(value)
            ))
        })?,
    };
    if replicas < 0 {
        let cause = FieldError {
            reason: "FieldValueInvalid",
            message: format!("Invalid value: {replicas}: must be greater than or equal to 0"),
            field: "spec.replicas".into(),
        };
        return Err(RegistryError::Invalid {
            message: format!(
                "Scale.autoscaling \"{name}\" is invalid: spec.replicas: {}",
                cause.message
            ),
            subject: Subject {
                group: "autoscaling".into(),
                kind: "Scale".into(),
                name: name.into(),
            },
            causes: vec![cause],
        });
    }
    let mut updated = parent.clone();
    updated["spec"]["replicas"] = json!(replicas);
    match object::meta_str(scale, "resourceVersion").filter(|rv| !rv.is_empty()) {
        Some(rv) => object::set_meta(&mut updated, "resourceVersion", json!(rv)),
        None => object::remove_meta(&mut updated, "resourceVersion"),
    }
    Ok(updated)
}

fn json_type(value: &Value) -> &'static str {
    match value {
        Value::String(_) => "string",
        Value::Bool(_) => "bool",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
        _ => "number",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn deployment() -> Value {
        json!({
            "kind": "Deployment",
            "metadata": {"name": "web", "namespace": "default", "uid": "u1",
                "resourceVersion": "7", "creationTimestamp": "2026-01-01T00:00:00Z",
                "labels": {"x": "y"}},
            "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "web", "a": "b"},
                "matchExpressions": [{"key": "tier", "operator": "In", "values": ["z", "y"]}]}},
            "status": {"replicas": 1}
        })
    }

    #[test]
    fn scale_carries_identity_replicas_and_selector() {
        let scale = scale_of(&deployment());
        assert_eq!(
            scale["metadata"],
            json!({"name": "web", "namespace": "default", "uid": "u1",
                "resourceVersion": "7", "creationTimestamp": "2026-01-01T00:00:00Z"})
        );
        assert_eq!(scale["spec"], json!({"replicas": 2}));
        assert_eq!(
            scale["status"],
            json!({"replicas": 1, "selector": "a=b,app=web,tier in (y,z)"})
        );
        let rc = json!({"kind": "ReplicationController", "metadata": {"name": "r"},
            "spec": {"replicas": 1, "selector": {"b": "2", "a": "1"}}});
        assert_eq!(scale_of(&rc)["status"]["selector"], "a=1,b=2");
    }

    #[test]
    fn applying_changes_only_replicas_and_keeps_the_precondition() {
        let scale = json!({"metadata": {"resourceVersion": "5"}, "spec": {"replicas": 4}});
        let updated = apply_scale(&deployment(), &scale).expect("valid scale");
        assert_eq!(updated["spec"]["replicas"], 4);
        assert_eq!(updated["metadata"]["resourceVersion"], "5");
        assert_eq!(updated["metadata"]["labels"], json!({"x": "y"}));
        let unpinned =
            apply_scale(&deployment(), &json!({"spec": {"replicas": 1}})).expect("valid scale");
        assert!(unpinned["metadata"]["resourceVersion"].is_null());
        let err = apply_scale(&deployment(), &json!({"spec": {"replicas": -1}}))
            .expect_err("negative replicas");
        assert_eq!(
            err.to_string(),
            "Scale.autoscaling \"web\" is invalid: spec.replicas: Invalid value: -1: must be greater than or equal to 0"
        );
    }
}
