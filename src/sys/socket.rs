//! Connected-socket calls: accept (and a look at the backlog), recv, send and shutdown.
//!
//! The listening socket itself is built with socket2 (see `listener.rs`); these are the calls
//! made per connection, kept as direct as the syscalls so their cost is visible.

use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd};

use super::{check, retry_eintr};

/// Accepts one connection as a non-blocking, close-on-exec socket, with the peer's IP
/// address when it is an IP socket. `WouldBlock` means the backlog is empty.
pub fn accept(listener: BorrowedFd<'_>) -> io::Result<(OwnedFd, Option<IpAddr>)> {
    // SAFETY: all-zero is a valid sockaddr_storage (family AF_UNSPEC).
    let mut addr: libc::sockaddr_storage = unsafe { std::mem::zeroed() };
    let mut len = std::mem::size_of::<libc::sockaddr_storage>() as libc::socklen_t;
    // SAFETY: `addr` and `len` describe a writable sockaddr_storage that outlives the call;
    // the kernel writes at most `len` bytes and stores the real length back.
    let fd = retry_eintr(|| unsafe {
        libc::accept4(
            listener.as_raw_fd(),
            (&mut addr as *mut libc::sockaddr_storage).cast(),
            &mut len,
            libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC,
        )
    })?;
    // SAFETY: accept4 returned a new fd that nothing else owns.
    let fd = unsafe { OwnedFd::from_raw_fd(fd) };
    Ok((fd, peer_ip(&addr)))
}

/// Whether a connection waits in a listening socket's backlog, without taking it.
pub fn has_pending(listener: BorrowedFd<'_>) -> io::Result<bool> {
    let mut poll = libc::pollfd {
        fd: listener.as_raw_fd(),
        events: libc::POLLIN,
        revents: 0,
    };
    // SAFETY: one valid pollfd, which outlives the call; a zero timeout never blocks.
    let ready = retry_eintr(|| unsafe { libc::poll(&mut poll, 1, 0) })?;
    Ok(ready > 0 && poll.revents & libc::POLLIN != 0)
}

fn peer_ip(addr: &libc::sockaddr_storage) -> Option<IpAddr> {
    match i32::from(addr.ss_family) {
        libc::AF_INET => {
            // SAFETY: the family says the storage holds a sockaddr_in, which it is large
            // and aligned enough for.
            let v4 =
                unsafe { &*(addr as *const libc::sockaddr_storage).cast::<libc::sockaddr_in>() };
            Some(IpAddr::V4(Ipv4Addr::from(u32::from_be(v4.sin_addr.s_addr))))
        }
        libc::AF_INET6 => {
            // SAFETY: as above, for sockaddr_in6.
            let v6 =
                unsafe { &*(addr as *const libc::sockaddr_storage).cast::<libc::sockaddr_in6>() };
            let ip = Ipv6Addr::from(v6.sin6_addr.s6_addr);
            Some(ip.to_ipv4_mapped().map_or(IpAddr::V6(ip), IpAddr::V4))
        }
        _ => None,
    }
}

/// Reads into `buf`; `Ok(0)` is end of stream.
pub fn recv(socket: BorrowedFd<'_>, buf: &mut [u8]) -> io::Result<usize> {
    // SAFETY: the pointer and length describe `buf`, which is valid for writes for the call.
    let n = retry_eintr(|| unsafe {
        libc::recv(socket.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len(), 0)
    })?;
    Ok(n as usize)
}

/// Writes from `buf` without raising SIGPIPE. `more` tells the kernel more data follows at once
/// (`MSG_MORE`), so a response head is not sent as its own small segment before a file body.
pub fn send(socket: BorrowedFd<'_>, buf: &[u8], more: bool) -> io::Result<usize> {
    let flags = libc::MSG_NOSIGNAL | if more { libc::MSG_MORE } else { 0 };
    // SAFETY: the pointer and length describe `buf`, which is valid for reads for the call.
    let n = retry_eintr(|| unsafe {
        libc::send(socket.as_raw_fd(), buf.as_ptr().cast(), buf.len(), flags)
    })?;
    Ok(n as usize)
}

/// Sends FIN: the peer sees the end of our responses while we can still drain what it sent.
pub fn shutdown_write(socket: BorrowedFd<'_>) -> io::Result<()> {
    // SAFETY: shutdown takes no pointers.
    check(unsafe { libc::shutdown(socket.as_raw_fd(), libc::SHUT_WR) })?;
    Ok(())
}
