//! Dry runs (`dryRun=All`) against a real keelson: every write verb runs its whole
//! pipeline and answers as upstream, yet nothing is stored (the resourceVersion and the
//! list stay as they were); `kubectl diff` and kubectl's `--dry-run=server` work.

mod support;

use reqwest::Method;
use serde_json::{json, Value};
use support::status::assert_status;
use support::Server;

const CMS: &str = "/api/v1/namespaces/default/configmaps";

fn configmap(name: &str, value: &str) -> Value {
    json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": {"k": value}})
}

/// The configmaps in `default` and their resourceVersions: what a dry run must not
/// change. The root CA configmap is left out: its controller may write it at any time
/// (and so would move the list's own resourceVersion, the cluster's revision).
async fn listing(server: &Server) -> Vec<(String, String)> {
    let list = server.get_ok(CMS).await;
    list["items"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|i| i["metadata"]["name"] != support::ROOT_CA_CONFIGMAP)
        .map(|i| {
            let meta = &i["metadata"];
            let text = |v: &Value| v.as_str().unwrap_or_default().to_string();
            (text(&meta["name"]), text(&meta["resourceVersion"]))
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dry_run_writes_answer_as_upstream_and_store_nothing() {
    let server = Server::start().await;
    let (status, stored) = server.post(CMS, &configmap("a", "1")).await;
    assert_eq!(status.as_u16(), 201, "{stored}");
    let before = listing(&server).await;

    // Create: a uid and creationTimestamp, no resourceVersion; nothing stored.
    let (status, created) = server
        .post(&format!("{CMS}?dryRun=All"), &configmap("b", "1"))
        .await;
    assert_eq!(status.as_u16(), 201, "{created}");
    assert!(created["metadata"]["uid"].as_str().is_some(), "{created}");
    assert!(created["metadata"]["creationTimestamp"].is_string());
    assert!(
        created["metadata"]["resourceVersion"].is_null(),
        "{created}"
    );
    assert_status(
        "dry-run get of b",
        server.get(&format!("{CMS}/b")).await,
        404,
        "NotFound",
    );
    // The real errors: an existing name, an invalid object.
    assert_status(
        "dry-run create of an existing name",
        server
            .post(&format!("{CMS}?dryRun=All"), &configmap("a", "1"))
            .await,
        409,
        "AlreadyExists",
    );
    assert_status(
        "dry-run create of an invalid name",
        server
            .post(&format!("{CMS}?dryRun=All"), &configmap("Bad_Name", "1"))
            .await,
        422,
        "Invalid",
    );

    // Update: the new object at the current resourceVersion; a stale one conflicts.
    let mut changed = stored.clone();
    changed["data"]["k"] = json!("2");
    let (status, updated) = server.put(&format!("{CMS}/a?dryRun=All"), &changed).await;
    assert_eq!(status.as_u16(), 200, "{updated}");
    assert_eq!(updated["data"]["k"], "2");
    assert_eq!(
        updated["metadata"]["resourceVersion"],
        stored["metadata"]["resourceVersion"]
    );
    let mut stale = changed.clone();
    stale["metadata"]["resourceVersion"] = json!("1");
    assert_status(
        "dry-run update at a stale resourceVersion",
        server.put(&format!("{CMS}/a?dryRun=All"), &stale).await,
        409,
        "Conflict",
    );

    // Patch.
    let (status, patched) = server
        .request_raw(
            Method::PATCH,
            &format!("{CMS}/a?dryRun=All"),
            "application/merge-patch+json",
            br#"{"data":{"k":"3"}}"#.to_vec(),
        )
        .await;
    assert_eq!(status.as_u16(), 200, "{patched}");
    assert_eq!(patched["data"]["k"], "3");

    // Delete and deletecollection (query and DeleteOptions body).
    let (status, deleted) = server
        .request(Method::DELETE, &format!("{CMS}/a?dryRun=All"), None)
        .await;
    assert_eq!(status.as_u16(), 200, "{deleted}");
    let (status, deleted) = server
        .request(
            Method::DELETE,
            &format!("{CMS}/a"),
            Some(&json!({"kind": "DeleteOptions", "apiVersion": "v1", "dryRun": ["All"]})),
        )
        .await;
    assert_eq!(status.as_u16(), 200, "{deleted}");
    assert_status(
        "dry-run delete of a missing object",
        server
            .request(Method::DELETE, &format!("{CMS}/zz?dryRun=All"), None)
            .await,
        404,
        "NotFound",
    );
    let (status, list) = server
        .request(Method::DELETE, &format!("{CMS}?dryRun=All"), None)
        .await;
    assert_eq!(status.as_u16(), 200, "{list}");
    let names: Vec<&str> = list["items"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|i| i["metadata"]["name"].as_str())
        .filter(|name| *name != support::ROOT_CA_CONFIGMAP)
        .collect();
    assert_eq!(names, ["a"], "{list}");

    assert_eq!(
        listing(&server).await,
        before,
        "a dry run changed the store"
    );
    let (_, now) = server.get(&format!("{CMS}/a")).await;
    assert_eq!(now["data"]["k"], "1");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dry_run_service_create_stores_and_claims_nothing() {
    let server = Server::start().await;
    const SVCS: &str = "/api/v1/namespaces/default/services";
    let service = |ip: &str| {
        json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web"},
               "spec": {"clusterIP": ip, "ports": [{"port": 80}]}})
    };
    let (status, answered) = server
        .post(&format!("{SVCS}?dryRun=All"), &service("10.0.0.77"))
        .await;
    assert_eq!(status.as_u16(), 201, "{answered}");
    assert_eq!(answered["spec"]["clusterIP"], "10.0.0.77", "{answered}");
    let (status, body) = server.get(&format!("{SVCS}/web")).await;
    assert_eq!(status.as_u16(), 404, "a dry run stored the service: {body}");
    // Its address was not claimed either: a real create may take it.
    let (status, created) = server.post(SVCS, &service("10.0.0.77")).await;
    assert_eq!(status.as_u16(), 201, "{created}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dry_run_value_other_than_all_is_invalid() {
    let server = Server::start().await;
    let body = assert_status(
        "dryRun=true",
        server
            .post(&format!("{CMS}?dryRun=true"), &configmap("b", "1"))
            .await,
        422,
        "Invalid",
    );
    assert_eq!(
        body["message"],
        r#"CreateOptions.meta.k8s.io "" is invalid: dryRun: Unsupported value: ["true"]: supported values: "All""#
    );
    assert_eq!(body["details"]["kind"], "CreateOptions");
    assert_eq!(body["details"]["group"], "meta.k8s.io");
    assert_eq!(body["details"]["causes"][0]["field"], "dryRun");
    let body = assert_status(
        "DeleteOptions dryRun",
        server
            .request(
                Method::DELETE,
                &format!("{CMS}/a"),
                Some(&json!({"dryRun": ["Nope"]})),
            )
            .await,
        422,
        "Invalid",
    );
    assert_eq!(body["details"]["kind"], "DeleteOptions");
}

const DEPLOYMENT: &str = r#"apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: default
spec:
  replicas: REPLICAS
  selector:
    matchLabels:
      app: web
  template:
    metadata:
      labels:
        app: web
    spec:
      containers:
      - name: a
        image: nginx:1
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_diff_and_server_dry_runs() {
    let server = Server::start().await;
    let two = server.scratch_file("two.yaml", &DEPLOYMENT.replace("REPLICAS", "2"));
    let three = server.scratch_file("three.yaml", &DEPLOYMENT.replace("REPLICAS", "3"));
    let (two, three) = (
        two.to_str().unwrap_or_default(),
        three.to_str().unwrap_or_default(),
    );

    // A new object: diff shows all of it and exits 1.
    let out = server.kubectl(&["diff", "-f", two]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let shown = String::from_utf8_lossy(&out.stdout);
    assert!(shown.contains("+  replicas: 2"), "{shown}");

    let out = server.kubectl_ok(&["apply", "-f", two, "--dry-run=server"]);
    assert!(
        out.contains("deployment.apps/web created (server dry run)"),
        "{out}"
    );
    let out = server.kubectl_ok(&["create", "-f", two, "--dry-run=server", "-o", "json"]);
    let created: Value = serde_json::from_str(&out).unwrap_or_default();
    assert!(created["metadata"]["uid"].is_string(), "{out}");
    let err = server.kubectl_err(&["get", "deployment", "web"]);
    assert!(err.contains("not found"), "{err}");

    server.kubectl_ok(&["apply", "-f", two]);
    let out = server.kubectl(&["diff", "-f", two]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");

    // A changed object: the change is shown; a server dry-run apply changes nothing.
    let out = server.kubectl(&["diff", "-f", three]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let shown = String::from_utf8_lossy(&out.stdout);
    assert!(
        shown.contains("-  replicas: 2") && shown.contains("+  replicas: 3"),
        "{shown}"
    );
    let rv = server.kubectl_ok(&[
        "get",
        "deployment",
        "web",
        "-o",
        "jsonpath={.metadata.resourceVersion}",
    ]);
    let out = server.kubectl_ok(&["apply", "-f", three, "--dry-run=server"]);
    assert!(out.contains("configured (server dry run)"), "{out}");
    let out = server.kubectl_ok(&["delete", "deployment", "web", "--dry-run=server"]);
    assert!(out.contains("deleted (server dry run)"), "{out}");
    let after = server.kubectl_ok(&[
        "get",
        "deployment",
        "web",
        "-o",
        "jsonpath={.metadata.resourceVersion} {.spec.replicas}",
    ]);
    assert_eq!(after, format!("{rv} 2"));
}
