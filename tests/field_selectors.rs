//! Field selectors per kind, as upstream's `ToSelectableFields`, on list and watch, and
//! `kubectl describe pod` finding the pod's events by them.

mod support;

use std::time::Duration;

use serde_json::{json, Value};
use support::status::assert_status;
use support::Server;

const PODS: &str = "/api/v1/namespaces/default/pods";

fn pod(name: &str, node: &str) -> Value {
    json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
        "spec": {"nodeName": node, "restartPolicy": "Never",
            "containers": [{"name": "a", "image": "nginx"}]}})
}

fn names(list: &Value) -> Vec<String> {
    list["items"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|i| i["metadata"]["name"].as_str().map(str::to_string))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn field_selectors_on_list_and_watch() {
    let server = Server::start().await;
    for (name, node) in [("a", "n1"), ("b", "n2")] {
        let (status, body) = server.post(PODS, &pod(name, node)).await;
        assert_eq!(status.as_u16(), 201, "{body}");
    }
    let list = server
        .get_ok(&format!("{PODS}?fieldSelector=spec.nodeName%3Dn1"))
        .await;
    assert_eq!(names(&list), ["a"]);
    let list = server
        .get_ok(&format!(
            "{PODS}?fieldSelector=spec.nodeName!%3Dn1,spec.restartPolicy%3DNever"
        ))
        .await;
    assert_eq!(names(&list), ["b"]);
    let out = server.kubectl_ok(&[
        "get",
        "pods",
        "--field-selector",
        "spec.hostNetwork=false",
        "-o",
        "name",
    ]);
    assert_eq!(out, "pod/a\npod/b\n");
    let body = assert_status(
        "unsupported field",
        server
            .get(&format!("{PODS}?fieldSelector=spec.bogus%3Dx"))
            .await,
        400,
        "BadRequest",
    );
    assert_eq!(body["message"], "field label not supported: spec.bogus");
    let err = server.kubectl_err(&["get", "configmaps", "--field-selector", "data.x=1"]);
    assert!(err.contains("field label not supported: data.x"), "{err}");

    // Watch: only pods on n1 arrive.
    let mut resp = server
        .http()
        .get(server.url(&format!(
            "{PODS}?watch=true&fieldSelector=spec.nodeName%3Dn1"
        )))
        .send()
        .await
        .expect("watch request");
    let (status, body) = server.post(PODS, &pod("c", "n2")).await;
    assert_eq!(status.as_u16(), 201, "{body}");
    let (status, body) = server.post(PODS, &pod("d", "n1")).await;
    assert_eq!(status.as_u16(), 201, "{body}");
    let mut seen = Vec::new();
    let mut buffer = Vec::new();
    while seen.len() < 2 {
        let chunk = tokio::time::timeout(Duration::from_secs(10), resp.chunk())
            .await
            .expect("a watch event in time")
            .expect("a chunk")
            .expect("the watch stays open");
        buffer.extend_from_slice(&chunk);
        while let Some(at) = buffer.iter().position(|b| *b == b'\n') {
            let line: Vec<u8> = buffer.drain(..=at).collect();
            let event: Value = serde_json::from_slice(&line).expect("a JSON event");
            seen.push(
                event["object"]["metadata"]["name"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string(),
            );
        }
    }
    assert_eq!(seen, ["a", "d"]);

    // Kinds with their own fields.
    let ns = server
        .get_ok("/api/v1/namespaces?fieldSelector=status.phase%3DActive,metadata.name%3Ddefault")
        .await;
    assert_eq!(names(&ns), ["default"]);
    let node = json!({"apiVersion": "v1", "kind": "Node", "metadata": {"name": "n1"}, "spec": {"unschedulable": true}});
    let (status, body) = server.post("/api/v1/nodes", &node).await;
    assert_eq!(status.as_u16(), 201, "{body}");
    let nodes = server
        .get_ok("/api/v1/nodes?fieldSelector=spec.unschedulable%3Dtrue")
        .await;
    assert_eq!(names(&nodes), ["n1"]);
    let jobs = server
        .get_ok("/apis/batch/v1/jobs?fieldSelector=status.successful%3D0")
        .await;
    assert_eq!(names(&jobs), Vec::<String>::new());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_describe_pod_shows_its_events() {
    let server = Server::start().await;
    let (status, created) = server.post(PODS, &pod("web", "n1")).await;
    assert_eq!(status.as_u16(), 201, "{created}");
    for (name, about, uid) in [
        ("web.1", "web", created["metadata"]["uid"].clone()),
        ("other.1", "other", json!("x")),
    ] {
        let event = json!({"apiVersion": "v1", "kind": "Event",
            "metadata": {"name": name},
            "involvedObject": {"kind": "Pod", "namespace": "default", "name": about,
                "uid": uid, "apiVersion": "v1"},
            "reason": format!("Reason{about}"), "message": "hello from the test",
            "type": "Normal", "source": {"component": "tester"},
            "firstTimestamp": "2026-01-01T00:00:00Z", "lastTimestamp": "2026-01-01T00:00:00Z",
            "count": 1});
        let (status, body) = server
            .post("/api/v1/namespaces/default/events", &event)
            .await;
        assert_eq!(status.as_u16(), 201, "{body}");
    }
    let out = server.kubectl_ok(&["describe", "pod", "web"]);
    assert!(out.contains("Reasonweb"), "{out}");
    assert!(!out.contains("Reasonother"), "{out}");
    let list = server
        .get_ok("/api/v1/namespaces/default/events?fieldSelector=involvedObject.name%3Dweb,source%3Dtester,type%3DNormal")
        .await;
    assert_eq!(names(&list), ["web.1"]);
}
