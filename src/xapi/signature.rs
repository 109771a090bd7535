//! Signed statements (xAPI 1.0.3 Data §2.6; xAPI 2.0 §2.6): the JWS carried as a signature
//! attachment must be well formed, use RS256/RS384/RS512, have the statement as its payload
//! and, when its header carries an X.509 chain (`x5c`), verify with the first certificate.

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use rsa::pkcs1v15::{Signature, VerifyingKey};
use rsa::pkcs8::DecodePublicKey;
use rsa::signature::Verifier;
use rsa::RsaPublicKey;
use serde_json::Value;
use sha2::{Sha256, Sha384, Sha512};
use x509_cert::der::{Decode, Encode};

use super::attachments::{declared, Content, SIGNATURE_USAGE};
use super::equivalence::equivalent;

/// Checks every signature attachment of `statement` against the received `contents`.
/// A statement without one passes.
pub fn check(statement: &Value, contents: &[Content]) -> Result<(), String> {
    for attachment in declared(statement) {
        if attachment.get("usageType").and_then(Value::as_str) != Some(SIGNATURE_USAGE) {
            continue;
        }
        // Data §2.6.s4.b1: the JWS is an attachment of type application/octet-stream.
        let content_type = attachment.get("contentType").and_then(Value::as_str);
        if content_type != Some("application/octet-stream") {
            return Err(format!(
                "a signature attachment must have contentType application/octet-stream, not {}",
                content_type.unwrap_or("none")
            ));
        }
        let sha2 = attachment
            .get("sha2")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_ascii_lowercase();
        let jws = contents.iter().find(|c| c.sha2 == sha2).ok_or(
            "the signature's JWS must be sent as a part of the request, not only by fileUrl",
        )?;
        verify(statement, &jws.bytes)?;
    }
    Ok(())
}

/// Data §2.6.s5.b3: decode the JWS, compare its payload with the statement, and verify it
/// against the `x5c` certificate when there is one.
fn verify(statement: &Value, jws: &[u8]) -> Result<(), String> {
    let text = std::str::from_utf8(jws)
        .map_err(|_| "the signature is not a JWS (not text)".to_string())?
        .trim();
    // xAPI 2.0 §2.6: compact serialization (1.0.3: SHOULD*); the JSON serialization is not
    // accepted.
    let segments: Vec<&str> = text.split('.').collect();
    let [header_b64, payload_b64, signature_b64] = segments[..] else {
        return Err(
            "the signature is not a JWS in compact serialization (header.payload.signature)".into(),
        );
    };
    let header: Value = decode_json(header_b64, "header")?;
    let payload: Value = decode_json(payload_b64, "payload")?;
    let signature = decode_segment(signature_b64, "signature")?;

    // Data §2.6.s4.b4.
    let alg = header.get("alg").and_then(Value::as_str).unwrap_or("none");
    if !matches!(alg, "RS256" | "RS384" | "RS512") {
        return Err(format!(
            "the JWS algorithm must be RS256, RS384 or RS512, not {alg}"
        ));
    }

    // Data §2.6.s4.b3 / §2.6.s5.b3.b2: the payload is the statement before it was signed.
    if !payload.is_object() {
        return Err("the JWS payload is not a statement (a JSON object)".into());
    }
    let unsigned = without_signature(statement);
    if let (Some(a), Some(b)) = (payload.get("id"), unsigned.get("id")) {
        if a.as_str().map(str::to_ascii_lowercase) != b.as_str().map(str::to_ascii_lowercase) {
            return Err("the JWS payload has a different statement id".into());
        }
    }
    if !equivalent(&payload, &unsigned, true) {
        return Err("the JWS payload is not the same statement as the one sent".into());
    }

    // Data §2.6.s5.b3.b3.
    if let Some(chain) = header.get("x5c") {
        let first = chain
            .as_array()
            .and_then(|c| c.first())
            .and_then(Value::as_str)
            .ok_or("the JWS header's x5c must be an array of base64 certificates")?;
        let key = public_key(first)?;
        let signed = format!("{header_b64}.{payload_b64}");
        let sig = Signature::try_from(signature.as_slice())
            .map_err(|e| format!("the JWS signature is malformed: {e}"))?;
        let verified = match alg {
            "RS256" => VerifyingKey::<Sha256>::new(key).verify(signed.as_bytes(), &sig),
            "RS384" => VerifyingKey::<Sha384>::new(key).verify(signed.as_bytes(), &sig),
            _ => VerifyingKey::<Sha512>::new(key).verify(signed.as_bytes(), &sig),
        };
        verified.map_err(|_| {
            "the JWS signature does not verify with the first x5c certificate".to_string()
        })?;
    }
    Ok(())
}

/// The statement as it was before signing: without its signature attachment(s).
fn without_signature(statement: &Value) -> Value {
    let mut s = statement.clone();
    if let Some(Value::Array(list)) = s.get_mut("attachments") {
        list.retain(|a| a.get("usageType").and_then(Value::as_str) != Some(SIGNATURE_USAGE));
        if list.is_empty() {
            s.as_object_mut().map(|o| o.remove("attachments"));
        }
    }
    s
}

fn decode_segment(segment: &str, what: &str) -> Result<Vec<u8>, String> {
    URL_SAFE_NO_PAD
        .decode(segment.trim_end_matches('='))
        .map_err(|_| format!("the JWS {what} is not base64url"))
}

fn decode_json(segment: &str, what: &str) -> Result<Value, String> {
    serde_json::from_slice(&decode_segment(segment, what)?)
        .map_err(|e| format!("the JWS {what} is not valid JSON: {e}"))
}

/// The RSA key of a base64 DER certificate (RFC 7515 §4.1.6).
fn public_key(certificate_b64: &str) -> Result<RsaPublicKey, String> {
    let der = STANDARD
        .decode(certificate_b64)
        .map_err(|_| "an x5c certificate is not base64".to_string())?;
    let certificate = x509_cert::Certificate::from_der(&der)
        .map_err(|e| format!("an x5c certificate is not X.509 DER: {e}"))?;
    let spki = certificate
        .tbs_certificate
        .subject_public_key_info
        .to_der()
        .map_err(|e| format!("the x5c certificate's key cannot be read: {e}"))?;
    RsaPublicKey::from_public_key_der(&spki)
        .map_err(|e| format!("the x5c certificate does not hold an RSA key: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// Appendix D of xAPI 1.0.3 Data: the example signed statement, its JWS, and the JWS
    /// header (with the x5c chain).
    const APPENDIX_D_JWS: &str = include_str!("../../conformance-tests/fixtures/appendix-d.jws");

    fn appendix_d_statement() -> Value {
        json!({
            "version": "1.0.0",
            "id": "33cff416-e331-4c9d-969e-5373a1756120",
            "actor": { "mbox": "mailto:example@example.com", "name": "Example Learner", "objectType": "Agent" },
            "verb": { "id": "http://adlnet.gov/expapi/verbs/experienced", "display": { "en-US": "experienced" } },
            "object": {
                "id": "https://www.youtube.com/watch?v=xh4kIiH3Sm8",
                "objectType": "Activity",
                "definition": {
                    "name": { "en-US": "Tax Tips & Information : How to File a Tax Return " },
                    "description": { "en-US": "Filing a tax return will require filling out either a 1040, 1040A or 1040EZ form" }
                }
            },
            "timestamp": "2013-04-01T12:00:00Z",
            "attachments": [{
                "usageType": "http://adlnet.gov/expapi/attachments/signature",
                "display": { "en-US": "Signature" },
                "description": { "en-US": "A test signature" },
                "contentType": "application/octet-stream",
                "length": 4235,
                "sha2": "672fa5fa658017f1b72d65036f13379c6ab05d4ab3b6664908d8acf0b6a0c634"
            }]
        })
    }

    #[test]
    fn the_spec_example_verifies() {
        verify(&appendix_d_statement(), APPENDIX_D_JWS.as_bytes()).unwrap();
    }

    #[test]
    fn a_changed_statement_or_signature_fails() {
        let mut other = appendix_d_statement();
        other["verb"]["id"] = json!("http://adlnet.gov/expapi/verbs/failed");
        let err = verify(&other, APPENDIX_D_JWS.as_bytes()).unwrap_err();
        assert!(err.contains("not the same statement"), "{err}");

        let mut parts: Vec<String> = APPENDIX_D_JWS.trim().split('.').map(String::from).collect();
        let mut sig = URL_SAFE_NO_PAD.decode(&parts[2]).unwrap();
        sig[10] ^= 1;
        parts[2] = URL_SAFE_NO_PAD.encode(sig);
        let err = verify(&appendix_d_statement(), parts.join(".").as_bytes()).unwrap_err();
        assert!(err.contains("does not verify"), "{err}");
    }

    #[test]
    fn malformed_signatures_are_named() {
        let header = |alg: &str| URL_SAFE_NO_PAD.encode(format!("{{\"alg\":\"{alg}\"}}"));
        let payload = URL_SAFE_NO_PAD
            .encode(serde_json::to_vec(&without_signature(&appendix_d_statement())).unwrap());
        let cases = [
            ("not a jws".to_string(), "compact serialization"),
            (
                format!("{}.{payload}.c2ln", header("HS256")),
                "RS256, RS384 or RS512",
            ),
            (
                format!("{}.e30.c2ln", header("RS256")),
                "not the same statement",
            ),
            (
                format!("{}.bm90IGpzb24.c2ln", header("RS256")),
                "payload is not valid JSON",
            ),
            (format!("{}.{payload}.c2ln", header("RS256")), ""),
        ];
        for (jws, why) in cases {
            let result = verify(&appendix_d_statement(), jws.as_bytes());
            if why.is_empty() {
                // Without x5c the signature itself cannot be checked; the rest holds.
                result.unwrap();
            } else {
                let err = result.unwrap_err();
                assert!(err.contains(why), "{why}: {err}");
            }
        }
    }
}
