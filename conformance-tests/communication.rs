//! xAPI 1.0.3 Communication: §1.1 HEAD, §2.1 the Statement Resource (single-statement PUT,
//! POST and GET), §2.8 About, §3.2 error codes, §3.3 versioning and §4 authentication.

use cairn::auth::Scope;
use chrono::{DateTime, Utc};
use reqwest::{Method, Response};
use serde_json::{json, Value};
use uuid::Uuid;

use crate::helpers::{spawn_app, spawn_app_with, statement, TestApp, V1, V2, VERSIONS};

const VERSION_HEADER: &str = "X-Experience-API-Version";
const CONSISTENT: &str = "X-Experience-API-Consistent-Through";

fn new_id() -> String {
    Uuid::new_v4().to_string()
}

/// The version a response must state for a request sent with `version`.
fn served(version: &str) -> &'static str {
    if version.starts_with("2.") {
        V2
    } else {
        V1
    }
}

fn header<'a>(response: &'a Response, name: &str) -> Option<&'a str> {
    response.headers().get(name).and_then(|v| v.to_str().ok())
}

/// Asserts the status, a JSON error body with that status and a message, and the version
/// header; returns the body.
async fn expect_error(response: Response, status: u16, version: &str, what: &str) -> Value {
    assert_eq!(response.status().as_u16(), status, "{what}");
    assert_eq!(
        header(&response, VERSION_HEADER),
        Some(served(version)),
        "{what}: version header"
    );
    let text = response.text().await.unwrap();
    let body: Value =
        serde_json::from_str(&text).unwrap_or_else(|_| panic!("{what}: body is not JSON: {text}"));
    assert_eq!(body["status"], json!(status), "{what}: {body}");
    assert!(
        body["message"]
            .as_str()
            .is_some_and(|m| !m.trim().is_empty()),
        "{what}: no message: {body}"
    );
    body
}

async fn get(app: &TestApp, version: &str, query: &str) -> Response {
    app.request(Method::GET, &format!("/xapi/statements{query}"), version)
        .send()
        .await
        .unwrap()
}

async fn store(app: &TestApp, version: &str) -> String {
    let id = new_id();
    let response = app.put_statement(version, &id, &statement()).await;
    assert_eq!(response.status(), 204);
    id
}

// --- §2.1.1 PUT Statements -----------------------------------------------------------------

/// Communication §2.1.1.s1: PUT "Stores a single Statement with the given id … Returns: `204
/// No Content`"; the statementId parameter is required for PUT (table, "Required").
#[tokio::test]
async fn communication_2_1_1_put_stores_with_statement_id_and_returns_204() {
    let app = spawn_app().await;
    for version in VERSIONS {
        let id = new_id();
        let response = app.put_statement(version, &id, &statement()).await;
        assert_eq!(response.status(), 204);
        assert_eq!(header(&response, VERSION_HEADER), Some(served(version)));
        assert!(
            response.bytes().await.unwrap().is_empty(),
            "204 with a body"
        );
        let got: Value = app.get_statement(version, &id).await.json().await.unwrap();
        assert_eq!(got["id"], json!(id));
    }
}

/// Communication §2.1.1 (statementId is a required parameter of PUT) and §3.2.s2.b1 (`400`
/// for "an invalid or missing argument").
#[tokio::test]
async fn communication_2_1_1_put_without_statement_id_is_400() {
    let app = spawn_app().await;
    for version in VERSIONS {
        let response = app
            .request(Method::PUT, "/xapi/statements", version)
            .json(&statement())
            .send()
            .await
            .unwrap();
        expect_error(response, 400, version, "PUT without statementId").await;
        let response = app.put_statement(version, "not-a-uuid", &statement()).await;
        expect_error(response, 400, version, "PUT with statementId not a UUID").await;
    }
    assert_eq!(app.statement_count().await, 0);
}

/// Communication §2.1.1.s3.b3: "Where provided, the "id" property of the Statement MUST match
/// the "statementId" parameter of the request."
#[tokio::test]
async fn communication_2_1_1_s3_b3_put_with_mismatched_id_is_400() {
    let app = spawn_app().await;
    for version in VERSIONS {
        let mut body = statement();
        body["id"] = json!(new_id());
        let param = new_id();
        let response = app.put_statement(version, &param, &body).await;
        expect_error(response, 400, version, "PUT with a different body id").await;
        assert_eq!(app.get_statement(version, &param).await.status(), 404);
    }
    assert_eq!(app.statement_count().await, 0);
}

/// Communication §2.1.1.s1: PUT's content is "The Statement object to be stored" — one
/// statement, not an array (§3.2.s3.b6: structure that does not match → 400).
#[tokio::test]
async fn communication_2_1_1_put_with_array_is_400() {
    let app = spawn_app().await;
    for version in VERSIONS {
        let id = new_id();
        let response = app.put_statement(version, &id, &json!([statement()])).await;
        expect_error(response, 400, version, "PUT with an array").await;
    }
    assert_eq!(app.statement_count().await, 0);
}

// --- §2.1.2 POST Statements ----------------------------------------------------------------

/// Communication §2.1.2.s1: POST "Stores a Statement, or a set of Statements … Returns: `200
/// OK`, Array of Statement id(s) (UUID) in the same order as the corresponding stored
/// Statements."
#[tokio::test]
async fn communication_2_1_2_post_returns_ids_in_order() {
    let app = spawn_app().await;
    for version in VERSIONS {
        let ids: Vec<String> = (0..3).map(|_| new_id()).collect();
        let batch: Vec<Value> = ids
            .iter()
            .map(|id| {
                let mut s = statement();
                s["id"] = json!(id);
                s
            })
            .collect();
        let response = app.post_statements(version, &json!(batch)).await;
        assert_eq!(response.status(), 200);
        assert_eq!(header(&response, VERSION_HEADER), Some(served(version)));
        assert_eq!(response.json::<Vec<String>>().await.unwrap(), ids);
        let single = app.post_statements(version, &statement()).await;
        assert_eq!(single.status(), 200);
        assert_eq!(single.json::<Vec<String>>().await.unwrap().len(), 1);
    }
    assert_eq!(app.statement_count().await, 8);
}

/// Communication §3.2.s2.b1: "`400 Bad Request` … The term "invalid arguments" includes
/// malformed JSON"; §3.2.s3.b6 "The LRS SHOULD* reject any request with `400 Bad Request`
/// status where the content type header does not match the content included in the request".
#[tokio::test]
async fn communication_3_2_s2_b1_malformed_json_and_wrong_content_type_are_400() {
    let app = spawn_app().await;
    for version in VERSIONS {
        let response = app
            .request(Method::POST, "/xapi/statements", version)
            .header("Content-Type", "application/json")
            .body("{\"actor\": ")
            .send()
            .await
            .unwrap();
        expect_error(response, 400, version, "malformed JSON").await;
        let response = app
            .request(Method::POST, "/xapi/statements", version)
            .header("Content-Type", "text/plain")
            .body(statement().to_string())
            .send()
            .await
            .unwrap();
        expect_error(response, 400, version, "JSON sent as text/plain").await;
        let response = app.post_statements(version, &json!("a string")).await;
        expect_error(
            response,
            400,
            version,
            "a JSON string instead of statements",
        )
        .await;
    }
    assert_eq!(app.statement_count().await, 0);
}

// --- §2.1.3 GET Statements (single) ----------------------------------------------------------

/// Communication §2.1.3.s1: "If the statementId or voidedStatementId parameter is specified a
/// single Statement is returned"; §3.2.s2.b4 "`404 Not Found` … the method to retrieve a
/// single Statement".
#[tokio::test]
async fn communication_2_1_3_get_by_id_and_404_for_unknown() {
    let app = spawn_app().await;
    for version in VERSIONS {
        let id = store(&app, version).await;
        let response = app.get_statement(version, &id).await;
        assert_eq!(response.status(), 200);
        assert!(
            header(&response, "Content-Type").is_some_and(|c| c.starts_with("application/json"))
        );
        let got: Value = response.json().await.unwrap();
        assert_eq!(got["id"], json!(id));
        assert_eq!(got["actor"], statement()["actor"]);

        let unknown = new_id();
        let body = expect_error(
            app.get_statement(version, &unknown).await,
            404,
            version,
            "unknown id",
        )
        .await;
        assert_eq!(body["error"], json!("not_found"));
    }
}

/// Communication §2.1.3.s2.b1: "The LRS MUST reject with a `400 Bad Request` error any requests
/// to this resource which contain both statementId and voidedStatementId parameters".
#[tokio::test]
async fn communication_2_1_3_s2_b1_statement_id_with_voided_statement_id_is_400() {
    let app = spawn_app().await;
    for version in VERSIONS {
        let id = store(&app, version).await;
        let other = new_id();
        let response = get(
            &app,
            version,
            &format!("?statementId={id}&voidedStatementId={other}"),
        )
        .await;
        expect_error(response, 400, version, "statementId + voidedStatementId").await;
    }
}

/// Communication §2.1.3.s2.b2: "The LRS MUST reject with an `400 Bad Request` error any
/// requests to this resource which contain statementId or voidedStatementId parameters, and
/// also contain any other parameter besides "attachments" or "format"."
#[tokio::test]
async fn communication_2_1_3_s2_b2_statement_id_with_other_parameters_is_400() {
    let app = spawn_app().await;
    for version in VERSIONS {
        let id = store(&app, version).await;
        for extra in [
            "limit=1",
            "verb=http%3A%2F%2Fexample.com%2Fv",
            "ascending=true",
            "since=2020-01-01T00:00:00Z",
        ] {
            let response = get(&app, version, &format!("?statementId={id}&{extra}")).await;
            expect_error(response, 400, version, &format!("statementId with {extra}")).await;
            let response = get(&app, version, &format!("?voidedStatementId={id}&{extra}")).await;
            expect_error(
                response,
                400,
                version,
                &format!("voidedStatementId with {extra}"),
            )
            .await;
        }
        for allowed in ["format=exact", "attachments=false"] {
            let response = get(&app, version, &format!("?statementId={id}&{allowed}")).await;
            assert_eq!(response.status(), 200, "statementId with {allowed}");
        }
    }
}

/// Communication §3.2.s3.b7: "The LRS MUST reject with `400 Bad Request` status any requests
/// that use any parameters which the LRS does not recognize"; §3.2.s3.b8 "… any parameters
/// matching parameters described in this specification in all but case".
#[tokio::test]
async fn communication_3_2_s3_b7_unknown_or_miscased_parameters_are_400() {
    let app = spawn_app().await;
    for version in VERSIONS {
        let id = store(&app, version).await;
        let response = get(&app, version, &format!("?statementId={id}&foo=bar")).await;
        expect_error(response, 400, version, "GET with unknown parameter").await;
        let response = get(&app, version, &format!("?statementid={id}")).await;
        expect_error(response, 400, version, "GET with statementid (case)").await;
        let response = get(&app, version, &format!("?StatementId={id}")).await;
        expect_error(response, 400, version, "GET with StatementId (case)").await;

        let before = app.statement_count().await;
        let response = app
            .request(Method::POST, "/xapi/statements?foo=bar", version)
            .json(&statement())
            .send()
            .await
            .unwrap();
        expect_error(response, 400, version, "POST with unknown parameter").await;
        let other = new_id();
        let response = app
            .request(
                Method::PUT,
                &format!("/xapi/statements?statementID={other}"),
                version,
            )
            .json(&statement())
            .send()
            .await
            .unwrap();
        expect_error(response, 400, version, "PUT with statementID (case)").await;
        assert_eq!(app.statement_count().await, before);
    }
}

/// Data §2.2.s4.b4: "The LRS MUST validate parameter values to the same standards required for
/// values of the same types in Statements" — statementId and voidedStatementId are UUIDs.
#[tokio::test]
async fn data_2_2_s4_b4_bad_uuid_parameters_are_400() {
    let app = spawn_app().await;
    for version in VERSIONS {
        for bad in [
            "not-a-uuid",
            "",
            "12345",
            "{8f87ccde-bb56-4c2e-ab83-44982ef22df0}",
        ] {
            let response = get(&app, version, &format!("?statementId={bad}")).await;
            expect_error(response, 400, version, &format!("statementId={bad}")).await;
            let response = get(&app, version, &format!("?voidedStatementId={bad}")).await;
            expect_error(response, 400, version, &format!("voidedStatementId={bad}")).await;
        }
    }
}

/// Communication §1.1.s3.b1: "The LRS MUST respond to any HTTP HEAD request as it would have
/// responded to an otherwise identical HTTP GET request except: The message-body MUST be
/// omitted."
#[tokio::test]
async fn communication_1_1_s3_b1_head_is_get_without_body() {
    let app = spawn_app().await;
    for version in VERSIONS {
        let id = store(&app, version).await;
        let get_response = app.get_statement(version, &id).await;
        let head = app
            .request(
                Method::HEAD,
                &format!("/xapi/statements?statementId={id}"),
                version,
            )
            .send()
            .await
            .unwrap();
        assert_eq!(head.status(), 200);
        for name in [VERSION_HEADER, "Last-Modified", "Content-Type"] {
            assert_eq!(
                header(&head, name),
                header(&get_response, name),
                "HEAD header {name}"
            );
        }
        assert!(header(&head, CONSISTENT).is_some());
        assert!(
            head.bytes().await.unwrap().is_empty(),
            "HEAD returned a body"
        );

        let missing = app
            .request(
                Method::HEAD,
                &format!("/xapi/statements?statementId={}", new_id()),
                version,
            )
            .send()
            .await
            .unwrap();
        assert_eq!(missing.status(), 404);
        assert!(
            missing.bytes().await.unwrap().is_empty(),
            "HEAD 404 returned a body"
        );
    }
}

/// Communication §2.1.3.s2.b8: "The LRS SHOULD* include a "Last-Modified" header which matches
/// the "stored" Timestamp of the Statement."
#[tokio::test]
async fn communication_2_1_3_s2_b8_last_modified_matches_stored() {
    let app = spawn_app().await;
    for version in VERSIONS {
        let id = store(&app, version).await;
        let response = app.get_statement(version, &id).await;
        let last_modified = header(&response, "Last-Modified")
            .expect("Last-Modified")
            .to_string();
        let got: Value = response.json().await.unwrap();
        let stored = DateTime::parse_from_rfc3339(got["stored"].as_str().unwrap())
            .unwrap()
            .with_timezone(&Utc);
        let modified = DateTime::parse_from_rfc2822(&last_modified)
            .unwrap_or_else(|e| panic!("Last-Modified `{last_modified}` is not an HTTP date: {e}"))
            .with_timezone(&Utc);
        assert_eq!(
            modified.timestamp(),
            stored.timestamp(),
            "Last-Modified {last_modified} vs stored {stored}"
        );
    }
}

/// Communication §2.1.3.s2.b5: "The LRS MUST include the header
/// "X-Experience-API-Consistent-Through", in ISO 8601 combined date and time format, on all
/// responses to Statements Resource requests … It is expected that this will be a recent
/// timestamp". Checked here on GET and HEAD, successes and errors.
#[tokio::test]
async fn communication_2_1_3_s2_b5_consistent_through_on_statement_reads() {
    let app = spawn_app().await;
    for version in VERSIONS {
        let id = store(&app, version).await;
        let responses = [
            app.get_statement(version, &id).await,
            app.get_statement(version, &new_id()).await,
            get(&app, version, "?statementId=bad").await,
            app.request(
                Method::HEAD,
                &format!("/xapi/statements?statementId={id}"),
                version,
            )
            .send()
            .await
            .unwrap(),
        ];
        for response in responses {
            let value = header(&response, CONSISTENT)
                .unwrap_or_else(|| panic!("{} response without {CONSISTENT}", response.status()));
            let at = DateTime::parse_from_rfc3339(value)
                .unwrap_or_else(|e| panic!("{CONSISTENT} `{value}` is not ISO 8601: {e}"))
                .with_timezone(&Utc);
            let age = Utc::now() - at;
            assert!(
                age.num_seconds().abs() < 60,
                "{CONSISTENT} {value} is not recent"
            );
        }
    }
}

/// Communication §2.1.3.s2.b5: the Consistent-Through header is required "on all responses to
/// Statements Resource requests" — which includes PUT and POST responses.
#[tokio::test]
async fn communication_2_1_3_s2_b5_consistent_through_on_statement_writes() {
    let app = spawn_app().await;
    for version in VERSIONS {
        let post = app.post_statements(version, &statement()).await;
        assert!(
            header(&post, CONSISTENT).is_some(),
            "POST response without {CONSISTENT}"
        );
        let put = app.put_statement(version, &new_id(), &statement()).await;
        assert!(
            header(&put, CONSISTENT).is_some(),
            "PUT response without {CONSISTENT}"
        );
    }
}

// --- §3.2 Error codes ------------------------------------------------------------------------

/// Communication §3.2.s3.b1: "An LRS MUST return the error code most appropriate to the error
/// condition"; §3.2.s3.b2 "SHOULD return a message in the response explaining the cause of the
/// error" — 400, 401, 403, 404 and 409 each with a JSON body naming the error.
#[tokio::test]
async fn communication_3_2_s3_b1_error_codes_with_json_messages() {
    let app = spawn_app().await;
    let (read_key, read_secret) = app.credential(&[Scope::StatementsRead]).await;
    for version in VERSIONS {
        let body = expect_error(
            app.post_statements(version, &json!({"actor": {}})).await,
            400,
            version,
            "invalid statement",
        )
        .await;
        assert_eq!(body["error"], json!("bad_request"));

        let response = app
            .client
            .get(app.url(&format!("/xapi/statements?statementId={}", new_id())))
            .header(VERSION_HEADER, version)
            .send()
            .await
            .unwrap();
        assert_eq!(
            expect_error(response, 401, version, "no credentials").await["error"],
            json!("unauthorized")
        );

        let response = app
            .client
            .post(app.url("/xapi/statements"))
            .basic_auth(&read_key, Some(&read_secret))
            .header(VERSION_HEADER, version)
            .json(&statement())
            .send()
            .await
            .unwrap();
        assert_eq!(
            expect_error(response, 403, version, "read-only credential POSTs").await["error"],
            json!("forbidden")
        );

        let response = app.get_statement(version, &new_id()).await;
        assert_eq!(
            expect_error(response, 404, version, "unknown statement").await["error"],
            json!("not_found")
        );

        let id = store(&app, version).await;
        let mut different = statement();
        different["verb"]["id"] = json!("http://adlnet.gov/expapi/verbs/completed");
        let response = app.put_statement(version, &id, &different).await;
        assert_eq!(
            expect_error(response, 409, version, "conflicting PUT").await["error"],
            json!("conflict")
        );
    }
}

/// Communication §3.2.s3.b11: "The LRS MUST reject with `413 Request Entity Too Large` status
/// any request rejected by the LRS where the size of the Attachment, Statement or document is
/// larger than the maximum allowed by the LRS"; §3.2.s3.b12 the limit is the LRS's choice
/// (here configured to 1000 bytes).
#[tokio::test]
async fn communication_3_2_s3_b11_too_large_is_413() {
    let app = spawn_app_with(|s| s.max_body_bytes = 1000).await;
    for version in VERSIONS {
        let mut big = statement();
        big["result"] = json!({"response": "x".repeat(2000)});
        let response = app.post_statements(version, &big).await;
        expect_error(response, 413, version, "POST over the limit").await;
        let response = app.put_statement(version, &new_id(), &big).await;
        expect_error(response, 413, version, "PUT over the limit").await;
        // Under the limit is fine.
        assert_eq!(
            app.post_statements(version, &statement()).await.status(),
            200
        );
    }
    assert_eq!(app.statement_count().await, 2);
}

// --- §3.3 Versioning -------------------------------------------------------------------------

/// Communication §3.3.s3.b4.1: "The LRS MUST reject requests without a version header";
/// §3.3.s3.b7 "by responding with a `400 Bad Request` error including a short description of
/// the problem"; §3.3.s3.b1 the response still carries "X-Experience-API-Version".
#[tokio::test]
async fn communication_3_3_s3_b4_1_missing_version_header_is_400() {
    let app = spawn_app().await;
    let response = app
        .client
        .post(app.url("/xapi/statements"))
        .basic_auth(&app.key, Some(&app.secret))
        .json(&statement())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    assert!(
        header(&response, VERSION_HEADER).is_some(),
        "400 without a version header"
    );
    let body: Value = response.json().await.unwrap();
    assert!(
        body["message"]
            .as_str()
            .is_some_and(|m| m.contains(VERSION_HEADER)),
        "{body}"
    );
    let response = app
        .client
        .get(app.url(&format!("/xapi/statements?statementId={}", new_id())))
        .basic_auth(&app.key, Some(&app.secret))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    assert_eq!(app.statement_count().await, 0);
}

/// Communication §3.3.s3.b6: "The LRS MUST reject requests with a version header of `1.1.0` or
/// greater"; §3.3.s3.b4 "MUST reject requests with version header prior to version 1.0.0";
/// §3.3.s3.b7 with 400 and a description.
#[tokio::test]
async fn communication_3_3_s3_b6_unsupported_versions_are_400() {
    let app = spawn_app().await;
    for bad in ["1.1.0", "1.1", "0.95", "0.9", "3.0.0", "abc", "1.0.x", ""] {
        let response = app.post_statements(bad, &statement()).await;
        assert_eq!(response.status(), 400, "version header `{bad}`");
        assert!(
            header(&response, VERSION_HEADER).is_some(),
            "`{bad}`: no version header on the 400"
        );
        let body: Value = response.json().await.unwrap();
        assert!(
            body["message"].as_str().is_some_and(|m| !m.is_empty()),
            "`{bad}`: {body}"
        );
    }
    assert_eq!(app.statement_count().await, 0);
}

/// Communication §3.3.s3.b3: "The LRS MUST accept requests with a version header of `1.0` as if
/// the version header was `1.0.0`"; §3.3.s3.b5 "MUST accept requests with a version header
/// starting with `1.0.`"; §3.3.s3.b2 the response header is "the latest patch version".
#[tokio::test]
async fn communication_3_3_s3_b3_version_1_0_and_1_0_x_accepted() {
    let app = spawn_app().await;
    for (sent, answered) in [
        ("1.0", V1),
        ("1.0.0", V1),
        ("1.0.1", V1),
        ("1.0.2", V1),
        ("1.0.3", V1),
        ("2.0.0", V2),
    ] {
        let response = app.post_statements(sent, &statement()).await;
        assert_eq!(response.status(), 200, "version header `{sent}`");
        assert_eq!(
            header(&response, VERSION_HEADER),
            Some(answered),
            "answer to `{sent}`"
        );
        let id = response.json::<Vec<String>>().await.unwrap().remove(0);
        let got: Value = app.get_statement(sent, &id).await.json().await.unwrap();
        let expected = if sent == "2.0.0" { "2.0.0" } else { "1.0.0" };
        assert_eq!(
            got["version"],
            json!(expected),
            "statement version under `{sent}`"
        );
    }
}

/// Communication §3.3.s3.b1: "The LRS MUST include the "X-Experience-API-Version" header in
/// every response" — successes and errors alike, stating the version served.
#[tokio::test]
async fn communication_3_3_s3_b1_every_response_has_version_header() {
    let app = spawn_app().await;
    for version in VERSIONS {
        let id = store(&app, version).await;
        let responses = vec![
            ("POST 200", app.post_statements(version, &statement()).await),
            (
                "PUT 204",
                app.put_statement(version, &new_id(), &statement()).await,
            ),
            ("GET 200", app.get_statement(version, &id).await),
            ("GET 404", app.get_statement(version, &new_id()).await),
            ("POST 400", app.post_statements(version, &json!({})).await),
            (
                "PUT 409",
                app.put_statement(
                    version,
                    &id,
                    &json!({
                        "actor": {"mbox": "mailto:x@example.com"},
                        "verb": {"id": "http://example.com/v"},
                        "object": {"id": "http://example.com/o"}
                    }),
                )
                .await,
            ),
            (
                "GET 401",
                app.client
                    .get(app.url(&format!("/xapi/statements?statementId={id}")))
                    .header(VERSION_HEADER, version)
                    .send()
                    .await
                    .unwrap(),
            ),
            (
                "DELETE 405",
                app.request(Method::DELETE, "/xapi/statements", version)
                    .send()
                    .await
                    .unwrap(),
            ),
        ];
        for (what, response) in responses {
            assert_eq!(
                header(&response, VERSION_HEADER),
                Some(served(version)),
                "{what} ({version})"
            );
        }
    }
}

/// Communication §2.8.s5.b1: "An LRS MUST return the JSON document described above, with a
/// "version" property that includes the latest minor and patch version the LRS conforms to,
/// for each major version"; §2.8.s5.b2 no other properties than version and extensions;
/// §2.8.s5.b3 unauthenticated access; §2.8.s5.b4 "MUST NOT reject requests based on their
/// version header".
#[tokio::test]
async fn communication_2_8_s5_b1_about_lists_versions_without_auth() {
    let app = spawn_app().await;
    for version_header in [None, Some("1.0.3"), Some("0.9"), Some("9.9.9")] {
        let mut request = app.client.get(app.url("/xapi/about"));
        if let Some(v) = version_header {
            request = request.header(VERSION_HEADER, v);
        }
        let response = request.send().await.unwrap();
        assert_eq!(
            response.status(),
            200,
            "about with version header {version_header:?}"
        );
        assert!(
            header(&response, VERSION_HEADER).is_some(),
            "about without version header"
        );
        let body: Value = response.json().await.unwrap();
        let versions: Vec<&str> = body["version"]
            .as_array()
            .unwrap_or_else(|| panic!("version is not an array: {body}"))
            .iter()
            .map(|v| v.as_str().unwrap())
            .collect();
        assert!(versions.contains(&"1.0.3"), "{versions:?}");
        assert!(versions.contains(&"2.0.0"), "{versions:?}");
        for key in body.as_object().unwrap().keys() {
            assert!(
                key == "version" || key == "extensions",
                "about has extra property {key}"
            );
        }
    }
}

// --- §4 Authentication and §4.2 scopes ------------------------------------------------------

/// Communication §4.0.s3.b1 (HTTP Basic, RFC 7235) and §3.2.s2.b2: "`401 Unauthorized` -
/// Indicates that authentication is required, or … that the given credentials have been
/// refused"; RFC 7235 §3.1: a 401 "MUST send a WWW-Authenticate header field".
#[tokio::test]
async fn communication_4_0_missing_or_wrong_credentials_are_401() {
    let app = spawn_app().await;
    let id = store(&app, V1).await;
    for version in VERSIONS {
        let attempts = vec![
            (
                "no credentials",
                app.client
                    .get(app.url(&format!("/xapi/statements?statementId={id}"))),
            ),
            (
                "wrong secret",
                app.client
                    .get(app.url(&format!("/xapi/statements?statementId={id}")))
                    .basic_auth(&app.key, Some("wrong")),
            ),
            (
                "unknown key",
                app.client
                    .get(app.url(&format!("/xapi/statements?statementId={id}")))
                    .basic_auth("nobody", Some(&app.secret)),
            ),
            (
                "no secret",
                app.client
                    .get(app.url(&format!("/xapi/statements?statementId={id}")))
                    .basic_auth(&app.key, None::<&str>),
            ),
            (
                "bearer token",
                app.client
                    .get(app.url(&format!("/xapi/statements?statementId={id}")))
                    .bearer_auth(&app.secret),
            ),
            (
                "POST without credentials",
                app.client
                    .post(app.url("/xapi/statements"))
                    .json(&statement()),
            ),
            (
                "PUT with wrong secret",
                app.client
                    .put(app.url(&format!("/xapi/statements?statementId={}", new_id())))
                    .basic_auth(&app.key, Some("wrong"))
                    .json(&statement()),
            ),
        ];
        for (what, request) in attempts {
            let response = request
                .header(VERSION_HEADER, version)
                .send()
                .await
                .unwrap();
            assert!(
                header(&response, "WWW-Authenticate")
                    .is_some_and(|h| h.to_ascii_lowercase().starts_with("basic")),
                "{what}: 401 without a Basic WWW-Authenticate challenge"
            );
            let body = expect_error(response, 401, version, what).await;
            assert!(
                !body.to_string().contains(&app.secret),
                "{what}: the body leaks the secret"
            );
        }
    }
    assert_eq!(app.statement_count().await, 1);
}

/// Communication §3.2.s3.b10: "The LRS MUST reject with `403 Forbidden` status any request
/// rejected by the LRS where the credentials associated with the request do not have
/// permission to make that request"; §4.2.s2 scopes: statements/read and all/read read,
/// statements/write writes.
#[tokio::test]
async fn communication_3_2_s3_b10_scopes_limit_requests_with_403() {
    let app = spawn_app().await;
    let read = app.credential(&[Scope::StatementsRead]).await;
    let all_read = app.credential(&[Scope::AllRead]).await;
    let write = app.credential(&[Scope::StatementsWrite]).await;
    let state = app.credential(&[Scope::State]).await;
    for version in VERSIONS {
        let id = store(&app, version).await;
        let count = app.statement_count().await;
        let as_ = |(key, secret): &(String, String), method: Method, path: &str| {
            app.client
                .request(method, app.url(path))
                .basic_auth(key, Some(secret))
                .header(VERSION_HEADER, version)
        };
        let get_path = format!("/xapi/statements?statementId={id}");
        for (who, cred) in [
            ("statements/read", &read),
            ("all/read", &all_read),
            ("state", &state),
        ] {
            let post = as_(cred, Method::POST, "/xapi/statements")
                .json(&statement())
                .send()
                .await
                .unwrap();
            expect_error(post, 403, version, &format!("{who} POST")).await;
            let put = as_(
                cred,
                Method::PUT,
                &format!("/xapi/statements?statementId={}", new_id()),
            )
            .json(&statement())
            .send()
            .await
            .unwrap();
            expect_error(put, 403, version, &format!("{who} PUT")).await;
        }
        for (who, cred) in [("statements/write", &write), ("state", &state)] {
            let response = as_(cred, Method::GET, &get_path).send().await.unwrap();
            expect_error(response, 403, version, &format!("{who} GET")).await;
        }
        assert_eq!(
            app.statement_count().await,
            count,
            "a forbidden write was stored"
        );

        for (who, cred) in [("statements/read", &read), ("all/read", &all_read)] {
            let response = as_(cred, Method::GET, &get_path).send().await.unwrap();
            assert_eq!(response.status(), 200, "{who} GET");
        }
        let response = as_(&write, Method::POST, "/xapi/statements")
            .json(&statement())
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "statements/write POST");
    }
}

/// Communication §4.2.s2: "statements/read/mine — read Statements written by "me", that is with
/// an authority matching what the LRS would assign if writing a Statement with the current
/// token"; other statements are not returned to it (§3.2.s1: "the LRS will filter any returned
/// Statements").
#[tokio::test]
async fn communication_4_2_statements_read_mine_sees_only_its_own() {
    let app = spawn_app().await;
    let (key, secret) = app
        .credential(&[Scope::StatementsWrite, Scope::StatementsReadMine])
        .await;
    for version in VERSIONS {
        let as_mine = |method: Method, path: &str| {
            app.client
                .request(method, app.url(path))
                .basic_auth(&key, Some(&secret))
                .header(VERSION_HEADER, version)
        };
        let response = as_mine(Method::POST, "/xapi/statements")
            .json(&statement())
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        let mine = response.json::<Vec<String>>().await.unwrap().remove(0);
        let theirs = store(&app, version).await;

        let response = as_mine(Method::GET, &format!("/xapi/statements?statementId={mine}"))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "own statement");
        let got: Value = response.json().await.unwrap();
        assert_eq!(got["id"], json!(mine));

        let response = as_mine(
            Method::GET,
            &format!("/xapi/statements?statementId={theirs}"),
        )
        .send()
        .await
        .unwrap();
        let status = response.status().as_u16();
        let text = response.text().await.unwrap();
        assert!(
            status == 404 || status == 403,
            "another credential's statement: {status} {text}"
        );
        assert!(
            !text.contains("\"actor\""),
            "another credential's statement leaked: {text}"
        );

        // And a voided own statement is still only reachable by voidedStatementId.
        let voiding = json!({
            "actor": {"mbox": "mailto:admin@example.com"},
            "verb": {"id": "http://adlnet.gov/expapi/verbs/voided"},
            "object": {"objectType": "StatementRef", "id": mine}
        });
        assert_eq!(
            as_mine(Method::POST, "/xapi/statements")
                .json(&voiding)
                .send()
                .await
                .unwrap()
                .status(),
            200
        );
        let response = as_mine(
            Method::GET,
            &format!("/xapi/statements?voidedStatementId={mine}"),
        )
        .send()
        .await
        .unwrap();
        assert_eq!(response.status(), 200);
    }
}
