//! Planner statistics on Cairn's tables, kept fresh by the server itself.
//!
//! PostgreSQL plans queries from statistics that `ANALYZE` gathers, normally run by
//! autovacuum. Where autovacuum is off (as on the machine the benchmarks ran on), or has not
//! reached a freshly loaded store yet, the tables have none, and the planner guesses. On a
//! store of 1,075,221 statements without statistics, `GET /statements` filtered by agent took
//! 0.74–1.6 s, by verb 0.66–0.72 s, by activity 1.06–1.10 s; after one `ANALYZE` of the four
//! tables (1.7 s) 8.6, 20 and 7 ms (README, Benchmarks → Ingest, *What PostgreSQL did besides
//! writing*). `cairn serve` therefore checks every minute and analyses a table whose rows
//! changed by more than autovacuum's own default threshold since it was last analysed — by
//! anyone — so with autovacuum on this finds little to do.

use std::time::Duration;

use sqlx::{ConnectOptions, Connection, PgConnection, PgPool};

/// The tables whose statistics the statement queries and writes depend on. Fixed identifiers,
/// never input.
const TABLES: [&str; 6] = [
    "statements",
    "statement_agents",
    "statement_activities",
    "activities",
    "agent_names",
    "documents",
];

/// How often `cairn serve` looks for stale statistics.
pub const CHECK_EVERY: Duration = Duration::from_secs(60);

/// Analyses each of [`TABLES`] that was never analysed and has rows, or whose rows changed
/// since its last analysis by more than 50 + 10 % of its rows (autovacuum's defaults,
/// `autovacuum_analyze_threshold` and `autovacuum_analyze_scale_factor`); returns the tables
/// it analysed.
pub async fn analyse_stale(pool: &PgPool) -> Result<Vec<String>, sqlx::Error> {
    let stale: Vec<String> = sqlx::query_scalar(
        "SELECT relname::text FROM pg_stat_user_tables
         WHERE schemaname = current_schema() AND relname::text = ANY($1::text[])
           AND n_mod_since_analyze > 50 + 0.1 * n_live_tup
         ORDER BY relname",
    )
    .bind(&TABLES[..])
    .fetch_all(pool)
    .await?;
    if stale.is_empty() {
        return Ok(stale);
    }
    // `ANALYZE` of a large table takes seconds by design (1.1 s for `statements` at 1,000,000
    // rows): on a connection of its own it holds none of the requests' pool, and without
    // statement logging it does not trip sqlx's slow-statement warning (this module logs what
    // it analysed).
    let options = (*pool.connect_options())
        .clone()
        .disable_statement_logging();
    let mut conn = PgConnection::connect_with(&options).await?;
    for table in &stale {
        // `table` is one of TABLES (the query above filters on them).
        sqlx::query(&format!("ANALYZE {table}"))
            .execute(&mut conn)
            .await?;
    }
    conn.close().await?;
    Ok(stale)
}

/// Runs [`analyse_stale`] at once (a store loaded before the server started gets its
/// statistics) and then every [`CHECK_EVERY`] until the handle is aborted; failures are
/// logged and retried at the next check.
pub fn spawn(pool: PgPool) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(CHECK_EVERY);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            match analyse_stale(&pool).await {
                Ok(tables) if !tables.is_empty() => {
                    tracing::info!(?tables, "planner statistics refreshed")
                }
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "refreshing planner statistics failed"),
            }
        }
    })
}
