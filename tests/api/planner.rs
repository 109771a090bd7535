//! Plans on tables PostgreSQL has no statistics for: a batch's lookups by key
//! (`store::each_key`) read only the rows they find, the write path's generic plans
//! (`store::write_pool`) made on empty tables read no table whole once it has grown, and
//! `store::statistics` analyses tables whose statistics are missing or stale.

use std::time::Duration;

use cairn::store::each_key;
use cairn::store::statistics::analyse_stale;
use reqwest::StatusCode;
use serde_json::{json, Value};
use sqlx::{Connection, PgConnection};
use uuid::Uuid;

use crate::helpers::{spawn_app, spawn_app_with_connections, statement, TestApp, V2};

/// Writes `n` statement rows straight into the table (seq 1 to `n`, every tenth one a
/// StatementRef), as a store loaded in bulk would have them.
async fn insert_statement_rows(conn: &mut PgConnection, n: i64) {
    insert_statement_rows_from(conn, 1, n).await;
}

/// [`insert_statement_rows`] with seq `first` to `first + n - 1`.
async fn insert_statement_rows_from(conn: &mut PgConnection, first: i64, n: i64) {
    sqlx::query(
        r#"INSERT INTO statements (store_id, seq, statement_id, stored, "timestamp", verb_iri,
                                  statement_ref, statement)
           OVERRIDING SYSTEM VALUE
           SELECT 1, g, gen_random_uuid(), now(), now(), 'http://example.com/verbs/' || g % 7,
                  CASE WHEN g % 10 = 0 THEN gen_random_uuid() END, '{}'
           FROM generate_series($1, $1 + $2 - 1) AS g"#,
    )
    .bind(first)
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

/// The tables the write path reads or writes, none of which a write may read whole.
const WRITTEN_TABLES: [&str; 5] = [
    "statements",
    "statement_agents",
    "statement_activities",
    "activities",
    "agent_names",
];

/// Rows read from each of [`WRITTEN_TABLES`] so far, by sequential scans and by index scans
/// (a bitmap scan on `store_id` alone reads the whole store too), and the rows inserted into
/// `statements` (to tell when a backend's counts have arrived).
async fn table_reads(conn: &mut PgConnection) -> (Vec<(String, i64)>, i64) {
    let rows: Vec<(String, i64, i64)> = sqlx::query_as(
        "SELECT relname::text, seq_tup_read + coalesce(idx_tup_fetch, 0), n_tup_ins
         FROM pg_stat_user_tables
         WHERE relname = ANY($1) ORDER BY relname",
    )
    .bind(&WRITTEN_TABLES[..])
    .fetch_all(conn)
    .await
    .unwrap();
    let inserted = rows
        .iter()
        .find(|(t, _, _)| t == "statements")
        .map_or(0, |r| r.2);
    (
        rows.into_iter().map(|(t, read, _)| (t, read)).collect(),
        inserted,
    )
}

/// One write of every kind the write path has but attachments (whose insert reads no table),
/// `round` making its ids and activities new:
/// a batch holding a statement (with a new activity definition and agent name) and a
/// StatementRef to it; a StatementRef to a statement stored earlier; a voiding statement; a
/// changed definition; a StatementRef to a statement not stored yet, then that statement; a
/// batch of three plain statements; a batch of 150 (written with `COPY`); the same statement
/// again (accepted as equivalent). Returns how many statements were stored.
async fn write_every_kind(app: &TestApp, round: usize) -> i64 {
    let activity = format!("http://example.com/activities/round-{round}");
    let first = Uuid::new_v4().to_string();
    let later = Uuid::new_v4().to_string();
    let mut s = statement();
    s["id"] = json!(first);
    s["actor"]["mbox"] = json!(format!("mailto:round-{round}@example.com"));
    s["object"] = json!({"id": activity, "definition": {"name": {"en": "Round"}}});
    let reference = |target: &str| {
        let mut r = statement();
        r["object"] = json!({"objectType": "StatementRef", "id": target});
        r
    };
    let posts = [
        json!([s.clone(), reference(&first)]),
        reference(&first),
        json!({
            "actor": statement()["actor"].clone(),
            "verb": {"id": "http://adlnet.gov/expapi/verbs/voided"},
            "object": {"objectType": "StatementRef", "id": first}
        }),
        {
            let mut changed = statement();
            changed["object"] = json!({"id": activity, "definition": {
                "name": {"en": "Round"}, "description": {"en": "changed"}}});
            changed
        },
        reference(&later),
        {
            let mut target = statement();
            target["id"] = json!(later);
            target
        },
        json!([statement(), statement(), statement()]),
        Value::Array(
            (0..150)
                .map(|i| {
                    let mut b = statement();
                    b["object"] = json!({"id": format!("{activity}/item/{i}")});
                    b
                })
                .collect(),
        ),
    ];
    let mut stored = 0;
    for body in &posts {
        let response = app.post_statements(V2, body).await;
        assert_eq!(response.status(), StatusCode::OK, "{body}");
        stored += body.as_array().map_or(1, Vec::len) as i64;
    }
    let again = app.put_statement(V2, &first, &s).await;
    assert_eq!(again.status(), StatusCode::NO_CONTENT);
    stored
}

/// The write path keeps one generic plan per query (`store::write_pool`). Plans a backend
/// made while the tables were empty must still read only the rows they touch once the
/// tables hold 50,000 rows that PostgreSQL has no statistics for: an `UPDATE … FROM UNNEST`
/// planned generically on an empty table reads the whole store at every later execution.
#[tokio::test]
async fn writes_planned_on_empty_tables_read_no_table_whole_once_it_has_grown() {
    // One connection: every request meets the plans this backend cached in the first round.
    let app = spawn_app_with_connections(1).await;
    let mut conn = PgConnection::connect(&app.db.url).await.unwrap();
    for table in WRITTEN_TABLES {
        // No ANALYZE may replace the plans with ones made from statistics.
        sqlx::query(&format!(
            "ALTER TABLE {table} SET (autovacuum_enabled = false)"
        ))
        .execute(&mut conn)
        .await
        .unwrap();
    }
    let mut stored = write_every_kind(&app, 1).await;

    const GROWN: i64 = 50_000;
    insert_statement_rows_from(&mut conn, 1_000_000, GROWN).await;
    for (sql, table) in [
        (
            "INSERT INTO statement_agents (store_id, seq, usage, ifi)
             SELECT 1, 1000000 + g, 'actor', 'mbox:mailto:' || g || '@example.com'
             FROM generate_series(0, $1 - 1) AS g",
            "statement_agents",
        ),
        (
            "INSERT INTO statement_activities (store_id, seq, usage, activity_iri)
             SELECT 1, 1000000 + g, 'object', 'http://example.com/bulk/' || g
             FROM generate_series(0, $1 - 1) AS g",
            "statement_activities",
        ),
        (
            "INSERT INTO activities (store_id, activity_iri, definition)
             SELECT 1, 'http://example.com/bulk/' || g, '{}' FROM generate_series(0, $1 - 1) AS g",
            "activities",
        ),
        (
            "INSERT INTO agent_names (store_id, ifi, name)
             SELECT 1, 'mbox:mailto:' || g || '@example.com', 'Bulk'
             FROM generate_series(0, $1 - 1) AS g",
            "agent_names",
        ),
    ] {
        sqlx::query(sql)
            .bind(GROWN)
            .execute(&mut conn)
            .await
            .unwrap_or_else(|e| panic!("{table}: {e}"));
    }
    sqlx::query("SELECT pg_stat_force_next_flush()")
        .execute(&mut conn)
        .await
        .unwrap();
    // Wait until the first round's inserts are all counted.
    let before = counted_reads(&mut conn, stored + GROWN).await;

    stored += write_every_kind(&app, 2).await;
    let after = counted_reads(&mut conn, stored + GROWN).await;
    let read_whole: Vec<String> = before
        .iter()
        .zip(&after)
        .filter(|((_, was), (_, now))| now - was >= 1_000)
        .map(|((table, was), (_, now))| format!("{table}: {} rows", now - was))
        .collect();
    assert!(
        read_whole.is_empty(),
        "the second round's writes read whole tables: {read_whole:?}"
    );
}

/// [`table_reads`] once `statements`' insert count has reached `inserted`: an idle backend
/// reports its counts within about a second.
async fn counted_reads(conn: &mut PgConnection, inserted: i64) -> Vec<(String, i64)> {
    for _ in 0..100 {
        let (reads, counted) = table_reads(conn).await;
        if counted >= inserted {
            return reads;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the app's backend did not report its {inserted} inserted statements");
}

/// The write path's pool keeps generic plans while the pool beside it plans every execution
/// (`store::write_pool` appends its setting to the pool's own start-up options).
#[tokio::test]
async fn the_write_pool_keeps_generic_plans_beside_a_pool_that_plans_each_execution() {
    let app = spawn_app().await;
    let writes = cairn::store::write_pool(&app.pool);
    let mode = |pool| async move {
        sqlx::query_scalar::<_, String>("SHOW plan_cache_mode")
            .fetch_one(pool)
            .await
            .unwrap()
    };
    assert_eq!(mode(&app.pool).await, "force_custom_plan");
    assert_eq!(mode(&writes).await, "force_generic_plan");
}
