//! The htpasswd file: one `user:hash` line per user, read into a map from user name to hash.
//!
//! Only bcrypt hashes (`$2y$`, `$2b$`, `$2a$`, as `htpasswd -B` writes) are accepted; a line
//! with any other scheme (MD5-crypt `$apr1$`, `{SHA}`, crypt, plain text) is refused with its
//! line number, as those are fast to brute-force. Empty lines and lines starting with `#` are
//! skipped. Invariant of a `Users`: at least one user, every hash is well-formed bcrypt (so
//! verifying can only answer yes or no), and `dummy` has the highest cost among them.

use std::collections::HashMap;

/// The largest htpasswd file read: far beyond any real list of users, and small enough to read
/// on the loop thread at a reload.
pub const MAX_AUTH_FILE_BYTES: u64 = 1024 * 1024;

/// The salt and hash part of a bcrypt hash of a fixed string: verified against by an unknown
/// user, at the users' cost, so that a name that does not exist costs as much as a wrong
/// password (no user enumeration by timing).
const DUMMY_SALT_AND_HASH: &str = "bEjscUfybF/iJUPzZUz3GOpAYEaFNsyFqz9DEHZsTUNjrVa9fVyTu";

/// bcrypt's cost field: 2^cost rounds, 4 to 31.
const BCRYPT_COSTS: std::ops::RangeInclusive<u32> = 4..=31;

/// A bcrypt hash is 60 bytes: `$2y$`, two cost digits, `$`, 22 characters of salt and 31 of
/// hash.
const BCRYPT_HASH_LEN: usize = 60;

/// The users of one htpasswd file.
#[derive(Debug)]
pub struct Users {
    hashes: HashMap<Box<[u8]>, Box<str>>,
    dummy: Box<str>,
}

/// Why a file was refused: its line (from 1) and the reason.
#[derive(Debug, PartialEq, Eq)]
pub struct FileError {
    pub line: usize,
    pub reason: String,
}

impl Users {
    /// Parses the text of an htpasswd file.
    pub fn parse(text: &str) -> Result<Users, FileError> {
        let mut hashes = HashMap::new();
        let mut highest_cost = *BCRYPT_COSTS.start();
        for (index, line) in text.lines().enumerate() {
            let refuse = |reason: String| FileError {
                line: index + 1,
                reason,
            };
            let line = line.strip_suffix('\r').unwrap_or(line);
            if line.trim().is_empty() || line.starts_with('#') {
                continue;
            }
            let Some((user, hash)) = line.split_once(':') else {
                return Err(refuse("expected user:hash".to_string()));
            };
            if user.is_empty() {
                return Err(refuse("the user name is empty".to_string()));
            }
            let cost = bcrypt_cost(hash).map_err(refuse)?;
            highest_cost = highest_cost.max(cost);
            if hashes.insert(user.as_bytes().into(), hash.into()).is_some() {
                return Err(refuse(format!("user {user} appears twice")));
            }
        }
        if hashes.is_empty() {
            return Err(FileError {
                line: 0,
                reason: "no users".to_string(),
            });
        }
        Ok(Users {
            hashes,
            dummy: format!("$2b${highest_cost:02}${DUMMY_SALT_AND_HASH}").into(),
        })
    }

    /// The hash to verify `user`'s password against, and whether the user exists: an unknown
    /// user gets the dummy hash, which costs the same and matches nothing.
    pub fn hash_for(&self, user: &[u8]) -> (&str, bool) {
        match self.hashes.get(user) {
            Some(hash) => (hash, true),
            None => (&self.dummy, false),
        }
    }

    /// How many users the file names.
    pub fn count(&self) -> usize {
        self.hashes.len()
    }
}

/// The cost of a well-formed bcrypt hash, or why it is not one.
fn bcrypt_cost(hash: &str) -> Result<u32, String> {
    let scheme = |prefix: &str| hash.starts_with(prefix);
    if scheme("$apr1$") || scheme("$1$") {
        return Err(weak("MD5-crypt"));
    }
    if scheme("{SHA}") {
        return Err(weak("SHA-1"));
    }
    if scheme("$5$") || scheme("$6$") {
        return Err(weak("SHA-crypt"));
    }
    let bytes = hash.as_bytes();
    let version_ok = scheme("$2y$") || scheme("$2b$") || scheme("$2a$");
    let cost = hash
        .get(4..6)
        .filter(|digits| digits.bytes().all(|b| b.is_ascii_digit()))
        .and_then(|digits| digits.parse::<u32>().ok())
        .filter(|cost| BCRYPT_COSTS.contains(cost));
    let tail_ok = bytes.len() == BCRYPT_HASH_LEN
        && bytes.get(6) == Some(&b'$')
        && bytes
            .iter()
            .skip(7)
            .all(|&b| b == b'.' || b == b'/' || b.is_ascii_alphanumeric());
    match cost {
        Some(cost) if version_ok && tail_ok => Ok(cost),
        _ => Err(format!(
            "not a bcrypt hash ($2y$NN$ and 53 characters); only bcrypt is accepted: \
             create it with htpasswd -B{}",
            if scheme("$2") {
                ""
            } else {
                " (plain text or crypt)"
            }
        )),
    }
}

fn weak(scheme: &str) -> String {
    format!(
        "{scheme} hashes are too fast to brute-force; only bcrypt is accepted: re-create the entry with htpasswd -B"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const HASH: &str = "$2y$05$bEjscUfybF/iJUPzZUz3GOpAYEaFNsyFqz9DEHZsTUNjrVa9fVyTu";

    #[test]
    fn reads_users_and_skips_comments() {
        let text = format!(
            "# users\n\nalice:{HASH}\r\nbob:{}\n",
            HASH.replace("$05$", "$07$")
        );
        let users = Users::parse(&text).unwrap();
        assert_eq!(users.count(), 2);
        assert_eq!(users.hash_for(b"alice"), (HASH, true));
        let (dummy, known) = users.hash_for(b"mallory");
        assert!(!known);
        assert!(dummy.starts_with("$2b$07$"), "highest cost: {dummy}");
        assert_eq!(dummy.len(), BCRYPT_HASH_LEN);
    }

    #[test]
    fn refuses_other_schemes_naming_the_line() {
        let cases = [
            ("alice:$apr1$abc$def", 1, "MD5-crypt"),
            ("# c\nbob:{SHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g=", 2, "SHA-1"),
            ("carol:secret", 1, "plain text"),
            ("dave", 1, "user:hash"),
            (":x", 1, "empty"),
            (
                "a:$2y$03$bEjscUfybF/iJUPzZUz3GOpAYEaFNsyFqz9DEHZsTUNjrVa9fVyTu",
                1,
                "bcrypt",
            ),
            ("a:$2y$05$short", 1, "bcrypt"),
            ("", 0, "no users"),
        ];
        for (text, line, reason) in cases {
            let error = Users::parse(text).unwrap_err();
            assert_eq!(error.line, line, "{text}");
            assert!(error.reason.contains(reason), "{text}: {}", error.reason);
        }
        let twice = format!("a:{HASH}\na:{HASH}");
        assert_eq!(Users::parse(&twice).unwrap_err().line, 2);
    }

    #[test]
    fn dummy_hash_is_valid_bcrypt_and_matches_nothing() {
        let users = Users::parse(&format!("a:{}", HASH.replace("$05$", "$04$"))).unwrap();
        let (dummy, _) = users.hash_for(b"nobody");
        assert_eq!(bcrypt::verify("", dummy).ok(), Some(false));
    }
}
