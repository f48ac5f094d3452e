//! The listening socket and the task that accepts connections from it. On an HTTPS server
//! (`Shared::tls`) each accepted socket gets a TLS transport and starts in the handshake.

use std::io;
use std::net::SocketAddr;
use std::os::fd::{AsFd, AsRawFd, OwnedFd, RawFd};
use std::rc::Rc;
use std::time::Duration;

use socket2::{Domain, Protocol, Socket, Type};

use crate::runtime::error_log::{self, Event};
use crate::runtime::task::{Context, Step, TaskContext, Wake};
use crate::runtime::tls::TlsConnection;
use crate::runtime::transport::TcpConnection;
use crate::server::conn::Connection;
use crate::server::shared::Shared;
use crate::server::slots::ConnectionSlot;
use crate::sys::socket;

/// Connections accepted per resume of the listener before it yields to the connections.
pub const ACCEPTS_PER_RESUME: usize = 64;
/// The listen(2) backlog; the kernel caps it at net.core.somaxconn.
pub const LISTEN_BACKLOG: i32 = 4096;
/// How long the listener waits before accepting again after running out of fds or memory,
/// and after the first accept error that is about the listening socket, not one connection.
pub const ACCEPT_RETRY_DELAY: Duration = Duration::from_millis(100);
/// Each further accept error in a row doubles the wait, up to this.
pub const ACCEPT_BACKOFF_MAX: Duration = Duration::from_secs(2);

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

/// Takes a listening socket another process passed us (systemd's socket activation, or the
/// server we upgrade) and sets it up as `bind` would: non-blocking (accept must never wait
/// in the loop), close-on-exec, TCP_NODELAY for the connections it accepts. Refuses an fd that
/// is not a listening TCP socket, which would fail every accept.
pub fn inherit(fd: OwnedFd) -> io::Result<Socket> {
    let socket = Socket::from(fd);
    let not_listening = |what: &str| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("a passed fd is {what}, not a listening TCP socket"),
        )
    };
    if socket.r#type().map_err(|_| not_listening("not a socket"))? != Type::STREAM {
        return Err(not_listening("a socket of another type"));
    }
    if !matches!(socket.domain()?, Domain::IPV4 | Domain::IPV6) {
        return Err(not_listening("a socket of another family"));
    }
    if !socket.is_listener()? {
        return Err(not_listening("a socket that does not listen"));
    }
    socket.set_nonblocking(true)?;
    socket.set_cloexec(true)?;
    socket.set_tcp_nodelay(true)?;
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
    /// How long to wait after the next accept error about the listening socket itself.
    backoff: Duration,
}

/// What a failed accept means for the listener.
enum AcceptError {
    /// The backlog is empty.
    Empty,
    /// That one connection is gone (reset, or a network error passed on by the kernel):
    /// the next may be fine.
    OneConnection,
    /// Out of fds or memory: the waiting connections stay in the backlog until some close.
    Resources,
    /// Something about the listening socket itself (EPERM from a security module or a
    /// firewall hook, EINVAL once it stopped listening): it will likely fail again.
    Listener,
}

impl AcceptError {
    fn of(error: &io::Error) -> AcceptError {
        if error.kind() == io::ErrorKind::WouldBlock {
            return AcceptError::Empty;
        }
        // accept(2): Linux passes pending network errors of the new connection on as
        // accept's own; they are to be treated like EAGAIN, that is, retried.
        match error.raw_os_error() {
            Some(
                libc::ECONNABORTED
                | libc::EPROTO
                | libc::ENETDOWN
                | libc::ENOPROTOOPT
                | libc::EHOSTDOWN
                | libc::ENONET
                | libc::EHOSTUNREACH
                | libc::EOPNOTSUPP
                | libc::ENETUNREACH,
            ) => AcceptError::OneConnection,
            Some(libc::EMFILE | libc::ENFILE | libc::ENOBUFS | libc::ENOMEM) => {
                AcceptError::Resources
            }
            _ => AcceptError::Listener,
        }
    }
}

impl Listener {
    pub fn new(socket: Socket, shared: Rc<Shared>) -> Listener {
        Listener {
            socket,
            shared,
            backoff: ACCEPT_RETRY_DELAY,
        }
    }

    pub fn fd(&self) -> RawFd {
        self.socket.as_raw_fd()
    }

    /// Accepts until the backlog is empty (edge-triggered), a batch at a time so a flood of
    /// new connections cannot starve the established ones. When it cannot accept for want of
    /// a slot or an fd, it makes room by closing idle connections and waits for a slot to be
    /// freed (see `slots`).
    pub fn resume<T>(&mut self, wake: Wake, cx: &mut Context<'_, T>) -> Step
    where
        T: From<Connection<TcpConnection>> + From<Connection<TlsConnection>>,
    {
        if wake.shutdown {
            return Step::Done; // closing the socket refuses new connections
        }
        for _ in 0..ACCEPTS_PER_RESUME {
            if self.shared.slots().at_limit() {
                return self.wait_for_slot(cx);
            }
            match socket::accept(self.socket.as_fd()) {
                Ok((fd, peer)) => {
                    self.backoff = ACCEPT_RETRY_DELAY;
                    if !self.shared.proxy().admits(peer) {
                        drop(fd); // an untrusted peer may not speak the PROXY protocol
                        continue;
                    }
                    let stream = TcpConnection::new(fd);
                    let slot = ConnectionSlot::claim(self.shared.slots());
                    let shared = Rc::clone(&self.shared);
                    let now = cx.now();
                    match self.shared.tls() {
                        None => cx.spawn(T::from(Connection::new(stream, peer, slot, shared, now))),
                        Some(tls) => match tls.accept(stream) {
                            Ok(stream) => cx.spawn(T::from(
                                Connection::new(stream, peer, slot, shared, now).handshaking(now),
                            )),
                            // rustls could not start a session: that client only is dropped.
                            Err(_) => continue,
                        },
                    }
                }
                Err(e) => match AcceptError::of(&e) {
                    AcceptError::Empty => {
                        self.backoff = ACCEPT_RETRY_DELAY;
                        cx.set_deadline(None);
                        return Step::Blocked;
                    }
                    AcceptError::OneConnection => continue,
                    AcceptError::Resources => return self.wait_for_fds(&e, cx),
                    AcceptError::Listener => return self.back_off(&e, cx),
                },
            }
        }
        Step::Yield
    }

    /// At `--max-conns`: if a client waits, close idle connections to make room. Either way
    /// wait, without a deadline, for a slot to be freed; a client arriving wakes us too.
    fn wait_for_slot(&mut self, cx: &mut TaskContext<'_>) -> Step {
        if socket::has_pending(self.socket.as_fd()).unwrap_or(false) {
            self.shared.slots().reclaim_idle(cx);
        }
        self.shared.slots().pause_listener(cx.id());
        cx.set_deadline(None);
        Step::Blocked
    }

    /// Out of fds or memory, with a client in the backlog: close idle connections to make
    /// room, and try again once one has closed, or after a while at the latest, never
    /// spinning on an error that repeats until something closes.
    fn wait_for_fds(&mut self, error: &io::Error, cx: &mut TaskContext<'_>) -> Step {
        error_log::warn(
            Event::Accept,
            format_args!("accept: {error}: closing idle connections and retrying"),
        );
        self.shared.slots().reclaim_idle(cx);
        self.shared.slots().pause_listener(cx.id());
        let retry_at = cx.now() + ACCEPT_RETRY_DELAY;
        cx.set_deadline(Some(retry_at));
        Step::Blocked
    }

    /// The listening socket itself fails: try again later, each time a little later, up to
    /// `ACCEPT_BACKOFF_MAX`, rather than retry at once every turn.
    fn back_off(&mut self, error: &io::Error, cx: &mut TaskContext<'_>) -> Step {
        error_log::error(
            Event::Accept,
            format_args!(
                "accept: {error}: retrying in {} ms",
                self.backoff.as_millis()
            ),
        );
        let retry_at = cx.now() + self.backoff;
        cx.set_deadline(Some(retry_at));
        self.backoff = (self.backoff * 2).min(ACCEPT_BACKOFF_MAX);
        Step::Blocked
    }
}

#[cfg(test)]
mod tests {
    use std::fs::File;
    use std::net::{Ipv4Addr, Shutdown, TcpStream};
    use std::os::fd::OwnedFd;
    use std::path::Path;
    use std::time::Instant;

    use super::*;
    use crate::runtime::event_loop::EventLoop;
    use crate::runtime::memory::Detached;
    use crate::runtime::task::{Notifier, Task};
    use crate::server::extra_fields::ExtraFields;
    use crate::server::shared::Timeouts;
    use crate::site::files::Site;
    use crate::site::options::SiteOptions;
    use crate::sys::epoll::Interest;

    /// The two kinds of task these tests run: the listener spawns connections through
    /// `From`, as it does into the server's own task enum.
    enum TestTask {
        Listener(Listener),
        Connection(Box<Connection<TcpConnection>>),
    }

    impl From<Connection<TlsConnection>> for TestTask {
        fn from(_: Connection<TlsConnection>) -> TestTask {
            unreachable!("these tests serve plain HTTP")
        }
    }

    impl From<Connection<TcpConnection>> for TestTask {
        fn from(connection: Connection<TcpConnection>) -> TestTask {
            TestTask::Connection(Box::new(connection))
        }
    }

    impl Task for TestTask {
        fn source(&self) -> Option<(RawFd, Interest)> {
            match self {
                TestTask::Listener(listener) => Some((listener.fd(), Interest::READABLE)),
                TestTask::Connection(connection) => {
                    Some((connection.stream().raw_fd(), Interest::BOTH))
                }
            }
        }

        fn resume(&mut self, wake: Wake, cx: &mut Context<'_, Self>) -> Step {
            match self {
                TestTask::Listener(listener) => listener.resume(wake, cx),
                TestTask::Connection(connection) => connection.resume(wake, cx),
            }
        }
    }

    fn shared(max_connections: usize, notifier: Notifier) -> Rc<Shared> {
        let options = SiteOptions::default();
        let site = Site::open(Path::new("/"), options).expect("open / as a site");
        let second = Duration::from_secs(1);
        let timeouts = Timeouts {
            head: second,
            body: second,
            keepalive: second,
            send: second,
        };
        Rc::new(Shared::new(
            site,
            ExtraFields::default(),
            None,
            timeouts,
            0,
            max_connections,
            notifier,
        ))
    }

    fn loopback_listener() -> Socket {
        let any_port = SocketAddr::from((Ipv4Addr::LOCALHOST, 0));
        bind(any_port, Sharing::Exclusive).expect("bind on loopback")
    }

    /// With `--max-conns 1`, a client waits while the one slot is held by a connection that
    /// epoll then refuses: the loop drops it without running it, and the listener, paused at
    /// the limit, must still be woken to take the client.
    #[test]
    fn a_connection_refused_by_epoll_wakes_the_paused_listener() {
        const WAIT: Duration = Duration::from_secs(1);
        let mut event_loop = EventLoop::<TestTask>::new().expect("event loop");
        let shared = shared(1, event_loop.notifier());
        let socket = loopback_listener();
        let _client = TcpStream::connect(local_addr(&socket).expect("address")).expect("connect");
        let slot = ConnectionSlot::claim(shared.slots());
        let listener = Listener::new(socket, Rc::clone(&shared));
        event_loop
            .spawn(TestTask::Listener(listener))
            .expect("register the listener");
        event_loop.turn_within(WAIT).expect("turn");
        assert!(
            shared.slots().at_limit(),
            "the client was taken over the limit"
        );

        // A directory cannot be polled: epoll_ctl fails with EPERM.
        let unpollable = OwnedFd::from(File::open("/").expect("open /"));
        let stream = TcpConnection::new(unpollable);
        let refused = Connection::new(stream, None, slot, Rc::clone(&shared), Instant::now());
        let spawned = event_loop.spawn(TestTask::Connection(Box::new(refused)));
        assert!(spawned.is_err(), "epoll accepted a directory");
        assert!(
            !shared.slots().at_limit(),
            "the refused connection kept its slot"
        );

        event_loop.turn_within(WAIT).expect("turn");
        assert!(
            shared.slots().at_limit(),
            "the paused listener was not woken to accept the waiting client"
        );
    }

    /// A socket that stopped listening fails every accept with EINVAL: the listener waits,
    /// longer each time, instead of trying again at once, turn after turn.
    #[test]
    fn persistent_accept_error_backs_off() {
        let socket = loopback_listener();
        // On Linux, shutting down a listening socket's receive side moves it to CLOSE.
        socket.shutdown(Shutdown::Read).expect("shutdown");
        let mut listener = Listener::new(socket, shared(16, Notifier::default()));
        let mut driver = Detached::<TestTask>::default();
        let mut now = Instant::now();
        let mut delays = Vec::new();
        for _ in 0..4 {
            let step = driver.resume(now, |cx| listener.resume(Wake::default(), cx));
            assert_eq!(step, Step::Blocked, "the listener must wait, not spin");
            let deadline = driver.deadline.expect("a deadline to try again");
            delays.push(deadline - now);
            now = deadline;
        }
        assert!(delays[0] >= ACCEPT_RETRY_DELAY, "{delays:?}");
        assert!(delays.windows(2).all(|w| w[1] >= w[0]), "{delays:?}");
        assert!(delays[3] > delays[0], "no back-off: {delays:?}");
    }
}
