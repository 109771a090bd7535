//! Attachments and signed statements: xAPI 1.0.3 Communication §1.5 (content types,
//! multipart/mixed), §2.1.3 (`attachments=true`), Data §2.4.11 (attachments) and Data §2.6
//! (signed statements), for both version headers.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use reqwest::{Method, Response};
use rsa::pkcs1::DecodeRsaPrivateKey;
use rsa::pkcs1v15::SigningKey;
use rsa::signature::{SignatureEncoding, Signer};
use serde_json::{json, Value};
use sha2::{Digest, Sha256, Sha384, Sha512};
use uuid::Uuid;

use crate::helpers::{spawn_app, statement, TestApp, V1, VERSIONS};

const BOUNDARY: &str = "xapi-test-boundary-314159";
pub(crate) const TEXT: &[u8] = b"here is a simple attachment";
/// Binary content with CRLF, NUL and bytes that are not UTF-8.
const BINARY: &[u8] = b"\x89PNG\r\n\x1a\n\x00\x00\xff\xfe--not-a-boundary\r\n";
const SIGNATURE_USAGE: &str = "http://adlnet.gov/expapi/attachments/signature";

pub(crate) fn sha256(data: &[u8]) -> String {
    hex(&Sha256::digest(data))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

pub(crate) fn declaration(content_type: &str, data: &[u8]) -> Value {
    json!({
        "usageType": "http://example.com/attachment-usage/test",
        "display": {"en-US": "A test attachment"},
        "contentType": content_type,
        "length": data.len(),
        "sha2": sha256(data)
    })
}

pub(crate) fn with_attachments(attachments: Value) -> Value {
    let mut s = statement();
    s["attachments"] = attachments;
    s
}

/// A body part: headers (name, value) and content.
type Part = (Vec<(String, String)>, Vec<u8>);

/// A content part as Communication §1.5.2 describes it.
pub(crate) fn part(data: &[u8]) -> Part {
    (
        vec![
            ("Content-Type".into(), "application/octet-stream".into()),
            ("Content-Transfer-Encoding".into(), "binary".into()),
            ("X-Experience-API-Hash".into(), sha256(data)),
        ],
        data.to_vec(),
    )
}

pub(crate) fn json_part(body: &Value) -> Part {
    (
        vec![("Content-Type".into(), "application/json".into())],
        body.to_string().into_bytes(),
    )
}

/// A multipart/mixed body with CRLF line ends (RFC 2046 §5.1.1).
pub(crate) fn multipart(parts: &[Part]) -> Vec<u8> {
    let mut out = Vec::new();
    for (headers, body) in parts {
        out.extend_from_slice(format!("--{BOUNDARY}\r\n").as_bytes());
        for (name, value) in headers {
            out.extend_from_slice(format!("{name}:{value}\r\n").as_bytes());
        }
        out.extend_from_slice(b"\r\n");
        out.extend_from_slice(body);
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(format!("--{BOUNDARY}--").as_bytes());
    out
}

async fn send(app: &TestApp, method: Method, path: &str, version: &str, body: Vec<u8>) -> Response {
    app.request(method, path, version)
        .header(
            "Content-Type",
            format!("multipart/mixed; boundary=\"{BOUNDARY}\""),
        )
        .body(body)
        .send()
        .await
        .unwrap()
}

pub(crate) async fn post_multipart(app: &TestApp, version: &str, body: Vec<u8>) -> Response {
    send(app, Method::POST, "/xapi/statements", version, body).await
}

async fn attachment_rows(app: &TestApp) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM attachments")
        .fetch_one(&app.pool)
        .await
        .unwrap()
}

/// Parses a multipart/mixed response into (headers lower-cased, body) parts.
async fn multipart_response(response: Response) -> Vec<Part> {
    let content_type = response.headers()["content-type"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(
        content_type.starts_with("multipart/mixed"),
        "{content_type}"
    );
    let boundary = content_type
        .split("boundary=")
        .nth(1)
        .unwrap()
        .trim_matches('"')
        .to_string();
    let body = response.bytes().await.unwrap().to_vec();
    let delimiter = format!("--{boundary}");
    let mut parts = Vec::new();
    let mut rest = &body[..];
    loop {
        let start = find(rest, delimiter.as_bytes()).expect("delimiter") + delimiter.len();
        rest = &rest[start..];
        if rest.starts_with(b"--") {
            return parts;
        }
        rest = &rest[2..]; // CRLF
        let end = find(rest, format!("\r\n{delimiter}").as_bytes()).expect("next delimiter");
        let raw = &rest[..end];
        let head_end = find(raw, b"\r\n\r\n").expect("part headers");
        let headers = std::str::from_utf8(&raw[..head_end])
            .unwrap()
            .split("\r\n")
            .map(|l| {
                let (n, v) = l.split_once(':').unwrap();
                (n.trim().to_ascii_lowercase(), v.trim().to_string())
            })
            .collect();
        parts.push((headers, raw[head_end + 4..].to_vec()));
        rest = &rest[end..];
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
}

/// Communication §1.5.2.s3.b4, Data §2.4.11, §2.1.3 `attachments`: a batch whose statements
/// share an attachment is stored with the content once; `attachments=true` answers
/// multipart/mixed with the statements first and each content once, byte for byte.
#[tokio::test]
async fn comm_1_5_2_multipart_statements_round_trip_with_their_content() {
    let app = spawn_app().await;
    for version in VERSIONS {
        let first = with_attachments(json!([
            declaration("text/plain", TEXT),
            declaration("image/png", BINARY)
        ]));
        let second = with_attachments(json!([declaration("text/plain", TEXT)]));
        let body = multipart(&[json_part(&json!([first, second])), part(TEXT), part(BINARY)]);
        let response = post_multipart(&app, version, body).await;
        assert_eq!(
            response.status(),
            200,
            "{version}: {}",
            response.text().await.unwrap()
        );
        let ids: Vec<String> = response.json().await.unwrap();
        assert_eq!(ids.len(), 2);
        // Content is stored once per SHA-2, whatever number of statements declare it.
        assert_eq!(attachment_rows(&app).await, 2, "{version}");

        // Without attachments=true the answer is JSON with the declarations only.
        let plain = app.get_statement(version, &ids[0]).await;
        assert_eq!(plain.headers()["content-type"], "application/json");
        let plain: Value = plain.json().await.unwrap();
        assert_eq!(plain["attachments"][1]["sha2"], json!(sha256(BINARY)));

        // A single statement with attachments=true.
        let one = app
            .request(
                Method::GET,
                &format!("/xapi/statements?statementId={}&attachments=true", ids[0]),
                version,
            )
            .send()
            .await
            .unwrap();
        assert_eq!(one.status(), 200);
        let parts = multipart_response(one).await;
        assert_eq!(parts.len(), 3, "{version}: statement, text, binary");
        assert_eq!(
            header(&parts[0].0, "content-type"),
            Some("application/json")
        );
        let got: Value = serde_json::from_slice(&parts[0].1).unwrap();
        assert_eq!(got["id"], json!(ids[0]));
        for (headers, body) in &parts[1..] {
            assert_eq!(header(headers, "content-transfer-encoding"), Some("binary"));
            assert_eq!(
                header(headers, "x-experience-api-hash"),
                Some(sha256(body).as_str())
            );
        }
        assert_eq!(parts[1].1, TEXT);
        assert_eq!(header(&parts[1].0, "content-type"), Some("text/plain"));
        assert_eq!(parts[2].1, BINARY);
        assert_eq!(header(&parts[2].0, "content-type"), Some("image/png"));

        // A query result: both statements, each content once (Communication §1.5.2.s2.b2.b5).
        let query = app
            .request(
                Method::GET,
                "/xapi/statements?attachments=true&limit=2",
                version,
            )
            .send()
            .await
            .unwrap();
        let parts = multipart_response(query).await;
        let result: Value = serde_json::from_slice(&parts[0].1).unwrap();
        assert_eq!(result["statements"].as_array().unwrap().len(), 2);
        assert_eq!(parts.len(), 3, "{version}: one part per distinct content");
    }
}

/// Communication §1.5.2.s3.b8–b9 and §2.1.1: multipart requests without content parts, PUT
/// included; fileUrl attachments need no part.
#[tokio::test]
async fn comm_1_5_2_multipart_without_content_parts_and_put() {
    let app = spawn_app().await;
    for version in VERSIONS {
        let no_attachments = multipart(&[json_part(&statement())]);
        assert_eq!(
            post_multipart(&app, version, no_attachments).await.status(),
            200
        );

        let mut by_url = declaration("application/pdf", b"elsewhere");
        by_url["fileUrl"] = json!("http://example.com/files/certificate.pdf");
        let file_url = multipart(&[json_part(&with_attachments(json!([by_url])))]);
        assert_eq!(post_multipart(&app, version, file_url).await.status(), 200);

        let id = Uuid::new_v4();
        let body = multipart(&[
            json_part(&with_attachments(json!([declaration("text/plain", TEXT)]))),
            part(TEXT),
        ]);
        let put = send(
            &app,
            Method::PUT,
            &format!("/xapi/statements?statementId={id}"),
            version,
            body,
        )
        .await;
        assert_eq!(
            put.status(),
            204,
            "{version}: {}",
            put.text().await.unwrap()
        );
        let got: Value = app
            .get_statement(version, &id.to_string())
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(got["attachments"][0]["sha2"], json!(sha256(TEXT)));
    }
}

/// Communication §1.5.2.s2.b2 and §1.5.2.s3.b5, Data §2.4.11 (XAPI-00127 … XAPI-00135): each
/// malformed attachment request is a 400 with a JSON error, and nothing is stored.
#[tokio::test]
async fn comm_1_5_2_malformed_attachment_requests_are_rejected() {
    let app = spawn_app().await;
    let declared = with_attachments(json!([declaration("text/plain", TEXT)]));
    let good_part = part(TEXT);
    let mut no_hash = part(TEXT);
    no_hash.0.retain(|(n, _)| n != "X-Experience-API-Hash");
    let mut wrong_content = part(TEXT);
    wrong_content.1 = b"different content".to_vec();
    let mut base64 = part(TEXT);
    base64.0[1].1 = "base64".into();
    let form_data = format!("multipart/form-data; boundary={BOUNDARY}");
    let mut first_not_json = json_part(&declared);
    first_not_json.0[0].1 = "text/plain".into();
    let cases: Vec<(&str, Option<&str>, Vec<u8>)> = vec![
        (
            "content part missing",
            None,
            multipart(&[json_part(&declared)]),
        ),
        (
            "part without X-Experience-API-Hash",
            None,
            multipart(&[json_part(&declared), no_hash]),
        ),
        (
            "content does not match its hash",
            None,
            multipart(&[json_part(&declared), wrong_content]),
        ),
        (
            "undeclared extra part",
            None,
            multipart(&[json_part(&declared), good_part.clone(), part(BINARY)]),
        ),
        (
            "transfer encoding not binary",
            None,
            multipart(&[json_part(&declared), base64]),
        ),
        (
            "first part not application/json",
            None,
            multipart(&[first_not_json, good_part.clone()]),
        ),
        (
            "statements split over two parts",
            None,
            multipart(&[
                json_part(&declared),
                json_part(&statement()),
                good_part.clone(),
            ]),
        ),
        (
            "no boundary parameter",
            Some("multipart/mixed"),
            multipart(&[json_part(&declared), good_part.clone()]),
        ),
        (
            "multipart/form-data",
            Some(form_data.as_str()),
            multipart(&[json_part(&declared), good_part.clone()]),
        ),
        ("no closing delimiter", None, {
            let mut b = multipart(&[json_part(&declared), good_part.clone()]);
            b.truncate(b.len() - BOUNDARY.len() - 4);
            b
        }),
    ];
    for version in VERSIONS {
        for (what, content_type, body) in &cases {
            let content_type = content_type
                .map(str::to_string)
                .unwrap_or_else(|| format!("multipart/mixed; boundary={BOUNDARY}"));
            let response = app
                .request(Method::POST, "/xapi/statements", version)
                .header("Content-Type", content_type)
                .body(body.clone())
                .send()
                .await
                .unwrap();
            assert_eq!(response.status(), 400, "{version} {what}");
            let error: Value = response.json().await.unwrap();
            assert!(
                error["message"].as_str().is_some_and(|m| !m.is_empty()),
                "{what}: {error}"
            );
        }
        // A JSON request cannot carry content (Communication §1.5.1, XAPI-00129).
        let json_only = app.post_statements(version, &declared).await;
        assert_eq!(
            json_only.status(),
            400,
            "{version}: JSON request with a non-fileUrl attachment"
        );
    }
    assert_eq!(app.statement_count().await, 0);
    assert_eq!(attachment_rows(&app).await, 0);
}

// ---- Signed statements (Data §2.6) ----

/// Appendix D of Data: the private key, whose certificate is `APPENDIX_D_CERT`.
const APPENDIX_D_KEY: &str = "-----BEGIN RSA PRIVATE KEY-----
MIICXAIBAAKBgQDjxvZXF30WL4oKjZYXgR0ZyaX+u3y6+JqTqiNkFa/VTnet6Ly2
OT6ZmmcJEPnq3UnewpHoOQ+GfhhTkW13j06j5iNn4obcCVWTL9yXNvJH+Ko+xu4Y
l/ySPRrIPyTjtHdG0M2XzIlmmLqm+CAS+KCbJeH4tf543kIWC5pC5p3cVQIDAQAB
AoGAOejdvGq2XKuddu1kWXl0Aphn4YmdPpPyCNTaxplU6PBYMRjY0aNgLQE6bO2p
/HJiU4Y4PkgzkEgCu0xf/mOq5DnSkX32ICoQS6jChABAe20ErPfm5t8h9YKsTfn9
40lAouuwD9ePRteizd4YvHtiMMwmh5PtUoCbqLefawNApAECQQD1mdBW3zL0okUx
2pc4tttn2qArCG4CsEZMLlGRDd3FwPWJz3ZPNEEgZWXGSpA9F1QTZ6JYXIfejjRo
UuvRMWeBAkEA7WvzDBNcv4N+xeUKvH8ILti/BM58LraTtqJlzjQSovek0srxtmDg
5of+xrxN6IM4p7yvQa+7YOUOukrVXjG+1QJBAI2mBrjzxgm9xTa5odn97JD7UMFA
/WHjlMe/Nx/35V52qaav1sZbluw+TvKMcqApYj5G2SUpSNudHLDGkmd2nQECQFfc
lBRK8g7ZncekbGW3aRLVGVOxClnLLTzwOlamBKOUm8V6XxsMHQ6TE2D+fKJoNUY1
2HGpk+FWwy2D1hRGuoUCQAXfaLSxtaWdPtlZTPVueF7ZikQDsVg+vtTFgpuHloR2
6EVc1RbHHZm32yvGDY8IkcoMfJQqLONDdLfS/05yoNU=
-----END RSA PRIVATE KEY-----";
const APPENDIX_D_CERT: &str = "MIIDATCCAmqgAwIBAgIJAMB1csNuA6+kMA0GCSqGSIb3DQEBBQUAMHExCzAJBgNVBAYTAlVTMRIwEAYDVQQIEwlUZW5uZXNzZWUxGDAWBgNVBAoTD0V4YW1wbGUgQ29tcGFueTEQMA4GA1UEAxMHRXhhbXBsZTEiMCAGCSqGSIb3DQEJARYTZXhhbXBsZUBleGFtcGxlLmNvbTAeFw0xMzA0MDQxNTI4MzBaFw0xNDA0MDQxNTI4MzBaMIGWMQswCQYDVQQGEwJVUzESMBAGA1UECBMJVGVubmVzc2VlMREwDwYDVQQHEwhGcmFua2xpbjEYMBYGA1UEChMPRXhhbXBsZSBDb21wYW55MRAwDgYDVQQLEwdFeGFtcGxlMRAwDgYDVQQDEwdFeGFtcGxlMSIwIAYJKoZIhvcNAQkBFhNleGFtcGxlQGV4YW1wbGUuY29tMIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQDjxvZXF30WL4oKjZYXgR0ZyaX+u3y6+JqTqiNkFa/VTnet6Ly2OT6ZmmcJEPnq3UnewpHoOQ+GfhhTkW13j06j5iNn4obcCVWTL9yXNvJH+Ko+xu4Yl/ySPRrIPyTjtHdG0M2XzIlmmLqm+CAS+KCbJeH4tf543kIWC5pC5p3cVQIDAQABo3sweTAJBgNVHRMEAjAAMCwGCWCGSAGG+EIBDQQfFh1PcGVuU1NMIEdlbmVyYXRlZCBDZXJ0aWZpY2F0ZTAdBgNVHQ4EFgQUVs3v5afEdOeoYeVajAQE4v0WS1QwHwYDVR0jBBgwFoAUyVIc3yvra4EBz20I4BF39IAixBkwDQYJKoZIhvcNAQEFBQADgYEAgS/FF5D0Hnj44rvT6kgn3kJAvv2lj/fyjztKIrYS33ljXGn6gGyA4qtbXA23PrO4uc/wYCSDICDpPobh62xTCd9qObKhgwWOi05PSBLqUu3mwfAe15LJBJBqPVZ4K0kppePBU8m6aIZoH57L/9t4OoaL8yKs/qjKFeI1OFWZxvA=";

/// A compact JWS of `payload` with `alg` (RS256/384/512 sign with the Appendix D key; any
/// other name gets a dummy signature), with or without the x5c chain.
fn jws(payload: &Value, alg: &str, x5c: bool) -> String {
    let mut header = json!({ "alg": alg });
    if x5c {
        header["x5c"] = json!([APPENDIX_D_CERT]);
    }
    let signing_input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(payload.to_string())
    );
    let key = rsa::RsaPrivateKey::from_pkcs1_pem(APPENDIX_D_KEY).unwrap();
    let signature = match alg {
        "RS256" => SigningKey::<Sha256>::new(key)
            .sign(signing_input.as_bytes())
            .to_vec(),
        "RS384" => SigningKey::<Sha384>::new(key)
            .sign(signing_input.as_bytes())
            .to_vec(),
        "RS512" => SigningKey::<Sha512>::new(key)
            .sign(signing_input.as_bytes())
            .to_vec(),
        _ => b"not an RSA signature".to_vec(),
    };
    format!("{signing_input}.{}", URL_SAFE_NO_PAD.encode(signature))
}

/// `original` with a signature attachment for `signature`, as a multipart body.
fn signed_body(original: &Value, signature: &str, content_type: &str) -> Vec<u8> {
    let mut signed = original.clone();
    signed["attachments"] = json!([{
        "usageType": SIGNATURE_USAGE,
        "display": {"en-US": "Signature"},
        "contentType": content_type,
        "length": signature.len(),
        "sha2": sha256(signature.as_bytes())
    }]);
    multipart(&[json_part(&signed), part(signature.as_bytes())])
}

fn signable() -> Value {
    let mut s = statement();
    s["id"] = json!(Uuid::new_v4());
    s["timestamp"] = json!("2013-04-01T12:00:00Z");
    s["result"] = json!({"duration": "PT1M2.34S"});
    s
}

/// Data §2.6.s4.b4, §2.6.s5.b3 (XAPI-00117): RS256, RS384 and RS512 signatures over the
/// statement are accepted, with and without an x5c chain; the stored statement keeps its
/// signature attachment and the JWS comes back with `attachments=true`.
#[tokio::test]
async fn data_2_6_valid_signatures_are_accepted() {
    let app = spawn_app().await;
    for version in VERSIONS {
        for alg in ["RS256", "RS384", "RS512"] {
            for x5c in [true, false] {
                let original = signable();
                let signature = jws(&original, alg, x5c);
                let response = post_multipart(
                    &app,
                    version,
                    signed_body(&original, &signature, "application/octet-stream"),
                )
                .await;
                assert_eq!(
                    response.status(),
                    200,
                    "{version} {alg} x5c={x5c}: {}",
                    response.text().await.unwrap()
                );
                let id = original["id"].as_str().unwrap();
                let parts = multipart_response(
                    app.request(
                        Method::GET,
                        &format!("/xapi/statements?statementId={id}&attachments=true"),
                        version,
                    )
                    .send()
                    .await
                    .unwrap(),
                )
                .await;
                assert_eq!(parts[1].1, signature.as_bytes(), "{version} {alg}");
            }
        }
        // xAPI 2.0 §4.2.7: durations compare to 0.01 s, so finer digits in the statement than
        // in the signed payload do not break the signature.
        let original = signable();
        let signature = jws(&original, "RS256", true);
        let mut finer = original.clone();
        finer["result"]["duration"] = json!("PT1M2.3456S");
        let response = post_multipart(
            &app,
            version,
            signed_body(&finer, &signature, "application/octet-stream"),
        )
        .await;
        assert_eq!(response.status(), 200, "{version}: finer duration");
    }
}

/// Data §2.6.s5.b1 (XAPI-00115 … XAPI-00117): malformed signatures are a 400 that says why,
/// and nothing is stored.
#[tokio::test]
async fn data_2_6_malformed_signatures_are_rejected() {
    let app = spawn_app().await;
    let original = signable();
    let mut changed = original.clone();
    changed["verb"]["id"] = json!("http://adlnet.gov/expapi/verbs/failed");
    let good = jws(&original, "RS256", true);
    let tampered = {
        let mut parts: Vec<String> = good.split('.').map(String::from).collect();
        let mut sig = URL_SAFE_NO_PAD.decode(&parts[2]).unwrap();
        sig[0] ^= 0x40;
        parts[2] = URL_SAFE_NO_PAD.encode(sig);
        parts.join(".")
    };
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        (
            "content type not octet-stream",
            signed_body(&original, &good, "text/plain; charset=ascii"),
            "application/octet-stream",
        ),
        (
            "not a JWS",
            signed_body(&original, "this is not a JWS", "application/octet-stream"),
            "compact serialization",
        ),
        (
            "payload is another statement",
            signed_body(
                &original,
                &jws(&changed, "RS256", true),
                "application/octet-stream",
            ),
            "not the same statement",
        ),
        (
            "HS256",
            signed_body(
                &original,
                &jws(&original, "HS256", false),
                "application/octet-stream",
            ),
            "RS256, RS384 or RS512",
        ),
        (
            "signature does not verify with x5c",
            signed_body(&original, &tampered, "application/octet-stream"),
            "does not verify",
        ),
        (
            "payload is not JSON",
            signed_body(
                &original,
                &format!(
                    "{}.bm90IGpzb24.c2ln",
                    URL_SAFE_NO_PAD.encode("{\"alg\":\"RS256\"}")
                ),
                "application/octet-stream",
            ),
            "not valid JSON",
        ),
    ];
    for version in VERSIONS {
        for (what, body, why) in &cases {
            let response = post_multipart(&app, version, body.clone()).await;
            assert_eq!(response.status(), 400, "{version} {what}");
            let error: Value = response.json().await.unwrap();
            let message = error["message"].as_str().unwrap_or_default();
            assert!(message.contains(why), "{version} {what}: {message}");
        }
    }
    assert_eq!(app.statement_count().await, 0);
}

/// Appendix D of Data, as published: the example statement with its JWS verifies.
#[tokio::test]
async fn data_appendix_d_example_signed_statement_is_accepted() {
    let app = spawn_app().await;
    let jws = include_str!("fixtures/appendix-d.jws").trim();
    let original = json!({
        "version": "1.0.0",
        "id": "33cff416-e331-4c9d-969e-5373a1756120",
        "actor": {"mbox": "mailto:example@example.com", "name": "Example Learner", "objectType": "Agent"},
        "verb": {"id": "http://adlnet.gov/expapi/verbs/experienced", "display": {"en-US": "experienced"}},
        "object": {
            "id": "https://www.youtube.com/watch?v=xh4kIiH3Sm8",
            "objectType": "Activity",
            "definition": {
                "name": {"en-US": "Tax Tips & Information : How to File a Tax Return "},
                "description": {"en-US": "Filing a tax return will require filling out either a 1040, 1040A or 1040EZ form"}
            }
        },
        "timestamp": "2013-04-01T12:00:00Z"
    });
    let response = post_multipart(
        &app,
        V1,
        signed_body(&original, jws, "application/octet-stream"),
    )
    .await;
    assert_eq!(response.status(), 200, "{}", response.text().await.unwrap());
}
