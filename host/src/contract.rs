//! Which version of the WIT contract (`wit/connector.wit`, package
//! `airbyte:connector`) this host runs, checked before linking so a component
//! built for another version gets a clear message instead of a link error.

use std::fmt;

pub const PACKAGE: &str = "airbyte:connector";

/// The version of `wit/connector.wit` this host was built from. Components of
/// the same minor version (0.x) or major version (1.x and later) are accepted.
pub const VERSION: Version = Version {
    major: 0,
    minor: 5,
    patch: 0,
};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Version {
    pub major: u64,
    pub minor: u64,
    pub patch: u64,
}

impl Version {
    fn parse(text: &str) -> Option<Self> {
        let mut parts = text.split('.').map(|p| p.parse::<u64>().ok());
        let version = Self {
            major: parts.next()??,
            minor: parts.next()??,
            patch: parts.next()??,
        };
        parts.next().is_none().then_some(version)
    }

    /// Whether a component built for `self` runs on a host of `host`.
    fn runs_on(self, host: Version) -> bool {
        match host.major {
            0 => self.major == 0 && self.minor == host.minor,
            _ => self.major == host.major,
        }
    }

    fn series(self) -> String {
        match self.major {
            0 => format!("0.{}.x", self.minor),
            major => format!("{major}.x"),
        }
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.major, self.minor, self.patch)
    }
}

/// Checks every `airbyte:connector/...@V` name a component imports or
/// exports against [`VERSION`].
pub fn check<'a>(names: impl IntoIterator<Item = &'a str>) -> Result<(), String> {
    let prefix = format!("{PACKAGE}/");
    for name in names {
        let Some(rest) = name.strip_prefix(&prefix) else {
            continue;
        };
        let version = rest.split_once('@').map(|(_, v)| v);
        match version.and_then(Version::parse) {
            Some(version) if version.runs_on(VERSION) => {}
            Some(version) => {
                return Err(format!(
                    "the component was built for {PACKAGE}@{version} (it uses {name}), but this \
                     host runs {PACKAGE}@{} components: use a host built for {PACKAGE}@{version}, \
                     or rebuild the component against {PACKAGE}@{VERSION}",
                    VERSION.series()
                ))
            }
            None => {
                return Err(format!(
                    "the component uses {name}, which names no version of {PACKAGE}; this host \
                     runs {PACKAGE}@{} components",
                    VERSION.series()
                ))
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_minor_runs_other_minors_do_not() {
        assert_eq!(
            check([
                "wasi:io/streams@0.2.6",
                "airbyte:connector/http@0.5.0",
                "airbyte:connector/source@0.5.3",
            ]),
            Ok(())
        );
        for (name, built_for) in [
            ("airbyte:connector/http@0.6.0", "0.6.0"),
            ("airbyte:connector/sink@0.4.0", "0.4.0"),
            ("airbyte:connector/source@1.0.0", "1.0.0"),
        ] {
            let error = check([name]).expect_err(name);
            assert!(
                error.contains(&format!("built for airbyte:connector@{built_for}")),
                "{error}"
            );
            assert!(
                error.contains("runs airbyte:connector@0.5.x components"),
                "{error}"
            );
        }
        let error = check(["airbyte:connector/http"]).expect_err("no version");
        assert!(error.contains("names no version"), "{error}");
    }

    #[test]
    fn the_version_matches_the_wit_file() {
        let wit = include_str!("../../wit/connector.wit");
        assert!(
            wit.contains(&format!("package {PACKAGE}@{VERSION};")),
            "wit/connector.wit and contract::VERSION disagree"
        );
    }
}
