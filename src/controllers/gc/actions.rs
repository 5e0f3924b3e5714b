//! The garbage collector's reads and writes: confirming an owner's state, deleting a
//! dependent, removing owner references and removing the collector's finalizers. Each
//! write names the uid it is meant for and does nothing to another object of that name.

use serde_json::Value;

use super::graph::{Graph, Node, OwnerRef};
use crate::registry::engine::DeleteOptions;
use crate::registry::list::ReadAt;
use crate::registry::object;
use crate::registry::propagation::{Propagation, FOREGROUND_FINALIZER};
use crate::registry::{Engine, Registry, RegistryError};

pub enum OwnerState {
    /// Lives; `waiting` when it is being deleted in the foreground.
    Present {
        waiting: bool,
    },
    Absent,
    /// A kind not served, or a namespaced owner of a cluster-scoped object: never
    /// collected, as upstream.
    Unresolvable,
}

fn engine<'a>(registry: &'a Registry, node: &Node) -> Result<&'a Engine, RegistryError> {
    registry
        .engine(node.desc.group, node.desc.resource)
        .map(|e| e.as_ref())
        .ok_or_else(|| RegistryError::internal("a collected kind is not registered"))
}

/// Where `owner` stands: from the graph when it holds the owner, else from the owner
/// kind's view; absence is only believed from a read at the linearizable revision (a
/// view of another kind may simply be behind).
pub async fn owner_state(
    registry: &Registry,
    graph: &Graph,
    dependent: &Node,
    owner: &OwnerRef,
) -> Result<OwnerState, RegistryError> {
    let Some(desc) = super::resolve(registry, owner) else {
        return Ok(OwnerState::Unresolvable);
    };
    if desc.namespaced && !dependent.desc.namespaced {
        return Ok(OwnerState::Unresolvable);
    }
    // A namespaced owner counts only in its dependent's namespace.
    let namespace = if desc.namespaced {
        dependent.namespace.as_str()
    } else {
        ""
    };
    if let Some(known) = graph.node(&owner.uid) {
        if known.desc.storage_prefix == desc.storage_prefix && known.namespace == namespace {
            return Ok(OwnerState::Present {
                waiting: known.deleting && known.foreground,
            });
        }
    }
    let Some(engine) = registry.engine(desc.group, desc.resource) else {
        return Ok(OwnerState::Unresolvable);
    };
    if let Some(present) = read_owner(engine, namespace, owner, ReadAt::Any).await? {
        return Ok(present);
    }
    Ok(read_owner(engine, namespace, owner, ReadAt::Latest)
        .await?
        .unwrap_or(OwnerState::Absent))
}

/// The owner's state if `engine` holds an object of its name and uid at `at`.
async fn read_owner(
    engine: &Engine,
    namespace: &str,
    owner: &OwnerRef,
    at: ReadAt,
) -> Result<Option<OwnerState>, RegistryError> {
    let found = match engine.get(namespace, &owner.name, at).await {
        Ok(found) => found.decode(),
        Err(RegistryError::NotFound { .. }) => return Ok(None),
        Err(e) => return Err(e),
    };
    if object::uid(&found) != owner.uid {
        return Ok(None);
    }
    let waiting = object::is_deleting(&found)
        && object::finalizers(&found)
            .iter()
            .any(|f| f == FOREGROUND_FINALIZER);
    Ok(Some(OwnerState::Present { waiting }))
}

/// Deletes `node` (only that uid); gone already or replaced is fine.
pub async fn delete(
    registry: &Registry,
    node: &Node,
    propagation: Option<Propagation>,
) -> Result<(), RegistryError> {
    let opts = DeleteOptions {
        uid: Some(node.uid.clone()),
        propagation,
        ..DeleteOptions::default()
    };
    match engine(registry, node)?
        .delete(&node.namespace, &node.name, &opts)
        .await
    {
        Ok(_) | Err(RegistryError::NotFound { .. }) | Err(RegistryError::Conflict { .. }) => Ok(()),
        Err(e) => Err(e),
    }
}

/// Removes the owner references naming any of `owners` from `node`.
pub async fn remove_owner_refs(
    registry: &Registry,
    node: &Node,
    owners: &[&str],
) -> Result<(), RegistryError> {
    let change = |obj: &mut Value| {
        if object::uid(obj) != node.uid {
            return;
        }
        let meta = object::meta_mut(obj);
        let Some(Value::Array(refs)) = meta.get_mut("ownerReferences") else {
            return;
        };
        refs.retain(|r| !r["uid"].as_str().is_some_and(|u| owners.contains(&u)));
        if refs.is_empty() {
            meta.remove("ownerReferences");
        }
    };
    ignore_gone(
        engine(registry, node)?
            .update_owned_fields(&node.namespace, &node.name, change)
            .await,
    )
}

/// Removes the collector's `finalizer` from `node`; with none left it is deleted.
pub async fn remove_finalizer(
    registry: &Registry,
    node: &Node,
    finalizer: &str,
) -> Result<(), RegistryError> {
    let change = |obj: &mut Value| {
        if object::uid(obj) != node.uid {
            return;
        }
        let meta = object::meta_mut(obj);
        let Some(Value::Array(list)) = meta.get_mut("finalizers") else {
            return;
        };
        list.retain(|f| f != finalizer);
        if list.is_empty() {
            meta.remove("finalizers");
        }
    };
    ignore_gone(
        engine(registry, node)?
            .update_owned_fields(&node.namespace, &node.name, change)
            .await,
    )
}

fn ignore_gone(result: Result<Value, RegistryError>) -> Result<(), RegistryError> {
    match result {
        Ok(_) | Err(RegistryError::NotFound { .. }) => Ok(()),
        Err(e) => Err(e),
    }
}
