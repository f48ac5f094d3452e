//! The TLS handshake state, fed arbitrary bytes: `runtime::tls::TlsConnection` over one end
//! of a non-blocking Unix socket pair (the transport only needs `recv`/`send` on an fd), the
//! fuzzer's bytes written to the other end in reads cut as the control bytes say, the
//! handshake stepped after each, then the peer closed.
//!
//! Input layout: `n = data[0] % 16` control bytes follow, then the client's bytes; read `i` is
//! `1 + ctrl[i % n] % 64` bytes long (with `n == 0`, one read).
//!
//! Checked: no panic; every step returns (the transport never blocks); and once the peer has
//! closed, the next step does not wait for more bytes: the handshake has ended, in an error.

#![no_main]

use std::io::{Read, Write};
use std::os::fd::OwnedFd;
use std::os::unix::net::UnixStream;
use std::sync::OnceLock;
use std::time::Duration;

use libfuzzer_sys::fuzz_target;
use tinyhttpd::runtime::transport::{Handshake, TcpConnection, Transport};
use tinyhttpd::server::tls::{KeyPair, Tls, TlsSettings};

/// A throwaway self-signed P-256 certificate for localhost, for this target only.
const CERT_PEM: &str = r"-----BEGIN CERTIFICATE-----
MIIBmTCCAT+gAwIBAgIUdpMXCZoQ7zPm2O1a6Q1MvBEfwRYwCgYIKoZIzj0EAwIw
FDESMBAGA1UEAwwJbG9jYWxob3N0MB4XDTI2MTIwMTAyMzc1MFoXDTI2MTIzMTAy
Mzc1MFowFDESMBAGA1UEAwwJbG9jYWxob3N0MFkwEwYHKoZIzj0CAQYIKoZIzj0D
AQcDQgAE7Tu2whOj6D2bOO8I4eoTHtqJn5QjmSIuCNdxg8DCOF3L1JaSkSwaklSl
ZFIDItL6Tp8YsEp1Ocid9pITmYgJB6NvMG0wHQYDVR0OBBYEFBlMk1cl7eONRtaZ
vgKkp1Z5H2p7MB8GA1UdIwQYMBaAFBlMk1cl7eONRtaZvgKkp1Z5H2p7MA8GA1Ud
EwEB/wQFMAMBAf8wGgYDVR0RBBMwEYIJbG9jYWxob3N0hwR/AAABMAoGCCqGSM49
BAMCA0gAMEUCIEhu5hIfvC+ik5Ix1Y/8Tp5aAg3jUkH9q9jOQfIOX0owAiEA9d9x
AUdQw1WkVSb223X5O+DTCmpMCrlr4a5Ry3xPxyc=
-----END CERTIFICATE-----
";
const KEY_PEM: &str = r"-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgQ+HG6ID0xps1ynro
J7oiGq07fQeTNGqarSGCnykizsGhRANCAATtO7bCE6PoPZs47wjh6hMe2omflCOZ
Ii4I13GDwMI4XcvUlpKRLBqSVKVkUgMi0vpOnxiwSnU5yJ32khOZiAkH
-----END PRIVATE KEY-----
";

static FILES: OnceLock<KeyPair> = OnceLock::new();

fn key_pair() -> KeyPair {
    FILES
        .get_or_init(|| {
            let dir = std::env::temp_dir().join(format!("tinyhttpd-fuzz-tls-{}", std::process::id()));
            std::fs::create_dir_all(&dir).unwrap();
            let pair = KeyPair {
                cert: dir.join("cert.pem"),
                key: dir.join("key.pem"),
            };
            std::fs::write(&pair.cert, CERT_PEM).unwrap();
            std::fs::write(&pair.key, KEY_PEM).unwrap();
            pair
        })
        .clone()
}

fn tls() -> Tls {
    let settings = TlsSettings {
        pairs: vec![key_pair()],
        handshake_timeout: Duration::from_secs(10),
        hsts_max_age: None,
    };
    Tls::load(&settings).unwrap()
}

fn step(server: &mut impl Transport) -> Result<Handshake, ()> {
    server.handshake().map_err(drop)
}

fuzz_target!(|data: &[u8]| {
    let Some((&n, rest)) = data.split_first() else {
        return;
    };
    let n = usize::from(n % 16);
    let (ctrl, payload) = rest.split_at(n.min(rest.len()));
    let (ours, mut client) = UnixStream::pair().unwrap();
    ours.set_nonblocking(true).unwrap();
    client.set_nonblocking(true).unwrap();
    let mut server = tls().accept(TcpConnection::new(OwnedFd::from(ours))).unwrap();
    let mut outcome = Ok(Handshake::WantRead);
    let mut offset = 0;
    let mut i = 0;
    while offset < payload.len() && outcome.is_ok() {
        let len = match ctrl.get(i % ctrl.len().max(1)) {
            Some(c) => 1 + usize::from(c % 64),
            None => payload.len(),
        };
        let end = (offset + len).min(payload.len());
        // The socket pair's buffer is far larger than any input the fuzzer makes.
        client.write_all(&payload[offset..end]).unwrap();
        offset = end;
        i += 1;
        outcome = step(&mut server);
        let mut sink = [0u8; 4096];
        while client.read(&mut sink).is_ok_and(|n| n > 0) {}
    }
    drop(client.shutdown(std::net::Shutdown::Write));
    if matches!(outcome, Ok(Handshake::WantRead | Handshake::WantWrite)) {
        let last = step(&mut server);
        assert!(
            !matches!(last, Ok(Handshake::WantRead)),
            "the handshake waits for bytes from a peer that has closed"
        );
    }
});
