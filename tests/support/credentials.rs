//! The admin credentials from the kubeconfig the server writes: the cluster CA and the
//! admin client certificate and key, given inline (`*-data`) or as file paths. Building
//! the HTTPS client here refuses any server that is not on loopback.

use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use serde_json::Value;

/// An error unless the URL's host is 127.0.0.1 or localhost.
pub(super) fn assert_loopback_url(url: &str) -> Result<(), String> {
    let rest = url
        .strip_prefix("https://")
        .ok_or_else(|| format!("server {url} is not https"))?;
    let host = rest.split(['/', ':']).next().unwrap_or_default();
    if host == "127.0.0.1" || host == "localhost" {
        Ok(())
    } else {
        Err(format!(
            "server {url} is not on loopback; refusing to contact it"
        ))
    }
}

// === impl AdminCredentials ===

/// The CA and the admin identity from a kubeconfig, as PEM.
pub(super) struct AdminCredentials {
    ca_pem: Vec<u8>,
    cert_pem: Vec<u8>,
    key_pem: Vec<u8>,
}

impl AdminCredentials {
    /// Reads the current context's cluster and user; checks the server is `listen`.
    pub(super) fn read(path: &Path, listen: SocketAddr) -> Result<Self, String> {
        let text =
            std::fs::read_to_string(path).map_err(|e| format!("read {}: {e}", path.display()))?;
        let kc: Value =
            serde_yaml_ng::from_str(&text).map_err(|e| format!("parse kubeconfig: {e}"))?;
        let current = kc["current-context"].as_str().unwrap_or_default();
        let named = |list: &str, name: &str| -> Option<Value> {
            let items = kc[list].as_array()?;
            items
                .iter()
                .find(|i| name.is_empty() || i["name"] == name)
                .or(items.first())
                .cloned()
        };
        let context = named("contexts", current)
            .map(|c| c["context"].clone())
            .unwrap_or(Value::Null);
        let cluster = named("clusters", context["cluster"].as_str().unwrap_or_default())
            .ok_or("kubeconfig has no cluster")?["cluster"]
            .clone();
        let user = named("users", context["user"].as_str().unwrap_or_default())
            .ok_or("kubeconfig has no user")?["user"]
            .clone();
        let server = cluster["server"].as_str().ok_or("cluster has no server")?;
        assert_loopback_url(server)?;
        if !server.ends_with(&format!(":{}", listen.port()))
            && !server.contains(&format!(":{}/", listen.port()))
        {
            return Err(format!(
                "kubeconfig server {server} is not the --listen address {listen}"
            ));
        }
        let base = path.parent().unwrap_or(Path::new("."));
        Ok(AdminCredentials {
            ca_pem: pem_field(&cluster, "certificate-authority", base)?,
            cert_pem: pem_field(&user, "client-certificate", base)?,
            key_pem: pem_field(&user, "client-key", base)?,
        })
    }

    pub(super) fn client(&self) -> Result<reqwest::Client, String> {
        let ca = reqwest::Certificate::from_pem(&self.ca_pem).map_err(|e| format!("CA: {e}"))?;
        let mut identity_pem = self.cert_pem.clone();
        identity_pem.push(b'\n');
        identity_pem.extend_from_slice(&self.key_pem);
        let identity =
            reqwest::Identity::from_pem(&identity_pem).map_err(|e| format!("identity: {e}"))?;
        reqwest::Client::builder()
            .add_root_certificate(ca)
            .tls_built_in_root_certs(false)
            .identity(identity)
            .https_only(true)
            .no_proxy()
            .connect_timeout(Duration::from_secs(5))
            .build()
            .map_err(|e| format!("build HTTPS client: {e}"))
    }
}

/// A kubeconfig PEM value given either inline (`<field>-data`, base64) or as a file path.
fn pem_field(section: &Value, field: &str, base: &Path) -> Result<Vec<u8>, String> {
    use base64::Engine as _;
    if let Some(data) = section[format!("{field}-data")].as_str() {
        return base64::engine::general_purpose::STANDARD
            .decode(data.trim())
            .map_err(|e| format!("{field}-data is not base64: {e}"));
    }
    if let Some(file) = section[field].as_str() {
        let p = base.join(file);
        return std::fs::read(&p).map_err(|e| format!("read {}: {e}", p.display()));
    }
    Err(format!("kubeconfig has neither {field}-data nor {field}"))
}
