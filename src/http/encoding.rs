//! Accept-Encoding (RFC 9110 §12.5.3): which content coding, if any, to send.
//!
//! The header is parsed once into the weights of the codings tinyhttpd knows (`Weights`);
//! `weight` and `choose` both read it. A header that does not parse counts as absent for every
//! coding, so the answer is identity, which every client can read.

use super::trim_ows;

/// The content codings tinyhttpd can send, from precompressed files or compressed on the fly.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Coding {
    Br,
    Zstd,
    Gzip,
}

impl Coding {
    /// The codings whose precompressed siblings (`file.br`, `file.zst`, `file.gz`) the file
    /// cache opens: every coding.
    pub const ALL: [Coding; 3] = Coding::EVERY;

    /// Every coding, most preferred first when the client weighs them equally.
    ///
    /// Brotli first: on web text it gives the smallest output at a comparable cost (on 100 KiB
    /// of minified JavaScript at the default level, 32.8 KB against zstd's 33.4 KB and gzip's
    /// 34.8 KB, see `site::compress`), and a compressed variant is made once and sent many
    /// times, so its size is what matters. Zstd next: still smaller than gzip, and faster to
    /// decode than both. (Caddy and nginx's brotli and zstd modules take the order from their
    /// configuration; there is no common default to follow.)
    pub const EVERY: [Coding; 3] = [Coding::Br, Coding::Zstd, Coding::Gzip];

    /// The `Content-Encoding` token (RFC 9110 §18.6; zstd: RFC 8878 §7.2).
    pub fn token(self) -> &'static str {
        match self {
            Coding::Br => "br",
            Coding::Zstd => "zstd",
            Coding::Gzip => "gzip",
        }
    }

    /// The file name suffix of a precompressed variant.
    pub fn suffix(self) -> &'static [u8] {
        match self {
            Coding::Br => b".br",
            Coding::Zstd => b".zst",
            Coding::Gzip => b".gz",
        }
    }

    fn bit(self) -> u8 {
        match self {
            Coding::Br => 1,
            Coding::Zstd => 2,
            Coding::Gzip => 4,
        }
    }

    /// Whether an Accept-Encoding token names this coding (case-insensitive, RFC 9110 §8.4.1;
    /// `x-gzip` is gzip, §8.4.1.3).
    fn named_by(self, name: &[u8]) -> bool {
        name.eq_ignore_ascii_case(self.token().as_bytes())
            || (self == Coding::Gzip && name.eq_ignore_ascii_case(b"x-gzip"))
    }
}

/// A set of codings: those a representation is available in, from precompressed siblings
/// or from compressing on the fly.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CodingSet(u8);

impl CodingSet {
    pub const EMPTY: CodingSet = CodingSet(0);

    pub fn with(self, coding: Coding) -> CodingSet {
        CodingSet(self.0 | coding.bit())
    }

    pub fn contains(self, coding: Coding) -> bool {
        self.0 & coding.bit() != 0
    }
}

impl FromIterator<Coding> for CodingSet {
    fn from_iter<I: IntoIterator<Item = Coding>>(codings: I) -> CodingSet {
        codings.into_iter().fold(CodingSet::EMPTY, CodingSet::with)
    }
}

/// The weight (q-value, in thousandths) the client gives `coding`: its own entry, else `*`,
/// else 0. A header that does not parse gives everything weight 0: identity is always safe.
pub fn weight(accept_encoding: &[u8], coding: Coding) -> u16 {
    Weights::parse(accept_encoding).map_or(0, |weights| weights.of(coding))
}

/// The coding to send a representation in, given the request's Accept-Encoding and the
/// codings the representation is `available` in; `None` means identity (no coding).
///
/// - The available coding with the highest non-zero weight wins; on equal weights the first
///   in `Coding::EVERY`.
/// - Identity is sent instead only if the header gives it (by name or through `*`) a weight
///   above the winner's. Identity is acceptable without being listed (RFC 9110 §12.5.3), but
///   an unlisted identity has no weight to compare, and a client listing `gzip;q=0.5` alone
///   is asking for gzip.
/// - When nothing is acceptable, identity is sent, also when the header excludes it
///   (`identity;q=0` or `*;q=0`): §12.5.3 allows either a 406 or ignoring the header, and
///   like nginx we send the representation a client is sure to be able to read something of.
/// - A header that does not parse gives identity.
/// - No header at all also means identity: §12.5.3 lets a server then pick any coding, but
///   clients that send none (curl without `--compressed`, scripts) often cannot decode one,
///   and no common server compresses for them.
pub fn choose(accept_encoding: &[u8], available: CodingSet) -> Option<Coding> {
    let weights = Weights::parse(accept_encoding)?;
    let mut best: Option<(u16, Coding)> = None;
    for coding in Coding::EVERY {
        let weight = weights.of(coding);
        // Strictly greater: an earlier coding keeps a tie.
        if available.contains(coding) && weight > best.map_or(0, |(w, _)| w) {
            best = Some((weight, coding));
        }
    }
    let (weight, coding) = best?;
    let identity = weights.identity.or(weights.any).unwrap_or(0);
    (identity <= weight).then_some(coding)
}

/// The weights an Accept-Encoding header states; `None` for what it does not mention.
#[derive(Default)]
struct Weights {
    /// Indexed like `Coding::EVERY`.
    codings: [Option<u16>; 3],
    identity: Option<u16>,
    any: Option<u16>,
}

impl Weights {
    /// `Accept-Encoding = #( codings [ weight ] )`; a later entry for the same name replaces
    /// an earlier one. `None` if any entry has a parameter other than a valid `q`.
    fn parse(accept_encoding: &[u8]) -> Option<Weights> {
        let mut weights = Weights::default();
        for element in accept_encoding.split(|&b| b == b',') {
            let mut params = element.split(|&b| b == b';');
            let name = trim_ows(params.next().unwrap_or_default());
            if name.is_empty() {
                continue;
            }
            let mut q = 1000;
            for param in params {
                let param = trim_ows(param);
                let value = param
                    .strip_prefix(b"q=")
                    .or_else(|| param.strip_prefix(b"Q="))?;
                q = parse_qvalue(value)?;
            }
            let slot = if name == b"*" {
                &mut weights.any
            } else if name.eq_ignore_ascii_case(b"identity") {
                &mut weights.identity
            } else if let Some(i) = Coding::EVERY.iter().position(|c| c.named_by(name)) {
                &mut weights.codings[i]
            } else {
                continue;
            };
            *slot = Some(q);
        }
        Some(weights)
    }

    /// The coding's own weight, else that of `*`, else 0.
    fn of(&self, coding: Coding) -> u16 {
        let own = Coding::EVERY
            .iter()
            .position(|&c| c == coding)
            .and_then(|i| self.codings[i]);
        own.or(self.any).unwrap_or(0)
    }
}

/// `qvalue = ( "0" [ "." 0*3DIGIT ] ) / ( "1" [ "." 0*3("0") ] )`, in thousandths.
pub(super) fn parse_qvalue(value: &[u8]) -> Option<u16> {
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
        let table: &[(&str, u16, u16, u16)] = &[
            // header, br, zstd, gzip
            ("gzip", 0, 0, 1000),
            ("br, gzip", 1000, 0, 1000),
            ("gzip;q=0.5, br;q=0.8", 800, 0, 500),
            ("GZIP", 0, 0, 1000),
            ("x-gzip", 0, 0, 1000),
            ("ZStd;q=0.3", 0, 300, 0),
            ("*", 1000, 1000, 1000),
            ("*;q=0.1, gzip;q=0", 100, 100, 0),
            ("br;q=0", 0, 0, 0),
            ("br;q=1.0", 1000, 0, 0),
            ("br;q=1.001", 0, 0, 0),
            ("br;q=0.1234", 0, 0, 0),
            ("br;q=", 0, 0, 0),
            ("br;level=1", 0, 0, 0),
            ("identity", 0, 0, 0),
            ("", 0, 0, 0),
            (" , gzip ; q=0.25 ,", 0, 0, 250),
            ("deflate, gzip;q=1.0, *;q=0.5", 500, 500, 1000),
            ("gzip;q=0.2, gzip;q=0.7", 0, 0, 700),
            ("gzip, zstd;q=x", 0, 0, 0),
        ];
        for &(header, br, zstd, gzip) in table {
            let got = Coding::EVERY.map(|coding| weight(header.as_bytes(), coding));
            assert_eq!(got, [br, zstd, gzip], "{header:?}");
        }
    }

    #[test]
    fn choices() {
        use Coding::{Br, Gzip, Zstd};
        let all: CodingSet = Coding::EVERY.into_iter().collect();
        let gzip_only = CodingSet::EMPTY.with(Gzip);
        let zstd_gzip = CodingSet::EMPTY.with(Zstd).with(Gzip);
        let table: &[(&[u8], CodingSet, Option<Coding>)] = &[
            // What browsers send: all weighed 1, so the tie order decides.
            (b"gzip, deflate, br, zstd", all, Some(Br)),
            (b"gzip, deflate, br, zstd", zstd_gzip, Some(Zstd)),
            (b"gzip, deflate, br, zstd", gzip_only, Some(Gzip)),
            (b"gzip, deflate, br", zstd_gzip, Some(Gzip)),
            (b"gzip, deflate, br, zstd", CodingSet::EMPTY, None),
            // The highest weight wins whatever the tie order.
            (b"br;q=0.5, gzip;q=0.9", all, Some(Gzip)),
            (b"br;q=0.5, zstd;q=0.501, gzip", all, Some(Gzip)),
            (b"br;q=0.5, zstd;q=0.501", all, Some(Zstd)),
            (b"*", all, Some(Br)),
            (b"*;q=0.5, gzip", all, Some(Gzip)),
            (b"*, br;q=0", all, Some(Zstd)),
            // Weight 0 means not acceptable.
            (b"br;q=0, gzip;q=0", all, None),
            (b"*;q=0", all, None),
            // Identity: only an explicit, higher weight beats a coding.
            (b"gzip;q=0.5", all, Some(Gzip)),
            (b"gzip;q=0.5, identity", all, None),
            (b"gzip;q=0.5, *", all, Some(Br)),
            (b"gzip, identity", all, Some(Gzip)),
            (b"gzip;q=0.5, identity;q=0.5", all, Some(Gzip)),
            (b"identity;q=0.9, *;q=1", all, Some(Br)),
            // Nothing acceptable and identity excluded: identity anyway, as nginx does.
            (b"identity;q=0", all, None),
            (b"identity;q=0, br;q=0", all, None),
            (b"br, identity;q=0", gzip_only, None),
            (b"*;q=0", gzip_only, None),
            (b"identity;q=0, gzip", gzip_only, Some(Gzip)),
            // Unknown codings and odd spacing.
            (b"compress, deflate", all, None),
            (b"identity", all, None),
            (b"", all, None),
            (b",,, ,", all, None),
            (b"  Br\t;\tq=0.7 ,GZIP;Q=0.6", all, Some(Br)),
            (b"x-gzip", all, Some(Gzip)),
            (b"br\xff, gzip;q=0.1", all, Some(Gzip)),
            // Malformed: identity, whatever else the header says.
            (b"br;q=2", all, None),
            (b"br;q=0.5, gzip;q=1.5", all, None),
            (b"br;q=-1", all, None),
            (b"br;q=.5", all, None),
            (b"br;q=0.5x", all, None),
            (b"br;q=0,5", all, None),
            (b"br;level=11", all, None),
            (b"br;", all, None),
            (b"gzip;q=1, br;q", all, None),
            (b"gzip;q=0.\xff", all, None),
        ];
        for &(header, available, want) in table {
            let header_text = String::from_utf8_lossy(header);
            assert_eq!(
                choose(header, available),
                want,
                "{header_text:?} {available:?}"
            );
        }
    }

    #[test]
    fn coding_set() {
        let set: CodingSet = [Coding::Gzip, Coding::Br].into_iter().collect();
        assert!(set.contains(Coding::Br) && set.contains(Coding::Gzip));
        assert!(!set.contains(Coding::Zstd));
        assert!(!CodingSet::EMPTY.contains(Coding::Br));
        assert_eq!(
            Coding::EVERY.map(Coding::suffix),
            [&b".br"[..], b".zst", b".gz"]
        );
    }
}
