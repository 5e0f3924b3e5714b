//! Backups: `keelson snapshot save` against a running server, `keelson snapshot restore`
//! into a new data dir, and a server started on the restored dir serving the same objects
//! at the same resourceVersions and accepting new writes after them.

mod support;

use std::time::Duration;

use serde_json::json;
use support::{
    eventually, free_loopback_addr, run_with_timeout, rv_of, ChildGuard, Server, TimedOutput,
};

const COMMAND_TIMEOUT: Duration = Duration::from_secs(60);

fn succeeded(out: &TimedOutput) -> bool {
    out.status.is_some_and(|s| s.success())
}

#[tokio::test]
async fn a_saved_snapshot_restores_into_a_working_server() {
    let server = Server::start().await;
    server.create_namespace("backed").await;
    let mut saved = Vec::new();
    for i in 0..20 {
        let cm = json!({"apiVersion": "v1", "kind": "ConfigMap",
                        "metadata": {"name": format!("cm{i}")}, "data": {"i": i.to_string()}});
        let (status, body) = server
            .post("/api/v1/namespaces/backed/configmaps", &cm)
            .await;
        assert_eq!(status, 201, "{body}");
        saved.push((format!("cm{i}"), rv_of(&body)));
    }

    let file = server.scratch_file("backup.snap", "");
    let kubeconfig = server.kubeconfig();
    let mut save = Server::keelson_command();
    save.args(["snapshot", "save"])
        .arg(&file)
        .arg("--kubeconfig")
        .arg(&kubeconfig);
    let out = run_with_timeout(save, COMMAND_TIMEOUT);
    assert!(succeeded(&out), "snapshot save failed: {}", out.text());

    // A restore refuses a data dir that already holds state...
    let mut into_used = Server::keelson_command();
    into_used
        .args(["snapshot", "restore"])
        .arg(&file)
        .arg("--data-dir")
        .arg(server.data_dir());
    let refused = run_with_timeout(into_used, COMMAND_TIMEOUT);
    assert!(
        !succeeded(&refused),
        "restore into a used data dir: {}",
        refused.text()
    );

    // ...and builds a new one that a server starts on.
    let restored_dir = tempfile::tempdir().expect("temp dir");
    let data = restored_dir.path().join("data");
    let (listen, peer) = (free_loopback_addr(), free_loopback_addr());
    let mut restore = Server::keelson_command();
    restore
        .args(["snapshot", "restore"])
        .arg(&file)
        .arg("--data-dir")
        .arg(&data)
        .args(["--node-id", "1", "--peer-listen", &peer.to_string()]);
    let out = run_with_timeout(restore, COMMAND_TIMEOUT);
    assert!(succeeded(&out), "snapshot restore failed: {}", out.text());
    // The restored server keeps the same CA, so the original admin credentials work.
    std::fs::create_dir_all(data.join("pki")).expect("pki dir");
    std::fs::copy(
        server.data_dir().join("pki/ca.crt"),
        data.join("pki/ca.crt"),
    )
    .expect("copy ca.crt");
    std::fs::copy(
        server.data_dir().join("pki/ca.key"),
        data.join("pki/ca.key"),
    )
    .expect("copy ca.key");
    let log = std::fs::File::create(restored_dir.path().join("keelson.log")).expect("log");
    let mut serve = Server::keelson_command();
    serve
        .args(support::serve_args(&data, listen, peer))
        .stdout(log.try_clone().expect("log"))
        .stderr(log);
    let _restored = ChildGuard(serve.spawn().expect("spawn the restored server"));

    let http = server.http();
    let url = |path: &str| format!("https://{listen}{path}");
    let list = eventually(
        "the restored server lists the saved objects",
        Duration::from_secs(30),
        || async {
            let resp = http
                .get(url("/api/v1/namespaces/backed/configmaps"))
                .send()
                .await
                .ok()?;
            if !resp.status().is_success() {
                return None;
            }
            resp.json::<serde_json::Value>().await.ok()
        },
    )
    .await;
    let restored: Vec<(String, u64)> = list["items"]
        .as_array()
        .expect("items")
        .iter()
        // The root CA publisher's ConfigMap is not one of the saved test objects.
        .filter(|i| i["metadata"]["name"] != support::ROOT_CA_CONFIGMAP)
        .map(|i| {
            (
                i["metadata"]["name"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string(),
                rv_of(i),
            )
        })
        .collect();
    let mut expected = saved.clone();
    expected.sort();
    assert_eq!(
        restored, expected,
        "same objects at the same resourceVersions"
    );

    let last = saved.iter().map(|(_, rv)| *rv).max().unwrap_or(0);
    let after = http
        .post(url("/api/v1/namespaces/backed/configmaps"))
        .json(&json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "after"}}))
        .send()
        .await
        .expect("create after restore");
    assert_eq!(after.status(), 201);
    let body: serde_json::Value = after.json().await.expect("json");
    assert!(
        rv_of(&body) > last,
        "new writes continue after the restored revision"
    );
}
