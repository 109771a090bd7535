//! Alternate request syntax: xAPI 1.0.3 Communication §1.3 (XAPI-00336, XAPI-00148); xAPI 2.0
//! removed it, so 2.0.0 requests that use it are rejected.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use reqwest::Response;
use serde_json::{json, Value};
use uuid::Uuid;

use crate::helpers::{spawn_app, statement, TestApp, V1, V2};

fn form(pairs: &[(&str, &str)]) -> String {
    let mut s = form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs {
        s.append_pair(k, v);
    }
    s.finish()
}

/// A POST to `/xapi/statements?{query}` with a form body and no other headers than given.
async fn alternate(app: &TestApp, query: &str, body: String, headers: &[(&str, &str)]) -> Response {
    let mut request = app
        .client
        .post(app.url(&format!("/xapi/statements?{query}")))
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body(body);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    request.send().await.unwrap()
}

fn authorization(app: &TestApp) -> String {
    format!(
        "Basic {}",
        STANDARD.encode(format!("{}:{}", app.key, app.secret))
    )
}

/// §1.3.s3.b4–b7, b13–b14: headers, parameters and content travel in the form; the LRS
/// treats them as the request's headers, query and body.
#[tokio::test]
async fn comm_1_3_form_carries_headers_parameters_and_content() {
    let app = spawn_app().await;
    let auth = authorization(&app);
    let id = Uuid::new_v4().to_string();
    let put = alternate(
        &app,
        "method=PUT",
        form(&[
            ("statementId", &id),
            ("content", &statement().to_string()),
            ("Authorization", &auth),
            ("X-Experience-API-Version", V1),
            ("Content-Type", "application/json"),
        ]),
        &[],
    )
    .await;
    assert_eq!(put.status(), 204, "{}", put.text().await.unwrap());
    assert_eq!(put.headers()["x-experience-api-version"], V1);

    // A GET through POST (XAPI-00148), here with the headers as real headers.
    let get = alternate(
        &app,
        "method=GET",
        form(&[("statementId", &id)]),
        &[("Authorization", &auth), ("X-Experience-API-Version", V1)],
    )
    .await;
    assert_eq!(get.status(), 200);
    let got: Value = get.json().await.unwrap();
    assert_eq!(got["id"], json!(id));

    let query = alternate(
        &app,
        "method=GET",
        form(&[("limit", "1")]),
        &[("Authorization", &auth), ("X-Experience-API-Version", V1)],
    )
    .await;
    let result: Value = query.json().await.unwrap();
    assert_eq!(result["statements"].as_array().unwrap().len(), 1);
    assert!(result.get("more").is_some());
}

/// §1.3.s3.b1–b3 and §1.3.s3.b7: violations of the syntax, and headers from the form that
/// are themselves invalid, are a 400; nothing is stored.
#[tokio::test]
async fn comm_1_3_malformed_alternate_requests_are_rejected() {
    let app = spawn_app().await;
    let auth = authorization(&app);
    let content = statement().to_string();
    let id = Uuid::new_v4().to_string();
    let headers = [
        ("Authorization", auth.as_str()),
        ("X-Experience-API-Version", V1),
    ];
    let cases: Vec<(&str, &str, String)> = vec![
        (
            "another query parameter",
            "method=PUT&statementId=x",
            form(&[("statementId", &id), ("content", &content)]),
        ),
        (
            "unknown method",
            "method=PATCH",
            form(&[("content", &content)]),
        ),
        ("no content", "method=PUT", form(&[("statementId", &id)])),
        (
            "version from the form is unsupported",
            "method=PUT",
            form(&[
                ("statementId", &id),
                ("content", &content),
                ("X-Experience-API-Version", "0.8"),
            ]),
        ),
        (
            "body not form-encoded",
            "method=PUT",
            json!({"statementId": id, "content": content}).to_string(),
        ),
    ];
    for (what, query, body) in cases {
        let response = alternate(&app, query, body, &headers).await;
        assert_eq!(response.status(), 400, "{what}");
        let error: Value = response.json().await.unwrap();
        assert!(
            error["message"].as_str().is_some_and(|m| !m.is_empty()),
            "{what}"
        );
    }
    // §1.3.s3.b1: the syntax is only for POST.
    let put = app
        .client
        .put(app.url("/xapi/statements?method=POST"))
        .header("Authorization", &auth)
        .header("X-Experience-API-Version", V1)
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body(form(&[("content", &content)]))
        .send()
        .await
        .unwrap();
    assert_eq!(put.status(), 400);
    assert_eq!(app.statement_count().await, 0);
}

/// xAPI 2.0 removed the alternate request syntax: a 2.0.0 request using it is a 400, whether
/// the version comes as a header or from the form.
#[tokio::test]
async fn xapi_2_0_rejects_the_alternate_syntax() {
    let app = spawn_app().await;
    let auth = authorization(&app);
    let content = statement().to_string();
    let id = Uuid::new_v4().to_string();
    let in_header = alternate(
        &app,
        "method=PUT",
        form(&[("statementId", &id), ("content", &content)]),
        &[("Authorization", &auth), ("X-Experience-API-Version", V2)],
    )
    .await;
    assert_eq!(in_header.status(), 400);
    let in_form = alternate(
        &app,
        "method=PUT",
        form(&[
            ("statementId", &id),
            ("content", &content),
            ("Authorization", &auth),
            ("X-Experience-API-Version", V2),
        ]),
        &[],
    )
    .await;
    assert_eq!(in_form.status(), 400);
    let error: Value = in_form.json().await.unwrap();
    assert!(
        error["message"].as_str().unwrap().contains("2.0"),
        "{error}"
    );
    assert_eq!(app.statement_count().await, 0);
}
