//! Issue #3's figures, keelson only (etcd has nothing to compare with): at
//! `deployment_clients` closed-loop clients on one node, each with its own ~5 KiB
//! Deployment, the throughput and latency of
//! - GET as a Table (kubectl get's Accept header),
//! - a plain GET,
//! - a strategic merge PATCH changing one label or one env value, alternately,
//! - a PUT of the whole object with its resourceVersion, changing one label,
//! - server-side apply (PATCH application/apply-patch+yaml, fieldManager=bench,
//!   force=true) of the whole object with one label changed.
//!
//! A verb the server does not serve yet (415 for apply while it is being built) is
//! probed once before its point: its row shows "–" and a note says why.

use anyhow::Result;
use reqwest::Method;
use serde_json::{json, Value};

use super::Settings;
use crate::driver::{self, Op, Stats};
use crate::keelson_api::{resource_version, Api};
use crate::keelson_node::KeelsonNode;
use crate::report::Report;

const NS: &str = "bench-deploy";
/// The object's size as JSON, padded with an annotation.
const OBJECT_BYTES: usize = 5 * 1024;
const TABLE: &str = "application/json;as=Table;v=v1;g=meta.k8s.io";
const JSON: &str = "application/json";
const SMP: &str = "application/strategic-merge-patch+json";
const APPLY: &str = "application/apply-patch+yaml";

/// The requests a client can make on its Deployment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Verb {
    GetTable,
    Get,
    StrategicPatch,
    Put,
    Apply,
}

impl Verb {
    fn figure(self) -> &'static str {
        match self {
            Verb::GetTable => "GET one 5 KiB Deployment as a Table (kubectl get)",
            Verb::Get => "GET one 5 KiB Deployment",
            Verb::StrategicPatch => "strategic merge PATCH (one label or env value)",
            Verb::Put => "PUT update with resourceVersion (one label)",
            Verb::Apply => "server-side apply (force, fieldManager=bench)",
        }
    }
}

/// One client and its own Deployment.
struct DeploymentOp {
    api: Api,
    name: String,
    verb: Verb,
    object: Value,
    rv: String,
}

impl DeploymentOp {
    fn path(&self) -> String {
        format!("/apis/apps/v1/namespaces/{NS}/deployments/{}", self.name)
    }

    /// The whole object with label bench-seq = `seq` (and the last resourceVersion).
    fn whole(&mut self, seq: u64, with_rv: bool) -> String {
        self.object["metadata"]["labels"]["bench-seq"] = json!(seq.to_string());
        if let Some(meta) = self.object["metadata"].as_object_mut() {
            if with_rv {
                meta.insert("resourceVersion".into(), json!(self.rv));
            } else {
                meta.remove("resourceVersion");
            }
        }
        self.object.to_string()
    }
}

impl Op for DeploymentOp {
    async fn run(&mut self, seq: u64) -> Result<(), String> {
        let path = self.path();
        let (method, path, ct, accept, body) = match self.verb {
            Verb::GetTable => (Method::GET, path, None, TABLE, None),
            Verb::Get => (Method::GET, path, None, JSON, None),
            Verb::StrategicPatch => (Method::PATCH, path, Some(SMP), JSON, Some(smp(seq))),
            Verb::Put => {
                let body = self.whole(seq, true);
                (Method::PUT, path, Some(JSON), JSON, Some(body))
            }
            Verb::Apply => {
                let body = self.whole(seq, false);
                let path = format!("{path}?fieldManager=bench&force=true");
                (Method::PATCH, path, Some(APPLY), JSON, Some(body))
            }
        };
        let answer = self.api.send(method, &path, ct, accept, body).await?;
        if self.verb == Verb::Put {
            self.rv = resource_version(&answer).ok_or("the answer holds no resourceVersion")?;
        }
        Ok(())
    }
}

/// A strategic merge patch: label bench-seq on even `seq`, env SEQ on odd.
fn smp(seq: u64) -> String {
    if seq.is_multiple_of(2) {
        json!({"metadata": {"labels": {"bench-seq": seq.to_string()}}}).to_string()
    } else {
        json!({"spec": {"template": {"spec": {"containers": [
            {"name": "app", "env": [{"name": "SEQ", "value": seq.to_string()}]}
        ]}}}})
        .to_string()
    }
}

/// A Deployment of about `OBJECT_BYTES` as JSON: two containers with env, ports,
/// resources and probes, padded with an annotation.
fn deployment(name: &str) -> Value {
    let env: Vec<Value> = (0..12)
        .map(|i| json!({"name": format!("SETTING_{i}"), "value": format!("value-{i}-of-the-app")}))
        .chain([json!({"name": "SEQ", "value": "0"})])
        .collect();
    let container = |n: &str, image: &str| {
        json!({
            "name": n, "image": image, "env": env,
            "ports": [{"name": "http", "containerPort": 8080, "protocol": "TCP"}],
            "resources": {"requests": {"cpu": "100m", "memory": "128Mi"},
                          "limits": {"cpu": "1", "memory": "512Mi"}},
            "readinessProbe": {"httpGet": {"path": "/readyz", "port": 8080}, "periodSeconds": 5},
            "livenessProbe": {"httpGet": {"path": "/livez", "port": 8080}, "periodSeconds": 10}
        })
    };
    let mut d = json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": name, "namespace": NS,
                     "labels": {"app": name, "bench-seq": "0"},
                     "annotations": {"bench/padding": ""}},
        "spec": {
            "replicas": 3,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {"containers": [
                    container("app", "registry.example/app:1.0"),
                    container("sidecar", "registry.example/sidecar:1.0")
                ]}
            }
        }
    });
    let pad = OBJECT_BYTES.saturating_sub(d.to_string().len());
    d["metadata"]["annotations"]["bench/padding"] = json!("p".repeat(pad));
    d
}

/// Measures every verb; fills the keelson-only table.
pub(super) async fn run(s: &Settings, keelson: &KeelsonNode, report: &mut Report) -> Result<()> {
    let api = keelson.client()?;
    if let Err(e) = api.create_namespace(NS).await {
        report.note(format!(
            "Deployment figures: creating namespace {NS}: `{e}`"
        ));
        return Ok(());
    }
    let mut clients = Vec::new();
    for j in 0..s.deployment_clients {
        let api = keelson.client()?;
        let name = format!("bench-{j}");
        let object = deployment(&name);
        let path = format!("/apis/apps/v1/namespaces/{NS}/deployments");
        match api
            .send(
                Method::POST,
                &path,
                Some(JSON),
                JSON,
                Some(object.to_string()),
            )
            .await
        {
            Ok(body) => {
                let rv = resource_version(&body).unwrap_or_default();
                clients.push((api, name, object, rv));
            }
            Err(e) => {
                report.note(format!("Deployment figures: creating {name}: `{e}`"));
                return Ok(());
            }
        }
    }
    for verb in [
        Verb::GetTable,
        Verb::Get,
        Verb::StrategicPatch,
        Verb::Put,
        Verb::Apply,
    ] {
        let mut ops: Vec<DeploymentOp> = clients
            .iter()
            .map(|(api, name, object, rv)| DeploymentOp {
                api: api.clone(),
                name: name.clone(),
                verb,
                object: object.clone(),
                rv: rv.clone(),
            })
            .collect();
        let what = format!("{}, {} clients", verb.figure(), ops.len());
        if let Err(e) = ops[0].run(0).await {
            report.solo(&what, &Stats::default());
            let why = if e.starts_with("415 ") {
                "not served on this build (415 Unsupported Media Type)"
            } else {
                "its first request failed"
            };
            report.note(format!("{what}: {why}, so no figure: `{}`", first_line(&e)));
            continue;
        }
        let stats = driver::run(&format!("deployments {verb:?}"), ops, s.timed()).await;
        report.errors(&what, "keelson", &stats);
        report.solo(&what, &stats);
        // The next verb's clients start from the resourceVersion this one left.
        for (api, name, _, rv) in &mut clients {
            let path = format!("/apis/apps/v1/namespaces/{NS}/deployments/{name}");
            if let Ok(body) = api.send(Method::GET, &path, None, JSON, None).await {
                *rv = resource_version(&body).unwrap_or_default();
            }
        }
    }
    Ok(())
}

fn first_line(e: &str) -> String {
    e.lines().next().unwrap_or("").chars().take(200).collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_deployment_is_five_kib() {
        let d = super::deployment("bench-0").to_string();
        assert!((5 * 1024..5 * 1024 + 64).contains(&d.len()), "{}", d.len());
    }
}
