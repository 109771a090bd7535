//! DuckDB's memory budget (`memory_limit`): one per database, shared by the writer and every
//! reader connection. The ETL's work (a run's appends, a checkpoint, the BI publication, the
//! drop of cached blocks) asks for a lowered budget; reports and SQL queries always run under
//! the normal one. A reader that starts while the budget is lowered raises it at once instead
//! of waiting, and the lowered budget comes back when the last reader ends, if the ETL's work
//! still runs. Work may also ask for fewer of DuckDB's threads (each thread of a query keeps
//! its own hash tables); readers get them all back the same way.
//!
//! DuckDB evicts unpinned blocks towards a lowered budget (read blocks are dropped, appended
//! ones not yet checkpointed go to its temporary directory). When it cannot get under the new
//! budget (pinned blocks), the `SET` fails, having evicted what it could; DuckDB 1.5.6 then
//! keeps the lowered value all the same (a test showed it), so a lowered budget is always set
//! back, whether its `SET` succeeded or not.

use std::sync::Mutex;

/// DuckDB's memory budget inside `cairn serve`. Its default (80 % of RAM) let the embedded
/// warehouse grow the server past a gigabyte; beyond this budget DuckDB spills to disk.
/// 128 MB saved about 50 MB of the server's peak under ingest but made reports on 1,000,000
/// statements 5–25 % slower (README, Benchmarks), so reports run under 256 MB.
pub const NORMAL: &str = "256MB";

/// What a piece of the ETL's work asks for.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Limit {
    /// DuckDB's `memory_limit`.
    pub memory: &'static str,
    /// DuckDB's `threads`, when fewer than its default (one per core).
    pub threads: Option<u32>,
}

impl Limit {
    /// A memory budget, all threads.
    pub const fn memory(memory: &'static str) -> Limit {
        Limit {
            memory,
            threads: None,
        }
    }
}

/// Who holds the budget now.
#[derive(Debug, Default)]
pub struct Budget {
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    /// Reader tasks running.
    readers: usize,
    /// The budget the ETL's current work asks for, if any.
    wanted: Option<Limit>,
    /// Whether `wanted` was set (successfully or not) and not set back yet.
    lowered: bool,
}

/// Sets DuckDB's budget; whether DuckDB took it.
fn set_memory(c: &duckdb::Connection, limit: &str) -> bool {
    match c.execute_batch(&format!("SET memory_limit = '{limit}'")) {
        Ok(()) => true,
        Err(e) => {
            tracing::debug!(error = %e, limit, "warehouse: DuckDB kept blocks it could not evict");
            false
        }
    }
}

/// Sets a lowered budget (and thread count).
fn set_lowered(c: &duckdb::Connection, limit: Limit) {
    set_memory(c, limit.memory);
    if let Some(n) = limit.threads {
        if let Err(e) = c.execute_batch(&format!("SET threads = {n}")) {
            tracing::warn!(error = %e, "warehouse: threads not lowered");
        }
    }
}

/// Sets the normal budget and DuckDB's default thread count; whether DuckDB took both.
fn set_normal(c: &duckdb::Connection) -> bool {
    set_memory(c, NORMAL) & c.execute_batch("RESET threads").is_ok()
}

impl Budget {
    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().expect("budget lock")
    }

    /// The ETL's work asks for `limit` until [`Budget::restore`]; set now unless a reader
    /// runs.
    pub fn lower(&self, c: &duckdb::Connection, limit: Limit) {
        let mut s = self.state();
        s.wanted = Some(limit);
        if s.readers == 0 {
            set_lowered(c, limit);
            s.lowered = true;
        }
    }

    /// The ETL's work has ended: the normal budget.
    pub fn restore(&self, c: &duckdb::Connection) {
        let mut s = self.state();
        s.wanted = None;
        if std::mem::take(&mut s.lowered) && !set_normal(c) {
            tracing::warn!("warehouse: memory budget not restored");
        }
    }

    /// A reader starts on `c`: the normal budget until the last reader ends.
    pub fn reader_starts(&self, c: &duckdb::Connection) {
        let mut s = self.state();
        s.readers += 1;
        if std::mem::take(&mut s.lowered) && !set_normal(c) {
            tracing::warn!("warehouse: memory budget not raised for a reader");
        }
    }

    /// A reader ends on `c`: the lowered budget comes back if the ETL's work still asks for it.
    pub fn reader_ends(&self, c: &duckdb::Connection) {
        let mut s = self.state();
        s.readers -= 1;
        if s.readers == 0 {
            if let Some(limit) = s.wanted {
                set_lowered(c, limit);
                s.lowered = true;
            }
        }
    }

    /// A reader runs on `c` until the returned guard drops ([`Budget::reader_starts`], then
    /// [`Budget::reader_ends`], also when the reader panics).
    pub fn reading<'a>(&'a self, c: &'a duckdb::Connection) -> Reading<'a> {
        self.reader_starts(c);
        Reading { budget: self, c }
    }

    /// The database was opened again (under its configured, normal budget).
    pub fn reopened(&self) {
        let mut s = self.state();
        s.wanted = None;
        s.lowered = false;
    }
}

/// A reader running (see [`Budget::reading`]).
pub struct Reading<'a> {
    budget: &'a Budget,
    c: &'a duckdb::Connection,
}

impl Drop for Reading<'_> {
    fn drop(&mut self) {
        self.budget.reader_ends(self.c);
    }
}
