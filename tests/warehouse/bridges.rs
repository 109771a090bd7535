//! The silver bridges (`silver_statement_activity`, `silver_statement_agent`) hold exactly
//! PostgreSQL's link rows: those the ETL derives from `silver_statement`'s columns (object,
//! parent, actor, authority) and those it loads, for every place an agent or activity can be.

use serde_json::json;

use crate::helpers::spawn_app;
use crate::{catch_up, open_warehouse, post_ok, rows};

fn id() -> String {
    uuid::Uuid::new_v4().to_string()
}

async fn postgres_rows(pool: &sqlx::PgPool, table: &str, key: &str) -> Vec<Vec<String>> {
    let rows: Vec<(i64, String, String)> = sqlx::query_as(&format!(
        "SELECT seq, usage, {key} FROM {table} ORDER BY seq, usage, {key}"
    ))
    .fetch_all(pool)
    .await
    .unwrap();
    rows.into_iter()
        .map(|(s, u, k)| vec![s.to_string(), u, k])
        .collect()
}

#[tokio::test]
async fn the_bridges_hold_exactly_the_link_rows_of_postgresql() {
    let app = spawn_app().await;
    let w = open_warehouse();
    let verb = json!({"id": "http://adlnet.gov/expapi/verbs/experienced"});
    let first = id();
    let batch = json!([
        {   // An identified Group with members, context agents and every context activity list.
            "id": first,
            "actor": {"objectType": "Group", "mbox": "mailto:Team@Example.com",
                      "member": [{"mbox": "mailto:A@example.com"}, {"openid": "http://example.com/b"}]},
            "verb": verb,
            "object": {"id": "http://example.com/activity/1"},
            "context": {
                "instructor": {"account": {"homePage": "http://example.com", "name": "teacher"}},
                "team": {"objectType": "Group", "member": [{"mbox": "mailto:c@example.com"}]},
                "contextActivities": {
                    "parent": [{"id": "http://example.com/parent/1"}, {"id": "http://example.com/parent/0"}],
                    "grouping": [{"id": "http://example.com/course"}],
                    "category": [{"id": "http://example.com/category"}],
                    "other": [{"id": "http://example.com/other"}]}}
        },
        {   // An anonymous Group actor, an Agent object, a parent given as one object (1.0.3).
            "id": id(),
            "actor": {"objectType": "Group", "member": [{"mbox_sha1sum": "ABCDEF0123456789ABCDEF0123456789ABCDEF01"}]},
            "verb": verb,
            "object": {"objectType": "Agent", "mbox": "mailto:object@example.com"},
            "context": {"contextActivities": {"parent": {"id": "http://example.com/parent/2"}}}
        },
        {   // A SubStatement with its own actor, object and context.
            "id": id(),
            "actor": {"mbox": "mailto:a@example.com"},
            "verb": {"id": "http://example.com/verbs/planned"},
            "object": {"objectType": "SubStatement",
                       "actor": {"mbox": "mailto:sub@example.com"},
                       "verb": verb,
                       "object": {"id": "http://example.com/sub/activity"},
                       "context": {"contextActivities": {"parent": [{"id": "http://example.com/sub/parent"}]}}}
        },
        {   // A StatementRef: the target's rows are copied with a target_ usage.
            "id": id(),
            "actor": {"mbox": "mailto:a@example.com"},
            "verb": {"id": "http://example.com/verbs/commented"},
            "object": {"objectType": "StatementRef", "id": first}
        },
        {   // A Group object with members.
            "id": id(),
            "actor": {"mbox": "mailto:a@example.com"},
            "verb": verb,
            "object": {"objectType": "Group", "account": {"homePage": "http://example.com", "name": "g"},
                       "member": [{"mbox": "mailto:d@example.com"}]}
        }
    ]);
    post_ok(&app, &batch).await;
    catch_up(&w, &app.pool).await;

    for (view, table, key) in [
        (
            "silver_statement_activity",
            "statement_activities",
            "activity_iri",
        ),
        ("silver_statement_agent", "statement_agents", "ifi"),
    ] {
        let expected = postgres_rows(&app.pool, table, key).await;
        let loaded = rows(
            &w,
            &format!(
                "SELECT CAST(seq AS VARCHAR), usage, {key} FROM {view} ORDER BY seq, usage, {key}"
            ),
        )
        .await;
        assert_eq!(loaded, expected, "{view}");
    }
    // Every kind of row is there, derived or loaded.
    let usages = rows(
        &w,
        "SELECT string_agg(DISTINCT usage, ',' ORDER BY usage) FROM silver_statement_agent",
    )
    .await;
    assert_eq!(
        usages[0][0],
        "actor,authority,instructor,member,object,sub_actor,target_actor,target_authority,target_instructor,target_member"
    );
}

/// The ETL reads a run's link rows by the `(store_id, seq)` index, not by reading the whole
/// link table, also before any ANALYZE (a new store; `stores` never gets one). Planned on a
/// table of 60,000 rows, as PostgreSQL would plan the run's read of 100 statements.
#[tokio::test]
async fn the_etl_reads_link_rows_by_index_without_statistics() {
    let app = spawn_app().await;
    let store: i64 = sqlx::query_scalar("SELECT id FROM stores")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    for (table, key, derived, usage) in [
        (
            "statement_activities",
            "activity_iri",
            cairn::warehouse::schema::DERIVED_ACTIVITY_USAGES,
            "grouping",
        ),
        (
            "statement_agents",
            "ifi",
            cairn::warehouse::schema::DERIVED_AGENT_USAGES,
            "instructor",
        ),
    ] {
        sqlx::query(&format!(
            "INSERT INTO {table} (store_id, seq, usage, {key})
             SELECT $1, i / 2, CASE WHEN i % 2 = 0 THEN $2 ELSE 'object' END,
                    'http://example.com/' || (i % 97)
             FROM generate_series(1, 60000) AS i"
        ))
        .bind(store)
        .bind(usage)
        .execute(&app.pool)
        .await
        .unwrap();
        let select =
            cairn::warehouse::extract::link_rows_select(table, key, derived, store, 20_000, 20_100);
        let plan: Vec<String> = sqlx::query_scalar(&format!("EXPLAIN {select}"))
            .fetch_all(&app.pool)
            .await
            .unwrap();
        let plan = plan.join("\n");
        // The index range is the store's and the run's, not every store's rows of the range.
        let by_index = plan.lines().any(|l| {
            l.contains(&format!(
                "Index Cond: ((store_id = {store}) AND (seq >= 20000)"
            ))
        });
        assert!(
            by_index && !plan.contains(&format!("Seq Scan on {table}")),
            "{table}: {plan}"
        );
    }
}
