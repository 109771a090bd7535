//! Exactly-once loading: out-of-order commits, an interrupted run, re-runs, and concurrent
//! writers with ETL runs interleaved.

use std::time::Duration;

use serde_json::json;
use sqlx::Connection;

use cairn::warehouse::{RunOptions, Warehouse};

use crate::helpers::{spawn_app, statement};
use crate::{post_ok, value, warehouse_path};

async fn loaded_times(w: &Warehouse, id: &str) -> String {
    value(
        w,
        &format!("SELECT count(*) FROM silver_statement WHERE statement_id = '{id}'"),
    )
    .await
}

#[tokio::test]
async fn a_statement_committed_out_of_seq_order_is_loaded_exactly_once() {
    let app = spawn_app().await;
    let w = Warehouse::open(&warehouse_path()).unwrap();

    // A writer inserts (taking a lower seq) and commits only after later statements did. It
    // goes first: the server takes `seq` values from the sequence a block at a time.
    let late = uuid::Uuid::new_v4();
    let mut conn = sqlx::PgConnection::connect(&app.db.url).await.unwrap();
    let mut tx = conn.begin().await.unwrap();
    let late_seq: i64 = sqlx::query_scalar(
        r#"INSERT INTO statements (store_id, statement_id, stored, "timestamp", verb_iri, statement)
           VALUES (1, $1, now(), now(), 'http://adlnet.gov/expapi/verbs/attempted', $2) RETURNING seq"#,
    )
    .bind(late)
    .bind(sqlx::types::Json(json!({"id": late.to_string(), "actor": {"mbox": "mailto:late@example.com"},
        "verb": {"id": "http://adlnet.gov/expapi/verbs/attempted"}, "object": {"id": "http://example.com/a"}})))
    .fetch_one(&mut *tx)
    .await
    .unwrap();
    post_ok(&app, &statement()).await;
    let after = uuid::Uuid::new_v4().to_string();
    let mut s = statement();
    s["id"] = json!(after);
    post_ok(&app, &s).await;
    let after_seq: i64 =
        sqlx::query_scalar("SELECT seq FROM statements WHERE statement_id = $1::uuid")
            .bind(&after)
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert!(after_seq > late_seq);

    w.run_once(&app.pool).await.unwrap();
    assert_eq!(loaded_times(&w, &late.to_string()).await, "0");
    let status = w.status(&app.pool).await.unwrap();
    assert!(status.lag_statements >= 1, "{status:?}");

    tx.commit().await.unwrap();
    crate::catch_up(&w, &app.pool).await;
    crate::catch_up(&w, &app.pool).await; // a re-run adds nothing
    assert_eq!(loaded_times(&w, &late.to_string()).await, "1");
    assert_eq!(loaded_times(&w, &after).await, "1");
    assert_eq!(
        value(&w, "SELECT count(*) FROM silver_statement").await,
        "3"
    );
}

#[tokio::test]
async fn a_run_interrupted_before_its_commit_leaves_nothing_and_the_rerun_loads_once() {
    let app = spawn_app().await;
    let path = warehouse_path();
    let w = Warehouse::open(&path).unwrap();
    let batch: Vec<_> = (0..5).map(|_| statement()).collect();
    post_ok(&app, &json!(batch)).await;
    let err = w
        .run_with(
            &app.pool,
            &RunOptions {
                interrupt_before_commit: true,
                chunk_rows: Some(2),
                ..RunOptions::default()
            },
        )
        .await
        .unwrap_err();
    assert!(err.to_string().contains("interrupted"), "{err}");
    drop(w); // the process "dies"; a new one opens the file
    let w = Warehouse::open(&path).unwrap();
    assert_eq!(
        value(&w, "SELECT count(*) FROM silver_statement").await,
        "0"
    );
    assert_eq!(value(&w, "SELECT runs FROM etl_state").await, "0");
    crate::catch_up(&w, &app.pool).await;
    crate::catch_up(&w, &app.pool).await;
    assert_eq!(
        value(&w, "SELECT count(*) FROM silver_statement").await,
        "5"
    );
    assert_eq!(
        value(
            &w,
            "SELECT count(DISTINCT statement_id) FROM silver_statement"
        )
        .await,
        "5"
    );
    assert_eq!(
        value(
            &w,
            "SELECT count(*) FROM silver_statement_agent WHERE usage = 'actor'"
        )
        .await,
        "5"
    );
}

#[tokio::test]
async fn concurrent_writers_and_interleaved_runs_match_postgres_statement_by_statement() {
    let app = std::sync::Arc::new(spawn_app().await);
    let path = warehouse_path();
    let w = std::sync::Arc::new(Warehouse::open(&path).unwrap());
    let mut writers = Vec::new();
    for writer in 0..4 {
        let app = app.clone();
        writers.push(tokio::spawn(async move {
            for round in 0..15 {
                let ids: Vec<String> = (0..4).map(|_| uuid::Uuid::new_v4().to_string()).collect();
                let batch: Vec<_> = ids.iter().map(|id| {
                    let mut s = statement();
                    s["id"] = json!(id);
                    s["object"]["id"] = json!(format!("http://example.com/w{writer}/r{round}"));
                    s
                }).collect();
                post_ok(&app, &json!(batch)).await;
                if round % 3 == 0 {
                    post_ok(&app, &json!({
                        "actor": {"mbox": "mailto:admin@example.com"},
                        "verb": {"id": "http://adlnet.gov/expapi/verbs/voided", "display": {"en-US": "voided"}},
                        "object": {"objectType": "StatementRef", "id": ids[0]}
                    })).await;
                }
            }
        }));
    }
    let etl = {
        let (w, app) = (w.clone(), app.clone());
        tokio::spawn(async move {
            for i in 0..20 {
                let options = RunOptions {
                    interrupt_before_commit: i == 5,
                    chunk_rows: Some(7), // many keyset pages per run
                    max_statements: (i % 2 == 1).then_some(5),
                    ..RunOptions::default()
                };
                let _ = w.run_with(&app.pool, &options).await;
                tokio::time::sleep(Duration::from_millis(25)).await;
            }
        })
    };
    for h in writers {
        h.await.unwrap();
    }
    etl.await.unwrap();
    crate::catch_up(&w, &app.pool).await;

    let pg: Vec<String> =
        sqlx::query_scalar("SELECT statement_id::text FROM statements WHERE NOT voided ORDER BY 1")
            .fetch_all(&app.pool)
            .await
            .unwrap();
    assert_eq!(pg.len(), 4 * 15 * 4 - 4 * 5 + 4 * 5);
    let wh: Vec<String> = crate::rows(
        &w,
        "SELECT statement_id FROM silver_statement WHERE NOT voided ORDER BY 1",
    )
    .await
    .into_iter()
    .map(|mut r| r.remove(0))
    .collect();
    assert_eq!(wh, pg);
    assert_eq!(
        value(
            &w,
            "SELECT count(*) - count(DISTINCT statement_id) FROM silver_statement"
        )
        .await,
        "0"
    );
    let pg_facts: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM statements WHERE NOT voided AND voiding_target IS NULL",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(
        value(&w, "SELECT count(*) FROM fact_statement").await,
        pg_facts.to_string()
    );
}

#[tokio::test]
async fn rows_stored_before_the_insert_xid_migration_are_loaded_by_the_first_run_only() {
    let app = spawn_app().await;
    let w = Warehouse::open(&warehouse_path()).unwrap();
    for _ in 0..3 {
        let id = uuid::Uuid::new_v4();
        sqlx::query(
            r#"INSERT INTO statements (store_id, statement_id, stored, "timestamp", verb_iri, statement, insert_xid)
               VALUES (1, $1, now(), now(), 'http://adlnet.gov/expapi/verbs/attempted', $2, NULL)"#,
        )
        .bind(id)
        .bind(sqlx::types::Json(json!({"id": id.to_string(), "actor": {"mbox": "mailto:old@example.com"},
            "verb": {"id": "http://adlnet.gov/expapi/verbs/attempted"}, "object": {"id": "http://example.com/old"}})))
        .execute(&app.pool)
        .await
        .unwrap();
    }
    post_ok(&app, &json!([statement(), statement()])).await;
    // Pages of 2: the legacy rows span two pages before the insert_xid walk starts.
    let small = RunOptions {
        interrupt_before_commit: false,
        chunk_rows: Some(2),
        ..RunOptions::default()
    };
    w.run_with(&app.pool, &small).await.unwrap();
    post_ok(&app, &statement()).await;
    for _ in 0..200 {
        w.run_with(&app.pool, &small).await.unwrap();
        if w.status(&app.pool).await.unwrap().lag_statements == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(
        value(
            &w,
            "SELECT count(*) || '/' || count(DISTINCT statement_id) FROM silver_statement"
        )
        .await,
        "6/6"
    );
    assert_eq!(
        value(
            &w,
            "SELECT count(*) FROM silver_statement WHERE insert_xid IS NULL"
        )
        .await,
        "3"
    );
}

#[tokio::test]
async fn a_run_out_of_memory_under_its_lowered_budget_is_rerun_and_loads_each_statement_once() {
    let app = spawn_app().await;
    let w = Warehouse::open(&warehouse_path()).unwrap();
    let batch: Vec<_> = (0..500).map(|_| statement()).collect();
    post_ok(&app, &json!(batch)).await;
    let tiny = RunOptions {
        budget: Some("1MB"),
        ..RunOptions::default()
    };
    // Runs until all 500 are loaded: a transaction open elsewhere on the PostgreSQL server
    // (other tests) can hold a run's bound back (see `catch_up`).
    let mut loaded = 0;
    for _ in 0..200 {
        let report = w.run_with(&app.pool, &tiny).await.unwrap();
        if report.rows > 0 {
            assert!(report.rerun_under_normal_budget, "{report:?}");
        }
        loaded += report.rows;
        if loaded == 500 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(loaded, 500);
    assert_eq!(
        value(
            &w,
            "SELECT count(*) || ' ' || count(DISTINCT statement_id) FROM silver_statement"
        )
        .await,
        "500 500"
    );
    assert_eq!(
        value(&w, "SELECT current_setting('memory_limit')").await,
        value(&w, "SELECT '244.1 MiB'").await,
        "the normal budget is back"
    );
    let normal = w.run_once(&app.pool).await.unwrap();
    assert!(!normal.rerun_under_normal_budget && normal.rows == 0);
}

#[tokio::test]
async fn capped_runs_load_whole_transactions_each_statement_once_until_none_is_left() {
    let app = spawn_app().await;
    let w = Warehouse::open(&warehouse_path()).unwrap();
    // One PostgreSQL transaction per POST.
    let sizes = [3, 10, 1, 1, 25, 2, 4];
    for n in sizes {
        let batch: Vec<_> = (0..n).map(|_| statement()).collect();
        post_ok(&app, &json!(batch)).await;
    }
    let total: i64 = sizes.iter().sum();
    let capped = RunOptions {
        max_statements: Some(5),
        ..RunOptions::default()
    };
    let mut runs = Vec::new();
    for _ in 0..200 {
        let report = w.run_with(&app.pool, &capped).await.unwrap();
        if report.rows > 0 {
            runs.push(report.rows);
        }
        if runs.iter().sum::<i64>() == total && !report.more_waiting {
            break;
        }
        if !report.more_waiting {
            // A transaction open elsewhere on the server can hold the bound back.
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    assert_eq!(runs.iter().sum::<i64>(), total, "{runs:?}");
    // At most 5 per run, except a transaction of more, loaded whole and alone.
    assert!(
        runs.iter().all(|r| *r <= 5 || *r == 10 || *r == 25),
        "{runs:?}"
    );
    assert!(runs.contains(&10) && runs.contains(&25), "{runs:?}");
    assert_eq!(
        value(
            &w,
            "SELECT count(*) || ' ' || count(DISTINCT statement_id) FROM silver_statement"
        )
        .await,
        format!("{total} {total}")
    );
    let after = w.run_with(&app.pool, &capped).await.unwrap();
    assert!(after.rows == 0 && !after.more_waiting, "{after:?}");
}
