//! Which load balancers are trusted to name the client (`--trusted-proxy`), and how they
//! name it: the PROXY protocol, or a request header. The connection applies it (`conn::proxy`);
//! the listener refuses untrusted peers with it.

use std::net::IpAddr;
use std::time::Duration;

use crate::http::cidr::{self, Cidr};

/// `--proxy-protocol`, `--trusted-proxy`, `--real-ip-header` and `--proxy-timeout`.
#[derive(Clone, Debug)]
pub struct ProxyOptions {
    /// Every connection starts with a PROXY protocol header.
    pub protocol: bool,
    /// The proxies whose word about the client is believed.
    pub trusted: Vec<Cidr>,
    /// The request header that names the client, when sent by a trusted peer.
    pub real_ip_header: Option<Box<[u8]>>,
    /// How long a PROXY header may take to arrive, from the accept.
    pub header_timeout: Duration,
}

/// The default `--proxy-timeout`: a proxy sends its header at once, with its first segment.
pub const PROXY_HEADER_TIMEOUT_DEFAULT_SECS: u64 = 5;

impl Default for ProxyOptions {
    /// No proxy in front: every peer is the client.
    fn default() -> ProxyOptions {
        ProxyOptions {
            protocol: false,
            trusted: Vec::new(),
            real_ip_header: None,
            header_timeout: Duration::from_secs(PROXY_HEADER_TIMEOUT_DEFAULT_SECS),
        }
    }
}

impl ProxyOptions {
    /// Whether a connection from `peer` may be served at all: with the PROXY protocol,
    /// only a trusted proxy may speak it.
    pub fn admits(&self, peer: Option<IpAddr>) -> bool {
        !self.protocol || self.trusts(peer)
    }

    /// Whether `peer` is a trusted proxy, whose word about the client is believed.
    pub fn trusts(&self, peer: Option<IpAddr>) -> bool {
        peer.is_some_and(|peer| cidr::any_contains(&self.trusted, peer))
    }
}
