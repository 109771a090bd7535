//! Ad-hoc SQL for analysts (`POST /api/v1/sql`): one read-only SELECT over the gold layer.
//!
//! DuckDB's own parser decides what the text is: `json_serialize_sql` serializes SELECT
//! statements only, so anything else (COPY, ATTACH, INSTALL, LOAD, PRAGMA, SET, DDL, DML) is
//! refused before it runs, and so is more than one statement. The serialized tree is then
//! walked: every table it reads must be a gold relation or a CTE of the query itself, and
//! every table function must be a pure generator (`range`, `generate_series`, `unnest`), which
//! shuts out file and network readers (`read_csv`, `read_text`, `glob`, replacement scans of
//! `'/etc/passwd'`, `query_table`, …). The query then runs on a reader connection with a time
//! limit (DuckDB's interrupt), a row limit and a result-size limit, under the warehouse's
//! memory limit.

use std::time::Duration;

use serde_json::Value;

use super::reports::{in_snapshot, Freshness, Table};
use super::schema::GOLD_RELATIONS;
use super::{Warehouse, WarehouseError};

/// Limits on one ad-hoc query.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub max_query_bytes: usize,
    pub timeout: Duration,
    pub max_rows: usize,
    pub max_result_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_query_bytes: 20_000,
            timeout: Duration::from_secs(10),
            max_rows: 100_000,
            max_result_bytes: 64 * 1024 * 1024,
        }
    }
}

/// Why a query was refused or stopped; each says what to change.
#[derive(Debug, thiserror::Error)]
pub enum SqlError {
    #[error("{0}")]
    Refused(String),
    #[error("the query ran longer than the time limit of {0:?} and was cancelled")]
    TimedOut(Duration),
    #[error("the result has more than {0} rows; add a LIMIT or aggregate")]
    TooManyRows(usize),
    #[error("the result is larger than {0} bytes; select fewer columns or rows")]
    TooLarge(usize),
    #[error("the query needs more memory than the warehouse allows: {0}")]
    OutOfMemory(String),
    #[error("the query failed: {0}")]
    Failed(String),
    #[error(transparent)]
    Warehouse(#[from] WarehouseError),
}

/// Table functions that read nothing from outside the query.
const ALLOWED_TABLE_FUNCTIONS: &[&str] = &["range", "generate_series", "unnest"];

/// Relations a query may read: the gold layer without the personal data kept apart
/// (`dim_actor_pii`), as in the BI copy.
fn readable(name: &str) -> bool {
    name != "dim_actor_pii" && GOLD_RELATIONS.contains(&name)
}

/// Checks the query with DuckDB's parser (see the module docs).
pub fn check(c: &duckdb::Connection, sql: &str, limits: &Limits) -> Result<(), SqlError> {
    if sql.trim().is_empty() {
        return Err(SqlError::Refused("the query is empty".into()));
    }
    if sql.len() > limits.max_query_bytes {
        return Err(SqlError::Refused(format!(
            "the query is {} bytes long; the limit is {}",
            sql.len(),
            limits.max_query_bytes
        )));
    }
    let tree: String = c
        .query_row("SELECT json_serialize_sql(?::VARCHAR)", [sql], |r| r.get(0))
        .map_err(|e| SqlError::Failed(e.to_string()))?;
    let tree: Value = serde_json::from_str(&tree)
        .map_err(|e| SqlError::Failed(format!("cannot read the parse tree: {e}")))?;
    if tree["error"].as_bool() == Some(true) {
        let message = tree["error_message"].as_str().unwrap_or("not a SELECT");
        return Err(SqlError::Refused(format!(
            "only one read-only SELECT statement is allowed ({message})"
        )));
    }
    let statements = tree["statements"].as_array().map_or(0, Vec::len);
    if statements != 1 {
        return Err(SqlError::Refused(format!(
            "exactly one SELECT statement is allowed; found {statements}"
        )));
    }
    let mut ctes = Vec::new();
    collect_ctes(&tree, &mut ctes);
    walk(&tree, &ctes)
}

fn collect_ctes(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Object(o) => {
            if let Some(map) = o.get("cte_map").and_then(|m| m["map"].as_array()) {
                out.extend(
                    map.iter()
                        .filter_map(|e| e["key"].as_str())
                        .map(str::to_lowercase),
                );
            }
            o.values().for_each(|x| collect_ctes(x, out));
        }
        Value::Array(a) => a.iter().for_each(|x| collect_ctes(x, out)),
        _ => {}
    }
}

fn walk(v: &Value, ctes: &[String]) -> Result<(), SqlError> {
    match v {
        Value::Object(o) => {
            match o.get("type").and_then(Value::as_str) {
                Some("BASE_TABLE") => {
                    let name = o["table_name"].as_str().unwrap_or("").to_lowercase();
                    let schema = o["schema_name"].as_str().unwrap_or("");
                    let catalog = o["catalog_name"].as_str().unwrap_or("");
                    let qualified = !schema.is_empty() || !catalog.is_empty();
                    let main = schema.is_empty() || schema == "main";
                    if !(main
                        && catalog.is_empty()
                        && (readable(&name) || (!qualified && ctes.contains(&name))))
                    {
                        return Err(SqlError::Refused(format!(
                            "the query may only read the gold relations ({}); `{}` is not one",
                            GOLD_RELATIONS
                                .iter()
                                .filter(|r| readable(r))
                                .copied()
                                .collect::<Vec<_>>()
                                .join(", "),
                            [catalog, schema, &name]
                                .iter()
                                .filter(|p| !p.is_empty())
                                .copied()
                                .collect::<Vec<_>>()
                                .join(".")
                        )));
                    }
                }
                Some("TABLE_FUNCTION") => {
                    let name = o["function"]["function_name"]
                        .as_str()
                        .unwrap_or("")
                        .to_lowercase();
                    if !ALLOWED_TABLE_FUNCTIONS.contains(&name.as_str()) {
                        return Err(SqlError::Refused(format!(
                            "table function `{name}` is not allowed; only {} are",
                            ALLOWED_TABLE_FUNCTIONS.join(", ")
                        )));
                    }
                }
                _ => {}
            }
            o.values().try_for_each(|x| walk(x, ctes))
        }
        Value::Array(a) => a.iter().try_for_each(|x| walk(x, ctes)),
        _ => Ok(()),
    }
}

/// A query's result and the warehouse state it was read from.
#[derive(Debug)]
pub struct SqlResult {
    pub table: Table,
    pub freshness: Freshness,
}

fn classify(e: duckdb::Error, limits: &Limits) -> SqlError {
    let text = e.to_string();
    if text.contains("INTERRUPT") || text.contains("Interrupted") {
        SqlError::TimedOut(limits.timeout)
    } else if text.contains("Out of Memory") || text.contains("out of memory") {
        SqlError::OutOfMemory(text)
    } else {
        SqlError::Failed(text)
    }
}

impl Warehouse {
    /// Checks and runs one ad-hoc SELECT (see the module docs).
    pub async fn query_sql(&self, sql: String, limits: Limits) -> Result<SqlResult, SqlError> {
        self.with_reader(move |c| {
            Ok(check(c, &sql, &limits)
                .and_then(|()| in_snapshot(c, |freshness| run(c, &sql, &limits, freshness))))
        })
        .await?
    }
}

/// Runs a checked query under the limits.
fn run(
    c: &duckdb::Connection,
    sql: &str,
    limits: &Limits,
    freshness: Freshness,
) -> Result<SqlResult, SqlError> {
    // The text parsed as exactly one SELECT, so it can stand as a subquery; the newlines keep
    // a trailing line comment from swallowing the closing parenthesis.
    let body = sql.trim().trim_end_matches(';');
    let wrapped = format!("SELECT * FROM (\n{body}\n) LIMIT {}", limits.max_rows + 1);
    let interrupt = c.interrupt_handle();
    let (done_tx, done_rx) = std::sync::mpsc::channel::<()>();
    let timeout = limits.timeout;
    let watchdog = std::thread::spawn(move || {
        if done_rx.recv_timeout(timeout).is_err() {
            interrupt.interrupt();
        }
    });
    let fetched = Table::query(c, &wrapped, []);
    let _ = done_tx.send(());
    let _ = watchdog.join();
    let table = fetched.map_err(|e| classify(e, limits))?;
    if table.rows() > limits.max_rows {
        return Err(SqlError::TooManyRows(limits.max_rows));
    }
    let bytes: usize = table
        .batches
        .iter()
        .map(|b| b.get_array_memory_size())
        .sum();
    if bytes > limits.max_result_bytes {
        return Err(SqlError::TooLarge(limits.max_result_bytes));
    }
    Ok(SqlResult { table, freshness })
}
