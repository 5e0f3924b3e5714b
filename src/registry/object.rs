//! Helpers over objects as JSON values: metadata accessors and the storage key.
//!
//! The engine works on `serde_json::Value` so one code path serves every kind; these
//! functions are the only place that knows where metadata fields live.

use serde_json::{Map, Value};

pub type Object = Value;

pub fn meta(obj: &Value) -> Option<&Map<String, Value>> {
    obj.get("metadata")?.as_object()
}

/// The metadata map, created if absent. The decode stage only admits JSON objects, so
/// replacing a non-object here never loses a client's data.
pub fn meta_mut(obj: &mut Value) -> &mut Map<String, Value> {
    if !obj.is_object() {
        *obj = Value::Object(Map::new());
    }
    let map = obj.as_object_mut().map(|m| {
        m.entry("metadata")
            .or_insert_with(|| Value::Object(Map::new()))
    });
    let metadata = match map {
        Some(metadata) => metadata,
        None => unreachable!("obj was made an object above"),
    };
    if !metadata.is_object() {
        *metadata = Value::Object(Map::new());
    }
    match metadata.as_object_mut() {
        Some(m) => m,
        None => unreachable!("metadata was made an object above"),
    }
}

pub fn meta_str<'a>(obj: &'a Value, field: &str) -> Option<&'a str> {
    meta(obj)?.get(field)?.as_str()
}

pub fn name(obj: &Value) -> &str {
    meta_str(obj, "name").unwrap_or("")
}

pub fn namespace(obj: &Value) -> &str {
    meta_str(obj, "namespace").unwrap_or("")
}

pub fn uid(obj: &Value) -> &str {
    meta_str(obj, "uid").unwrap_or("")
}

pub fn set_meta(obj: &mut Value, field: &str, value: Value) {
    meta_mut(obj).insert(field.to_string(), value);
}

pub fn remove_meta(obj: &mut Value, field: &str) {
    meta_mut(obj).remove(field);
}

pub fn set_resource_version(obj: &mut Value, revision: u64) {
    set_meta(obj, "resourceVersion", Value::String(revision.to_string()));
}

/// String-to-string maps such as labels and annotations (non-string entries skipped).
pub fn string_map(obj: &Value, field: &str) -> Vec<(String, String)> {
    let Some(map) = meta(obj)
        .and_then(|m| m.get(field))
        .and_then(Value::as_object)
    else {
        return Vec::new();
    };
    map.iter()
        .filter_map(|(k, v)| v.as_str().map(|v| (k.clone(), v.to_string())))
        .collect()
}

pub fn finalizers(obj: &Value) -> Vec<String> {
    meta(obj)
        .and_then(|m| m.get("finalizers"))
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

pub fn is_deleting(obj: &Value) -> bool {
    meta(obj)
        .and_then(|m| m.get("deletionTimestamp"))
        .is_some_and(|v| !v.is_null())
}

/// Now, as upstream's `metav1.Time` renders it (RFC 3339, seconds, UTC).
pub fn now_rfc3339() -> String {
    humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string()
}

/// The storage key: `/registry/<prefix>/<namespace>/<name>` or `/registry/<prefix>/<name>`.
pub fn storage_key(prefix: &str, namespace: &str, name: &str) -> String {
    if namespace.is_empty() {
        format!("/registry/{prefix}/{name}")
    } else {
        format!("/registry/{prefix}/{namespace}/{name}")
    }
}

/// The key prefix under which a list of one namespace (or all) lives.
pub fn list_prefix(prefix: &str, namespace: Option<&str>) -> String {
    match namespace {
        Some(ns) if !ns.is_empty() => format!("/registry/{prefix}/{ns}/"),
        _ => format!("/registry/{prefix}/"),
    }
}
