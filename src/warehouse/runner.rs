//! The ETL loop inside `cairn serve`.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use sqlx::PgPool;

use super::Warehouse;

/// Where and how often the loop publishes the BI copy (`None`: never).
pub struct Publish {
    pub path: PathBuf,
    pub every: Duration,
}

/// Runs the ETL every `interval` until the returned handle is aborted, publishing the BI copy
/// after a run that loaded something once `publish.every` has passed. Errors are logged and
/// recorded in the warehouse status; the next tick retries.
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
        loop {
            tick.tick().await;
            match warehouse.run_once(&pool).await {
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
                }
                Err(e) => tracing::warn!(error = %e, "etl run failed"),
            }
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
