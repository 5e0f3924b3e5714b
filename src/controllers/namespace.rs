//! The namespace controller: finishes the deletion of Terminating namespaces, as
//! upstream's namespace controller does.
//!
//! A deleted namespace keeps its `kubernetes` finalizer (spec.finalizers) until it is
//! empty. Each pass deletes every object of every namespaced kind in it; objects with
//! finalizers of their own stay Terminating until their owners remove them. The finalizer
//! is removed by the first pass that finds nothing left. While
//! anything remains, the namespace's status conditions say what (upstream's
//! `NamespaceContentRemaining` and `NamespaceFinalizersRemaining`); once nothing does, the
//! finalizer is removed and the namespace is gone, which is what `kubectl delete ns`
//! waits for.

use std::collections::BTreeMap;

use serde_json::{json, Value};

use crate::registry::engine::{DeleteOptions, Deleted};
use crate::registry::list::ListOptions;
use crate::registry::object;
use crate::registry::{Registry, RegistryError};

/// The finalizer the API server itself owns on every namespace.
pub const FINALIZER: &str = "kubernetes";

/// One pass over every Terminating namespace.
pub async fn reconcile(registry: &Registry) -> Result<(), RegistryError> {
    let Some(namespaces) = registry.engine("", "namespaces") else {
        return Err(RegistryError::internal(
            "the namespaces kind is not registered",
        ));
    };
    // Which namespaces are terminating may come from this replica's cache; what they
    // still hold is read at the linearizable revision below.
    let page = namespaces.list(None, &cached()).await?;
    for item in &page.items {
        let namespace = item.decode();
        if object::is_deleting(&namespace) && has_own_finalizer(&namespace) {
            // One namespace that keeps failing must not hold up the others.
            if let Err(e) = empty_and_finalize(registry, &item.name).await {
                tracing::warn!(namespace = %item.name, error = %e, "emptying a terminating namespace");
            }
        }
    }
    Ok(())
}

/// A list served from this replica's cache (`resourceVersion=0`).
pub(super) fn cached() -> ListOptions {
    ListOptions {
        resource_version: Some("0".into()),
        ..ListOptions::default()
    }
}

fn has_own_finalizer(namespace: &Value) -> bool {
    namespace["spec"]["finalizers"]
        .as_array()
        .is_some_and(|f| f.iter().any(|v| v == FINALIZER))
}

/// What is left in a namespace after a pass: per resource, how many objects, and per
/// finalizer, how many objects wait for it.
#[derive(Default)]
struct Remaining {
    resources: BTreeMap<String, usize>,
    finalizers: BTreeMap<String, usize>,
}

async fn empty_and_finalize(registry: &Registry, name: &str) -> Result<(), RegistryError> {
    let mut remaining = Remaining::default();
    // The finalizer goes only after a pass that found the namespace already empty: a
    // create admitted against a lagging cache just before the delete has one more pass
    // (a tick later) to show up and be deleted.
    let mut found_any = false;
    // The first list reads at the linearizable revision; the others read at least there,
    // so a pass costs one read-index round, not one per kind.
    let mut at = ListOptions::default();
    for desc in registry.descriptors().iter().filter(|d| d.namespaced) {
        let Some(engine) = registry.engine(desc.group, desc.resource) else {
            continue;
        };
        let page = engine.list(Some(name), &at).await?;
        at.resource_version = Some(page.revision.to_string());
        found_any |= !page.items.is_empty();
        for item in &page.items {
            let left = match engine
                .delete(name, &item.name, &DeleteOptions::default())
                .await
            {
                Ok(Deleted::Now(_)) | Err(RegistryError::NotFound { .. }) => None,
                Ok(Deleted::Pending(obj)) => Some(obj),
                Err(e) => return Err(e),
            };
            if let Some(obj) = left {
                *remaining
                    .resources
                    .entry(desc.qualified_resource())
                    .or_default() += 1;
                for finalizer in object::finalizers(&obj) {
                    *remaining.finalizers.entry(finalizer).or_default() += 1;
                }
            }
        }
    }
    let Some(namespaces) = registry.engine("", "namespaces") else {
        return Ok(());
    };
    if !found_any {
        tracing::info!(namespace = name, "namespace empty; removing its finalizer");
        namespaces
            .update_owned_fields("", name, |ns| {
                if let Some(finalizers) = ns["spec"]["finalizers"].as_array_mut() {
                    finalizers.retain(|f| f != FINALIZER);
                }
            })
            .await?;
    } else if !remaining.resources.is_empty() {
        let conditions = conditions(&remaining);
        namespaces
            .update_owned_fields("", name, |ns| set_conditions(ns, &conditions))
            .await?;
    }
    Ok(())
}

/// Upstream's deletion conditions for what `remaining` describes.
fn conditions(remaining: &Remaining) -> Vec<(&'static str, bool, &'static str, String)> {
    let resources = remaining
        .resources
        .iter()
        .map(|(resource, n)| format!("{resource} has {n} resource instances"))
        .collect::<Vec<_>>()
        .join(", ");
    let finalizers = remaining
        .finalizers
        .iter()
        .map(|(finalizer, n)| format!("{finalizer} in {n} resource instances"))
        .collect::<Vec<_>>()
        .join(", ");
    let mut out = vec![(
        "NamespaceContentRemaining",
        true,
        "SomeResourcesRemain",
        format!("Some resources are remaining: {resources}"),
    )];
    if remaining.finalizers.is_empty() {
        out.push((
            "NamespaceFinalizersRemaining",
            false,
            "ContentHasNoFinalizers",
            "All content-preserving finalizers finished".into(),
        ));
    } else {
        out.push((
            "NamespaceFinalizersRemaining",
            true,
            "SomeFinalizersRemain",
            format!("Some content in the namespace has finalizers remaining: {finalizers}"),
        ));
    }
    out
}

/// Sets each condition in the namespace's status, keeping its transition time when the
/// status did not change (so an unchanged pass writes nothing).
fn set_conditions(ns: &mut Value, wanted: &[(&'static str, bool, &'static str, String)]) {
    let existing: Vec<Value> = ns["status"]["conditions"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let mut conditions: Vec<Value> = existing
        .iter()
        .filter(|c| !wanted.iter().any(|(t, ..)| c["type"] == *t))
        .cloned()
        .collect();
    for (kind, status, reason, message) in wanted {
        let status = if *status { "True" } else { "False" };
        let previous = existing.iter().find(|c| c["type"] == *kind);
        let since = previous
            .filter(|c| c["status"] == status)
            .and_then(|c| c["lastTransitionTime"].as_str())
            .map(str::to_string)
            .unwrap_or_else(object::now_rfc3339);
        conditions.push(json!({
            "type": kind,
            "status": status,
            "lastTransitionTime": since,
            "reason": reason,
            "message": message,
        }));
    }
    if let Some(status) = ns.get_mut("status").and_then(Value::as_object_mut) {
        status.insert("conditions".into(), Value::Array(conditions));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conditions_name_what_remains_and_keep_their_transition_time() {
        let mut remaining = Remaining::default();
        remaining.resources.insert("configmaps".into(), 2);
        remaining.finalizers.insert("example.com/hold".into(), 1);
        let wanted = conditions(&remaining);
        let mut ns = json!({"status": {"phase": "Terminating"}});
        set_conditions(&mut ns, &wanted);
        let first = ns.clone();
        let by_type = |ns: &Value, t: &str| {
            ns["status"]["conditions"]
                .as_array()
                .and_then(|c| c.iter().find(|c| c["type"] == t).cloned())
                .unwrap_or_default()
        };
        let content = by_type(&ns, "NamespaceContentRemaining");
        assert_eq!(content["status"], "True");
        assert_eq!(
            content["message"],
            "Some resources are remaining: configmaps has 2 resource instances"
        );
        let finalizers = by_type(&ns, "NamespaceFinalizersRemaining");
        assert_eq!(
            finalizers["message"],
            "Some content in the namespace has finalizers remaining: example.com/hold in 1 resource instances"
        );
        // The same state again changes nothing, so a pass over it stores nothing.
        set_conditions(&mut ns, &wanted);
        assert_eq!(ns, first);
    }

    #[test]
    fn only_the_servers_own_finalizer_is_acted_on() {
        assert!(has_own_finalizer(
            &json!({"spec": {"finalizers": ["kubernetes"]}})
        ));
        assert!(!has_own_finalizer(
            &json!({"spec": {"finalizers": ["example.com/x"]}})
        ));
        assert!(!has_own_finalizer(&json!({})));
    }
}
