//! The garbage collector: deletes objects whose owners are all gone, and carries out
//! foreground and orphan deletion (upstream's pkg/controller/garbagecollector).
//!
//! Each pass first brings the [`graph::Graph`] up to date from the kinds' cached views
//! (only the events since the last pass; a kind is rebuilt from its view only when those
//! events are no longer retained), then examines the objects those changes marked, at
//! most [`MAX_PER_PASS`] of them. An owner is looked up in the graph (if the collector
//! is acting on it), else in its kind's view; one found in neither is confirmed absent
//! by a read at the linearizable revision before anything is deleted, since the views of
//! different kinds may be at different revisions. Every write names the uid it acts
//! on, so an object recreated under the same name is never touched by mistake.

mod actions;
pub mod graph;

use crate::registry::cache::EventType;
use crate::registry::descriptor::ResourceDescriptor;
use crate::registry::propagation::Propagation;
use crate::registry::{Registry, RegistryError};
use actions::OwnerState;
use graph::{Graph, Node, OwnerRef};

/// How many objects one pass examines; the rest wait for the next pass.
pub const MAX_PER_PASS: usize = 500;

/// One pass: update the graph, then examine what changed.
pub async fn reconcile(registry: &Registry, graph: &mut Graph) -> Result<(), RegistryError> {
    sync(registry, graph);
    for uid in graph.take_dirty(MAX_PER_PASS) {
        let Some(node) = graph.node(&uid).cloned() else {
            continue;
        };
        if let Err(e) = examine(registry, graph, &node).await {
            tracing::debug!(object = %node.name, error = %e, "garbage collection will retry");
            graph.mark_dirty(&uid);
            if matches!(
                e,
                RegistryError::Unavailable { .. } | RegistryError::Timeout { .. }
            ) {
                return Err(e);
            }
        }
    }
    Ok(())
}

/// Applies each kind's events since the revision last seen.
fn sync(registry: &Registry, graph: &mut Graph) {
    for desc in registry.descriptors().iter().copied() {
        let Some(engine) = registry.engine(desc.group, desc.resource) else {
            continue;
        };
        let (view, _) = engine.reader().current();
        let events = match graph.seen(desc) {
            Some(seen) if seen == view.revision => continue,
            Some(seen) => view.events_after(seen),
            None => None,
        };
        match events {
            Some(events) => {
                for event in events {
                    let Some(node) = Node::parse(desc, &event.object.json) else {
                        continue;
                    };
                    match event.event_type {
                        EventType::Deleted => graph.remove(&node.uid),
                        EventType::Added | EventType::Modified => graph.upsert(node),
                    }
                }
            }
            None => {
                let nodes = view
                    .objects
                    .values()
                    .filter_map(|o| Node::parse(desc, &o.json))
                    .collect();
                graph.resync(desc, nodes);
            }
        }
        graph.set_seen(desc, view.revision);
    }
}

async fn examine(registry: &Registry, graph: &Graph, node: &Node) -> Result<(), RegistryError> {
    if node.deleting && node.orphan {
        return orphan_dependents(registry, graph, node).await;
    }
    if node.deleting && node.foreground {
        return delete_dependents(registry, graph, node).await;
    }
    if !node.owners.is_empty() && !node.deleting {
        check_owners(registry, graph, node).await?;
    }
    Ok(())
}

/// Orphan deletion: the owner's references leave its dependents, then its finalizer goes.
async fn orphan_dependents(
    registry: &Registry,
    graph: &Graph,
    owner: &Node,
) -> Result<(), RegistryError> {
    let dependents: Vec<Node> = graph.dependents_of(&owner.uid).cloned().collect();
    for dependent in &dependents {
        actions::remove_owner_refs(registry, dependent, &[owner.uid.as_str()]).await?;
    }
    tracing::info!(owner = %owner.name, dependents = dependents.len(), "orphaned dependents");
    actions::remove_finalizer(
        registry,
        owner,
        crate::registry::propagation::ORPHAN_FINALIZER,
    )
    .await
}

/// Foreground deletion: the owner's dependents are deleted; once none that blocks it
/// (blockOwnerDeletion) is left, its finalizer goes and it is removed.
async fn delete_dependents(
    registry: &Registry,
    graph: &Graph,
    owner: &Node,
) -> Result<(), RegistryError> {
    let dependents: Vec<Node> = graph.dependents_of(&owner.uid).cloned().collect();
    for dependent in dependents.iter().filter(|d| !d.deleting) {
        check_owners(registry, graph, dependent).await?;
    }
    let blocking = dependents.iter().any(|d| {
        d.owners
            .iter()
            .any(|r| r.uid == owner.uid && r.block_owner_deletion == Some(true))
    });
    if blocking {
        return Ok(());
    }
    actions::remove_finalizer(
        registry,
        owner,
        crate::registry::propagation::FOREGROUND_FINALIZER,
    )
    .await
}

/// Upstream's attemptToDeleteItem: with a live owner left, references to absent or
/// foreground-deleting owners are removed; with none, the object is deleted.
async fn check_owners(
    registry: &Registry,
    graph: &Graph,
    node: &Node,
) -> Result<(), RegistryError> {
    let (mut solid, mut dangling, mut waiting) = (0, Vec::new(), Vec::new());
    for owner in &node.owners {
        match actions::owner_state(registry, graph, node, owner).await? {
            OwnerState::Unresolvable | OwnerState::Present { waiting: false } => solid += 1,
            OwnerState::Present { waiting: true } => waiting.push(owner.uid.as_str()),
            OwnerState::Absent => dangling.push(owner.uid.as_str()),
        }
    }
    if solid > 0 {
        if dangling.is_empty() && waiting.is_empty() {
            return Ok(());
        }
        let gone: Vec<&str> = dangling.into_iter().chain(waiting).collect();
        return actions::remove_owner_refs(registry, node, &gone).await;
    }
    // An object a foreground deletion waits for is itself deleted in the foreground
    // when it has dependents of its own, so the wait reaches down the whole tree.
    let propagation = (!waiting.is_empty() && graph.dependents_of(&node.uid).next().is_some())
        .then_some(Propagation::Foreground);
    tracing::info!(kind = node.desc.kind, namespace = %node.namespace, name = %node.name,
        "deleting an object whose owners are gone");
    actions::delete(registry, node, propagation).await
}

/// The served kind an owner reference names (apiVersion's group and kind).
fn resolve(registry: &Registry, owner: &OwnerRef) -> Option<&'static ResourceDescriptor> {
    registry
        .descriptors()
        .iter()
        .copied()
        .find(|d| owner.names_kind_of(d))
}
