//! The bridge's own TLS certificate: made once with `rcgen` (ECDSA P-256, self-signed, for
//! `localhost`, `127.0.0.1`, `::1` and the office-network address when that is on), its private
//! key in the OS keychain (one entry per database: every data directory of a user shares the
//! keychain) and the certificate itself (public) in `SQLite`. Programs trust it by its file
//! (`mailconn bridge certificate`) or its SHA-256 fingerprint. When the names it must cover
//! change (the network address), a new certificate is made with the same key.

use std::net::IpAddr;
use std::sync::Arc;

use rcgen::{CertificateParams, DistinguishedName, DnType, KeyPair, SanType};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use serde::{Deserialize, Serialize};

use crate::Sensitive;
use crate::error::{Error, Result};
use crate::keychain::{Keychain, SecretKey, SecretKind};
use crate::store::Store;

/// What is stored in the `certificate` column.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Stored {
    pem: String,
    names: Vec<String>,
    /// The id of its key's keychain entry (`bridge-key/tls-{id}`): one per database, since
    /// every data directory of a user shares the one keychain.
    #[serde(default)]
    key: Option<String>,
}

/// The certificate programs see.
#[derive(Debug, Clone)]
pub struct Certificate {
    pub pem: String,
    /// SHA-256 of the DER, as `AB:CD:...`.
    pub fingerprint: String,
    pub names: Vec<String>,
}

fn key_entry(id: &str) -> SecretKey {
    SecretKey::new(SecretKind::BridgeKey, format!("tls-{id}"))
}

/// The names the certificate must cover.
pub fn names(network: Option<IpAddr>) -> Vec<String> {
    let mut names = vec!["localhost".to_owned(), "127.0.0.1".into(), "::1".into()];
    if let Some(ip) = network {
        names.push(ip.to_string());
    }
    names
}

fn fingerprint(der: &[u8]) -> String {
    let digest = ring::digest::digest(&ring::digest::SHA256, der);
    digest
        .as_ref()
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect::<Vec<_>>()
        .join(":")
}

fn tls_error(e: impl std::fmt::Display) -> Error {
    Error::internal(format!(
        "the bridge's TLS certificate could not be made: {e}"
    ))
}

fn make(key: &KeyPair, names: &[String]) -> Result<String> {
    let mut params = CertificateParams::default();
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, "Mail Connections bridge");
    params.distinguished_name = dn;
    params.subject_alt_names = names
        .iter()
        .map(|n| match n.parse::<IpAddr>() {
            Ok(ip) => Ok(SanType::IpAddress(ip)),
            Err(_) => n.clone().try_into().map(SanType::DnsName),
        })
        .collect::<std::result::Result<_, _>>()
        .map_err(tls_error)?;
    Ok(params.self_signed(key).map_err(tls_error)?.pem())
}

/// The stored certificate's fingerprint, read from `SQLite` alone (the Bridge page asks often; the
/// keychain is not touched); `None` before the certificate is first made.
pub fn stored_fingerprint(store: &Store) -> Result<Option<String>> {
    let Some(stored) = store
        .bridge_certificate()?
        .and_then(|json| serde_json::from_str::<Stored>(&json).ok())
    else {
        return Ok(None);
    };
    let der: CertificateDer<'static> =
        rustls::pki_types::pem::PemObject::from_pem_slice(stored.pem.as_bytes())
            .map_err(tls_error)?;
    Ok(Some(fingerprint(&der)))
}

/// The certificate and key, made on first use (or remade for new names), and the rustls
/// server settings with them. Blocking (keychain, `SQLite`).
pub fn load(
    store: &Store,
    keychain: &dyn Keychain,
    network: Option<IpAddr>,
) -> Result<(Arc<rustls::ServerConfig>, Certificate)> {
    let wanted = names(network);
    let stored = store
        .bridge_certificate()?
        .and_then(|json| serde_json::from_str::<Stored>(&json).ok());
    let key_id = stored
        .as_ref()
        .and_then(|s| s.key.clone())
        .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
    let (key, made) = if let Some(pem) = keychain.get(&key_entry(&key_id))? {
        (KeyPair::from_pem(pem.expose()).map_err(tls_error)?, false)
    } else {
        let key = KeyPair::generate().map_err(tls_error)?;
        keychain.set(&key_entry(&key_id), &Sensitive::new(key.serialize_pem()))?;
        (key, true)
    };
    // A new key (or new names) needs a new certificate.
    let stored = stored.filter(|s| !made && s.names == wanted && s.key.is_some());
    let pem = if let Some(s) = stored {
        s.pem
    } else {
        let pem = make(&key, &wanted)?;
        let json = serde_json::to_string(&Stored {
            pem: pem.clone(),
            names: wanted.clone(),
            key: Some(key_id),
        })
        .map_err(tls_error)?;
        store.save_bridge_certificate(&json)?;
        pem
    };
    let der = rustls::pki_types::pem::PemObject::from_pem_slice(pem.as_bytes())
        .map(|c: CertificateDer<'static>| c)
        .map_err(tls_error)?;
    let private = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der()));
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(tls_error)?
        .with_no_client_auth()
        .with_single_cert(vec![der.clone()], private)
        .map_err(tls_error)?;
    let cert = Certificate {
        fingerprint: fingerprint(&der),
        pem,
        names: wanted,
    };
    Ok((Arc::new(config), cert))
}
