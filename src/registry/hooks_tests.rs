//! Tests of the hook order as plain functions: no server, no storage.

use serde_json::json;

use super::*;
use crate::kinds::catalog;

fn desc(resource: &str) -> &'static ResourceDescriptor {
    catalog()
        .into_iter()
        .find(|d| d.resource == resource)
        .expect("kind in catalog")
}

fn stamp() -> Stamp {
    Stamp {
        uid: "u-1".into(),
        now: "2026-01-01T00:00:00Z".into(),
        name_suffix: "abcde".into(),
    }
}

#[test]
fn create_fills_system_metadata_and_namespace() {
    let obj = json!({"metadata": {"name": "c", "resourceVersion": "9", "uid": "client"}, "data": {"a": "b"}});
    let out = prepare_create(desc("configmaps"), obj, "default", &stamp()).unwrap();
    assert_eq!(out["metadata"]["namespace"], "default");
    assert_eq!(out["metadata"]["uid"], "u-1");
    assert_eq!(out["metadata"]["creationTimestamp"], "2026-01-01T00:00:00Z");
    assert!(out["metadata"].get("resourceVersion").is_none());
    assert!(out["metadata"].get("generation").is_none());
}

#[test]
fn create_generates_names_and_rejects_bad_ones() {
    let out = prepare_create(
        desc("configmaps"),
        json!({"metadata": {"generateName": "web-"}}),
        "ns",
        &stamp(),
    )
    .unwrap();
    assert_eq!(out["metadata"]["name"], "web-abcde");
    let err = prepare_create(
        desc("configmaps"),
        json!({"metadata": {"name": "Bad_Name"}}),
        "ns",
        &stamp(),
    )
    .unwrap_err();
    let RegistryError::Invalid {
        message, causes, ..
    } = err
    else {
        panic!("not Invalid")
    };
    assert!(
        message.starts_with(
            "ConfigMap \"Bad_Name\" is invalid: metadata.name: Invalid value: \"Bad_Name\""
        ),
        "{message}"
    );
    assert_eq!(causes[0].field, "metadata.name");
    let missing =
        prepare_create(desc("configmaps"), json!({"metadata": {}}), "ns", &stamp()).unwrap_err();
    assert!(matches!(missing, RegistryError::Invalid { .. }));
}

#[test]
fn create_refuses_a_namespace_other_than_the_url() {
    let err = prepare_create(
        desc("configmaps"),
        json!({"metadata": {"name": "c", "namespace": "other"}}),
        "default",
        &stamp(),
    )
    .unwrap_err();
    assert!(matches!(err, RegistryError::BadRequest { .. }));
}

#[test]
fn workloads_start_at_generation_one_with_empty_status() {
    let obj =
        json!({"metadata": {"name": "d"}, "spec": {"replicas": 1}, "status": {"replicas": 5}});
    let out = prepare_create(desc("deployments"), obj, "ns", &stamp()).unwrap();
    assert_eq!(out["metadata"]["generation"], 1);
    assert!(out.get("status").is_none());
}

fn stored_deployment() -> serde_json::Value {
    json!({"metadata": {"name": "d", "namespace": "ns", "uid": "u-1", "generation": 1, "resourceVersion": "5", "creationTimestamp": "2026-01-01T00:00:00Z"},
           "spec": {"replicas": 1}, "status": {"replicas": 1}})
}

#[test]
fn update_keeps_status_and_bumps_generation_only_on_spec_change() {
    let old = stored_deployment();
    let mut new = old.clone();
    new["spec"]["replicas"] = json!(3);
    new["status"] = json!({"replicas": 99});
    let UpdatePlan::Write(out) =
        prepare_update(desc("deployments"), new, &old, 5, "ns", false).unwrap()
    else {
        panic!()
    };
    assert_eq!(out["metadata"]["generation"], 2);
    assert_eq!(out["status"]["replicas"], 1);
    let mut labels_only = old.clone();
    labels_only["metadata"]["labels"] = json!({"a": "b"});
    let UpdatePlan::Write(out) =
        prepare_update(desc("deployments"), labels_only, &old, 5, "ns", false).unwrap()
    else {
        panic!()
    };
    assert_eq!(out["metadata"]["generation"], 1);
}

#[test]
fn status_update_keeps_spec() {
    let old = stored_deployment();
    let mut new = old.clone();
    new["spec"]["replicas"] = json!(7);
    new["status"]["replicas"] = json!(2);
    let UpdatePlan::Write(out) =
        prepare_update(desc("deployments"), new, &old, 5, "ns", true).unwrap()
    else {
        panic!()
    };
    assert_eq!(
        (
            out["spec"]["replicas"].clone(),
            out["status"]["replicas"].clone()
        ),
        (json!(1), json!(2))
    );
}

#[test]
fn stale_resource_version_and_uid_conflict() {
    let old = stored_deployment();
    let mut stale = old.clone();
    stale["metadata"]["resourceVersion"] = json!("4");
    assert!(matches!(
        prepare_update(desc("deployments"), stale, &old, 5, "ns", false),
        Err(RegistryError::Conflict { .. })
    ));
    let mut other_uid = old.clone();
    other_uid["metadata"]["uid"] = json!("u-2");
    assert!(matches!(
        prepare_update(desc("deployments"), other_uid, &old, 5, "ns", false),
        Err(RegistryError::Conflict { .. })
    ));
}

#[test]
fn unchanged_update_writes_nothing() {
    let old = stored_deployment();
    assert_eq!(
        prepare_update(desc("deployments"), old.clone(), &old, 5, "ns", false).unwrap(),
        UpdatePlan::Unchanged
    );
}

#[test]
fn removing_the_last_finalizer_of_a_deleting_object_deletes_it() {
    let mut old = stored_deployment();
    old["metadata"]["finalizers"] = json!(["x/y"]);
    old["metadata"]["deletionTimestamp"] = json!("2026-01-01T00:00:01Z");
    let mut new = old.clone();
    new["metadata"]["finalizers"] = json!([]);
    assert!(matches!(
        prepare_update(desc("deployments"), new, &old, 5, "ns", false).unwrap(),
        UpdatePlan::Delete(_)
    ));
}

#[test]
fn namespaces_get_their_finalizer_label_and_phase() {
    let out = prepare_create(
        desc("namespaces"),
        json!({"metadata": {"name": "team-a"}}),
        "",
        &stamp(),
    )
    .unwrap();
    assert_eq!(out["spec"]["finalizers"], json!(["kubernetes"]));
    assert_eq!(out["status"]["phase"], "Active");
    assert_eq!(
        out["metadata"]["labels"]["kubernetes.io/metadata.name"],
        "team-a"
    );
}
