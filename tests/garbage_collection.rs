//! The garbage collector, driven with kubectl and raw HTTPS: background deletion removes
//! the owner at once and its dependents soon after; foreground deletion keeps the owner,
//! with its `foregroundDeletion` finalizer, until the dependents that block it are gone;
//! orphan deletion leaves the dependents without the owner's reference; dependents whose
//! owner uid does not exist (in their namespace) are collected; DeleteOptions errors are
//! upstream's.

mod support;

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{json, Value};
use support::{eventually, Server};

/// A few controller ticks (2 s each) and the writes they make.
const SETTLE: Duration = Duration::from_secs(30);

fn path(ns: &str, name: &str) -> String {
    format!("/api/v1/namespaces/{ns}/configmaps/{name}")
}

async fn create(server: &Server, ns: &str, name: &str, owners: Value, extra: Value) -> Value {
    let mut meta = json!({"name": name, "ownerReferences": owners});
    if let (Some(meta), Some(extra)) = (meta.as_object_mut(), extra.as_object()) {
        meta.extend(extra.clone());
    }
    let body = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta});
    let (status, obj) = server
        .post(&format!("/api/v1/namespaces/{ns}/configmaps"), &body)
        .await;
    assert_eq!(status, StatusCode::CREATED, "{obj}");
    obj
}

fn owner_ref(owner: &Value, block: bool) -> Value {
    json!({"apiVersion": "v1", "kind": "ConfigMap", "name": owner["metadata"]["name"],
           "uid": owner["metadata"]["uid"], "blockOwnerDeletion": block})
}

async fn exists(server: &Server, ns: &str, name: &str) -> Option<Value> {
    let (status, obj) = server.get(&path(ns, name)).await;
    (status == StatusCode::OK).then_some(obj)
}

async fn wait_gone(server: &Server, ns: &str, name: &str) {
    eventually(&format!("{ns}/{name} to be collected"), SETTLE, || async {
        exists(server, ns, name).await.is_none().then_some(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn background_deletion_collects_dependents() {
    let server = Server::start().await;
    server.create_namespace("gc-bg").await;
    let owner = create(&server, "gc-bg", "owner", json!([]), json!({})).await;
    for name in ["d1", "d2"] {
        create(
            &server,
            "gc-bg",
            name,
            json!([owner_ref(&owner, false)]),
            json!({}),
        )
        .await;
    }
    create(&server, "gc-bg", "bystander", json!([]), json!({})).await;

    let out = server.kubectl_ok(&[
        "delete",
        "cm",
        "owner",
        "-n",
        "gc-bg",
        "--cascade=background",
    ]);
    assert_eq!(out.trim(), "configmap \"owner\" deleted");
    assert!(
        exists(&server, "gc-bg", "owner").await.is_none(),
        "the owner goes at once"
    );
    wait_gone(&server, "gc-bg", "d1").await;
    wait_gone(&server, "gc-bg", "d2").await;
    assert!(exists(&server, "gc-bg", "bystander").await.is_some());
}

#[tokio::test(flavor = "multi_thread")]
async fn foreground_deletion_waits_for_blocking_dependents() {
    let server = Server::start().await;
    server.create_namespace("gc-fg").await;
    let owner = create(&server, "gc-fg", "owner", json!([]), json!({})).await;
    let hold = json!({"finalizers": ["example.com/hold"]});
    create(
        &server,
        "gc-fg",
        "blocker",
        json!([owner_ref(&owner, true)]),
        hold,
    )
    .await;
    create(
        &server,
        "gc-fg",
        "plain",
        json!([owner_ref(&owner, false)]),
        json!({}),
    )
    .await;

    server.kubectl_ok(&[
        "delete",
        "cm",
        "owner",
        "-n",
        "gc-fg",
        "--cascade=foreground",
        "--wait=false",
    ]);
    wait_gone(&server, "gc-fg", "plain").await;
    // The blocker is terminating but held by its own finalizer, so the owner stays.
    let blocker = exists(&server, "gc-fg", "blocker")
        .await
        .expect("blocker held");
    assert!(
        blocker["metadata"]["deletionTimestamp"].is_string(),
        "{blocker}"
    );
    tokio::time::sleep(Duration::from_secs(5)).await;
    let waiting = exists(&server, "gc-fg", "owner")
        .await
        .expect("owner waits");
    assert_eq!(
        waiting["metadata"]["finalizers"],
        json!(["foregroundDeletion"])
    );
    assert!(waiting["metadata"]["deletionTimestamp"].is_string());

    server.kubectl_ok(&[
        "patch",
        "cm",
        "blocker",
        "-n",
        "gc-fg",
        "--type=merge",
        "-p",
        r#"{"metadata":{"finalizers":null}}"#,
    ]);
    wait_gone(&server, "gc-fg", "blocker").await;
    wait_gone(&server, "gc-fg", "owner").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn orphan_deletion_keeps_dependents_without_the_reference() {
    let server = Server::start().await;
    server.create_namespace("gc-or").await;
    let owner = create(&server, "gc-or", "owner", json!([]), json!({})).await;
    let other = create(&server, "gc-or", "other", json!([]), json!({})).await;
    create(
        &server,
        "gc-or",
        "only",
        json!([owner_ref(&owner, true)]),
        json!({}),
    )
    .await;
    let both = json!([owner_ref(&owner, false), owner_ref(&other, false)]);
    create(&server, "gc-or", "shared", both, json!({})).await;

    // kubectl waits until the owner is gone, which takes the collector's pass.
    let out = server.kubectl_ok(&[
        "delete",
        "cm",
        "owner",
        "-n",
        "gc-or",
        "--cascade=orphan",
        "--timeout=60s",
    ]);
    assert_eq!(out.trim(), "configmap \"owner\" deleted");
    let only = exists(&server, "gc-or", "only")
        .await
        .expect("orphan lives on");
    assert!(only["metadata"].get("ownerReferences").is_none(), "{only}");
    let shared = exists(&server, "gc-or", "shared")
        .await
        .expect("shared lives on");
    assert_eq!(
        shared["metadata"]["ownerReferences"],
        json!([owner_ref(&other, false)])
    );
    // Nothing comes back for them later.
    tokio::time::sleep(Duration::from_secs(5)).await;
    assert!(exists(&server, "gc-or", "only").await.is_some());
}

#[tokio::test(flavor = "multi_thread")]
async fn dependents_of_missing_owner_uids_are_collected() {
    let server = Server::start().await;
    server.create_namespace("gc-a").await;
    server.create_namespace("gc-b").await;
    let live = create(&server, "gc-a", "phoenix", json!([]), json!({})).await;
    // Same name, another uid: the owner it named is gone.
    let mut stale = owner_ref(&live, false);
    stale["uid"] = json!("00000000-0000-0000-0000-000000000001");
    create(&server, "gc-a", "stale", json!([stale]), json!({})).await;
    // The right uid, but in another namespace: a namespaced owner counts only in its
    // dependent's namespace.
    create(
        &server,
        "gc-b",
        "elsewhere",
        json!([owner_ref(&live, false)]),
        json!({}),
    )
    .await;
    // A cluster-scoped owner (the namespace itself) is found from any namespace.
    let (_, ns) = server.get("/api/v1/namespaces/gc-a").await;
    let ns_ref = json!({"apiVersion": "v1", "kind": "Namespace", "name": "gc-a",
                        "uid": ns["metadata"]["uid"]});
    create(&server, "gc-b", "ns-owned", json!([ns_ref]), json!({})).await;
    let keeper = create(
        &server,
        "gc-a",
        "keeper",
        json!([owner_ref(&live, false)]),
        json!({}),
    )
    .await;

    wait_gone(&server, "gc-a", "stale").await;
    wait_gone(&server, "gc-b", "elsewhere").await;
    tokio::time::sleep(Duration::from_secs(4)).await;
    let kept = exists(&server, "gc-a", "keeper")
        .await
        .expect("live owner keeps it");
    assert_eq!(kept["metadata"]["uid"], keeper["metadata"]["uid"]);
    assert!(exists(&server, "gc-b", "ns-owned").await.is_some());
}

#[tokio::test(flavor = "multi_thread")]
async fn delete_options_are_read_and_checked_as_upstream() {
    let server = Server::start().await;
    server.create_namespace("gc-opts").await;
    create(&server, "gc-opts", "c", json!([]), json!({})).await;
    let delete = |body: Value| {
        let server = &server;
        async move {
            let resp = server
                .http()
                .delete(server.url(&path("gc-opts", "c")))
                .json(&body)
                .send()
                .await
                .expect("delete");
            support::read_json(resp).await
        }
    };
    let (status, err) = delete(json!({"propagationPolicy": "Sideways"})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{err}");
    assert_eq!(
        err["message"],
        "DeleteOptions.meta.k8s.io \"\" is invalid: propagationPolicy: Unsupported value: \"Sideways\": supported values: \"Foreground\", \"Background\", \"Orphan\", \"nil\""
    );
    let (status, err) =
        delete(json!({"propagationPolicy": "Orphan", "orphanDependents": true})).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{err}");
    assert!(
        err["message"]
            .as_str()
            .unwrap_or("")
            .contains("cannot be both set"),
        "{err}"
    );
    assert!(
        exists(&server, "gc-opts", "c").await.is_some(),
        "a refused delete changes nothing"
    );

    // The query works too: Orphan leaves the object terminating with its finalizer
    // until the collector's pass removes it.
    let (status, obj) = server
        .delete(&format!(
            "{}?propagationPolicy=Orphan",
            path("gc-opts", "c")
        ))
        .await;
    assert_eq!(status, StatusCode::OK, "{obj}");
    assert_eq!(obj["metadata"]["finalizers"], json!(["orphan"]), "{obj}");
    wait_gone(&server, "gc-opts", "c").await;
}
