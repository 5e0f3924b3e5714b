//! OpenAPI acceptance: with /openapi/v3 served, kubectl validates on the server (it finds
//! `fieldValidation` on each kind's PATCH operation), so `kubectl apply -f` and
//! `kubectl create -f` need no --validate flag, an unknown field fails as against
//! kube-apiserver, and `kubectl explain` prints upstream's schemas. Over raw HTTPS: the
//! v3 index's hashes, ETags, `?hash=` caching and redirects, and /openapi/v2 in JSON.

mod support;

use reqwest::header;
use reqwest::StatusCode;
use serde_json::Value;
use support::Server;

const MANIFESTS: &str = "\
apiVersion: v1
kind: ConfigMap
metadata:
  name: settings
data:
  mode: fast
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: 2
  selector:
    matchLabels: {app: web}
  strategy:
    type: RollingUpdate
    rollingUpdate: {maxSurge: 1, maxUnavailable: 25%}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - name: web
        image: nginx:1.27
        resources:
          limits: {cpu: 500m, memory: 128Mi}
---
apiVersion: v1
kind: Service
metadata:
  name: web
spec:
  selector: {app: web}
  ports:
  - port: 80
    targetPort: 8080
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata:
  name: reader
rules:
- apiGroups: [\"\"]
  resources: [configmaps]
  verbs: [get, list]
";

const UNKNOWN_FIELD: &str = "\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: typo
spec:
  foo: 1
  selector:
    matchLabels: {app: typo}
  template:
    metadata:
      labels: {app: typo}
    spec:
      containers:
      - name: web
        image: nginx
";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn apply_and_create_need_no_validate_flag_and_unknown_fields_fail_strictly() {
    let server = Server::start().await;
    let manifests = server.scratch_file("all.yaml", MANIFESTS);
    let manifests = manifests.to_str().expect("UTF-8 path");

    let out = server.kubectl_ok(&["apply", "-f", manifests]);
    for line in [
        "configmap/settings created",
        "deployment.apps/web created",
        "service/web created",
        "role.rbac.authorization.k8s.io/reader created",
    ] {
        assert!(out.contains(line), "{line:?} missing from: {out}");
    }
    // Applying again is a no-op, not an error.
    let out = server.kubectl_ok(&["apply", "-f", manifests]);
    assert!(out.contains("configmap/settings unchanged"), "{out}");

    server.kubectl_ok(&["delete", "-f", manifests]);
    let out = server.kubectl_ok(&["create", "-f", manifests]);
    assert!(out.contains("deployment.apps/web created"), "{out}");
    let replicas = server.kubectl_ok(&[
        "get",
        "deployment",
        "web",
        "-o",
        "jsonpath={.spec.replicas}",
    ]);
    assert_eq!(replicas.trim(), "2");

    let typo = server.scratch_file("typo.yaml", UNKNOWN_FIELD);
    let typo = typo.to_str().expect("UTF-8 path");
    for verb in ["apply", "create"] {
        let err = server.kubectl_err(&[verb, "-f", typo]);
        assert!(
            err.contains("Error from server (BadRequest)")
                && err.contains("Deployment in version \"v1\" cannot be handled as a Deployment: strict decoding error: unknown field \"spec.foo\""),
            "kubectl {verb}: {err}"
        );
    }
    let missing = server.kubectl(&["get", "deployment", "typo"]);
    assert!(
        !missing.status.success(),
        "the refused object must not exist"
    );

    server.kubectl_ok(&["apply", "--validate=false", "-f", typo]);
    let spec = server.kubectl_ok(&["get", "deployment", "typo", "-o", "jsonpath={.spec}"]);
    let spec: Value = serde_json::from_str(&spec).expect("spec is JSON");
    assert!(
        spec.get("foo").is_none(),
        "the unknown field is dropped: {spec}"
    );
    assert_eq!(spec["selector"]["matchLabels"]["app"], "typo");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn explain_prints_upstreams_schemas() {
    let server = Server::start().await;

    let out = server.kubectl_ok(&["explain", "deployment.spec.strategy"]);
    for want in [
        "GROUP:      apps\n",
        "KIND:       Deployment\n",
        "VERSION:    v1\n",
        "FIELD: strategy <DeploymentStrategy>",
        "DeploymentStrategy describes how to replace existing pods with new ones.",
        "  rollingUpdate\t<RollingUpdateDeployment>",
        "  type\t<string>",
    ] {
        assert!(out.contains(want), "{want:?} missing from:\n{out}");
    }

    let out = server.kubectl_ok(&["explain", "pod", "--recursive"]);
    assert!(
        out.starts_with("KIND:       Pod\nVERSION:    v1\n"),
        "{out}"
    );
    assert!(
        !out.contains("GROUP:"),
        "the core group has no GROUP line:\n{out}"
    );
    for want in [
        "  metadata\t<ObjectMeta>",
        "    containers\t<[]Container> -required-",
        "      name\t<string> -required-",
        "        limits\t<map[string]Quantity>",
        "    restartPolicy\t<string>",
    ] {
        assert!(out.contains(want), "{want:?} missing from pod --recursive");
    }

    let out = server.kubectl_ok(&["explain", "pod.spec.containers", "--recursive"]);
    for want in [
        "FIELD: containers <[]Container>",
        "  image\t<string>",
        "  ports\t<[]ContainerPort>",
        "    containerPort\t<integer> -required-",
        "  env\t<[]EnvVar>",
    ] {
        assert!(out.contains(want), "{want:?} missing from:\n{out}");
    }

    let out = server.kubectl_ok(&["explain", "deployment.spec.strategy.rollingUpdate.maxSurge"]);
    assert!(out.contains("FIELD: maxSurge <IntOrString>"), "{out}");

    let err = server.kubectl_err(&["explain", "deployment.spec.nosuchfield"]);
    assert!(
        err.contains("field \"nosuchfield\" does not exist"),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn v3_index_hashes_etags_and_v2_over_https() {
    let server = Server::start().await;
    let http = server.http();
    let get = |path: &str| http.get(server.url(path));

    let index = get("/openapi/v3").send().await.expect("GET /openapi/v3");
    assert_eq!(index.status(), StatusCode::OK);
    let index_etag = header_of(&index, header::ETAG);
    let index: Value = index.json().await.expect("index is JSON");
    let url = index["paths"]["apis/apps/v1"]["serverRelativeURL"]
        .as_str()
        .expect("apps/v1 listed")
        .to_string();
    for key in [
        "api/v1",
        "apis/batch/v1",
        "apis/rbac.authorization.k8s.io/v1",
    ] {
        assert!(
            index["paths"][key]["serverRelativeURL"].is_string(),
            "{key}: {index}"
        );
    }
    let hash = url.split_once("?hash=").expect("hash in URL").1.to_string();
    assert!(!hash.is_empty());

    let again = get("/openapi/v3")
        .header(header::IF_NONE_MATCH, &index_etag)
        .send()
        .await
        .expect("conditional GET");
    assert_eq!(again.status(), StatusCode::NOT_MODIFIED);

    let doc = get(&url).send().await.expect("GET apps/v1");
    assert_eq!(doc.status(), StatusCode::OK);
    assert_eq!(header_of(&doc, header::ETAG), format!("\"{hash}\""));
    assert_eq!(header_of(&doc, header::CACHE_CONTROL), "public, immutable");
    assert!(!header_of(&doc, header::EXPIRES).is_empty());
    let doc: Value = doc.json().await.expect("document is JSON");
    assert_eq!(doc["openapi"], "3.0.0");
    let patch = &doc["paths"]["/apis/apps/v1/namespaces/{namespace}/deployments/{name}"]["patch"];
    assert_eq!(patch["operationId"], "patchAppsV1NamespacedDeployment");
    assert!(doc["components"]["schemas"]["io.k8s.api.apps.v1.Deployment"].is_object());

    // Without ?hash= the document is served but not marked immutable.
    let plain = get("/openapi/v3/apis/apps/v1").send().await.expect("GET");
    assert_eq!(plain.status(), StatusCode::OK);
    assert!(plain.headers().get(header::CACHE_CONTROL).is_none());

    // A stale hash is redirected to the current one.
    let stale = get("/openapi/v3/apis/apps/v1?hash=0000")
        .send()
        .await
        .expect("GET");
    assert_eq!(
        stale.status(),
        StatusCode::OK,
        "reqwest follows the redirect"
    );
    assert_eq!(stale.url().as_str(), server.url(&url));

    let missing = get("/openapi/v3/apis/nosuch.example.com/v1")
        .send()
        .await
        .expect("GET");
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);

    let v2 = get("/openapi/v2").send().await.expect("GET /openapi/v2");
    assert_eq!(v2.status(), StatusCode::OK);
    let v2: Value = v2.json().await.expect("v2 is JSON");
    assert_eq!(v2["swagger"], "2.0");
    let containers = &v2["definitions"]["io.k8s.api.core.v1.PodSpec"]["properties"]["containers"];
    assert_eq!(containers["x-kubernetes-patch-merge-key"], "name");
    let proto = get("/openapi/v2")
        .header(
            header::ACCEPT,
            "application/com.github.proto-openapi.spec.v2@v1.0+protobuf",
        )
        .send()
        .await
        .expect("GET /openapi/v2 as protobuf");
    assert_eq!(proto.status(), StatusCode::NOT_ACCEPTABLE);
}

fn header_of(resp: &reqwest::Response, name: header::HeaderName) -> String {
    resp.headers()
        .get(&name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string()
}
