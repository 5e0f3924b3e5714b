//! Bad input over raw HTTPS gets upstream's status code and an upstream-shaped
//! `metav1.Status` body, and stores nothing: after each group of bad requests the set of
//! configmaps and secrets (names and resourceVersions, across all namespaces) is unchanged.

mod support;

use std::collections::BTreeSet;

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use support::{status::assert_status, Server};

const CMS: &str = "/api/v1/namespaces/default/configmaps";

/// (resource, namespace, name, resourceVersion) of every configmap and secret.
async fn stored(server: &Server) -> BTreeSet<(String, String, String, String)> {
    let mut all = BTreeSet::new();
    for resource in ["configmaps", "secrets"] {
        let list = server.get_ok(&format!("/api/v1/{resource}")).await;
        for item in list["items"].as_array().expect("items") {
            let m = &item["metadata"];
            // Published by a controller on its own schedule, not by these requests.
            if resource == "configmaps" && m["name"] == support::ROOT_CA_CONFIGMAP {
                continue;
            }
            let field = |k: &str| m[k].as_str().unwrap_or_default().to_string();
            all.insert((
                resource.to_string(),
                field("namespace"),
                field("name"),
                field("resourceVersion"),
            ));
        }
    }
    all
}

fn configmap(name: &str) -> Value {
    json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": {"k": "v"}})
}

/// Starts a server with one configmap in it, and returns the store snapshot.
async fn server_with_one_object() -> (Server, BTreeSet<(String, String, String, String)>) {
    let server = Server::start().await;
    let (status, body) = server.post(CMS, &configmap("existing")).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let before = stored(&server).await;
    assert!(before
        .iter()
        .any(|(_, ns, n, _)| ns == "default" && n == "existing"));
    (server, before)
}

async fn assert_unchanged(server: &Server, before: &BTreeSet<(String, String, String, String)>) {
    let after = stored(server).await;
    let added: Vec<_> = after.difference(before).collect();
    let removed: Vec<_> = before.difference(&after).collect();
    assert!(
        added.is_empty() && removed.is_empty(),
        "bad input changed the store: added {added:?}, removed {removed:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_json_is_bad_request() {
    let (server, before) = server_with_one_object().await;
    for body in [
        r#"{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"x""#,
        "not json at all",
        r#"{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"x"},"data":{"k":1}}"#,
        "",
    ] {
        let got = server
            .request_raw(
                Method::POST,
                CMS,
                "application/json",
                body.as_bytes().to_vec(),
            )
            .await;
        assert_status(&format!("POST {body:?}"), got, 400, "BadRequest");
    }
    let got = server
        .request_raw(
            Method::PUT,
            &format!("{CMS}/existing"),
            "application/json",
            b"{".to_vec(),
        )
        .await;
    assert_status("PUT {", got, 400, "BadRequest");
    assert_unchanged(&server, &before).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_yaml_is_bad_request() {
    let (server, before) = server_with_one_object().await;
    let bad = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: bad-yaml\ndata:\n  k: [v\n";
    let got = server
        .request_raw(
            Method::POST,
            CMS,
            "application/yaml",
            bad.as_bytes().to_vec(),
        )
        .await;
    assert_status("malformed YAML", got, 400, "BadRequest");
    assert_unchanged(&server, &before).await;

    // The same content type with a well-formed body is accepted, so the 400 above was
    // about the malformed document and not about YAML itself.
    let good = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: good-yaml\ndata:\n  k: v\n";
    let (status, body) = server
        .request_raw(
            Method::POST,
            CMS,
            "application/yaml",
            good.as_bytes().to_vec(),
        )
        .await;
    assert_eq!(
        status,
        StatusCode::CREATED,
        "well-formed YAML create: {body}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn body_kind_or_version_not_matching_the_url_is_bad_request() {
    let (server, before) = server_with_one_object().await;
    let secret = json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"}, "stringData": {"a": "b"}});
    assert_status(
        "Secret posted to configmaps",
        server.post(CMS, &secret).await,
        400,
        "BadRequest",
    );
    let wrong_group =
        json!({"apiVersion": "apps/v1", "kind": "ConfigMap", "metadata": {"name": "g"}});
    assert_status(
        "apps/v1 ConfigMap posted to core configmaps",
        server.post(CMS, &wrong_group).await,
        400,
        "BadRequest",
    );
    let deployment =
        json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d"}});
    assert_status(
        "Deployment posted to configmaps",
        server.post(CMS, &deployment).await,
        400,
        "BadRequest",
    );
    let mut secret_put = secret.clone();
    secret_put["metadata"]["name"] = json!("existing");
    assert_status(
        "Secret put over a configmap",
        server.put(&format!("{CMS}/existing"), &secret_put).await,
        400,
        "BadRequest",
    );
    assert_unchanged(&server, &before).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn put_with_a_different_name_in_the_body_is_bad_request() {
    let (server, before) = server_with_one_object().await;
    let existing = server.get_ok(&format!("{CMS}/existing")).await;
    let mut renamed = existing.clone();
    renamed["metadata"]["name"] = json!("other");
    let body = assert_status(
        "PUT existing with name other",
        server.put(&format!("{CMS}/existing"), &renamed).await,
        400,
        "BadRequest",
    );
    let message = body["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("does not match"),
        "message should say the names differ: {message}"
    );
    assert_unchanged(&server, &before).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_resource_is_not_found() {
    let (server, before) = server_with_one_object().await;
    for path in [
        "/api/v1/namespaces/default/foos",
        "/api/v1/namespaces/default/foos/x",
        "/apis/nope.example.com/v1/namespaces/default/foos",
        "/apis/apps/v1/namespaces/default/foos",
    ] {
        assert_status(
            &format!("GET {path}"),
            server.get(path).await,
            404,
            "NotFound",
        );
        assert_status(
            &format!("POST {path}"),
            server.post(path, &configmap("x")).await,
            404,
            "NotFound",
        );
    }
    assert_unchanged(&server, &before).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unsupported_verb_is_method_not_allowed() {
    let (server, before) = server_with_one_object().await;
    // Upstream's routes: the collection takes GET, POST and DELETE; a named object GET,
    // PUT, PATCH and DELETE. Anything else is 405 MethodNotAllowed.
    let got = server
        .post(&format!("{CMS}/existing"), &configmap("existing"))
        .await;
    assert_status("POST to a named configmap", got, 405, "MethodNotAllowed");
    let got = server
        .post(&format!("{CMS}/new-one"), &configmap("new-one"))
        .await;
    assert_status(
        "POST to a named, missing configmap",
        got,
        405,
        "MethodNotAllowed",
    );
    let got = server.put(CMS, &configmap("existing")).await;
    assert_status(
        "PUT to the configmaps collection",
        got,
        405,
        "MethodNotAllowed",
    );
    assert_unchanged(&server, &before).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn body_over_3_mib_is_request_entity_too_large() {
    let (server, before) = server_with_one_object().await;
    let mut big = configmap("too-big");
    big["data"] = json!({"blob": "x".repeat(3 * 1024 * 1024 + 1024)});
    let bytes = serde_json::to_vec(&big).expect("encode");
    let got = server
        .request_raw(Method::POST, CMS, "application/json", bytes.clone())
        .await;
    assert_status("3 MiB create", got, 413, "RequestEntityTooLarge");
    let got = server
        .request_raw(
            Method::PUT,
            &format!("{CMS}/existing"),
            "application/json",
            bytes,
        )
        .await;
    assert_status("3 MiB update", got, 413, "RequestEntityTooLarge");
    assert_unchanged(&server, &before).await;
    // The server is still serving after refusing the large bodies.
    assert_eq!(
        server.get(&format!("{CMS}/existing")).await.0,
        StatusCode::OK
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_selectors_are_bad_request() {
    let (server, before) = server_with_one_object().await;
    for (param, value) in [
        ("labelSelector", "a=("),
        ("labelSelector", "a in (b"),
        ("labelSelector", "!"),
        ("fieldSelector", "spec.nope=x"),
    ] {
        let mut url = reqwest::Url::parse(&server.url(CMS)).expect("url");
        url.query_pairs_mut().append_pair(param, value);
        let resp = server.http().get(url).send().await.expect("list");
        assert_status(
            &format!("{param}={value}"),
            support::read_json(resp).await,
            400,
            "BadRequest",
        );
    }
    // A valid selector on the same collection works.
    let (status, body) = server
        .get(&format!("{CMS}?labelSelector=a%20in%20(b)"))
        .await;
    assert_eq!(status, StatusCode::OK, "valid selector: {body}");
    assert_unchanged(&server, &before).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_name_and_labels_are_invalid_with_field_causes() {
    let (server, before) = server_with_one_object().await;
    let body = assert_status(
        "create Upper_Case",
        server.post(CMS, &configmap("Upper_Case")).await,
        422,
        "Invalid",
    );
    assert_eq!(
        body["details"]["name"], "Upper_Case",
        "details.name: {body}"
    );
    assert_eq!(body["details"]["kind"], "ConfigMap", "details.kind: {body}");
    let causes = body["details"]["causes"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert!(
        causes
            .iter()
            .any(|c| c["field"] == "metadata.name" && c["reason"] == "FieldValueInvalid"),
        "details.causes should name metadata.name: {body}"
    );

    let mut bad_label = configmap("bad-label");
    bad_label["metadata"]["labels"] = json!({"ok": "not a valid value!"});
    let body = assert_status(
        "create with a bad label value",
        server.post(CMS, &bad_label).await,
        422,
        "Invalid",
    );
    let causes = body["details"]["causes"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert!(
        causes.iter().any(|c| c["field"]
            .as_str()
            .is_some_and(|f| f.starts_with("metadata.labels"))),
        "details.causes should name metadata.labels: {body}"
    );
    assert_unchanged(&server, &before).await;
}
