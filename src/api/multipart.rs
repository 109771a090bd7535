//! `multipart/mixed` bodies (RFC 2046 §5.1), as statement requests and responses with
//! attachments use them (Communication §1.5.2).

use actix_web::web::Bytes;

/// One body part: its headers (names lower-cased) and its raw octets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Part {
    pub headers: Vec<(String, String)>,
    pub body: Bytes,
}

impl Part {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// The media type without parameters, lower-cased (`application/json`).
    pub fn content_type_essence(&self) -> Option<String> {
        self.header("content-type").map(essence)
    }
}

/// The media type of a `Content-Type` value without parameters, lower-cased.
pub fn essence(content_type: &str) -> String {
    content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase()
}

/// The `boundary` parameter of a `multipart/*` Content-Type, unquoted (RFC 2046 §5.1.1).
pub fn boundary(content_type: &str) -> Option<String> {
    content_type.split(';').skip(1).find_map(|param| {
        let (name, value) = param.split_once('=')?;
        if !name.trim().eq_ignore_ascii_case("boundary") {
            return None;
        }
        let value = value.trim();
        let value = value
            .strip_prefix('"')
            .and_then(|v| v.strip_suffix('"'))
            .unwrap_or(value);
        (!value.is_empty() && value.len() <= 70).then(|| value.to_string())
    })
}

/// Splits `body` into its parts. Preamble and epilogue are ignored; a body without the
/// closing delimiter, or a part whose headers do not end with an empty line, is an error.
pub fn parse(body: &Bytes, boundary: &str) -> Result<Vec<Part>, String> {
    let dash_boundary = format!("--{boundary}");
    let delimiter = format!("\r\n--{boundary}");
    // The first delimiter may open the body without a preceding CRLF.
    let mut pos = if body.starts_with(dash_boundary.as_bytes()) {
        dash_boundary.len()
    } else {
        find(body, delimiter.as_bytes(), 0)
            .ok_or_else(|| format!("the body has no boundary `{boundary}`"))?
            + delimiter.len()
    };
    let mut parts = Vec::new();
    loop {
        if body[pos..].starts_with(b"--") {
            return Ok(parts);
        }
        // Transport padding, then the CRLF that ends the delimiter line.
        while matches!(body.get(pos), Some(b' ' | b'\t')) {
            pos += 1;
        }
        if !body[pos..].starts_with(b"\r\n") {
            return Err("a boundary line must end with CRLF".into());
        }
        pos += 2;
        let end = find(body, delimiter.as_bytes(), pos).ok_or_else(|| {
            format!("the body does not end with the closing boundary `--{boundary}--`")
        })?;
        parts.push(parse_part(body.slice(pos..end))?);
        pos = end + delimiter.len();
    }
}

fn parse_part(raw: Bytes) -> Result<Part, String> {
    let (head_len, body_start) = if raw.starts_with(b"\r\n") {
        (0, 2)
    } else {
        let end = find(&raw, b"\r\n\r\n", 0)
            .ok_or("a part's headers must be followed by an empty line")?;
        (end, end + 4)
    };
    let head = std::str::from_utf8(&raw[..head_len])
        .map_err(|_| "a part's headers are not valid UTF-8".to_string())?;
    let mut headers = Vec::new();
    for line in head.split("\r\n").filter(|l| !l.is_empty()) {
        let (name, value) = line
            .split_once(':')
            .ok_or_else(|| format!("malformed part header `{line}`"))?;
        headers.push((name.trim().to_ascii_lowercase(), value.trim().to_string()));
    }
    Ok(Part {
        headers,
        body: raw.slice(body_start..),
    })
}

fn find(haystack: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    if from > haystack.len() {
        return None;
    }
    haystack[from..]
        .windows(needle.len())
        .position(|w| w == needle)
        .map(|i| i + from)
}

/// A part to send: its headers (name, value) and its content.
pub type OutgoingPart<'a> = (Vec<(&'a str, String)>, &'a [u8]);

/// Builds a `multipart/mixed` body from parts (headers as given); returns it and the
/// boundary to put in the Content-Type.
pub fn build(parts: &[OutgoingPart<'_>]) -> (String, Vec<u8>) {
    let boundary = format!("cairn-{}", uuid::Uuid::new_v4().simple());
    let mut out = Vec::new();
    for (headers, body) in parts {
        out.extend_from_slice(format!("--{boundary}\r\n").as_bytes());
        for (name, value) in headers {
            out.extend_from_slice(format!("{name}: {value}\r\n").as_bytes());
        }
        out.extend_from_slice(b"\r\n");
        out.extend_from_slice(body);
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    (boundary, out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The example of Communication §1.5.2 (with CRLF line ends, as the note requires).
    const EXAMPLE: &str = "--abcABC0123'()+_,-./:=?\r\nContent-Type:application/json\r\n\r\n{\"a\":1}\r\n--abcABC0123'()+_,-./:=?\r\nContent-Type:text/plain\r\nContent-Transfer-Encoding:binary\r\nX-Experience-API-Hash:495395e777cd98da653df9615d09c0fd6bb2f8d4788394cd53c56a3bfdcd848a\r\n\r\nhere is a simple attachment\r\n--abcABC0123'()+_,-./:=?--";

    #[test]
    fn parses_the_spec_example() {
        let b = boundary("multipart/mixed; boundary=\"abcABC0123'()+_,-./:=?\"").unwrap();
        assert_eq!(b, "abcABC0123'()+_,-./:=?");
        let parts = parse(&Bytes::from_static(EXAMPLE.as_bytes()), &b).unwrap();
        assert_eq!(parts.len(), 2);
        assert_eq!(
            parts[0].content_type_essence().as_deref(),
            Some("application/json")
        );
        assert_eq!(&parts[0].body[..], b"{\"a\":1}");
        assert_eq!(&parts[1].body[..], b"here is a simple attachment");
        assert_eq!(parts[1].header("content-transfer-encoding"), Some("binary"));
        assert_eq!(
            parts[1].header("x-experience-api-hash"),
            Some("495395e777cd98da653df9615d09c0fd6bb2f8d4788394cd53c56a3bfdcd848a")
        );
    }

    #[test]
    fn preamble_is_ignored_and_binary_survives() {
        let body = b"preamble\r\n--b\r\n\r\n\x00\x01\r\n\xff\r\n--b--\r\nepilogue".to_vec();
        let parts = parse(&Bytes::from(body), "b").unwrap();
        assert_eq!(parts.len(), 1);
        assert!(parts[0].headers.is_empty());
        assert_eq!(&parts[0].body[..], b"\x00\x01\r\n\xff");
    }

    #[test]
    fn malformed_bodies_are_errors() {
        for (body, why) in [
            ("no boundary at all", "no boundary"),
            ("--b\r\nContent-Type: a/b\r\n\r\nbody", "closing"),
            (
                "--b\r\nContent-Type a/b\r\n\r\nx\r\n--b--",
                "malformed part header",
            ),
            ("--b\r\nContent-Type: a/b\r\nbody\r\n--b--", "empty line"),
        ] {
            let err = parse(&Bytes::from(body), "b").unwrap_err();
            assert!(err.contains(why), "{body:?}: {err}");
        }
        assert_eq!(boundary("multipart/mixed"), None);
        assert_eq!(boundary("multipart/mixed; boundary=\"\""), None);
    }

    #[test]
    fn build_round_trips() {
        let (b, body) = build(&[
            (vec![("Content-Type", "application/json".into())], b"[]"),
            (vec![("X-Experience-API-Hash", "ab".into())], b"\x00\xff"),
        ]);
        let parts = parse(&Bytes::from(body), &b).unwrap();
        assert_eq!(parts.len(), 2);
        assert_eq!(&parts[1].body[..], b"\x00\xff");
        assert_eq!(parts[1].header("x-experience-api-hash"), Some("ab"));
    }
}
