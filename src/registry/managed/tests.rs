//! Field sets, the merge and the ownership rules, on Deployments with upstream's schema.

use serde_json::{json, Value};

use super::path::parse_path;
use super::*;

fn writer(manager: &str) -> Writer<'_> {
    Writer {
        manager,
        api_version: "apps/v1".into(),
        subresource: "",
        has_status: true,
        shape: Shape::of_kind("apps", "v1", "Deployment"),
    }
}

fn deployment(replicas: i64, image: &str) -> Value {
    json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "default", "labels": {"app": "web"}},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": "web"}},
            "template": {"metadata": {"labels": {"app": "web"}},
                         "spec": {"containers": [{"name": "c", "image": image}]}}
        }
    })
}

fn fields(obj: &Value, manager: &str) -> Value {
    obj["metadata"]["managedFields"]
        .as_array()
        .and_then(|a| a.iter().find(|e| e["manager"] == manager))
        .map(|e| e["fieldsV1"].clone())
        .unwrap_or(Value::Null)
}

#[test]
fn fields_v1_round_trips_with_member_markers() {
    let text = json!({"f:metadata": {"f:labels": {".": {}, "f:app": {}}},
        "f:spec": {"f:containers": {"k:{\"name\":\"c\"}": {".": {}, "f:image": {}}}}});
    let set = FieldSet::from_fields_v1(&text).expect("valid fieldsV1");
    assert!(set.contains(&parse_path(&["f:metadata", "f:labels"])));
    assert!(set.contains(&parse_path(&[
        "f:spec",
        "f:containers",
        r#"k:{"name":"c"}"#,
        "f:image"
    ])));
    assert!(!set.contains(&parse_path(&["f:metadata"])));
    assert_eq!(set.to_fields_v1(), text);
    assert!(FieldSet::from_fields_v1(&json!({"x:y": {}})).is_err());
}

#[test]
fn applied_fields_follow_the_schema() {
    let set = walk::field_set(&deployment(1, "nginx"), writer("m").shape);
    let v1 = set.to_fields_v1();
    // The selector is an atomic map: one leaf. Containers are keyed by name.
    assert_eq!(v1["f:spec"]["f:selector"], json!({}));
    assert_eq!(v1["f:spec"]["f:replicas"], json!({}));
    let container = &v1["f:spec"]["f:template"]["f:spec"]["f:containers"]["k:{\"name\":\"c\"}"];
    assert_eq!(container, &json!({".": {}, "f:image": {}, "f:name": {}}));
    assert_eq!(v1["f:metadata"]["f:labels"], json!({"f:app": {}}));
}

#[test]
fn merge_keys_list_elements_and_replaces_atomic_parts() {
    let shape = writer("m").shape;
    let mut live = deployment(1, "nginx");
    live["spec"]["template"]["spec"]["containers"]
        .as_array_mut()
        .expect("containers")
        .push(json!({"name": "side", "image": "busybox"}));
    let config = json!({"spec": {"selector": {"matchLabels": {"x": "y"}},
        "template": {"spec": {"containers": [{"name": "c", "image": "nginx:2"}]}}}});
    let merged = merge::merge(&live, &config, shape);
    let containers = &merged["spec"]["template"]["spec"]["containers"];
    assert_eq!(containers[0], json!({"name": "c", "image": "nginx:2"}));
    assert_eq!(containers[1]["name"], "side");
    assert_eq!(
        merged["spec"]["selector"],
        json!({"matchLabels": {"x": "y"}})
    );
}

#[test]
fn apply_creates_then_reapplying_changes_nothing() {
    let created = apply(None, &deployment(1, "nginx"), &writer("a"), false).expect("no conflict");
    assert_eq!(
        created["metadata"]["managedFields"][0]["operation"],
        "Apply"
    );
    let again =
        apply(Some(&created), &deployment(1, "nginx"), &writer("a"), false).expect("no conflict");
    assert_eq!(again, created);
}

#[test]
fn a_second_applier_conflicts_on_a_different_value_and_force_moves_it() {
    let live = apply(None, &deployment(1, "nginx"), &writer("a"), false).expect("created");
    let mine = json!({"apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "web"}, "spec": {"replicas": 3}});
    let err = apply(Some(&live), &mine, &writer("b"), false).expect_err("conflict");
    assert_eq!(
        err.message(),
        "Apply failed with 1 conflict: conflict with \"a\": .spec.replicas"
    );
    let same = json!({"apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "web"}, "spec": {"replicas": 1}});
    assert!(
        apply(Some(&live), &same, &writer("b"), false).is_ok(),
        "equal values share"
    );
    let forced = apply(Some(&live), &mine, &writer("b"), true).expect("forced");
    assert_eq!(forced["spec"]["replicas"], 3);
    assert_eq!(fields(&forced, "b")["f:spec"]["f:replicas"], json!({}));
    assert!(fields(&forced, "a")["f:spec"].get("f:replicas").is_none());
}

#[test]
fn a_field_no_longer_applied_is_removed_unless_someone_else_owns_it() {
    let mut config = deployment(1, "nginx");
    config["metadata"]["labels"]["tier"] = json!("front");
    let live = apply(None, &config, &writer("a"), false).expect("created");
    let pruned = apply(Some(&live), &deployment(1, "nginx"), &writer("a"), false).expect("ok");
    assert!(pruned["metadata"]["labels"].get("tier").is_none());
    // Shared with another applier: it stays.
    let shared = apply(Some(&live), &config, &writer("b"), false).expect("shared");
    let kept = apply(Some(&shared), &deployment(1, "nginx"), &writer("a"), false).expect("ok");
    assert_eq!(kept["metadata"]["labels"]["tier"], "front");
}

#[test]
fn updates_take_the_fields_they_change() {
    let live = apply(None, &deployment(1, "nginx"), &writer("a"), false).expect("created");
    let mut edited = live.clone();
    edited["spec"]["replicas"] = json!(5);
    edited["metadata"]["labels"]["extra"] = json!("x");
    let updated = record_update(Some(&live), edited, &writer("kubectl-edit"));
    let entry = &updated["metadata"]["managedFields"][1];
    assert_eq!(entry["operation"], "Update");
    assert_eq!(entry["manager"], "kubectl-edit");
    assert_eq!(
        entry["fieldsV1"],
        json!({"f:metadata": {"f:labels": {"f:extra": {}}}, "f:spec": {"f:replicas": {}}})
    );
    assert!(fields(&updated, "a")["f:spec"].get("f:replicas").is_none());
    // A no-op update leaves the entries as they were.
    let again = record_update(Some(&updated), updated.clone(), &writer("kubectl-edit"));
    assert_eq!(again, updated);
}

#[test]
fn explicit_managed_fields_replace_the_stored_ones() {
    let live = apply(None, &deployment(1, "nginx"), &writer("a"), false).expect("created");
    let mut cleared = live.clone();
    cleared["metadata"]["managedFields"] = json!([{}]);
    let updated = record_update(Some(&live), cleared, &writer("x"));
    assert!(updated["metadata"].get("managedFields").is_none());
    let mut empty = live.clone();
    empty["metadata"]["managedFields"] = json!([]);
    let kept = record_update(Some(&live), empty, &writer("x"));
    assert_eq!(
        kept["metadata"]["managedFields"],
        live["metadata"]["managedFields"]
    );
}

#[test]
fn kubectl_server_side_apply_rewrites_the_last_applied_annotation() {
    let mut live = apply(None, &deployment(1, "nginx"), &writer("kubectl"), false).expect("ok");
    live["metadata"]["annotations"] = json!({LAST_APPLIED: "{}"});
    let config = deployment(2, "nginx");
    let applied = apply(Some(&live), &config, &writer("kubectl"), false).expect("ok");
    let text = applied["metadata"]["annotations"][LAST_APPLIED]
        .as_str()
        .expect("annotation");
    let recorded: Value = serde_json::from_str(text).expect("JSON");
    assert_eq!(recorded, config);
}

#[test]
fn update_managers_beyond_ten_fold_into_ancient_changes() {
    let mut obj = deployment(1, "nginx");
    for i in 0..12 {
        let mut next = obj.clone();
        next["metadata"]["labels"][format!("l{i}")] = json!("v");
        obj = record_update(Some(&obj), next, &writer(&format!("m{i:02}")));
    }
    let entries = obj["metadata"]["managedFields"]
        .as_array()
        .expect("entries");
    assert_eq!(entries.len(), 10);
    assert!(entries.iter().any(|e| e["manager"] == "ancient-changes"));
}

#[test]
fn manager_names_from_user_agents() {
    assert_eq!(
        manager_from_user_agent("kubectl/v1.32.0 (linux/amd64)"),
        "kubectl"
    );
    assert_eq!(manager_from_user_agent(&"x".repeat(300)).len(), 128);
    assert!(check_manager(&"x".repeat(129)).is_err());
    assert!(check_manager("kubectl").is_ok());
}
