//! Reading certificates back: the subject of a client certificate (for authentication) and
//! whether a certificate found on disk can still be served (for start-up reuse). Parsing is
//! x509-parser's; nothing here signs or writes.

use std::collections::HashSet;
use std::net::IpAddr;

use x509_parser::certificate::X509Certificate;
use x509_parser::extensions::GeneralName;
use x509_parser::parse_x509_certificate;

use super::san::San;

/// Leaf certificates with less validity left than this are reissued at start-up.
const RENEW_WITHIN_DAYS: i64 = 30;

/// The subject of a verified client certificate, for authentication: CN is the user name,
/// O entries are groups (upstream's x509 authenticator).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertSubject {
    pub common_name: String,
    pub organizations: Vec<String>,
}

/// Reads the subject of a DER certificate. `None` when it does not parse or has no
/// (or an empty) common name, which upstream treats as "not authenticated by this cert".
/// It does not verify the certificate: the TLS layer did that against the cluster CA.
pub fn subject_of(cert_der: &[u8]) -> Option<CertSubject> {
    let (_, cert) = parse_x509_certificate(cert_der).ok()?;
    let subject = cert.subject();
    let common_name = subject.iter_common_name().next()?.as_str().ok()?;
    if common_name.is_empty() {
        return None;
    }
    let organizations = subject
        .iter_organization()
        .filter_map(|o| o.as_str().ok())
        .map(str::to_owned)
        .collect();
    Some(CertSubject {
        common_name: common_name.to_owned(),
        organizations,
    })
}

/// The DER SubjectPublicKeyInfo of a certificate, to match it against a key pair.
pub(super) fn public_key_of(cert_der: &[u8]) -> Option<Vec<u8>> {
    let (_, cert) = parse_x509_certificate(cert_der).ok()?;
    Some(cert.public_key().raw.to_vec())
}

/// Checks that a leaf certificate found on disk may be served again: it parses, was signed
/// by the cluster CA, belongs to `key_spki`, has at least 30 days left and covers every
/// name in `required`. `Err` carries the reason it must be reissued, for the log.
pub(super) fn check_reusable(
    cert_der: &[u8],
    key_spki: &[u8],
    ca_der: &[u8],
    required: &[San],
) -> Result<(), String> {
    let (_, cert) = parse_x509_certificate(cert_der).map_err(|e| format!("unparsable: {e}"))?;
    let (_, ca) = parse_x509_certificate(ca_der).map_err(|e| format!("CA unparsable: {e}"))?;
    cert.verify_signature(Some(ca.public_key()))
        .map_err(|_| "not signed by the cluster CA".to_owned())?;
    if cert.public_key().raw != key_spki {
        return Err("does not match its private key".to_owned());
    }
    match cert.validity().time_to_expiration() {
        None => return Err("expired or not yet valid".to_owned()),
        Some(left) if left.whole_days() < RENEW_WITHIN_DAYS => {
            return Err(format!("expires in {} days", left.whole_days()))
        }
        Some(_) => {}
    }
    let present = sans_of(&cert);
    match required.iter().find(|san| !present.contains(san)) {
        Some(missing) => Err(format!("does not cover {missing}")),
        None => Ok(()),
    }
}

/// The DNS and IP subject alternative names of a certificate.
fn sans_of(cert: &X509Certificate<'_>) -> HashSet<San> {
    let Ok(Some(ext)) = cert.subject_alternative_name() else {
        return HashSet::new();
    };
    ext.value
        .general_names
        .iter()
        .filter_map(|name| match name {
            GeneralName::DNSName(dns) => San::parse(dns),
            GeneralName::IPAddress(bytes) => ip_from_bytes(bytes).map(San::Ip),
            _ => None,
        })
        .collect()
}

fn ip_from_bytes(bytes: &[u8]) -> Option<IpAddr> {
    match bytes.len() {
        4 => <[u8; 4]>::try_from(bytes).ok().map(IpAddr::from),
        16 => <[u8; 16]>::try_from(bytes).ok().map(IpAddr::from),
        _ => None,
    }
}
