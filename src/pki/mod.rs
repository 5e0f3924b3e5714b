//! The cluster PKI: a CA, the API server's serving certificate, the peer certificate of
//! the replica protocol and the admin client certificate, kept under `<data_dir>/pki/`, plus `<data_dir>/admin.kubeconfig` for
//! kubectl. [`Pki::load_or_create`] runs once at start-up, before the API port opens: the
//! first start creates everything (TLS is the only transport, so there must always be a
//! certificate), later starts reuse it and repair only what is missing or no longer
//! fits. Authentication reads client certificates back through [`subject_of`].
//! Replicas of one cluster share its CA: [`init_authority`] creates it alone, and an
//! operator copies `pki/ca.crt` and `pki/ca.key` to the other replicas before their first
//! start (docs/operations.md).
//!
//! Files: `authority` (the CA), `leaf` (serving and admin certificates), `san` (names on
//! the serving certificate), `inspect` (reading certificates), `kubeconfig`, `tls`
//! (rustls configuration), `files` (paths and atomic writes).

mod authority;
mod connection;
mod error;
mod files;
mod inspect;
mod kubeconfig;
mod leaf;
mod san;
mod tls;

#[cfg(test)]
mod tests;

use std::fmt;
use std::path::PathBuf;

pub use connection::record_client_subject;
pub use error::PkiError;
pub use inspect::{subject_of, CertSubject};
pub use leaf::PEER_ORGANIZATION;

use authority::Authority;
use files::Layout;
use leaf::Leaf;

/// What `keelson serve` tells the PKI.
#[derive(Debug, Clone)]
pub struct PkiOptions {
    pub data_dir: PathBuf,
    /// Extra subject alternative names for the serving certificate: DNS names or IP
    /// literals (from --tls-san and --advertise-address).
    pub extra_sans: Vec<String>,
    /// The URL written into admin.kubeconfig, e.g. "https://127.0.0.1:6443".
    pub server_url: String,
}

/// The loaded PKI: what the API port and the admin kubeconfig need.
#[derive(Clone)]
pub struct Pki {
    pub ca_cert_pem: String,
    pub kubeconfig_path: PathBuf,
    ca_cert_der: Vec<u8>,
    serving_cert_der: Vec<u8>,
    /// PKCS#8; never printed.
    serving_key_der: Vec<u8>,
    peer_cert_der: Vec<u8>,
    /// PKCS#8; never printed.
    peer_key_der: Vec<u8>,
}

/// Creates the cluster CA under `<data_dir>/pki/` if it is not there yet (`keelson pki
/// init`), and returns the path of its certificate.
pub fn init_authority(data_dir: &std::path::Path) -> Result<PathBuf, PkiError> {
    let layout = Layout::new(data_dir);
    files::ensure_private_dir(&layout.pki_dir)?;
    Authority::load_or_create(&layout.ca)?;
    Ok(layout.ca.cert)
}

/// Writes an admin kubeconfig for `server_url` with a client certificate from the CA under
/// `data_dir` (`keelson pki kubeconfig`), e.g. one that points at HAProxy.
pub fn write_admin_kubeconfig(
    data_dir: &std::path::Path,
    server_url: &str,
    out: &std::path::Path,
) -> Result<(), PkiError> {
    let layout = Layout::new(data_dir);
    files::ensure_private_dir(&layout.pki_dir)?;
    let ca = Authority::load_or_create(&layout.ca)?;
    let admin = leaf::ensure(&ca, &layout.admin, Leaf::Admin)?;
    let config = kubeconfig::render(server_url, &ca.cert_pem, &admin)?;
    kubeconfig::write_if_changed(out, &config)
}

// === impl Pki ===

impl Pki {
    /// First start: creates <data_dir>/pki/{ca.crt,ca.key,apiserver.crt,apiserver.key,
    /// admin.crt,admin.key} (keys 0600) and <data_dir>/admin.kubeconfig. Later starts reuse
    /// them; the serving cert is reissued (same CA) only when the requested SANs are not
    /// all covered by the existing one (or it no longer matches its key or the CA, or has
    /// under 30 days left); the kubeconfig is rewritten when its content would change,
    /// e.g. because server_url changed.
    pub fn load_or_create(opts: &PkiOptions) -> Result<Pki, PkiError> {
        let layout = Layout::new(&opts.data_dir);
        files::ensure_private_dir(&layout.pki_dir)?;
        let ca = Authority::load_or_create(&layout.ca)?;
        let sans = san::serving_sans(&opts.extra_sans);
        let serving = leaf::ensure(&ca, &layout.serving, Leaf::Serving(&sans))?;
        let peer = leaf::ensure(&ca, &layout.peer, Leaf::Peer(&sans))?;
        let admin = leaf::ensure(&ca, &layout.admin, Leaf::Admin)?;
        let config = kubeconfig::render(&opts.server_url, &ca.cert_pem, &admin)?;
        kubeconfig::write_if_changed(&layout.kubeconfig, &config)?;
        Ok(Pki {
            ca_cert_pem: ca.cert_pem,
            kubeconfig_path: layout.kubeconfig,
            ca_cert_der: ca.cert_der,
            serving_cert_der: serving.cert_der,
            serving_key_der: serving.key_der,
            peer_cert_der: peer.cert_der,
            peer_key_der: peer.key_der,
        })
    }

    /// rustls server config for the API port: serving cert chain + key, ALPN
    /// ["h2","http/1.1"], client certificates optional but verified against the cluster CA
    /// when presented. Uses the ring provider explicitly, not the process default.
    pub fn server_tls_config(&self) -> Result<rustls::ServerConfig, PkiError> {
        tls::server_config(
            &self.ca_cert_der,
            &self.serving_cert_der,
            &self.serving_key_der,
        )
    }
}

impl Pki {
    /// rustls server config for the peer port: the peer certificate, and a client
    /// certificate from the cluster CA required (checked for [`PEER_ORGANIZATION`] by the
    /// peer server).
    pub fn peer_server_tls_config(&self) -> Result<rustls::ServerConfig, PkiError> {
        tls::peer_server_config(&self.ca_cert_der, &self.peer_cert_der, &self.peer_key_der)
    }

    /// rustls client config for calling other replicas: trusts only the cluster CA and
    /// presents the peer certificate.
    pub fn peer_client_tls_config(&self) -> Result<rustls::ClientConfig, PkiError> {
        tls::peer_client_config(&self.ca_cert_der, &self.peer_cert_der, &self.peer_key_der)
    }
}

impl fmt::Debug for Pki {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pki")
            .field("kubeconfig_path", &self.kubeconfig_path)
            .field("serving_key_der", &"<redacted>")
            .field("peer_key_der", &"<redacted>")
            .finish_non_exhaustive()
    }
}
