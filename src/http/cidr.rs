//! Address ranges in CIDR notation (RFC 4632 §3.1; RFC 4291 §2.3 for IPv6), for the list
//! of proxies whose word about the client is trusted.
//!
//! Invariant: a `Cidr`'s address has no bits set beyond its prefix, so membership is one
//! masked comparison. An IPv4-mapped IPv6 address (`::ffff:a.b.c.d`, RFC 4291 §2.5.5.2),
//! which is how an IPv6 socket sees an IPv4 client, is the IPv4 address it maps.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// See the module documentation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cidr {
    network: IpAddr,
    prefix_len: u8,
}

impl Cidr {
    /// `ADDR/LEN` or a plain address (all of its bits). The address must be the network's
    /// first: `10.1.2.3/8` is refused as a likely typo rather than silently widened.
    pub fn parse(text: &str) -> Result<Cidr, String> {
        let (address, prefix) = match text.split_once('/') {
            Some((address, prefix)) => (address, Some(prefix)),
            None => (text, None),
        };
        let network = address
            .parse::<IpAddr>()
            .map_err(|_| format!("{address:?} is not an IPv4 or IPv6 address"))?;
        let network = unmapped(network);
        let max_len = max_prefix_len(network);
        let prefix_len = match prefix {
            None => max_len,
            Some(prefix) => prefix
                .parse::<u8>()
                .ok()
                .filter(|len| *len <= max_len && prefix.bytes().all(|b| b.is_ascii_digit()))
                .ok_or_else(|| format!("prefix length must be 0 to {max_len}"))?,
        };
        let cidr = Cidr {
            network,
            prefix_len,
        };
        if cidr.masked(network) != network {
            return Err(format!(
                "{address} has bits set beyond /{prefix_len}: did you mean {}/{prefix_len}?",
                cidr.masked(network)
            ));
        }
        Ok(cidr)
    }

    /// Whether `address` lies in the range.
    pub fn contains(&self, address: IpAddr) -> bool {
        let address = unmapped(address);
        address.is_ipv4() == self.network.is_ipv4() && self.masked(address) == self.network
    }

    /// `address` with the bits beyond the prefix cleared (same family as the network).
    fn masked(&self, address: IpAddr) -> IpAddr {
        match address {
            IpAddr::V4(v4) => {
                let mask = u32::MAX.checked_shl(32u32.saturating_sub(self.prefix_len.into()));
                IpAddr::V4(Ipv4Addr::from(u32::from(v4) & mask.unwrap_or(0)))
            }
            IpAddr::V6(v6) => {
                let mask = u128::MAX.checked_shl(128u32.saturating_sub(self.prefix_len.into()));
                IpAddr::V6(Ipv6Addr::from(u128::from(v6) & mask.unwrap_or(0)))
            }
        }
    }
}

/// Whether any of `ranges` contains `address`.
pub fn any_contains(ranges: &[Cidr], address: IpAddr) -> bool {
    ranges.iter().any(|range| range.contains(address))
}

fn unmapped(address: IpAddr) -> IpAddr {
    match address {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(address, IpAddr::V4),
        IpAddr::V4(_) => address,
    }
}

fn max_prefix_len(address: IpAddr) -> u8 {
    if address.is_ipv4() { 32 } else { 128 }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().expect("test address")
    }

    #[test]
    fn membership() {
        let cases: &[(&str, &str, bool)] = &[
            ("10.0.0.0/8", "10.255.1.2", true),
            ("10.0.0.0/8", "11.0.0.1", false),
            ("10.0.0.0/8", "::ffff:10.1.2.3", true),
            ("10.0.0.0/8", "::a01:203", false),
            ("127.0.0.1", "127.0.0.1", true),
            ("127.0.0.1", "127.0.0.2", false),
            ("0.0.0.0/0", "203.0.113.9", true),
            ("0.0.0.0/0", "2001:db8::1", false),
            ("2001:db8::/32", "2001:db8:ffff::1", true),
            ("2001:db8::/32", "2001:db9::1", false),
            ("::/0", "::1", true),
            ("::1", "::1", true),
        ];
        for &(range, address, inside) in cases {
            let cidr = Cidr::parse(range).expect(range);
            assert_eq!(cidr.contains(ip(address)), inside, "{address} in {range}");
        }
    }

    #[test]
    fn refused() {
        for text in [
            "",
            "10.0.0.0/",
            "10.0.0.0/33",
            "10.0.0.0/+8",
            "10.0.0.0/8/8",
            "10.1.0.0/8",
            "::/129",
            "2001:db8::1/32",
            "localhost",
            "010.0.0.0/8",
            "10.0.0.0 /8",
        ] {
            assert!(Cidr::parse(text).is_err(), "{text:?} accepted");
        }
    }
}
