//! Version negotiation (xAPI 1.0.3 Communication §3.3; xAPI 2.0 §2.1.3).

use std::fmt;

/// The xAPI version a request is served under, chosen by `X-Experience-API-Version`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum XapiVersion {
    /// 1.0.0 – 1.0.3 requests, answered as 1.0.3 (the latest patch version, §3.3.s3.b2).
    V1_0_3,
    /// 2.0.0 requests (IEEE 9274.1.1).
    V2_0_0,
}

pub const HEADER: &str = "X-Experience-API-Version";

impl XapiVersion {
    /// Parses a version header value. `1.0` is accepted as `1.0.0` (§3.3.s3.b3); any `1.0.x`
    /// is 1.0.3 (§3.3.s3.b5); `1.1.0` and later, and anything before 1.0.0, are rejected.
    pub fn from_header(value: &str) -> Option<Self> {
        let value = value.trim();
        let patch_of = |prefix: &str| -> bool {
            value == prefix
                || value
                    .strip_prefix(prefix)
                    .and_then(|rest| rest.strip_prefix('.'))
                    .is_some_and(|patch| {
                        !patch.is_empty() && patch.bytes().all(|b| b.is_ascii_digit())
                    })
        };
        if patch_of("1.0") {
            Some(XapiVersion::V1_0_3)
        } else if patch_of("2.0") {
            Some(XapiVersion::V2_0_0)
        } else {
            None
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            XapiVersion::V1_0_3 => "1.0.3",
            XapiVersion::V2_0_0 => "2.0.0",
        }
    }

    /// The `version` an LRS stamps on a statement that arrived without one
    /// (1.0.3 Data §2.4.10.s3.b3: `1.0.0`; 2.0: `2.0.0`).
    pub fn default_statement_version(self) -> &'static str {
        match self {
            XapiVersion::V1_0_3 => "1.0.0",
            XapiVersion::V2_0_0 => "2.0.0",
        }
    }

    /// Whether a statement's own `version` property is acceptable under this request version.
    /// 1.0.3 Data §2.4.10.s3: accept every `1.0.x`, reject anything else; 2.0 adds `2.0.x`.
    pub fn accepts_statement_version(self, version: &str) -> bool {
        // §2.4.10.s2.b1: formatted as the version header, so a bare `1.0` counts as `1.0.0`.
        let is_patch_of = |prefix: &str| {
            version == prefix
                || version
                    .strip_prefix(prefix)
                    .and_then(|r| r.strip_prefix('.'))
                    .is_some_and(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
        };
        match self {
            XapiVersion::V1_0_3 => is_patch_of("1.0"),
            XapiVersion::V2_0_0 => is_patch_of("1.0") || is_patch_of("2.0"),
        }
    }
}

impl fmt::Display for XapiVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_values() {
        use XapiVersion::*;
        let cases = [
            ("1.0", Some(V1_0_3)),
            ("1.0.0", Some(V1_0_3)),
            ("1.0.1", Some(V1_0_3)),
            ("1.0.3", Some(V1_0_3)),
            ("1.0.9", Some(V1_0_3)),
            ("2.0.0", Some(V2_0_0)),
            ("0.95", None),
            ("0.9", None),
            ("1.1.0", None),
            ("1.0.", None),
            ("1.0.x", None),
            ("3.0.0", None),
            ("", None),
        ];
        for (header, expected) in cases {
            assert_eq!(XapiVersion::from_header(header), expected, "{header}");
        }
    }

    #[test]
    fn statement_versions() {
        assert!(XapiVersion::V1_0_3.accepts_statement_version("1.0.0"));
        assert!(XapiVersion::V1_0_3.accepts_statement_version("1.0.3"));
        assert!(!XapiVersion::V1_0_3.accepts_statement_version("2.0.0"));
        assert!(!XapiVersion::V1_0_3.accepts_statement_version("1.1.0"));
        assert!(XapiVersion::V1_0_3.accepts_statement_version("1.0"));
        assert!(XapiVersion::V2_0_0.accepts_statement_version("2.0.0"));
        assert!(XapiVersion::V2_0_0.accepts_statement_version("1.0.3"));
        assert!(!XapiVersion::V2_0_0.accepts_statement_version("0.95"));
    }
}
