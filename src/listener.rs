//! The listening socket and the task that accepts connections from it.

use std::io;
use std::net::SocketAddr;
use std::os::fd::{AsFd, AsRawFd, RawFd};
use std::rc::Rc;

use socket2::{Domain, Protocol, Socket, Type};

use crate::config::{ACCEPT_RETRY_DELAY, ACCEPTS_PER_RESUME, LISTEN_BACKLOG};
use crate::conn::Connection;
use crate::event_loop::{Context, Step, Wake};
use crate::server::ServerTask;
use crate::shared::Shared;
use crate::sys::socket;
use crate::transport::TcpConnection;

/// Whether other sockets may listen on the same address (one per worker process).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sharing {
    Exclusive,
    /// SO_REUSEPORT: the kernel spreads new connections over every listening socket bound
    /// to the port, so each worker accepts from its own queue.
    ReusePort,
}

/// Binds a non-blocking, close-on-exec listening socket. SO_REUSEADDR lets a restarted server
/// bind while old connections sit in TIME_WAIT.
pub fn bind(addr: SocketAddr, sharing: Sharing) -> io::Result<Socket> {
    let socket = bound_socket(addr, sharing)?;
    socket.listen(LISTEN_BACKLOG)?;
    Ok(socket)
}

/// A socket bound to `addr` but not listening: it holds the port (and settles which port `0`
/// means) for workers to bind beside, without joining the group of sockets that connections
/// are spread over.
///
/// It is bound *without* SO_REUSEPORT, so a port on which anything listens (another
/// tinyhttpd, alone or with workers) is refused with "address in use", as a single server
/// would be. The workers can still bind beside it: on Linux, SO_REUSEADDR on both sockets is
/// enough when the one already bound does not listen.
pub fn reserve(addr: SocketAddr) -> io::Result<Socket> {
    bound_socket(addr, Sharing::Exclusive)
}

fn bound_socket(addr: SocketAddr, sharing: Sharing) -> io::Result<Socket> {
    let socket = Socket::new(
        Domain::for_address(addr),
        Type::STREAM.nonblocking().cloexec(),
        Some(Protocol::TCP),
    )?;
    socket.set_reuse_address(true)?;
    // Accepted sockets inherit it: responses are written whole, so waiting to coalesce
    // only adds latency (and a 40 ms delayed-ACK stall on pipelined requests).
    socket.set_tcp_nodelay(true)?;
    if sharing == Sharing::ReusePort {
        socket.set_reuse_port(true)?;
    }
    socket.bind(&addr.into())?;
    Ok(socket)
}

/// The address a socket is bound to (with the real port when `0` was asked for).
pub fn local_addr(socket: &Socket) -> io::Result<SocketAddr> {
    socket
        .local_addr()?
        .as_socket()
        .ok_or_else(|| io::Error::other("not an IP socket"))
}

pub struct Listener {
    socket: Socket,
    shared: Rc<Shared>,
}

impl Listener {
    pub fn new(socket: Socket, shared: Rc<Shared>) -> Listener {
        Listener { socket, shared }
    }

    pub fn fd(&self) -> RawFd {
        self.socket.as_raw_fd()
    }

    /// Accepts until the backlog is empty (edge-triggered), a batch at a time so a flood of
    /// new connections cannot starve the established ones. At the connection limit it waits,
    /// without a deadline, for a closing connection to notify it.
    pub fn resume(&mut self, wake: Wake, cx: &mut Context<'_, ServerTask>) -> Step {
        if wake.shutdown {
            return Step::Done; // closing the socket refuses new connections
        }
        for _ in 0..ACCEPTS_PER_RESUME {
            if self.shared.at_connection_limit() {
                self.shared.pause_listener(cx.id());
                cx.set_deadline(None);
                return Step::Blocked;
            }
            match socket::accept(self.socket.as_fd()) {
                Ok((fd, peer)) => {
                    let stream = TcpConnection::new(fd);
                    let connection =
                        Connection::new(stream, peer, Rc::clone(&self.shared), cx.now());
                    cx.spawn(ServerTask::Connection(Box::new(connection)));
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    cx.set_deadline(None);
                    return Step::Blocked;
                }
                Err(e) if is_resource_exhaustion(&e) => {
                    // The waiting connections stay in the backlog; try again shortly rather
                    // than spin on an error that will repeat until something closes.
                    cx.set_deadline(Some(cx.now() + ACCEPT_RETRY_DELAY));
                    return Step::Blocked;
                }
                // ECONNABORTED and friends: that one connection is gone, not the listener.
                Err(_) => continue,
            }
        }
        Step::Yield
    }
}

fn is_resource_exhaustion(error: &io::Error) -> bool {
    matches!(
        error.raw_os_error(),
        Some(libc::EMFILE | libc::ENFILE | libc::ENOBUFS | libc::ENOMEM)
    )
}
