//! keelson's side of the load: an HTTPS client with the admin identity (mutual TLS,
//! the cluster CA as the only root) and the operations the driver runs with it.
//!
//! Each [`Api`] is its own connection pool held to one HTTP/1.1 keep-alive connection;
//! a closed-loop worker never has two requests in flight, so one client is one
//! connection, as one etcd client is one gRPC channel. Watchers use
//! [`Protocol::Http2`] instead (h2 chosen by ALPN, as client-go does), so that many
//! watches share one connection as streams.

use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use reqwest::{Certificate, Client, Identity as TlsIdentity, Method, Response, StatusCode};

use crate::driver::Op;
use crate::kubeconfig::Identity;

/// A client with one connection to one keelson.
#[derive(Clone)]
pub struct Api {
    http: Client,
    base: String,
}

/// How a client's connection speaks HTTP.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Protocol {
    /// HTTP/1.1 keep-alive, one request at a time: a closed-loop worker.
    Http1,
    /// HTTP/1.1 with no overall request timeout: one long-lived watch per connection.
    Http1Long,
    /// HTTP/2 offered by ALPN (h2, then http/1.1), no overall request timeout: many
    /// long-lived watches as streams of one connection.
    Http2,
}

// === impl Api ===

impl Api {
    /// A new client (and so a new connection) to `base`, e.g. `https://127.0.0.1:6443`.
    pub fn new(id: &Identity, base: &str) -> Result<Self> {
        Self::with_protocol(id, base, Protocol::Http1)
    }

    /// A new client to `base` speaking `protocol`.
    pub fn with_protocol(id: &Identity, base: &str, protocol: Protocol) -> Result<Self> {
        let mut pem = id.cert_pem.clone();
        pem.push(b'\n');
        pem.extend_from_slice(&id.key_pem);
        let builder = Client::builder()
            .use_rustls_tls()
            .tls_built_in_root_certs(false)
            .add_root_certificate(Certificate::from_pem(&id.ca_pem).context("cluster CA")?)
            .identity(TlsIdentity::from_pem(&pem).context("client certificate and key")?)
            .tcp_nodelay(true);
        let builder = match protocol {
            Protocol::Http1 => builder
                .http1_only()
                .pool_max_idle_per_host(1)
                .timeout(Duration::from_secs(60)),
            Protocol::Http1Long => builder
                .http1_only()
                .connect_timeout(Duration::from_secs(10)),
            Protocol::Http2 => builder.connect_timeout(Duration::from_secs(10)),
        };
        let http = builder.build().context("building the HTTPS client")?;
        Ok(Api {
            http,
            base: base.trim_end_matches('/').to_string(),
        })
    }

    /// Whether GET /readyz answers 200.
    pub async fn ready(&self) -> bool {
        match self
            .http
            .get(format!("{}/readyz", self.base))
            .timeout(Duration::from_secs(2))
            .send()
            .await
        {
            Ok(r) => r.status() == StatusCode::OK,
            Err(_) => false,
        }
    }

    /// The member list (`GET /keelson/v1/members`) this keelson reports, answered
    /// within 2 s.
    pub async fn members(&self) -> Result<serde_json::Value, String> {
        let req = self
            .http
            .get(format!("{}/keelson/v1/members", self.base))
            .header("accept", "application/json")
            .timeout(Duration::from_secs(2));
        let body = answer(req.send().await).await?;
        serde_json::from_slice(&body).map_err(|e| format!("member list is not JSON: {e}"))
    }

    /// Creates namespace `name`; one that exists already is fine.
    pub async fn create_namespace(&self, name: &str) -> Result<(), String> {
        let body =
            format!(r#"{{"apiVersion":"v1","kind":"Namespace","metadata":{{"name":"{name}"}}}}"#);
        match self.post("/api/v1/namespaces", body).await {
            Err(e) if e.starts_with("409 ") => Ok(()),
            r => r,
        }
    }

    /// Creates ConfigMap `ns`/`name` whose data holds `payload`.
    pub async fn create_configmap(
        &self,
        ns: &str,
        name: &str,
        payload: &str,
    ) -> Result<(), String> {
        self.create_configmap_rv(ns, name, payload).await.map(drop)
    }

    /// Creates ConfigMap `ns`/`name`; returns its resourceVersion.
    pub async fn create_configmap_rv(
        &self,
        ns: &str,
        name: &str,
        payload: &str,
    ) -> Result<String, String> {
        let body = format!(
            r#"{{"apiVersion":"v1","kind":"ConfigMap","metadata":{{"name":"{name}"}},"data":{{"payload":"{payload}"}}}}"#
        );
        let path = format!("/api/v1/namespaces/{ns}/configmaps");
        let body = self
            .send(
                Method::POST,
                &path,
                Some("application/json"),
                "application/json",
                Some(body),
            )
            .await?;
        resource_version(&body).ok_or_else(|| "the answer holds no resourceVersion".into())
    }

    /// Reads ConfigMap `ns`/`name`.
    pub async fn get_configmap(&self, ns: &str, name: &str) -> Result<(), String> {
        self.get(&format!("/api/v1/namespaces/{ns}/configmaps/{name}"))
            .await
            .map(drop)
    }

    /// Lists every ConfigMap in `ns` in one response; returns the body.
    pub async fn list_configmaps(&self, ns: &str) -> Result<Vec<u8>, String> {
        self.get(&format!("/api/v1/namespaces/{ns}/configmaps"))
            .await
    }

    /// Replaces ConfigMap `ns`/`name` with `payload` and `seq`, on the precondition that
    /// it is still at resourceVersion `rv`; returns the new resourceVersion.
    pub async fn update_configmap(
        &self,
        (ns, name): (&str, &str),
        rv: &str,
        payload: &str,
        seq: u64,
    ) -> Result<String, String> {
        // `seq` makes every update change the object: an update that changes nothing
        // is answered without a write, as upstream does.
        let body = format!(
            r#"{{"apiVersion":"v1","kind":"ConfigMap","metadata":{{"name":"{name}","resourceVersion":"{rv}"}},"data":{{"payload":"{payload}","seq":"{seq}"}}}}"#
        );
        let path = format!("/api/v1/namespaces/{ns}/configmaps/{name}");
        let body = self
            .send(
                Method::PUT,
                &path,
                Some("application/json"),
                "application/json",
                Some(body),
            )
            .await?;
        resource_version(&body).ok_or_else(|| "the answer holds no resourceVersion".into())
    }

    /// Any request: `accept` and, with a body, `content_type`; the body of a 2xx answer.
    pub async fn send(
        &self,
        method: Method,
        path: &str,
        content_type: Option<&str>,
        accept: &str,
        body: Option<String>,
    ) -> Result<Vec<u8>, String> {
        let mut req = self
            .http
            .request(method, format!("{}{path}", self.base))
            .header("accept", accept);
        if let Some(ct) = content_type {
            req = req.header("content-type", ct);
        }
        if let Some(b) = body {
            req = req.body(b);
        }
        answer(req.send().await).await
    }

    /// Opens a GET whose body is read as it comes (a watch); an error unless 200.
    pub async fn open_stream(&self, path: &str) -> Result<Response, String> {
        let resp = self
            .http
            .get(format!("{}{path}", self.base))
            .header("accept", "application/json")
            .send()
            .await
            .map_err(|e| format!("request failed: {}", chain(&e)))?;
        if resp.status() == StatusCode::OK {
            Ok(resp)
        } else {
            let status = resp.status().as_u16();
            let text = resp.text().await.unwrap_or_default();
            Err(format!("{status} {}", &text[..text.len().min(300)]))
        }
    }

    async fn post(&self, path: &str, body: String) -> Result<(), String> {
        let req = self
            .http
            .post(format!("{}{path}", self.base))
            .header("content-type", "application/json")
            .header("accept", "application/json")
            .body(body);
        answer(req.send().await).await.map(drop)
    }

    async fn get(&self, path: &str) -> Result<Vec<u8>, String> {
        let req = self
            .http
            .get(format!("{}{path}", self.base))
            .header("accept", "application/json");
        answer(req.send().await).await
    }
}

/// The first `"resourceVersion":"..."` in a JSON body: the object's (or a list's own)
/// without decoding the whole body, as the benchmark's client must stay cheap.
pub fn resource_version(body: &[u8]) -> Option<String> {
    string_field(body, "resourceVersion")
}

/// The value of the first `"name":"..."` string field in `body` (no escapes expected).
pub fn string_field(body: &[u8], name: &str) -> Option<String> {
    let marker = format!("\"{name}\":\"");
    let text = std::str::from_utf8(body).ok()?;
    let start = text.find(&marker)? + marker.len();
    let len = text[start..].find('"')?;
    Some(text[start..start + len].to_string())
}

/// The body of a 2xx answer; otherwise "CODE BODY" (the body cut short).
async fn answer(sent: reqwest::Result<reqwest::Response>) -> Result<Vec<u8>, String> {
    let resp = sent.map_err(|e| format!("request failed: {}", chain(&e)))?;
    let status = resp.status();
    let body = resp
        .bytes()
        .await
        .map_err(|e| format!("{status}: reading the body failed: {}", chain(&e)))?;
    if status.is_success() {
        Ok(body.to_vec())
    } else {
        let text = String::from_utf8_lossy(&body[..body.len().min(300)]).into_owned();
        Err(format!("{} {text}", status.as_u16()))
    }
}

/// An error with its sources, which is where reqwest says what went wrong.
fn chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut source = e.source();
    while let Some(inner) = source {
        s.push_str(": ");
        s.push_str(&inner.to_string());
        source = inner.source();
    }
    s
}

/// Creates ConfigMaps `<prefix><seq>` in one namespace.
pub struct CreateConfigMap {
    pub api: Api,
    pub namespace: String,
    pub prefix: String,
    pub payload: Arc<str>,
}

impl Op for CreateConfigMap {
    async fn run(&mut self, seq: u64) -> Result<(), String> {
        let name = format!("{}{seq:06}", self.prefix);
        self.api
            .create_configmap(&self.namespace, &name, &self.payload)
            .await
    }
}

/// Replaces its own ConfigMap again and again, each time with the resourceVersion the
/// previous answer gave as the precondition (so it never conflicts).
pub struct UpdateConfigMap {
    pub api: Api,
    pub namespace: String,
    pub name: String,
    pub rv: String,
    pub payload: Arc<str>,
}

impl Op for UpdateConfigMap {
    async fn run(&mut self, seq: u64) -> Result<(), String> {
        let rv = self
            .api
            .update_configmap((&self.namespace, &self.name), &self.rv, &self.payload, seq)
            .await?;
        if rv == self.rv {
            return Err(format!("the update left resourceVersion {rv}: no write"));
        }
        self.rv = rv;
        Ok(())
    }
}

/// Reads one ConfigMap again and again.
pub struct GetConfigMap {
    pub api: Api,
    pub namespace: String,
    pub name: String,
}

impl Op for GetConfigMap {
    async fn run(&mut self, _seq: u64) -> Result<(), String> {
        self.api.get_configmap(&self.namespace, &self.name).await
    }
}
