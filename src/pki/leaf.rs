//! The certificates the CA issues at start-up: the API server's serving certificate, the
//! peer certificate for the replica protocol, and the admin client certificate. Each is reused while it is still good (signed by this
//! CA, matching its key, 30+ days left, covering the requested names) and reissued with a
//! fresh key otherwise, so changing `--tls-san` needs nothing but a restart.

use rcgen::{CertificateParams, ExtendedKeyUsagePurpose, KeyPair, KeyUsagePurpose};

use super::authority::{base_params, days, first_cert_der, Authority, Issued};
use super::files::{self, PairPaths, PRIVATE, PUBLIC};
use super::san::San;
use super::{inspect, PkiError};

/// Which leaf certificate, with what it must contain.
pub(super) enum Leaf<'a> {
    /// CN kube-apiserver, server auth, covering these names.
    Serving(&'a [San]),
    /// CN keelson-peer, O keelson:peers, server and client auth (mutual TLS between
    /// replicas), covering these names.
    Peer(&'a [San]),
    /// CN kubernetes-admin, O system:masters, client auth.
    Admin,
}

/// The organization every replica's peer certificate carries; the peer port accepts no
/// other client certificate.
pub const PEER_ORGANIZATION: &str = "keelson:peers";

impl Leaf<'_> {
    fn name(&self) -> &'static str {
        match self {
            Leaf::Serving(_) => "serving",
            Leaf::Peer(_) => "peer",
            Leaf::Admin => "admin",
        }
    }

    fn required_sans(&self) -> &[San] {
        match self {
            Leaf::Serving(sans) | Leaf::Peer(sans) => sans,
            Leaf::Admin => &[],
        }
    }

    fn params(&self) -> Result<CertificateParams, PkiError> {
        let mut params = match self {
            Leaf::Serving(sans) => {
                let mut params = base_params("kube-apiserver", None, days(365));
                params.subject_alt_names =
                    sans.iter().map(San::to_rcgen).collect::<Result<_, _>>()?;
                params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
                params
            }
            Leaf::Peer(sans) => {
                let mut params = base_params("keelson-peer", Some(PEER_ORGANIZATION), days(365));
                params.subject_alt_names =
                    sans.iter().map(San::to_rcgen).collect::<Result<_, _>>()?;
                params.extended_key_usages = vec![
                    ExtendedKeyUsagePurpose::ServerAuth,
                    ExtendedKeyUsagePurpose::ClientAuth,
                ];
                params
            }
            Leaf::Admin => {
                let mut params = base_params("kubernetes-admin", Some("system:masters"), days(365));
                params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
                params
            }
        };
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.use_authority_key_identifier_extension = true;
        Ok(params)
    }
}

/// Returns the leaf certificate at `paths`, issuing and writing a new one (key first, so
/// a crash in between leaves a mismatch that the next start repairs) when needed.
pub(super) fn ensure(
    ca: &Authority,
    paths: &PairPaths,
    leaf: Leaf<'_>,
) -> Result<Issued, PkiError> {
    if let Some(existing) = load_existing(ca, paths, &leaf)? {
        return Ok(existing);
    }
    let issued = ca.sign(leaf.params()?)?;
    files::write_atomic(&paths.key, issued.key_pem.as_bytes(), PRIVATE)?;
    files::write_atomic(&paths.cert, issued.cert_pem.as_bytes(), PUBLIC)?;
    Ok(issued)
}

fn load_existing(
    ca: &Authority,
    paths: &PairPaths,
    leaf: &Leaf<'_>,
) -> Result<Option<Issued>, PkiError> {
    let cert = files::read_optional(&paths.cert)?;
    let key = files::read_private(&paths.key)?;
    let (Some(cert_pem), Some(key_pem)) = (cert, key) else {
        tracing::info!(cert = %paths.cert.display(), "issuing the {} certificate", leaf.name());
        return Ok(None);
    };
    match reusable(ca, cert_pem, key_pem, leaf.required_sans()) {
        Ok(issued) => Ok(Some(issued)),
        Err(reason) => {
            tracing::info!(cert = %paths.cert.display(), %reason, "reissuing the {} certificate", leaf.name());
            Ok(None)
        }
    }
}

fn reusable(
    ca: &Authority,
    cert_pem: String,
    key_pem: String,
    required: &[San],
) -> Result<Issued, String> {
    let cert_der = first_cert_der(&cert_pem).ok_or("no PEM certificate")?;
    let key = KeyPair::from_pem(&key_pem).map_err(|e| format!("private key unreadable: {e}"))?;
    inspect::check_reusable(&cert_der, &key.public_key_der(), &ca.cert_der, required)?;
    Ok(Issued {
        cert_pem,
        key_pem,
        cert_der,
        key_der: key.serialize_der(),
    })
}
