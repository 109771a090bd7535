//! The ETL loop inside `cairn serve`.

use std::sync::Arc;
use std::time::Duration;

use sqlx::PgPool;

use super::Warehouse;

/// Runs the ETL every `interval` until the returned handle is aborted. Errors are logged and
/// recorded in the warehouse status; the next tick retries.
pub fn spawn(
    warehouse: Arc<Warehouse>,
    pool: PgPool,
    interval: Duration,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(interval);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            match warehouse.run_once(&pool).await {
                Ok(r) if r.rows > 0 => {
                    tracing::info!(rows = r.rows, millis = r.millis, run = r.run_id, "etl run")
                }
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "etl run failed"),
            }
        }
    })
}
