//! Typed decoding of request bodies through each kind's schema (k8s-openapi's generated
//! types for Kubernetes 1.32), as upstream decodes into its Go types: a value of the wrong
//! type is refused, and fields the kind does not declare are found by comparing what
//! went in with what came out.

use serde::{de::DeserializeOwned, Serialize};
use serde_json::Value;

/// Round-trips `value` through `T`.
pub fn typed<T: DeserializeOwned + Serialize>(value: &Value) -> Result<Value, String> {
    let typed = T::deserialize(value).map_err(|e| e.to_string())?;
    serde_json::to_value(typed).map_err(|e| e.to_string())
}

/// Paths of fields in `input` that `decoded` lost: fields the schema does not declare.
/// Nulls are not fields (they decode to absent).
pub fn unknown_fields(input: &Value, decoded: &Value) -> Vec<String> {
    let mut found = Vec::new();
    walk(input, decoded, "", &mut found);
    found
}

fn walk(input: &Value, decoded: &Value, path: &str, found: &mut Vec<String>) {
    match (input, decoded) {
        (Value::Object(input), Value::Object(decoded)) => {
            for (key, value) in input {
                let child = if path.is_empty() {
                    key.clone()
                } else {
                    format!("{path}.{key}")
                };
                match decoded.get(key) {
                    Some(kept) => walk(value, kept, &child, found),
                    None if value.is_null() => {}
                    None => found.push(child),
                }
            }
        }
        (Value::Array(input), Value::Array(decoded)) => {
            for (i, (value, kept)) in input.iter().zip(decoded).enumerate() {
                walk(value, kept, &format!("{path}[{i}]"), found);
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::core::v1::ConfigMap;
    use serde_json::json;

    #[test]
    fn wrong_types_are_refused_and_unknown_fields_found() {
        let bad = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": {"k": 1}});
        assert!(typed::<ConfigMap>(&bad).is_err());
        let extra = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "bogus": 1}, "data": {"k": "v"}, "spec": {"x": 1}, "immutable": null});
        let decoded = typed::<ConfigMap>(&extra).unwrap();
        assert_eq!(
            unknown_fields(&extra, &decoded),
            vec!["metadata.bogus".to_string(), "spec".to_string()]
        );
    }
}
