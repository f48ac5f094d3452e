//! Accept-Encoding (RFC 9110 §12.5.3): which precompressed variant, if any, to send.

use super::trim_ows;

/// The content codings tinyhttpd can send from precompressed files, most preferred first
/// when the client weighs them equally (Brotli files are the smaller).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Coding {
    Br,
    Gzip,
}

impl Coding {
    pub const ALL: [Coding; 2] = [Coding::Br, Coding::Gzip];

    /// The `Content-Encoding` token.
    pub fn token(self) -> &'static str {
        match self {
            Coding::Br => "br",
            Coding::Gzip => "gzip",
        }
    }

    /// The file name suffix of a precompressed variant.
    pub fn suffix(self) -> &'static [u8] {
        match self {
            Coding::Br => b".br",
            Coding::Gzip => b".gz",
        }
    }
}

/// The weight (q-value, in thousandths) the client gives `coding`: its own entry, else `*`,
/// else 0. A header that does not parse gives everything weight 0: identity is always safe.
pub fn weight(accept_encoding: &[u8], coding: Coding) -> u16 {
    let mut own = None;
    let mut any = None;
    for element in accept_encoding.split(|&b| b == b',') {
        let mut params = element.split(|&b| b == b';');
        let name = trim_ows(params.next().unwrap_or_default());
        if name.is_empty() {
            continue;
        }
        let mut q = 1000;
        for param in params {
            let param = trim_ows(param);
            let Some(value) = param
                .strip_prefix(b"q=")
                .or_else(|| param.strip_prefix(b"Q="))
            else {
                return 0;
            };
            let Some(parsed) = parse_qvalue(value) else {
                return 0;
            };
            q = parsed;
        }
        let matches_own = name.eq_ignore_ascii_case(coding.token().as_bytes())
            || (coding == Coding::Gzip && name.eq_ignore_ascii_case(b"x-gzip"));
        if matches_own {
            own = Some(q);
        } else if name == b"*" {
            any = Some(q);
        }
    }
    own.or(any).unwrap_or(0)
}

/// `qvalue = ( "0" [ "." 0*3DIGIT ] ) / ( "1" [ "." 0*3("0") ] )`, in thousandths.
fn parse_qvalue(value: &[u8]) -> Option<u16> {
    let (whole, fraction) = match value.iter().position(|&b| b == b'.') {
        Some(dot) => (&value[..dot], &value[dot + 1..]),
        None => (value, &b""[..]),
    };
    if fraction.len() > 3 || !fraction.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let mut thousandths = 0u16;
    for i in 0..3 {
        thousandths = thousandths * 10 + fraction.get(i).map_or(0, |&d| u16::from(d - b'0'));
    }
    match whole {
        b"0" => Some(thousandths),
        b"1" if thousandths == 0 => Some(1000),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weights() {
        let table: &[(&str, u16, u16)] = &[
            ("gzip", 0, 1000),
            ("br, gzip", 1000, 1000),
            ("gzip;q=0.5, br;q=0.8", 800, 500),
            ("GZIP", 0, 1000),
            ("x-gzip", 0, 1000),
            ("*", 1000, 1000),
            ("*;q=0.1, gzip;q=0", 100, 0),
            ("br;q=0", 0, 0),
            ("br;q=1.0", 1000, 0),
            ("br;q=1.001", 0, 0),
            ("br;q=0.1234", 0, 0),
            ("br;q=", 0, 0),
            ("br;level=1", 0, 0),
            ("identity", 0, 0),
            ("", 0, 0),
            (" , gzip ; q=0.25 ,", 0, 250),
            ("deflate, gzip;q=1.0, *;q=0.5", 500, 1000),
        ];
        for &(header, br, gzip) in table {
            assert_eq!(weight(header.as_bytes(), Coding::Br), br, "{header} br");
            assert_eq!(
                weight(header.as_bytes(), Coding::Gzip),
                gzip,
                "{header} gzip"
            );
        }
    }
}
