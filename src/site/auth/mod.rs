//! HTTP Basic authentication (RFC 7617) as policy: which normalised paths are protected, who
//! may see them (an htpasswd file of bcrypt hashes, `users`), credentials verified lately
//! (`verified`), and the delay imposed on an address that keeps guessing (`throttle`).
//!
//! Nothing here waits or runs a job: `Auth::check` answers at once when it can (not
//! protected, no credentials, credentials verified lately) and otherwise hands back a
//! `Verifier` (the bcrypt work, which takes tens of milliseconds, to run off the loop thread)
//! and the time before which it may not run; the caller reports the outcome with
//! `Auth::verified` or `Auth::failed`. Passwords are never stored or logged: only a
//! SHA-256 digest of verified credentials is kept.
//!
//! Paths are protected by prefix on segment boundaries of the normalised path: `/private`
//! protects `/private` and `/private/x`, not `/privateer`; with no prefix, the whole site.

pub mod throttle;
pub mod users;
pub mod verified;

use std::fmt;
use std::net::IpAddr;
use std::path::PathBuf;
use std::rc::Rc;
use std::time::Instant;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use sha2::{Digest as _, Sha256};

use crate::site::auth::throttle::Throttle;
use crate::site::auth::users::{FileError, MAX_AUTH_FILE_BYTES, Users};
use crate::site::auth::verified::{Digest, Verified};

/// The realm when none is given.
pub const DEFAULT_REALM: &str = "tinyhttpd";

/// `--auth-file`, `--auth-path`, `--auth-realm`.
#[derive(Clone, Debug)]
pub struct AuthOptions {
    pub file: PathBuf,
    /// Protected prefixes, each the `relative()` form of a normalised path (no slash at
    /// either end); empty: the whole site.
    pub prefixes: Vec<Vec<u8>>,
    /// Checked to hold no `"`, `\` or control character.
    pub realm: String,
}

/// Why the htpasswd file could not be used.
#[derive(Debug)]
pub enum AuthError {
    Read {
        file: PathBuf,
        source: std::io::Error,
    },
    TooLarge(PathBuf),
    Invalid {
        file: PathBuf,
        error: FileError,
    },
}

impl fmt::Display for AuthError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AuthError::Read { file, source } => {
                write!(f, "cannot read auth file {}: {source}", file.display())
            }
            AuthError::TooLarge(file) => write!(
                f,
                "auth file {} is larger than {MAX_AUTH_FILE_BYTES} bytes",
                file.display()
            ),
            AuthError::Invalid { file, error } if error.line == 0 => {
                write!(f, "auth file {}: {}", file.display(), error.reason)
            }
            AuthError::Invalid { file, error } => write!(
                f,
                "auth file {} line {}: {}",
                file.display(),
                error.line,
                error.reason
            ),
        }
    }
}

/// What a request's credentials decide, as far as it can be decided at once.
pub enum Check {
    /// Credentials verified lately.
    Granted,
    /// No usable credentials: 401.
    Refused,
    /// Credentials to verify, on a worker, not before `not_before`.
    Verify {
        verifier: Verifier,
        digest: Digest,
        not_before: Option<Instant>,
    },
}

/// The bcrypt work for one set of credentials, owned so that it can move to a worker thread.
#[derive(Clone)]
pub struct Verifier {
    password: Vec<u8>,
    hash: Box<str>,
    known_user: bool,
}

impl Verifier {
    /// Whether the password matches. An unknown user's password is checked against the dummy
    /// hash all the same, so the answer takes as long; bcrypt compares in constant time.
    pub fn verify(self) -> bool {
        let matches = bcrypt::verify(&self.password, &self.hash).unwrap_or(false);
        matches && self.known_user
    }
}

/// The server's authentication state; see the module documentation.
pub struct Auth {
    options: AuthOptions,
    /// `Basic realm="...", charset="UTF-8"`, the `WWW-Authenticate` value of a 401.
    challenge: Rc<[u8]>,
    users: Users,
    verified: Verified,
    throttle: Throttle,
}

impl Auth {
    /// Reads the htpasswd file `options` names.
    pub fn load(options: AuthOptions) -> Result<Auth, AuthError> {
        let users = read_users(&options.file)?;
        // RFC 7617 §2.1: charset="UTF-8" says how we decode user names and passwords.
        let challenge = format!("Basic realm=\"{}\", charset=\"UTF-8\"", options.realm);
        Ok(Auth {
            challenge: challenge.into_bytes().into(),
            options,
            users,
            verified: Verified::default(),
            throttle: Throttle::default(),
        })
    }

    /// Reads the file again; on success, forgets the credentials verified under the old one
    /// and says how many users the new one has. On failure, nothing changes.
    pub fn reload(&mut self) -> Result<usize, AuthError> {
        self.users = read_users(&self.options.file)?;
        self.verified.clear();
        Ok(self.users.count())
    }

    /// Whether `relative` (a `NormalizedPath::relative()`) needs credentials.
    pub fn protects(&self, relative: &[u8]) -> bool {
        self.options.prefixes.is_empty()
            || self
                .options
                .prefixes
                .iter()
                .any(|prefix| under(relative, prefix))
    }

    pub fn challenge(&self) -> Rc<[u8]> {
        Rc::clone(&self.challenge)
    }

    /// Judges the `Authorization` header of a request for a protected path from `peer`.
    pub fn check(&self, authorization: Option<&[u8]>, peer: Option<IpAddr>, now: Instant) -> Check {
        let Some(credentials) = authorization.and_then(basic_credentials) else {
            return Check::Refused;
        };
        let digest: Digest = Sha256::digest(&credentials).into();
        if self.verified.contains(&digest, now) {
            return Check::Granted;
        }
        // User names cannot contain a colon (RFC 7617 §2): the first one separates.
        let Some(colon) = credentials.iter().position(|&b| b == b':') else {
            return Check::Refused;
        };
        let (user, password) = (&credentials[..colon], &credentials[colon + 1..]);
        let (hash, known_user) = self.users.hash_for(user);
        Check::Verify {
            verifier: Verifier {
                password: password.to_vec(),
                hash: hash.into(),
                known_user,
            },
            digest,
            not_before: peer.and_then(|peer| self.throttle.not_before(peer, now)),
        }
    }

    /// The credentials hashing to `digest` were verified at `now`.
    pub fn verified(&mut self, digest: Digest, now: Instant) {
        self.verified.insert(digest, now);
    }

    /// `peer` sent wrong credentials at `now`.
    pub fn failed(&mut self, peer: Option<IpAddr>, now: Instant) {
        if let Some(peer) = peer {
            self.throttle.failed(peer, now);
        }
    }
}

fn read_users(file: &PathBuf) -> Result<Users, AuthError> {
    let read_error = |source| AuthError::Read {
        file: file.clone(),
        source,
    };
    let len = std::fs::metadata(file).map_err(read_error)?.len();
    if len > MAX_AUTH_FILE_BYTES {
        return Err(AuthError::TooLarge(file.clone()));
    }
    let text = std::fs::read_to_string(file).map_err(read_error)?;
    Users::parse(&text).map_err(|error| AuthError::Invalid {
        file: file.clone(),
        error,
    })
}

/// Whether `relative` is `prefix` or lies beneath it: prefixes end on segment boundaries.
fn under(relative: &[u8], prefix: &[u8]) -> bool {
    match relative.strip_prefix(prefix) {
        Some(rest) => prefix.is_empty() || rest.is_empty() || rest.starts_with(b"/"),
        None => false,
    }
}

/// The decoded `user:password` of a `Basic` Authorization value (RFC 7617 §2): the scheme
/// name in any case, one or more spaces, then base64 (token68).
fn basic_credentials(value: &[u8]) -> Option<Vec<u8>> {
    let scheme = value.get(..6)?;
    if !scheme.eq_ignore_ascii_case(b"basic ") {
        return None;
    }
    let encoded = value.get(6..)?.trim_ascii();
    if encoded.is_empty() {
        return None;
    }
    STANDARD.decode(encoded).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes_end_on_segment_boundaries() {
        assert!(under(b"private", b"private"));
        assert!(under(b"private/x/y", b"private"));
        assert!(!under(b"privateer", b"private"));
        assert!(!under(b"", b"private"));
        assert!(under(b"anything", b""));
        assert!(under(b"a/b/c", b"a/b"));
        assert!(!under(b"a/bc", b"a/b"));
    }

    #[test]
    fn basic_credentials_are_decoded() {
        assert_eq!(
            basic_credentials(b"Basic YWxpY2U6cyBlYzpyZXQ="),
            Some(b"alice:s ec:ret".to_vec())
        );
        assert_eq!(basic_credentials(b"bAsIc   YTpi"), Some(b"a:b".to_vec()));
        for refused in [
            &b"Bearer YTpi"[..],
            b"Basic",
            b"Basic ",
            b"Basic !!!",
            b"BasicYTpi",
            b"Basic YTp",
        ] {
            assert_eq!(basic_credentials(refused), None, "{refused:?}");
        }
    }
}
