//! The end-to-end kubectl workflow of issue #3, over one multi-document YAML file
//! (namespace, configmap, secret, service, deployment, serviceaccount, role, rolebinding,
//! cronjob, ingress): apply, `kubectl get` of every kind with upstream's columns, a
//! re-apply that changes nothing, `kubectl diff` before an edited file is applied, the
//! edit itself (a removed key disappears), `kubectl edit`, label, annotate, scale, the
//! three patch types, server-side apply with a second field manager that conflicts and
//! then forces, and deletions that complete (`delete -f` and `delete ns`).

mod support;

use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;

use serde_json::Value;
use support::Server;

const NS: &str = "shop";

/// The application as a user would keep it in one file; `{EXTRA}` is where the edited
/// version differs.
const MANIFEST: &str = r#"apiVersion: v1
kind: Namespace
metadata:
  name: shop
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: settings
  namespace: shop
data:
  color: blue
  size: large
{EXTRA}---
apiVersion: v1
kind: Secret
metadata:
  name: credentials
  namespace: shop
type: Opaque
data:
  password: aHVudGVyMg==
---
apiVersion: v1
kind: Service
metadata:
  name: web
  namespace: shop
spec:
  selector:
    app: web
  ports:
  - name: http
    port: 80
    targetPort: 8080
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: shop
spec:
  replicas: 2
  selector:
    matchLabels:
      app: web
  template:
    metadata:
      labels:
        app: web
    spec:
      containers:
      - name: web
        image: nginx:1.27
        env:
        - name: MODE
          value: production
---
apiVersion: v1
kind: ServiceAccount
metadata:
  name: deployer
  namespace: shop
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata:
  name: reader
  namespace: shop
rules:
- apiGroups: [""]
  resources: ["configmaps"]
  verbs: ["get", "list", "watch"]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata:
  name: deployer-reads
  namespace: shop
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: Role
  name: reader
subjects:
- kind: ServiceAccount
  name: deployer
  namespace: shop
---
apiVersion: batch/v1
kind: CronJob
metadata:
  name: nightly
  namespace: shop
spec:
  schedule: "0 3 * * *"
  jobTemplate:
    spec:
      template:
        spec:
          restartPolicy: OnFailure
          containers:
          - name: report
            image: busybox:1.36
            command: ["sh", "-c", "date"]
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: web
  namespace: shop
spec:
  rules:
  - host: shop.example.com
    http:
      paths:
      - path: /
        pathType: Prefix
        backend:
          service:
            name: web
            port:
              number: 80
"#;

/// Every kind in the file with upstream's `kubectl get` columns, and those `-o wide` adds.
const COLUMNS: &[(&str, &str, &str)] = &[
    ("configmap", "NAME DATA AGE", ""),
    ("secret", "NAME TYPE DATA AGE", ""),
    (
        "service",
        "NAME TYPE CLUSTER-IP EXTERNAL-IP PORT(S) AGE",
        "SELECTOR",
    ),
    (
        "deployment",
        "NAME READY UP-TO-DATE AVAILABLE AGE",
        "CONTAINERS IMAGES SELECTOR",
    ),
    ("serviceaccount", "NAME SECRETS AGE", ""),
    ("role", "NAME CREATED AT", ""),
    (
        "rolebinding",
        "NAME ROLE AGE",
        "USERS GROUPS SERVICEACCOUNTS",
    ),
    (
        "cronjob",
        "NAME SCHEDULE TIMEZONE SUSPEND ACTIVE LAST SCHEDULE AGE",
        "CONTAINERS IMAGES SELECTOR",
    ),
    ("ingress", "NAME CLASS HOSTS ADDRESS PORTS AGE", ""),
];

fn manifest(extra: &str) -> String {
    MANIFEST.replace("{EXTRA}", extra)
}

fn header(table: &str) -> String {
    let first = table.lines().next().unwrap_or_default();
    first.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// What keelson's controllers put in every namespace, not part of the file.
const MADE_BY_CONTROLLERS: [&str; 2] = ["ConfigMap/kube-root-ca.crt", "ServiceAccount/default"];

/// kind/name → resourceVersion of the file's objects: everything in the namespace but
/// what the controllers made, and the namespace itself.
fn resource_versions(server: &Server) -> BTreeMap<String, String> {
    let kinds: Vec<&str> = COLUMNS.iter().map(|(kind, _, _)| *kind).collect();
    let out = server.kubectl_ok(&["get", &kinds.join(","), "-n", NS, "-o", "json"]);
    let list: Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}"));
    let mut rvs = BTreeMap::new();
    let items = list["items"].as_array().cloned().unwrap_or_default();
    for item in items.iter().chain([&get(server, &["namespace", NS])]) {
        let key = format!(
            "{}/{}",
            item["kind"].as_str().unwrap_or_default(),
            item["metadata"]["name"].as_str().unwrap_or_default()
        );
        if MADE_BY_CONTROLLERS.contains(&key.as_str()) {
            continue;
        }
        let rv = item["metadata"]["resourceVersion"]
            .as_str()
            .unwrap_or_default();
        rvs.insert(key, rv.to_owned());
    }
    rvs
}

fn get(server: &Server, what: &[&str]) -> Value {
    let mut args = vec!["get"];
    args.extend_from_slice(what);
    args.extend_from_slice(&["-n", NS, "-o", "json"]);
    let out = server.kubectl_ok(&args);
    serde_json::from_str(&out).unwrap_or_else(|e| panic!("kubectl {args:?}: {e}: {out}"))
}

fn executable(server: &Server, name: &str, script: &str) -> std::path::PathBuf {
    let path = server.scratch_file(name, script);
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755))
        .unwrap_or_else(|e| panic!("chmod {}: {e}", path.display()));
    path
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_whole_application_through_kubectl() {
    let server = Server::start().await;
    let file = server.scratch_file("shop.yaml", &manifest("  mode: legacy\n"));
    let path = file.to_str().unwrap_or_default();

    let out = server.kubectl_ok(&["apply", "-f", path]);
    for line in [
        "namespace/shop created",
        "configmap/settings created",
        "secret/credentials created",
        "service/web created",
        "deployment.apps/web created",
        "serviceaccount/deployer created",
        "role.rbac.authorization.k8s.io/reader created",
        "rolebinding.rbac.authorization.k8s.io/deployer-reads created",
        "cronjob.batch/nightly created",
        "ingress.networking.k8s.io/web created",
    ] {
        assert!(
            out.lines().any(|l| l == line),
            "{line:?} missing from:\n{out}"
        );
    }

    for (kind, columns, wide) in COLUMNS {
        let table = server.kubectl_ok(&["get", kind, "-n", NS]);
        assert_eq!(header(&table), *columns, "kubectl get {kind}:\n{table}");
        let table = server.kubectl_ok(&["get", kind, "-n", NS, "-o", "wide"]);
        let expected = format!("{columns} {wide}");
        assert_eq!(
            header(&table),
            expected.trim(),
            "kubectl get {kind} -o wide:\n{table}"
        );
    }
    let services = server.kubectl_ok(&["get", "service", "web", "-n", NS, "--no-headers"]);
    let cells: Vec<&str> = services.split_whitespace().collect();
    assert_eq!(cells.get(1), Some(&"ClusterIP"), "{services}");
    assert!(
        cells
            .get(2)
            .is_some_and(|ip| ip.parse::<std::net::Ipv4Addr>().is_ok()),
        "the service has a cluster IP: {services}"
    );
    assert_eq!(cells.get(4), Some(&"80/TCP"), "{services}");

    // Re-applying the same file is a no-op: nothing is written again.
    let before = resource_versions(&server);
    assert_eq!(before.len(), 10, "{before:?}");
    let out = server.kubectl_ok(&["apply", "-f", path]);
    assert_eq!(
        out.lines().filter(|l| l.ends_with(" unchanged")).count(),
        10,
        "{out}"
    );
    assert_eq!(
        resource_versions(&server),
        before,
        "a re-apply wrote something"
    );

    // Edit the file: `kubectl diff` shows the removed key before apply, none after.
    std::fs::write(&file, manifest("")).unwrap_or_else(|e| panic!("rewrite {path}: {e}"));
    let diff = server.kubectl(&["diff", "-f", path]);
    let shown = String::from_utf8_lossy(&diff.stdout);
    assert_eq!(
        diff.status.code(),
        Some(1),
        "kubectl diff: {shown}\n{}",
        String::from_utf8_lossy(&diff.stderr)
    );
    assert!(
        shown
            .lines()
            .any(|l| l.starts_with('-') && l.contains("mode: legacy")),
        "{shown}"
    );
    assert_eq!(
        resource_versions(&server),
        before,
        "kubectl diff wrote something"
    );
    let out = server.kubectl_ok(&["apply", "-f", path]);
    assert!(out.contains("configmap/settings configured"), "{out}");
    let settings = get(&server, &["configmap", "settings"]);
    assert!(
        settings["data"].get("mode").is_none(),
        "removed key survived: {settings}"
    );
    assert_eq!(settings["data"]["color"], "blue");
    let diff = server.kubectl(&["diff", "-f", path]);
    assert_eq!(
        diff.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&diff.stdout)
    );

    // kubectl edit with an editor script.
    let editor = executable(
        &server,
        "edit.sh",
        "#!/bin/sh\nsed -i 's/color: blue/color: green/' \"$1\"\n",
    );
    let mut edit = server.kubectl_command(&["edit", "configmap", "settings", "-n", NS]);
    edit.env("EDITOR", &editor).env("KUBE_EDITOR", &editor);
    let out = support::run_with_timeout(edit, support::KUBECTL_TIMEOUT);
    assert!(
        out.status.is_some_and(|s| s.success()),
        "kubectl edit: {}",
        out.text()
    );
    assert!(
        out.text().contains("configmap/settings edited"),
        "{}",
        out.text()
    );
    assert_eq!(
        get(&server, &["configmap", "settings"])["data"]["color"],
        "green"
    );

    // label, annotate, scale.
    server.kubectl_ok(&["label", "deployment", "web", "-n", NS, "tier=frontend"]);
    server.kubectl_ok(&["annotate", "deployment", "web", "-n", NS, "owner=team-shop"]);
    let out = server.kubectl_ok(&["scale", "deployment", "web", "-n", NS, "--replicas=4"]);
    assert_eq!(out.trim(), "deployment.apps/web scaled");
    let web = get(&server, &["deployment", "web"]);
    assert_eq!(web["metadata"]["labels"]["tier"], "frontend");
    assert_eq!(web["metadata"]["annotations"]["owner"], "team-shop");
    assert_eq!(web["spec"]["replicas"], 4);

    // The three patch types.
    server.kubectl_ok(&[
        "patch",
        "configmap",
        "settings",
        "-n",
        NS,
        "--type=json",
        "-p",
        r#"[{"op":"add","path":"/data/shape","value":"round"}]"#,
    ]);
    server.kubectl_ok(&[
        "patch",
        "configmap",
        "settings",
        "-n",
        NS,
        "--type=merge",
        "-p",
        r#"{"data":{"size":null,"weight":"light"}}"#,
    ]);
    server.kubectl_ok(&[
        "patch", "deployment", "web", "-n", NS, "--type=strategic",
        "-p", r#"{"spec":{"template":{"spec":{"containers":[{"name":"web","env":[{"name":"REGION","value":"eu"}]}]}}}}"#,
    ]);
    let settings = get(&server, &["configmap", "settings"]);
    assert_eq!(settings["data"]["shape"], "round");
    assert_eq!(settings["data"]["weight"], "light");
    assert!(settings["data"].get("size").is_none(), "{settings}");
    let web = get(&server, &["deployment", "web"]);
    let env = &web["spec"]["template"]["spec"]["containers"][0]["env"];
    let names: Vec<&str> = env
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|e| e["name"].as_str())
        .collect();
    // kubectl patch sends no $setElementOrder, so upstream puts the new item first.
    assert_eq!(
        names,
        ["REGION", "MODE"],
        "strategic merge by name kept MODE: {env}"
    );

    server_side_apply_conflicts_then_forces(&server);

    // Deleting the file's objects completes, the namespace included (its controller
    // empties it and removes the finalizer; kubectl waits for that).
    let out = server.kubectl_ok(&["delete", "-f", path]);
    assert!(out.contains("namespace \"shop\" deleted"), "{out}");
    let err = server.kubectl_err(&["get", "namespace", NS]);
    assert!(err.contains("namespaces \"shop\" not found"), "{err}");

    // And `kubectl delete ns` of a namespace with content returns once it is gone.
    server.kubectl_ok(&["create", "namespace", "scratch"]);
    server.kubectl_ok(&[
        "create",
        "configmap",
        "leftover",
        "-n",
        "scratch",
        "--from-literal=a=b",
    ]);
    let out = server.kubectl_ok(&["delete", "namespace", "scratch"]);
    assert_eq!(out.trim(), "namespace \"scratch\" deleted");
    let err = server.kubectl_err(&["get", "configmap", "leftover", "-n", "scratch"]);
    assert!(err.contains("not found"), "{err}");
}

/// Server-side apply on an object kubectl applied client-side: kubectl migrates the
/// ownership, a second manager's different value conflicts naming the owner, and
/// --force-conflicts takes the field over.
fn server_side_apply_conflicts_then_forces(server: &Server) {
    let mine = server.scratch_file(
        "ssa-mine.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: limits\n  namespace: shop\ndata:\n  max: \"10\"\n",
    );
    let theirs = server.scratch_file(
        "ssa-theirs.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: limits\n  namespace: shop\ndata:\n  max: \"99\"\n",
    );
    let (mine, theirs) = (
        mine.to_str().unwrap_or_default(),
        theirs.to_str().unwrap_or_default(),
    );
    let out = server.kubectl_ok(&["apply", "--server-side", "--field-manager=ops", "-f", mine]);
    assert_eq!(out.trim(), "configmap/limits serverside-applied");

    let err = server.kubectl_err(&[
        "apply",
        "--server-side",
        "--field-manager=intruder",
        "-f",
        theirs,
    ]);
    assert!(
        err.contains("conflict with \"ops\""),
        "the conflict names the owner: {err}"
    );
    assert!(
        err.contains(".data.max"),
        "the conflict names the field: {err}"
    );
    assert_eq!(get(server, &["configmap", "limits"])["data"]["max"], "10");

    server.kubectl_ok(&[
        "apply",
        "--server-side",
        "--field-manager=intruder",
        "--force-conflicts",
        "-f",
        theirs,
    ]);
    let limits = get(server, &["configmap", "limits"]);
    assert_eq!(limits["data"]["max"], "99");
    let out = server.kubectl_ok(&[
        "get",
        "configmap",
        "limits",
        "-n",
        NS,
        "--show-managed-fields",
        "-o",
        "jsonpath={range .metadata.managedFields[*]}{.manager}={.operation};{end}",
    ]);
    assert!(out.contains("intruder=Apply"), "{out}");
}
