//! Unit tests of the PKI against a temporary data directory: what the first start
//! creates, what later starts reuse or reissue, the kubeconfig's shape, and a real
//! in-memory TLS handshake against the server configuration.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::sync::Arc;

use anyhow::{anyhow, Context as _};
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use rustls::pki_types::{CertificateDer, ServerName};
use rustls::{ClientConfig, ClientConnection, Connection, RootCertStore, ServerConnection};
use tempfile::TempDir;
use x509_parser::extensions::GeneralName;

use super::*;

fn opts(dir: &Path, extra: &[&str], url: &str) -> PkiOptions {
    PkiOptions {
        data_dir: dir.to_path_buf(),
        extra_sans: extra.iter().map(|s| s.to_string()).collect(),
        server_url: url.to_owned(),
    }
}

fn read(dir: &Path, rel: &str) -> anyhow::Result<String> {
    fs::read_to_string(dir.join(rel)).with_context(|| rel.to_owned())
}

fn pem_der(pem: &str) -> anyhow::Result<Vec<u8>> {
    authority::first_cert_der(pem).ok_or_else(|| anyhow!("no certificate in PEM"))
}

/// The DNS names and IPs (as text) on a PEM certificate.
fn sans_of(pem: &str) -> anyhow::Result<Vec<String>> {
    let der = pem_der(pem)?;
    let (_, cert) = x509_parser::parse_x509_certificate(&der)?;
    let ext = cert
        .subject_alternative_name()?
        .ok_or_else(|| anyhow!("no SAN"))?;
    let mut names = Vec::new();
    for name in &ext.value.general_names {
        match name {
            GeneralName::DNSName(dns) => names.push(dns.to_string()),
            GeneralName::IPAddress(b) if b.len() == 4 => {
                names.push(format!("{}.{}.{}.{}", b[0], b[1], b[2], b[3]))
            }
            GeneralName::IPAddress(_) => names.push("ipv6".to_owned()),
            _ => {}
        }
    }
    Ok(names)
}

#[test]
fn first_start_creates_files_with_private_modes() -> anyhow::Result<()> {
    let dir = TempDir::new()?;
    let pki = Pki::load_or_create(&opts(dir.path(), &[], "https://127.0.0.1:6443"))?;
    for stem in ["ca", "apiserver", "admin"] {
        assert!(dir.path().join(format!("pki/{stem}.crt")).is_file());
        let mode = fs::metadata(dir.path().join(format!("pki/{stem}.key")))?
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "{stem}.key");
    }
    assert_eq!(pki.kubeconfig_path, dir.path().join("admin.kubeconfig"));
    assert_eq!(
        fs::metadata(&pki.kubeconfig_path)?.permissions().mode() & 0o777,
        0o600
    );
    assert_eq!(pki.ca_cert_pem, read(dir.path(), "pki/ca.crt")?);
    let sans = sans_of(&read(dir.path(), "pki/apiserver.crt")?)?;
    for name in [
        "localhost",
        "127.0.0.1",
        "ipv6",
        "kubernetes.default.svc.cluster.local",
    ] {
        assert!(
            sans.iter().any(|s| s == name),
            "{name} missing from {sans:?}"
        );
    }
    Ok(())
}

#[test]
fn second_start_reuses_everything() -> anyhow::Result<()> {
    let dir = TempDir::new()?;
    let o = opts(dir.path(), &["10.0.0.5"], "https://127.0.0.1:6443");
    Pki::load_or_create(&o)?;
    let before: Vec<String> = [
        "pki/ca.crt",
        "pki/ca.key",
        "pki/apiserver.crt",
        "pki/admin.crt",
        "admin.kubeconfig",
    ]
    .iter()
    .map(|f| read(dir.path(), f))
    .collect::<Result<_, _>>()?;
    Pki::load_or_create(&o)?;
    let after: Vec<String> = [
        "pki/ca.crt",
        "pki/ca.key",
        "pki/apiserver.crt",
        "pki/admin.crt",
        "admin.kubeconfig",
    ]
    .iter()
    .map(|f| read(dir.path(), f))
    .collect::<Result<_, _>>()?;
    assert_eq!(before, after);
    Ok(())
}

#[test]
fn new_extra_san_reissues_serving_cert_but_keeps_ca() -> anyhow::Result<()> {
    let dir = TempDir::new()?;
    let first = Pki::load_or_create(&opts(dir.path(), &[], "https://127.0.0.1:6443"))?;
    let serving_before = read(dir.path(), "pki/apiserver.crt")?;
    let admin_before = read(dir.path(), "pki/admin.crt")?;
    let extra = ["10.0.0.5", "API.example.com", " "];
    let second = Pki::load_or_create(&opts(dir.path(), &extra, "https://127.0.0.1:6443"))?;
    assert_eq!(first.ca_cert_pem, second.ca_cert_pem);
    assert_eq!(admin_before, read(dir.path(), "pki/admin.crt")?);
    let serving_after = read(dir.path(), "pki/apiserver.crt")?;
    assert_ne!(serving_before, serving_after);
    let sans = sans_of(&serving_after)?;
    assert!(sans.contains(&"10.0.0.5".to_owned()) && sans.contains(&"api.example.com".to_owned()));
    // The names are now covered: a third start changes nothing.
    Pki::load_or_create(&opts(
        dir.path(),
        &["api.example.com"],
        "https://127.0.0.1:6443",
    ))?;
    assert_eq!(serving_after, read(dir.path(), "pki/apiserver.crt")?);
    Ok(())
}

#[test]
fn admin_cert_subject_is_kubernetes_admin_in_system_masters() -> anyhow::Result<()> {
    let dir = TempDir::new()?;
    Pki::load_or_create(&opts(dir.path(), &[], "https://127.0.0.1:6443"))?;
    let subject = subject_of(&pem_der(&read(dir.path(), "pki/admin.crt")?)?);
    let expected = CertSubject {
        common_name: "kubernetes-admin".to_owned(),
        organizations: vec!["system:masters".to_owned()],
    };
    assert_eq!(subject, Some(expected));
    assert_eq!(subject_of(b"not a certificate"), None);
    Ok(())
}

#[test]
fn kubeconfig_has_kubeadm_shape_and_follows_server_url() -> anyhow::Result<()> {
    let dir = TempDir::new()?;
    let pki = Pki::load_or_create(&opts(dir.path(), &[], "https://127.0.0.1:6443"))?;
    Pki::load_or_create(&opts(dir.path(), &[], "https://10.0.0.5:6443"))?;
    let config: serde_yaml_ng::Value =
        serde_yaml_ng::from_str(&read(dir.path(), "admin.kubeconfig")?)?;
    assert_eq!(config["apiVersion"], "v1");
    assert_eq!(config["kind"], "Config");
    assert_eq!(config["current-context"], "kubernetes-admin@keelson");
    assert_eq!(config["contexts"][0]["context"]["cluster"], "keelson");
    assert_eq!(config["users"][0]["name"], "kubernetes-admin");
    let cluster = &config["clusters"][0];
    assert_eq!(cluster["name"], "keelson");
    assert_eq!(cluster["cluster"]["server"], "https://10.0.0.5:6443");
    let ca_data = cluster["cluster"]["certificate-authority-data"]
        .as_str()
        .unwrap_or_default();
    assert_eq!(STANDARD.decode(ca_data)?, pki.ca_cert_pem.as_bytes());
    let key_data = config["users"][0]["user"]["client-key-data"]
        .as_str()
        .unwrap_or_default();
    assert_eq!(
        STANDARD.decode(key_data)?,
        read(dir.path(), "pki/admin.key")?.as_bytes()
    );
    Ok(())
}

#[test]
fn ca_certificate_without_key_is_an_error() -> anyhow::Result<()> {
    let dir = TempDir::new()?;
    Pki::load_or_create(&opts(dir.path(), &[], "https://127.0.0.1:6443"))?;
    fs::remove_file(dir.path().join("pki/ca.key"))?;
    let err = Pki::load_or_create(&opts(dir.path(), &[], "https://127.0.0.1:6443"));
    assert!(matches!(err, Err(PkiError::MissingCaKey { .. })), "{err:?}");
    Ok(())
}

/// Runs a TLS handshake between the two sides in memory.
fn handshake(mut client: Connection, mut server: Connection) -> anyhow::Result<Connection> {
    for _ in 0..20 {
        if !client.is_handshaking() && !server.is_handshaking() {
            return Ok(server);
        }
        pump(&mut client, &mut server)?;
        pump(&mut server, &mut client)?;
    }
    Err(anyhow!("handshake did not finish"))
}

/// Moves every pending TLS record from one side to the other.
fn pump(from: &mut Connection, to: &mut Connection) -> anyhow::Result<()> {
    let mut bytes = Vec::new();
    while from.wants_write() {
        from.write_tls(&mut bytes)?;
    }
    let mut rest = bytes.as_slice();
    while !rest.is_empty() {
        to.read_tls(&mut rest)?;
        to.process_new_packets()?;
    }
    Ok(())
}

fn client_config(pki: &Pki, admin_dir: Option<&Path>) -> anyhow::Result<ClientConfig> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut roots = RootCertStore::empty();
    roots.add(CertificateDer::from(pem_der(&pki.ca_cert_pem)?))?;
    let builder = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_root_certificates(roots);
    let mut config = match admin_dir {
        None => builder.with_no_client_auth(),
        Some(dir) => {
            let chain = vec![CertificateDer::from(pem_der(&read(dir, "pki/admin.crt")?)?)];
            let key = rustls_pemfile::private_key(&mut read(dir, "pki/admin.key")?.as_bytes())?
                .ok_or_else(|| anyhow!("no key"))?;
            builder.with_client_auth_cert(chain, key)?
        }
    };
    config.alpn_protocols = vec![b"h2".to_vec()];
    Ok(config)
}

#[test]
fn server_config_serves_reissued_cert_and_verifies_optional_client_certs() -> anyhow::Result<()> {
    let dir = TempDir::new()?;
    Pki::load_or_create(&opts(dir.path(), &[], "https://127.0.0.1:6443"))?;
    // Reissued by the CA as loaded from disk, which exercises the reloaded issuer.
    let pki = Pki::load_or_create(&opts(dir.path(), &["10.0.0.5"], "https://127.0.0.1:6443"))?;
    for (name, with_cert) in [("10.0.0.5", true), ("localhost", false)] {
        let client_cfg = client_config(&pki, with_cert.then_some(dir.path()))?;
        let client =
            ClientConnection::new(Arc::new(client_cfg), ServerName::try_from(name)?.to_owned())?;
        let server = ServerConnection::new(Arc::new(pki.server_tls_config()?))?;
        let server = handshake(client.into(), server.into())?;
        assert_eq!(server.alpn_protocol(), Some(&b"h2"[..]));
        let peer = server
            .peer_certificates()
            .and_then(|c| c.first())
            .map(|c| subject_of(c));
        let expected = with_cert.then(|| "kubernetes-admin".to_owned());
        assert_eq!(peer.flatten().map(|s| s.common_name), expected);
    }
    Ok(())
}
