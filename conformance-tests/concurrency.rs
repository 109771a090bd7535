//! xAPI 1.0.3 Communication §3.1 Concurrency and xAPI 2.0 §4.1.4: ETags on GET, If-Match and
//! If-None-Match on PUT, POST and DELETE, and 409 for an unguarded PUT over a document.

use reqwest::Method;
use serde_json::json;

use crate::documents::{
    content, create, doc, expect_error, fetch, header, new_id, sha1_hex, Res, RESOURCES,
};
use crate::helpers::{spawn_app, V1, V2, VERSIONS};

/// §3.1.s4.b1: every GET has an ETag; b2: the SHA-1 hex of the contents, lowercase; b4:
/// enclosed in quotes. It changes when the document changes.
#[tokio::test]
async fn communication_3_1_s4_b1_b4_etag_is_quoted_sha1_of_contents() {
    let app = spawn_app().await;
    for version in VERSIONS {
        for res in RESOURCES {
            let id = new_id();
            let body = b"{\"n\":1}";
            create(&app, res, version, &id, "application/json", body).await;
            let got = fetch(&app, res, version, &id).await;
            let expected = format!("\"{}\"", sha1_hex(body));
            assert_eq!(header(&got, "ETag"), Some(expected.as_str()), "{res:?}");
            let replaced = doc(&app, Method::PUT, res, version, &res.params(&id))
                .header("If-Match", expected.as_str())
                .header("Content-Type", "text/plain")
                .body("two")
                .send()
                .await
                .unwrap();
            assert_eq!(replaced.status(), 204);
            let again = fetch(&app, res, version, &id).await;
            let new_tag = format!("\"{}\"", sha1_hex(b"two"));
            assert_eq!(header(&again, "ETag"), Some(new_tag.as_str()));
        }
    }
}

/// What a write with given precondition headers must do to an existing document.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Outcome {
    Done,
    Precondition412,
    Conflict409,
}

/// The concurrency matrix on an existing document, for every resource, version and write:
/// no header, If-Match with the current ETag, If-Match with another ETag, If-None-Match: *.
///
/// - §3.1.s4.b5/b7 (2.0 §4.1.4: PUT, POST and DELETE): a non-matching If-Match is 412 and
///   (b9–b12) the document is not modified; a matching one proceeds.
/// - §3.1.s4.b6/b8: If-None-Match: * on an existing document is 412, untouched.
/// - §3.1.s4.b13–b15: a PUT with neither header over an existing profile document is 409 with
///   an explanation, untouched. §3.1.s3 exempts State in 1.0.3; 2.0 §4.1.4 has no exemption.
/// - POST and DELETE without headers proceed (§3.1.s3.b2/b3 are only SHOULD* for clients).
#[tokio::test]
async fn communication_3_1_concurrency_matrix() {
    use Outcome::*;
    let app = spawn_app().await;
    let headers: [(&str, Option<(&str, &str)>); 4] = [
        ("no header", None),
        ("matching If-Match", Some(("If-Match", "MATCH"))),
        (
            "other If-Match",
            Some(("If-Match", "\"0123456789abcdef0123456789abcdef01234567\"")),
        ),
        ("If-None-Match *", Some(("If-None-Match", "*"))),
    ];
    for version in VERSIONS {
        for res in RESOURCES {
            for method in [Method::PUT, Method::POST, Method::DELETE] {
                for (label, h) in headers {
                    let expected = match (h, &method) {
                        (None, &Method::PUT) if res == Res::State && version == V1 => Done,
                        (None, &Method::PUT) => Conflict409,
                        (None, _) => Done,
                        (Some((_, "MATCH")), _) => Done,
                        _ => Precondition412,
                    };
                    let what = format!("{version} {res:?} {method} {label}");
                    let id = new_id();
                    let original = json!({"v": "original"}).to_string();
                    create(
                        &app,
                        res,
                        version,
                        &id,
                        "application/json",
                        original.as_bytes(),
                    )
                    .await;
                    let etag = format!("\"{}\"", sha1_hex(original.as_bytes()));
                    let mut request = doc(&app, method.clone(), res, version, &res.params(&id));
                    if let Some((name, value)) = h {
                        let value = if value == "MATCH" {
                            etag.as_str()
                        } else {
                            value
                        };
                        request = request.header(name, value);
                    }
                    if method != Method::DELETE {
                        request = request.json(&json!({"v": "changed"}));
                    }
                    let response = request.send().await.unwrap();
                    match expected {
                        Done => assert_eq!(response.status(), 204, "{what}"),
                        Precondition412 => {
                            expect_error(response, 412, &what).await;
                        }
                        Conflict409 => {
                            let body = expect_error(response, 409, &what).await;
                            // §3.1.s4.b14: the message says to check the state and use If-Match.
                            assert!(
                                body["message"].as_str().unwrap().contains("If-Match"),
                                "{what}: {body}"
                            );
                        }
                    }
                    let after = fetch(&app, res, version, &id).await;
                    match (expected, &method) {
                        (Done, &Method::DELETE) => assert_eq!(after.status(), 404, "{what}"),
                        (Done, _) => {
                            let v: serde_json::Value = after.json().await.unwrap();
                            assert_eq!(v, json!({"v": "changed"}), "{what}");
                        }
                        _ => assert_eq!(
                            after.bytes().await.unwrap().as_ref(),
                            original.as_bytes(),
                            "{what}: modified"
                        ),
                    }
                }
            }
        }
    }
}

/// Preconditions on a document that does not exist: If-None-Match: * creates it (§3.1.s4.b6),
/// If-Match fails with 412 (RFC 2616 §14.24: no current entity). A 1.0.3 profile PUT with
/// neither header is rejected (§3.1.s3.b1: the client MUST send one; ADL XAPI-00273); 2.0 and
/// 1.0.3 State accept it.
#[tokio::test]
async fn communication_3_1_preconditions_on_missing_documents() {
    let app = spawn_app().await;
    for version in VERSIONS {
        for res in RESOURCES {
            let id = new_id();
            let with_if_match = doc(&app, Method::PUT, res, version, &res.params(&id))
                .header("If-Match", "\"0123456789abcdef0123456789abcdef01234567\"")
                .json(&json!({"a": 1}))
                .send()
                .await
                .unwrap();
            expect_error(with_if_match, 412, &format!("{version} {res:?} If-Match")).await;
            assert_eq!(fetch(&app, res, version, &id).await.status(), 404);
            let delete = doc(&app, Method::DELETE, res, version, &res.params(&id))
                .header("If-Match", "\"0123456789abcdef0123456789abcdef01234567\"")
                .send()
                .await
                .unwrap();
            expect_error(delete, 412, &format!("{version} {res:?} DELETE If-Match")).await;

            let unguarded = doc(&app, Method::PUT, res, version, &res.params(&id))
                .json(&json!({"a": 1}))
                .send()
                .await
                .unwrap();
            if res != Res::State && version == V1 {
                expect_error(unguarded, 400, &format!("{version} {res:?} no header")).await;
                assert_eq!(fetch(&app, res, version, &id).await.status(), 404);
            } else {
                assert_eq!(unguarded.status(), 204, "{version} {res:?} no header");
                assert_eq!(content(&app, res, version, &id).await, b"{\"a\":1}");
            }
        }
    }
}

/// xAPI 2.0 §4.1.6.2 (and the 2.0 Document Resource rules): a later update gives a strictly
/// later Last-Modified, even within the same second.
#[tokio::test]
async fn communication_2_2_s6_last_modified_moves_forward_on_update() {
    let app = spawn_app().await;
    for res in RESOURCES {
        let id = new_id();
        create(&app, res, V2, &id, "application/json", b"{\"n\":0}").await;
        let first = fetch(&app, res, V2, &id).await;
        let first = header(&first, "Last-Modified").unwrap().to_string();
        tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
        let posted = doc(&app, Method::POST, res, V2, &res.params(&id))
            .json(&json!({"n": 1}))
            .send()
            .await
            .unwrap();
        assert_eq!(posted.status(), 204);
        let second = fetch(&app, res, V2, &id).await;
        let second = header(&second, "Last-Modified").unwrap().to_string();
        let parse = |s: &str| chrono::DateTime::parse_from_rfc2822(s).unwrap();
        assert!(
            parse(&second) > parse(&first),
            "{res:?}: {first} then {second}"
        );
    }
}

/// §3.1.s1: concurrency control keeps writes from being based on old data. Concurrent merging
/// POSTs to one document — also when it does not exist yet — are applied one after another,
/// so no update is lost.
#[tokio::test]
async fn communication_3_1_concurrent_posts_lose_no_update() {
    let app = spawn_app().await;
    for res in RESOURCES {
        let id = new_id();
        let posts = (0..16).map(|i| {
            doc(&app, Method::POST, res, V2, &res.params(&id))
                .json(&json!({ format!("k{i}"): i }))
                .send()
        });
        for response in futures_util::future::join_all(posts).await {
            assert_eq!(response.unwrap().status(), 204, "{res:?}");
        }
        let merged: serde_json::Value =
            serde_json::from_slice(&content(&app, res, V2, &id).await).unwrap();
        let expected: serde_json::Map<String, serde_json::Value> =
            (0..16).map(|i| (format!("k{i}"), json!(i))).collect();
        assert_eq!(merged, serde_json::Value::Object(expected), "{res:?}");
    }
}
