//! When the warehouse's appended rows are written into compressed row groups (a DuckDB
//! checkpoint).
//!
//! DuckDB checkpoints by itself when its WAL passes `checkpoint_threshold` (16 MB by default):
//! under ingest every second or third ETL run. Each such checkpoint compresses the table's last,
//! partly filled row group again with the rows added since, and the checkpoint that completes a
//! row group (122,880 rows) after several partial ones was the expensive one: 0.7–1.4 s of CPU
//! and +170–250 MB of memory where the others took 0.1 s (DuckDB 1.5.6, 74,000 statements
//! appended in 16 to 32 runs to a silver table of 200,000; README, Benchmarks → Memory).
//!
//! So the automatic threshold is raised to a safety net ([`WAL_SAFETY_NET`]) and the ETL
//! checkpoints itself once `silver_statement` has completed a row group since the last
//! checkpoint, so each row group is compressed about once; and at least every [`MAX_AGE`]
//! while rows wait, so a quiet server does not keep them uncompressed in memory for long.
//!
//! Measured in the server (ingest benchmark, README): the peak of short runs fell from a
//! median of 456 to 406 MB; in the full-length run it did not fall (464–502 against
//! 499–500 MB), where checkpoints running for seconds behind the ingest were still the peaks.

use std::time::{Duration, Instant};

/// DuckDB's rows per row group (its default, which Cairn does not change).
pub const ROW_GROUP_ROWS: i64 = 122_880;

/// The longest appended rows wait for a checkpoint when no row group completes.
pub const MAX_AGE: Duration = Duration::from_secs(600);

/// DuckDB's own `checkpoint_threshold`, above the WAL of a full row group of statements with
/// their link rows (about 70 MB; 16 MB of WAL held about 28,000 statements): DuckDB checkpoints
/// by itself only if the ETL's checkpoints keep failing.
pub const WAL_SAFETY_NET: &str = "512MB";

/// The rows of `silver_statement` now and at the last checkpoint, and when that was. The ETL
/// only appends, so the rows are counted once at open and then from what each run loaded.
#[derive(Debug, Clone, Copy)]
pub struct Policy {
    rows: i64,
    checkpointed: i64,
    at: Instant,
}

impl Policy {
    /// A policy for a table of `rows` rows, all of them checkpointed (as after opening it).
    pub fn new(rows: i64, now: Instant) -> Policy {
        Policy {
            rows,
            checkpointed: rows,
            at: now,
        }
    }

    /// Records `rows` more rows committed to the table.
    pub fn appended(&mut self, rows: i64) {
        self.rows += rows;
    }

    /// Whether to checkpoint now.
    pub fn due(&self, now: Instant) -> bool {
        let completed_a_group = self.rows / ROW_GROUP_ROWS > self.checkpointed / ROW_GROUP_ROWS;
        let waited = self.rows != self.checkpointed && now.duration_since(self.at) >= MAX_AGE;
        completed_a_group || waited
    }

    /// Records a checkpoint of the table as it is now.
    pub fn done(&mut self, now: Instant) {
        *self = Policy::new(self.rows, now);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The policy after `appended` rows on a table of 100,000 checkpointed at `start`.
    fn after(appended: i64, start: Instant) -> Policy {
        let mut p = Policy::new(100_000, start);
        p.appended(appended);
        p
    }

    #[test]
    fn due_once_a_row_group_completes_or_rows_waited_too_long() {
        let start = Instant::now();
        assert!(!after(0, start).due(start), "nothing new");
        let to_full = ROW_GROUP_ROWS - 100_000;
        assert!(
            !after(to_full - 1, start).due(start),
            "the first group is not full yet"
        );
        assert!(after(to_full, start).due(start), "the first group is full");
        let mut p = after(to_full + 1, start);
        p.done(start);
        p.appended(ROW_GROUP_ROWS - 2);
        assert!(!p.due(start), "the second group is one row short");
        p.appended(2 * ROW_GROUP_ROWS);
        assert!(p.due(start), "a run spanning groups");
        let later = start + MAX_AGE;
        assert!(after(1, start).due(later), "rows waited MAX_AGE");
        assert!(!after(0, start).due(later), "no new rows: nothing to write");
    }
}
