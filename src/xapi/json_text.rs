//! Compact JSON text of a `serde_json::Value`, byte for byte what `serde_json::to_string`
//! writes, with less work per string.
//!
//! Writing each stored statement's text through `serde_json`'s `Serializer` (its map and key
//! plumbing, and its escaping, one byte at a time through a table) took 185 M instructions for
//! ten batches of 1,000 workload statements; this writer takes 150 M (callgrind, README
//! *Ingest*). It scans a string eight bytes at a time for the bytes that JSON requires escaped
//! (RFC 8259 §7: `"`, `\` and the control characters below U+0020) and copies it in runs; most
//! of its cost is now per string (keys are short), not per byte.

use serde_json::{Map, Value};

/// The compact JSON text of `value`, identical to `serde_json::to_string(value)`.
pub fn to_text(value: &Value) -> String {
    let mut out = Vec::with_capacity(2048);
    write_value(value, &mut out);
    // Only whole UTF-8 strings and ASCII punctuation were written.
    String::from_utf8(out).expect("JSON text written from a Value is UTF-8")
}

/// Appends the compact JSON text of `value` to `out`.
pub fn write_value(value: &Value, out: &mut Vec<u8>) {
    match value {
        Value::Null => out.extend_from_slice(b"null"),
        Value::Bool(true) => out.extend_from_slice(b"true"),
        Value::Bool(false) => out.extend_from_slice(b"false"),
        // Numbers are rare in statements (scores, lengths); serde_json's own formatting keeps
        // them identical.
        Value::Number(n) => serde_json::to_writer(&mut *out, n).expect("writing to a Vec"),
        Value::String(s) => write_str(s, out),
        Value::Array(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_value(item, out);
            }
            out.push(b']');
        }
        Value::Object(map) => write_object(map, out),
    }
}

/// Appends the compact JSON text of an object to `out` (keys in the map's order).
pub fn write_object(map: &Map<String, Value>, out: &mut Vec<u8>) {
    out.push(b'{');
    for (i, (key, item)) in map.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        write_str(key, out);
        out.push(b':');
        write_value(item, out);
    }
    out.push(b'}');
}

const ONES: u64 = 0x0101_0101_0101_0101;
const HIGHS: u64 = 0x8080_8080_8080_8080;

/// Whether any of the eight bytes of `w` is `"`, `\` or below 0x20. Exact: the bit tricks
/// ("has a zero byte", "has a byte less than n" for n ≤ 128) have no false positives for the
/// word as a whole.
fn any_needs_escape(w: u64) -> bool {
    let has_zero = |v: u64| v.wrapping_sub(ONES) & !v & HIGHS;
    let below_space = w.wrapping_sub(ONES * 0x20) & !w & HIGHS;
    (below_space | has_zero(w ^ (ONES * b'"' as u64)) | has_zero(w ^ (ONES * b'\\' as u64))) != 0
}

fn write_str(s: &str, out: &mut Vec<u8>) {
    let bytes = s.as_bytes();
    out.reserve(bytes.len() + 2);
    out.push(b'"');
    // `bytes[start..i]` needs no escaping and is not written yet.
    let mut start = 0;
    let mut i = 0;
    while i < bytes.len() {
        let end = match bytes.get(i..i + 8) {
            Some(chunk) if !any_needs_escape(u64::from_le_bytes(chunk.try_into().unwrap())) => {
                i += 8;
                continue;
            }
            Some(_) => i + 8,
            // The last bytes (all of a short key's): checked one by one.
            None if !bytes[i..]
                .iter()
                .any(|&b| b < 0x20 || b == b'"' || b == b'\\') =>
            {
                break
            }
            None => bytes.len(),
        };
        for at in i..end {
            let b = bytes[at];
            let escape: &[u8] = match b {
                b'"' => b"\\\"",
                b'\\' => b"\\\\",
                b'\n' => b"\\n",
                b'\r' => b"\\r",
                b'\t' => b"\\t",
                0x08 => b"\\b",
                0x0c => b"\\f",
                b if b < 0x20 => &[
                    b'\\',
                    b'u',
                    b'0',
                    b'0',
                    HEX[(b >> 4) as usize],
                    HEX[(b & 0xf) as usize],
                ],
                _ => continue,
            };
            out.extend_from_slice(&bytes[start..at]);
            out.extend_from_slice(escape);
            start = at + 1;
        }
        i = end;
    }
    out.extend_from_slice(&bytes[start..]);
    out.push(b'"');
}

const HEX: &[u8; 16] = b"0123456789abcdef";

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn same_as_serde_json(v: &Value) {
        assert_eq!(to_text(v), serde_json::to_string(v).unwrap(), "{v:?}");
    }

    #[test]
    fn every_byte_that_needs_escaping_at_every_position_of_a_word() {
        let specials: Vec<char> = (0u8..0x20)
            .map(char::from)
            .chain(['"', '\\', '/', '\u{7f}', 'é', '€', '😀', ' ', '~'])
            .collect();
        for len in 0..20 {
            for at in 0..len {
                for &c in &specials {
                    let mut s: String = "abcdefghijklmnopqrstuvwxyz".chars().take(len).collect();
                    s.replace_range(at..at + 1, &c.to_string());
                    same_as_serde_json(&Value::String(s.clone()));
                    same_as_serde_json(&json!({ s.clone(): [s, null, true, false] }));
                }
            }
        }
    }

    #[test]
    fn numbers_and_nesting_are_written_as_serde_json_writes_them() {
        same_as_serde_json(&json!({
            "score": {"raw": -3, "min": 0, "max": 18446744073709551615u64, "scaled": 0.25},
            "big": 1e300, "small": -1.5e-7, "int_float": 2.0,
            "empty": {}, "list": [], "nested": [[{"a": [1, [2, {"b": null}]]}]],
            "text": "line\nbreak \"quoted\" back\\slash tab\t ünïcödé 漢字",
        }));
    }

    #[test]
    fn a_statement_is_written_byte_for_byte_as_serde_json_writes_it() {
        let statement = json!({
            "id": "fd41c918-b88b-4b20-a0a5-a4c32391aaa0",
            "actor": {"objectType": "Agent", "name": "Learner \"7\"", "mbox": "mailto:l7@example.com"},
            "verb": {"id": "http://adlnet.gov/expapi/verbs/answered", "display": {"en-US": "answered"}},
            "object": {"id": "https://courses.example.com/course/1/au/2/q/3", "definition": {
                "type": "http://adlnet.gov/expapi/activities/cmi.interaction",
                "interactionType": "choice",
                "correctResponsesPattern": ["golf[,]tetris"],
                "choices": [{"id": "golf", "description": {"en-US": "Golf\r\nExample"}}]
            }},
            "result": {"success": true, "duration": "PT3.5S", "response": "golf[,]tetris",
                       "extensions": {"https://w3id.org/xapi/video/extensions/played-segments": "0[.]5.1[,]7[.]9"}},
            "timestamp": "2026-01-05T08:00:00.000Z"
        });
        same_as_serde_json(&statement);
    }
}
