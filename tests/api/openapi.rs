//! The OpenAPI document: served, complete, and the committed copy up to date.

use reqwest::Method;
use serde_json::Value;

use crate::helpers::{spawn_app, V2};

/// Every route Cairn serves, by method. A new endpoint belongs here and in `ApiDoc`.
const ROUTES: &[(&str, &str)] = &[
    ("get", "/xapi/about"),
    ("head", "/xapi/about"),
    ("put", "/xapi/statements"),
    ("post", "/xapi/statements"),
    ("get", "/xapi/statements"),
    ("head", "/xapi/statements"),
    ("put", "/xapi/activities/state"),
    ("post", "/xapi/activities/state"),
    ("get", "/xapi/activities/state"),
    ("head", "/xapi/activities/state"),
    ("delete", "/xapi/activities/state"),
    ("put", "/xapi/activities/profile"),
    ("post", "/xapi/activities/profile"),
    ("get", "/xapi/activities/profile"),
    ("head", "/xapi/activities/profile"),
    ("delete", "/xapi/activities/profile"),
    ("put", "/xapi/agents/profile"),
    ("post", "/xapi/agents/profile"),
    ("get", "/xapi/agents/profile"),
    ("head", "/xapi/agents/profile"),
    ("delete", "/xapi/agents/profile"),
    ("get", "/xapi/activities"),
    ("head", "/xapi/activities"),
    ("get", "/xapi/agents"),
    ("head", "/xapi/agents"),
    ("get", "/api/v1/etl/status"),
    ("get", "/api/v1/reports"),
    ("get", "/api/v1/reports/{name}"),
    ("post", "/api/v1/sql"),
    ("get", "/openapi.json"),
    ("get", "/docs"),
];

const METHODS: [&str; 8] = [
    "get", "head", "put", "post", "delete", "patch", "options", "trace",
];

/// (method, path) of every operation in the document.
fn operations(doc: &Value) -> Vec<(String, String)> {
    let mut ops = Vec::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for method in METHODS {
            if item.get(method).is_some() {
                ops.push((method.to_string(), path.clone()));
            }
        }
    }
    ops.sort();
    ops
}

#[tokio::test]
async fn the_served_document_lists_every_route_and_each_is_served() {
    let app = spawn_app().await;
    let response = app
        .client
        .get(app.url("/openapi.json"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200, "no authentication needed");
    assert!(response.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("application/json"));
    let doc: Value = response.json().await.unwrap();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    assert_eq!(doc["info"]["title"], "Cairn");
    assert_eq!(doc["info"]["version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(
        doc["components"]["securitySchemes"]["basic"]["scheme"],
        "basic"
    );
    assert!(doc["components"]["schemas"]["ErrorBody"].is_object());

    let mut expected: Vec<(String, String)> = ROUTES
        .iter()
        .map(|(m, p)| (m.to_string(), p.to_string()))
        .collect();
    expected.sort();
    assert_eq!(operations(&doc), expected);

    // Each documented operation reaches a handler, not the fallback for unknown paths
    // (404 `not_found` "no resource at …"). Without credentials the protected ones say 401.
    for (method, path) in ROUTES {
        let method = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
        let response = app
            .client
            .request(method.clone(), app.url(path))
            .header("X-Experience-API-Version", V2)
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        let body = response.text().await.unwrap();
        assert!(
            status != 404 && status != 405,
            "{method} {path}: {status} {body}"
        );
    }
}

#[tokio::test]
async fn the_docs_page_is_served_self_contained() {
    let app = spawn_app().await;
    let response = app.client.get(app.url("/docs")).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert!(response.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/html"));
    let csp = response.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(csp.contains("default-src 'none'"), "{csp}");
    let page = response.text().await.unwrap();
    assert!(page.contains("fetch(\"/openapi.json\")"));
    for path in ["/docs", "/openapi.json"] {
        let response = app.client.post(app.url(path)).send().await.unwrap();
        assert_eq!(response.status(), 405, "POST {path}");
    }
    // Nothing is loaded from elsewhere: no external scripts, styles or fonts.
    for needle in [
        "<script src",
        "<link",
        "@import",
        "@font-face",
        "//cdn",
        "url(http",
    ] {
        assert!(!page.contains(needle), "the page references {needle}");
    }
}

#[test]
fn the_committed_document_is_up_to_date() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/openapi/openapi.json");
    let committed = std::fs::read_to_string(path).unwrap_or_default();
    let generated = cairn::api::openapi::to_json();
    assert!(
        committed == generated,
        "openapi/openapi.json differs from what the code generates; regenerate it with \
         `cargo run -- openapi > openapi/openapi.json` (add --no-default-features after \
         `. .ci/duckdb-env` to link the prebuilt DuckDB)"
    );
}
