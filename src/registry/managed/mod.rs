//! Managed fields and server-side apply (upstream's fieldmanager over
//! structured-merge-diff): which manager owns which fields of an object, kept in
//! `metadata.managedFields`, and the apply operation that merges a manager's
//! configuration into the live object.
//!
//! Both operations are pure functions of the live object, the incoming one and a
//! [`Writer`]; the HTTP layer calls them inside the engine's update step, so they see
//! the same current state the write's precondition is taken from.
//!
//! - [`record_update`]: a create, update or patch. The fields it adds or changes move
//!   to its manager's `Update` entry; fields it removes leave every entry. A client that
//!   sends managedFields of its own replaces them.
//! - [`apply`]: the configuration is merged in by the schema's list and map types; the
//!   fields the manager applied before and no longer applies are removed unless another
//!   manager owns them; changing a value another manager owns is a conflict unless forced.

mod entries;
mod merge;
mod path;
mod shape;
#[cfg(test)]
mod tests;
mod walk;

use serde_json::{json, Value};

use crate::registry::object;
pub use entries::Entry;
pub use path::{Element, FieldSet, Path};
pub use shape::Shape;

/// The annotation client-side `kubectl apply` keeps its configuration in.
pub const LAST_APPLIED: &str = "kubectl.kubernetes.io/last-applied-configuration";
/// Upstream's limit on a field manager's name.
pub const MAX_MANAGER_LENGTH: usize = 128;

/// Who writes, and through which endpoint.
pub struct Writer<'a> {
    pub manager: &'a str,
    pub api_version: String,
    /// `""` for the main resource, `"status"` for the status subresource.
    pub subresource: &'a str,
    /// The kind has a status subresource, so its main resource never writes status.
    pub has_status: bool,
    pub shape: Shape,
}

/// An apply's conflicts: (the other manager as upstream names it, the field's path).
#[derive(Debug, PartialEq, Eq)]
pub struct Conflicts(pub Vec<(String, String)>);

impl Conflicts {
    /// Upstream's message: one conflict inline, several grouped by manager.
    pub fn message(&self) -> String {
        if let [(manager, path)] = self.0.as_slice() {
            return format!("Apply failed with 1 conflict: conflict with {manager}: {path}");
        }
        let mut managers: Vec<&String> = self.0.iter().map(|(m, _)| m).collect();
        managers.sort();
        managers.dedup();
        let mut lines = Vec::new();
        for manager in managers {
            lines.push(format!("conflicts with {manager}:"));
            for (_, path) in self.0.iter().filter(|(m, _)| m == manager) {
                lines.push(format!("- {path}"));
            }
        }
        format!(
            "Apply failed with {} conflicts: {}",
            self.0.len(),
            lines.join("\n")
        )
    }
}

impl Writer<'_> {
    /// Whether a path is tracked at all: identity and server-set metadata are not (as
    /// upstream strips them), nor status on a main resource that has a status
    /// subresource, nor anything but status on that subresource.
    fn tracks(&self, path: &Path) -> bool {
        let field = |i: usize| match path.get(i) {
            Some(Element::Field(name)) => Some(name.as_str()),
            _ => None,
        };
        match (field(0), field(1)) {
            (Some("apiVersion" | "kind"), _) => return false,
            (Some("metadata"), None) => return false,
            (
                Some("metadata"),
                Some(
                    "name" | "namespace" | "creationTimestamp" | "selfLink" | "uid" | "generation"
                    | "managedFields" | "resourceVersion",
                ),
            ) => return false,
            _ => {}
        }
        let status = field(0) == Some("status");
        match (self.has_status, self.subresource) {
            (true, "status") => status,
            (true, _) => !status,
            _ => true,
        }
    }

    fn tracked(&self, set: FieldSet) -> FieldSet {
        set.without(|p| !self.tracks(p))
    }

    fn entry(&self, operation: &str, fields: FieldSet, time: Option<String>) -> Entry {
        Entry {
            manager: self.manager.to_string(),
            operation: operation.to_string(),
            api_version: self.api_version.clone(),
            time,
            subresource: self.subresource.to_string(),
            fields,
        }
    }
}

/// `new` (the object a create, update or patch is about to store; `old` is the stored
/// one, `None` on create) with its managedFields brought up to date for the writer.
pub fn record_update(old: Option<&Value>, mut new: Value, w: &Writer) -> Value {
    let mut entries = match entries::read(&new) {
        Some(given) if w.subresource.is_empty() => given,
        _ => old.and_then(entries::read).unwrap_or_default(),
    };
    let changes = walk::compare(old, &new, w.shape);
    let changed = w.tracked(changes.changed);
    let removed = w.tracked(changes.removed);
    for entry in entries.iter_mut() {
        entry.fields = entry.fields.difference(&changed).difference(&removed);
    }
    if !changed.is_empty() {
        let mine = w.entry("Update", changed, Some(object::now_rfc3339()));
        match entries.iter_mut().find(|e| e.same_manager(&mine)) {
            Some(entry) => {
                entry.fields = entry.fields.union(&mine.fields);
                entry.time = mine.time;
            }
            None => entries.push(mine),
        }
    }
    entries::write(&mut new, entries);
    new
}

/// The object after `w` applies `config` to `live` (`None`: the object does not exist
/// yet), or the conflicts with other managers when not forced. An apply that changes
/// nothing returns the live object as it is, so no write follows.
pub fn apply(
    live: Option<&Value>,
    config: &Value,
    w: &Writer,
    force: bool,
) -> Result<Value, Conflicts> {
    let mut entries = live.and_then(entries::read).unwrap_or_default();
    let mut base = live.cloned().unwrap_or_else(|| json!({}));
    if live.is_some() {
        object::remove_meta(&mut base, "managedFields");
    }
    let scoped = scoped(config, w);
    let mut merged = merge::merge(&base, &scoped, w.shape);
    let applied = w.tracked(walk::field_set(&scoped, w.shape));
    let mut mine = w.entry("Apply", applied.clone(), None);
    let last = match entries.iter().position(|e| e.same_manager(&mine)) {
        Some(i) => {
            let previous = entries.remove(i);
            mine.time = previous.time;
            previous.fields
        }
        None => FieldSet::default(),
    };
    let others = entries
        .iter()
        .fold(FieldSet::default(), |all, e| all.union(&e.fields));
    merge::prune(
        &mut merged,
        &last.difference(&applied),
        &others.union(&applied),
    );
    let changes = walk::compare(live.map(|_| &base), &merged, w.shape);
    let (changed, removed) = (w.tracked(changes.changed), w.tracked(changes.removed));
    let mut conflicts = Vec::new();
    let mut contested = FieldSet::default();
    for entry in entries.iter_mut() {
        let lost = entry.fields.intersection(&changed);
        let who = entry.describe();
        conflicts.extend(lost.iter().map(|p| (who.clone(), path::display(p))));
        contested = contested.union(&lost);
        entry.fields = entry.fields.difference(&lost).difference(&removed);
    }
    // Only a conflict needs the last-applied check (it parses the annotation).
    let conflicting = !force && !conflicts.is_empty();
    let upgrading = conflicting
        && w.manager == "kubectl"
        && live.is_some_and(|live| allowed_by_last_applied(live, &contested, w));
    if conflicting && !upgrading {
        conflicts.sort();
        return Err(Conflicts(conflicts));
    }
    if w.manager == "kubectl" {
        sync_last_applied(&mut merged, config);
    }
    if live.is_none() || merged != base || mine.time.is_none() {
        mine.time = Some(object::now_rfc3339());
    }
    entries.push(mine);
    entries::write(&mut merged, entries);
    Ok(merged)
}

/// Whether every contested field is one client-side apply set (it is in the
/// last-applied annotation) and still holds the value it applied: `kubectl` moving from
/// client-side to server-side apply then takes those fields without a conflict, as
/// upstream's lastapplied manager allows.
fn allowed_by_last_applied(live: &Value, contested: &FieldSet, w: &Writer) -> bool {
    let Some(text) = object::meta(live)
        .and_then(|m| m.get("annotations"))
        .and_then(|a| a.get(LAST_APPLIED))
        .and_then(Value::as_str)
    else {
        return false;
    };
    let Ok(last) = serde_json::from_str::<Value>(text) else {
        return false;
    };
    let differing = walk::compare(Some(live), &last, w.shape).changed;
    let allowed = walk::field_set(&last, w.shape).difference(&differing);
    contested.difference(&allowed).is_empty()
}

/// The part of a configuration the endpoint writes: no status through a main resource
/// that has a status subresource, only status (and identity) through that subresource.
fn scoped(config: &Value, w: &Writer) -> Value {
    let mut config = config.clone();
    if let (true, Some(map)) = (w.has_status, config.as_object_mut()) {
        if w.subresource == "status" {
            map.retain(|k, _| matches!(k.as_str(), "apiVersion" | "kind" | "metadata" | "status"));
        } else {
            map.remove("status");
        }
    }
    config
}

/// Keeps client-side apply working after a server-side apply by `kubectl`: when the
/// object carries the last-applied annotation, it becomes the applied configuration
/// (upstream's lastapplied updater).
fn sync_last_applied(merged: &mut Value, config: &Value) {
    let present = object::meta(merged)
        .and_then(|m| m.get("annotations"))
        .and_then(|a| a.get(LAST_APPLIED))
        .is_some();
    if !present {
        return;
    }
    let mut recorded = config.clone();
    if let Some(Value::Object(annotations)) = recorded
        .get_mut("metadata")
        .and_then(|m| m.get_mut("annotations"))
    {
        annotations.remove(LAST_APPLIED);
        if annotations.is_empty() {
            object::remove_meta(&mut recorded, "annotations");
        }
    }
    let text = format!("{recorded}\n");
    if let Some(Value::Object(annotations)) = object::meta_mut(merged).get_mut("annotations") {
        annotations.insert(LAST_APPLIED.into(), Value::String(text));
    }
}

/// Checks a field manager's name as upstream does: at most 128 bytes, printable.
pub fn check_manager(manager: &str) -> Result<(), String> {
    if manager.len() > MAX_MANAGER_LENGTH {
        return Err(format!(
            "Too long: may not be more than {MAX_MANAGER_LENGTH} bytes"
        ));
    }
    match manager.char_indices().find(|(_, c)| c.is_control()) {
        Some((i, c)) => Err(format!(
            "Invalid value: {}: invalid character U+{:04X} (at position {i})",
            Value::from(manager),
            c as u32
        )),
        None => Ok(()),
    }
}

/// The manager named by a User-Agent when the client gave none: the part before the
/// first `/`, printable characters only, cut at 128 bytes (as upstream).
pub fn manager_from_user_agent(user_agent: &str) -> String {
    let prefix = user_agent.split('/').next().unwrap_or("");
    let mut out = String::new();
    for c in prefix.chars().filter(|c| !c.is_control()) {
        if out.len() + c.len_utf8() > MAX_MANAGER_LENGTH {
            break;
        }
        out.push(c);
    }
    out
}
