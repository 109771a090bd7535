//! The analytics warehouse: an embedded DuckDB file fed incrementally from PostgreSQL.
//!
//! Bronze is PostgreSQL; silver (`silver_*` tables) holds one typed row per statement plus the
//! bridge rows; gold (dimensions and facts) is SQL inside DuckDB (`gold.sql`).
//!
//! Exactly-once: every statement row carries `insert_xid`, the 64-bit id of the PostgreSQL
//! transaction that inserted it (migration 20261121180000). A run takes a snapshot and reads
//! `B = pg_snapshot_xmin(snapshot)`: every transaction with an id below `B` has ended, and no
//! transaction can start with an id below it any more, so the set of committed rows with
//! `insert_xid < B` is final. The warehouse records the `B` it has loaded up to (`etl_state`)
//! in the same DuckDB transaction as the rows; the next run loads `[B_prev, B_new)`. Commits
//! out of `seq` order, a run killed before its commit (DuckDB rolls the transaction back) and
//! re-runs therefore neither skip nor repeat a row. The price: a transaction left open for
//! long anywhere on the PostgreSQL server holds the bound back (visible as lag in the status).

mod allocator;
mod budget;
use budget::Limit;
mod checkpoint;
pub mod dictionary;
pub mod extract;
pub mod flatten;
pub mod keys;
pub mod measures;
pub mod pgcopy;
mod pipeline;
mod priority;
pub mod publish;
pub mod reports;
pub mod runner;
pub mod sandbox;
pub mod schema;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Instant;

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::PgPool;

use extract::STATEMENT_COPY_COLUMNS;
use pgcopy::Batch;
use pipeline::{append_jobs, copy_out, Job, RunSeqs, CHUNK, WORKERS};

#[derive(Debug, thiserror::Error)]
pub enum WarehouseError {
    #[error(
        "the warehouse {path} is in use by another process{holder}. A running `cairn serve` owns \
         the warehouse and runs the ETL itself; read its status with GET /api/v1/etl/status, or \
         stop the server to run this command"
    )]
    Locked { path: String, holder: String },
    #[error("DuckDB: {0}")]
    DuckDb(#[from] duckdb::Error),
    #[error("PostgreSQL: {0}")]
    Postgres(#[from] sqlx::Error),
    #[error("{0}")]
    Other(#[from] anyhow::Error),
    #[error("the run was interrupted before its commit (test hook)")]
    Interrupted,
}

/// An open warehouse file. One per process (DuckDB allows one writer process per file).
pub struct Warehouse {
    path: PathBuf,
    conn: Arc<Mutex<duckdb::Connection>>,
    /// Idle reader connections (clones of `conn` on the same database): reports and SQL
    /// read committed states on them while a run writes on `conn`.
    readers: Arc<Mutex<Vec<duckdb::Connection>>>,
    /// Runs are serialized: one load at a time.
    running: tokio::sync::Mutex<()>,
    /// When the ETL last checkpointed (see `checkpoint`).
    checkpoints: Arc<Mutex<checkpoint::Policy>>,
    /// Held shared by every reader task; the writer reopens an invalidated database only
    /// when it can hold it exclusively.
    reading: Arc<RwLock<()>>,
    /// DuckDB's memory budget: lowered for the ETL's work, normal while a reader runs.
    budget: Arc<budget::Budget>,
    /// Statements this process's clients have written so far: the server's ETL loop gives
    /// way to them while it catches up (`runner::catch_up`).
    client_writes: AtomicU64,
    /// Set when DuckDB invalidated the database (a fatal error) and it is not reopened yet
    /// (see [`reopen_if_invalidated`]).
    invalidated: Arc<AtomicBool>,
}

/// The bound of a run limited to about `cap` statements: the transaction id of the statement
/// after the first `cap` in `[lower, bound)` (by transaction id), so that the run loads whole
/// transactions only, all of them committed (below the snapshot's `xmin`, as `bound` is);
/// when the first transaction alone holds more than `cap`, just past it. Also whether
/// statements are left for the next run.
async fn capped_bound(
    tx: &mut sqlx::PgConnection,
    lower: i64,
    bound: i64,
    cap: i64,
) -> Result<(i64, bool), WarehouseError> {
    // Walk the `insert_xid` index in order and stop after `cap` rows. Without statistics on
    // `statements` (a new store, or autovacuum off) PostgreSQL chose instead to read every row
    // in the range and sort them: while the server ingests, the range holds the backlog of a
    // whole interval or more (5 s at 12,000 statements/s is 60,000), so the runs that work it
    // off in steps of `cap` read it again and again.
    sqlx::query("SET LOCAL enable_bitmapscan = off")
        .execute(&mut *tx)
        .await?;
    sqlx::query("SET LOCAL enable_sort = off")
        .execute(&mut *tx)
        .await?;
    let (first, next): (Option<i64>, Option<i64>) = sqlx::query_as(
        "SELECT (SELECT min(insert_xid) FROM statements
                 WHERE insert_xid >= $1 AND insert_xid < $2),
                (SELECT insert_xid FROM statements
                 WHERE insert_xid >= $1 AND insert_xid < $2
                 ORDER BY insert_xid OFFSET $3 LIMIT 1)",
    )
    .bind(lower)
    .bind(bound)
    .bind(cap.max(1))
    .fetch_one(&mut *tx)
    .await?;
    // The run's reads that follow take the whole range: the planner chooses freely again.
    sqlx::query("RESET enable_bitmapscan")
        .execute(&mut *tx)
        .await?;
    sqlx::query("RESET enable_sort").execute(&mut *tx).await?;
    Ok(match (first, next) {
        (Some(first), Some(next)) if next > first => (next, true),
        (Some(_), Some(next)) => (next + 1, next + 1 < bound),
        _ => (bound, false),
    })
}

/// Whether DuckDB invalidated its database with this error. A fatal error (a checkpoint that
/// ran out of memory or disk, say) leaves the database unusable until it is reopened: every
/// later statement fails with "database has been invalidated".
fn is_fatal(e: &WarehouseError) -> bool {
    let text = e.to_string();
    text.contains("FATAL Error") || text.contains("database has been invalidated")
}

/// Reopens the warehouse file in place of `conn` when DuckDB invalidated the database, so the
/// warehouse recovers without a restart. Reopening replays DuckDB's WAL: every committed run
/// is kept, and what a failed run did not commit was never counted as loaded. The database is
/// shared with the reader connections, so it is reopened only while no reader runs; otherwise
/// (or when opening fails) the next call on the writer tries again.
fn reopen_if_invalidated(
    path: &Path,
    conn: &mut duckdb::Connection,
    readers: &Mutex<Vec<duckdb::Connection>>,
    reading: &RwLock<()>,
    budget: &budget::Budget,
    invalidated: &AtomicBool,
) {
    if !invalidated.load(Ordering::SeqCst) {
        return;
    }
    let Ok(_no_readers) = reading.try_write() else {
        return;
    };
    readers.lock().expect("reader pool lock").clear();
    // The old database must be closed before the file is opened again (DuckDB's file lock).
    match duckdb::Connection::open_in_memory() {
        Ok(placeholder) => drop(std::mem::replace(conn, placeholder)),
        Err(e) => {
            tracing::error!(error = %e, "warehouse: cannot close the invalidated database");
            return;
        }
    }
    match open_duckdb(path, false) {
        Ok(reopened) => {
            *conn = reopened;
            budget.reopened();
            invalidated.store(false, Ordering::SeqCst);
            tracing::warn!(path = %path.display(), "warehouse: reopened after a fatal DuckDB error");
        }
        Err(e) => tracing::error!(error = %e, "warehouse: reopening failed; the next run retries"),
    }
}

/// Records a committed run's `appended` statements and checkpoints when the policy says so;
/// whether it checkpointed. A failed checkpoint is logged and stays due: the next run tries
/// again.
fn checkpoint_if_due(
    c: &duckdb::Connection,
    policy: &Mutex<checkpoint::Policy>,
    budget: &budget::Budget,
    appended: i64,
) -> bool {
    let mut policy = policy.lock().expect("checkpoint policy lock");
    policy.appended(appended);
    if !policy.due(Instant::now()) {
        return false;
    }
    let started = Instant::now();
    match with_budget(c, budget, DUCKDB_CHECKPOINT_LIMIT, || {
        c.execute_batch("CHECKPOINT")
    }) {
        Ok(()) => {
            policy.done(Instant::now());
            let secs = started.elapsed().as_secs_f64();
            tracing::debug!(secs, "etl: checkpointed");
            true
        }
        Err(e) => {
            tracing::warn!(error = %e, "warehouse checkpoint failed; the next run retries");
            false
        }
    }
}

/// What one run did.
#[derive(Debug, Clone, Serialize)]
pub struct RunReport {
    pub run_id: i64,
    pub rows: i64,
    pub xid_bound: i64,
    pub millis: i64,
    /// Whether DuckDB ran out of memory under the run's lowered budget, so that the run was
    /// rolled back and run again under the normal one.
    pub rerun_under_normal_budget: bool,
    /// Whether the run stopped at [`RunOptions::max_statements`] with more statements
    /// committed than it loaded: the next run can start at once.
    pub more_waiting: bool,
}

/// Knobs for a run; the default is a normal run.
#[derive(Debug, Default, Clone)]
pub struct RunOptions {
    /// Test hook: stop after appending, before the commit, as if the process died there.
    pub interrupt_before_commit: bool,
    /// Statements per Arrow batch (default 4,096); tests use tiny chunks.
    pub chunk_rows: Option<i64>,
    /// DuckDB's budget while the run appends (default [`DUCKDB_RUN_LIMIT`]); tests set one
    /// too small for any run.
    pub budget: Option<&'static str>,
    /// Load at most this many statements, the rest in later runs (`None`: every statement
    /// committed). A run always loads whole PostgreSQL transactions, so one that wrote more
    /// is loaded whole, alone. The server's runs are capped (`runner`) because a run's memory
    /// grows with its size; `cairn etl run` and `rebuild` load everything in one run. Rows
    /// from before the `insert_xid` migration (NULL there) all load in the first run, outside
    /// the count.
    pub max_statements: Option<i64>,
}

/// The ETL status shown by `cairn etl status` and `GET /api/v1/etl/status`.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct EtlStatus {
    /// Path of the warehouse file.
    pub warehouse: String,
    /// Completed runs since the warehouse was created.
    pub runs: i64,
    /// When the last run ended.
    pub last_run_at: Option<DateTime<Utc>>,
    /// Statements the last run loaded.
    pub last_run_rows: i64,
    /// Duration of the last run in milliseconds.
    pub last_run_ms: i64,
    /// Statements in the warehouse (silver), voided ones included.
    pub rows_total: i64,
    /// Committed statements in PostgreSQL not yet in the warehouse.
    pub lag_statements: i64,
    /// Age of the oldest statement not yet in the warehouse (0 when none).
    pub lag_seconds: f64,
    /// The error of the last failed run, if any.
    pub last_error: Option<String>,
    /// When the last failed run failed.
    pub last_error_at: Option<DateTime<Utc>>,
    /// PostgreSQL transaction id below which everything is loaded.
    pub xid_bound: i64,
}

struct State {
    xid_bound: i64,
    runs: i64,
}

fn locked_or(path: &Path, e: duckdb::Error) -> WarehouseError {
    let text = e.to_string();
    if text.contains("Could not set lock") || text.contains("Conflicting lock") {
        let holder = text
            .split("(PID ")
            .nth(1)
            .and_then(|r| r.split(')').next())
            .map(|pid| format!(" (PID {pid})"))
            .unwrap_or_default();
        WarehouseError::Locked {
            path: path.display().to_string(),
            holder,
        }
    } else {
        WarehouseError::DuckDb(e)
    }
}

/// DuckDB's threshold for handing its allocator's freed memory back after a task (its default
/// is 128 MB). Set together with `allocator_background_threads`, it took the server's peak in
/// the README's memory run from 390–422 to 362–383 MB; the share of each was not measured.
const DUCKDB_ALLOCATOR_FLUSH_THRESHOLD: &str = "8MB";

/// DuckDB's budget for a moment, to make it drop the blocks it keeps cached (see
/// [`release_memory`]). DuckDB evicts unpinned blocks towards a lowered `memory_limit`: read
/// blocks are dropped, appended blocks not yet checkpointed are written to its temporary
/// directory beside the warehouse file. What it cannot evict stays, and the `SET` then fails
/// (under ingest, most times); the blocks it could evict are gone all the same.
const DUCKDB_EVICTION_LIMIT: Limit = Limit::memory("1MB");

/// DuckDB's budget while the ETL checkpoints. A checkpoint reads back every block appended
/// since the last one (from memory or from the temporary directory) and, under the normal
/// budget, keeps them all until it ends. In a Python harness on the same DuckDB 1.5.6 with a
/// table of `silver_statement`'s width, a checkpoint of one row group (126,976 rows) added
/// 152 MB to the process under the normal budget, 138 MB under 128 MB, 74 MB under 64 MB and
/// 32 MB under 16 MB, taking about as long (1.3–2.0 s). But what a checkpoint pins at once
/// must fit: under 16 MB the server's checkpoint failed for want of a 256 KiB block at
/// 15.0 MiB used, invalidating the database (reopened by [`reopen_if_invalidated`]). So the
/// budget keeps a margin of four times that (README, Benchmarks → Memory).
const DUCKDB_CHECKPOINT_LIMIT: Limit = Limit::memory("64MB");

/// DuckDB's budget while a run appends, from its `BEGIN` until its commit begins (the commit
/// runs under the normal budget: see `load`). A run's appended rows stay in memory until then
/// under the normal budget; under a lowered one DuckDB writes them to its temporary directory
/// as they come. One run loading 212,000 statements into an
/// empty warehouse (`cairn etl rebuild`) peaked at 270–287 MB in 5.3–6.0 s under the normal
/// budget, 220–222 MB in 6.7–6.9 s under 64 MB and 192 MB under 32 MB; under 16 MB it ran out
/// of memory (README, Benchmarks → Memory). A run that runs out of memory under it is run
/// again at once under the normal budget.
const DUCKDB_RUN_LIMIT: Limit = Limit::memory("64MB");

/// DuckDB's budgets while the BI copy is written (`publish`: one `CREATE TABLE … AS` per gold
/// relation, whose joins and aggregations DuckDB spills beyond the budget), each tried in
/// turn when DuckDB runs out of memory under the one before, then the normal budget
/// ([`with_budget_or_normal`]). In a Python harness on the same DuckDB 1.5.6, publishing a
/// warehouse of 784,877 statements added 260–261 MB to the process under the normal budget
/// (3.0–3.7 s), 114–141 MB under 96 MB (3.1–3.5 s) and 80–83 MB under 64 MB on one thread;
/// under 64 MB on two threads `fact_registration_au`'s aggregation ran out of memory (each
/// thread aggregates into its own hash table). A warehouse of 682,115 statements: 110 MB
/// under 96 MB (4.4 s), 85–93 MB under 64 MB on two threads, 73 MB under 48 MB on one thread
/// (4.9–5.3 s); under 32 MB on one thread `fact_registration_au` ran out of memory (README,
/// Benchmarks → Memory).
const DUCKDB_PUBLICATION_LIMITS: &[Limit] = &[
    Limit {
        memory: "48MB",
        threads: Some(1),
    },
    Limit::memory("96MB"),
];

/// Runs `f` under DuckDB's budget lowered to `limit` (unless a reader runs or starts
/// meanwhile: see `budget`), then sets the normal budget back.
fn with_budget<T>(
    c: &duckdb::Connection,
    budget: &budget::Budget,
    limit: Limit,
    f: impl FnOnce() -> T,
) -> T {
    budget.lower(c, limit);
    let result = f();
    budget.restore(c);
    result
}

/// Whether DuckDB ran out of memory under its budget (an error that leaves the database
/// usable, unlike a fatal one). A query says "Out of Memory Error"; the appender only "Failed
/// to append: failed to allocate data of size …".
fn out_of_memory(e: &impl std::fmt::Display) -> bool {
    let text = e.to_string();
    [
        "Out of Memory Error",
        "failed to allocate",
        "could not allocate",
    ]
    .iter()
    .any(|m| text.contains(m))
}

/// Runs `f` under the first of `limits` ([`with_budget`]) and, each time DuckDB runs out of
/// memory, again under the next one, then under the normal budget. Only for work that fails
/// whole and leaves nothing behind when it fails (a query, a `CREATE TABLE … AS`); a
/// checkpoint that runs out of memory invalidates the database instead.
fn with_budget_or_normal<T>(
    c: &duckdb::Connection,
    budget: &budget::Budget,
    limits: &[Limit],
    f: impl Fn() -> duckdb::Result<T>,
) -> duckdb::Result<T> {
    for limit in limits {
        match with_budget(c, budget, *limit, &f) {
            Err(e) if out_of_memory(&e) => {
                tracing::debug!(error = %e, ?limit, "warehouse: out of memory under a lowered budget; again under the next");
            }
            result => return result,
        }
    }
    f()
}

/// Returns the memory a finished piece of warehouse work (a run that loaded rows, a
/// checkpoint, a publication) leaves behind: DuckDB's cached blocks, by lowering its budget
/// for a moment ([`with_budget`]), then its allocator's freed pages (`allocator`).
///
/// DuckDB keeps the blocks a task read or appended in memory, up to its budget, until it needs
/// the room. Under ingest the server's resident memory between ETL runs grew with the
/// warehouse (from 90 to 270 MB over the short ingest benchmark's 70 s; 130 MB with the
/// warehouse off); with the blocks dropped after each run it stayed 50–80 MB lower, and that
/// benchmark's peak fell from 355–414 (median 380) to 326 MB.
/// Dropping took up to 0.22 s in the sampled runs. Reports then read their blocks from the
/// file again (the operating system's page cache); a server that loads nothing keeps its cache.
/// While a reader runs, the blocks are kept.
fn release_memory(c: &duckdb::Connection, budget: &budget::Budget) {
    with_budget(c, budget, DUCKDB_EVICTION_LIMIT, || ());
    allocator::release_freed_memory();
}

/// Opens a DuckDB file with extension auto-install/auto-load off: nothing is ever fetched
/// from the network (research notes A1).
pub fn open_duckdb(path: &Path, read_only: bool) -> Result<duckdb::Connection, WarehouseError> {
    let mut config = duckdb::Config::default()
        .enable_autoload_extension(false)?
        .with("autoinstall_known_extensions", "false")?
        .max_memory(budget::NORMAL)?
        .with(
            "allocator_flush_threshold",
            DUCKDB_ALLOCATOR_FLUSH_THRESHOLD,
        )?
        // Freed memory is also returned between tasks, by the allocator's own threads.
        .with("allocator_background_threads", "true")?
        // The ETL checkpoints by itself (`checkpoint`); DuckDB's own threshold is the net.
        .with("checkpoint_threshold", checkpoint::WAL_SAFETY_NET)?;
    if read_only {
        config = config.access_mode(duckdb::AccessMode::ReadOnly)?;
    }
    duckdb::Connection::open_with_flags(path, config).map_err(|e| locked_or(path, e))
}

impl Warehouse {
    /// Opens (creating if needed) the warehouse file and brings its schema up to date.
    pub fn open(path: &Path) -> Result<Warehouse, WarehouseError> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .map_err(|e| anyhow::anyhow!("cannot create {}: {e}", dir.display()))?;
        }
        // Opened on a warehouse-priority thread, so DuckDB's worker threads inherit it.
        let conn = priority::run_blocking(|| open_duckdb(path, false))?;
        schema::upgrade(&conn)?;
        conn.execute_batch(&schema::silver())?;
        conn.execute_batch(schema::GOLD)?;
        let rows = conn.query_row("SELECT count(*) FROM silver_statement", [], |r| r.get(0))?;
        Ok(Warehouse {
            path: path.to_path_buf(),
            checkpoints: Arc::new(Mutex::new(checkpoint::Policy::new(rows, Instant::now()))),
            conn: Arc::new(Mutex::new(conn)),
            readers: Arc::new(Mutex::new(Vec::new())),
            reading: Arc::new(RwLock::new(())),
            budget: Arc::new(budget::Budget::default()),
            invalidated: Arc::new(AtomicBool::new(false)),
            running: tokio::sync::Mutex::new(()),
            client_writes: AtomicU64::new(0),
        })
    }

    /// Deletes the warehouse file (and its WAL) and creates it empty; the next run reloads
    /// everything from PostgreSQL. Fails with [`WarehouseError::Locked`] while a server owns it.
    pub fn recreate(path: &Path) -> Result<Warehouse, WarehouseError> {
        drop(open_duckdb(path, false)?); // the lock check
        for p in [
            path.to_path_buf(),
            PathBuf::from(format!("{}.wal", path.display())),
        ] {
            if p.exists() {
                std::fs::remove_file(&p)
                    .map_err(|e| anyhow::anyhow!("cannot remove {}: {e}", p.display()))?;
            }
        }
        Warehouse::open(path)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Counts statements a client has just written (the write path calls it).
    pub fn clients_wrote(&self, statements: usize) {
        self.client_writes
            .fetch_add(statements as u64, Ordering::Relaxed);
    }

    /// Statements clients have written so far in this process.
    pub fn client_writes(&self) -> u64 {
        self.client_writes.load(Ordering::Relaxed)
    }

    /// Runs `f` on the DuckDB connection on a blocking thread (STYLE.md habit 8) at warehouse
    /// priority (see `priority`).
    pub async fn with_conn<T, F>(&self, f: F) -> Result<T, WarehouseError>
    where
        T: Send + 'static,
        F: FnOnce(&duckdb::Connection) -> Result<T, WarehouseError> + Send + 'static,
    {
        let (conn, path) = (self.conn.clone(), self.path.clone());
        let (readers, reading) = (self.readers.clone(), self.reading.clone());
        let (budget, invalidated) = (self.budget.clone(), self.invalidated.clone());
        priority::spawn(move || {
            let mut c = conn.lock().expect("duckdb connection lock");
            reopen_if_invalidated(&path, &mut c, &readers, &reading, &budget, &invalidated);
            let result = f(&c);
            if result.as_ref().is_err_and(is_fatal) {
                invalidated.store(true, Ordering::SeqCst);
                reopen_if_invalidated(&path, &mut c, &readers, &reading, &budget, &invalidated);
            }
            result
        })
        .await?
    }

    /// Runs `f` on a reader connection on a blocking thread: an idle one, or a new clone of
    /// the writer's database. Readers never wait for a run in progress.
    pub async fn with_reader<T, F>(&self, f: F) -> Result<T, WarehouseError>
    where
        T: Send + 'static,
        F: FnOnce(&duckdb::Connection) -> Result<T, WarehouseError> + Send + 'static,
    {
        let (writer, readers) = (self.conn.clone(), self.readers.clone());
        let (reading, invalidated) = (self.reading.clone(), self.invalidated.clone());
        let budget = self.budget.clone();
        tokio::task::spawn_blocking(move || {
            let _reading = reading.read().expect("reader gate lock");
            let idle = readers.lock().expect("reader pool lock").pop();
            let conn = match idle {
                Some(c) => c,
                None => writer.lock().expect("duckdb connection lock").try_clone()?,
            };
            let result = {
                let _reading = budget.reading(&conn);
                f(&conn)
            };
            if result.as_ref().is_err_and(is_fatal) {
                // Not pooled: the writer's next call reopens the database.
                invalidated.store(true, Ordering::SeqCst);
            } else {
                readers.lock().expect("reader pool lock").push(conn);
            }
            result
        })
        .await
        .map_err(|e| anyhow::anyhow!("warehouse task failed: {e}"))?
    }

    async fn state(&self) -> Result<State, WarehouseError> {
        self.with_conn(|c| {
            Ok(
                c.query_row("SELECT xid_bound, runs FROM etl_state", [], |r| {
                    Ok(State {
                        xid_bound: r.get(0)?,
                        runs: r.get(1)?,
                    })
                })?,
            )
        })
        .await
    }

    /// Loads every statement committed since the last run; exactly once (see module docs).
    pub async fn run_once(&self, pool: &PgPool) -> Result<RunReport, WarehouseError> {
        self.run_with(pool, &RunOptions::default()).await
    }

    pub async fn run_with(
        &self,
        pool: &PgPool,
        options: &RunOptions,
    ) -> Result<RunReport, WarehouseError> {
        let _running = self.running.lock().await;
        let started = Instant::now();
        let lowered = options.budget.map_or(DUCKDB_RUN_LIMIT, Limit::memory);
        let mut result = self.load(pool, options, started, Some(lowered)).await;
        let ran_out = result.as_ref().err().filter(out_of_memory);
        if let Some(error) = ran_out.map(ToString::to_string) {
            tracing::warn!(
                error,
                "etl: the run ran out of memory under its lowered budget; again under the normal one"
            );
            self.roll_back().await;
            result = self.load(pool, options, started, None).await;
            if let Ok(report) = &mut result {
                report.rerun_under_normal_budget = true;
            }
        }
        if let Err(e) = &result {
            self.roll_back().await;
            if !matches!(e, WarehouseError::Interrupted) {
                let message = e.to_string();
                let _ = self
                    .with_conn(move |c| {
                        c.execute(
                            "UPDATE etl_state SET last_error = ?, last_error_at = ?",
                            duckdb::params![message, Utc::now().naive_utc()],
                        )?;
                        Ok(())
                    })
                    .await;
            }
        }
        result
    }

    /// Drops a failed run's open transaction (as DuckDB does when the process dies before the
    /// commit), so nothing of it stays, and sets the normal budget back.
    async fn roll_back(&self) {
        let budget = self.budget.clone();
        let _ = self
            .with_conn(move |c| {
                let rolled_back = c.execute_batch("ROLLBACK");
                budget.restore(c);
                Ok(rolled_back?)
            })
            .await;
    }

    /// One run; `run_budget`: DuckDB's budget while it appends (the normal one when `None`).
    async fn load(
        &self,
        pool: &PgPool,
        options: &RunOptions,
        started: Instant,
        run_budget: Option<Limit>,
    ) -> Result<RunReport, WarehouseError> {
        let state = self.state().await?;
        let run_id = state.runs + 1;
        let mut tx = pool.begin().await?;
        sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            .execute(&mut *tx)
            .await?;
        let bound: i64 =
            sqlx::query_scalar("SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint")
                .fetch_one(&mut *tx)
                .await?;
        let lower = state.xid_bound;
        let (bound, more_waiting) = match options.max_statements {
            Some(cap) => capped_bound(&mut tx, lower, bound, cap).await?,
            None => (bound, false),
        };
        let budget = self.budget.clone();
        self.with_conn(move |c| {
            if let Some(limit) = run_budget {
                budget.lower(c, limit);
            }
            Ok(c.execute_batch("BEGIN TRANSACTION")?)
        })
        .await?;
        // Pre-migration rows have no insert_xid: they were all committed before the migration
        // ran, so the first run (lower bound 0) takes them too. Later runs read [lower, bound),
        // an index range on statements_insert_xid. COPY takes no bound parameters; both
        // bounds are integers we read ourselves.
        let range = if lower == 0 {
            format!("(s.insert_xid IS NULL OR s.insert_xid < {bound})")
        } else {
            format!("s.insert_xid >= {lower} AND s.insert_xid < {bound}")
        };
        let chunk = options.chunk_rows.unwrap_or(CHUNK).max(1) as usize;
        let (jobs, queue) = tokio::sync::mpsc::channel::<Job>(WORKERS);
        let queue = Arc::new(Mutex::new(queue));
        let workers: Vec<_> = (0..WORKERS)
            .map(|_| {
                let (queue, conn) = (queue.clone(), self.conn.clone());
                priority::spawn(move || append_jobs(&queue, &conn, run_id))
            })
            .collect();
        // The workers own the receiving end: when they stop, sending fails.
        drop(queue);
        // The statements first, then their other link rows (same snapshot). The link tables have
        // no transaction ids: their rows are read by the `seq` range of the run's statements
        // (an index range per store) and kept when their statement is one of the run's.
        let read = async {
            let mut seqs: Vec<i64> = Vec::new();
            copy_out(
                &mut tx,
                &format!(
                    "COPY (SELECT {STATEMENT_COPY_COLUMNS} FROM statements s WHERE {range}) \
                     TO STDOUT (FORMAT binary)"
                ),
                chunk,
                |batch| {
                    seqs.extend(extract::statement_seqs(batch)?);
                    Ok(())
                },
                Job::Statements,
                &jobs,
            )
            .await?;
            seqs.sort_unstable();
            let (Some(&first), Some(&last)) = (seqs.first(), seqs.last()) else {
                return Ok(());
            };
            let seqs: RunSeqs = Arc::new(seqs);
            // One read per store and table (`extract::link_rows_select`).
            let stores: Vec<i64> = sqlx::query_scalar("SELECT id FROM stores ORDER BY id")
                .fetch_all(&mut *tx)
                .await?;
            // Rows that silver_statement's columns hold are derived there, not loaded.
            let tables = [
                (
                    "statement_activities",
                    "activity_iri",
                    schema::DERIVED_ACTIVITY_USAGES,
                    Job::Activities as fn(Batch, RunSeqs) -> Job,
                ),
                (
                    "statement_agents",
                    "ifi",
                    schema::DERIVED_AGENT_USAGES,
                    Job::Agents,
                ),
            ];
            for (table, key, derived, job) in tables {
                for store in &stores {
                    copy_out(
                        &mut tx,
                        &format!(
                            "COPY ({}) TO STDOUT (FORMAT binary)",
                            extract::link_rows_select(table, key, derived, *store, first, last)
                        ),
                        chunk * 4,
                        |_| Ok(()),
                        |batch| job(batch, seqs.clone()),
                        &jobs,
                    )
                    .await?;
                }
            }
            Ok::<(), WarehouseError>(())
        }
        .await;
        tracing::debug!(
            secs = started.elapsed().as_secs_f64(),
            "etl: read from PostgreSQL"
        );
        drop(jobs);
        let mut rows_loaded = 0i64;
        let mut max_seq = 0i64;
        let mut failed = None;
        for w in workers {
            match w.await? {
                Ok((rows, seq)) => {
                    rows_loaded += rows;
                    max_seq = max_seq.max(seq);
                }
                Err(e) => failed = failed.or(Some(e)),
            }
        }
        // A worker's error explains a failed read (the queue closed under it).
        if let Some(e) = failed {
            return Err(e);
        }
        read?;
        tracing::debug!(secs = started.elapsed().as_secs_f64(), "etl: appended");
        tx.rollback().await?;
        if options.interrupt_before_commit {
            return Err(WarehouseError::Interrupted);
        }
        let millis = started.elapsed().as_millis() as i64;
        let (checkpoints, budget) = (self.checkpoints.clone(), self.budget.clone());
        self.with_conn(move |c| {
            // The commit runs under the normal budget: under 64 MB DuckDB's commit ran out of
            // memory in the ingest benchmark ("Failed to commit: could not allocate block"),
            // and a failed commit broke the database ("INTERNAL Error: Could not find node in
            // column segment tree"), so every rerun failed the same way.
            budget.restore(c);
            // A void that arrives after its target was loaded (or before it) flags the target;
            // gold only shows statements that are neither voided nor voiding.
            c.execute(
                "UPDATE silver_statement SET voided = true
                 WHERE NOT voided AND statement_id IN (
                     SELECT voiding_target FROM silver_statement
                     WHERE voiding_target IS NOT NULL AND run_id = ?)",
                [run_id],
            )?;
            c.execute(
                "UPDATE silver_statement SET voided = true
                 WHERE run_id = ? AND NOT voided AND statement_id IN (
                     SELECT voiding_target FROM silver_statement WHERE voiding_target IS NOT NULL)",
                [run_id],
            )?;
            c.execute(
                "UPDATE etl_state SET xid_bound = ?, max_seq = greatest(max_seq, ?), runs = ?,
                        rows_total = rows_total + ?, last_run_at = ?, last_run_rows = ?,
                        last_run_ms = ?, last_error = NULL, last_error_at = NULL",
                duckdb::params![
                    bound,
                    max_seq,
                    run_id,
                    rows_loaded,
                    Utc::now().naive_utc(),
                    rows_loaded,
                    millis
                ],
            )?;
            c.execute_batch("COMMIT")?;
            tracing::debug!(secs = started.elapsed().as_secs_f64(), "etl: committed");
            // Memory is released after the checkpoint, when one is due: before it, the run's
            // appended blocks would be written to DuckDB's temporary directory only for the
            // checkpoint to read them back.
            if checkpoint_if_due(c, &checkpoints, &budget, rows_loaded) || rows_loaded > 0 {
                release_memory(c, &budget);
            } else {
                allocator::release_freed_memory();
            }
            Ok(())
        })
        .await?;
        Ok(RunReport {
            run_id,
            rows: rows_loaded,
            xid_bound: bound,
            millis,
            rerun_under_normal_budget: false,
            more_waiting,
        })
    }

    /// Before the process exits: rolls back a run that the ETL loop left open when it was
    /// stopped, then checkpoints under the checkpoint budget. Otherwise DuckDB checkpoints
    /// its WAL when the connection closes, under the normal budget: the ingest benchmark's
    /// server went from 165 to 395 MB in its last second. A checkpoint that fails leaves the
    /// WAL, which DuckDB replays at the next start.
    pub async fn close(&self) {
        let _running = self.running.lock().await;
        self.roll_back().await;
        let budget = self.budget.clone();
        let checkpointed = self
            .with_conn(move |c| {
                Ok(with_budget(c, &budget, DUCKDB_CHECKPOINT_LIMIT, || {
                    c.execute_batch("CHECKPOINT")
                })?)
            })
            .await;
        if let Err(e) = checkpointed {
            tracing::warn!(error = %e, "warehouse: no checkpoint at shutdown; DuckDB replays its WAL at the next start");
        }
    }

    /// Last run, rows, lag and last error.
    pub async fn status(&self, pool: &PgPool) -> Result<EtlStatus, WarehouseError> {
        let path = self.path.display().to_string();
        let mut status = self
            .with_conn(move |c| {
                Ok(c.query_row(
                    "SELECT runs, last_run_at, last_run_rows, last_run_ms, rows_total, last_error,
                            last_error_at, xid_bound FROM etl_state",
                    [],
                    |r| {
                        let utc = |t: Option<chrono::NaiveDateTime>| t.map(|t| t.and_utc());
                        Ok(EtlStatus {
                            warehouse: path,
                            runs: r.get(0)?,
                            last_run_at: utc(r.get(1)?),
                            last_run_rows: r.get(2)?,
                            last_run_ms: r.get(3)?,
                            rows_total: r.get(4)?,
                            lag_statements: 0,
                            lag_seconds: 0.0,
                            last_error: r.get(5)?,
                            last_error_at: utc(r.get(6)?),
                            xid_bound: r.get(7)?,
                        })
                    },
                )?)
            })
            .await?;
        let (count, oldest): (i64, Option<DateTime<Utc>>) = sqlx::query_as(
            "SELECT count(*), min(stored) FROM statements
             WHERE insert_xid >= $1 OR ($1 = 0 AND insert_xid IS NULL)",
        )
        .bind(status.xid_bound)
        .fetch_one(pool)
        .await?;
        status.lag_statements = count;
        status.lag_seconds = oldest
            .map(|t| ((Utc::now() - t).num_milliseconds().max(0) as f64) / 1000.0)
            .unwrap_or(0.0);
        Ok(status)
    }
}

/// An empty directory for a test's warehouse files, named after the test and the process.
#[cfg(test)]
pub(crate) fn scratch_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("cairn-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[cfg(test)]
mod tests {
    use super::*;

    /// DuckDB's memory in use, by its own accounting.
    fn duckdb_bytes(c: &duckdb::Connection) -> i64 {
        c.query_row(
            "SELECT sum(memory_usage_bytes)::BIGINT FROM duckdb_memory()",
            [],
            |r| r.get(0),
        )
        .unwrap()
    }

    fn memory_limit(c: &duckdb::Connection) -> String {
        c.query_row("SELECT current_setting('memory_limit')", [], |r| r.get(0))
            .unwrap()
    }

    /// The blocks a query read are dropped, the budget is back, and nothing is dropped while
    /// a reader runs.
    #[test]
    fn release_memory_drops_cached_blocks_only_when_no_reader_runs() {
        let dir = scratch_dir("release");
        let warehouse = Warehouse::open(&dir.join("warehouse.duckdb")).unwrap();
        let c = warehouse.conn.lock().unwrap();
        c.execute_batch(
            "CREATE TABLE t AS SELECT i, md5(i::VARCHAR) AS s FROM range(2000000) r(i);
             CHECKPOINT;",
        )
        .unwrap();
        let budget = memory_limit(&c);
        let read = || {
            c.query_row("SELECT count(DISTINCT s) FROM t", [], |r| {
                r.get::<_, i64>(0)
            })
            .unwrap()
        };
        read();
        let cached = duckdb_bytes(&c);
        assert!(
            cached > 16 << 20,
            "the read cached its blocks: {cached} bytes"
        );

        warehouse.budget.reader_starts(&c);
        release_memory(&c, &warehouse.budget);
        assert_eq!(duckdb_bytes(&c), cached, "kept while a reader runs");
        warehouse.budget.reader_ends(&c);

        release_memory(&c, &warehouse.budget);
        let after = duckdb_bytes(&c);
        assert!(after < cached / 4, "dropped: {cached} -> {after} bytes");
        assert_eq!(memory_limit(&c), budget, "the budget is restored");
        assert_eq!(read(), 2_000_000, "the data reads back from the file");
        drop(c);
        drop(warehouse);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    fn threads(c: &duckdb::Connection) -> i64 {
        c.query_row("SELECT current_setting('threads')", [], |r| r.get(0))
            .unwrap()
    }

    /// A lowered budget (and thread count) holds while the ETL's work runs and no reader
    /// runs; a reader that starts meanwhile raises both at once, and they come back when the
    /// reader ends.
    #[test]
    fn with_budget_lowers_the_budget_while_it_runs_only_when_no_reader_runs() {
        let dir = scratch_dir("budget");
        let warehouse = Warehouse::open(&dir.join("warehouse.duckdb")).unwrap();
        let c = warehouse.conn.lock().unwrap();
        let (budget, all_threads) = (memory_limit(&c), threads(&c));
        assert!(all_threads > 1, "DuckDB's default: one thread per core");
        let one_thread = Limit {
            memory: "64MB",
            threads: Some(1),
        };
        let inside = || {
            with_budget(&c, &warehouse.budget, one_thread, || {
                (memory_limit(&c), threads(&c))
            })
        };
        let lowered = inside();
        assert!(
            lowered.0.starts_with("61") && lowered.1 == 1,
            "lowered while it runs: {lowered:?}"
        );
        assert_eq!(
            (memory_limit(&c), threads(&c)),
            (budget.clone(), all_threads),
            "the budget is restored"
        );

        warehouse.budget.reader_starts(&c);
        assert_eq!(
            inside(),
            (budget.clone(), all_threads),
            "kept while a reader runs"
        );
        warehouse.budget.reader_ends(&c);

        let during = with_budget(&c, &warehouse.budget, one_thread, || {
            let lowered = (memory_limit(&c), threads(&c));
            warehouse.budget.reader_starts(&c);
            let reading = (memory_limit(&c), threads(&c));
            warehouse.budget.reader_ends(&c);
            (lowered, reading, (memory_limit(&c), threads(&c)))
        });
        assert!(
            during.0 .0.starts_with("61") && during.0 .1 == 1,
            "lowered: {during:?}"
        );
        assert_eq!(
            during.1,
            (budget.clone(), all_threads),
            "raised for a reader that starts"
        );
        assert!(
            during.2 .0.starts_with("61") && during.2 .1 == 1,
            "lowered again after it: {during:?}"
        );
        assert_eq!(
            (memory_limit(&c), threads(&c)),
            (budget, all_threads),
            "the budget is restored"
        );
        drop(c);
        drop(warehouse);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    /// Work that runs out of memory under a lowered budget runs again under the next one, then
    /// under the normal one; other errors are not retried.
    #[test]
    fn with_budget_or_normal_runs_again_under_the_normal_budget_when_out_of_memory() {
        let dir = scratch_dir("budget-or-normal");
        let warehouse = Warehouse::open(&dir.join("warehouse.duckdb")).unwrap();
        let c = warehouse.conn.lock().unwrap();
        let distinct = || {
            c.query_row(
                "SELECT count(DISTINCT md5(i::VARCHAR)) FROM range(1000000) r(i)",
                [],
                |r| r.get::<_, i64>(0),
            )
        };
        let lowered = with_budget(&c, &warehouse.budget, Limit::memory("1MB"), distinct);
        assert!(
            lowered
                .as_ref()
                .is_err_and(|e| e.to_string().contains("Out of Memory Error")),
            "out of memory under 1 MB: {lowered:?}"
        );
        let budgets = std::cell::RefCell::new(Vec::new());
        let counted = || {
            budgets.borrow_mut().push(memory_limit(&c));
            distinct()
        };
        let tiny = [Limit::memory("1MB"), Limit::memory("2MB")];
        let retried = with_budget_or_normal(&c, &warehouse.budget, &tiny, counted);
        assert_eq!(retried.unwrap(), 1_000_000);
        assert_eq!(
            budgets.borrow().len(),
            3,
            "1 MB, 2 MB, then the normal budget: {budgets:?}"
        );

        let calls = std::cell::Cell::new(0);
        let missing = || {
            calls.set(calls.get() + 1);
            c.execute_batch("SELECT * FROM no_such_table")
        };
        assert!(with_budget_or_normal(&c, &warehouse.budget, &tiny, missing).is_err());
        assert_eq!(calls.get(), 1, "a missing table is not retried");
        drop(c);
        drop(warehouse);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    /// A fatal DuckDB error (here a checkpoint that cannot pin its blocks) invalidates the
    /// database; the warehouse reopens it and keeps every committed row.
    #[tokio::test]
    async fn a_warehouse_invalidated_by_a_fatal_error_reopens_with_its_committed_rows() {
        let dir = scratch_dir("reopen");
        let warehouse = Warehouse::open(&dir.join("warehouse.duckdb")).unwrap();
        let budget = warehouse.with_conn(|c| Ok(memory_limit(c))).await.unwrap();
        warehouse
            .with_conn(|c| {
                c.execute_batch("CHECKPOINT; CREATE TABLE t (i BIGINT, s VARCHAR)")?;
                for k in 0..10 {
                    c.execute_batch(&format!(
                        "INSERT INTO t SELECT i, md5(i::VARCHAR) FROM range({}, {}) r(i)",
                        k * 10_000,
                        (k + 1) * 10_000
                    ))?;
                }
                Ok(())
            })
            .await
            .unwrap();
        let failed = warehouse
            .with_conn(|c| {
                c.execute_batch("SET memory_limit = '1MB'; CHECKPOINT")?;
                Ok(())
            })
            .await
            .unwrap_err();
        assert!(is_fatal(&failed), "a fatal error: {failed}");

        let count = |c: &duckdb::Connection| -> Result<i64, WarehouseError> {
            Ok(c.query_row("SELECT count(*) FROM t", [], |r| r.get(0))?)
        };
        assert_eq!(warehouse.with_conn(count).await.unwrap(), 100_000);
        assert_eq!(warehouse.with_reader(count).await.unwrap(), 100_000);
        let reopened = warehouse.with_conn(|c| Ok(memory_limit(c))).await.unwrap();
        assert_eq!(
            reopened, budget,
            "the reopened database has the normal budget"
        );
        drop(warehouse);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    /// The size of the WAL beside `dir/warehouse.duckdb` (0 when there is none).
    fn wal_bytes(dir: &Path) -> u64 {
        std::fs::metadata(dir.join("warehouse.duckdb.wal")).map_or(0, |m| m.len())
    }

    /// A new warehouse in a scratch directory whose one row (seq 1) is committed to the WAL
    /// only.
    fn with_a_row_in_the_wal(name: &str) -> (PathBuf, Warehouse) {
        let dir = scratch_dir(name);
        let warehouse = Warehouse::open(&dir.join("warehouse.duckdb")).unwrap();
        warehouse
            .conn
            .lock()
            .unwrap()
            .execute_batch(
                "CHECKPOINT; INSERT INTO silver_statement (seq, voided) VALUES (1, false)",
            )
            .unwrap();
        assert!(wal_bytes(&dir) > 0, "the row is in the WAL");
        (dir, warehouse)
    }

    /// A run's rows stay in the WAL until the policy calls for a checkpoint, which writes
    /// them into the file and empties the WAL.
    #[test]
    fn rows_stay_in_the_wal_until_a_checkpoint_is_due() {
        let (dir, warehouse) = with_a_row_in_the_wal("checkpoint");
        let wal = || wal_bytes(&dir);
        let writer = warehouse.conn.lock().unwrap();
        let policy = Mutex::new(checkpoint::Policy::new(0, Instant::now()));
        checkpoint_if_due(&writer, &policy, &warehouse.budget, 1);
        assert!(wal() > 0, "not due: the row is still in the WAL");
        // One row short of a full row group: the next row completes it.
        *policy.lock().unwrap() =
            checkpoint::Policy::new(checkpoint::ROW_GROUP_ROWS - 1, Instant::now());
        checkpoint_if_due(&writer, &policy, &warehouse.budget, 1);
        assert_eq!(wal(), 0, "checkpointed");
        assert!(!policy.lock().unwrap().due(Instant::now()), "recorded");
        drop(writer);
        drop(warehouse);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    /// At shutdown a run left open is rolled back and the WAL is checkpointed into the file.
    #[tokio::test]
    async fn close_rolls_back_an_open_run_and_checkpoints_the_wal() {
        let (dir, warehouse) = with_a_row_in_the_wal("close");
        let wal = || wal_bytes(&dir);
        // A run the stopped ETL loop left open.
        warehouse
            .conn
            .lock()
            .unwrap()
            .execute_batch(
                "BEGIN TRANSACTION; INSERT INTO silver_statement (seq, voided) VALUES (2, false)",
            )
            .unwrap();
        warehouse.close().await;
        assert_eq!(wal(), 0, "checkpointed");
        let seqs = warehouse
            .with_conn(|c| {
                Ok(c.query_row(
                    "SELECT string_agg(seq::VARCHAR) FROM silver_statement",
                    [],
                    |r| r.get::<_, String>(0),
                )?)
            })
            .await
            .unwrap();
        assert_eq!(seqs, "1", "the open run's row is gone");
        drop(warehouse);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
