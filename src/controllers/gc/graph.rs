//! The garbage collector's dependency graph: the objects it may have to act on (those
//! with owner references, and those being deleted with an orphan or foreground
//! finalizer), with an index from owner uid to its dependents (upstream's
//! `GraphBuilder`, without informers: it is fed from the kinds' cached views).
//!
//! Unlike upstream's graph it holds no node for a plain owner: whether an owner lives is
//! asked of its kind's view when a dependent needs it (`actions::owner_state`). At
//! 100,000 ConfigMaps without owners, a node for each was about 30 MiB of a replica's
//! resident memory for no work.
//!
//! The graph is kept incrementally: each pass applies the events each kind's view
//! retained since the revision last seen, and rebuilds one kind from its view only when
//! those events are no longer retained. Every change marks the uids it may concern as
//! dirty (the object itself, the dependents of a removed owner, the owners of a removed
//! dependent), and a pass examines only those, so a steady cluster costs nothing however
//! many objects it holds.

use std::collections::{BTreeSet, HashMap, HashSet};

use serde::Deserialize;

use crate::registry::descriptor::ResourceDescriptor;
use crate::registry::propagation::{FOREGROUND_FINALIZER, ORPHAN_FINALIZER};

/// One entry of metadata.ownerReferences.
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase", default)]
pub struct OwnerRef {
    pub api_version: String,
    pub kind: String,
    pub name: String,
    pub uid: String,
    pub block_owner_deletion: Option<bool>,
}

/// What the collector knows of one object.
#[derive(Clone)]
pub struct Node {
    pub desc: &'static ResourceDescriptor,
    pub namespace: String,
    pub name: String,
    pub uid: String,
    pub owners: Vec<OwnerRef>,
    pub deleting: bool,
    pub orphan: bool,
    pub foreground: bool,
}

impl OwnerRef {
    /// Whether this reference names an object of `desc`'s kind.
    pub fn names_kind_of(&self, desc: &ResourceDescriptor) -> bool {
        let group = self.api_version.rsplit_once('/').map_or("", |(g, _)| g);
        self.kind == desc.kind && group == desc.group
    }
}

impl Node {
    /// The node for a stored object's JSON; `None` if it has no uid (or is not JSON).
    pub fn parse(desc: &'static ResourceDescriptor, json: &[u8]) -> Option<Node> {
        #[derive(Deserialize, Default)]
        #[serde(rename_all = "camelCase", default)]
        struct Meta {
            name: String,
            namespace: String,
            uid: String,
            owner_references: Vec<OwnerRef>,
            finalizers: Vec<String>,
            deletion_timestamp: Option<String>,
        }
        #[derive(Deserialize)]
        struct Envelope {
            #[serde(default)]
            metadata: Meta,
        }
        let meta = serde_json::from_slice::<Envelope>(json).ok()?.metadata;
        if meta.uid.is_empty() {
            return None;
        }
        let has = |f: &str| meta.finalizers.iter().any(|x| x == f);
        Some(Node {
            desc,
            orphan: has(ORPHAN_FINALIZER),
            foreground: has(FOREGROUND_FINALIZER),
            namespace: meta.namespace,
            name: meta.name,
            uid: meta.uid,
            owners: meta
                .owner_references
                .into_iter()
                .filter(|o| !o.uid.is_empty())
                .collect(),
            deleting: meta.deletion_timestamp.is_some(),
        })
    }

    /// Whether the collector has anything to do for this node when it changes.
    fn interesting(&self) -> bool {
        !self.owners.is_empty() || (self.deleting && (self.orphan || self.foreground))
    }

    fn same_state(&self, other: &Node) -> bool {
        self.owners == other.owners
            && self.deleting == other.deleting
            && self.orphan == other.orphan
            && self.foreground == other.foreground
    }
}

#[derive(Default)]
pub struct Graph {
    nodes: HashMap<String, Node>,
    /// owner uid → uids of objects that name it as an owner.
    dependents: HashMap<String, HashSet<String>>,
    /// Storage prefix of each kind → the revision of its view last applied.
    seen: HashMap<&'static str, u64>,
    dirty: BTreeSet<String>,
}

impl Graph {
    pub fn node(&self, uid: &str) -> Option<&Node> {
        self.nodes.get(uid)
    }

    /// The nodes that name `owner` as an owner.
    pub fn dependents_of(&self, owner: &str) -> impl Iterator<Item = &Node> {
        self.dependents
            .get(owner)
            .into_iter()
            .flatten()
            .filter_map(|uid| self.nodes.get(uid))
    }

    pub fn seen(&self, desc: &ResourceDescriptor) -> Option<u64> {
        self.seen.get(desc.storage_prefix).copied()
    }

    pub fn set_seen(&mut self, desc: &'static ResourceDescriptor, revision: u64) {
        self.seen.insert(desc.storage_prefix, revision);
    }

    /// Records an object's current state; one the collector has nothing to do for is
    /// dropped (it is no longer, or never was, a node).
    pub fn upsert(&mut self, node: Node) {
        if let Some(old) = self.nodes.get(&node.uid) {
            if old.same_state(&node) {
                return;
            }
        }
        self.unlink(&node.uid);
        if !node.interesting() {
            self.nodes.remove(&node.uid);
            return;
        }
        for owner in &node.owners {
            self.dependents
                .entry(owner.uid.clone())
                .or_default()
                .insert(node.uid.clone());
        }
        self.dirty.insert(node.uid.clone());
        self.nodes.insert(node.uid.clone(), node);
    }

    /// Records that the object `uid` is gone: its dependents may now be orphans, and a
    /// foreground-deleting owner may be waiting for it.
    pub fn remove(&mut self, uid: &str) {
        self.unlink(uid);
        self.nodes.remove(uid);
        if let Some(dependents) = self.dependents.get(uid) {
            self.dirty.extend(dependents.iter().cloned());
        }
    }

    /// Replaces every node of `desc`'s kind with `nodes`, every object its view holds (a
    /// rebuild from the view).
    pub fn resync(&mut self, desc: &'static ResourceDescriptor, nodes: Vec<Node>) {
        let present: HashSet<&str> = nodes.iter().map(|n| n.uid.as_str()).collect();
        let gone: Vec<String> = self
            .nodes
            .values()
            .filter(|n| n.desc.storage_prefix == desc.storage_prefix)
            .filter(|n| !present.contains(n.uid.as_str()))
            .map(|n| n.uid.clone())
            .collect();
        // An owner the collector is not acting on has no node, so its going shows only
        // here: in the dependents that still name it.
        let orphaned: Vec<String> = self
            .dependents
            .iter()
            .filter(|(owner, _)| !present.contains(owner.as_str()))
            .flat_map(|(owner, deps)| {
                deps.iter()
                    .filter(|d| self.names_as_owner(d, owner, desc))
                    .cloned()
            })
            .collect();
        self.dirty.extend(orphaned);
        for uid in gone {
            self.remove(&uid);
        }
        for node in nodes {
            self.upsert(node);
        }
    }

    /// Whether the node `uid` names `owner` as an owner of `desc`'s kind.
    fn names_as_owner(&self, uid: &str, owner: &str, desc: &ResourceDescriptor) -> bool {
        self.nodes.get(uid).is_some_and(|n| {
            n.owners
                .iter()
                .any(|o| o.uid == owner && o.names_kind_of(desc))
        })
    }

    /// Removes `uid`'s owner edges, marking its owners dirty (one may be waiting for it).
    fn unlink(&mut self, uid: &str) {
        let Some(old) = self.nodes.get(uid) else {
            return;
        };
        for owner in &old.owners {
            if let Some(set) = self.dependents.get_mut(&owner.uid) {
                set.remove(uid);
                if set.is_empty() {
                    self.dependents.remove(&owner.uid);
                }
            }
            if self.nodes.contains_key(&owner.uid) {
                self.dirty.insert(owner.uid.clone());
            }
        }
    }

    /// Marks `uid` to be examined again on the next pass (an action failed).
    pub fn mark_dirty(&mut self, uid: &str) {
        self.dirty.insert(uid.to_string());
    }

    /// Takes up to `max` dirty uids that still name a node.
    pub fn take_dirty(&mut self, max: usize) -> Vec<String> {
        let mut taken = Vec::new();
        while taken.len() < max {
            let Some(uid) = self.dirty.pop_first() else {
                break;
            };
            if self.nodes.contains_key(&uid) {
                taken.push(uid);
            }
        }
        taken
    }

    pub fn dirty_len(&self) -> usize {
        self.dirty.len()
    }
}

#[cfg(test)]
#[path = "graph_tests.rs"]
mod tests;
