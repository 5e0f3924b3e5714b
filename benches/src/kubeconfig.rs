//! Reads the admin kubeconfig keelson writes on first start (kubeadm's admin.conf
//! shape: base64 PEM in `certificate-authority-data`, `client-certificate-data` and
//! `client-key-data`), following `current-context` when it is set.

use std::path::Path;

use anyhow::{anyhow, Context, Result};
use base64::Engine;
use serde_yaml_ng::Value;

/// The identity a client presents and the CA it trusts.
#[derive(Clone, Debug)]
pub struct Identity {
    pub server: String,
    pub ca_pem: Vec<u8>,
    pub cert_pem: Vec<u8>,
    pub key_pem: Vec<u8>,
}

/// Parses the kubeconfig at `path`.
pub fn load(path: &Path) -> Result<Identity> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    parse(&text).with_context(|| format!("parsing {}", path.display()))
}

fn parse(text: &str) -> Result<Identity> {
    let doc: Value = serde_yaml_ng::from_str(text)?;
    let context = named(&doc, "contexts", doc["current-context"].as_str())?;
    let cluster = named(&doc, "clusters", context["context"]["cluster"].as_str())?;
    let user = named(&doc, "users", context["context"]["user"].as_str())?;
    Ok(Identity {
        server: field(&cluster["cluster"], "server")?.to_string(),
        ca_pem: decoded(&cluster["cluster"], "certificate-authority-data")?,
        cert_pem: decoded(&user["user"], "client-certificate-data")?,
        key_pem: decoded(&user["user"], "client-key-data")?,
    })
}

/// The entry of list `list` called `name`, or its first entry when `name` is None.
fn named<'a>(doc: &'a Value, list: &str, name: Option<&str>) -> Result<&'a Value> {
    let items = doc[list]
        .as_sequence()
        .ok_or_else(|| anyhow!("no {list}"))?;
    let found = match name {
        Some(n) => items.iter().find(|i| i["name"].as_str() == Some(n)),
        None => items.first(),
    };
    found.ok_or_else(|| anyhow!("no entry {name:?} in {list}"))
}

fn field<'a>(v: &'a Value, key: &str) -> Result<&'a str> {
    v[key].as_str().ok_or_else(|| anyhow!("no {key}"))
}

fn decoded(v: &Value, key: &str) -> Result<Vec<u8>> {
    let b64: String = field(v, key)?.split_whitespace().collect();
    base64::engine::general_purpose::STANDARD
        .decode(b64)
        .with_context(|| format!("{key} is not base64"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_current_context_identity() {
        let text = "apiVersion: v1\nkind: Config\ncurrent-context: admin@k\n\
            clusters:\n- name: other\n  cluster: {server: 'https://x', certificate-authority-data: eA==}\n\
            - name: k\n  cluster:\n    server: https://127.0.0.1:6443\n    certificate-authority-data: Q0E=\n\
            contexts:\n- name: admin@k\n  context: {cluster: k, user: admin}\n\
            users:\n- name: admin\n  user:\n    client-certificate-data: Q0VSVA==\n    client-key-data: S0VZ\n";
        let id = parse(text).unwrap();
        assert_eq!(id.server, "https://127.0.0.1:6443");
        assert_eq!(
            (id.ca_pem, id.cert_pem, id.key_pem),
            (b"CA".to_vec(), b"CERT".to_vec(), b"KEY".to_vec())
        );
    }
}
