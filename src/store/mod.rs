//! PostgreSQL, the system of record: one module per resource, bound parameters only.

pub mod attachments;
pub mod copy_in;
pub mod credentials;
pub mod definitions;
pub mod documents;
pub mod statement_queries;
pub mod statements;
pub mod statistics;
pub mod write_order;

use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{PgPool, Postgres, Transaction};

/// The migrations under `migrations/`, embedded in the binary.
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// The single store (tenant) every row belongs to until multi-store configuration arrives.
pub const DEFAULT_STORE: i64 = 1;

/// What the store reports to the API layer.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error")]
    Database(#[from] sqlx::Error),
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
}

/// Opens a pool, retrying while the server is still starting (the managed cluster, CI's server).
pub async fn connect(url: &str, max_connections: u32) -> anyhow::Result<PgPool> {
    connect_keeping(url, 0, max_connections).await
}

/// [`connect`] keeping at least `min_connections` open: `cairn serve` keeps its whole pool
/// connected, so no request waits for a new PostgreSQL backend to start. (It did not remove
/// the latency tail of the first seconds after start-up, which is not explained yet.)
pub async fn connect_keeping(
    url: &str,
    min_connections: u32,
    max_connections: u32,
) -> anyhow::Result<PgPool> {
    // Plan every execution with its parameters and the current statistics. PostgreSQL
    // otherwise switches a prepared statement to a generic plan after five executions; the
    // link, voiding and definition tables start empty, and the generic plans chosen then kept
    // scanning whole tables once they had grown (seconds per batch, 500 single-statement
    // writes/s saturating the server at 100,000 statements).
    // The write path plans once instead, on a pool of its own ([`write_pool`]).
    let options: PgConnectOptions = url
        .parse::<PgConnectOptions>()?
        .options([("plan_cache_mode", "force_custom_plan")]);
    let mut attempt = 0;
    loop {
        let result = PgPoolOptions::new()
            .min_connections(min_connections)
            .max_connections(max_connections)
            .acquire_timeout(Duration::from_secs(10))
            .connect_with(options.clone())
            .await;
        match result {
            Ok(pool) => return Ok(pool),
            Err(e) if attempt < 50 => {
                tracing::debug!(error = %e, "database not ready yet");
                attempt += 1;
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(e) => return Err(anyhow::Error::new(e).context("cannot connect to PostgreSQL")),
        }
    }
}

/// A pool beside `pool`, with as many connections, for the write path (statements, their
/// links, learned definitions), on which prepared statements keep one generic plan instead of
/// being planned at every execution.
///
/// `pool` plans every execution (`force_custom_plan`, see [`connect_keeping`]) because
/// generic plans made while a table was empty kept scanning it whole once it had grown. The
/// write path's common queries cannot go that way: they insert from `UNNEST`ed arrays and look
/// rows up one key at a time through [`each_key`], whose index probes do not depend on the
/// table's size. Planning them at every execution cost single-statement PUTs about a quarter
/// of their CPU (README → Ingest → *Planned once*). Queries that join a table to an array
/// (`UPDATE … FROM UNNEST`), whose generic plans do read whole stores, run only after
/// [`plan_each_execution`]. `tests/api/planner.rs` checks that writes of every kind, planned
/// on empty tables, read no table whole once it has grown.
///
/// A pool of its own rather than `SET LOCAL` in each transaction: a single statement is
/// written by one statement outside any transaction (`statements::insert_batch`), which has no
/// transaction to set it in. The setting is appended to the connection's start-up options, after
/// `pool`'s own, so it is the one that holds.
pub fn write_pool(pool: &PgPool) -> PgPool {
    let options = (*pool.connect_options())
        .clone()
        .options([("plan_cache_mode", "force_generic_plan")]);
    let sizes = pool.options();
    PgPoolOptions::new()
        .min_connections(sizes.get_min_connections())
        .max_connections(sizes.get_max_connections())
        .acquire_timeout(sizes.get_acquire_timeout())
        .connect_lazy_with(options)
}

/// Back to planning every execution for the rest of a [`write_pool`] transaction, before a
/// query whose generic plan could read a whole table (one round trip, on rare paths only).
pub async fn plan_each_execution(tx: &mut Transaction<'_, Postgres>) -> Result<(), sqlx::Error> {
    sqlx::query("SET LOCAL plan_cache_mode = force_custom_plan")
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// A query for `output` from the rows of `table` in store `$1` that match `condition` for
/// each key of the array `$2` (of `key_type`, named `k.key` in `condition`). `condition` may
/// end with a locking clause (`FOR UPDATE`): each probe then locks its rows, in the order of
/// `$2`.
///
/// Each key is looked up by its own index probe. `WHERE key = ANY($2)` let the planner
/// choose instead to read all of the store's rows and filter them, whenever PostgreSQL had no
/// statistics on the table yet (a new store, or autovacuum off): with a batch's thousand ids,
/// 160–300 ms per query on 200,000 statements, growing with the store, against about 1 ms.
/// The `OFFSET 0` keeps the planner from flattening the lookup into a join, which it planned
/// the same way. All arguments are fixed text from this module's callers, never input.
pub fn each_key(output: &str, table: &str, key_type: &str, condition: &str) -> String {
    each_key_in("$2", output, table, key_type, condition)
}

/// [`each_key`] for the keys in the array parameter `keys` (`$3`, say) instead of `$2`.
pub fn each_key_in(
    keys: &str,
    output: &str,
    table: &str,
    key_type: &str,
    condition: &str,
) -> String {
    format!(
        "SELECT {output} FROM UNNEST({keys}::{key_type}[]) AS k(key)
         CROSS JOIN LATERAL (SELECT * FROM {table}
                             WHERE store_id = $1 AND {condition} OFFSET 0) r"
    )
}

/// Applies every pending migration.
pub async fn migrate(pool: &PgPool) -> anyhow::Result<()> {
    MIGRATOR.run(pool).await?;
    Ok(())
}
