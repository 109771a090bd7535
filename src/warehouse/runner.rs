//! The ETL loop inside `cairn serve`.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use sqlx::PgPool;

use super::{RunOptions, Warehouse};

/// Statements one run of the server loads at most (`RunOptions::max_statements`); a run that
/// stops there is followed by the next at once. A run holds its statements in DuckDB's
/// transaction until it commits, and the commit adds more: in a Python harness on the same
/// DuckDB 1.5.6 (a warehouse of 682,115 statements from the ingest benchmark, the server's
/// settings), appending and committing 8,000 statements added 58 MB to the process, 16,000
/// 69 MB, 32,000 106 MB and 64,000 157 MB, whatever DuckDB's budget during the commit; the
/// server's runs under the ingest benchmark loaded up to 45,000.
pub const STATEMENTS_PER_RUN: i64 = 10_000;

/// Where and how often the loop publishes the BI copy (`None`: never).
pub struct Publish {
    pub path: PathBuf,
    pub every: Duration,
}

/// Runs the ETL every `interval` (at once again after a run that stopped at
/// [`STATEMENTS_PER_RUN`]) until the returned handle is aborted, publishing the BI copy after a
/// run that loaded something once `publish.every` has passed. Errors are logged and recorded
/// in the warehouse status; the next tick retries.
pub fn spawn(
    warehouse: Arc<Warehouse>,
    pool: PgPool,
    interval: Duration,
    publish: Option<Publish>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(interval);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut last_publish: Option<Instant> = None;
        let mut unpublished = true;
        let options = RunOptions {
            max_statements: Some(STATEMENTS_PER_RUN),
            ..RunOptions::default()
        };
        let mut more_waiting = false;
        loop {
            if !more_waiting {
                tick.tick().await;
            }
            more_waiting = match warehouse.run_with(&pool, &options).await {
                Ok(r) => {
                    if r.rows > 0 {
                        unpublished = true;
                        tracing::info!(
                            rows = r.rows,
                            millis = r.millis,
                            run = r.run_id,
                            rerun_under_normal_budget = r.rerun_under_normal_budget,
                            "etl run"
                        );
                    }
                    r.more_waiting
                }
                Err(e) => {
                    tracing::warn!(error = %e, "etl run failed");
                    false
                }
            };
            if let Some(p) = &publish {
                let due = last_publish.is_none_or(|t| t.elapsed() >= p.every);
                if unpublished && due {
                    match warehouse.publish(&p.path).await {
                        Ok(()) => {
                            unpublished = false;
                            last_publish = Some(Instant::now());
                            tracing::info!(path = %p.path.display(), "published the BI copy");
                        }
                        Err(e) => tracing::warn!(error = %e, "publishing the BI copy failed"),
                    }
                }
            }
        }
    })
}
