//! The scale subresource and the kubelet-backed ones against a real keelson, through
//! kubectl (scale, logs, exec) and raw HTTPS, plus their discovery entries.

mod support;

use reqwest::Method;
use serde_json::{json, Value};
use support::status::assert_status;
use support::Server;

const DEPLOY: &str = "/apis/apps/v1/namespaces/default/deployments";

fn deployment(replicas: i64) -> Value {
    json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
        "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": "web"}},
            "template": {"metadata": {"labels": {"app": "web"}},
                "spec": {"containers": [{"name": "a", "image": "nginx"}]}}}})
}

fn replicas(server: &Server) -> String {
    server.kubectl_ok(&[
        "get",
        "deployment",
        "web",
        "-o",
        "jsonpath={.spec.replicas}",
    ])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scale_reads_and_writes_the_parents_replicas() {
    let server = Server::start().await;
    let (status, created) = server.post(DEPLOY, &deployment(2)).await;
    assert_eq!(status.as_u16(), 201, "{created}");

    let scale = server.get_ok(&format!("{DEPLOY}/web/scale")).await;
    assert_eq!(scale["kind"], "Scale");
    assert_eq!(scale["apiVersion"], "autoscaling/v1");
    assert_eq!(scale["metadata"]["uid"], created["metadata"]["uid"]);
    assert_eq!(
        scale["metadata"]["resourceVersion"],
        created["metadata"]["resourceVersion"]
    );
    assert_eq!(scale["spec"]["replicas"], 2);
    assert_eq!(
        scale["status"],
        json!({"replicas": 0, "selector": "app=web"})
    );

    server.kubectl_ok(&["scale", "deployment", "web", "--replicas=3"]);
    assert_eq!(replicas(&server), "3");
    server.kubectl_ok(&[
        "scale",
        "deployment",
        "web",
        "--current-replicas=3",
        "--replicas=4",
    ]);
    assert_eq!(replicas(&server), "4");
    let err = server.kubectl_err(&[
        "scale",
        "deployment",
        "web",
        "--current-replicas=2",
        "--replicas=5",
    ]);
    assert!(err.contains("Expected replicas to be 2, was 4"), "{err}");
    let err = server.kubectl_err(&[
        "scale",
        "deployment",
        "web",
        "--resource-version=1",
        "--replicas=5",
    ]);
    assert!(
        err.contains("Expected resource version to be 1, was"),
        "{err}"
    );
    assert_eq!(replicas(&server), "4");

    // The Scale's resourceVersion is the parent's precondition on the server.
    let mut stale = server.get_ok(&format!("{DEPLOY}/web/scale")).await;
    stale["metadata"]["resourceVersion"] = json!("1");
    stale["spec"]["replicas"] = json!(6);
    let body = assert_status(
        "stale scale",
        server.put(&format!("{DEPLOY}/web/scale"), &stale).await,
        409,
        "Conflict",
    );
    assert_eq!(
        body["message"],
        "Operation cannot be fulfilled on deployments.apps \"web\": the object has been modified; please apply your changes to the latest version and try again"
    );

    // Invalid counts and a stale resourceVersion over raw HTTPS.
    let mut bad = server.get_ok(&format!("{DEPLOY}/web/scale")).await;
    bad["spec"]["replicas"] = json!(-1);
    let body = assert_status(
        "negative replicas",
        server.put(&format!("{DEPLOY}/web/scale"), &bad).await,
        422,
        "Invalid",
    );
    assert_eq!(body["details"]["kind"], "Scale");
    let (status, patched) = server
        .request_raw(
            Method::PATCH,
            &format!("{DEPLOY}/web/scale"),
            "application/merge-patch+json",
            br#"{"spec":{"replicas":1}}"#.to_vec(),
        )
        .await;
    assert_eq!(status.as_u16(), 200, "{patched}");
    assert_eq!(patched["spec"]["replicas"], 1);
    assert_eq!(replicas(&server), "1");
    // A dry-run scale changes nothing.
    let (status, _) = server
        .request_raw(
            Method::PATCH,
            &format!("{DEPLOY}/web/scale?dryRun=All"),
            "application/merge-patch+json",
            br#"{"spec":{"replicas":7}}"#.to_vec(),
        )
        .await;
    assert_eq!(status.as_u16(), 200);
    assert_eq!(replicas(&server), "1");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replication_controllers_scale_and_discovery_lists_subresources() {
    let server = Server::start().await;
    let rc = json!({"apiVersion": "v1", "kind": "ReplicationController", "metadata": {"name": "rc"},
        "spec": {"replicas": 1, "selector": {"app": "rc"},
            "template": {"metadata": {"labels": {"app": "rc"}},
                "spec": {"containers": [{"name": "a", "image": "nginx"}]}}}});
    let (status, body) = server
        .post("/api/v1/namespaces/default/replicationcontrollers", &rc)
        .await;
    assert_eq!(status.as_u16(), 201, "{body}");
    server.kubectl_ok(&["scale", "rc", "rc", "--replicas=2"]);
    let scale = server
        .get_ok("/api/v1/namespaces/default/replicationcontrollers/rc/scale")
        .await;
    assert_eq!(scale["spec"]["replicas"], 2);
    assert_eq!(scale["status"]["selector"], "app=rc");

    let apps = server.get_ok("/apis/apps/v1").await;
    let entry = |list: &Value, name: &str| {
        list["resources"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|r| r["name"] == name)
            .cloned()
            .unwrap_or(Value::Null)
    };
    let scale = entry(&apps, "deployments/scale");
    assert_eq!(
        (
            scale["group"].clone(),
            scale["version"].clone(),
            scale["kind"].clone()
        ),
        (json!("autoscaling"), json!("v1"), json!("Scale"))
    );
    assert_eq!(scale["verbs"], json!(["get", "patch", "update"]));
    let core = server.get_ok("/api/v1").await;
    for (name, kind) in [
        ("pods/log", "Pod"),
        ("pods/exec", "PodExecOptions"),
        ("pods/attach", "PodAttachOptions"),
        ("pods/portforward", "PodPortForwardOptions"),
        ("pods/proxy", "PodProxyOptions"),
        ("nodes/proxy", "NodeProxyOptions"),
        ("services/proxy", "ServiceProxyOptions"),
        ("replicationcontrollers/scale", "Scale"),
    ] {
        assert_eq!(entry(&core, name)["kind"], kind, "{name}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubelet_subresources_answer_upstreams_errors() {
    let server = Server::start().await;
    let pod = |name: &str, node: Option<&str>| {
        let mut p = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
            "spec": {"containers": [{"name": "a", "image": "nginx"}]}});
        if let Some(node) = node {
            p["spec"]["nodeName"] = json!(node);
        }
        p
    };
    for p in [pod("pending", None), pod("placed", Some("n1"))] {
        let (status, body) = server.post("/api/v1/namespaces/default/pods", &p).await;
        assert_eq!(status.as_u16(), 201, "{body}");
    }
    // No node yet: exec is a 400, logs are empty (upstream streams nothing).
    let err = server.kubectl_err(&["exec", "pending", "--", "true"]);
    assert!(
        err.contains("Error from server (BadRequest): pod pending does not have a host assigned"),
        "{err}"
    );
    assert_eq!(server.kubectl_ok(&["logs", "pending"]), "");
    let err = server.kubectl_err(&["logs", "pending", "-c", "b"]);
    assert!(
        err.contains("container b is not valid for pod pending"),
        "{err}"
    );
    // A node that does not exist.
    let err = server.kubectl_err(&["logs", "placed"]);
    assert!(err.contains("nodes \"n1\" not found"), "{err}");
    assert_status(
        "logs of a missing pod",
        server.get("/api/v1/namespaces/default/pods/nope/log").await,
        404,
        "NotFound",
    );
    let svc = json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s"},
        "spec": {"ports": [{"port": 80}]}});
    let (status, body) = server
        .post("/api/v1/namespaces/default/services", &svc)
        .await;
    assert_eq!(status.as_u16(), 201, "{body}");
    let body = assert_status(
        "proxy to a service without endpoints",
        server
            .get("/api/v1/namespaces/default/services/s/proxy/")
            .await,
        503,
        "ServiceUnavailable",
    );
    assert_eq!(body["message"], "no endpoints available for service \"s\"");
}
