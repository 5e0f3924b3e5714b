//! Admission: built-in policy between authorization and storage.
//!
//! NamespaceLifecycle (upstream's plugin of that name): new objects only go into a
//! namespace that exists and is not terminating, and the system namespaces cannot be
//! deleted. It reads the namespaces cache's published view; no mailbox, no I/O.

use crate::http::request_info::RequestInfo;
use crate::registry::cache::CachedObject;
use crate::registry::cache::KindView;
use crate::registry::error::{RegistryError, Subject};
use crate::registry::object::storage_key;

/// Namespaces that always exist.
pub const IMMORTAL_NAMESPACES: &[&str] = &["default", "kube-system", "kube-public"];

/// Checks a request against the namespaces view; `namespaced` is the target kind's scope.
pub fn namespace_lifecycle(
    info: &RequestInfo,
    namespaced: bool,
    namespaces: &KindView,
) -> Result<(), RegistryError> {
    let span = tracing::trace_span!("admission", plugin = "NamespaceLifecycle");
    let _entered = span.enter();
    if info.resource == "namespaces"
        && info.verb == "delete"
        && IMMORTAL_NAMESPACES.contains(&info.name.as_str())
    {
        return Err(RegistryError::Forbidden {
            subject: Subject {
                group: String::new(),
                kind: "namespaces".into(),
                name: info.name.clone(),
            },
            message: format!(
                "namespaces \"{}\" is forbidden: this namespace may not be deleted",
                info.name
            ),
        });
    }
    if info.verb != "create" || !namespaced || info.namespace.is_empty() {
        return Ok(());
    }
    let key = storage_key("namespaces", "", &info.namespace);
    match namespaces.objects.get(&key) {
        None => Err(RegistryError::NotFound {
            subject: Subject {
                group: String::new(),
                kind: "namespaces".into(),
                name: info.namespace.clone(),
            },
            message: format!("namespaces \"{}\" not found", info.namespace),
        }),
        Some(ns) if is_terminating(ns) => Err(RegistryError::Forbidden {
            subject: Subject {
                group: info.group.clone(),
                kind: info.resource.clone(),
                name: info.name.clone(),
            },
            message: format!(
                "unable to create new content in namespace {} because it is being terminated",
                info.namespace
            ),
        }),
        Some(_) => Ok(()),
    }
}

/// Whether a cached namespace is terminating, from the phase its cache entry already
/// indexes (upstream's plugin checks the phase too), without decoding its JSON.
fn is_terminating(namespace: &CachedObject) -> bool {
    namespace
        .fields
        .iter()
        .any(|(field, value)| *field == "status.phase" && value == "Terminating")
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use serde_json::json;

    use super::*;
    use crate::http::request_info::parse;
    use crate::kinds::catalog;

    fn view_with(phases: &[(&str, &str)]) -> KindView {
        let desc = catalog()
            .into_iter()
            .find(|d| d.resource == "namespaces")
            .expect("namespaces");
        let mut view = KindView::default();
        for (name, phase) in phases {
            let key = storage_key("namespaces", "", name);
            let ns = json!({"metadata": {"name": name}, "status": {"phase": phase}});
            let cached = CachedObject::from_value(desc, &key, 1, &ns).expect("cached");
            view.objects.insert(key, Arc::new(cached));
        }
        view
    }

    #[test]
    fn creates_need_a_live_namespace() {
        let view = view_with(&[("live", "Active"), ("dying", "Terminating")]);
        let create = |ns: &str| parse("POST", &format!("/api/v1/namespaces/{ns}/configmaps"), None);
        assert!(namespace_lifecycle(&create("live"), true, &view).is_ok());
        assert!(matches!(
            namespace_lifecycle(&create("gone"), true, &view),
            Err(RegistryError::NotFound { .. })
        ));
        assert!(matches!(
            namespace_lifecycle(&create("dying"), true, &view),
            Err(RegistryError::Forbidden { .. })
        ));
        let delete_default = parse("DELETE", "/api/v1/namespaces/default", None);
        assert!(matches!(
            namespace_lifecycle(&delete_default, false, &view),
            Err(RegistryError::Forbidden { .. })
        ));
    }
}
