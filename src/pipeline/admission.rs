//! Admission: built-in policy between authorization and storage.
//!
//! NamespaceLifecycle (upstream's plugin of that name): new objects only go into a
//! namespace that exists and is not terminating, and the system namespaces cannot be
//! deleted. It reads the namespaces cache's published view; no mailbox, no I/O.

use crate::http::request_info::RequestInfo;
use crate::registry::cache::KindView;
use crate::registry::error::{RegistryError, Subject};
use crate::registry::object::{is_deleting, storage_key};

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
        Some(ns) if is_deleting(&ns.decode()) => Err(RegistryError::Forbidden {
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
