//! Durability: a write acknowledged to the client survives `kill -9` of the server, with
//! the same resourceVersion, and revisions keep increasing across restarts. A second
//! `keelson serve` on a data directory in use refuses (lock) and harms nothing.

mod support;

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{json, Value};
use support::{free_loopback_addr, run_with_timeout, rv_of, serve_args, Server};

const NS: &str = "durable";
const CMS: &str = "/api/v1/namespaces/durable/configmaps";

fn configmap(name: &str, value: &str) -> Value {
    json!({
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": name, "namespace": NS},
        "data": {"value": value}
    })
}

/// GETs a configmap and asserts it is exactly the acknowledged object (rv, uid, data).
async fn assert_stored(server: &Server, acked: &Value) {
    let name = acked["metadata"]["name"].as_str().expect("name");
    let (status, got) = server.get(&format!("{CMS}/{name}")).await;
    assert_eq!(
        status,
        StatusCode::OK,
        "{name} lost after kill -9: {got}\n{}",
        server.describe()
    );
    assert_eq!(
        rv_of(&got),
        rv_of(acked),
        "{name}: resourceVersion changed across kill -9"
    );
    assert_eq!(
        got["metadata"]["uid"], acked["metadata"]["uid"],
        "{name}: uid changed"
    );
    assert_eq!(
        got["metadata"]["creationTimestamp"], acked["metadata"]["creationTimestamp"],
        "{name}: creationTimestamp changed"
    );
    assert_eq!(got["data"], acked["data"], "{name}: data changed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_creates_survive_kill9() {
    const ROUNDS: usize = 5;
    let mut server = Server::start().await;
    server.create_namespace(NS).await;
    let mut acked: Vec<Value> = Vec::new();
    let mut last_rv = 0;
    for round in 0..ROUNDS {
        let (status, obj) = server
            .post(CMS, &configmap(&format!("cm-{round}"), &round.to_string()))
            .await;
        assert_eq!(
            status,
            StatusCode::CREATED,
            "create in round {round}: {obj}"
        );
        // Kill the moment the create is acknowledged: no grace for flushing.
        server.kill9();
        let rv = rv_of(&obj);
        assert!(
            rv > last_rv,
            "round {round}: revision {rv} not above the previous {last_rv}"
        );
        last_rv = rv;
        acked.push(obj);

        server.restart().await;
        for obj in &acked {
            assert_stored(&server, obj).await;
        }
    }
    // Revisions continue from where they were, never reused after a restart.
    let (status, obj) = server.post(CMS, &configmap("after-restarts", "x")).await;
    assert_eq!(status, StatusCode::CREATED, "create after restarts: {obj}");
    assert!(
        rv_of(&obj) > last_rv,
        "revision {} after restart is not above {last_rv}",
        rv_of(&obj)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_update_and_delete_survive_kill9() {
    let mut server = Server::start().await;
    server.create_namespace(NS).await;
    let (status, created) = server.post(CMS, &configmap("changing", "1")).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let (status, doomed) = server.post(CMS, &configmap("doomed", "1")).await;
    assert_eq!(status, StatusCode::CREATED, "{doomed}");

    let mut update = created.clone();
    update["data"] = json!({"value": "2"});
    let (status, updated) = server.put(&format!("{CMS}/changing"), &update).await;
    assert_eq!(status, StatusCode::OK, "update: {updated}");
    server.kill9();
    assert!(
        rv_of(&updated) > rv_of(&doomed),
        "update should get a newer revision"
    );
    server.restart().await;
    assert_stored(&server, &updated).await;

    let (status, body) = server.delete(&format!("{CMS}/doomed")).await;
    assert_eq!(status, StatusCode::OK, "delete: {body}");
    server.kill9();
    server.restart().await;
    let (status, body) = server.get(&format!("{CMS}/doomed")).await;
    assert_eq!(
        status,
        StatusCode::NOT_FOUND,
        "deleted object came back after kill -9: {body}"
    );
    assert_stored(&server, &updated).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn second_serve_on_same_data_dir_refuses_with_lock_message() {
    let mut server = Server::start().await;
    server.create_namespace(NS).await;
    let (status, before) = server.post(CMS, &configmap("before-second", "1")).await;
    assert_eq!(status, StatusCode::CREATED, "{before}");

    let mut second = Server::keelson_command();
    second.args(serve_args(
        &server.data_dir(),
        free_loopback_addr(),
        free_loopback_addr(),
    ));
    let out =
        tokio::task::spawn_blocking(move || run_with_timeout(second, Duration::from_secs(10)))
            .await
            .expect("join the second serve");
    let text = out.text();
    let status = out
        .status
        .unwrap_or_else(|| panic!("second serve still running after 10 s; output:\n{text}"));
    assert!(
        !status.success(),
        "second serve exited successfully; output:\n{text}"
    );
    assert!(
        text.to_lowercase().contains("lock"),
        "second serve's message does not mention the lock:\n{text}"
    );

    // The first server is untouched and keeps serving reads and writes.
    assert!(
        server.is_running(),
        "first server died\n{}",
        server.describe()
    );
    assert_eq!(
        server
            .http()
            .get(server.url("/readyz"))
            .send()
            .await
            .expect("readyz")
            .status(),
        StatusCode::OK
    );
    assert_stored(&server, &before).await;
    let (status, after) = server.post(CMS, &configmap("after-second", "1")).await;
    assert_eq!(
        status,
        StatusCode::CREATED,
        "write after the refused second serve: {after}"
    );

    // And the data directory is intact for the next start.
    server.restart().await;
    assert_stored(&server, &before).await;
    assert_stored(&server, &after).await;
}
