//! The admin kubeconfig, in the shape of kubeadm's admin.conf: one cluster ("keelson"),
//! one user ("kubernetes-admin") with the admin client certificate inline, one context,
//! selected. It is rewritten only when its content would change (a new server URL, CA
//! or admin certificate), atomically and with mode 0600 since it carries a private key.

use std::path::Path;

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use serde::Serialize;

use super::authority::Issued;
use super::files::{self, PRIVATE};
use super::PkiError;

const CLUSTER: &str = "keelson";
const USER: &str = "kubernetes-admin";
const CONTEXT: &str = "kubernetes-admin@keelson";

// Fields are declared in the order kubectl and kubeadm write them (alphabetical).
#[derive(Serialize)]
#[serde(rename_all = "kebab-case")]
struct Config<'a> {
    #[serde(rename = "apiVersion")]
    api_version: &'static str,
    clusters: Vec<NamedCluster<'a>>,
    contexts: Vec<NamedContext>,
    current_context: &'static str,
    kind: &'static str,
    preferences: Preferences,
    users: Vec<NamedUser>,
}

#[derive(Serialize)]
struct NamedCluster<'a> {
    cluster: Cluster<'a>,
    name: &'static str,
}

#[derive(Serialize)]
#[serde(rename_all = "kebab-case")]
struct Cluster<'a> {
    certificate_authority_data: String,
    server: &'a str,
}

#[derive(Serialize)]
struct NamedContext {
    context: Context,
    name: &'static str,
}

#[derive(Serialize)]
struct Context {
    cluster: &'static str,
    user: &'static str,
}

#[derive(Serialize)]
struct Preferences {}

#[derive(Serialize)]
struct NamedUser {
    name: &'static str,
    user: User,
}

#[derive(Serialize)]
#[serde(rename_all = "kebab-case")]
struct User {
    client_certificate_data: String,
    client_key_data: String,
}

/// Renders the kubeconfig text for `server_url`, the CA and the admin certificate.
pub(super) fn render(server_url: &str, ca_pem: &str, admin: &Issued) -> Result<String, PkiError> {
    let config = Config {
        api_version: "v1",
        clusters: vec![NamedCluster {
            cluster: Cluster {
                certificate_authority_data: STANDARD.encode(ca_pem),
                server: server_url,
            },
            name: CLUSTER,
        }],
        contexts: vec![NamedContext {
            context: Context {
                cluster: CLUSTER,
                user: USER,
            },
            name: CONTEXT,
        }],
        current_context: CONTEXT,
        kind: "Config",
        preferences: Preferences {},
        users: vec![NamedUser {
            name: USER,
            user: User {
                client_certificate_data: STANDARD.encode(&admin.cert_pem),
                client_key_data: STANDARD.encode(&admin.key_pem),
            },
        }],
    };
    Ok(serde_yaml_ng::to_string(&config)?)
}

/// Writes `contents` to `path` unless the file already holds exactly that.
pub(super) fn write_if_changed(path: &Path, contents: &str) -> Result<(), PkiError> {
    // An unreadable old file is simply replaced.
    let current = files::read_optional(path).unwrap_or(None);
    if current.as_deref() == Some(contents) {
        return Ok(());
    }
    tracing::info!(path = %path.display(), "writing the admin kubeconfig");
    files::write_atomic(path, contents.as_bytes(), PRIVATE)
}
