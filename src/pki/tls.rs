//! The rustls configurations: the API port's server side, and both sides of the peer
//! port, where replicas authenticate each other with mutual TLS.
//!
//! On the API port, Client certificates are optional
//! (anonymous and token requests must still reach authentication) but, when presented,
//! must chain to the cluster CA; the handler reads the verified subject with
//! [`subject_of`](super::subject_of). The ring provider is installed explicitly so the
//! result does not depend on which crypto provider some other crate made the default.

use std::sync::Arc;

use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use rustls::server::WebPkiClientVerifier;
use rustls::{ClientConfig, RootCertStore, ServerConfig};

use super::PkiError;

/// ALPN protocols offered, most preferred first.
const ALPN: [&[u8]; 2] = [b"h2", b"http/1.1"];

/// Builds the server configuration from DER inputs: the CA that verifies client
/// certificates, and the serving certificate with its PKCS#8 key.
pub(super) fn server_config(
    ca_der: &[u8],
    cert_der: &[u8],
    key_der: &[u8],
) -> Result<ServerConfig, PkiError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut roots = RootCertStore::empty();
    roots.add(CertificateDer::from(ca_der.to_vec()))?;
    let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider.clone())
        .allow_unauthenticated()
        .build()?;
    let chain = vec![CertificateDer::from(cert_der.to_vec())];
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key_der.to_vec()));
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_client_cert_verifier(verifier)
        .with_single_cert(chain, key)?;
    config.alpn_protocols = ALPN.iter().map(|p| p.to_vec()).collect();
    Ok(config)
}

fn roots(ca_der: &[u8]) -> Result<Arc<RootCertStore>, PkiError> {
    let mut roots = RootCertStore::empty();
    roots.add(CertificateDer::from(ca_der.to_vec()))?;
    Ok(Arc::new(roots))
}

fn identity(
    cert_der: &[u8],
    key_der: &[u8],
) -> (Vec<CertificateDer<'static>>, PrivateKeyDer<'static>) {
    let chain = vec![CertificateDer::from(cert_der.to_vec())];
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key_der.to_vec()));
    (chain, key)
}

/// The peer port's server side: a client certificate chaining to the cluster CA is
/// required. HTTP/1.1 only: each peer keeps a pool of connections.
pub(super) fn peer_server_config(
    ca_der: &[u8],
    cert_der: &[u8],
    key_der: &[u8],
) -> Result<ServerConfig, PkiError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let verifier =
        WebPkiClientVerifier::builder_with_provider(roots(ca_der)?, provider.clone()).build()?;
    let (chain, key) = identity(cert_der, key_der);
    let config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_client_cert_verifier(verifier)
        .with_single_cert(chain, key)?;
    Ok(config)
}

/// The peer port's client side: trusts only the cluster CA, presents the peer certificate.
pub(super) fn peer_client_config(
    ca_der: &[u8],
    cert_der: &[u8],
    key_der: &[u8],
) -> Result<ClientConfig, PkiError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let (chain, key) = identity(cert_der, key_der);
    let config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_root_certificates(roots(ca_der)?)
        .with_client_auth_cert(chain, key)?;
    Ok(config)
}
