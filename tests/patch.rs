//! Strategic merge patch through kubectl, against a real keelson: `kubectl patch` (its
//! default patch type), client-side `kubectl apply` (the three-way patch it computes),
//! `kubectl edit`, and `kubectl label` / `annotate` (which send JSON merge patches), plus
//! the directives and upstream's answers to bad strategic patches.

mod support;

use std::os::unix::fs::PermissionsExt;

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use support::Server;

const DEPLOY: &str = "/apis/apps/v1/namespaces/default/deployments";
const SMP: &str = "application/strategic-merge-patch+json";

fn deployment_yaml(containers: &str, labels: &str) -> String {
    format!(
        r#"apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: default
  labels:
{labels}
spec:
  replicas: 1
  selector:
    matchLabels:
      app: web
  strategy:
    type: RollingUpdate
    rollingUpdate:
      maxSurge: 1
  template:
    metadata:
      labels:
        app: web
    spec:
      containers:
{containers}
"#
    )
}

const TWO_CONTAINERS: &str = r#"      - name: a
        image: nginx:1
        env:
        - name: ALPHA
          value: "1"
        - name: BETA
          value: "2"
      - name: b
        image: nginx:1"#;

fn get(server: &Server) -> Value {
    let out = server.kubectl_ok(&["get", "deployment", "web", "-o", "json"]);
    serde_json::from_str(&out)
        .unwrap_or_else(|e| panic!("kubectl get printed invalid JSON ({e}): {out}"))
}

fn containers(obj: &Value) -> Vec<(String, String)> {
    obj["spec"]["template"]["spec"]["containers"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|c| {
            let s = |k: &str| c[k].as_str().unwrap_or_default().to_string();
            (s("name"), s("image"))
        })
        .collect()
}

fn names(list: &Value) -> Vec<String> {
    list.as_array()
        .into_iter()
        .flatten()
        .filter_map(|c| c["name"].as_str().map(str::to_string))
        .collect()
}

fn patch(server: &Server, body: &str) -> String {
    server.kubectl_ok(&["patch", "deployment", "web", "-p", body])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_patch_merges_lists_by_key_and_follows_directives() {
    let server = Server::start().await;
    let file = server.scratch_file("web.yaml", &deployment_yaml(TWO_CONTAINERS, "    app: web"));
    server.kubectl_ok(&["create", "-f", file.to_str().unwrap_or_default()]);

    // The default --type is strategic: container b changes by name, a stays.
    patch(
        &server,
        r#"{"spec":{"template":{"spec":{"containers":[{"name":"b","image":"nginx:2"}]}}}}"#,
    );
    let obj = get(&server);
    assert_eq!(
        containers(&obj),
        [
            ("a".into(), "nginx:1".into()),
            ("b".into(), "nginx:2".into())
        ]
    );
    // Merge-by-key reaches nested lists: env of container a.
    patch(
        &server,
        r#"{"spec":{"template":{"spec":{"containers":[{"name":"a","env":[{"name":"GAMMA","value":"3"}]}]}}}}"#,
    );
    let obj = get(&server);
    assert_eq!(
        names(&obj["spec"]["template"]["spec"]["containers"][0]["env"]),
        ["GAMMA", "ALPHA", "BETA"]
    );

    // $patch: delete removes one element.
    patch(
        &server,
        r#"{"spec":{"template":{"spec":{"containers":[{"name":"a","$patch":"delete"}]}}}}"#,
    );
    assert_eq!(containers(&get(&server)), [("b".into(), "nginx:2".into())]);

    // $setElementOrder orders the merged list.
    patch(
        &server,
        r#"{"spec":{"template":{"spec":{"containers":[{"name":"c","image":"nginx:3"}]}}}}"#,
    );
    patch(
        &server,
        r#"{"spec":{"template":{"spec":{"$setElementOrder/containers":[{"name":"b"},{"name":"c"}]}}}}"#,
    );
    assert_eq!(
        names(&get(&server)["spec"]["template"]["spec"]["containers"]),
        ["b", "c"]
    );
    patch(
        &server,
        r#"{"spec":{"template":{"spec":{"$setElementOrder/containers":[{"name":"c"},{"name":"b"}]}}}}"#,
    );
    assert_eq!(
        names(&get(&server)["spec"]["template"]["spec"]["containers"]),
        ["c", "b"]
    );

    // $retainKeys on the deployment strategy (patch strategy retainKeys) clears rollingUpdate.
    patch(
        &server,
        r#"{"spec":{"strategy":{"$retainKeys":["type"],"type":"Recreate"}}}"#,
    );
    assert_eq!(
        get(&server)["spec"]["strategy"],
        json!({"type": "Recreate"})
    );

    // finalizers merge as a set; $deleteFromPrimitiveList removes one; labels merge as a map.
    patch(
        &server,
        r#"{"metadata":{"finalizers":["example.com/a","example.com/b"],"labels":{"tier":"web"}}}"#,
    );
    patch(
        &server,
        r#"{"metadata":{"$deleteFromPrimitiveList/finalizers":["example.com/a"],"labels":{"app":null}}}"#,
    );
    let obj = get(&server);
    assert_eq!(obj["metadata"]["finalizers"], json!(["example.com/b"]));
    assert_eq!(obj["metadata"]["labels"], json!({"tier": "web"}));
    patch(&server, r#"{"metadata":{"finalizers":null}}"#);
    assert_eq!(get(&server)["metadata"].get("finalizers"), None);

    // Bad strategic patches: upstream's status code and message; nothing is stored.
    let before = get(&server);
    let err = server.kubectl_err(&[
        "patch",
        "deployment",
        "web",
        "-p",
        r#"{"spec":{"template":{"spec":{"containers":[{"image":"nginx:9"}]}}}}"#,
    ]);
    assert!(
        err.contains(
            "Error from server: map: map[image:nginx:9] does not contain declared merge key: name"
        ),
        "{err}"
    );
    let err = server.kubectl_err(&[
        "patch",
        "deployment",
        "web",
        "-p",
        r#"{"spec":{"template":{"spec":{"containers":[{"name":"b","$patch":"bogus"}]}}}}"#,
    ]);
    assert!(
        err.contains("unknown patch type: bogus in map: map[$patch:bogus name:b]"),
        "{err}"
    );
    let path = format!("{DEPLOY}/web");
    let raw = |body: &str| server.request_raw(Method::PATCH, &path, SMP, body.as_bytes().to_vec());
    let (code, status) =
        raw(r#"{"spec":{"template":{"spec":{"containers":[{"image":"x"}]}}}}"#).await;
    assert_eq!(code, StatusCode::INTERNAL_SERVER_ERROR, "{status}");
    assert_eq!(status["kind"], "Status");
    assert_eq!(
        status.get("reason"),
        None,
        "upstream gives no reason: {status}"
    );
    let (code, status) =
        raw(r#"{"spec": {"strategy": {"$retainKeys": ["type"], "rollingUpdate": {}}}}"#).await;
    assert_eq!(
        (code, status["reason"].as_str()),
        (StatusCode::BAD_REQUEST, Some("BadRequest")),
        "{status}"
    );
    assert_eq!(status["message"], "invalid patch format of retainKeys");
    let (code, status) = raw(r#"{"spec": {"$setElementOrderX": []}}"#).await;
    assert_eq!(code, StatusCode::BAD_REQUEST, "{status}");
    assert_eq!(
        status["message"],
        "invalid patch format of setElementOrder list"
    );
    let (code, status) = raw("{bad").await;
    assert_eq!(code, StatusCode::BAD_REQUEST, "{status}");
    assert_eq!(
        status["message"],
        "invalid character 'b' looking for beginning of object key string"
    );
    let (code, status) = raw("[1]").await;
    assert_eq!(code, StatusCode::BAD_REQUEST, "{status}");
    assert_eq!(
        status["message"],
        "json: cannot unmarshal array into Go value of type map[string]interface {}"
    );
    // An apply body with no fieldManager is refused (tests/server_side_apply.rs has more).
    let (code, _) = server
        .request_raw(
            Method::PATCH,
            &path,
            "application/apply-patch+yaml",
            b"{}".to_vec(),
        )
        .await;
    assert_eq!(code, StatusCode::UNPROCESSABLE_ENTITY);
    let after = get(&server);
    assert_eq!(
        before["metadata"]["resourceVersion"], after["metadata"]["resourceVersion"],
        "a refused patch changed the object"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_apply_removes_what_the_file_dropped() {
    let server = Server::start().await;
    let v1 = server.scratch_file(
        "v1.yaml",
        &deployment_yaml(TWO_CONTAINERS, "    app: web\n    tier: front"),
    );
    let out = server.kubectl_ok(&["apply", "-f", v1.to_str().unwrap_or_default()]);
    assert_eq!(out.trim(), "deployment.apps/web created");
    // A change made outside the file: apply's three-way patch must keep it.
    server.kubectl_ok(&["label", "deployment", "web", "owner=ops"]);

    // Container b, env BETA and label tier removed; image of a changed.
    let edited = r#"      - name: a
        image: nginx:2
        env:
        - name: ALPHA
          value: "1""#;
    let v2 = server.scratch_file("v2.yaml", &deployment_yaml(edited, "    app: web"));
    let out = server.kubectl_ok(&["apply", "-f", v2.to_str().unwrap_or_default(), "-v=9"]);
    assert!(out.contains("deployment.apps/web configured"), "{out}");
    let obj = get(&server);
    assert_eq!(containers(&obj), [("a".into(), "nginx:2".into())]);
    assert_eq!(
        names(&obj["spec"]["template"]["spec"]["containers"][0]["env"]),
        ["ALPHA"]
    );
    assert_eq!(
        obj["metadata"]["labels"],
        json!({"app": "web", "owner": "ops"})
    );
    assert_eq!(obj["spec"]["replicas"], 1);

    // Adding back: b returns, after a as the file lists it.
    let v3 = server.scratch_file("v3.yaml", &deployment_yaml(TWO_CONTAINERS, "    app: web"));
    server.kubectl_ok(&["apply", "-f", v3.to_str().unwrap_or_default()]);
    let obj = get(&server);
    assert_eq!(
        containers(&obj),
        [
            ("a".into(), "nginx:1".into()),
            ("b".into(), "nginx:1".into())
        ]
    );
    assert_eq!(
        names(&obj["spec"]["template"]["spec"]["containers"][0]["env"]),
        ["ALPHA", "BETA"]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_label_annotate_and_edit() {
    let server = Server::start().await;
    let file = server.scratch_file("web.yaml", &deployment_yaml(TWO_CONTAINERS, "    app: web"));
    server.kubectl_ok(&["create", "-f", file.to_str().unwrap_or_default()]);

    // label and annotate send JSON merge patches (kubectl 1.32).
    let out = server.kubectl(&["label", "deployment", "web", "env=prod", "-v=9"]);
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{log}");
    assert!(log.contains("application/merge-patch+json"), "{log}");
    server.kubectl_ok(&["annotate", "deployment", "web", "note=hello"]);
    let obj = get(&server);
    assert_eq!(obj["metadata"]["labels"]["env"], "prod");
    assert_eq!(obj["metadata"]["annotations"]["note"], "hello");

    // edit sends a strategic merge patch computed from the edited file.
    let script = server.scratch_file(
        "edit.sh",
        "#!/bin/sh\nsed -i -e 's/image: nginx:1/image: nginx:7/' -e 's/env: prod/env: staging/' \"$1\"\n",
    );
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755))
        .unwrap_or_else(|e| panic!("chmod {}: {e}", script.display()));
    let mut edit = server.kubectl_command(&["edit", "deployment", "web", "-v=9"]);
    edit.env("EDITOR", &script).env("KUBE_EDITOR", &script);
    let out = support::run_with_timeout(edit, support::KUBECTL_TIMEOUT);
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.is_some_and(|s| s.success()),
        "kubectl edit failed: {log}"
    );
    assert!(
        log.contains(SMP),
        "kubectl edit did not send a strategic merge patch: {log}"
    );
    let obj = get(&server);
    assert_eq!(
        containers(&obj),
        [
            ("a".into(), "nginx:7".into()),
            ("b".into(), "nginx:7".into())
        ]
    );
    assert_eq!(obj["metadata"]["labels"]["env"], "staging");
    assert_eq!(obj["metadata"]["annotations"]["note"], "hello");
}
