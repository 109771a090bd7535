//! The load pipeline of a run: PostgreSQL's COPY stream is cut into batches (the reader, on
//! the async runtime), flattened into Arrow on worker threads and appended to DuckDB inside the
//! run's open transaction, so reading, flattening and appending overlap.

use std::sync::{Arc, Mutex};
use std::time::Instant;

use futures_util::TryStreamExt;

use super::extract;
use super::pgcopy::{Batch, Framer};
use super::WarehouseError;

/// Statements per Arrow batch. Each batch in the queue or in a worker holds its rows as read
/// and as Arrow columns: a full load of 180,329 statements (`cairn etl run`, alternated with
/// batches of 10,000 four times each) peaked at 283–288 MB with 4,096 and 246–253 MB with
/// 2,048, against 321–347 MB with 10,000, and took 4.0–4.7 s and 4.3–5.2 s against 3.7–4.9 s.
pub(super) const CHUNK: i64 = 4_096;

/// Threads that flatten batches and append them (DuckDB appends one at a time; flattening
/// runs in parallel with it and with PostgreSQL sending the next rows).
pub(super) const WORKERS: usize = 2;

/// The sorted `seq` values of the statements a run loads: their link rows are read by `seq`
/// range and kept when their `seq` is one of these.
pub(super) type RunSeqs = Arc<Vec<i64>>;

/// A batch of rows read from PostgreSQL, waiting to be flattened and appended.
pub(super) enum Job {
    Statements(Batch),
    Activities(Batch, RunSeqs),
    Agents(Batch, RunSeqs),
}

/// Reads a binary COPY and queues its rows in batches of `rows`; `seen` sees each batch first.
pub(super) async fn copy_out(
    conn: &mut sqlx::PgConnection,
    query: &str,
    rows: usize,
    mut seen: impl FnMut(&Batch) -> Result<(), WarehouseError>,
    job: impl Fn(Batch) -> Job,
    jobs: &tokio::sync::mpsc::Sender<Job>,
) -> Result<(), WarehouseError> {
    let mut stream = conn.copy_out_raw(query).await?;
    let mut framer = Framer::default();
    let closed = || anyhow::anyhow!("the warehouse workers stopped");
    while let Some(data) = stream.try_next().await? {
        if let Some(batch) = framer.push(&data, rows)? {
            seen(&batch)?;
            jobs.send(job(batch)).await.map_err(|_| closed())?;
        }
    }
    let rest = framer.finish()?;
    if rest.rows > 0 {
        seen(&rest)?;
        jobs.send(job(rest)).await.map_err(|_| closed())?;
    }
    Ok(())
}

/// A worker: flattens queued batches into Arrow and appends them, inside the run's open
/// DuckDB transaction. Returns the statements it appended and the largest seq among them.
pub(super) fn append_jobs(
    queue: &Mutex<tokio::sync::mpsc::Receiver<Job>>,
    conn: &Mutex<duckdb::Connection>,
    run_id: i64,
) -> Result<(i64, i64), WarehouseError> {
    let (mut rows, mut max_seq) = (0i64, 0i64);
    // Seconds spent waiting for work, building Arrow batches and appending (with its lock).
    let (mut waiting, mut flattening, mut appending) = (0f64, 0f64, 0f64);
    loop {
        let started = Instant::now();
        let Some(job) = queue.lock().expect("job queue lock").blocking_recv() else {
            tracing::debug!(waiting, flattening, appending, "etl worker done");
            return Ok((rows, max_seq));
        };
        waiting += started.elapsed().as_secs_f64();
        let started = Instant::now();
        let (table, batch) = match job {
            Job::Statements(b) => {
                let batch = extract::statement_batch(&b, run_id)?;
                rows += batch.num_rows() as i64;
                let seqs = batch
                    .column(0)
                    .as_any()
                    .downcast_ref::<arrow::array::Int64Array>()
                    .and_then(|a| a.values().iter().copied().max());
                max_seq = max_seq.max(seqs.unwrap_or(0));
                ("silver_statement", batch)
            }
            Job::Activities(b, seqs) => (
                "silver_link_activity",
                extract::link_batch(&b, "activity_iri", &seqs)?,
            ),
            Job::Agents(b, seqs) => ("silver_link_agent", extract::link_batch(&b, "ifi", &seqs)?),
        };
        flattening += started.elapsed().as_secs_f64();
        let started = Instant::now();
        let c = conn.lock().expect("duckdb connection lock");
        let mut app = c.appender(table)?;
        app.append_record_batch(batch)?;
        app.flush()?;
        appending += started.elapsed().as_secs_f64();
    }
}
