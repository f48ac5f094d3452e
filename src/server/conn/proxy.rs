//! Who the client is, behind a load balancer: the PROXY protocol header a trusted proxy
//! sends before anything else (`ReadProxyHeader`, the first state of every connection with
//! `--proxy-protocol`), and the client address a trusted proxy puts in a request header
//! (`--real-ip-header`).
//!
//! Invariants: with `--proxy-protocol`, a connection from outside every `--trusted-proxy`
//! range is closed by the listener before a byte is read (`ProxyOptions::admits`, in
//! `server::proxies`); a header that is malformed, or not complete within its own timeout,
//! closes the connection without a response (there is nobody to answer but the proxy, and
//! no framing to trust). The header
//! is consumed exactly, so the bytes after it (a request, or a TLS ClientHello) stay in the
//! input buffer for the next state. `peer` is then the client the header names, for the
//! access log and anything else that asks who the client is; a header that names none
//! (LOCAL, UNKNOWN) leaves the real peer.
//!
//! The two combine: the PROXY address is the peer, and a request header is believed only
//! when that peer is itself a trusted proxy.

use std::net::IpAddr;
use std::time::Instant;

use crate::http::forwarded;
use crate::http::proxy_protocol::{self, Parsed};
use crate::runtime::task::{Step, TaskContext};
use crate::runtime::transport::Transport;
use crate::server::conn::{Budget, Connection, Flow, Inflow, State};

impl<S: Transport> Connection<S> {
    /// The state a new connection starts in.
    pub(super) fn first_state(&self, now: Instant) -> State {
        let proxy = self.shared.proxy();
        if proxy.protocol {
            State::ReadProxyHeader {
                deadline: now + proxy.header_timeout,
            }
        } else {
            self.first_head_state(now)
        }
    }

    /// Waiting for the PROXY header at the front of the connection.
    pub(super) fn read_proxy_header(
        &mut self,
        deadline: Instant,
        budget: &mut Budget,
        cx: &mut TaskContext<'_>,
    ) -> (State, Flow) {
        let waiting = State::ReadProxyHeader { deadline };
        match proxy_protocol::parse(self.input.filled()) {
            Parsed::Complete { len, source } => {
                self.input.consume(len);
                if let Some(source) = source {
                    self.peer = Some(source.ip());
                    self.log.set_peer(self.peer);
                }
                // A TLS handshake, when there is one, begins here: the header is always
                // plaintext, before it.
                (self.first_head_state(cx.now()), Flow::Continue)
            }
            Parsed::Invalid => (State::Done, Flow::Stop(Step::Done)),
            Parsed::Incomplete if self.draining && self.input.is_empty() => {
                (State::Done, Flow::Stop(Step::Done))
            }
            Parsed::Incomplete if !self.can_read => (waiting, Flow::Stop(Step::Blocked)),
            Parsed::Incomplete => match self.receive(budget) {
                Inflow::End => (State::Done, Flow::Stop(Step::Done)),
                Inflow::Bytes => (waiting, Flow::Continue),
                Inflow::Dry => (waiting, Flow::Stop(Step::Blocked)),
            },
        }
    }

    /// The client of the request whose head is the first `head_len` bytes of the input: the
    /// address `--real-ip-header` names when the peer is a trusted proxy, else the peer.
    pub(super) fn request_client(&self, head_len: usize) -> Option<IpAddr> {
        let proxy = self.shared.proxy();
        let Some(name) = proxy.real_ip_header.as_deref() else {
            return self.peer;
        };
        if !proxy.trusts(self.peer) {
            return self.peer;
        }
        let head = self.input.filled().get(..head_len).unwrap_or_default();
        forwarded::client_address(head, name, &proxy.trusted).or(self.peer)
    }
}
