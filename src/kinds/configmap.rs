//! ConfigMaps: key format and size of `data`/`binaryData`, and `immutable`.

use serde_json::Value;

use super::tables::{AGE, NAME};
use crate::registry::error::FieldError;
use crate::registry::strategy::{Column, Strategy};

pub struct ConfigMap;
pub const CONFIGMAP: ConfigMap = ConfigMap;

/// Upstream's limit on the data of a ConfigMap or Secret.
pub const MAX_DATA_BYTES: usize = 1024 * 1024;

const CONFIG_KEY_MSG: &str = "a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')";

/// Checks the keys (and total size) of `data`-like maps; shared with Secrets.
pub fn validate_data_keys(obj: &Value, fields: &[&str]) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let mut total = 0usize;
    for field in fields {
        let Some(map) = obj.get(*field).and_then(Value::as_object) else {
            continue;
        };
        for (key, value) in map {
            total += key.len() + value.as_str().map_or(0, str::len);
            let path = format!("{field}[{key}]");
            if key.is_empty()
                || !key
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
            {
                errs.push(FieldError::invalid(path, key, CONFIG_KEY_MSG));
            } else if key == "." || key == ".." {
                errs.push(FieldError::invalid(
                    path,
                    key,
                    format!("must not be '{key}'"),
                ));
            } else if key.len() > 253 {
                errs.push(FieldError::invalid(
                    path,
                    key,
                    "must be no more than 253 characters",
                ));
            }
        }
    }
    if total > MAX_DATA_BYTES {
        errs.push(FieldError::too_long("", MAX_DATA_BYTES));
    }
    errs
}

/// `immutable: true` objects may not change their data nor become mutable again.
pub fn validate_immutable(new: &Value, old: &Value, fields: &[&str]) -> Vec<FieldError> {
    if old.get("immutable").and_then(Value::as_bool) != Some(true) {
        return Vec::new();
    }
    let mut errs = Vec::new();
    for field in fields {
        if new.get(*field) != old.get(*field) {
            errs.push(FieldError::forbidden(
                *field,
                "field is immutable when `immutable` is set",
            ));
        }
    }
    if new.get("immutable").and_then(Value::as_bool) != Some(true) {
        errs.push(FieldError::forbidden(
            "immutable",
            "field is immutable when `immutable` is set",
        ));
    }
    errs
}

fn data_count(obj: &Value) -> Value {
    let count = |f: &str| obj.get(f).and_then(Value::as_object).map_or(0, |m| m.len());
    Value::from(count("data") + count("binaryData"))
}

const COLUMNS: &[Column] = &[
    NAME,
    Column::new("Data", "Data contains the configuration data. Each key must consist of alphanumeric characters, '-', '_' or '.'. Values with non-UTF-8 byte sequences must use the BinaryData field. The keys stored in Data must not overlap with the keys in the BinaryData field, this is enforced during validation process.", |o, _| data_count(o)),
    AGE,
];

const FIELDS: &[&str] = &["data", "binaryData"];

impl Strategy for ConfigMap {
    fn validate(&self, obj: &Value) -> Vec<FieldError> {
        validate_data_keys(obj, FIELDS)
    }

    fn validate_update(&self, new: &Value, old: &Value) -> Vec<FieldError> {
        let mut errs = self.validate(new);
        errs.extend(validate_immutable(new, old, FIELDS));
        errs
    }

    fn table_columns(&self) -> &'static [Column] {
        COLUMNS
    }
}
