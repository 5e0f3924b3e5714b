use serde_json::json;

use super::*;

fn desc() -> &'static ResourceDescriptor {
    crate::kinds::catalog()
        .into_iter()
        .find(|d| d.resource == "configmaps")
        .expect("configmaps are served")
}

fn node(uid: &str, owners: &[&str], finalizers: &[&str], deleting: bool) -> Node {
    let refs: Vec<_> = owners
        .iter()
        .map(|o| json!({"apiVersion": "v1", "kind": "ConfigMap", "name": o, "uid": o}))
        .collect();
    let mut meta = json!({"name": uid, "namespace": "ns", "uid": uid,
                          "ownerReferences": refs, "finalizers": finalizers});
    if deleting {
        meta["deletionTimestamp"] = json!("2026-01-01T00:00:00Z");
    }
    let bytes = serde_json::to_vec(&json!({"metadata": meta})).unwrap();
    Node::parse(desc(), &bytes).unwrap()
}

#[test]
fn parse_reads_owners_and_gc_finalizers() {
    let n = node("a", &["o1", "o2"], &["orphan", "x"], true);
    assert_eq!(n.owners.len(), 2);
    assert!(n.orphan && !n.foreground && n.deleting);
    assert!(Node::parse(desc(), b"{\"metadata\":{}}").is_none());
    assert!(Node::parse(desc(), b"not json").is_none());
}

#[test]
fn dependents_are_indexed_by_owner_uid() {
    let mut g = Graph::default();
    g.upsert(node("owner", &[], &[], false));
    g.upsert(node("d1", &["owner"], &[], false));
    g.upsert(node("d2", &["owner", "other"], &[], false));
    let mut deps: Vec<_> = g.dependents_of("owner").map(|n| n.uid.clone()).collect();
    deps.sort();
    assert_eq!(deps, ["d1", "d2"]);
    // Objects with owners are examined once; an owner without GC finalizers is not.
    assert_eq!(g.take_dirty(10), ["d1", "d2"]);
    assert!(g.take_dirty(10).is_empty());
}

#[test]
fn removing_an_owner_marks_its_dependents() {
    let mut g = Graph::default();
    g.upsert(node("owner", &[], &[], false));
    g.upsert(node("d1", &["owner"], &[], false));
    g.take_dirty(10);
    // An unchanged upsert marks nothing.
    g.upsert(node("d1", &["owner"], &[], false));
    assert!(g.take_dirty(10).is_empty());
    g.remove("owner");
    assert_eq!(g.take_dirty(10), ["d1"]);
}

#[test]
fn removing_a_dependent_marks_a_waiting_owner() {
    let mut g = Graph::default();
    g.upsert(node("owner", &[], &["foregroundDeletion"], true));
    g.upsert(node("d1", &["owner"], &[], false));
    assert_eq!(g.take_dirty(10), ["d1", "owner"]);
    g.remove("d1");
    assert_eq!(g.take_dirty(10), ["owner"]);
    assert_eq!(g.dependents_of("owner").count(), 0);
}

#[test]
fn resync_drops_vanished_nodes_of_the_kind() {
    let mut g = Graph::default();
    g.upsert(node("owner", &[], &[], false));
    g.upsert(node("d1", &["owner"], &[], false));
    g.take_dirty(10);
    g.resync(desc(), vec![node("d1", &["owner"], &[], false)]);
    assert!(g.node("owner").is_none());
    assert_eq!(g.take_dirty(10), ["d1"]);
}

#[test]
fn only_objects_the_collector_may_act_on_are_nodes() {
    let mut g = Graph::default();
    g.upsert(node("owner", &[], &[], false));
    g.upsert(node("d1", &["owner"], &[], false));
    g.upsert(node("leaving", &[], &["orphan"], true));
    assert!(g.node("owner").is_none());
    assert!(g.node("d1").is_some() && g.node("leaving").is_some());
    // A dependent whose last owner reference is removed stops being a node.
    g.upsert(node("d1", &[], &[], false));
    assert!(g.node("d1").is_none());
    assert_eq!(g.dependents_of("owner").count(), 0);
}

#[test]
fn resync_marks_dependents_of_owners_gone_from_the_kind() {
    let mut g = Graph::default();
    g.upsert(node("d1", &["owner"], &[], false));
    g.upsert(node("d2", &["kept"], &[], false));
    g.take_dirty(10);
    // The view holds d1, d2 and "kept" but not "owner".
    let view = vec![
        node("d1", &["owner"], &[], false),
        node("d2", &["kept"], &[], false),
        node("kept", &[], &[], false),
    ];
    g.resync(desc(), view);
    assert_eq!(g.take_dirty(10), ["d1"]);
}

#[test]
fn resync_of_another_kind_leaves_dependents_alone() {
    let secrets = crate::kinds::catalog()
        .into_iter()
        .find(|d| d.resource == "secrets")
        .expect("secrets are served");
    let mut g = Graph::default();
    g.upsert(node("d1", &["owner"], &[], false));
    g.take_dirty(10);
    // d1's owner is a ConfigMap: a Secret view without it says nothing about it.
    g.resync(secrets, Vec::new());
    assert!(g.take_dirty(10).is_empty());
    assert!(g.node("d1").is_some());
}

#[test]
fn take_dirty_is_bounded() {
    let mut g = Graph::default();
    for i in 0..5 {
        g.upsert(node(&format!("d{i}"), &["gone"], &[], false));
    }
    assert_eq!(g.take_dirty(2).len(), 2);
    assert_eq!(g.dirty_len(), 3);
}
