//! The harness's HTTPS client: the admin identity from the kubeconfig local-up.sh wrote,
//! one call per history operation, and the classification of every answer into an
//! [`Outcome`]. The classification is the part that matters: a write may only be counted
//! as failed when it certainly had no effect, everything doubtful is `Unknown`.

use std::path::Path;
use std::time::Duration;

use anyhow::{anyhow, bail, Context, Result};
use base64::Engine as _;
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::history::{Key, Outcome, Rv, Value as Written};

/// The namespace scenarios write and watch in (each scenario has its own cluster).
pub const DEFAULT_NAMESPACE: &str = "chaos";
/// Only objects with this name prefix belong to the workload.
pub const KEY_PREFIX: &str = "k-";
/// Longer than keelson's `--request-timeout 10s`, so keelson answers first.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(12);

#[derive(Clone)]
pub struct Client {
    namespace: String,
    http: reqwest::Client,
    /// Separate pool for watches: no request timeout, long-lived connections.
    streaming: reqwest::Client,
}

impl Client {
    pub fn from_kubeconfig(path: &Path) -> Result<Client> {
        let text =
            std::fs::read_to_string(path).with_context(|| format!("read {}", path.display()))?;
        let config: Value = serde_yaml_ng::from_str(&text)?;
        let field = |section: &str, name: &str| -> Result<Vec<u8>> {
            let encoded = config[section][0][section.trim_end_matches('s')][name]
                .as_str()
                .ok_or_else(|| anyhow!("kubeconfig has no {section}[0].{name}"))?;
            Ok(base64::engine::general_purpose::STANDARD.decode(encoded)?)
        };
        let ca = field("clusters", "certificate-authority-data")?;
        let mut identity = field("users", "client-certificate-data")?;
        identity.extend(field("users", "client-key-data")?);
        let build = |timeout: Option<Duration>| -> Result<reqwest::Client> {
            let mut builder = reqwest::Client::builder()
                .use_rustls_tls()
                .add_root_certificate(reqwest::Certificate::from_pem(&ca)?)
                .identity(reqwest::Identity::from_pem(&identity)?)
                .connect_timeout(Duration::from_secs(2))
                .pool_idle_timeout(Duration::from_secs(5));
            if let Some(timeout) = timeout {
                builder = builder.timeout(timeout);
            }
            Ok(builder.build()?)
        };
        Ok(Client {
            namespace: DEFAULT_NAMESPACE.to_string(),
            http: build(Some(REQUEST_TIMEOUT))?,
            streaming: build(None)?,
        })
    }

    /// The same client, working in `namespace`.
    pub fn in_namespace(mut self, namespace: &str) -> Client {
        self.namespace = namespace.to_string();
        self
    }

    pub fn namespace(&self) -> &str {
        &self.namespace
    }

    /// The `server` of the kubeconfig's first cluster.
    pub fn server_of(path: &Path) -> Result<String> {
        let config: Value = serde_yaml_ng::from_str(&std::fs::read_to_string(path)?)?;
        config["clusters"][0]["cluster"]["server"]
            .as_str()
            .map(|s| s.trim_end_matches('/').to_string())
            .ok_or_else(|| anyhow!("kubeconfig {} names no server", path.display()))
    }

    pub fn streaming(&self) -> &reqwest::Client {
        &self.streaming
    }

    pub async fn get_json(&self, base: &str, path: &str) -> Result<Value> {
        let resp = self
            .http
            .get(format!("{base}{path}"))
            .timeout(Duration::from_secs(3))
            .send()
            .await?;
        let status = resp.status();
        let body: Value = resp.json().await?;
        if !status.is_success() {
            bail!("GET {path}: {status}: {}", body["message"]);
        }
        Ok(body)
    }

    pub async fn ready(&self, base: &str) -> bool {
        match self
            .http
            .get(format!("{base}/readyz"))
            .timeout(Duration::from_secs(2))
            .send()
            .await
        {
            Ok(resp) => resp.status() == StatusCode::OK,
            Err(_) => false,
        }
    }

    /// Creates the scenario namespace (an existing one is fine).
    pub async fn ensure_namespace(&self, base: &str) -> Result<()> {
        let body =
            json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": self.namespace}});
        let resp = self
            .http
            .post(format!("{base}/api/v1/namespaces"))
            .json(&body)
            .send()
            .await?;
        match resp.status() {
            StatusCode::CREATED | StatusCode::CONFLICT => Ok(()),
            status => bail!("create namespace {}: {status}", self.namespace),
        }
    }

    /// A linearizable list of the workload's objects: key → (value, rv), and the list rv.
    pub async fn list(
        &self,
        base: &str,
        rv: Option<&str>,
    ) -> Result<(Vec<(Key, Written, Rv)>, Rv)> {
        let mut url = format!("{base}/api/v1/namespaces/{}/configmaps", self.namespace);
        if let Some(rv) = rv {
            url += &format!("?resourceVersion={rv}");
        }
        let resp = self.http.get(url).send().await?;
        let status = resp.status();
        let body: Value = resp.json().await?;
        if !status.is_success() {
            bail!("list: {status}: {}", body["message"]);
        }
        let list_rv = parse_rv(&body["metadata"]["resourceVersion"])?;
        let mut objects = Vec::new();
        for item in body["items"].as_array().into_iter().flatten() {
            if let Some((key, value, rv)) = workload_object(item) {
                objects.push((key, value, rv));
            }
        }
        Ok((objects, list_rv))
    }

    /// Creates a configmap outside the workload's keys (an existing one is fine).
    pub async fn create_named(&self, base: &str, name: &str) -> Result<()> {
        let url = format!("{base}/api/v1/namespaces/{}/configmaps", self.namespace);
        let body = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "namespace": self.namespace}});
        let resp = self.http.post(url).json(&body).send().await?;
        match resp.status() {
            StatusCode::CREATED | StatusCode::CONFLICT => Ok(()),
            status => bail!("create {name}: {status}"),
        }
    }

    pub async fn get(&self, base: &str, key: &str) -> Outcome {
        let url = format!(
            "{base}/api/v1/namespaces/{}/configmaps/{key}",
            self.namespace
        );
        let answer = self.http.get(url).send().await;
        classify(answer, Verb::Get).await
    }

    pub async fn create(&self, base: &str, key: &str, value: Written) -> Outcome {
        let url = format!("{base}/api/v1/namespaces/{}/configmaps", self.namespace);
        let body = configmap(&self.namespace, key, value, None);
        classify(self.http.post(url).json(&body).send().await, Verb::Create).await
    }

    pub async fn update(&self, base: &str, key: &str, expect_rv: Rv, value: Written) -> Outcome {
        let url = format!(
            "{base}/api/v1/namespaces/{}/configmaps/{key}",
            self.namespace
        );
        let body = configmap(&self.namespace, key, value, Some(expect_rv));
        classify(self.http.put(url).json(&body).send().await, Verb::Update).await
    }

    pub async fn delete(&self, base: &str, key: &str) -> Outcome {
        let url = format!(
            "{base}/api/v1/namespaces/{}/configmaps/{key}",
            self.namespace
        );
        classify(self.http.delete(url).send().await, Verb::Delete).await
    }
}

fn configmap(namespace: &str, key: &str, value: Written, rv: Option<Rv>) -> Value {
    let mut metadata = json!({"name": key, "namespace": namespace});
    if let Some(rv) = rv {
        metadata["resourceVersion"] = json!(rv.to_string());
    }
    json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": metadata, "data": {"v": value.to_string()}})
}

/// (key, value, rv) of a configmap the workload wrote; `None` for anything else.
pub fn workload_object(object: &Value) -> Option<(Key, Written, Rv)> {
    let name = object["metadata"]["name"].as_str()?;
    if !name.starts_with(KEY_PREFIX) {
        return None;
    }
    let value = object["data"]["v"].as_str()?.parse().ok()?;
    let rv = parse_rv(&object["metadata"]["resourceVersion"]).ok()?;
    Some((name.to_string(), value, rv))
}

pub fn parse_rv(value: &Value) -> Result<Rv> {
    value
        .as_str()
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| anyhow!("not a resourceVersion: {value}"))
}

#[derive(Clone, Copy, PartialEq)]
enum Verb {
    Get,
    Create,
    Update,
    Delete,
}

async fn classify(answer: reqwest::Result<reqwest::Response>, verb: Verb) -> Outcome {
    let resp = match answer {
        Ok(resp) => resp,
        // Refused or unroutable before anything was sent: certainly no effect.
        Err(e) if e.is_connect() => {
            return Outcome::Failed {
                reason: format!("connect: {e}"),
            }
        }
        Err(e) => {
            return Outcome::Unknown {
                reason: error_chain(&e),
            }
        }
    };
    let status = resp.status();
    let body: Value = match resp.json().await {
        Ok(body) => body,
        Err(e) => {
            return Outcome::Unknown {
                reason: format!("{status}, body cut: {e}"),
            }
        }
    };
    let message = body["message"].as_str().unwrap_or_default().to_string();
    match (status.as_u16(), verb) {
        (200, Verb::Get) => match workload_object(&body) {
            Some((_, value, rv)) => Outcome::Found { value, rv },
            None => Outcome::Unknown {
                reason: "200 without a workload object".into(),
            },
        },
        (200 | 201, Verb::Create | Verb::Update) => {
            match parse_rv(&body["metadata"]["resourceVersion"]) {
                Ok(rv) => Outcome::Written { rv },
                Err(e) => Outcome::Unknown {
                    reason: format!("{status}: {e}"),
                },
            }
        }
        (200 | 202, Verb::Delete) => Outcome::Deleted,
        // A create has nothing to find: a 404 means the namespace is missing.
        (404, Verb::Create) => Outcome::Failed {
            reason: format!("404: {message}"),
        },
        (404, _) => Outcome::NotFound,
        (409, Verb::Create) if body["reason"] == "AlreadyExists" => Outcome::AlreadyExists,
        (409, Verb::Update) if body["reason"] == "Conflict" => Outcome::Conflict,
        // keelson says "no Raft leader" only when nothing was proposed.
        (503, _) if message.contains("no Raft leader") => Outcome::Failed {
            reason: format!("503: {message}"),
        },
        _ => Outcome::Unknown {
            reason: format!("{status}: {message}"),
        },
    }
}

fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(inner) = source {
        text += &format!(": {inner}");
        source = inner.source();
    }
    text
}
