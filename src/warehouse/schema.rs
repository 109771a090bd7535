//! DuckDB DDL: silver tables, the ETL state and the gold views.

use super::extract::{link_columns, statement_columns};
use super::keys;

/// The gold layer (views over silver).
pub const GOLD: &str = include_str!("gold.sql");

/// Gold relations, in the order the data dictionary and the BI copy list them.
pub const GOLD_RELATIONS: &[&str] = &[
    "dim_date",
    "dim_time",
    "dim_actor",
    "dim_actor_pii",
    "dim_verb",
    "dim_activity",
    "dim_course",
    "dim_registration",
    "dim_source",
    "fact_statement",
    "fact_item_response",
    "fact_cmi5_session",
    "fact_registration_au",
    "fact_video_session",
    "fact_daily_activity",
];

fn table(name: &str, cols: &[(&'static str, arrow::datatypes::DataType, &'static str)]) -> String {
    let body: Vec<String> = cols
        .iter()
        .map(|(n, _, t)| format!("    \"{n}\" {t}"))
        .collect();
    format!(
        "CREATE TABLE IF NOT EXISTS {name} (\n{}\n);\n",
        body.join(",\n")
    )
}

/// Whether `silver_statement` exists without `column` (a file from before that column).
fn lacks(c: &duckdb::Connection, column: &str) -> duckdb::Result<bool> {
    Ok(is_table(c, "silver_statement")? && !has(c, column)?)
}

/// Brings a warehouse file written by an older Cairn up to date, one transaction per step; no
/// rebuild needed. New columns are appended (the Arrow appender matches by position).
/// - Schema 2: `course_iri` and `parent_iris`, filled for the rows already loaded from their
///   bridge rows, with the definitions gold used to compute per query (new rows get them from
///   the statement JSON at extract time).
/// - Schema 3: gold's surrogate keys, filled by DuckDB's equivalent of [`keys::key`].
/// - Schema 4: the bridge tables become views; their rows that `silver_statement`'s columns
///   hold are dropped, the others move to `silver_link_activity` / `silver_link_agent`.
/// - Schema 5: `raw_json` (each statement's JSON, verbatim) is dropped. It was 90 % of the
///   file and of what a run wrote, and the statement stays in PostgreSQL (bronze), from which
///   `cairn etl rebuild` reloads silver.
pub fn upgrade(c: &duckdb::Connection) -> duckdb::Result<()> {
    if lacks(c, "course_iri")? {
        c.execute_batch(
            "BEGIN TRANSACTION;
ALTER TABLE silver_statement ADD COLUMN IF NOT EXISTS course_iri VARCHAR;
ALTER TABLE silver_statement ADD COLUMN IF NOT EXISTS parent_iris VARCHAR[];
UPDATE silver_statement s SET
    course_iri = (SELECT min(a.activity_iri) FROM silver_statement_activity a
                  WHERE a.seq = s.seq AND a.usage = 'grouping'
                    AND a.activity_iri NOT LIKE 'https://w3id.org/xapi/cmi5/%'),
    parent_iris = coalesce((SELECT list(a.activity_iri) FROM silver_statement_activity a
                            WHERE a.seq = s.seq AND a.usage = 'parent'), []);
COMMIT;",
        )?;
    }
    if lacks(c, "actor_key")? {
        let columns = [
            ("actor_key", keys::sql(keys::ACTOR_NATURAL_SQL)),
            (
                "activity_key",
                format!(
                    "CASE WHEN object_type = 'Activity' THEN {} END",
                    keys::sql("object_id")
                ),
            ),
            ("course_key", keys::sql("course_iri")),
            ("registration_key", keys::sql("registration")),
            ("source_key", keys::sql(keys::SOURCE_NATURAL_SQL)),
            ("assessment_key", keys::sql("list_min(parent_iris)")),
        ];
        let mut sql = String::from("BEGIN TRANSACTION;\n");
        for (name, _) in &columns {
            sql.push_str(&format!(
                "ALTER TABLE silver_statement ADD COLUMN IF NOT EXISTS {name} BIGINT;\n"
            ));
        }
        let sets: Vec<String> = columns.iter().map(|(n, e)| format!("{n} = {e}")).collect();
        sql.push_str(&format!(
            "UPDATE silver_statement SET {};\nCOMMIT;",
            sets.join(", ")
        ));
        c.execute_batch(&sql)?;
    }
    for (bridge, link, key, derived) in [
        (
            "silver_statement_activity",
            "silver_link_activity",
            "activity_iri",
            DERIVED_ACTIVITY_USAGES,
        ),
        (
            "silver_statement_agent",
            "silver_link_agent",
            "ifi",
            DERIVED_AGENT_USAGES,
        ),
    ] {
        if is_table(c, bridge)? {
            c.execute_batch(&format!(
                "BEGIN TRANSACTION;
CREATE TABLE {link} AS SELECT seq, usage, {key} FROM {bridge} WHERE usage NOT IN ({derived});
DROP TABLE {bridge};
COMMIT;"
            ))?;
        }
    }
    if has(c, "raw_json")? {
        c.execute_batch("ALTER TABLE silver_statement DROP COLUMN raw_json")?;
    }
    Ok(())
}

/// Whether `silver_statement` has `column`.
fn has(c: &duckdb::Connection, column: &str) -> duckdb::Result<bool> {
    let n: i64 = c.query_row(
        "SELECT count(*) FROM duckdb_columns()
         WHERE table_name = 'silver_statement' AND column_name = ?",
        [column],
        |r| r.get(0),
    )?;
    Ok(n > 0)
}

/// Whether `name` is a table (the bridges were tables holding every link row before schema 4).
fn is_table(c: &duckdb::Connection, name: &str) -> duckdb::Result<bool> {
    let n: i64 = c.query_row(
        "SELECT count(*) FROM duckdb_tables() WHERE table_name = ?",
        [name],
        |r| r.get(0),
    )?;
    Ok(n > 0)
}

/// Link rows that `silver_statement` already holds as columns, by bridge: they are not loaded
/// into the link tables but derived from those columns by the bridge views (`BRIDGES`). The
/// columns come from the same JSON with the same rules as PostgreSQL's link rows
/// (`xapi::prepare`: the object's id or IFI, `contextActivities.parent` ids, the actor's and
/// the authority's IFI via `xapi::ifi::key`), so the views give the rows PostgreSQL has.
pub const DERIVED_ACTIVITY_USAGES: &str = "'object', 'parent'";
pub const DERIVED_AGENT_USAGES: &str = "'actor', 'object', 'authority'";

/// The bridges as views: the derived rows and the loaded link rows.
const BRIDGES: &str = "
CREATE OR REPLACE VIEW silver_statement_activity AS
SELECT seq, 'object' AS usage, object_id AS activity_iri FROM silver_statement
WHERE object_type = 'Activity' AND object_id IS NOT NULL
UNION ALL
SELECT seq, 'parent' AS usage, unnest(parent_iris) AS activity_iri FROM silver_statement
UNION ALL
SELECT seq, usage, activity_iri FROM silver_link_activity;

CREATE OR REPLACE VIEW silver_statement_agent AS
SELECT seq, 'actor' AS usage, actor_ifi AS ifi FROM silver_statement WHERE actor_ifi IS NOT NULL
UNION ALL
SELECT seq, 'object' AS usage, object_id AS ifi FROM silver_statement
WHERE object_type IN ('Agent', 'Group') AND object_id IS NOT NULL
UNION ALL
SELECT seq, 'authority' AS usage, authority_ifi AS ifi FROM silver_statement
WHERE authority_ifi IS NOT NULL
UNION ALL
SELECT seq, usage, ifi FROM silver_link_agent;
";

/// Silver tables, the bridge views and the state table. No primary keys: the appender is
/// several times slower with an ART index (research notes A1), and exactly-once comes from
/// the ETL's bound instead.
pub fn silver() -> String {
    let mut sql = String::new();
    sql.push_str(&table("silver_statement", &statement_columns()));
    sql.push_str(&table(
        "silver_link_activity",
        &link_columns("activity_iri"),
    ));
    sql.push_str(&table("silver_link_agent", &link_columns("ifi")));
    sql.push_str(BRIDGES);
    sql.push_str(
        "CREATE TABLE IF NOT EXISTS etl_state (
    id INTEGER,
    xid_bound BIGINT,
    max_seq BIGINT,
    runs BIGINT,
    rows_total BIGINT,
    last_run_at TIMESTAMP,
    last_run_rows BIGINT,
    last_run_ms BIGINT,
    last_error VARCHAR,
    last_error_at TIMESTAMP
);
INSERT INTO etl_state SELECT 1, 0, 0, 0, 0, NULL, 0, 0, NULL, NULL
WHERE NOT EXISTS (SELECT 1 FROM etl_state);
",
    );
    sql
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_from_before_schema_2_is_upgraded_to_schema_5() {
        let dir = crate::warehouse::scratch_dir("upgrade");
        let path = dir.join("warehouse.duckdb");
        {
            let c = duckdb::Connection::open(&path).unwrap();
            // Schema 1 ended with `raw_json` after `language`.
            let mut old: Vec<_> = statement_columns()
                .into_iter()
                .take_while(|(n, _, _)| *n != "course_iri")
                .collect();
            old.push(("raw_json", arrow::datatypes::DataType::Utf8, "VARCHAR"));
            c.execute_batch(&table("silver_statement", &old)).unwrap();
            c.execute_batch(&table(
                "silver_statement_activity",
                &link_columns("activity_iri"),
            ))
            .unwrap();
            c.execute_batch(
                "INSERT INTO silver_statement (seq, voided) VALUES (1, false), (2, false);
                 INSERT INTO silver_statement_activity VALUES
                     (1, 'grouping', 'https://w3id.org/xapi/cmi5/x'), (1, 'grouping', 'http://c/b'),
                     (1, 'grouping', 'http://c/a'), (1, 'parent', 'http://p/1'),
                     (2, 'sub_grouping', 'http://c/z');",
            )
            .unwrap();
        }
        drop(super::super::Warehouse::open(&path).unwrap());
        let c = duckdb::Connection::open(&path).unwrap();
        // The Arrow appender matches by position: the upgraded table has today's columns in
        // today's order.
        let names: Vec<String> = c
            .prepare(
                "SELECT column_name FROM duckdb_columns()
                 WHERE table_name = 'silver_statement' ORDER BY column_index",
            )
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        let expected: Vec<&str> = statement_columns().iter().map(|(n, _, _)| *n).collect();
        assert_eq!(names, expected);
        let rows: Vec<(i64, Option<String>, String)> = c
            .prepare(
                "SELECT seq, course_iri, CAST(parent_iris AS VARCHAR) FROM silver_statement
                 ORDER BY seq",
            )
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(
            rows,
            vec![
                (
                    1,
                    Some("http://c/a".to_string()),
                    "['http://p/1']".to_string()
                ),
                (2, None, "[]".to_string()),
            ]
        );
        type KeyRow = (
            Option<i64>,
            Option<i64>,
            Option<i64>,
            Option<i64>,
            Option<i64>,
        );
        let keys: Vec<KeyRow> = c
            .prepare(
                "SELECT actor_key, activity_key, course_key, source_key, assessment_key
                 FROM silver_statement ORDER BY seq",
            )
            .unwrap()
            .query_map([], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
            })
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        // Schema 4: the bridge is a view again holding every old row, derived or moved.
        let bridge: Vec<(i64, String, String)> = c
            .prepare("SELECT seq, usage, activity_iri FROM silver_statement_activity ORDER BY ALL")
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        let row = |seq: i64, usage: &str, iri: &str| (seq, usage.to_string(), iri.to_string());
        assert_eq!(
            bridge,
            vec![
                row(1, "grouping", "http://c/a"),
                row(1, "grouping", "http://c/b"),
                row(1, "grouping", "https://w3id.org/xapi/cmi5/x"),
                row(1, "parent", "http://p/1"),
                row(2, "sub_grouping", "http://c/z"),
            ]
        );
        let moved: i64 = c
            .query_row("SELECT count(*) FROM silver_link_activity", [], |r| {
                r.get(0)
            })
            .unwrap();
        assert_eq!(moved, 4, "the parent row is derived, not kept");
        let k = |s: &str| Some(keys::key(s));
        assert_eq!(
            keys,
            vec![
                (
                    k("anonymous"),
                    None,
                    k("http://c/a"),
                    k("||"),
                    k("http://p/1")
                ),
                (k("anonymous"), None, None, k("||"), None),
            ]
        );
        drop(c);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
