//! DuckDB DDL: silver tables, the ETL state and the gold views.

use super::extract::{link_columns, statement_columns};

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

/// Brings a warehouse file written before silver schema 2 up to date: `course_iri` and
/// `parent_iris` are added to `silver_statement` and filled for the rows already loaded from
/// their bridge rows, with the definitions gold used to compute per query (new rows get them
/// from the statement JSON at extract time). One transaction; no rebuild needed.
pub fn upgrade(c: &duckdb::Connection) -> duckdb::Result<()> {
    let missing: i64 = c.query_row(
        "SELECT count(*) FROM duckdb_tables() WHERE table_name = 'silver_statement'
           AND NOT EXISTS (SELECT 1 FROM duckdb_columns()
                           WHERE table_name = 'silver_statement' AND column_name = 'course_iri')",
        [],
        |r| r.get(0),
    )?;
    if missing == 0 {
        return Ok(());
    }
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
    )
}

/// Silver tables and the state table. No primary keys: the appender is several times slower
/// with an ART index (research notes A1), and exactly-once comes from the ETL's bound instead.
pub fn silver() -> String {
    let mut sql = String::new();
    sql.push_str(&table("silver_statement", &statement_columns()));
    sql.push_str(&table(
        "silver_statement_activity",
        &link_columns("activity_iri"),
    ));
    sql.push_str(&table("silver_statement_agent", &link_columns("ifi")));
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
    fn a_file_from_before_schema_2_gains_course_and_parents_from_its_bridge_rows() {
        let dir = std::env::temp_dir().join(format!("cairn-upgrade-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("warehouse.duckdb");
        {
            let c = duckdb::Connection::open(&path).unwrap();
            let old: Vec<_> = statement_columns()
                .into_iter()
                .filter(|(n, _, _)| !matches!(*n, "course_iri" | "parent_iris"))
                .collect();
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
        drop(c);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
