//! Warehouse tests: statements stored over HTTP, the ETL run, gold rows asserted in DuckDB.

#[path = "../helpers/mod.rs"]
mod helpers;

mod bi;
mod bridges;
mod cmi5;
mod exactly_once;
mod quiz_video;
mod reports;
mod sql;
mod status;

use std::path::PathBuf;
use std::sync::Arc;

use cairn::warehouse::Warehouse;
use helpers::TestApp;

/// A warehouse file in a fresh temporary directory.
pub fn warehouse_path() -> PathBuf {
    std::env::temp_dir()
        .join(format!("cairn-wh-{}", uuid::Uuid::new_v4().simple()))
        .join("warehouse.duckdb")
}

pub fn open_warehouse() -> Arc<Warehouse> {
    Arc::new(Warehouse::open(&warehouse_path()).expect("open warehouse"))
}

/// Runs `sql` in the warehouse and returns every row as strings (NULL → "NULL").
pub async fn rows(w: &Warehouse, sql: &str) -> Vec<Vec<String>> {
    let sql = sql.to_string();
    w.with_conn(move |c| {
        let mut stmt = c.prepare(&sql)?;
        let mut out = Vec::new();
        let mut rs = stmt.query([])?;
        while let Some(r) = rs.next()? {
            let n = r.as_ref().column_count();
            let mut row = Vec::new();
            for i in 0..n {
                let v: duckdb::types::Value = r.get(i)?;
                row.push(match v {
                    duckdb::types::Value::Null => "NULL".to_string(),
                    duckdb::types::Value::Text(s) => s,
                    duckdb::types::Value::Boolean(b) => b.to_string(),
                    duckdb::types::Value::Double(d) => format!("{d}"),
                    duckdb::types::Value::BigInt(i) => i.to_string(),
                    duckdb::types::Value::Int(i) => i.to_string(),
                    duckdb::types::Value::HugeInt(i) => i.to_string(),
                    other => format!("{other:?}"),
                });
            }
            out.push(row);
        }
        Ok(out)
    })
    .await
    .expect("warehouse query")
}

/// One value.
pub async fn value(w: &Warehouse, sql: &str) -> String {
    rows(w, sql).await.remove(0).remove(0)
}

pub async fn post_ok(app: &TestApp, body: &serde_json::Value) {
    let r = app.post_statements(helpers::V2, body).await;
    let status = r.status();
    assert!(status.is_success(), "{status}: {}", r.text().await.unwrap());
}

/// Runs the ETL until PostgreSQL has nothing committed that is not loaded. A statement
/// committed a moment ago can wait for a run or two: transactions still open anywhere on the
/// server (other tests') hold the exactly-once bound back until they end.
pub async fn catch_up(w: &Warehouse, pool: &sqlx::PgPool) {
    for _ in 0..200 {
        w.run_once(pool).await.unwrap();
        if w.status(pool).await.unwrap().lag_statements == 0 {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("the ETL did not catch up");
}

/// `spawn_app` with a warehouse owned by the server (no loop: the test drives the runs).
pub async fn spawn_app_with_warehouse(w: Arc<Warehouse>) -> TestApp {
    helpers::spawn_app_owning(|_| {}, Some(w)).await
}
