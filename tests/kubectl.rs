//! kubectl acceptance: the everyday kubectl commands work against keelson as they do
//! against kube-apiserver — namespaces, configmaps, secrets, serviceaccounts, -o json/yaml,
//! --watch, label, delete, discovery (api-resources, api-versions), health and version,
//! and upstream's error texts for a missing namespace and a duplicate.

mod support;

use std::io::{BufRead, BufReader};
use std::process::Stdio;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use support::{ChildGuard, Server};

/// `kubectl get <what> -o json` parsed.
fn get_json(server: &Server, args: &[&str]) -> Value {
    let mut all = vec!["get"];
    all.extend_from_slice(args);
    all.extend_from_slice(&["-o", "json"]);
    let out = server.kubectl_ok(&all);
    serde_json::from_str(&out)
        .unwrap_or_else(|e| panic!("kubectl {all:?} printed invalid JSON ({e}): {out}"))
}

/// `kubectl get <what> -o yaml` parsed.
fn get_yaml(server: &Server, args: &[&str]) -> Value {
    let mut all = vec!["get"];
    all.extend_from_slice(args);
    all.extend_from_slice(&["-o", "yaml"]);
    let out = server.kubectl_ok(&all);
    serde_yaml_ng::from_str(&out)
        .unwrap_or_else(|e| panic!("kubectl {all:?} printed invalid YAML ({e}): {out}"))
}

/// Checks the server-set metadata every stored object carries.
fn assert_server_metadata(obj: &Value) {
    let meta = &obj["metadata"];
    let uid = meta["uid"].as_str().unwrap_or_default();
    assert_eq!(uid.len(), 36, "metadata.uid should be a UUID: {obj}");
    let rv = meta["resourceVersion"].as_str().unwrap_or_default();
    assert!(
        !rv.is_empty() && rv.bytes().all(|b| b.is_ascii_digit()),
        "metadata.resourceVersion should be a revision number: {obj}"
    );
    let ts = meta["creationTimestamp"].as_str().unwrap_or_default();
    assert!(
        is_rfc3339_utc_seconds(ts),
        "metadata.creationTimestamp {ts:?} is not RFC 3339 UTC seconds"
    );
}

/// `YYYY-MM-DDTHH:MM:SSZ`, the form upstream serialises metav1.Time in.
fn is_rfc3339_utc_seconds(ts: &str) -> bool {
    let b = ts.as_bytes();
    b.len() == 20
        && b.iter().enumerate().all(|(i, c)| match i {
            4 | 7 => *c == b'-',
            10 => *c == b'T',
            13 | 16 => *c == b':',
            19 => *c == b'Z',
            _ => c.is_ascii_digit(),
        })
}

/// The whitespace-separated columns of the table row whose first column is `name`.
fn row<'a>(table: &'a str, name: &str) -> Option<Vec<&'a str>> {
    table
        .lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>())
        .find(|cols| cols.first() == Some(&name))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn get_ns_lists_the_four_bootstrap_namespaces() {
    let server = Server::start().await;
    let table = server.kubectl_ok(&["get", "ns"]);
    let header = table.lines().next().unwrap_or_default();
    assert_eq!(
        header.split_whitespace().collect::<Vec<_>>(),
        ["NAME", "STATUS", "AGE"],
        "table: {table}"
    );
    for ns in ["default", "kube-system", "kube-public", "kube-node-lease"] {
        let cols =
            row(&table, ns).unwrap_or_else(|| panic!("namespace {ns} missing from:\n{table}"));
        assert_eq!(
            cols.get(1),
            Some(&"Active"),
            "namespace {ns} should be Active:\n{table}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_get_label_delete_with_kubectl() {
    let server = Server::start().await;
    let out = server.kubectl_ok(&["create", "namespace", "team-a"]);
    assert_eq!(out.trim(), "namespace/team-a created");

    let out = server.kubectl_ok(&[
        "create",
        "configmap",
        "cm1",
        "-n",
        "team-a",
        "--from-literal=k1=v1",
        "--from-literal=k2=v2",
    ]);
    assert_eq!(out.trim(), "configmap/cm1 created");
    let out = server.kubectl_ok(&[
        "create",
        "secret",
        "generic",
        "s1",
        "-n",
        "team-a",
        "--from-literal=password=hunter2",
    ]);
    assert_eq!(out.trim(), "secret/s1 created");
    let out = server.kubectl_ok(&["create", "serviceaccount", "sa1", "-n", "team-a"]);
    assert_eq!(out.trim(), "serviceaccount/sa1 created");

    // -o json and -o yaml show the same stored object, with server-set metadata.
    let cm = get_json(&server, &["configmap", "cm1", "-n", "team-a"]);
    assert_eq!(cm["apiVersion"], "v1");
    assert_eq!(cm["kind"], "ConfigMap");
    assert_eq!(cm["metadata"]["name"], "cm1");
    assert_eq!(cm["metadata"]["namespace"], "team-a");
    assert_eq!(cm["data"], json!({"k1": "v1", "k2": "v2"}));
    assert_server_metadata(&cm);
    let cm_yaml = get_yaml(&server, &["configmap", "cm1", "-n", "team-a"]);
    assert_eq!(cm_yaml, cm, "-o yaml and -o json disagree");

    let secret = get_json(&server, &["secret", "s1", "-n", "team-a"]);
    assert_eq!(secret["kind"], "Secret");
    assert_eq!(secret["type"], "Opaque");
    assert_eq!(
        secret["data"],
        json!({"password": "aHVudGVyMg=="}),
        "secret data is base64 of the literal"
    );
    assert_server_metadata(&secret);
    let secret_yaml = get_yaml(&server, &["secret", "s1", "-n", "team-a"]);
    assert_eq!(secret_yaml, secret, "-o yaml and -o json disagree");

    let sa = get_yaml(&server, &["serviceaccount", "sa1", "-n", "team-a"]);
    assert_eq!(sa["kind"], "ServiceAccount");
    assert_eq!(sa["metadata"]["name"], "sa1");
    assert_server_metadata(&sa);

    // Each write gets a new, higher revision.
    let revisions: Vec<u64> = [&cm, &secret, &sa]
        .iter()
        .map(|o| support::rv_of(o))
        .collect();
    assert!(
        revisions.windows(2).all(|w| w[0] < w[1]),
        "revisions should increase: {revisions:?}"
    );

    // label: a modification with a newer resourceVersion, visible to label selectors.
    let out = server.kubectl_ok(&["label", "configmap", "cm1", "-n", "team-a", "env=test"]);
    assert_eq!(out.trim(), "configmap/cm1 labeled");
    let labeled = get_json(&server, &["configmap", "cm1", "-n", "team-a"]);
    assert_eq!(labeled["metadata"]["labels"], json!({"env": "test"}));
    assert_eq!(
        labeled["metadata"]["uid"], cm["metadata"]["uid"],
        "label keeps the object's uid"
    );
    assert!(
        support::rv_of(&labeled) > support::rv_of(&sa),
        "label should get a newer revision"
    );
    server.kubectl_ok(&["create", "configmap", "cm2", "-n", "team-a"]);
    let selected = server.kubectl_ok(&[
        "get",
        "configmaps",
        "-n",
        "team-a",
        "-l",
        "env=test",
        "-o",
        "name",
    ]);
    assert_eq!(selected.trim(), "configmap/cm1");
    let others = server.kubectl_ok(&[
        "get",
        "configmaps",
        "-n",
        "team-a",
        "-l",
        "env!=test",
        "-o",
        "name",
    ]);
    assert!(
        others.lines().any(|l| l == "configmap/cm2"),
        "env!=test should select cm2: {others}"
    );
    assert!(
        !others.lines().any(|l| l == "configmap/cm1"),
        "env!=test should not select cm1: {others}"
    );

    // delete, then the object is gone with upstream's NotFound text.
    let out = server.kubectl_ok(&["delete", "configmap", "cm1", "-n", "team-a"]);
    assert_eq!(out.trim(), "configmap \"cm1\" deleted");
    let err = server.kubectl_err(&["get", "configmap", "cm1", "-n", "team-a"]);
    assert!(
        err.contains("Error from server (NotFound): configmaps \"cm1\" not found"),
        "unexpected error text: {err}"
    );
    let names = server.kubectl_ok(&["get", "configmaps", "-n", "team-a", "-o", "name"]);
    assert!(
        !names.lines().any(|l| l == "configmap/cm1"),
        "cm1 still listed: {names}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn get_watch_sees_changes_made_after_it_started() {
    let server = Server::start().await;
    server.kubectl_ok(&["create", "namespace", "watched"]);
    server.kubectl_ok(&["create", "configmap", "before", "-n", "watched"]);

    let mut cmd = server.kubectl_command(&[
        "get",
        "configmaps",
        "-n",
        "watched",
        "--watch",
        "-o",
        "name",
        "--request-timeout=90s",
    ]);
    cmd.stdout(Stdio::piped()).stderr(Stdio::null());
    let mut watch = ChildGuard(cmd.spawn().expect("spawn kubectl --watch"));
    let (tx, lines) = mpsc::channel::<String>();
    let stdout = watch.0.stdout.take().expect("piped stdout");
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let wait_line = |want: &str| {
        let deadline = Instant::now() + Duration::from_secs(30);
        let mut seen = Vec::new();
        while let Some(left) = deadline.checked_duration_since(Instant::now()) {
            match lines.recv_timeout(left) {
                Ok(line) if line.trim() == want => return,
                Ok(line) => seen.push(line),
                Err(_) => break,
            }
        }
        panic!(
            "kubectl --watch did not print {want:?} within 30 s; printed {seen:?}\n{}",
            server.describe()
        );
    };

    // The initial list, then a create and a modification made after the watch started.
    wait_line("configmap/before");
    server.kubectl_ok(&["create", "configmap", "after", "-n", "watched"]);
    wait_line("configmap/after");
    server.kubectl_ok(&[
        "label",
        "configmap",
        "before",
        "-n",
        "watched",
        "changed=yes",
    ]);
    wait_line("configmap/before");
    watch.kill();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn discovery_health_and_version() {
    let server = Server::start().await;

    let resources = server.kubectl_ok(&["api-resources"]);
    let header = resources.lines().next().unwrap_or_default();
    assert_eq!(
        header.split_whitespace().collect::<Vec<_>>(),
        ["NAME", "SHORTNAMES", "APIVERSION", "NAMESPACED", "KIND"],
        "api-resources header:\n{resources}"
    );
    let expected: [&[&str]; 6] = [
        &["configmaps", "cm", "v1", "true", "ConfigMap"],
        &["namespaces", "ns", "v1", "false", "Namespace"],
        &["secrets", "", "v1", "true", "Secret"],
        &["serviceaccounts", "sa", "v1", "true", "ServiceAccount"],
        &["deployments", "deploy", "apps/v1", "true", "Deployment"],
        &["leases", "", "coordination.k8s.io/v1", "true", "Lease"],
    ];
    for want in expected {
        let want: Vec<&str> = want.iter().copied().filter(|c| !c.is_empty()).collect();
        let got = row(&resources, want[0])
            .unwrap_or_else(|| panic!("{} missing from:\n{resources}", want[0]));
        assert_eq!(got, want, "api-resources row for {}", want[0]);
    }

    let versions = server.kubectl_ok(&["api-versions"]);
    for gv in [
        "v1",
        "apps/v1",
        "batch/v1",
        "coordination.k8s.io/v1",
        "rbac.authorization.k8s.io/v1",
    ] {
        assert!(
            versions.lines().any(|l| l.trim() == gv),
            "api-versions lacks {gv}:\n{versions}"
        );
    }

    let readyz = server.kubectl_ok(&["get", "--raw", "/readyz?verbose"]);
    assert!(
        readyz.contains("readyz check passed"),
        "/readyz?verbose:\n{readyz}"
    );
    assert!(
        readyz.lines().any(|l| l.starts_with("[+]")),
        "/readyz?verbose lists no checks:\n{readyz}"
    );
    assert_eq!(server.kubectl_ok(&["get", "--raw", "/livez"]).trim(), "ok");
    assert_eq!(
        server.kubectl_ok(&["get", "--raw", "/healthz"]).trim(),
        "ok"
    );

    let version = server.kubectl_ok(&["get", "--raw", "/version"]);
    let version: Value = serde_json::from_str(&version)
        .unwrap_or_else(|e| panic!("/version is not JSON ({e}): {version}"));
    let git_version = version["gitVersion"].as_str().unwrap_or_default();
    assert!(
        git_version.starts_with('v'),
        "/version gitVersion: {version}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_namespace_and_duplicate_errors() {
    let server = Server::start().await;

    // `kubectl create configmap` wraps the server's message in its own words...
    let err = server.kubectl_err(&["create", "configmap", "x", "-n", "no-such-ns"]);
    assert!(
        err.contains("namespaces \"no-such-ns\" not found"),
        "create in a missing namespace: {err}"
    );
    server.kubectl_ok(&["create", "configmap", "dup", "-n", "default"]);
    let err = server.kubectl_err(&["create", "configmap", "dup", "-n", "default"]);
    assert!(
        err.contains("configmaps \"dup\" already exists"),
        "duplicate create: {err}"
    );

    // ...while `kubectl create -f` shows the Status reason as well.
    let manifest = server.scratch_file(
        "cm.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: from-file\n",
    );
    let manifest = manifest.to_str().expect("UTF-8 path");
    let create_in = |ns: &'static str| ["create", "-f", manifest, "-n", ns];
    let err = server.kubectl_err(&create_in("no-such-ns"));
    assert!(
        err.contains("Error from server (NotFound)")
            && err.contains("namespaces \"no-such-ns\" not found"),
        "create -f in a missing namespace: {err}"
    );
    server.kubectl_ok(&create_in("default"));
    let err = server.kubectl_err(&create_in("default"));
    assert!(
        err.contains("Error from server (AlreadyExists)")
            && err.contains("configmaps \"from-file\" already exists"),
        "duplicate create -f: {err}"
    );
}
