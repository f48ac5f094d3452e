//! Certificates and keys from PEM files, and the choice among them by the name a client
//! asks for (SNI, RFC 6066 §3).
//!
//! Invariant: a `Certificates` holds at least one pair, each key checked against its
//! certificate when loaded; the first pair is the default, for clients that send no name or
//! a name no certificate is valid for.

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;

use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;

/// One `--tls-cert FILE --tls-key FILE` pair: the chain (leaf first) and its private key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyPair {
    pub cert: PathBuf,
    pub key: PathBuf,
}

/// The loaded pairs, in the order given; see the module documentation.
#[derive(Debug)]
pub struct Certificates {
    keys: Vec<Arc<CertifiedKey>>,
}

/// Why a pair could not be loaded: the file, and what was wrong with it.
#[derive(Debug)]
pub struct LoadError {
    pub path: PathBuf,
    pub reason: String,
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path.display(), self.reason)
    }
}

impl Certificates {
    /// Loads every pair; the first failure is the error. `pairs` must not be empty.
    pub fn load(pairs: &[KeyPair], provider: &CryptoProvider) -> Result<Certificates, LoadError> {
        let keys = pairs
            .iter()
            .map(|pair| load_pair(pair, provider).map(Arc::new))
            .collect::<Result<Vec<_>, _>>()?;
        if keys.is_empty() {
            return Err(LoadError {
                path: PathBuf::new(),
                reason: "no certificate given".to_string(),
            });
        }
        Ok(Certificates { keys })
    }

    /// The first pair whose leaf certificate is valid for `name`, else the default.
    fn choose(&self, name: Option<&str>) -> Option<Arc<CertifiedKey>> {
        let chosen = name
            .and_then(|name| ServerName::try_from(name).ok())
            .and_then(|name| self.keys.iter().find(|key| valid_for(key, &name)));
        chosen.or_else(|| self.keys.first()).cloned()
    }
}

impl ResolvesServerCert for Certificates {
    fn resolve(&self, client_hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        self.choose(client_hello.server_name())
    }
}

fn valid_for(key: &CertifiedKey, name: &ServerName<'_>) -> bool {
    key.end_entity_cert()
        .ok()
        .and_then(|der| webpki::EndEntityCert::try_from(der).ok())
        .is_some_and(|cert| cert.verify_is_valid_for_subject_name(name).is_ok())
}

fn load_pair(pair: &KeyPair, provider: &CryptoProvider) -> Result<CertifiedKey, LoadError> {
    let failed = |path: &PathBuf| {
        let path = path.clone();
        move |reason: String| LoadError { path, reason }
    };
    let chain = CertificateDer::pem_file_iter(&pair.cert)
        .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
        .map_err(|e| e.to_string())
        .map_err(failed(&pair.cert))?;
    if chain.is_empty() {
        return Err(failed(&pair.cert)("no CERTIFICATE in the file".to_string()));
    }
    let key = PrivateKeyDer::from_pem_file(&pair.key)
        .map_err(|e| e.to_string())
        .map_err(failed(&pair.key))?;
    CertifiedKey::from_der(chain, key, provider)
        .map_err(|e| format!("does not fit {}: {e}", pair.cert.display()))
        .map_err(failed(&pair.key))
}
