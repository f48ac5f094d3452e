//! The raw HTTP/1.1 client: a connection with its own receive buffer that reads exact
//! responses (pipelined ones too), the parsed `Response`, and request builders.
//!
//! Every socket has a read and write timeout (`IO_TIMEOUT`), so a test never hangs: a server
//! that does not answer makes the test fail with a message saying what it waited for.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use super::server::Server;

/// Read/write timeout of every test socket, and the longest wait for anything.
pub const IO_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Clone, Debug)]
pub struct Response {
    pub version: String,
    pub status: u16,
    pub reason: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Response {
    /// The value of the only header named `name` (case-insensitive). Panics if it appears
    /// more than once; `None` if absent.
    pub fn header(&self, name: &str) -> Option<&str> {
        let mut values = self.header_all(name);
        let first = values.next();
        assert!(
            values.next().is_none(),
            "header {name} appears more than once: {:?}",
            self.headers
        );
        first
    }

    pub fn header_all<'a>(&'a self, name: &str) -> impl Iterator<Item = &'a str> + 'a {
        let name = name.to_ascii_lowercase();
        self.headers
            .iter()
            .filter(move |(n, _)| n.eq_ignore_ascii_case(&name))
            .map(|(_, v)| v.as_str())
    }

    /// The header's value; panics (naming the response) if missing.
    pub fn expect_header(&self, name: &str) -> &str {
        self.header(name)
            .unwrap_or_else(|| panic!("response has no {name} header: {self:?}"))
    }

    pub fn content_length(&self) -> Option<u64> {
        self.header("content-length").map(|v| {
            v.parse()
                .unwrap_or_else(|_| panic!("bad Content-Length {v:?}"))
        })
    }

    pub fn body_text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// Whether the response announces that the connection closes.
    pub fn says_close(&self) -> bool {
        self.header_all("connection")
            .flat_map(|v| v.split(','))
            .any(|o| o.trim().eq_ignore_ascii_case("close"))
    }

    /// Status line and headers, for failure messages (not the body).
    pub fn summary(&self) -> String {
        let mut s = format!("{} {} {}", self.version, self.status, self.reason);
        for (n, v) in &self.headers {
            s.push_str(&format!(" | {n}: {v}"));
        }
        s
    }
}

/// What reading a response found.
#[derive(Debug)]
pub enum Read1 {
    Response(Response),
    /// The connection ended cleanly before any byte of a response.
    Eof,
    /// A socket error (reset, timeout) before a complete response.
    Error(io::Error, Vec<u8>),
}

/// A client connection with its own receive buffer, so several pipelined responses can be
/// read one after another from exactly where the previous one ended.
pub struct Conn {
    pub stream: TcpStream,
    buf: Vec<u8>,
    eof: bool,
}

impl Conn {
    pub fn connect(addr: SocketAddr) -> Conn {
        let stream = TcpStream::connect_timeout(&addr, IO_TIMEOUT)
            .unwrap_or_else(|e| panic!("connect {addr}: {e}"));
        Conn::from_stream(stream)
    }

    /// Connects with SO_RCVBUF set to `rcvbuf` bytes *before* the handshake, so the window the
    /// client advertises stays small (and receive autotuning is off): a client that does not
    /// read stalls the sender quickly, and one that reads slowly keeps the sender behind.
    pub fn connect_with_rcvbuf(addr: SocketAddr, rcvbuf: usize) -> Conn {
        let stream = tcp_connect_with_rcvbuf(addr, rcvbuf)
            .unwrap_or_else(|e| panic!("connect {addr} with SO_RCVBUF {rcvbuf}: {e}"));
        Conn::from_stream(stream)
    }

    /// Wraps a connected stream, setting the usual timeouts and TCP_NODELAY.
    pub fn from_stream(stream: TcpStream) -> Conn {
        stream.set_read_timeout(Some(IO_TIMEOUT)).unwrap();
        stream.set_write_timeout(Some(IO_TIMEOUT)).unwrap();
        stream.set_nodelay(true).unwrap();
        Conn {
            stream,
            buf: Vec::new(),
            eof: false,
        }
    }

    pub fn set_read_timeout(&self, timeout: Duration) {
        self.stream.set_read_timeout(Some(timeout)).unwrap();
    }

    pub fn send(&mut self, bytes: impl AsRef<[u8]>) {
        self.stream
            .write_all(bytes.as_ref())
            .unwrap_or_else(|e| panic!("send: {e}"));
    }

    /// Sends without panicking (the server may already have closed).
    pub fn try_send(&mut self, bytes: impl AsRef<[u8]>) -> io::Result<()> {
        self.stream.write_all(bytes.as_ref())
    }

    /// Convenience: `GET target HTTP/1.1` with a Host header on this connection.
    pub fn get(&mut self, target: &str) -> Response {
        self.send(format!("GET {target} HTTP/1.1\r\nHost: localhost\r\n\r\n"));
        self.read_response()
    }

    /// Bytes received and not yet consumed by a parsed response.
    pub fn buffered(&self) -> &[u8] {
        &self.buf
    }

    /// Reads once into the buffer; `Ok(0)` at end of stream.
    fn fill(&mut self) -> io::Result<usize> {
        if self.eof {
            return Ok(0);
        }
        let mut chunk = vec![0u8; 256 * 1024];
        let n = loop {
            match self.stream.read(&mut chunk) {
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                other => break other?,
            }
        };
        if n == 0 {
            self.eof = true;
        }
        self.buf.extend_from_slice(&chunk[..n]);
        Ok(n)
    }

    /// Reads the next response; the body is read by Content-Length (or to EOF without it).
    pub fn read_response(&mut self) -> Response {
        self.expect_response(false)
    }

    /// Reads the next response to a HEAD request: head only, whatever Content-Length says.
    pub fn read_head_response(&mut self) -> Response {
        self.expect_response(true)
    }

    fn expect_response(&mut self, head_only: bool) -> Response {
        match self.try_read_response(head_only) {
            Read1::Response(r) => r,
            Read1::Eof => panic!("connection closed where a response was expected"),
            Read1::Error(e, partial) => panic!(
                "error reading response ({e}); received so far: {:?}",
                String::from_utf8_lossy(&partial)
            ),
        }
    }

    /// Reads the next response, or reports a clean EOF before it, or the error that stopped it.
    pub fn try_read_response(&mut self, head_only: bool) -> Read1 {
        let head_end = loop {
            if let Some(i) = find(&self.buf, b"\r\n\r\n") {
                break i + 4;
            }
            match self.fill() {
                Ok(0) if self.buf.is_empty() => return Read1::Eof,
                Ok(0) => {
                    return Read1::Error(
                        io::Error::new(io::ErrorKind::UnexpectedEof, "EOF inside response head"),
                        self.buf.clone(),
                    );
                }
                Ok(_) => {}
                Err(e) => return Read1::Error(e, self.buf.clone()),
            }
        };
        let head = self.buf[..head_end].to_vec();
        let mut response = parse_head(&head);
        let body_len = if head_only || response.status == 304 || response.status < 200 {
            Some(0)
        } else {
            assert!(
                response.header("transfer-encoding").is_none(),
                "unexpected Transfer-Encoding in response: {}",
                response.summary()
            );
            response.content_length()
        };
        match body_len {
            Some(len) => {
                let len = usize::try_from(len).expect("body fits in memory");
                while self.buf.len() < head_end + len {
                    match self.fill() {
                        Ok(0) => {
                            return Read1::Error(
                                io::Error::new(
                                    io::ErrorKind::UnexpectedEof,
                                    format!(
                                        "EOF after {} of {len} body bytes",
                                        self.buf.len() - head_end
                                    ),
                                ),
                                head,
                            );
                        }
                        Ok(_) => {}
                        Err(e) => return Read1::Error(e, head),
                    }
                }
                response.body = self.buf[head_end..head_end + len].to_vec();
                self.buf.drain(..head_end + len);
            }
            None => {
                // No length: the body runs to the end of the connection.
                loop {
                    match self.fill() {
                        Ok(0) => break,
                        Ok(_) => {}
                        Err(e) => return Read1::Error(e, head),
                    }
                }
                response.body = self.buf[head_end..].to_vec();
                self.buf.clear();
            }
        }
        Read1::Response(response)
    }

    /// Reads responses until the server closes the connection; panics on a socket error.
    pub fn read_until_close(&mut self) -> Vec<Response> {
        let mut responses = Vec::new();
        loop {
            match self.try_read_response(false) {
                Read1::Response(r) => responses.push(r),
                Read1::Eof => return responses,
                Read1::Error(e, partial) => panic!(
                    "error after {} responses: {e}; partial: {:?}",
                    responses.len(),
                    String::from_utf8_lossy(&partial)
                ),
            }
        }
    }

    /// Asserts that the server closes the connection (read returns 0) with no further bytes,
    /// within `IO_TIMEOUT`.
    pub fn expect_eof(&mut self) {
        assert!(
            self.buf.is_empty(),
            "unexpected bytes after the response: {:?}",
            String::from_utf8_lossy(&self.buf)
        );
        match self.fill() {
            Ok(0) => {}
            Ok(n) => panic!(
                "expected the server to close, got {n} more bytes: {:?}",
                String::from_utf8_lossy(&self.buf)
            ),
            Err(e) => panic!("expected the server to close (read returning 0), got error: {e}"),
        }
    }

    /// Waits for the end of the connection: `Ok(())` on EOF or reset, `Err` with whatever
    /// bytes arrived instead (or on timeout).
    pub fn wait_closed(&mut self) -> Result<(), String> {
        loop {
            match self.fill() {
                Ok(0) if self.buf.is_empty() => return Ok(()),
                Ok(0) => {
                    return Err(format!(
                        "bytes before close: {:?}",
                        String::from_utf8_lossy(&self.buf)
                    ));
                }
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::ConnectionReset && self.buf.is_empty() => {
                    return Ok(());
                }
                Err(e) => {
                    return Err(format!(
                        "{e}; bytes: {:?}",
                        String::from_utf8_lossy(&self.buf)
                    ));
                }
            }
        }
    }
}

/// A blocking TCP connection to `addr` whose socket had SO_RCVBUF set to `rcvbuf` before
/// `connect` (the kernel doubles the value for bookkeeping and applies a minimum).
fn tcp_connect_with_rcvbuf(addr: SocketAddr, rcvbuf: usize) -> io::Result<TcpStream> {
    use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

    let domain = match addr {
        SocketAddr::V4(_) => libc::AF_INET,
        SocketAddr::V6(_) => libc::AF_INET6,
    };
    // SAFETY: plain socket(2) call; the result is checked before use.
    let fd = unsafe { libc::socket(domain, libc::SOCK_STREAM | libc::SOCK_CLOEXEC, 0) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `fd` is a new socket that nothing else owns; OwnedFd closes it on every path.
    let fd = unsafe { OwnedFd::from_raw_fd(fd) };
    let size = libc::c_int::try_from(rcvbuf).expect("rcvbuf fits c_int");
    // SAFETY: the option value points at a live c_int of the length passed.
    let ret = unsafe {
        libc::setsockopt(
            fd.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_RCVBUF,
            (&size as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    if ret != 0 {
        return Err(io::Error::last_os_error());
    }
    let ret = match addr {
        SocketAddr::V4(v4) => {
            let sin = libc::sockaddr_in {
                sin_family: libc::AF_INET as libc::sa_family_t,
                sin_port: v4.port().to_be(),
                sin_addr: libc::in_addr {
                    s_addr: u32::from(*v4.ip()).to_be(),
                },
                sin_zero: [0; 8],
            };
            // SAFETY: `sin` is a valid sockaddr_in of the length passed.
            unsafe {
                libc::connect(
                    fd.as_raw_fd(),
                    (&sin as *const libc::sockaddr_in).cast(),
                    std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t,
                )
            }
        }
        SocketAddr::V6(v6) => {
            let sin6 = libc::sockaddr_in6 {
                sin6_family: libc::AF_INET6 as libc::sa_family_t,
                sin6_port: v6.port().to_be(),
                sin6_flowinfo: v6.flowinfo(),
                sin6_addr: libc::in6_addr {
                    s6_addr: v6.ip().octets(),
                },
                sin6_scope_id: v6.scope_id(),
            };
            // SAFETY: `sin6` is a valid sockaddr_in6 of the length passed.
            unsafe {
                libc::connect(
                    fd.as_raw_fd(),
                    (&sin6 as *const libc::sockaddr_in6).cast(),
                    std::mem::size_of::<libc::sockaddr_in6>() as libc::socklen_t,
                )
            }
        }
    };
    if ret != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(TcpStream::from(fd))
}

/// `bytes` for a failure message, shortened in the middle if long.
pub fn preview(bytes: &[u8]) -> String {
    const KEEP: usize = 100;
    if bytes.len() <= 2 * KEEP {
        return format!("{:?}", String::from_utf8_lossy(bytes));
    }
    format!(
        "{:?}...({} bytes)...{:?}",
        String::from_utf8_lossy(&bytes[..KEEP]),
        bytes.len() - 2 * KEEP,
        String::from_utf8_lossy(&bytes[bytes.len() - KEEP..])
    )
}

pub fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

pub fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    find(haystack, needle).is_some()
}

/// Parses a response head (status line and fields, ending in CRLF CRLF). Strict: the status
/// line must be the very first bytes, every line must end in CRLF.
pub fn parse_head(head: &[u8]) -> Response {
    let text = std::str::from_utf8(head)
        .unwrap_or_else(|_| panic!("response head is not UTF-8: {head:?}"));
    let text = text
        .strip_suffix("\r\n\r\n")
        .expect("head ends in CRLF CRLF");
    assert!(
        text.split("\r\n")
            .all(|l| !l.contains('\n') && !l.contains('\r')),
        "bare LF or CR in response head: {text:?}"
    );
    let mut lines = text.split("\r\n");
    let status_line = lines.next().unwrap();
    let mut parts = status_line.splitn(3, ' ');
    let version = parts.next().unwrap_or_default().to_string();
    assert!(
        version == "HTTP/1.1" || version == "HTTP/1.0",
        "response does not start with a status line: {text:?}"
    );
    let status: u16 = parts
        .next()
        .and_then(|c| (c.len() == 3).then_some(c))
        .and_then(|c| c.parse().ok())
        .unwrap_or_else(|| panic!("bad status line {status_line:?}"));
    let reason = parts.next().unwrap_or_default().to_string();
    let headers = lines
        .map(|line| {
            let (name, value) = line
                .split_once(':')
                .unwrap_or_else(|| panic!("header line without colon: {line:?}"));
            assert!(
                !name.is_empty() && !name.contains([' ', '\t']),
                "bad header name in {line:?}"
            );
            (
                name.to_string(),
                value.trim_matches([' ', '\t']).to_string(),
            )
        })
        .collect();
    Response {
        version,
        status,
        reason,
        headers,
        body: Vec::new(),
    }
}

/// A plain GET request with a Host header.
pub fn get_request(target: &str) -> String {
    format!("GET {target} HTTP/1.1\r\nHost: localhost\r\n\r\n")
}

/// A GET request that asks the server to close after answering.
pub fn get_close_request(target: &str) -> String {
    format!("GET {target} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
}

/// Sends `bytes` on a new connection and asserts the reply is one response with `status`,
/// announcing `Connection: close`, after which the server closes the connection; then asserts
/// the server still serves new connections. Returns the response.
pub fn expect_error_and_close(server: &Server, bytes: impl AsRef<[u8]>, status: u16) -> Response {
    let bytes = bytes.as_ref();
    let mut conn = server.connect();
    conn.send(bytes);
    let response = match conn.try_read_response(false) {
        Read1::Response(r) => r,
        other => panic!(
            "request {}: expected {status}, got {other:?}",
            preview(bytes)
        ),
    };
    assert_eq!(
        response.status,
        status,
        "request {}: {}",
        preview(bytes),
        response.summary()
    );
    assert!(
        response.says_close(),
        "request {}: an error response that ends the connection should say \
         Connection: close: {}",
        preview(bytes),
        response.summary()
    );
    let length = response.content_length().expect("error has Content-Length");
    assert_eq!(length, response.body.len() as u64);
    conn.expect_eof();
    server.assert_alive();
    response
}

/// One request on a new connection with `Connection: close` and the extra `headers`; reads
/// the response (head only for HEAD) and asserts that nothing follows it.
pub fn send_closing(
    addr: SocketAddr,
    method: &str,
    target: &str,
    headers: &[(&str, &str)],
) -> Response {
    let mut request =
        format!("{method} {target} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n");
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str("\r\n");
    let mut conn = Conn::connect(addr);
    conn.send(&request);
    let response = if method == "HEAD" {
        conn.read_head_response()
    } else {
        conn.read_response()
    };
    conn.expect_eof();
    response
}

/// Reads from `stream` until a whole response head has arrived; returns it parsed, and the
/// body bytes that came with it. For tests that stream a large body themselves.
pub fn read_head_from(stream: &mut TcpStream) -> Result<(Response, Vec<u8>), String> {
    let mut buf = vec![0u8; 64 * 1024];
    let mut head = Vec::new();
    loop {
        if let Some(i) = find(&head, b"\r\n\r\n") {
            let body = head.split_off(i + 4);
            return Ok((parse_head(&head), body));
        }
        let n = stream
            .read(&mut buf)
            .map_err(|e| format!("reading the head: {e}"))?;
        if n == 0 {
            return Err(format!("EOF inside the head: {}", preview(&head)));
        }
        head.extend_from_slice(&buf[..n]);
    }
}
