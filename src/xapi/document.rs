//! Document rules (xAPI 1.0.3 Communication §2.2 and §3.1; xAPI 2.0 §4.1.4 and §4.1.6), pure:
//! ETags, the JSON merge of POST, and the concurrency preconditions.

use serde_json::{Map, Value};
use sha1::{Digest, Sha1};

use super::XapiVersion;

/// The three Document Resources; they share storage and rules but differ in concurrency.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    State,
    ActivityProfile,
    AgentProfile,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::State => "state",
            Kind::ActivityProfile => "activity_profile",
            Kind::AgentProfile => "agent_profile",
        }
    }
}

/// Communication §3.1.s4.b2: the ETag is the hexadecimal SHA-1 of the contents, lowercase
/// (unquoted here; responses quote it, §3.1.s4.b4).
pub fn etag(content: &[u8]) -> String {
    Sha1::digest(content)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Whether a Content-Type names JSON (`application/json`, parameters ignored).
pub fn is_json(content_type: &str) -> bool {
    content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .eq_ignore_ascii_case("application/json")
}

/// Why a POST cannot be merged (Communication §2.2.s8.b1: answered with 400).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MergeError(pub String);

/// Communication §2.2.s7: when both documents are JSON Objects of type `application/json`, the
/// posted top-level properties replace those of the stored Object (only the top level is
/// merged). §2.2.s8.b1: otherwise the request is rejected and nothing changes.
pub fn merge(
    stored_type: &str,
    stored: &[u8],
    posted_type: &str,
    posted: &[u8],
) -> Result<Vec<u8>, MergeError> {
    if !is_json(stored_type) {
        return Err(MergeError(format!(
            "the stored document has Content-Type `{stored_type}`; only application/json \
             documents can be merged by POST (use PUT to replace it)"
        )));
    }
    if !is_json(posted_type) {
        return Err(MergeError(format!(
            "POST to an existing application/json document must send application/json, \
             not `{posted_type}`"
        )));
    }
    let mut base = json_object(stored)
        .ok_or_else(|| MergeError("the stored document is not a JSON Object".into()))?;
    let update = json_object(posted)
        .ok_or_else(|| MergeError("the posted document is not a JSON Object".into()))?;
    for (k, v) in update {
        base.insert(k, v);
    }
    Ok(Value::Object(base).to_string().into_bytes())
}

/// Parses a document as a JSON Object.
pub fn json_object(bytes: &[u8]) -> Option<Map<String, Value>> {
    match serde_json::from_slice(bytes) {
        Ok(Value::Object(o)) => Some(o),
        _ => None,
    }
}

/// The write a request asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Write {
    Put,
    Post,
    Delete,
}

/// The precondition headers of a request (RFC 7232 §3.1–§3.2): `None` when absent, else the
/// listed entity tags (unquoted, weak prefix dropped) or `["*"]`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Preconditions {
    pub if_match: Option<Vec<String>>,
    pub if_none_match: Option<Vec<String>>,
}

impl Preconditions {
    /// Parses header values such as `"abc", W/"def"` or `*`.
    pub fn parse(if_match: Option<&str>, if_none_match: Option<&str>) -> Self {
        Preconditions {
            if_match: if_match.map(tags),
            if_none_match: if_none_match.map(tags),
        }
    }
}

fn tags(header: &str) -> Vec<String> {
    header
        .split(',')
        .map(|t| {
            let t = t.trim();
            let t = t.strip_prefix("W/").unwrap_or(t);
            t.trim_matches('"').to_string()
        })
        .filter(|t| !t.is_empty())
        .collect()
}

/// What the concurrency rules decide for a write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Proceed,
    /// 412 Precondition Failed, the document untouched.
    PreconditionFailed(String),
    /// 409 Conflict: a PUT over an existing document without either header.
    Conflict(String),
    /// 400 Bad Request: a 1.0.3 profile PUT for a new document without either header.
    MissingPrecondition(String),
}

/// Decides whether a write may go ahead, given the current document's ETag (`None` when there
/// is no document).
///
/// - If-Match (1.0.3 §3.1.s4.b5 PUT MUST, b7 POST/DELETE SHOULD*; 2.0 §4.1.4 SHALL for PUT,
///   POST and DELETE): proceeds only when the document exists and its ETag is listed (or `*`).
/// - If-None-Match (1.0.3 §3.1.s4.b6 PUT MUST, b8 POST SHOULD*): `*` fails when the document
///   exists; a list fails when the current ETag is listed.
/// - Neither header on a PUT over an existing document (1.0.3 §3.1.s4.b13–b15): 409 for the
///   profile resources. State is exempt in 1.0.3 (§3.1.s3: "The State Resource will permit PUT,
///   POST and DELETE requests without concurrency headers"); the 2.0 requirement carries no
///   such exemption and the ADL 2.0 suite checks State too (lrs-conformance-test-suite #282),
///   so under 2.0 State follows the profile rule.
/// - Neither header on a 1.0.3 profile PUT for a new document: 400, since the client "MUST
///   include the If-Match header or the If-None-Match header" (1.0.3 §3.1.s3.b1, ADL
///   XAPI-00273). 2.0 states no such client requirement, so the PUT creates the document.
pub fn check(
    version: XapiVersion,
    kind: Kind,
    write: Write,
    pre: &Preconditions,
    current: Option<&str>,
) -> Verdict {
    if let Some(list) = &pre.if_match {
        let matches = current.is_some_and(|etag| list.iter().any(|t| t == "*" || t == etag));
        if !matches {
            return Verdict::PreconditionFailed(match current {
                None => "If-Match was sent but the document does not exist".into(),
                Some(_) => "If-Match does not match the document's current ETag; fetch the \
                            document again to get its ETag"
                    .into(),
            });
        }
    }
    if let Some(list) = &pre.if_none_match {
        let matches = current.is_some_and(|etag| list.iter().any(|t| t == "*" || t == etag));
        if matches {
            return Verdict::PreconditionFailed(
                "If-None-Match was sent but the document already exists".into(),
            );
        }
    }
    let unguarded = pre.if_match.is_none() && pre.if_none_match.is_none();
    let exempt = kind == Kind::State && version == XapiVersion::V1_0_3;
    if write == Write::Put && unguarded && current.is_some() && !exempt {
        return Verdict::Conflict(
            "the document already exists and the PUT sent neither If-Match nor If-None-Match: \
             check the current state of the document (GET it) and send If-Match with its \
             current ETag to replace it"
                .into(),
        );
    }
    let profile = kind != Kind::State;
    if write == Write::Put && unguarded && profile && version == XapiVersion::V1_0_3 {
        return Verdict::MissingPrecondition(
            "a PUT to a profile resource must send If-Match (with the document's ETag) or \
             If-None-Match: * (to create it)"
                .into(),
        );
    }
    Verdict::Proceed
}

#[cfg(test)]
mod tests {
    use super::*;
    use XapiVersion::*;

    #[test]
    fn etag_is_lowercase_sha1_hex() {
        // SHA-1("abc"), FIPS 180-2 appendix A.
        assert_eq!(etag(b"abc"), "a9993e364706816aba3e25717850c26c9cd0d89d");
    }

    #[test]
    fn merge_replaces_top_level_properties_only() {
        // Communication §2.2.s7's example.
        let merged = merge(
            "application/json",
            br#"{"x":"foo","y":"bar"}"#,
            "application/json; charset=utf-8",
            br#"{"x":"bash","z":"faz"}"#,
        )
        .unwrap();
        let v: Value = serde_json::from_slice(&merged).unwrap();
        assert_eq!(v, serde_json::json!({"x":"bash","y":"bar","z":"faz"}));
        let nested = merge(
            "application/json",
            br#"{"a":{"b":1,"c":2}}"#,
            "application/json",
            br#"{"a":{"b":3}}"#,
        )
        .unwrap();
        assert_eq!(
            serde_json::from_slice::<Value>(&nested).unwrap(),
            serde_json::json!({"a":{"b":3}})
        );
    }

    #[test]
    fn merge_rejects_non_json_either_side() {
        // (stored type, stored, posted type, posted, why)
        type Case<'a> = (&'a str, &'a [u8], &'a str, &'a [u8], &'a str);
        let cases: &[Case] = &[
            (
                "text/plain",
                b"{}",
                "application/json",
                b"{}",
                "stored not JSON type",
            ),
            (
                "application/json",
                b"{}",
                "text/plain",
                b"{}",
                "posted not JSON type",
            ),
            (
                "application/json",
                b"[1]",
                "application/json",
                b"{}",
                "stored an array",
            ),
            (
                "application/json",
                b"{}",
                "application/json",
                b"{x",
                "posted invalid",
            ),
            (
                "application/json",
                b"{}",
                "application/json",
                b"1",
                "posted a number",
            ),
        ];
        for (st, s, pt, p, why) in cases {
            assert!(merge(st, s, pt, p).is_err(), "{why}");
        }
    }

    #[test]
    fn precondition_matrix() {
        let none = Preconditions::default();
        let matching = Preconditions::parse(Some("\"e1\""), None);
        let other = Preconditions::parse(Some("\"e2\""), None);
        let star = Preconditions::parse(None, Some("*"));
        let p = |v| matches!(v, Verdict::Proceed);
        let f412 = |v| matches!(v, Verdict::PreconditionFailed(_));
        let f409 = |v| matches!(v, Verdict::Conflict(_));
        for version in [V1_0_3, V2_0_0] {
            for kind in [Kind::State, Kind::ActivityProfile, Kind::AgentProfile] {
                use Write::*;
                let c = |w, pre: &Preconditions, cur| check(version, kind, w, pre, cur);
                let unguarded_new = c(Put, &none, None);
                if kind != Kind::State && version == V1_0_3 {
                    assert!(matches!(unguarded_new, Verdict::MissingPrecondition(_)));
                } else {
                    assert!(p(unguarded_new));
                }
                assert!(p(c(Put, &matching, Some("e1"))));
                assert!(f412(c(Put, &other, Some("e1"))));
                assert!(f412(c(Put, &matching, None)));
                assert!(f412(c(Put, &star, Some("e1"))));
                assert!(p(c(Put, &star, None)));
                assert!(f412(c(Post, &other, Some("e1"))));
                assert!(f412(c(Delete, &other, Some("e1"))));
                assert!(p(c(Post, &none, Some("e1"))));
                assert!(p(c(Delete, &none, Some("e1"))));
                let unguarded_put = c(Put, &none, Some("e1"));
                if kind == Kind::State && version == V1_0_3 {
                    assert!(p(unguarded_put));
                } else {
                    assert!(f409(unguarded_put), "{version} {kind:?}");
                }
            }
        }
    }

    #[test]
    fn parses_tag_lists() {
        let pre = Preconditions::parse(Some(r#""a", W/"b""#), Some("*"));
        assert_eq!(pre.if_match.unwrap(), vec!["a", "b"]);
        assert_eq!(pre.if_none_match.unwrap(), vec!["*"]);
    }
}
