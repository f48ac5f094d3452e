//! HTTPS: the server's TLS configuration, built from `--tls-cert`/`--tls-key` pairs and
//! rebuilt on SIGHUP, and how an accepted socket becomes a `TlsConnection`.
//!
//! The policy, fixed here: TLS 1.3 and 1.2 only; ring's cipher suites, which are all AEAD
//! with ephemeral key exchange (RFC 9325 §4.2); ALPN `http/1.1` (RFC 7301); resumption with
//! stateless tickets that rotate (rustls's `Ticketer`) and a small session-ID cache for
//! TLS 1.2 clients without tickets; no 0-RTT data (RFC 8446 §8: replayable).
//!
//! Invariant: `config` always holds a configuration whose certificates all loaded. A reload
//! builds a whole new one and swaps it in only if every pair loaded; connections already
//! established keep the one they started with (each holds its own `Arc`).

mod certs;
pub mod redirect;

use std::cell::RefCell;
use std::io;
use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;

use rustls::ServerConfig;
use rustls::crypto::CryptoProvider;
use rustls::server::{ProducesTickets, ServerSessionMemoryCache};

pub use certs::{KeyPair, LoadError};

use crate::runtime::tls::{FileScratch, TlsConnection};
use crate::runtime::transport::TcpConnection;

/// TLS 1.2 sessions remembered by ID for resumption, per process (about 100 bytes each).
pub const SESSION_CACHE_ENTRIES: usize = 4096;
/// Protocol names offered in ALPN: this server speaks HTTP/1.1 only.
const ALPN_HTTP_1_1: &[u8] = b"http/1.1";

/// What `--tls-cert`, `--tls-key`, `--tls-handshake-timeout` and `--hsts` ask for.
#[derive(Clone, Debug)]
pub struct TlsSettings {
    pub pairs: Vec<KeyPair>,
    pub handshake_timeout: Duration,
    /// `--hsts SECONDS`: the `max-age` of Strict-Transport-Security.
    pub hsts_max_age: Option<u64>,
}

/// See the module documentation.
pub struct Tls {
    settings: TlsSettings,
    provider: Arc<CryptoProvider>,
    /// Kept across reloads, so tickets issued before one still resume after it.
    ticketer: Arc<dyn ProducesTickets>,
    sessions: Arc<ServerSessionMemoryCache>,
    config: RefCell<Arc<ServerConfig>>,
    scratch: Rc<FileScratch>,
    /// The Strict-Transport-Security value (RFC 6797 §6.1), rendered once.
    hsts: Option<Box<[u8]>>,
}

impl Tls {
    /// Loads every pair and builds the configuration; fails on the first bad file.
    pub fn load(settings: &TlsSettings) -> Result<Tls, LoadError> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let ticketer = rustls::crypto::ring::Ticketer::new().map_err(|e| LoadError {
            path: Default::default(),
            reason: format!("cannot make session tickets: {e}"),
        })?;
        let sessions = ServerSessionMemoryCache::new(SESSION_CACHE_ENTRIES);
        let config = build(settings, &provider, &ticketer, &sessions)?;
        Ok(Tls {
            settings: settings.clone(),
            provider,
            ticketer,
            sessions,
            config: RefCell::new(config),
            scratch: Rc::default(),
            hsts: settings
                .hsts_max_age
                .map(|age| format!("max-age={age}").into_bytes().into_boxed_slice()),
        })
    }

    /// Loads the files again; on success new handshakes use them, on failure the old ones
    /// stay in use and the error says which file was bad.
    pub fn reload(&self) -> Result<(), LoadError> {
        let config = build(
            &self.settings,
            &self.provider,
            &self.ticketer,
            &self.sessions,
        )?;
        *self.config.borrow_mut() = config;
        Ok(())
    }

    /// Starts the server side of a handshake on an accepted socket.
    pub fn accept(&self, tcp: TcpConnection) -> io::Result<TlsConnection> {
        let config = Arc::clone(&self.config.borrow());
        TlsConnection::new(tcp, config, Rc::clone(&self.scratch))
    }

    pub fn handshake_timeout(&self) -> Duration {
        self.settings.handshake_timeout
    }

    /// The Strict-Transport-Security header's value, with `--hsts`.
    pub fn hsts(&self) -> Option<&[u8]> {
        self.hsts.as_deref()
    }
}

fn build(
    settings: &TlsSettings,
    provider: &Arc<CryptoProvider>,
    ticketer: &Arc<dyn ProducesTickets>,
    sessions: &Arc<ServerSessionMemoryCache>,
) -> Result<Arc<ServerConfig>, LoadError> {
    let certificates = certs::Certificates::load(&settings.pairs, provider)?;
    let versions = [&rustls::version::TLS13, &rustls::version::TLS12];
    let mut config = ServerConfig::builder_with_provider(Arc::clone(provider))
        .with_protocol_versions(&versions)
        .map_err(|e| LoadError {
            path: Default::default(),
            reason: e.to_string(),
        })?
        .with_no_client_auth()
        .with_cert_resolver(Arc::new(certificates));
    config.alpn_protocols = vec![ALPN_HTTP_1_1.to_vec()];
    config.ticketer = Arc::clone(ticketer);
    config.session_storage = Arc::clone(sessions) as _;
    // The server's order of suites, strongest first, not the client's.
    config.ignore_client_order = true;
    config.max_early_data_size = 0;
    Ok(Arc::new(config))
}
