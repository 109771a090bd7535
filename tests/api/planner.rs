//! Plans on tables PostgreSQL has no statistics for: a batch's lookups by key
//! (`store::each_key`) read only the rows they find, and `store::statistics` analyses tables
//! whose statistics are missing or stale.

use std::time::Duration;

use cairn::store::each_key;
use cairn::store::statistics::analyse_stale;
use serde_json::Value;
use sqlx::PgConnection;
use uuid::Uuid;

use crate::helpers::spawn_app;

/// Writes `n` statement rows straight into the table (seq 1 to `n`, every tenth one a
/// StatementRef), as a store loaded in bulk would have them.
async fn insert_statement_rows(conn: &mut PgConnection, n: i64) {
    sqlx::query(
        r#"INSERT INTO statements (store_id, seq, statement_id, stored, "timestamp", verb_iri,
                                  statement_ref, statement)
           OVERRIDING SYSTEM VALUE
           SELECT 1, g, gen_random_uuid(), now(), now(), 'http://example.com/verbs/' || g % 7,
                  CASE WHEN g % 10 = 0 THEN gen_random_uuid() END, '{}'
           FROM generate_series(1, $1) AS g"#,
    )
    .bind(n)
    .execute(conn)
    .await
    .unwrap();
}

/// Rows that each scan of `table` in an `EXPLAIN (ANALYZE, FORMAT JSON)` plan read: the rows
/// it returned over all its loops, and those its filter or recheck removed.
fn rows_read(node: &Value, table: &str) -> f64 {
    let own = if node["Relation Name"] == table || node["Node Type"] == "Bitmap Index Scan" {
        let number = |key: &str| node[key].as_f64().unwrap_or(0.0);
        number("Actual Rows") * number("Actual Loops").max(1.0)
            + number("Rows Removed by Filter")
            + number("Rows Removed by Index Recheck")
    } else {
        0.0
    };
    let children: f64 = node["Plans"]
        .as_array()
        .map(|plans| plans.iter().map(|p| rows_read(p, table)).sum())
        .unwrap_or(0.0);
    own + children
}

/// On a store PostgreSQL has no statistics for yet (a new store, or autovacuum off), a
/// lookup of a thousand keys must still probe an index per key. Written as
/// `WHERE key = ANY($2)`, the planner read every row of the store and filtered them.
#[tokio::test]
async fn batch_lookups_read_only_matching_rows_without_table_statistics() {
    let app = spawn_app().await;
    // 50,000 statements and activities written straight into the tables and never analysed.
    insert_statement_rows(&mut app.pool.acquire().await.unwrap(), 50_000).await;
    sqlx::query(
        "INSERT INTO activities (store_id, activity_iri, definition)
         SELECT 1, 'http://example.com/activities/' || g, '{}' FROM generate_series(1, 50000) AS g",
    )
    .execute(&app.pool)
    .await
    .unwrap();
    let analysed: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM pg_stats WHERE tablename IN ('statements', 'activities')",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(
        analysed, 0,
        "the tables must have no statistics for this test"
    );

    let ids: Vec<Uuid> = (0..1000).map(|_| Uuid::new_v4()).collect();
    let iris: Vec<String> = (0..1000)
        .map(|i| format!("http://example.com/activities/{}", i * 37))
        .collect();
    for (table, key_type, condition) in [
        ("statements", "uuid", "statement_id = k.key"),
        ("statements", "uuid", "statement_ref = k.key"),
        ("activities", "text", "activity_iri = k.key"),
    ] {
        let sql = format!(
            "EXPLAIN (ANALYZE, FORMAT JSON) {}",
            each_key("1", table, key_type, condition)
        );
        let query = sqlx::query_scalar::<_, Value>(&sql).bind(1_i64);
        let query = if key_type == "uuid" {
            query.bind(&ids)
        } else {
            query.bind(&iris)
        };
        let plan = query.fetch_one(&app.pool).await.unwrap();
        let read = rows_read(&plan[0]["Plan"], table);
        assert!(
            read <= 1000.0,
            "{table} where {condition}: {read} rows read for 1,000 keys: {plan:#}"
        );
    }
}

/// A table written to since it was last analysed (here: never) is analysed once; a second
/// check finds nothing to do.
#[tokio::test]
async fn tables_with_missing_statistics_are_analysed_once() {
    let app = spawn_app().await;
    let mut conn = app.pool.acquire().await.unwrap();
    insert_statement_rows(&mut conn, 5_000).await;
    // A backend reports its row counts to the statistics system when it is idle, at most
    // once a second; this asks for the report at once.
    sqlx::query("SELECT pg_stat_force_next_flush()")
        .execute(&mut *conn)
        .await
        .unwrap();
    drop(conn);
    let mut analysed = Vec::new();
    for _ in 0..50 {
        analysed = analyse_stale(&app.pool).await.unwrap();
        if analysed.iter().any(|t| t == "statements") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        analysed.iter().any(|t| t == "statements"),
        "statements not analysed: {analysed:?}"
    );
    let columns: i64 =
        sqlx::query_scalar("SELECT count(*) FROM pg_stats WHERE tablename = 'statements'")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert!(
        columns > 0,
        "no statistics on statements after the analysis"
    );
    let again = analyse_stale(&app.pool).await.unwrap();
    assert!(
        !again.iter().any(|t| t == "statements"),
        "statements analysed again: {again:?}"
    );
}
