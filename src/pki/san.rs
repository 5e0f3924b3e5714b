//! Subject alternative names of the serving certificate: the fixed in-cluster names every
//! Kubernetes API server answers to, plus the operator's `--tls-san` and advertise
//! address. One normalised form (lower-case DNS, parsed IP) so that "is this name covered
//! by the certificate on disk?" is a set lookup.

use std::fmt;
use std::net::IpAddr;

use rcgen::SanType;

use super::PkiError;

/// Names on every serving certificate, as kubeadm puts on its apiserver.crt.
const DEFAULT_SANS: &[&str] = &[
    "localhost",
    "127.0.0.1",
    "::1",
    "kubernetes",
    "kubernetes.default",
    "kubernetes.default.svc",
    "kubernetes.default.svc.cluster.local",
];

/// One subject alternative name, DNS or IP.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(super) enum San {
    Dns(String),
    Ip(IpAddr),
}

impl San {
    /// Parses an IP literal (bracketed IPv6 allowed) or a DNS name; `None` when blank.
    pub fn parse(text: &str) -> Option<San> {
        let text = text.trim();
        let unbracketed = text
            .strip_prefix('[')
            .and_then(|t| t.strip_suffix(']'))
            .unwrap_or(text);
        if unbracketed.is_empty() {
            return None;
        }
        Some(match unbracketed.parse::<IpAddr>() {
            Ok(ip) => San::Ip(ip),
            Err(_) => San::Dns(unbracketed.to_ascii_lowercase()),
        })
    }

    /// The rcgen form, rejecting DNS names that are not IA5 strings.
    pub fn to_rcgen(&self) -> Result<SanType, PkiError> {
        match self {
            San::Ip(ip) => Ok(SanType::IpAddress(*ip)),
            San::Dns(name) => name
                .clone()
                .try_into()
                .map(SanType::DnsName)
                .map_err(|source| PkiError::InvalidSan {
                    name: name.clone(),
                    source,
                }),
        }
    }
}

impl fmt::Display for San {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            San::Dns(name) => write!(f, "DNS:{name}"),
            San::Ip(ip) => write!(f, "IP:{ip}"),
        }
    }
}

/// The names the serving certificate must cover: the defaults, then `extra` in order,
/// without duplicates.
pub(super) fn serving_sans(extra: &[String]) -> Vec<San> {
    let mut sans: Vec<San> = Vec::new();
    let all = DEFAULT_SANS
        .iter()
        .copied()
        .chain(extra.iter().map(String::as_str));
    for san in all.filter_map(San::parse) {
        if !sans.contains(&san) {
            sans.push(san);
        }
    }
    sans
}
