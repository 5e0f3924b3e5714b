//! The one error type of the PKI layer. Every failure names the file or the setting it
//! concerns, so an operator reading the start-up log knows what to fix; nothing here is
//! turned into an API response, the server simply does not start.

use std::path::PathBuf;

/// Why the cluster PKI could not be loaded, created or turned into a TLS configuration.
#[derive(Debug, thiserror::Error)]
pub enum PkiError {
    /// Reading or writing a file under the data directory failed.
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A file the PKI cannot regenerate (the CA) is present but unusable.
    #[error("{}: {reason}", path.display())]
    BadFile { path: PathBuf, reason: String },
    /// The CA certificate exists without its key, so no certificate can be signed.
    #[error(
        "{} exists but its private key {} is missing; restore the key, or remove the \
         certificate to create a new cluster CA",
        cert.display(),
        key.display()
    )]
    MissingCaKey { cert: PathBuf, key: PathBuf },
    /// The CA key on disk does not belong to the CA certificate on disk.
    #[error("{} is not the private key of {}", key.display(), cert.display())]
    CaKeyMismatch { cert: PathBuf, key: PathBuf },
    /// A `--tls-san` or advertise address is neither an IP literal nor a valid DNS name.
    #[error("invalid subject alternative name {name:?}: {source}")]
    InvalidSan {
        name: String,
        #[source]
        source: rcgen::Error,
    },
    /// Key generation or certificate signing failed.
    #[error("certificate generation failed: {0}")]
    Generate(#[from] rcgen::Error),
    /// The admin kubeconfig could not be encoded.
    #[error("encoding the admin kubeconfig failed: {0}")]
    Kubeconfig(#[from] serde_yaml_ng::Error),
    /// rustls rejected the serving certificate, key or protocol settings.
    #[error("TLS configuration: {0}")]
    Tls(#[from] rustls::Error),
    /// The client-certificate verifier could not be built from the cluster CA.
    #[error("client certificate verifier: {0}")]
    ClientVerifier(#[from] rustls::server::VerifierBuilderError),
}

impl PkiError {
    /// Wraps an I/O error with the path it concerns.
    pub(super) fn io(path: &std::path::Path, source: std::io::Error) -> Self {
        PkiError::Io {
            path: path.to_path_buf(),
            source,
        }
    }
}
