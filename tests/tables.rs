//! Server-side tables through kubectl: `kubectl get KIND` and `kubectl get KIND -o wide`
//! print upstream's headers (Name and Age where upstream's printers put them, the wide
//! columns only with `-o wide`) and the cells upstream's printers compute; and the
//! `PartialObjectMetadata` views answer get, list and watch with upstream's shapes.

mod support;

use std::collections::HashMap;
use std::time::{Duration, SystemTime};

use serde_json::Value;
use support::Server;

const NS: &str = "tables";

/// A printed table: its headers and each row's cells by header.
struct Printed {
    headers: Vec<String>,
    rows: Vec<HashMap<String, String>>,
}

impl Printed {
    /// Parses kubectl's aligned output: a column starts where its header starts (headers
    /// hold single spaces at most; columns are apart by at least three).
    fn parse(out: &str) -> Printed {
        let mut lines = out.lines().filter(|l| !l.trim().is_empty());
        let header = lines.next().unwrap_or_default();
        let mut starts = Vec::new();
        let bytes = header.as_bytes();
        for i in 0..bytes.len() {
            let gap_before = i == 0 || (i >= 2 && bytes[i - 1] == b' ' && bytes[i - 2] == b' ');
            if bytes[i] != b' ' && gap_before {
                starts.push(i);
            }
        }
        let cut = |line: &str, k: usize| -> String {
            let from = starts[k].min(line.len());
            let to = starts
                .get(k + 1)
                .copied()
                .unwrap_or(line.len())
                .min(line.len());
            line.get(from..to).unwrap_or("").trim().to_string()
        };
        let headers: Vec<String> = (0..starts.len()).map(|k| cut(header, k)).collect();
        let rows = lines
            .map(|line| {
                (0..starts.len())
                    .map(|k| (headers[k].clone(), cut(line, k)))
                    .collect()
            })
            .collect();
        Printed { headers, rows }
    }

    fn row(&self, column: &str, value: &str) -> &HashMap<String, String> {
        self.rows
            .iter()
            .find(|r| r.get(column).map(String::as_str) == Some(value))
            .unwrap_or_else(|| panic!("no row with {column}={value} in {:?}", self.rows))
    }
}

fn get(server: &Server, args: &[&str]) -> Printed {
    let mut all = vec!["get", "-n", NS];
    all.extend_from_slice(args);
    Printed::parse(&server.kubectl_ok(&all))
}

/// Checks the headers of `kubectl get KIND` and `-o wide`, and returns both tables.
fn headers(server: &Server, kind: &str, plain: &[&str], wide: &[&str]) -> (Printed, Printed) {
    let normal = get(server, &[kind]);
    assert_eq!(normal.headers, plain, "kubectl get {kind}");
    let wider = get(server, &[kind, "-o", "wide"]);
    assert_eq!(wider.headers, wide, "kubectl get {kind} -o wide");
    (normal, wider)
}

fn rfc3339_ago(seconds: u64) -> String {
    humantime::format_rfc3339_seconds(SystemTime::now() - Duration::from_secs(seconds)).to_string()
}

fn apply(server: &Server, name: &str, yaml: &str) {
    let file = server.scratch_file(name, yaml);
    let file = file.to_str().expect("scratch paths are UTF-8");
    server.kubectl_ok(&["apply", "-f", file]);
}

const OBJECTS: &str = r#"
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: tables}
spec:
  replicas: 3
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec: {containers: [{name: web, image: "nginx:1.27"}, {name: log, image: busybox}]}
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: tables}
spec:
  type: NodePort
  selector: {app: web}
  ports: [{port: 80, protocol: TCP}, {port: 443, nodePort: 30443, protocol: TCP}]
---
apiVersion: batch/v1
kind: Job
metadata: {name: once, namespace: tables}
spec:
  template:
    spec: {restartPolicy: Never, containers: [{name: task, image: busybox}]}
---
apiVersion: batch/v1
kind: CronJob
metadata: {name: tick, namespace: tables}
spec:
  schedule: "*/5 * * * *"
  jobTemplate:
    spec:
      template:
        spec: {restartPolicy: Never, containers: [{name: task, image: busybox}]}
---
apiVersion: v1
kind: Pod
metadata: {name: app, namespace: tables}
spec:
  nodeName: node-1
  containers: [{name: main, image: nginx}, {name: side, image: busybox}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: readers, namespace: tables}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: view}
subjects:
- {kind: User, name: alice}
- {kind: ServiceAccount, name: bot, namespace: ci}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: reader, namespace: tables}
rules: [{apiGroups: [""], resources: [pods], verbs: [get]}]
---
apiVersion: v1
kind: PodTemplate
metadata: {name: tpl, namespace: tables}
template:
  metadata: {labels: {tier: front, app: web}}
  spec: {containers: [{name: web, image: nginx}]}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: settings, namespace: tables}
data: {a: "1", b: "2"}
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_get_prints_upstreams_columns() {
    let server = Server::start().await;
    server.kubectl_ok(&["create", "namespace", NS]);
    apply(&server, "objects.yaml", OBJECTS);

    // The pod's status as a kubelet would report it: one of two containers ready, the
    // ready one restarted twice, last four hours ago.
    let status = serde_json::json!({"status": {"phase": "Running", "podIPs": [{"ip": "10.1.2.3"}],
        "containerStatuses": [
            {"name": "main", "image": "nginx", "imageID": "", "ready": true, "restartCount": 2,
             "state": {"running": {}},
             "lastState": {"terminated": {"exitCode": 1, "finishedAt": rfc3339_ago(14410)}}},
            {"name": "side", "image": "busybox", "imageID": "", "ready": false, "restartCount": 0,
             "state": {"waiting": {"reason": "ContainerCreating"}}}]}});
    server.kubectl_ok(&[
        "patch",
        "pod",
        "app",
        "-n",
        NS,
        "--subresource=status",
        "--type=merge",
        "-p",
        &status.to_string(),
    ]);
    let event = format!(
        r#"{{"apiVersion": "v1", "kind": "Event", "metadata": {{"name": "app.1", "namespace": "{NS}"}},
        "involvedObject": {{"kind": "Pod", "name": "app", "namespace": "{NS}", "fieldPath": "spec.containers{{side}}"}},
        "type": "Warning", "reason": "BackOff", "message": "Back-off pulling image",
        "source": {{"component": "kubelet", "host": "node-1"}},
        "firstTimestamp": "{}", "lastTimestamp": "{}", "count": 4}}"#,
        rfc3339_ago(14410),
        rfc3339_ago(14410)
    );
    apply(&server, "event.json", &event);

    let (pods, wide) = headers(
        &server,
        "pods",
        &["NAME", "READY", "STATUS", "RESTARTS", "AGE"],
        &[
            "NAME",
            "READY",
            "STATUS",
            "RESTARTS",
            "AGE",
            "IP",
            "NODE",
            "NOMINATED NODE",
            "READINESS GATES",
        ],
    );
    let pod = pods.row("NAME", "app");
    assert_eq!(pod["READY"], "1/2");
    assert_eq!(pod["STATUS"], "ContainerCreating");
    assert_eq!(pod["RESTARTS"], "2 (4h ago)");
    let pod = wide.row("NAME", "app");
    assert_eq!(
        (
            pod["IP"].as_str(),
            pod["NODE"].as_str(),
            pod["NOMINATED NODE"].as_str(),
            pod["READINESS GATES"].as_str()
        ),
        ("10.1.2.3", "node-1", "<none>", "<none>")
    );

    let (deployments, wide) = headers(
        &server,
        "deployments",
        &["NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE"],
        &[
            "NAME",
            "READY",
            "UP-TO-DATE",
            "AVAILABLE",
            "AGE",
            "CONTAINERS",
            "IMAGES",
            "SELECTOR",
        ],
    );
    let web = deployments.row("NAME", "web");
    assert_eq!(
        (
            web["READY"].as_str(),
            web["UP-TO-DATE"].as_str(),
            web["AVAILABLE"].as_str()
        ),
        ("0/3", "0", "0")
    );
    let web = wide.row("NAME", "web");
    assert_eq!(web["CONTAINERS"], "web,log");
    assert_eq!(web["IMAGES"], "nginx:1.27,busybox");
    assert_eq!(web["SELECTOR"], "app=web");

    let (services, wide) = headers(
        &server,
        "services",
        &[
            "NAME",
            "TYPE",
            "CLUSTER-IP",
            "EXTERNAL-IP",
            "PORT(S)",
            "AGE",
        ],
        &[
            "NAME",
            "TYPE",
            "CLUSTER-IP",
            "EXTERNAL-IP",
            "PORT(S)",
            "AGE",
            "SELECTOR",
        ],
    );
    let svc = services.row("NAME", "web");
    assert_eq!(svc["TYPE"], "NodePort");
    assert_eq!(svc["EXTERNAL-IP"], "<none>");
    // Port 80 gets a node port allocated from 30000-32767; 443 keeps the one it asked for.
    let ports = svc["PORT(S)"].as_str();
    let allocated = ports
        .strip_prefix("80:")
        .and_then(|rest| rest.strip_suffix("/TCP,443:30443/TCP"))
        .and_then(|port| port.parse::<u16>().ok());
    assert!(
        allocated.is_some_and(|p| (30000..=32767).contains(&p)),
        "{ports}"
    );
    assert!(svc["CLUSTER-IP"].starts_with("10.0.0."), "{svc:?}");
    assert_eq!(wide.row("NAME", "web")["SELECTOR"], "app=web");

    let (jobs, wide) = headers(
        &server,
        "jobs",
        &["NAME", "STATUS", "COMPLETIONS", "DURATION", "AGE"],
        &[
            "NAME",
            "STATUS",
            "COMPLETIONS",
            "DURATION",
            "AGE",
            "CONTAINERS",
            "IMAGES",
            "SELECTOR",
        ],
    );
    let job = jobs.row("NAME", "once");
    assert_eq!(
        (
            job["STATUS"].as_str(),
            job["COMPLETIONS"].as_str(),
            job["DURATION"].as_str()
        ),
        ("Running", "0/1", "")
    );
    assert_eq!(wide.row("NAME", "once")["IMAGES"], "busybox");

    let (cronjobs, _) = headers(
        &server,
        "cronjobs",
        &[
            "NAME",
            "SCHEDULE",
            "TIMEZONE",
            "SUSPEND",
            "ACTIVE",
            "LAST SCHEDULE",
            "AGE",
        ],
        &[
            "NAME",
            "SCHEDULE",
            "TIMEZONE",
            "SUSPEND",
            "ACTIVE",
            "LAST SCHEDULE",
            "AGE",
            "CONTAINERS",
            "IMAGES",
            "SELECTOR",
        ],
    );
    let tick = cronjobs.row("NAME", "tick");
    assert_eq!(
        (
            tick["SCHEDULE"].as_str(),
            tick["TIMEZONE"].as_str(),
            tick["SUSPEND"].as_str(),
            tick["ACTIVE"].as_str(),
            tick["LAST SCHEDULE"].as_str()
        ),
        ("*/5 * * * *", "<none>", "False", "0", "<none>")
    );

    // Events: Name is a wide column and not the first one.
    let (events, wide) = headers(
        &server,
        "events",
        &["LAST SEEN", "TYPE", "REASON", "OBJECT", "MESSAGE"],
        &[
            "LAST SEEN",
            "TYPE",
            "REASON",
            "OBJECT",
            "SUBOBJECT",
            "SOURCE",
            "MESSAGE",
            "FIRST SEEN",
            "COUNT",
            "NAME",
        ],
    );
    let ev = events.row("OBJECT", "pod/app");
    assert_eq!(
        (
            ev["LAST SEEN"].as_str(),
            ev["TYPE"].as_str(),
            ev["REASON"].as_str()
        ),
        ("4h", "Warning", "BackOff")
    );
    assert_eq!(ev["MESSAGE"], "Back-off pulling image");
    let ev = wide.row("NAME", "app.1");
    assert_eq!(ev["SOURCE"], "kubelet, node-1");
    assert_eq!(ev["SUBOBJECT"], "spec.containers{side}");
    assert_eq!(ev["COUNT"], "4");

    let (bindings, wide) = headers(
        &server,
        "rolebindings",
        &["NAME", "ROLE", "AGE"],
        &["NAME", "ROLE", "AGE", "USERS", "GROUPS", "SERVICEACCOUNTS"],
    );
    assert_eq!(bindings.row("NAME", "readers")["ROLE"], "ClusterRole/view");
    let readers = wide.row("NAME", "readers");
    assert_eq!(
        (
            readers["USERS"].as_str(),
            readers["GROUPS"].as_str(),
            readers["SERVICEACCOUNTS"].as_str()
        ),
        ("alice", "", "ci/bot")
    );

    // Roles have no printer upstream: the default convertor's Name and Created At.
    let (roles, _) = headers(
        &server,
        "roles",
        &["NAME", "CREATED AT"],
        &["NAME", "CREATED AT"],
    );
    let created = &roles.row("NAME", "reader")["CREATED AT"];
    assert!(
        humantime::parse_rfc3339(created).is_ok(),
        "CREATED AT {created:?} is not RFC 3339"
    );

    // Pod templates have no Age column upstream.
    let (templates, _) = headers(
        &server,
        "podtemplates",
        &["NAME", "CONTAINERS", "IMAGES", "POD LABELS"],
        &["NAME", "CONTAINERS", "IMAGES", "POD LABELS"],
    );
    assert_eq!(
        templates.row("NAME", "tpl")["POD LABELS"],
        "app=web,tier=front"
    );
    let (configmaps, _) = headers(
        &server,
        "configmaps",
        &["NAME", "DATA", "AGE"],
        &["NAME", "DATA", "AGE"],
    );
    assert_eq!(configmaps.row("NAME", "settings")["DATA"], "2");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn partial_object_metadata_for_get_list_and_watch() {
    let server = Server::start().await;
    server.kubectl_ok(&["create", "namespace", NS]);
    server.kubectl_ok(&["create", "configmap", "one", "-n", NS, "--from-literal=k=v"]);
    let http = server.http();
    let accept = |kind: &str| format!("application/json;as={kind};g=meta.k8s.io;v=v1");
    let path = format!("/api/v1/namespaces/{NS}/configmaps");

    let resp = http
        .get(server.url(&format!("{path}/one")))
        .header("Accept", accept("PartialObjectMetadata"))
        .send()
        .await
        .expect("get");
    let (code, one) = support::read_json(resp).await;
    assert_eq!(code, 200, "{one}");
    assert_eq!(
        (one["kind"].as_str(), one["apiVersion"].as_str()),
        (Some("PartialObjectMetadata"), Some("meta.k8s.io/v1"))
    );
    assert_eq!(one["metadata"]["name"], "one");
    assert!(one.get("data").is_none(), "only metadata: {one}");

    let resp = http
        .get(server.url(&path))
        .header("Accept", accept("PartialObjectMetadataList"))
        .send()
        .await
        .expect("list");
    let (code, list) = support::read_json(resp).await;
    assert_eq!(code, 200, "{list}");
    assert_eq!(list["kind"], "PartialObjectMetadataList");
    assert!(list["metadata"]["resourceVersion"].is_string(), "{list}");
    let items = list["items"].as_array().cloned().unwrap_or_default();
    assert!(
        items.iter().any(|i| i["kind"] == "PartialObjectMetadata"
            && i["metadata"]["name"] == "one"
            && i.get("data").is_none()),
        "{list}"
    );

    // The wrong one of the two for the request is not acceptable, as upstream.
    for (url, kind) in [
        (format!("{path}/one"), "PartialObjectMetadataList"),
        (path.clone(), "PartialObjectMetadata"),
    ] {
        let resp = http
            .get(server.url(&url))
            .header("Accept", accept(kind))
            .send()
            .await
            .expect("request");
        let (code, status) = support::read_json(resp).await;
        assert_eq!(
            (code.as_u16(), status["reason"].as_str()),
            (406, Some("NotAcceptable")),
            "{url} as {kind}: {status}"
        );
    }

    let resp = http
        .get(server.url(&format!("{path}?watch=true&timeoutSeconds=2")))
        .header("Accept", accept("PartialObjectMetadata"))
        .send()
        .await
        .expect("watch");
    let body = resp.text().await.expect("watch body");
    let first: Value = body
        .lines()
        .next()
        .and_then(|l| serde_json::from_str(l).ok())
        .unwrap_or_else(|| panic!("no watch event in {body:?}"));
    assert_eq!(first["type"], "ADDED");
    assert_eq!(first["object"]["kind"], "PartialObjectMetadata");
    assert_eq!(first["object"]["metadata"]["name"], "one");
    assert!(first["object"].get("data").is_none(), "{first}");

    // Bookmarks come in the same representation (a metadata informer decodes only
    // meta.k8s.io kinds): here the bookmark that ends the initial events.
    let resp = http
        .get(server.url(&format!(
            "{path}?watch=true&timeoutSeconds=2&sendInitialEvents=true&allowWatchBookmarks=true&resourceVersionMatch=NotOlderThan"
        )))
        .header("Accept", accept("PartialObjectMetadata"))
        .send()
        .await
        .expect("watch-list");
    let body = resp.text().await.expect("watch-list body");
    let events: Vec<Value> = body
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    let bookmark = events
        .iter()
        .find(|e| e["type"] == "BOOKMARK")
        .unwrap_or_else(|| panic!("no bookmark in {body:?}"));
    assert_eq!(
        bookmark["object"]["kind"], "PartialObjectMetadata",
        "{bookmark}"
    );
    assert_eq!(
        bookmark["object"]["apiVersion"], "meta.k8s.io/v1",
        "{bookmark}"
    );
    assert_eq!(
        bookmark["object"]["metadata"]["annotations"]["k8s.io/initial-events-end"],
        "true"
    );
    assert!(events
        .iter()
        .all(|e| e["object"]["kind"] == "PartialObjectMetadata"));
}
