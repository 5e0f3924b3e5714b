//! Server-side apply and managedFields against a real keelson: `kubectl apply
//! --server-side` (create, no-op re-apply, pruning, conflicts and `--force-conflicts`),
//! client-side apply followed by server-side apply, Update entries for other writes,
//! and upstream's answers to bad apply requests over raw HTTPS.

mod support;

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use support::{rv_of, Server};

const APPLY: &str = "application/apply-patch+yaml";
const WEB: &str = "/apis/apps/v1/namespaces/default/deployments/web";

fn deployment(replicas: u32, labels: &str) -> String {
    format!(
        r#"apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  labels:
{labels}
spec:
  replicas: {replicas}
  selector:
    matchLabels:
      app: web
  template:
    metadata:
      labels:
        app: web
    spec:
      containers:
      - name: nginx
        image: nginx:1
"#
    )
}

fn get(server: &Server) -> Value {
    let out = server.kubectl_ok(&[
        "get",
        "deployment",
        "web",
        "-o",
        "json",
        "--show-managed-fields",
    ]);
    serde_json::from_str(&out).unwrap_or_else(|e| panic!("invalid JSON ({e}): {out}"))
}

/// The fieldsV1 of `manager`'s entry with `operation`, or null.
fn owned(obj: &Value, manager: &str, operation: &str) -> Value {
    obj["metadata"]["managedFields"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|e| e["manager"] == manager && e["operation"] == operation)
        .map(|e| e["fieldsV1"].clone())
        .unwrap_or(Value::Null)
}

fn apply_file(server: &Server, name: &str, yaml: &str, extra: &[&str]) -> std::process::Output {
    let file = server.scratch_file(name, yaml);
    let path = file.to_str().unwrap_or_default().to_string();
    let mut args = vec!["apply", "--server-side", "-f", path.as_str()];
    args.extend_from_slice(extra);
    server.kubectl(&args)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_side_apply_creates_reapplies_as_a_no_op_and_prunes() {
    let server = Server::start().await;
    let labels = "    app: web\n    tier: front";
    let out = apply_file(&server, "a.yaml", &deployment(1, labels), &[]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let created = get(&server);
    let mine = owned(&created, "kubectl", "Apply");
    assert_eq!(mine["f:spec"]["f:replicas"], json!({}), "{created}");
    assert_eq!(mine["f:metadata"]["f:labels"]["f:tier"], json!({}));
    let key = "k:{\"name\":\"nginx\"}";
    assert_eq!(
        mine["f:spec"]["f:template"]["f:spec"]["f:containers"][key]["f:image"],
        json!({})
    );

    let again = apply_file(&server, "a.yaml", &deployment(1, labels), &[]);
    assert!(again.status.success());
    assert_eq!(
        rv_of(&get(&server)),
        rv_of(&created),
        "re-apply must not write"
    );

    // Dropping a label from the file removes it from the object.
    let out = apply_file(&server, "a.yaml", &deployment(1, "    app: web"), &[]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let pruned = get(&server);
    assert!(
        pruned["metadata"]["labels"].get("tier").is_none(),
        "{pruned}"
    );
    assert_eq!(pruned["metadata"]["labels"]["app"], "web");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_manager_conflicts_and_force_conflicts_takes_the_field() {
    let server = Server::start().await;
    let out = apply_file(&server, "a.yaml", &deployment(1, "    app: web"), &[]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let other = deployment(3, "    app: web");
    let out = apply_file(&server, "b.yaml", &other, &["--field-manager=scaler"]);
    assert!(!out.status.success(), "the conflicting apply succeeded");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(r#"Apply failed with 1 conflict: conflict with "kubectl": .spec.replicas"#),
        "{stderr}"
    );

    // The same over raw HTTPS: 409 Conflict with a FieldManagerConflict cause.
    let path = format!("{WEB}?fieldManager=scaler");
    let (code, body) = server
        .request_raw(Method::PATCH, &path, APPLY, other.clone().into_bytes())
        .await;
    assert_eq!(code, StatusCode::CONFLICT, "{body}");
    assert_eq!(body["reason"], "Conflict");
    let cause = &body["details"]["causes"][0];
    assert_eq!(cause["reason"], "FieldManagerConflict", "{body}");
    assert_eq!(cause["field"], ".spec.replicas");
    assert_eq!(cause["message"], "conflict with \"kubectl\"");
    assert_eq!(get(&server)["spec"]["replicas"], 1);

    let args = ["--field-manager=scaler", "--force-conflicts"];
    let out = apply_file(&server, "b.yaml", &other, &args);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let moved = get(&server);
    assert_eq!(moved["spec"]["replicas"], 3);
    assert_eq!(
        owned(&moved, "scaler", "Apply")["f:spec"]["f:replicas"],
        json!({})
    );
    let first = owned(&moved, "kubectl", "Apply");
    assert!(first["f:spec"].get("f:replicas").is_none(), "{moved}");
    assert!(first["f:spec"].get("f:selector").is_some(), "{moved}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_side_apply_then_server_side_apply() {
    let server = Server::start().await;
    let file = server.scratch_file("c.yaml", &deployment(1, "    app: web"));
    let path = file.to_str().unwrap_or_default();
    server.kubectl_ok(&["apply", "-f", path]);
    let csa = get(&server);
    assert!(
        owned(&csa, "kubectl-client-side-apply", "Update").is_object(),
        "{csa}"
    );

    let out = apply_file(&server, "c.yaml", &deployment(2, "    app: web"), &[]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let ssa = get(&server);
    assert_eq!(ssa["spec"]["replicas"], 2);
    assert!(
        owned(&ssa, "kubectl", "Apply")["f:spec"]["f:replicas"].is_object(),
        "{ssa}"
    );
    let annotation = ssa["metadata"]["annotations"]
        ["kubectl.kubernetes.io/last-applied-configuration"]
        .as_str()
        .unwrap_or_default();
    let recorded: Value = serde_json::from_str(annotation).unwrap_or(Value::Null);
    assert_eq!(recorded["spec"]["replicas"], 2, "{annotation}");

    // Client-side apply keeps working from the updated annotation.
    let file = server.scratch_file("c.yaml", &deployment(4, "    app: web"));
    server.kubectl_ok(&["apply", "-f", file.to_str().unwrap_or_default()]);
    assert_eq!(get(&server)["spec"]["replicas"], 4);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn other_writes_record_update_entries() {
    let server = Server::start().await;
    let file = server.scratch_file("d.yaml", &deployment(1, "    app: web"));
    server.kubectl_ok(&["create", "-f", file.to_str().unwrap_or_default()]);
    server.kubectl_ok(&["label", "deployment", "web", "team=blue"]);
    let yaml = server.kubectl_ok(&[
        "get",
        "deployment",
        "web",
        "-o",
        "yaml",
        "--show-managed-fields",
    ]);
    assert!(yaml.contains("manager: kubectl-create"), "{yaml}");
    assert!(yaml.contains("manager: kubectl-label"), "{yaml}");
    assert!(yaml.contains("operation: Update"), "{yaml}");
    let obj = get(&server);
    assert_eq!(
        owned(&obj, "kubectl-label", "Update"),
        json!({"f:metadata": {"f:labels": {"f:team": {}}}})
    );
    // Without --show-managed-fields kubectl hides them, as with kube-apiserver.
    let plain = server.kubectl_ok(&["get", "deployment", "web", "-o", "yaml"]);
    assert!(!plain.contains("managedFields"), "{plain}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_apply_requests_get_upstreams_answers() {
    let server = Server::start().await;
    let body = deployment(1, "    app: web").into_bytes();
    let (code, status) = server
        .request_raw(Method::PATCH, WEB, APPLY, body.clone())
        .await;
    assert_eq!(code, StatusCode::UNPROCESSABLE_ENTITY, "{status}");
    assert_eq!(
        status["message"],
        "PatchOptions.meta.k8s.io \"\" is invalid: fieldManager: Required value: is required for apply patch"
    );
    let with_manager = format!("{WEB}?fieldManager=t");
    let (code, status) = server
        .request_raw(Method::PATCH, &with_manager, APPLY, b"a: [b".to_vec())
        .await;
    assert_eq!(code, StatusCode::BAD_REQUEST, "{status}");
    assert!(status["message"]
        .as_str()
        .unwrap_or_default()
        .starts_with("error decoding YAML"));
    let wrong = String::from_utf8_lossy(&body).replace("apps/v1", "apps/v1beta1");
    let (code, status) = server
        .request_raw(Method::PATCH, &with_manager, APPLY, wrong.into_bytes())
        .await;
    assert_eq!(code, StatusCode::BAD_REQUEST, "{status}");
    assert_eq!(
        status["message"],
        "Incorrect version specified in apply patch. Specified patch version: apps/v1beta1, expected: apps/v1"
    );
    let long = format!("{WEB}?fieldManager={}", "m".repeat(129));
    let (code, status) = server.request_raw(Method::PATCH, &long, APPLY, body).await;
    assert_eq!(code, StatusCode::UNPROCESSABLE_ENTITY, "{status}");
    // None of these created the object.
    let (code, _) = server.get(WEB).await;
    assert_eq!(code, StatusCode::NOT_FOUND);
}
