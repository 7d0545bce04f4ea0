//! Which addresses the host may connect to, whatever the allow-list says.
//!
//! The allow-list is built from the config, and a config is typed by a
//! platform's users: on its own it would let `base_url: http://169.254.169.254`
//! send the API key to a cloud metadata service. So the operator, not the
//! config, decides whether private networks may be reached, and the rule is
//! applied to every address a name resolves to, right before connecting
//! ([`PolicyResolver`]): a name that resolves to 127.0.0.1, or to a public
//! address now and a private one later, is refused all the same.

use std::fmt;
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ureq::http::Uri;
use ureq::unversioned::resolver::{DefaultResolver, ResolvedSocketAddrs, Resolver};
use ureq::unversioned::transport::NextTimeout;

/// What the operator permits beyond public addresses over https.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct NetworkPolicy {
    /// Loopback, private, link-local, CGNAT, multicast, reserved addresses.
    pub allow_private: bool,
    /// Plain http to a non-loopback address (the API key would cross in clear).
    pub allow_plain_http: bool,
}

/// Why one address was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    Private { ip: IpAddr, range: &'static str },
    PlainHttp { ip: IpAddr },
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Private { ip, range } => write!(
                f,
                "{ip} is {range}: the host's network policy refuses non-public addresses \
                 unless the operator allows private networks"
            ),
            Self::PlainHttp { ip } => write!(
                f,
                "plain http to {ip}: the host's network policy requires https for any \
                 address but loopback unless the operator allows plain http"
            ),
        }
    }
}

impl NetworkPolicy {
    /// Everything allowed (tests against local servers).
    pub const PERMISSIVE: Self = Self {
        allow_private: true,
        allow_plain_http: true,
    };

    /// Whether a connection to `ip` with this URL scheme is permitted.
    pub fn check(&self, scheme: &str, ip: IpAddr) -> Result<(), Refusal> {
        if let Some(range) = special_range(ip) {
            if !self.allow_private {
                return Err(Refusal::Private { ip, range });
            }
        }
        if scheme.eq_ignore_ascii_case("http") && !self.allow_plain_http && !is_loopback(ip) {
            return Err(Refusal::PlainHttp { ip });
        }
        Ok(())
    }
}

/// Every address the policy refused for one name, as an I/O error the HTTP
/// client can recognise (see `http_client::classify`).
#[derive(Debug)]
pub struct Refused(pub Vec<Refusal>);

impl fmt::Display for Refused {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let reasons: Vec<String> = self.0.iter().map(Refusal::to_string).collect();
        write!(f, "refused by the network policy: {}", reasons.join("; "))
    }
}

impl std::error::Error for Refused {}

/// The system resolver, with the addresses the policy refuses removed. The
/// client connects only to what this returns, so the check is on the
/// address actually connected to. (ureq's resolver API is outside its semver
/// promise; Cargo.lock pins the version it was written against.)
#[derive(Debug, Default)]
pub struct PolicyResolver {
    pub policy: NetworkPolicy,
    inner: DefaultResolver,
}

impl PolicyResolver {
    pub fn new(policy: NetworkPolicy) -> Self {
        Self {
            policy,
            inner: DefaultResolver::default(),
        }
    }
}

impl Resolver for PolicyResolver {
    fn resolve(
        &self,
        uri: &Uri,
        config: &ureq::config::Config,
        timeout: NextTimeout,
    ) -> Result<ResolvedSocketAddrs, ureq::Error> {
        let resolved = self.inner.resolve(uri, config, timeout)?;
        let scheme = uri.scheme_str().unwrap_or("");
        let mut kept = self.empty();
        let mut refused = Vec::new();
        for addr in resolved.iter() {
            match self.policy.check(scheme, addr.ip()) {
                Ok(()) => kept.push(*addr),
                Err(refusal) => refused.push(refusal),
            }
        }
        if kept.is_empty() {
            let error = io::Error::new(io::ErrorKind::PermissionDenied, Refused(refused));
            return Err(ureq::Error::Io(error));
        }
        Ok(kept)
    }
}

/// The policy's refusal inside an error from the client, if that is what it is.
pub fn refusal_in(error: &io::Error) -> Option<&Refused> {
    error.get_ref()?.downcast_ref::<Refused>()
}

fn is_loopback(ip: IpAddr) -> bool {
    match canonical(ip) {
        IpAddr::V4(v4) => v4.is_loopback(),
        IpAddr::V6(v6) => v6.is_loopback(),
    }
}

/// An IPv6 address that carries an IPv4 one (mapped `::ffff:a.b.c.d`, NAT64
/// `64:ff9b::a.b.c.d`) is judged as that IPv4 address.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => match v6.segments() {
            [0, 0, 0, 0, 0, 0xffff, ..] | [0x64, 0xff9b, 0, 0, 0, 0, ..] => {
                let [.., a, b, c, d] = v6.octets();
                IpAddr::V4(Ipv4Addr::new(a, b, c, d))
            }
            _ => ip,
        },
        v4 => v4,
    }
}

/// The non-public range `ip` is in, named for error messages; None for a
/// public address. (IANA's special-purpose registries, RFC 6890.)
fn special_range(ip: IpAddr) -> Option<&'static str> {
    match canonical(ip) {
        IpAddr::V4(v4) => V4_RANGES
            .iter()
            .find(|(net, len, _)| in_v4(v4, *net, *len))
            .map(|(_, _, name)| *name),
        IpAddr::V6(v6) => V6_RANGES
            .iter()
            .find(|(net, len, _)| in_v6(v6, *net, *len))
            .map(|(_, _, name)| *name),
    }
}

const V4_RANGES: &[([u8; 4], u32, &str)] = &[
    (
        [0, 0, 0, 0],
        8,
        "in 0.0.0.0/8 (unspecified, \"this network\")",
    ),
    ([10, 0, 0, 0], 8, "private (10.0.0.0/8, RFC 1918)"),
    ([100, 64, 0, 0], 10, "carrier-grade NAT (100.64.0.0/10)"),
    ([127, 0, 0, 0], 8, "loopback (127.0.0.0/8)"),
    (
        [169, 254, 0, 0],
        16,
        "link-local (169.254.0.0/16, cloud metadata services)",
    ),
    ([172, 16, 0, 0], 12, "private (172.16.0.0/12, RFC 1918)"),
    (
        [192, 0, 0, 0],
        24,
        "reserved (192.0.0.0/24, IETF protocol assignments)",
    ),
    ([192, 0, 2, 0], 24, "reserved (192.0.2.0/24, documentation)"),
    ([192, 168, 0, 0], 16, "private (192.168.0.0/16, RFC 1918)"),
    (
        [198, 18, 0, 0],
        15,
        "reserved (198.18.0.0/15, benchmarking)",
    ),
    (
        [198, 51, 100, 0],
        24,
        "reserved (198.51.100.0/24, documentation)",
    ),
    (
        [203, 0, 113, 0],
        24,
        "reserved (203.0.113.0/24, documentation)",
    ),
    ([224, 0, 0, 0], 4, "multicast (224.0.0.0/4)"),
    (
        [240, 0, 0, 0],
        4,
        "reserved (240.0.0.0/4, broadcast included)",
    ),
];

const V6_RANGES: &[([u16; 8], u32, &str)] = &[
    ([0, 0, 0, 0, 0, 0, 0, 0], 128, "unspecified (::)"),
    ([0, 0, 0, 0, 0, 0, 0, 1], 128, "loopback (::1)"),
    (
        [0, 0, 0, 0, 0, 0, 0, 0],
        96,
        "reserved (::/96, IPv4-compatible)",
    ),
    (
        [0x100, 0, 0, 0, 0, 0, 0, 0],
        64,
        "reserved (100::/64, discard)",
    ),
    (
        [0x2001, 0xdb8, 0, 0, 0, 0, 0, 0],
        32,
        "reserved (2001:db8::/32, documentation)",
    ),
    (
        [0x2002, 0, 0, 0, 0, 0, 0, 0],
        16,
        "6to4 (2002::/16, may reach any IPv4 address)",
    ),
    (
        [0xfc00, 0, 0, 0, 0, 0, 0, 0],
        7,
        "unique local (fc00::/7, RFC 4193)",
    ),
    ([0xfe80, 0, 0, 0, 0, 0, 0, 0], 10, "link-local (fe80::/10)"),
    (
        [0xfec0, 0, 0, 0, 0, 0, 0, 0],
        10,
        "site-local (fec0::/10, deprecated)",
    ),
    ([0xff00, 0, 0, 0, 0, 0, 0, 0], 8, "multicast (ff00::/8)"),
];

fn in_v4(ip: Ipv4Addr, net: [u8; 4], len: u32) -> bool {
    let mask = u32::MAX.checked_shl(32 - len).unwrap_or(0);
    u32::from(ip) & mask == u32::from(Ipv4Addr::from(net)) & mask
}

fn in_v6(ip: Ipv6Addr, net: [u16; 8], len: u32) -> bool {
    let mask = u128::MAX.checked_shl(128 - len).unwrap_or(0);
    u128::from(ip) & mask == u128::from(Ipv6Addr::from(net)) & mask
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap_or_else(|e| panic!("{text}: {e}"))
    }

    const STRICT: NetworkPolicy = NetworkPolicy {
        allow_private: false,
        allow_plain_http: false,
    };

    #[test]
    fn non_public_addresses_are_refused_by_default() {
        for text in [
            "169.254.169.254",
            "10.1.2.3",
            "172.31.255.255",
            "192.168.0.1",
            "127.0.0.1",
            "127.255.255.254",
            "100.64.0.1",
            "0.0.0.0",
            "224.0.0.251",
            "255.255.255.255",
            "::1",
            "::",
            "fe80::1",
            "fd00::1",
            "fc12:3456::1",
            "ff02::1",
            "::ffff:127.0.0.1",
            "::ffff:169.254.169.254",
            "64:ff9b::a00:1",
            "2002:7f00:1::",
            "::7f00:1",
        ] {
            assert!(
                matches!(
                    STRICT.check("https", ip(text)),
                    Err(Refusal::Private { .. })
                ),
                "{text} was allowed"
            );
        }
    }

    #[test]
    fn public_addresses_are_allowed_over_https() {
        for text in [
            "34.117.59.81",
            "8.8.8.8",
            "100.63.255.255",
            "100.128.0.0",
            "172.32.0.1",
            "2606:4700::1111",
            "::ffff:8.8.8.8",
        ] {
            assert_eq!(STRICT.check("https", ip(text)), Ok(()), "{text}");
            assert_eq!(special_range(ip(text)), None, "{text}");
        }
    }

    #[test]
    fn plain_http_needs_loopback_or_the_operator() {
        let public = ip("8.8.8.8");
        assert_eq!(
            STRICT.check("http", public),
            Err(Refusal::PlainHttp { ip: public })
        );
        let http_ok = NetworkPolicy {
            allow_plain_http: true,
            ..STRICT
        };
        assert_eq!(http_ok.check("HTTP", public), Ok(()));
        let private_ok = NetworkPolicy {
            allow_private: true,
            ..STRICT
        };
        assert_eq!(private_ok.check("http", ip("127.0.0.1")), Ok(()));
        assert_eq!(private_ok.check("http", ip("::1")), Ok(()));
        assert!(matches!(
            private_ok.check("http", ip("10.0.0.1")),
            Err(Refusal::PlainHttp { .. })
        ));
    }

    #[test]
    fn the_operator_may_allow_private_networks() {
        let policy = NetworkPolicy {
            allow_private: true,
            ..STRICT
        };
        for text in ["169.254.169.254", "10.0.0.1", "::1", "fe80::1"] {
            assert_eq!(policy.check("https", ip(text)), Ok(()), "{text}");
        }
    }

    #[test]
    fn refusals_name_the_range() {
        let message = STRICT
            .check("https", ip("169.254.169.254"))
            .err()
            .map(|r| r.to_string())
            .unwrap_or_default();
        assert!(message.contains("link-local"), "{message}");
        assert!(message.contains("allows private networks"), "{message}");
    }
}
