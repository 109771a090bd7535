//! Ad-hoc SQL: answers over the gold layer, and every escape attempt refused.

use std::time::Duration;

use cairn::auth::Scope;
use cairn::warehouse::sandbox::{Limits, SqlError};
use serde_json::{json, Value};

use crate::helpers::{statement, TestApp};
use crate::{open_warehouse, post_ok, spawn_app_with_warehouse};

async fn sql(app: &TestApp, cred: &(String, String), query: &str) -> (u16, Value) {
    let r = app
        .client
        .post(app.url("/api/v1/sql"))
        .basic_auth(&cred.0, Some(&cred.1))
        .header("Content-Type", "text/plain")
        .body(query.to_string())
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap())
}

#[tokio::test]
async fn a_select_over_gold_answers_and_escapes_are_refused() {
    let w = open_warehouse();
    let app = spawn_app_with_warehouse(w.clone()).await;
    post_ok(&app, &json!([statement(), statement(), statement()])).await;
    crate::catch_up(&w, &app.pool).await;
    let analyst = app.credential(&[Scope::AnalyticsRead]).await;

    let (status, body) = sql(
        &app,
        &analyst,
        "-- statements per verb\nSELECT verb_key, count(*) AS n FROM fact_statement GROUP BY verb_key;",
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["rows"][0]["n"], 3);
    assert!(body["warehouse"]["as_of"].is_string());
    // CTEs, joins, subqueries and generators are fine.
    let (status, body) = sql(
        &app,
        &analyst,
        "WITH v AS (SELECT * FROM dim_verb) SELECT (SELECT count(*) FROM v) AS verbs, \
         (SELECT sum(i) FROM range(4) t(i)) AS six",
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["rows"][0], json!({"verbs": 1, "six": 6}));
    // JSON bodies too.
    let r = app
        .client
        .post(app.url("/api/v1/sql?format=csv"))
        .basic_auth(&analyst.0, Some(&analyst.1))
        .json(&json!({"sql": "SELECT count(*) AS n FROM fact_statement"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.text().await.unwrap(), "n\n3\n");

    let long = format!("SELECT 1 AS x{}", " ".repeat(30_000));
    let refused = [
        ("SELECT * FROM read_csv('/etc/passwd')", "read_csv"),
        ("SELECT * FROM read_text('/etc/passwd')", "read_text"),
        ("SELECT * FROM read_blob('/etc/passwd')", "read_blob"),
        (
            "SELECT * FROM read_json_auto('/etc/passwd')",
            "read_json_auto",
        ),
        ("SELECT * FROM read_parquet('/etc/passwd')", "read_parquet"),
        ("SELECT * FROM glob('/etc/*')", "glob"),
        ("SELECT * FROM '/etc/passwd'", "/etc/passwd"),
        ("SELECT * FROM \"/etc/passwd\"", "/etc/passwd"),
        (
            "SELECT * FROM query_table('silver_statement')",
            "query_table",
        ),
        ("SELECT * FROM query('SELECT 1')", "query"),
        ("SELECT * FROM duckdb_settings()", "duckdb_settings"),
        (
            "WITH x AS (SELECT * FROM read_text('/etc/passwd')) SELECT * FROM x",
            "read_text",
        ),
        (
            "SELECT (SELECT content FROM read_text('/etc/passwd')) AS c",
            "read_text",
        ),
        (
            "SELECT * FROM fact_statement WHERE seq IN (SELECT 1 FROM read_csv('/etc/passwd'))",
            "read_csv",
        ),
        ("SELECT * FROM silver_statement", "silver_statement"),
        ("SELECT * FROM dim_actor_pii", "dim_actor_pii"),
        ("SELECT * FROM main.etl_state", "etl_state"),
        (
            "SELECT * FROM bi_snapshot.main.fact_statement",
            "bi_snapshot",
        ),
        ("COPY fact_statement TO '/tmp/cairn-escape.csv'", "SELECT"),
        ("COPY (SELECT 1) TO '/tmp/cairn-escape.csv'", "SELECT"),
        ("ATTACH '/tmp/cairn-escape.duckdb' AS x", "SELECT"),
        ("INSTALL httpfs", "SELECT"),
        ("LOAD httpfs", "SELECT"),
        ("PRAGMA version", "SELECT"),
        ("SET memory_limit = '20GB'", "SELECT"),
        ("SELECT 1; SELECT 2", "one"),
        ("SELECT 1; DROP VIEW fact_statement", "SELECT"),
        ("DROP VIEW fact_statement", "SELECT"),
        ("CREATE TABLE t AS SELECT 1", "SELECT"),
        ("UPDATE etl_state SET runs = 0", "SELECT"),
        ("EXPORT DATABASE '/tmp/cairn-escape'", "SELECT"),
        ("", "empty"),
        (long.as_str(), "limit"),
    ];
    for (query, needle) in refused {
        let (status, body) = sql(&app, &analyst, query).await;
        let shown = &query[..query.len().min(60)];
        assert_eq!(status, 400, "{shown}: {body}");
        let message = body["message"].as_str().unwrap();
        assert!(message.contains(needle), "{shown}: {message}");
    }
    assert!(!std::path::Path::new("/tmp/cairn-escape.csv").exists());
    // The warehouse is untouched.
    let (status, body) = sql(&app, &analyst, "SELECT count(*) AS n FROM fact_statement").await;
    assert_eq!((status, body["rows"][0]["n"].clone()), (200, json!(3)));

    // Scopes: all/read does not reach raw SQL; analytics/read and all do.
    let reader = app.credential(&[Scope::AllRead]).await;
    assert_eq!(sql(&app, &reader, "SELECT 1 AS x").await.0, 403);
    let all = (app.key.clone(), app.secret.clone());
    assert_eq!(sql(&app, &all, "SELECT 1 AS x").await.0, 200);
}

#[tokio::test]
async fn time_row_and_size_limits_stop_a_query_with_a_clear_error() {
    let w = open_warehouse();
    let limits = |f: fn(&mut Limits)| {
        let mut l = Limits::default();
        f(&mut l);
        l
    };
    let slow = "SELECT count(*) FROM range(100000000000) a(i) WHERE i % 7 = 3";
    let t = std::time::Instant::now();
    let e = w
        .query_sql(
            slow.into(),
            limits(|l| l.timeout = Duration::from_millis(300)),
        )
        .await
        .unwrap_err();
    assert!(matches!(e, SqlError::TimedOut(_)), "{e}");
    assert!(t.elapsed() < Duration::from_secs(10), "{:?}", t.elapsed());
    assert!(e.to_string().contains("time limit"));

    let e = w
        .query_sql("SELECT * FROM range(10)".into(), limits(|l| l.max_rows = 5))
        .await
        .unwrap_err();
    assert!(matches!(e, SqlError::TooManyRows(5)), "{e}");
    let ok = w
        .query_sql("SELECT * FROM range(5)".into(), limits(|l| l.max_rows = 5))
        .await
        .unwrap();
    assert_eq!(ok.table.rows(), 5);

    let e = w
        .query_sql(
            "SELECT repeat('x', 1000) AS s FROM range(1000)".into(),
            limits(|l| l.max_result_bytes = 100_000),
        )
        .await
        .unwrap_err();
    assert!(matches!(e, SqlError::TooLarge(100_000)), "{e}");
}
