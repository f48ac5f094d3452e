//! The TLS handshake as the connection's first state (`Handshake`), and the flush that makes
//! sure a response's last records have left before the connection moves on.
//!
//! A connection on the HTTPS listener starts in `Handshake` (see `handshaking`); each resume
//! runs the transport's handshake until it needs the peer's next bytes or room in the socket
//! (edge-triggered: it always stops on `EAGAIN`, so the next edge resumes it). Its deadline
//! is the handshake timeout from the accept; then it closes without a word (there is no
//! channel to say anything on yet). A failed handshake (a malformed ClientHello, plaintext
//! HTTP, no common version or suite) closes this connection only, after rustls's alert.
//! Done, it reads its first request with the head timeout from then.

use std::io;
use std::time::Instant;

use crate::runtime::task::{Step, TaskContext};
use crate::runtime::transport::{Handshake, Transport};
use crate::server::conn::{Connection, Flow, State};

impl<S: Transport> Connection<S> {
    /// The same connection, starting with a handshake due within the handshake timeout.
    pub fn handshaking(mut self, now: Instant) -> Connection<S> {
        if let Some(tls) = self.shared.tls() {
            self.state = State::Handshake {
                deadline: now + tls.handshake_timeout(),
            };
        }
        self
    }

    pub(super) fn handshake(&mut self, deadline: Instant, cx: &TaskContext<'_>) -> (State, Flow) {
        match self.stream.handshake() {
            Ok(Handshake::Done) => {
                // The client's first request may have come with its last handshake message
                // and already sit decrypted in the transport: look before waiting for an edge.
                self.can_read = true;
                let state = self.first_head_state(cx.now());
                (state, Flow::Continue)
            }
            Ok(Handshake::WantRead) => {
                self.can_read = false;
                (State::Handshake { deadline }, Flow::Stop(Step::Blocked))
            }
            Ok(Handshake::WantWrite) => {
                self.can_write = false;
                (State::Handshake { deadline }, Flow::Stop(Step::Blocked))
            }
            Err(_) => (State::Done, Flow::Stop(Step::Done)),
        }
    }

    /// Writes out what the transport still holds of the responses (TLS records queued behind
    /// a full socket). Nothing, at no cost, over plain TCP.
    pub(super) fn flush_stream(&mut self) -> Flow {
        match self.stream.flush() {
            Ok(()) => Flow::Continue,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                self.can_write = false;
                Flow::Stop(Step::Blocked)
            }
            Err(_) => Flow::Stop(Step::Done),
        }
    }
}
