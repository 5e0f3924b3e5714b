//! Secrets: `stringData` folded into `data`, base64 values, the default type, and
//! immutability of `type` (and of data when `immutable` is set).

use base64::Engine as _;
use serde_json::{Map, Value};

use super::configmap::{validate_data_keys, validate_immutable};
use super::tables::{AGE, NAME};
use crate::registry::error::FieldError;
use crate::registry::strategy::{Column, Strategy};

pub struct Secret;
pub const SECRET: Secret = Secret;

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

/// `stringData` is write-only: its entries overwrite `data` (base64-encoded) and it is
/// never stored, as upstream.
fn fold_string_data(obj: &mut Value) {
    let Some(map) = obj.as_object_mut() else {
        return;
    };
    let Some(Value::Object(strings)) = map.remove("stringData") else {
        return;
    };
    let data = map
        .entry("data")
        .or_insert_with(|| Value::Object(Map::new()));
    if !data.is_object() {
        *data = Value::Object(Map::new());
    }
    if let Some(data) = data.as_object_mut() {
        for (key, value) in strings {
            let text = value.as_str().unwrap_or_default();
            data.insert(key, Value::String(B64.encode(text)));
        }
    }
}

fn default_type(obj: &mut Value) {
    if let Some(map) = obj.as_object_mut() {
        if map
            .get("type")
            .and_then(Value::as_str)
            .is_none_or(str::is_empty)
        {
            map.insert("type".into(), Value::String("Opaque".into()));
        }
    }
}

fn secret_type(obj: &Value) -> Value {
    obj.get("type")
        .cloned()
        .unwrap_or(Value::String(String::new()))
}

fn data_count(obj: &Value) -> Value {
    Value::from(
        obj.get("data")
            .and_then(Value::as_object)
            .map_or(0, |m| m.len()),
    )
}

const COLUMNS: &[Column] = &[
    NAME,
    Column::new("Type", "Used to facilitate programmatic handling of secret data. More info: https://kubernetes.io/docs/concepts/configuration/secret/#secret-types", |o, _| secret_type(o)),
    Column::new("Data", "Data contains the secret data. Each key must consist of alphanumeric characters, '-', '_' or '.'. The serialized form of the secret data is a base64 encoded string, representing the arbitrary (possibly non-string) data value here. Described in https://tools.ietf.org/html/rfc4648#section-4", |o, _| data_count(o)),
    AGE,
];

fn base64_values(obj: &Value) -> Vec<FieldError> {
    let Some(data) = obj.get("data").and_then(Value::as_object) else {
        return Vec::new();
    };
    data.iter()
        .filter(|(_, v)| v.as_str().is_none_or(|s| B64.decode(s).is_err()))
        .map(|(k, _)| {
            FieldError::invalid(
                format!("data[{k}]"),
                "<secret contents redacted>",
                "must be a base64-encoded string",
            )
        })
        .collect()
}

impl Strategy for Secret {
    fn prepare_for_create(&self, obj: &mut Value) {
        fold_string_data(obj);
        default_type(obj);
    }

    fn prepare_for_update(&self, new: &mut Value, _old: &Value) {
        fold_string_data(new);
        default_type(new);
    }

    fn validate(&self, obj: &Value) -> Vec<FieldError> {
        let mut errs = validate_data_keys(obj, &["data"]);
        errs.extend(base64_values(obj));
        errs
    }

    fn validate_update(&self, new: &Value, old: &Value) -> Vec<FieldError> {
        let mut errs = self.validate(new);
        if new.get("type") != old.get("type") {
            errs.push(FieldError::invalid(
                "type",
                new.get("type").and_then(Value::as_str).unwrap_or(""),
                "field is immutable",
            ));
        }
        errs.extend(validate_immutable(new, old, &["data"]));
        errs
    }

    fn selectable_fields(&self, obj: &Value) -> Vec<(&'static str, String)> {
        vec![("type", secret_type(obj).as_str().unwrap_or("").to_string())]
    }

    fn table_columns(&self) -> &'static [Column] {
        COLUMNS
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn string_data_becomes_base64_data() {
        let mut obj = json!({"stringData": {"user": "admin"}, "data": {"x": "eA=="}});
        SECRET.prepare_for_create(&mut obj);
        assert_eq!(
            obj,
            json!({"data": {"user": "YWRtaW4=", "x": "eA=="}, "type": "Opaque"})
        );
    }

    #[test]
    fn non_base64_data_is_invalid() {
        let obj = json!({"data": {"k": "not base64!"}});
        assert_eq!(SECRET.validate(&obj)[0].field, "data[k]");
    }
}
