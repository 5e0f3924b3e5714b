//! The rustls configurations: the API port's server side, and both sides of the peer
//! port, where replicas authenticate each other with mutual TLS.
//!
//! On the API port, Client certificates are optional
//! (anonymous and token requests must still reach authentication) but, when presented,
//! must chain to the cluster CA; the handler reads the verified subject with
//! [`subject_of`](super::subject_of). The ring provider is installed explicitly so the
//! result does not depend on which crypto provider some other crate made the default.
//!
//! AES-128-GCM comes first, and servers choose by their own order: it costs about 30 %
//! less CPU per byte than AES-256-GCM (rustls' default first choice), and encryption is a
//! quarter of a large LIST's server time. Go's TLS, and so kube-apiserver and kubectl,
//! prefers it too on CPUs with AES instructions.

use std::sync::Arc;

use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use rustls::server::WebPkiClientVerifier;
use rustls::{CipherSuite, ClientConfig, RootCertStore, ServerConfig, SupportedCipherSuite};

use super::PkiError;

/// ALPN protocols offered, most preferred first.
const ALPN: [&[u8]; 2] = [b"h2", b"http/1.1"];

/// The ring provider with the AES-128-GCM suites moved to the front.
fn provider() -> Arc<CryptoProvider> {
    let mut provider = rustls::crypto::ring::default_provider();
    provider
        .cipher_suites
        .sort_by_key(|suite| !is_aes_128_gcm(suite));
    Arc::new(provider)
}

fn is_aes_128_gcm(suite: &SupportedCipherSuite) -> bool {
    matches!(
        suite.suite(),
        CipherSuite::TLS13_AES_128_GCM_SHA256
            | CipherSuite::TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256
            | CipherSuite::TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256
    )
}

/// Builds the server configuration from DER inputs: the CA that verifies client
/// certificates, and the serving certificate with its PKCS#8 key.
pub(super) fn server_config(
    ca_der: &[u8],
    cert_der: &[u8],
    key_der: &[u8],
) -> Result<ServerConfig, PkiError> {
    let provider = provider();
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
    config.ignore_client_order = true;
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
    let provider = provider();
    let verifier =
        WebPkiClientVerifier::builder_with_provider(roots(ca_der)?, provider.clone()).build()?;
    let (chain, key) = identity(cert_der, key_der);
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_client_cert_verifier(verifier)
        .with_single_cert(chain, key)?;
    config.ignore_client_order = true;
    Ok(config)
}

/// The peer port's client side: trusts only the cluster CA, presents the peer certificate.
pub(super) fn peer_client_config(
    ca_der: &[u8],
    cert_der: &[u8],
    key_der: &[u8],
) -> Result<ClientConfig, PkiError> {
    let provider = provider();
    let (chain, key) = identity(cert_der, key_der);
    let config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_root_certificates(roots(ca_der)?)
        .with_client_auth_cert(chain, key)?;
    Ok(config)
}

#[cfg(test)]
mod tests {
    #[test]
    fn aes_128_gcm_is_offered_first() {
        let suites = &super::provider().cipher_suites;
        assert!(suites.len() > 2, "every default suite is kept");
        assert_eq!(
            suites[0].suite(),
            rustls::CipherSuite::TLS13_AES_128_GCM_SHA256
        );
    }
}
