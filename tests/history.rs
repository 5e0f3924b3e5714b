//! Watch history retention: resuming inside the retained window replays exactly the
//! missed events (also after kill -9), each with the object its change wrote, and a
//! resourceVersion older than the window gets 410 Expired, as upstream's watch cache
//! answers.

mod support;

use serde_json::{json, Value};
use support::{rv_of, Server};

const RETAINED: u64 = 20;

/// The lines of a watch that ends by itself after `timeoutSeconds=1`.
async fn watch_lines(server: &Server, query: &str) -> Vec<Value> {
    let url = server.url(&format!(
        "/api/v1/namespaces/hist/configmaps?watch=true&timeoutSeconds=1&{query}"
    ));
    let response = tokio::time::timeout(
        std::time::Duration::from_secs(20),
        server.http().get(url).send(),
    )
    .await
    .expect("watch answered in time")
    .expect("watch request");
    assert_eq!(
        response.status(),
        200,
        "a watch answers 200 and reports errors as events"
    );
    let body = tokio::time::timeout(std::time::Duration::from_secs(20), response.text())
        .await
        .expect("watch ended")
        .expect("watch body");
    // The root CA publisher's ConfigMap appears in every namespace; these checks are
    // about the test's own writes.
    body.lines()
        .map(|l| serde_json::from_str::<Value>(l).expect("each line is JSON"))
        .filter(|l| l["object"]["metadata"]["name"] != support::ROOT_CA_CONFIGMAP)
        .collect()
}

async fn write_history(server: &Server) -> Vec<u64> {
    server.create_namespace("hist").await;
    let mut revisions = Vec::new();
    for i in 0..(2 * RETAINED) {
        let cm = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": format!("c{i}")}, "data": {"i": i.to_string()}});
        let (status, body) = server.post("/api/v1/namespaces/hist/configmaps", &cm).await;
        assert_eq!(status, 201, "{body}");
        revisions.push(rv_of(&body));
    }
    revisions
}

fn assert_expired(lines: &[Value]) {
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert_eq!(lines[0]["type"], "ERROR");
    assert_eq!(lines[0]["object"]["kind"], "Status");
    assert_eq!(lines[0]["object"]["code"], 410);
    assert_eq!(lines[0]["object"]["reason"], "Expired");
}

fn assert_replays(lines: &[Value], expected: &[u64]) {
    let seen: Vec<u64> = lines.iter().map(|l| rv_of(&l["object"])).collect();
    assert_eq!(
        seen, expected,
        "events after the resume point, in order, none missing"
    );
    assert!(lines.iter().all(|l| l["type"] == "ADDED"));
}

#[tokio::test]
async fn watch_resumes_inside_the_window_and_expires_outside() {
    let mut server = Server::start_with(&["--watch-history", "20"]).await;
    let revisions = write_history(&server).await;
    let last = *revisions.last().expect("writes");
    let resume_from = revisions[revisions.len() - 6];

    assert_replays(
        &watch_lines(&server, &format!("resourceVersion={resume_from}")).await,
        &revisions[revisions.len() - 5..],
    );
    assert_expired(&watch_lines(&server, &format!("resourceVersion={}", revisions[0])).await);

    // An exact list is the state at that revision while a view of it is retained...
    let exact = |rv: u64| {
        format!(
            "/api/v1/namespaces/hist/configmaps?resourceVersion={rv}&resourceVersionMatch=Exact"
        )
    };
    let (status, body) = server.get(&exact(revisions[1])).await;
    assert_eq!(status, 200, "{body}");
    let names: Vec<&str> = body["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|i| i["metadata"]["name"].as_str())
        .filter(|name| *name != support::ROOT_CA_CONFIGMAP)
        .collect();
    assert_eq!(names, ["c0", "c1"]);
    // ...and 410 Expired before that.
    let (status, body) = server.get(&exact(1)).await;
    assert_eq!(
        (status.as_u16(), body["reason"].as_str()),
        (410, Some("Expired")),
        "{body}"
    );

    // The history is on disk: a restart after kill -9 keeps the window.
    server.kill9();
    server.restart().await;
    assert_replays(
        &watch_lines(&server, &format!("resourceVersion={resume_from}")).await,
        &revisions[revisions.len() - 5..],
    );
    assert_expired(&watch_lines(&server, &format!("resourceVersion={}", revisions[0])).await);
    // Nothing was lost: the list is at or after the last acknowledged write (the built-in
    // controllers renew their Leases in the background, so later revisions exist).
    let (_, list) = server.get("/api/v1/namespaces/hist/configmaps").await;
    assert!(
        rv_of(&list) >= last,
        "list at {} before the last write {last}",
        rv_of(&list)
    );
}

/// The stored history keeps only the value before each change; after a restart, replayed
/// updates and deletes must still carry the object each change left behind.
#[tokio::test]
async fn replayed_updates_and_deletes_carry_their_objects_across_a_restart() {
    let mut server = Server::start_with(&["--watch-history", "500"]).await;
    server.create_namespace("hist").await;
    let path = "/api/v1/namespaces/hist/configmaps";
    let cm = |name: &str, v: &str| json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": {"v": v}});
    let (status, body) = server.post(path, &cm("m", "0")).await;
    assert_eq!(status, 201, "{body}");
    let resume_from = rv_of(&body);
    for (method, name, v) in [
        ("PUT", "m", "1"),
        ("PUT", "m", "2"),
        ("POST", "d", "x"),
        ("PUT", "d", "y"),
        ("DELETE", "d", ""),
    ] {
        let (status, body) = match method {
            "POST" => server.post(path, &cm(name, v)).await,
            "PUT" => server.put(&format!("{path}/{name}"), &cm(name, v)).await,
            _ => server.delete(&format!("{path}/{name}")).await,
        };
        assert!(status.is_success(), "{method} {name}: {status} {body}");
    }
    let expected = [
        "MODIFIED m 1",
        "MODIFIED m 2",
        "ADDED d x",
        "MODIFIED d y",
        "DELETED d y",
    ];
    // Each event as "TYPE name data.v".
    let seen = |lines: Vec<Value>| -> Vec<String> {
        let text = |v: &Value| v.as_str().unwrap_or("?").to_string();
        lines
            .iter()
            .map(|l| {
                let object = &l["object"];
                format!(
                    "{} {} {}",
                    text(&l["type"]),
                    text(&object["metadata"]["name"]),
                    text(&object["data"]["v"])
                )
            })
            .collect()
    };
    let query = format!("resourceVersion={resume_from}");
    assert_eq!(
        seen(watch_lines(&server, &query).await),
        expected,
        "before the restart"
    );

    server.kill9();
    server.restart().await;
    assert_eq!(
        seen(watch_lines(&server, &query).await),
        expected,
        "after kill -9 and a restart"
    );
}
