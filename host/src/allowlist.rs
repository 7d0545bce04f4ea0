//! Which origins the connector may reach, and the check every request passes.
//!
//! An origin is `scheme://host:port`. Both sides of a comparison are
//! normalised by the `url` crate (lower-case scheme and host, IDNA, canonical
//! IP literals) with the scheme's default port filled in, so
//! `HTTPS://API.Example.com` and `https://api.example.com:443` are the same origin.

use std::collections::BTreeSet;
use std::fmt;
use std::str::FromStr;

use url::Url;

/// The schemes a connector may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Scheme {
    Http,
    Https,
}

impl Scheme {
    fn parse(scheme: &str) -> Option<Self> {
        match scheme {
            "http" => Some(Self::Http),
            "https" => Some(Self::Https),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Http => "http",
            Self::Https => "https",
        }
    }

    fn default_port(self) -> u16 {
        match self {
            Self::Http => 80,
            Self::Https => 443,
        }
    }
}

/// A normalised `scheme://host:port`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Origin {
    scheme: Scheme,
    /// Lower case; IPv6 literals keep their brackets, as in a URL.
    host: String,
    port: u16,
}

/// Why a string is not an origin, or a URL may not be requested.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OriginError {
    #[error("not a valid URL: {0}")]
    Malformed(String),
    #[error("scheme `{0}` is not allowed (only http and https)")]
    Scheme(String),
    #[error("URLs with credentials (user:password@) are not allowed")]
    Userinfo,
    #[error("the URL has no host")]
    NoHost,
    #[error("an origin is only scheme://host[:port], without path, query or fragment")]
    NotBare,
}

impl Origin {
    /// Parses an origin as written in an allow-list: `scheme://host[:port]`,
    /// optionally with a trailing `/`.
    pub fn parse(text: &str) -> Result<Self, OriginError> {
        let url = Url::parse(text).map_err(|e| OriginError::Malformed(e.to_string()))?;
        let origin = Self::of_url(&url)?;
        if url.path() != "/" || url.query().is_some() || url.fragment().is_some() {
            return Err(OriginError::NotBare);
        }
        Ok(origin)
    }

    /// The origin a parsed request URL would connect to.
    pub fn of_url(url: &Url) -> Result<Self, OriginError> {
        let scheme = Scheme::parse(url.scheme())
            .ok_or_else(|| OriginError::Scheme(url.scheme().to_string()))?;
        // `https://api.example.com@evil.com` has user `api.example.com` and host
        // `evil.com`: refusing all userinfo removes the whole class of tricks.
        if !url.username().is_empty() || url.password().is_some() {
            return Err(OriginError::Userinfo);
        }
        let host = url.host_str().ok_or(OriginError::NoHost)?;
        if host.is_empty() {
            return Err(OriginError::NoHost);
        }
        let port = url.port().unwrap_or(scheme.default_port());
        Ok(Self {
            scheme,
            host: host.to_ascii_lowercase(),
            port,
        })
    }

    pub fn scheme(&self) -> Scheme {
        self.scheme
    }

    pub fn host(&self) -> &str {
        &self.host
    }

    pub fn port(&self) -> u16 {
        self.port
    }
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}://{}:{}", self.scheme.as_str(), self.host, self.port)
    }
}

impl FromStr for Origin {
    type Err = OriginError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

/// Why a request was refused before any connection was made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Denial {
    #[error("{url}: {reason}")]
    BadUrl { url: String, reason: OriginError },
    #[error("{url}: origin {origin} is not on the allow-list")]
    NotAllowed { url: String, origin: Origin },
    #[error("{url}: a request may not set the `host` header")]
    HostHeader { url: String },
    #[error("{url}: header name {name:?} is not an HTTP token")]
    HeaderName { url: String, name: String },
    /// Never shows the value: it may be the API key.
    #[error("{url}: the value of header `{name}` holds a character an HTTP header cannot carry")]
    HeaderValue { url: String, name: String },
}

/// The origins a run may reach. Empty means no request is allowed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AllowList {
    origins: BTreeSet<Origin>,
}

impl AllowList {
    pub fn new(origins: impl IntoIterator<Item = Origin>) -> Self {
        Self {
            origins: origins.into_iter().collect(),
        }
    }

    /// Parses the origins a component declared.
    pub fn parse<S: AsRef<str>>(origins: &[S]) -> Result<Self, (String, OriginError)> {
        origins
            .iter()
            .map(|o| Origin::parse(o.as_ref()).map_err(|e| (o.as_ref().to_string(), e)))
            .collect::<Result<BTreeSet<_>, _>>()
            .map(|origins| Self { origins })
    }

    pub fn contains(&self, origin: &Origin) -> bool {
        self.origins.contains(origin)
    }

    pub fn is_empty(&self) -> bool {
        self.origins.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = &Origin> {
        self.origins.iter()
    }

    /// The one gate every request passes: returns the parsed URL to send to,
    /// so the client connects to exactly what was checked.
    /// Headers must be sendable as they are: a token for a name, visible
    /// ASCII, spaces and tabs for a value (anything else would be refused
    /// or rewritten by the HTTP stack).
    pub fn check_request<'h>(
        &self,
        url: &str,
        headers: impl IntoIterator<Item = (&'h str, &'h str)>,
    ) -> Result<Url, Denial> {
        let bad_url = |reason| Denial::BadUrl {
            url: url.to_string(),
            reason,
        };
        let parsed = Url::parse(url).map_err(|e| bad_url(OriginError::Malformed(e.to_string())))?;
        let origin = Origin::of_url(&parsed).map_err(bad_url)?;
        if !self.contains(&origin) {
            return Err(Denial::NotAllowed {
                url: url.to_string(),
                origin,
            });
        }
        for (name, value) in headers {
            let denial = if !is_token(name) {
                Denial::HeaderName {
                    url: url.to_string(),
                    name: name.to_string(),
                }
            } else if name.eq_ignore_ascii_case("host") {
                // The authority must come from the URL, which is what was checked.
                Denial::HostHeader {
                    url: url.to_string(),
                }
            } else if !value
                .bytes()
                .all(|b| b == b'\t' || (b' '..=b'~').contains(&b))
            {
                Denial::HeaderValue {
                    url: url.to_string(),
                    name: name.to_string(),
                }
            } else {
                continue;
            };
            return Err(denial);
        }
        Ok(parsed)
    }
}

/// RFC 9110's `token`: what a header name may be.
fn is_token(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

impl fmt::Display for AllowList {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first = true;
        for origin in &self.origins {
            if !first {
                f.write_str(", ")?;
            }
            write!(f, "{origin}")?;
            first = false;
        }
        Ok(())
    }
}

/// What the operator said on the command line about origins.
///
/// The rule: if `only` is non-empty the allow-list is exactly `only` plus
/// `also` (the component's own list is not used: narrowing); otherwise it is
/// the component's list plus `also` (extending).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OriginOverrides {
    /// `--allow-host`: replaces the component's list.
    pub only: Vec<Origin>,
    /// `--also-allow`: added to whichever list is in force.
    pub also: Vec<Origin>,
}

impl OriginOverrides {
    /// Whether the component's declared origins matter at all.
    pub fn replaces_declared(&self) -> bool {
        !self.only.is_empty()
    }

    /// The allow-list in force, asking the component for its origins
    /// (`declared`: `None` when it rejects the config) only when they are
    /// used. The flag is false when the component rejected the config.
    pub fn resolve<E>(
        &self,
        declared: impl FnOnce() -> Result<Option<AllowList>, E>,
    ) -> Result<(AllowList, bool), E> {
        if self.replaces_declared() {
            return Ok((self.apply(AllowList::default()), true));
        }
        let declared = declared()?;
        let accepted = declared.is_some();
        Ok((self.apply(declared.unwrap_or_default()), accepted))
    }

    /// The allow-list in force, given what the component declared.
    pub fn apply(&self, declared: AllowList) -> AllowList {
        let base = if self.replaces_declared() {
            AllowList::new(self.only.iter().cloned())
        } else {
            declared
        };
        AllowList::new(base.origins.into_iter().chain(self.also.iter().cloned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn origin(s: &str) -> Origin {
        Origin::parse(s).unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    fn example() -> AllowList {
        AllowList::new([origin("https://api.example.com")])
    }

    fn check(list: &AllowList, url: &str) -> Result<Url, Denial> {
        list.check_request(url, [])
    }

    #[test]
    fn origin_fills_default_ports_and_lowercases() {
        assert_eq!(
            origin("HTTPS://API.Example.COM").to_string(),
            "https://api.example.com:443"
        );
        assert_eq!(
            origin("http://example.com/").to_string(),
            "http://example.com:80"
        );
        assert_eq!(
            origin("https://api.example.com:443"),
            origin("https://api.example.com")
        );
        assert_eq!(origin("http://localhost:8080").port(), 8080);
    }

    #[test]
    fn origin_rejects_paths_queries_and_other_schemes() {
        assert_eq!(
            Origin::parse("https://api.example.com/graphql"),
            Err(OriginError::NotBare)
        );
        assert_eq!(
            Origin::parse("https://api.example.com?x"),
            Err(OriginError::NotBare)
        );
        assert_eq!(
            Origin::parse("https://api.example.com#x"),
            Err(OriginError::NotBare)
        );
        assert!(matches!(
            Origin::parse("ftp://api.example.com"),
            Err(OriginError::Scheme(_))
        ));
        assert!(matches!(
            Origin::parse("api.example.com"),
            Err(OriginError::Malformed(_))
        ));
        assert_eq!(
            Origin::parse("https://user:pw@api.example.com"),
            Err(OriginError::Userinfo)
        );
    }

    #[test]
    fn allows_listed_origin_with_any_path() {
        let url = check(&example(), "https://api.example.com/graphql?x=1");
        assert_eq!(
            url.map(|u| u.to_string()),
            Ok("https://api.example.com/graphql?x=1".to_string())
        );
        assert!(check(&example(), "https://api.example.com:443/graphql").is_ok());
    }

    #[test]
    fn uppercase_host_and_scheme_match() {
        assert!(check(&example(), "HTTPS://API.EXAMPLE.COM/graphql").is_ok());
    }

    #[test]
    fn userinfo_is_refused_even_for_listed_host() {
        let denial = check(&example(), "https://user:secret@api.example.com/graphql");
        assert!(matches!(
            denial,
            Err(Denial::BadUrl {
                reason: OriginError::Userinfo,
                ..
            })
        ));
        assert!(matches!(
            check(&example(), "https://user@api.example.com/"),
            Err(Denial::BadUrl {
                reason: OriginError::Userinfo,
                ..
            })
        ));
    }

    #[test]
    fn authority_tricks_are_refused() {
        // The listed name as userinfo, in the fragment, as a subdomain, after a backslash.
        for url in [
            "https://api.example.com@evil.com/graphql",
            "https://evil.com#@api.example.com",
            "https://evil.com?@api.example.com",
            "https://api.example.com.evil.com/",
            "https://evil.com\\@api.example.com/",
            "https://evil.com/https://api.example.com",
            "https://api.example.com./graphql",
        ] {
            assert!(check(&example(), url).is_err(), "{url} was allowed");
        }
    }

    #[test]
    fn port_and_scheme_mismatch_are_refused() {
        assert!(matches!(
            check(&example(), "https://api.example.com:8443/"),
            Err(Denial::NotAllowed { .. })
        ));
        assert!(matches!(
            check(&example(), "http://api.example.com/"),
            Err(Denial::NotAllowed { .. })
        ));
        // http on port 443 is not https.
        assert!(check(&example(), "http://api.example.com:443/").is_err());
    }

    #[test]
    fn non_http_schemes_are_refused() {
        for url in [
            "file:///etc/passwd",
            "ftp://api.example.com/",
            "javascript:alert(1)",
            "data:text/plain,hi",
            "ws://api.example.com/",
        ] {
            assert!(
                matches!(
                    check(&example(), url),
                    Err(Denial::BadUrl {
                        reason: OriginError::Scheme(_),
                        ..
                    })
                ),
                "{url}"
            );
        }
    }

    #[test]
    fn relative_and_malformed_urls_are_refused() {
        for url in ["/graphql", "", "https://", "https://[::1/"] {
            assert!(check(&example(), url).is_err(), "{url:?} was allowed");
        }
    }

    #[test]
    fn ipv6_literals_are_normalised() {
        let list = AllowList::new([origin("http://[::1]:8080")]);
        assert!(check(&list, "http://[0:0:0:0:0:0:0:1]:8080/x").is_ok());
        assert!(check(&list, "http://[::1]:8081/x").is_err());
        assert!(check(&list, "http://[::1]/x").is_err());
        assert_eq!(origin("http://[::1]:8080").host(), "[::1]");
    }

    #[test]
    fn ipv4_spellings_are_normalised() {
        let list = AllowList::new([origin("http://127.0.0.1:8080")]);
        assert!(check(&list, "http://0x7f.0.0.1:8080/").is_ok());
        assert!(check(&list, "http://127.1:8080/").is_ok());
        assert!(check(&list, "http://127.0.0.2:8080/").is_err());
    }

    #[test]
    fn host_header_is_refused_in_any_case() {
        let list = example();
        let url = "https://api.example.com/graphql";
        assert!(list
            .check_request(url, [("content-type", "a/b"), ("X-API-KEY", "k")])
            .is_ok());
        for name in ["host", "Host", "HOST"] {
            assert!(
                matches!(
                    list.check_request(url, [("accept", "*/*"), (name, "evil.example")]),
                    Err(Denial::HostHeader { .. })
                ),
                "{name:?}"
            );
        }
    }

    #[test]
    fn headers_must_be_sendable_as_they_are() {
        let list = example();
        let url = "https://api.example.com/graphql";
        let visible: String = (' '..='~').chain(['\t']).collect();
        assert!(list.check_request(url, [("x-api-key", &*visible)]).is_ok());
        for name in [" host", "x key", "x-api-key\r\nx", "", "ké"] {
            assert!(
                matches!(
                    list.check_request(url, [(name, "v")]),
                    Err(Denial::HeaderName { .. })
                ),
                "{name:?}"
            );
        }
        for value in [
            "SECRET\r\nx: y",
            "SECRET\n",
            "SECRET\0",
            "SECRET✓",
            "SECRETé",
            "SECRET\u{7f}",
        ] {
            let denial = list
                .check_request(url, [("x-api-key", value)])
                .expect_err(value);
            assert_eq!(
                denial.to_string(),
                "https://api.example.com/graphql: the value of header `x-api-key` holds a \
                 character an HTTP header cannot carry"
            );
        }
    }

    #[test]
    fn empty_list_allows_nothing() {
        assert!(matches!(
            check(&AllowList::default(), "https://api.example.com/"),
            Err(Denial::NotAllowed { .. })
        ));
    }

    #[test]
    fn overrides_narrow_or_extend() {
        let declared = AllowList::parse(&["https://api.example.com", "https://edge.example.com"])
            .unwrap_or_else(|(o, e)| panic!("{o}: {e}"));
        let local = origin("http://127.0.0.1:9000");

        let none = OriginOverrides::default();
        assert_eq!(none.apply(declared.clone()), declared);

        let extend = OriginOverrides {
            only: vec![],
            also: vec![local.clone()],
        };
        let extended = extend.apply(declared.clone());
        assert!(extended.contains(&local) && extended.contains(&origin("https://api.example.com")));

        let narrow = OriginOverrides {
            only: vec![origin("https://api.example.com")],
            also: vec![],
        };
        assert_eq!(narrow.apply(declared.clone()), example());

        let both = OriginOverrides {
            only: vec![origin("https://api.example.com")],
            also: vec![local.clone()],
        };
        assert_eq!(
            both.apply(declared).to_string(),
            "http://127.0.0.1:9000, https://api.example.com:443"
        );
    }

    #[test]
    fn declared_list_reports_the_bad_entry() {
        let err = AllowList::parse(&["https://api.example.com", "example"]);
        assert!(matches!(err, Err((ref o, OriginError::Malformed(_))) if o == "example"));
    }
}
