//! The ETL status over HTTP and the CLI, the single-writer message, the data dictionary.

use cairn::auth::Scope;
use reqwest::Method;

use crate::helpers::{self, statement};
use crate::{open_warehouse, post_ok, spawn_app_with_warehouse};

#[tokio::test]
async fn etl_status_over_http_shows_runs_rows_and_lag() {
    let w = open_warehouse();
    let app = spawn_app_with_warehouse(w.clone()).await;
    post_ok(&app, &serde_json::json!([statement(), statement()])).await;
    let get = |cred: Option<(String, String)>| {
        let mut r = app.client.get(app.url("/api/v1/etl/status"));
        if let Some((k, s)) = cred {
            r = r.basic_auth(k, Some(s));
        }
        r.send()
    };
    let before: serde_json::Value = get(Some((app.key.clone(), app.secret.clone())))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(before["runs"], 0);
    assert_eq!(before["lag_statements"], 2);
    assert!(before["lag_seconds"].as_f64().unwrap() >= 0.0);
    crate::catch_up(&w, &app.pool).await;
    let reader = app.credential(&[Scope::AllRead]).await;
    let after: serde_json::Value = get(Some(reader)).await.unwrap().json().await.unwrap();
    assert_eq!(after["lag_statements"], 0);
    assert_eq!(after["lag_seconds"], 0.0);
    assert_eq!(after["rows_total"], 2);
    assert!(after["last_run_at"].is_string());
    assert!(after["last_error"].is_null());

    // Bad inputs get JSON errors.
    let anonymous = get(None).await.unwrap();
    assert_eq!(anonymous.status(), 401);
    assert!(anonymous.json::<serde_json::Value>().await.unwrap()["message"].is_string());
    let writer = app.credential(&[Scope::StatementsWrite]).await;
    let forbidden = get(Some(writer)).await.unwrap();
    assert_eq!(forbidden.status(), 403);
    assert_eq!(
        forbidden.json::<serde_json::Value>().await.unwrap()["status"],
        403
    );
}

#[tokio::test]
async fn etl_status_without_a_warehouse_is_a_json_404() {
    let app = helpers::spawn_app().await;
    let r = app
        .request(Method::GET, "/api/v1/etl/status", helpers::V2)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    let body: serde_json::Value = r.json().await.unwrap();
    assert!(
        body["message"].as_str().unwrap().contains("not enabled"),
        "{body}"
    );
}

#[tokio::test]
async fn the_cli_says_clearly_when_a_server_owns_the_warehouse() {
    let path = crate::warehouse_path();
    let held = cairn::warehouse::Warehouse::open(&path).unwrap();
    let out = tokio::task::spawn_blocking(move || {
        std::process::Command::new(env!("CARGO_BIN_EXE_cairn"))
            .args(["etl", "run", "--warehouse-path"])
            .arg(&path)
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    drop(held);
    // In one process DuckDB would not see its own lock, so the CLI runs as a child process.
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(stderr.contains("in use by another process"), "{stderr}");
    assert!(stderr.contains("GET /api/v1/etl/status"), "{stderr}");
}

#[tokio::test]
async fn the_committed_data_dictionary_is_current() {
    let w = open_warehouse();
    let text = w
        .with_conn(|c| Ok(cairn::warehouse::dictionary::generate(c)?))
        .await
        .unwrap();
    let file = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/warehouse.md");
    if std::env::var("CAIRN_UPDATE_DICTIONARY").is_ok() {
        std::fs::write(&file, &text).unwrap();
    }
    let committed = std::fs::read_to_string(&file).unwrap_or_default();
    assert!(
        committed == text,
        "docs/warehouse.md is stale: run `cairn etl dictionary > docs/warehouse.md` \
         (or this test with CAIRN_UPDATE_DICTIONARY=1)"
    );
}

/// The write path counts the statements clients store, which the server's ETL loop reads to
/// give way to them while it catches up (`warehouse::runner::catch_up`); a rejected batch
/// stores nothing and counts nothing.
#[tokio::test]
async fn the_warehouse_counts_the_statements_clients_store() {
    let w = open_warehouse();
    let app = spawn_app_with_warehouse(w.clone()).await;
    assert_eq!(w.client_writes(), 0);
    post_ok(
        &app,
        &serde_json::json!([statement(), statement(), statement()]),
    )
    .await;
    assert_eq!(w.client_writes(), 3);
    let mut invalid = statement();
    invalid["verb"] = serde_json::json!({ "id": "not an IRI" });
    let r = app
        .post_statements(helpers::V2, &serde_json::json!([statement(), invalid]))
        .await;
    assert_eq!(r.status(), 400);
    assert_eq!(w.client_writes(), 3);
    post_ok(&app, &statement()).await;
    assert_eq!(w.client_writes(), 4);
}
