//! Namespaces: start Active with the `kubernetes` finalizer and the
//! `kubernetes.io/metadata.name` label; deleting one marks it Terminating until its
//! contents are gone and the finalizer is removed.

use serde_json::{json, Value};

use super::tables::{AGE, NAME};
use crate::registry::object;
use crate::registry::strategy::{Column, NameRule, Strategy};

pub struct Namespace;
pub const NAMESPACE: Namespace = Namespace;

const NAME_LABEL: &str = "kubernetes.io/metadata.name";

fn spec_finalizers(obj: &Value) -> Option<&Value> {
    obj.get("spec")?.get("finalizers")
}

fn set_name_label(obj: &mut Value) {
    let name = object::name(obj).to_string();
    let meta = object::meta_mut(obj);
    let labels = meta.entry("labels").or_insert_with(|| json!({}));
    if let Some(labels) = labels.as_object_mut() {
        labels.insert(NAME_LABEL.into(), Value::String(name));
    }
}

fn set_spec_finalizers(obj: &mut Value, finalizers: Value) {
    if let Some(map) = obj.as_object_mut() {
        let spec = map.entry("spec").or_insert_with(|| json!({}));
        if let Some(spec) = spec.as_object_mut() {
            spec.insert("finalizers".into(), finalizers);
        }
    }
}

fn phase(obj: &Value) -> Value {
    obj.get("status")
        .and_then(|s| s.get("phase"))
        .cloned()
        .unwrap_or(Value::String(String::new()))
}

const COLUMNS: &[Column] = &[
    NAME,
    Column::new("Status", "The status of the namespace", |o, _| phase(o)),
    AGE,
];

impl Strategy for Namespace {
    fn name_rule(&self) -> NameRule {
        NameRule::DnsLabel
    }

    fn initial_status(&self, _obj: &Value) -> Option<Value> {
        Some(json!({"phase": "Active"}))
    }

    fn prepare_for_create(&self, obj: &mut Value) {
        set_spec_finalizers(obj, json!(["kubernetes"]));
        set_name_label(obj);
    }

    fn prepare_for_update(&self, new: &mut Value, old: &Value) {
        let kept = spec_finalizers(old).cloned().unwrap_or_else(|| json!([]));
        set_spec_finalizers(new, kept);
        set_name_label(new);
    }

    fn begin_graceful_delete(&self, obj: &mut Value) -> bool {
        if let Some(map) = obj.as_object_mut() {
            map.insert("status".into(), json!({"phase": "Terminating"}));
        }
        true
    }

    fn finalization_pending(&self, obj: &Value) -> bool {
        spec_finalizers(obj)
            .and_then(Value::as_array)
            .is_some_and(|f| !f.is_empty())
    }

    fn selectable_fields(&self, obj: &Value) -> Vec<(&'static str, String)> {
        // Upstream keeps `name` too, for compatibility.
        vec![
            (
                "status.phase",
                phase(obj).as_str().unwrap_or("").to_string(),
            ),
            ("name", crate::registry::object::name(obj).to_string()),
        ]
    }

    fn table_columns(&self) -> &'static [Column] {
        COLUMNS
    }
}
