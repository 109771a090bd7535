//! Inverse Functional Identifiers (xAPI 1.0.3 Data §2.4.2.3): exactly one of mbox,
//! mbox_sha1sum, openid, account identifies an Agent or an identified Group.

use serde_json::{Map, Value};

pub const IFI_PROPERTIES: [&str; 4] = ["mbox", "mbox_sha1sum", "openid", "account"];

/// The IFI properties present on an Agent or Group object.
pub fn present(object: &Map<String, Value>) -> Vec<&'static str> {
    IFI_PROPERTIES
        .into_iter()
        .filter(|p| object.contains_key(*p))
        .collect()
}

/// A canonical text key for the agent's IFI, used by link tables and the `agent` filter.
/// mbox and mbox_sha1sum are compared case-insensitively (Data §2.3.1.b7).
pub fn key(agent: &Value) -> Option<String> {
    let o = agent.as_object()?;
    if let Some(m) = o.get("mbox").and_then(Value::as_str) {
        return Some(["mbox:", &m.to_lowercase()].concat());
    }
    if let Some(s) = o.get("mbox_sha1sum").and_then(Value::as_str) {
        return Some(["mbox_sha1sum:", &s.to_lowercase()].concat());
    }
    if let Some(s) = o.get("openid").and_then(Value::as_str) {
        return Some(["openid:", s].concat());
    }
    if let Some(a) = o.get("account").and_then(Value::as_object) {
        let home = a.get("homePage").and_then(Value::as_str)?;
        let name = a.get("name").and_then(Value::as_str)?;
        // A space cannot occur in an IRI, so it separates homePage from name unambiguously.
        return Some(["account:", home, " ", name].concat());
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn keys() {
        assert_eq!(
            key(&json!({"mbox": "mailto:A@Example.com"})).unwrap(),
            "mbox:mailto:a@example.com"
        );
        assert_eq!(
            key(&json!({"account": {"homePage": "http://x.org", "name": "n"}})).unwrap(),
            "account:http://x.org n"
        );
        assert_eq!(key(&json!({"name": "anonymous"})), None);
    }
}
