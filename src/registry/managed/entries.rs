//! `metadata.managedFields`: one entry per manager, operation (Apply or Update),
//! subresource and, for updates, apiVersion, each with the fields it owns.
//!
//! Entries are identified the way upstream identifies them, written back sorted as
//! upstream sorts them (Apply before Update, then oldest first), and updaters beyond ten
//! are folded, oldest first, into an `ancient-changes` entry per apiVersion.

use serde_json::{json, Value};

use super::path::FieldSet;
use crate::registry::object;

/// Upstream's cap on Update entries, and the name of the entry older ones fold into.
const MAX_UPDATE_MANAGERS: usize = 10;
const ANCIENT: &str = "ancient-changes";

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    pub manager: String,
    /// `Apply` or `Update`.
    pub operation: String,
    pub api_version: String,
    pub time: Option<String>,
    pub subresource: String,
    pub fields: FieldSet,
}

impl Entry {
    /// Whether `self` and `other` are the same manager's entry (upstream ignores the
    /// apiVersion of appliers).
    pub fn same_manager(&self, other: &Entry) -> bool {
        self.manager == other.manager
            && self.operation == other.operation
            && self.subresource == other.subresource
            && (self.operation == "Apply" || self.api_version == other.api_version)
    }

    /// The manager as upstream names it in conflicts.
    pub fn describe(&self) -> String {
        let mut out = Value::from(self.manager.as_str()).to_string();
        if !self.subresource.is_empty() {
            out.push_str(&format!(
                " with subresource {}",
                Value::from(self.subresource.as_str())
            ));
        }
        if self.operation == "Update" {
            out.push_str(&format!(" using {}", self.api_version));
        }
        out
    }

    fn from_json(value: &Value) -> Result<Entry, String> {
        let text = |k: &str| {
            value
                .get(k)
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string()
        };
        let fields = match value.get("fieldsV1") {
            Some(v) if !v.is_null() => FieldSet::from_fields_v1(v)?,
            _ => FieldSet::default(),
        };
        Ok(Entry {
            manager: text("manager"),
            operation: text("operation"),
            api_version: text("apiVersion"),
            time: value
                .get("time")
                .and_then(Value::as_str)
                .map(str::to_string),
            subresource: text("subresource"),
            fields,
        })
    }

    fn to_json(&self) -> Value {
        let mut entry = json!({
            "manager": self.manager,
            "operation": self.operation,
            "apiVersion": self.api_version,
            "fieldsType": "FieldsV1",
            "fieldsV1": self.fields.to_fields_v1(),
        });
        if let Some(time) = &self.time {
            entry["time"] = json!(time);
        }
        if !self.subresource.is_empty() {
            entry["subresource"] = json!(self.subresource);
        }
        entry
    }
}

/// The entries of an object's `metadata.managedFields`; `None` when it has none, or
/// they do not decode.
pub fn read(obj: &Value) -> Option<Vec<Entry>> {
    let list = object::meta(obj)?.get("managedFields")?.as_array()?;
    if list.is_empty() {
        return None;
    }
    list.iter()
        .map(Entry::from_json)
        .collect::<Result<_, _>>()
        .ok()
}

/// Writes `entries` (dropping empty ones) as `obj`'s managedFields, folded and sorted.
pub fn write(obj: &mut Value, mut entries: Vec<Entry>) {
    entries.retain(|e| !e.fields.is_empty());
    cap_updates(&mut entries);
    entries.sort_by(|a, b| {
        (
            &a.operation,
            &a.time,
            &a.manager,
            &a.api_version,
            &a.subresource,
        )
            .cmp(&(
                &b.operation,
                &b.time,
                &b.manager,
                &b.api_version,
                &b.subresource,
            ))
    });
    if entries.is_empty() {
        object::remove_meta(obj, "managedFields");
    } else {
        let list = entries.iter().map(Entry::to_json).collect();
        object::set_meta(obj, "managedFields", Value::Array(list));
    }
}

/// Folds the oldest Update entries into `ancient-changes` (one per apiVersion) until
/// at most ten remain, as upstream's cap does: the two oldest updaters of one apiVersion
/// become one bucket, which takes the newer one's time.
fn cap_updates(entries: &mut Vec<Entry>) {
    loop {
        let mut updates: Vec<usize> = (0..entries.len())
            .filter(|i| entries[*i].operation == "Update")
            .collect();
        if updates.len() <= MAX_UPDATE_MANAGERS {
            return;
        }
        updates.sort_by(|a, b| entries[*a].time.cmp(&entries[*b].time));
        let pair = updates.iter().enumerate().find_map(|(n, a)| {
            updates[n + 1..]
                .iter()
                .find(|b| entries[**b].api_version == entries[*a].api_version)
                .map(|b| (*a, *b))
        });
        let Some((older, newer)) = pair else { return };
        let folded = entries[older].fields.union(&entries[newer].fields);
        let bucket = Entry {
            manager: ANCIENT.into(),
            fields: folded,
            ..entries[newer].clone()
        };
        entries.remove(older.max(newer));
        entries.remove(older.min(newer));
        entries.push(bucket);
    }
}
