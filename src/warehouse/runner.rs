//! The ETL loop inside `cairn serve`.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use sqlx::PgPool;

use super::{RunOptions, Warehouse};

/// Statements one run of the server loads at most (`RunOptions::max_statements`); a run that
/// stops there is followed by the next at once, or after a pause while clients write
/// ([`catch_up`]). A run holds its statements in DuckDB's transaction until it commits, and
/// the commit adds more: in a Python harness on the same DuckDB 1.5.6 (a warehouse of 682,115
/// statements from the ingest benchmark, the server's settings), appending and committing
/// 8,000 statements added 58 MB to the process, 16,000 69 MB, 32,000 106 MB and 64,000
/// 157 MB, whatever DuckDB's budget during the commit; the server's runs under the ingest
/// benchmark loaded up to 45,000.
pub const STATEMENTS_PER_RUN: i64 = 10_000;

/// Client writes per second from which a catch-up gives way to them ([`catch_up`]).
pub const GIVE_WAY_FROM: f64 = 50.0;

/// Statements per second a catch-up loads beyond twice the clients' rate while it gives way.
pub const CATCH_UP_FLOOR: f64 = 1_000.0;

/// The size of the next catch-up run, and the statements per second the catch-up may load
/// (`None`: as fast as it can), while clients write `rate` statements per second.
///
/// A catch-up (a backlog of more than one run, after a burst of writes) loaded 10,000
/// statements per run, back to back, while the server was serving writes again; that doubled
/// the CPU load of the machine for seconds (the warehouse at 100–130 % of a core, its
/// PostgreSQL backend beside it) and single writes waited: in the ingest benchmark, PUTs at
/// 500/s right after the batch scenarios had a p99 of 17–136 ms, and of 6.6 ms with the
/// warehouse off. So while clients write, a catch-up loads at most twice their rate plus
/// [`CATCH_UP_FLOOR`], in runs of a quarter of a second's worth followed by a pause: it still
/// outpaces them (the backlog shrinks by at least their rate plus the floor each second), and
/// what it takes of the machine at any moment is small. Without writes it runs at full speed.
pub fn catch_up(rate: f64) -> (i64, Option<f64>) {
    if rate < GIVE_WAY_FROM {
        return (STATEMENTS_PER_RUN, None);
    }
    let per_second = 2.0 * rate + CATCH_UP_FLOOR;
    let run = ((per_second / 4.0) as i64).clamp(100, STATEMENTS_PER_RUN);
    (run, Some(per_second))
}

/// How long a paced catch-up run of `rows` statements lasts at least: the rest is a pause.
fn paced(rows: i64, per_second: Option<f64>) -> Duration {
    per_second.map_or(Duration::ZERO, |p| {
        Duration::from_secs_f64(rows.max(0) as f64 / p)
    })
}

/// The clients' write rate between two looks at the warehouse's count of their writes.
#[derive(Default)]
struct WriteRate {
    last: Option<(Instant, u64)>,
}

impl WriteRate {
    /// Statements per second written since the previous call (0 at the first).
    fn since_last(&mut self, now: Instant, writes: u64) -> f64 {
        let rate = match self.last {
            Some((then, before)) if now > then => {
                writes.saturating_sub(before) as f64 / (now - then).as_secs_f64()
            }
            _ => 0.0,
        };
        self.last = Some((now, writes));
        rate
    }
}

/// Where and how often the loop publishes the BI copy (`None`: never).
pub struct Publish {
    pub path: PathBuf,
    pub every: Duration,
}

/// Runs the ETL every `interval` (again after a run that stopped at its cap: at once, or
/// after the pause of [`catch_up`] while clients write) until the returned handle is
/// aborted, publishing the BI copy after a run that loaded something once `publish.every`
/// has passed. Errors are logged and recorded in the warehouse status; the next tick retries.
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
        let mut rate = WriteRate::default();
        let mut more_waiting = false;
        loop {
            if !more_waiting {
                tick.tick().await;
            }
            let started = Instant::now();
            // A run that follows a tick loads up to the cap at once; a catch-up gives way.
            let clients = rate.since_last(started, warehouse.client_writes());
            let (max_statements, per_second) = if more_waiting {
                catch_up(clients)
            } else {
                (STATEMENTS_PER_RUN, None)
            };
            let mut least = Duration::ZERO;
            let options = RunOptions {
                max_statements: Some(max_statements),
                ..RunOptions::default()
            };
            more_waiting = match warehouse.run_with(&pool, &options).await {
                Ok(r) => {
                    // Whole transactions load together, so a run can load more than its cap.
                    least = paced(r.rows, per_second);
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
            if more_waiting {
                tokio::time::sleep_until((started + least).into()).await;
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_catch_up_runs_at_full_speed_without_client_writes() {
        assert_eq!(catch_up(0.0), (STATEMENTS_PER_RUN, None));
        assert_eq!(catch_up(GIVE_WAY_FROM - 1.0), (STATEMENTS_PER_RUN, None));
        assert_eq!(paced(10_000, None), Duration::ZERO);
    }

    #[test]
    fn a_catch_up_loads_twice_the_clients_rate_plus_the_floor_in_quarter_seconds() {
        // 500 PUTs/s: 2,000 statements/s, in runs of 500 that last at least 0.25 s; a run
        // that loaded a whole batch of 1,000 lasts at least 0.5 s.
        let (run, per_second) = catch_up(500.0);
        assert_eq!((run, per_second), (500, Some(2_000.0)));
        assert_eq!(paced(500, per_second), Duration::from_millis(250));
        assert_eq!(paced(1_000, per_second), Duration::from_millis(500));
        // Under batch ingest, a quarter second's worth, up to the cap.
        assert_eq!(catch_up(10_000.0), (5_250, Some(21_000.0)));
        assert_eq!(catch_up(50_000.0), (STATEMENTS_PER_RUN, Some(101_000.0)));
        // The backlog always shrinks: more is loaded per second than clients write.
        for rate in [GIVE_WAY_FROM, 100.0, 500.0, 2_000.0, 50_000.0] {
            let (run, per_second) = catch_up(rate);
            let loaded_per_second = run as f64 / paced(run, per_second).as_secs_f64();
            assert!(loaded_per_second >= rate + CATCH_UP_FLOOR - 1e-6, "{rate}");
        }
    }

    #[test]
    fn the_write_rate_is_measured_between_looks() {
        let mut rate = WriteRate::default();
        let t = Instant::now();
        assert_eq!(rate.since_last(t, 1_000), 0.0);
        assert_eq!(rate.since_last(t + Duration::from_secs(2), 2_000), 500.0);
        assert_eq!(rate.since_last(t + Duration::from_secs(3), 2_000), 0.0);
    }
}
