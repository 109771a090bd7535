//! Attachments (Data §2.4.11, Communication §1.5.2): which declared attachments need content,
//! and matching the content parts of a `multipart/mixed` request to them by SHA-2.

use bytes::Bytes;
use serde_json::Value;
use sha2::{Digest, Sha256, Sha384, Sha512};

/// usageType of a statement signature (Data §2.6).
pub const SIGNATURE_USAGE: &str = "http://adlnet.gov/expapi/attachments/signature";

/// A content part as received (every part after the statements).
#[derive(Debug, Clone)]
pub struct ReceivedPart {
    pub hash: Option<String>,
    pub transfer_encoding: Option<String>,
    pub body: Bytes,
}

/// Attachment content, identified by the SHA-2 (lower-case hex) its statements declare.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Content {
    pub sha2: String,
    pub bytes: Bytes,
}

/// The attachment objects of a statement (none when the property is absent or malformed).
pub fn declared(statement: &Value) -> impl Iterator<Item = &serde_json::Map<String, Value>> {
    statement
        .get("attachments")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_object)
}

/// The SHA-2 of `data` with the algorithm whose digest length matches `declared_hex`
/// (SHA-256, SHA-384 or SHA-512, Communication §1.5.2.s4.b4), as lower-case hex.
pub fn sha2_hex(declared_hex: &str, data: &[u8]) -> Option<String> {
    let digest: Vec<u8> = match declared_hex.len() {
        64 => Sha256::digest(data).to_vec(),
        96 => Sha384::digest(data).to_vec(),
        128 => Sha512::digest(data).to_vec(),
        _ => return None,
    };
    Some(digest.iter().map(|b| format!("{b:02x}")).collect())
}

/// Matches the parts to the attachments declared in `statements`:
/// - every part names its hash in `X-Experience-API-Hash` (Communication §1.5.2.s2.b2.b3),
///   is `binary` when it states a transfer encoding (§1.5.2.s2.b2.b4, §1.5.2.s3.b6), has the
///   content that hash names, and is declared by some attachment (an undeclared part is
///   rejected, Data §2.4.11);
/// - every attachment without `fileUrl` has a part (§1.5.2.s3.b5).
///
/// Returns the content to store, one entry per distinct hash.
pub fn match_parts(statements: &[Value], parts: Vec<ReceivedPart>) -> Result<Vec<Content>, String> {
    let declared_hashes: Vec<String> = statements
        .iter()
        .flat_map(declared)
        .filter_map(|a| a.get("sha2").and_then(Value::as_str))
        .map(str::to_ascii_lowercase)
        .collect();
    let mut contents: Vec<Content> = Vec::new();
    for (i, part) in parts.into_iter().enumerate() {
        let n = i + 2; // parts are counted from 1 and the statements are the first
        let hash = part
            .hash
            .as_deref()
            .map(str::to_ascii_lowercase)
            .ok_or_else(|| format!("part {n} has no X-Experience-API-Hash header"))?;
        if let Some(encoding) = &part.transfer_encoding {
            if !encoding.eq_ignore_ascii_case("binary") {
                return Err(format!(
                    "part {n} has Content-Transfer-Encoding `{encoding}`; attachments are sent as binary"
                ));
            }
        }
        if !declared_hashes.contains(&hash) {
            return Err(format!(
                "part {n} (hash {hash}) is not an attachment declared by any statement"
            ));
        }
        if sha2_hex(&hash, &part.body).as_deref() != Some(hash.as_str()) {
            return Err(format!(
                "part {n}: its content does not have the SHA-2 {hash} its X-Experience-API-Hash header names"
            ));
        }
        if !contents.iter().any(|c| c.sha2 == hash) {
            contents.push(Content {
                sha2: hash,
                bytes: part.body,
            });
        }
    }
    for (i, statement) in statements.iter().enumerate() {
        for attachment in declared(statement).filter(|a| !a.contains_key("fileUrl")) {
            let sha2 = attachment
                .get("sha2")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_ascii_lowercase();
            if !contents.iter().any(|c| c.sha2 == sha2) {
                return Err(format!(
                    "statement {i} declares an attachment with sha2 {sha2} and no fileUrl, but no \
                     part carries its content (send it as a part of a multipart/mixed request)"
                ));
            }
        }
    }
    Ok(contents)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const TEXT: &[u8] = b"here is a simple attachment";
    /// From the example of Communication §1.5.2.
    const TEXT_SHA256: &str = "495395e777cd98da653df9615d09c0fd6bb2f8d4788394cd53c56a3bfdcd848a";

    fn statement(attachments: Value) -> Value {
        json!({ "attachments": attachments })
    }

    fn part(hash: Option<&str>, encoding: Option<&str>, body: &'static [u8]) -> ReceivedPart {
        ReceivedPart {
            hash: hash.map(str::to_string),
            transfer_encoding: encoding.map(str::to_string),
            body: Bytes::from_static(body),
        }
    }

    #[test]
    fn hashes_follow_the_declared_length() {
        assert_eq!(sha2_hex(TEXT_SHA256, TEXT).unwrap(), TEXT_SHA256);
        assert_eq!(sha2_hex(&"0".repeat(96), b"").unwrap().len(), 96);
        assert_eq!(sha2_hex(&"0".repeat(128), b"").unwrap().len(), 128);
        assert_eq!(sha2_hex("abc", b""), None);
    }

    #[test]
    fn matching_parts_are_accepted_once_per_hash() {
        let s = statement(json!([{ "sha2": TEXT_SHA256 }, { "sha2": TEXT_SHA256.to_uppercase() }]));
        let got = match_parts(
            &[s.clone(), s],
            vec![
                part(Some(TEXT_SHA256), Some("binary"), TEXT),
                part(Some(TEXT_SHA256), None, TEXT),
            ],
        )
        .unwrap();
        assert_eq!(got.len(), 1);
        assert_eq!(&got[0].bytes[..], TEXT);
    }

    #[test]
    fn file_url_attachments_need_no_part() {
        let s = statement(json!([{ "sha2": TEXT_SHA256, "fileUrl": "http://example.com/a" }]));
        assert_eq!(match_parts(&[s], vec![]).unwrap(), vec![]);
    }

    #[test]
    fn each_broken_rule_is_named() {
        let s = statement(json!([{ "sha2": TEXT_SHA256 }]));
        let cases: Vec<(Vec<ReceivedPart>, &str)> = vec![
            (vec![], "no part carries its content"),
            (vec![part(None, None, TEXT)], "no X-Experience-API-Hash"),
            (
                vec![part(Some(TEXT_SHA256), Some("base64"), TEXT)],
                "Content-Transfer-Encoding",
            ),
            (
                vec![part(Some(TEXT_SHA256), None, b"other content")],
                "does not have the SHA-2",
            ),
            (
                vec![
                    part(Some(TEXT_SHA256), None, TEXT),
                    part(Some(&"1".repeat(64)), None, TEXT),
                ],
                "not an attachment declared",
            ),
        ];
        for (parts, why) in cases {
            let err = match_parts(std::slice::from_ref(&s), parts).unwrap_err();
            assert!(err.contains(why), "{why}: {err}");
        }
    }
}
