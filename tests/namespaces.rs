//! The namespace life cycle the built-in controllers finish, driven with kubectl: a new
//! namespace gets the `default` ServiceAccount; `kubectl delete ns` returns once the
//! namespace's contents are gone;
//! content with a finalizer of its own holds the namespace Terminating, with upstream's
//! conditions saying why, until that finalizer is removed.

mod support;

use std::time::Duration;

use serde_json::Value;
use support::{eventually, Server};

/// A few controller ticks (2 s each) and the writes they make.
const SETTLE: Duration = Duration::from_secs(20);

fn get_json(server: &Server, args: &[&str]) -> Option<Value> {
    let mut all = vec!["get"];
    all.extend_from_slice(args);
    all.extend_from_slice(&["-o", "json"]);
    let out = server.kubectl(&all);
    if !out.status.success() {
        return None;
    }
    serde_json::from_slice(&out.stdout).ok()
}

#[tokio::test(flavor = "multi_thread")]
async fn new_namespaces_get_the_default_service_account() {
    let server = Server::start().await;
    server.kubectl_ok(&["create", "namespace", "team-a"]);
    for ns in ["team-a", "default", "kube-system"] {
        let account = eventually(
            &format!("the default ServiceAccount in {ns}"),
            SETTLE,
            || async { get_json(&server, &["serviceaccount", "default", "-n", ns]) },
        )
        .await;
        assert_eq!(account["metadata"]["namespace"], ns);
    }
    // Deleted, it comes back, as upstream's controller recreates it.
    server.kubectl_ok(&["delete", "serviceaccount", "default", "-n", "team-a"]);
    eventually("the default ServiceAccount recreated", SETTLE, || async {
        get_json(&server, &["serviceaccount", "default", "-n", "team-a"])
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn kubectl_delete_namespace_returns_once_its_contents_are_gone() {
    let server = Server::start().await;
    server.kubectl_ok(&["create", "namespace", "doomed"]);
    server.kubectl_ok(&[
        "create",
        "configmap",
        "c1",
        "-n",
        "doomed",
        "--from-literal=a=b",
    ]);
    server.kubectl_ok(&[
        "create",
        "secret",
        "generic",
        "s1",
        "-n",
        "doomed",
        "--from-literal=a=b",
    ]);
    server.kubectl_ok(&["create", "serviceaccount", "robot", "-n", "doomed"]);

    // kubectl waits for the namespace to disappear; the controller must finish it.
    let out = server.kubectl_ok(&["delete", "namespace", "doomed", "--timeout=60s"]);
    assert_eq!(out.trim(), "namespace \"doomed\" deleted");
    let err = server.kubectl_err(&["get", "namespace", "doomed"]);
    assert!(
        err.contains("Error from server (NotFound): namespaces \"doomed\" not found"),
        "{err}"
    );
    // Its contents went with it, and a namespace of the same name starts empty.
    server.kubectl_ok(&["create", "namespace", "doomed"]);
    let err = server.kubectl_err(&["get", "configmap", "c1", "-n", "doomed"]);
    assert!(err.contains("(NotFound)"), "{err}");
    let err = server.kubectl_err(&["get", "secret", "s1", "-n", "doomed"]);
    assert!(err.contains("(NotFound)"), "{err}");
}

#[tokio::test(flavor = "multi_thread")]
async fn content_with_a_finalizer_holds_the_namespace_until_it_is_released() {
    let server = Server::start().await;
    server.kubectl_ok(&["create", "namespace", "held"]);
    let manifest = server.scratch_file(
        "held.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: keep\n  namespace: held\n  finalizers: [\"example.com/hold\"]\ndata:\n  a: b\n",
    );
    let manifest = manifest.to_string_lossy().to_string();
    server.kubectl_ok(&["create", "-f", &manifest]);
    server.kubectl_ok(&["delete", "namespace", "held", "--wait=false"]);

    let namespace = eventually("the namespace's finalizer condition", SETTLE, || async {
        get_json(&server, &["namespace", "held"]).filter(|ns| {
            ns["status"]["conditions"].as_array().is_some_and(|c| {
                c.iter()
                    .any(|c| c["type"] == "NamespaceFinalizersRemaining" && c["status"] == "True")
            })
        })
    })
    .await;
    assert_eq!(namespace["status"]["phase"], "Terminating");
    let conditions = namespace["status"]["conditions"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let message = |t: &str| {
        conditions
            .iter()
            .find(|c| c["type"] == t)
            .and_then(|c| c["message"].as_str())
            .unwrap_or("")
            .to_string()
    };
    assert_eq!(
        message("NamespaceFinalizersRemaining"),
        "Some content in the namespace has finalizers remaining: example.com/hold in 1 resource instances"
    );
    assert_eq!(
        message("NamespaceContentRemaining"),
        "Some resources are remaining: configmaps has 1 resource instances"
    );
    let held = get_json(&server, &["configmap", "keep", "-n", "held"]).expect("the held configmap");
    assert!(held["metadata"]["deletionTimestamp"].is_string());

    // Releasing the finalizer lets the namespace go.
    server.kubectl_ok(&[
        "patch",
        "configmap",
        "keep",
        "-n",
        "held",
        "--type=merge",
        "-p",
        r#"{"metadata":{"finalizers":null}}"#,
    ]);
    eventually("namespace held to be gone", SETTLE, || async {
        let out = server.kubectl(&["get", "namespace", "held"]);
        (!out.status.success() && String::from_utf8_lossy(&out.stderr).contains("NotFound"))
            .then_some(())
    })
    .await;
}

/// The CA certificate the admin kubeconfig trusts, as PEM.
fn kubeconfig_ca(server: &Server) -> String {
    use base64::Engine as _;
    let text = std::fs::read_to_string(server.kubeconfig()).expect("read the kubeconfig");
    let line = text
        .lines()
        .find_map(|l| l.trim().strip_prefix("certificate-authority-data:"))
        .expect("certificate-authority-data in the kubeconfig");
    let pem = base64::engine::general_purpose::STANDARD
        .decode(line.trim())
        .expect("base64 CA");
    String::from_utf8(pem).expect("PEM text")
}

#[tokio::test(flavor = "multi_thread")]
async fn every_namespace_gets_kube_root_ca_crt() {
    let server = Server::start().await;
    let ca = kubeconfig_ca(&server);
    server.kubectl_ok(&["create", "namespace", "team-ca"]);
    let get = || get_json(&server, &["configmap", "kube-root-ca.crt", "-n", "team-ca"]);
    let published = eventually("kube-root-ca.crt in a new namespace", SETTLE, || async {
        get()
    })
    .await;
    assert_eq!(published["data"]["ca.crt"].as_str(), Some(ca.as_str()));
    assert!(
        published["metadata"]["annotations"]["kubernetes.io/description"]
            .as_str()
            .is_some_and(|d| d.starts_with("Contains a CA bundle"))
    );
    for ns in ["default", "kube-system"] {
        eventually(&format!("kube-root-ca.crt in {ns}"), SETTLE, || async {
            get_json(&server, &["configmap", "kube-root-ca.crt", "-n", ns])
        })
        .await;
    }

    // Deleted, it comes back with a new uid.
    server.kubectl_ok(&["delete", "configmap", "kube-root-ca.crt", "-n", "team-ca"]);
    let uid = published["metadata"]["uid"].clone();
    eventually("kube-root-ca.crt recreated", SETTLE, || async {
        get().filter(|cm| cm["metadata"]["uid"] != uid)
    })
    .await;

    // Edited, it is corrected; a label the user added stays.
    server.kubectl_ok(&[
        "patch",
        "configmap",
        "kube-root-ca.crt",
        "-n",
        "team-ca",
        "--type=merge",
        "-p",
        r#"{"metadata":{"labels":{"mine":"yes"}},"data":{"ca.crt":"tampered"}}"#,
    ]);
    let corrected = eventually("kube-root-ca.crt corrected", SETTLE, || async {
        get().filter(|cm| cm["data"]["ca.crt"].as_str() == Some(ca.as_str()))
    })
    .await;
    assert_eq!(corrected["metadata"]["labels"]["mine"], "yes");
}
