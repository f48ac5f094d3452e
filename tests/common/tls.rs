//! HTTPS helpers: a self-signed certificate made by `openssl req` for the names given, and a
//! blocking TLS client (rustls) that speaks raw HTTP/1.1 over it, for pipelining and for
//! holding a connection open across a certificate reload.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use rustls::{ClientConfig, ClientConnection, RootCertStore, StreamOwned};

/// How long a TLS test client waits for any one read.
const READ_TIMEOUT: Duration = Duration::from_secs(5);

/// A certificate and its key, in `dir` as `STEM.pem` and `STEM.key`.
pub struct TestCert {
    pub cert: PathBuf,
    pub key: PathBuf,
}

/// A self-signed ECDSA P-256 certificate for `names` (DNS names; `127.0.0.1` as an IP).
pub fn make_cert(dir: &Path, stem: &str, names: &[&str]) -> TestCert {
    let cert = dir.join(format!("{stem}.pem"));
    let key = dir.join(format!("{stem}.key"));
    let san = names
        .iter()
        .map(|n| match n.parse::<std::net::IpAddr>() {
            Ok(_) => format!("IP:{n}"),
            Err(_) => format!("DNS:{n}"),
        })
        .collect::<Vec<_>>()
        .join(",");
    let status = Command::new("openssl")
        .args(["req", "-x509", "-newkey", "ec", "-pkeyopt"])
        .args(["ec_paramgen_curve:prime256v1", "-nodes", "-days", "2"])
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .arg("-subj")
        .arg(format!("/CN={}", names[0]))
        .arg("-addext")
        .arg(format!("subjectAltName={san}"))
        // A certificate that is its own trust anchor must still say it is no CA, or webpki
        // refuses it as a server certificate (CaUsedAsEndEntity).
        .args(["-addext", "basicConstraints=critical,CA:FALSE"])
        .stderr(std::process::Stdio::null())
        .status()
        .expect("run openssl (Debian package openssl)");
    assert!(status.success(), "openssl req failed");
    TestCert { cert, key }
}

/// A TLS connection to the server at `addr`, trusting only `ca`, asking for `name` by SNI.
pub struct TlsClient {
    pub stream: StreamOwned<ClientConnection, TcpStream>,
}

/// A client configuration trusting `ca`, offering http/1.1 by ALPN, at the given versions.
pub fn client_config(
    ca: &Path,
    versions: &[&'static rustls::SupportedProtocolVersion],
) -> Arc<ClientConfig> {
    let mut roots = RootCertStore::empty();
    for cert in CertificateDer::pem_file_iter(ca).expect("read CA") {
        roots.add(cert.expect("parse CA")).expect("add CA");
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(versions)
        .expect("versions")
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Arc::new(config)
}

impl TlsClient {
    /// Connects and completes the handshake; `Err` if it fails (a certificate not trusted).
    pub fn connect(addr: SocketAddr, name: &str, config: Arc<ClientConfig>) -> io::Result<Self> {
        let name = ServerName::try_from(name.to_string()).expect("server name");
        let tls = ClientConnection::new(config, name).map_err(io::Error::other)?;
        let tcp = TcpStream::connect(addr)?;
        tcp.set_read_timeout(Some(READ_TIMEOUT))?;
        let mut stream = StreamOwned::new(tls, tcp);
        while stream.conn.is_handshaking() {
            stream.conn.complete_io(&mut stream.sock)?;
        }
        Ok(TlsClient { stream })
    }

    pub fn send(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).expect("write over TLS");
        self.stream.flush().expect("flush over TLS");
    }

    /// Reads the head of a response that has no body (to HEAD).
    pub fn response_head_only(&mut self) -> (String, Vec<u8>) {
        let mut head = Vec::new();
        let mut byte = [0u8; 1];
        while !head.ends_with(b"\r\n\r\n") {
            self.stream
                .read_exact(&mut byte)
                .expect("read response head");
            head.push(byte[0]);
        }
        (String::from_utf8(head).expect("ASCII head"), Vec::new())
    }

    /// Reads one response with a Content-Length body: its head and its body.
    pub fn response(&mut self) -> (String, Vec<u8>) {
        let (head, _) = self.response_head_only();
        let len: usize = head
            .lines()
            .find_map(|line| {
                let (name, value) = line.split_once(':')?;
                name.eq_ignore_ascii_case("content-length")
                    .then(|| value.trim().parse().ok())?
            })
            .unwrap_or(0);
        let mut body = vec![0; len];
        self.stream
            .read_exact(&mut body)
            .expect("read response body");
        (head, body)
    }
}
