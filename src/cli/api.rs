//! A minimal API client for the admin subcommands: reads the server URL, CA and client
//! certificate from a kubeconfig (its current context) and calls keelson over HTTPS.

use std::path::{Path, PathBuf};

use anyhow::{anyhow, Context as _};
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use serde_json::Value;

pub struct ApiClient {
    http: reqwest::Client,
    server: String,
}

/// `--kubeconfig`, else `$KUBECONFIG`, else `./keelson-data/admin.kubeconfig`.
pub fn kubeconfig_path(given: Option<PathBuf>) -> PathBuf {
    given
        .or_else(|| std::env::var_os("KUBECONFIG").map(PathBuf::from))
        .unwrap_or_else(|| PathBuf::from("./keelson-data/admin.kubeconfig"))
}

fn named<'a>(
    config: &'a serde_yaml_ng::Value,
    list: &str,
    name: &str,
) -> Option<&'a serde_yaml_ng::Value> {
    config
        .get(list)?
        .as_sequence()?
        .iter()
        .find(|item| item.get("name").and_then(|n| n.as_str()) == Some(name))
}

fn field(value: Option<&serde_yaml_ng::Value>, key: &str) -> Option<String> {
    value?.get(key)?.as_str().map(str::to_string)
}

fn decoded(value: Option<&serde_yaml_ng::Value>, key: &str) -> anyhow::Result<Vec<u8>> {
    let text = field(value, key).ok_or_else(|| anyhow!("the kubeconfig has no {key}"))?;
    STANDARD
        .decode(text.trim())
        .with_context(|| format!("{key} is not base64"))
}

impl ApiClient {
    pub fn from_kubeconfig(path: &Path) -> anyhow::Result<Self> {
        let text = std::fs::read_to_string(path).with_context(|| {
            format!(
                "reading kubeconfig {} (pass --kubeconfig or set KUBECONFIG)",
                path.display()
            )
        })?;
        let config: serde_yaml_ng::Value =
            serde_yaml_ng::from_str(&text).context("parsing the kubeconfig")?;
        let context_name = config
            .get("current-context")
            .and_then(|c| c.as_str())
            .ok_or_else(|| anyhow!("the kubeconfig has no current-context"))?;
        let context = named(&config, "contexts", context_name).and_then(|c| c.get("context"));
        let cluster_name = field(context, "cluster").unwrap_or_default();
        let user_name = field(context, "user").unwrap_or_default();
        let cluster = named(&config, "clusters", &cluster_name).and_then(|c| c.get("cluster"));
        let user = named(&config, "users", &user_name).and_then(|u| u.get("user"));
        let server =
            field(cluster, "server").ok_or_else(|| anyhow!("the kubeconfig has no server"))?;
        let ca = decoded(cluster, "certificate-authority-data")?;
        let mut identity = decoded(user, "client-certificate-data")?;
        identity.extend(decoded(user, "client-key-data")?);
        let http = reqwest::Client::builder()
            .tls_built_in_root_certs(false)
            .add_root_certificate(
                reqwest::Certificate::from_pem(&ca).context("the kubeconfig's CA")?,
            )
            .identity(
                reqwest::Identity::from_pem(&identity)
                    .context("the kubeconfig's client certificate")?,
            )
            .build()?;
        Ok(Self {
            http,
            server: server.trim_end_matches('/').to_string(),
        })
    }

    /// Sends `method path` with an optional JSON body; a non-2xx answer becomes an error
    /// carrying the Status message.
    pub async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> anyhow::Result<Value> {
        let url = format!("{}{path}", self.server);
        let mut request = self.http.request(method, &url);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request
            .send()
            .await
            .with_context(|| format!("calling {url}"))?;
        let status = response.status();
        let value: Value = response.json().await.unwrap_or(Value::Null);
        if !status.is_success() {
            let message = value
                .get("message")
                .and_then(|m| m.as_str())
                .unwrap_or("no message");
            anyhow::bail!("{url}: HTTP {status}: {message}");
        }
        Ok(value)
    }
}

impl ApiClient {
    /// GETs `path` and returns the body bytes; a non-2xx answer becomes an error.
    pub async fn download(&self, path: &str) -> anyhow::Result<bytes::Bytes> {
        let url = format!("{}{path}", self.server);
        let response = self
            .http
            .get(&url)
            .send()
            .await
            .with_context(|| format!("calling {url}"))?;
        let status = response.status();
        let bytes = response.bytes().await?;
        if !status.is_success() {
            let message = serde_json::from_slice::<Value>(&bytes)
                .ok()
                .and_then(|v| {
                    v.get("message")
                        .and_then(|m| m.as_str())
                        .map(str::to_string)
                })
                .unwrap_or_else(|| String::from_utf8_lossy(&bytes).into_owned());
            anyhow::bail!("{url}: HTTP {status}: {message}");
        }
        Ok(bytes)
    }
}
