//! The cluster CA ("keelson-ca"): created once, then only read. It signs the serving and
//! admin certificates and is the trust root for client certificates. Its key is the one
//! file the PKI cannot regenerate without invalidating every kubeconfig, so problems with
//! it are errors, never silent replacement.

use std::path::Path;
use std::time::Duration;

use rcgen::{
    BasicConstraints, Certificate, CertificateParams, DistinguishedName, DnType, IsCa, KeyPair,
    KeyUsagePurpose, SerialNumber,
};
use x509_parser::time::ASN1Time;

use super::files::{self, PairPaths, PRIVATE, PUBLIC};
use super::{inspect, PkiError};

/// How long the CA is valid.
const CA_VALIDITY: Duration = days(10 * 365);
/// Certificates start being valid this long before they are made, for clock skew.
const BACKDATE: Duration = Duration::from_secs(5 * 60);

/// A certificate with its private key, both as PEM (for files and the kubeconfig) and DER
/// (for rustls).
pub(super) struct Issued {
    pub cert_pem: String,
    pub key_pem: String,
    pub cert_der: Vec<u8>,
    pub key_der: Vec<u8>,
}

/// The loaded cluster CA, able to sign.
pub(super) struct Authority {
    pub cert_pem: String,
    pub cert_der: Vec<u8>,
    issuer: Certificate,
    key: KeyPair,
}

impl Authority {
    /// Loads `ca.crt`/`ca.key`, or creates them when both are absent. A key without a
    /// certificate (a crash during first start) gets a new certificate for that key.
    pub fn load_or_create(paths: &PairPaths) -> Result<Authority, PkiError> {
        let cert = files::read_optional(&paths.cert)?;
        let key = files::read_private(&paths.key)?;
        match (cert, key) {
            (Some(cert), Some(key)) => Self::load(paths, &cert, &key),
            (Some(_), None) => Err(PkiError::MissingCaKey {
                cert: paths.cert.clone(),
                key: paths.key.clone(),
            }),
            (None, Some(key)) => {
                tracing::warn!(key = %paths.key.display(), "CA key without certificate; issuing one");
                Self::create(paths, parse_key(&paths.key, &key)?, false)
            }
            (None, None) => {
                tracing::info!(dir = %paths.cert.display(), "creating the cluster CA");
                Self::create(paths, KeyPair::generate()?, true)
            }
        }
    }

    fn create(paths: &PairPaths, key: KeyPair, write_key: bool) -> Result<Authority, PkiError> {
        let mut params = base_params("keelson-ca", None, CA_VALIDITY);
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![
            KeyUsagePurpose::DigitalSignature,
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
        ];
        let cert = params.self_signed(&key)?;
        if write_key {
            files::write_atomic(&paths.key, key.serialize_pem().as_bytes(), PRIVATE)?;
        }
        files::write_atomic(&paths.cert, cert.pem().as_bytes(), PUBLIC)?;
        Ok(Authority {
            cert_pem: cert.pem(),
            cert_der: cert.der().to_vec(),
            issuer: cert,
            key,
        })
    }

    fn load(paths: &PairPaths, cert_pem: &str, key_pem: &str) -> Result<Authority, PkiError> {
        let bad = |reason: String| PkiError::BadFile {
            path: paths.cert.clone(),
            reason,
        };
        let cert_der = first_cert_der(cert_pem).ok_or_else(|| bad("no PEM certificate".into()))?;
        let key = parse_key(&paths.key, key_pem)?;
        if inspect::public_key_of(&cert_der) != Some(key.public_key_der()) {
            return Err(PkiError::CaKeyMismatch {
                cert: paths.cert.clone(),
                key: paths.key.clone(),
            });
        }
        let params = CertificateParams::from_ca_cert_der(&cert_der.clone().into())
            .map_err(|e| bad(e.to_string()))?;
        // rcgen signs with an issuer `Certificate`. Re-signing the parsed parameters with
        // the CA key gives one whose subject and key identifier are those of the file.
        let issuer = params.self_signed(&key)?;
        Ok(Authority {
            cert_pem: cert_pem.to_owned(),
            cert_der,
            issuer,
            key,
        })
    }

    /// Signs `params` for a freshly generated key pair.
    pub fn sign(&self, params: CertificateParams) -> Result<Issued, PkiError> {
        let key = KeyPair::generate()?;
        let cert = params.signed_by(&key, &self.issuer, &self.key)?;
        Ok(Issued {
            cert_pem: cert.pem(),
            key_pem: key.serialize_pem(),
            cert_der: cert.der().to_vec(),
            key_der: key.serialize_der(),
        })
    }
}

/// Parameters shared by every certificate: subject, validity from (now - 5 min) for
/// `validity`, and a random positive 128-bit serial.
pub(super) fn base_params(
    common_name: &str,
    organization: Option<&str>,
    validity: Duration,
) -> CertificateParams {
    let mut params = CertificateParams::default();
    let mut subject = DistinguishedName::new();
    if let Some(org) = organization {
        subject.push(DnType::OrganizationName, org);
    }
    subject.push(DnType::CommonName, common_name);
    params.distinguished_name = subject;
    let now = ASN1Time::now().to_datetime();
    params.not_before = now - BACKDATE;
    params.not_after = now + validity;
    let mut serial = *uuid::Uuid::new_v4().as_bytes();
    serial[0] = (serial[0] & 0x7f) | 0x40;
    params.serial_number = Some(SerialNumber::from_slice(&serial));
    params
}

/// `days` whole days, for validity periods.
pub(super) const fn days(days: u64) -> Duration {
    Duration::from_secs(days * 24 * 60 * 60)
}

/// The first certificate in a PEM text, as DER.
pub(super) fn first_cert_der(pem: &str) -> Option<Vec<u8>> {
    let cert = rustls_pemfile::certs(&mut pem.as_bytes()).next()?.ok()?;
    Some(cert.to_vec())
}

fn parse_key(path: &Path, pem: &str) -> Result<KeyPair, PkiError> {
    KeyPair::from_pem(pem).map_err(|e| PkiError::BadFile {
        path: path.to_path_buf(),
        reason: format!("not a PKCS#8 private key: {e}"),
    })
}
