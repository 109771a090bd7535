//! The order of statement writes, which queries rely on.
//!
//! `stored` and `seq` are assigned in one serialized step ([`WriteOrder::reserve`]): a later
//! batch gets a later `stored` and higher `seq` values, so the sequence order is the `stored`
//! order the specification sorts by, and time bounds (`since`, `until`) translate into
//! sequence ranges. Only that step is serialized; preparing, inserting and committing run
//! concurrently. The step is in memory: `seq` values are taken from the table's sequence
//! [`SEQ_BLOCK`] at a time and handed out in ascending order, so that a write does not wait
//! on a PostgreSQL round trip made by the write before it (one stalled round trip held every
//! write behind it: 30–50 ms bursts of PUT latency at 500 writes/s). Values left unused when
//! the process stops are gaps in `seq`, as a rolled-back batch leaves.
//!
//! Because a batch becomes visible when its transaction commits, commits can land out of
//! order. Two bounds follow from the batches still in flight:
//! - [`WriteOrder::consistent_through`]: every statement stored up to that instant is
//!   visible (`X-Experience-API-Consistent-Through`, Communication §2.1.3);
//! - [`WriteOrder::horizon`]: every statement with `seq` up to it is visible, so ascending
//!   pages that stop there never skip a statement that commits late.
//!
//! Both cover the writes of this process; several Cairn processes writing to one database
//! would each need to see the others' in-flight batches (not supported yet).

use std::collections::{BTreeMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use chrono::{DateTime, Duration, DurationRound, Utc};
use sqlx::PgPool;

/// `seq` values taken from the sequence at once when the spare ones run out.
const SEQ_BLOCK: usize = 1_000;

#[derive(Default)]
pub struct WriteOrder {
    /// Held while a batch gets its `stored` time and `seq` values: the values taken from
    /// the sequence and not handed out yet, ascending.
    allocating: tokio::sync::Mutex<VecDeque<i64>>,
    state: Mutex<State>,
    /// Commits of batches holding statements whose StatementRef target was not stored yet
    /// (see `store::statements::resolve_late_targets`).
    referrers_without_target: AtomicU64,
}

#[derive(Default)]
struct State {
    /// Whether the last `stored` and `seq` were read from the database.
    initialized: bool,
    last_stored: Option<DateTime<Utc>>,
    max_allocated: i64,
    next_write: u64,
    in_flight: BTreeMap<u64, Flight>,
}

struct Flight {
    stored: DateTime<Utc>,
    /// The batch's lowest reserved `seq` (none for an empty batch).
    first_seq: Option<i64>,
}

/// What a batch is given before it is prepared and inserted: its `stored` time and one `seq`
/// per statement, in order.
pub struct Reservation<'a> {
    pub stored: DateTime<Utc>,
    pub seqs: Vec<i64>,
    /// Keeps the batch in flight until its transaction ends.
    pub in_flight: InFlight<'a>,
}

/// A batch whose `seq` values are reserved and whose transaction has not ended yet; dropping
/// it says the transaction has committed or rolled back.
pub struct InFlight<'a> {
    order: &'a WriteOrder,
    write: Option<u64>,
}

impl WriteOrder {
    /// How many batches of this process have committed statements whose StatementRef target
    /// was not stored yet (a count that only grows).
    pub fn referrers_without_target(&self) -> u64 {
        self.referrers_without_target.load(Ordering::SeqCst)
    }

    /// Records the commit of a batch holding statements whose StatementRef target was not
    /// stored yet.
    pub fn committed_referrers_without_target(&self) {
        self.referrers_without_target.fetch_add(1, Ordering::SeqCst);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().expect("write order lock")
    }

    /// Assigns a batch of `count` statements its `stored` time — now, and always later than
    /// every `stored` assigned before (to the microsecond, PostgreSQL's precision) — and
    /// reserves its `seq` values from the table's sequence, in one serialized step. The
    /// batch is then prepared and inserted concurrently with others.
    pub async fn reserve(
        &self,
        pool: &PgPool,
        count: usize,
    ) -> Result<Reservation<'_>, sqlx::Error> {
        let mut spare = self.allocating.lock().await;
        self.initialize(pool).await?;
        if spare.len() < count {
            let more = (count - spare.len()).max(SEQ_BLOCK);
            let mut taken: Vec<i64> = sqlx::query_scalar(
                // The sequence's name is looked up once (an uncorrelated subquery), not once
                // per number: that catalog lookup was 3 % of PostgreSQL's CPU under batch ingest.
                "SELECT nextval((SELECT pg_get_serial_sequence('statements', 'seq'))::regclass)
                 FROM generate_series(1, $1)",
            )
            .bind(more as i64)
            .fetch_all(pool)
            .await?;
            // The sequence only grows: these all follow the spare values already held.
            taken.sort_unstable();
            spare.extend(taken);
        }
        let seqs: Vec<i64> = spare.drain(..count).collect();
        let mut state = self.lock();
        let now = Utc::now()
            .duration_trunc(Duration::microseconds(1))
            .expect("a representable time");
        let stored = match state.last_stored {
            Some(last) if now <= last => last + Duration::microseconds(1),
            _ => now,
        };
        state.last_stored = Some(stored);
        state.next_write += 1;
        let write = state.next_write;
        state.in_flight.insert(
            write,
            Flight {
                stored,
                first_seq: seqs.first().copied(),
            },
        );
        if let Some(&last) = seqs.last() {
            state.max_allocated = state.max_allocated.max(last);
        }
        Ok(Reservation {
            stored,
            seqs,
            in_flight: InFlight {
                order: self,
                write: Some(write),
            },
        })
    }

    /// Reads the last `stored` and `seq` once, while holding the allocation lock (or
    /// before anything was allocated).
    async fn initialize(&self, pool: &PgPool) -> Result<(), sqlx::Error> {
        if self.lock().initialized {
            return Ok(());
        }
        let (seq, stored): (Option<i64>, Option<DateTime<Utc>>) =
            sqlx::query_as("SELECT max(seq), max(stored) FROM statements")
                .fetch_one(pool)
                .await?;
        let mut state = self.lock();
        if !state.initialized {
            state.initialized = true;
            state.max_allocated = state.max_allocated.max(seq.unwrap_or(0));
            state.last_stored = state.last_stored.max(stored);
        }
        Ok(())
    }

    /// Every statement stored at or before this instant is visible to queries.
    pub fn consistent_through(&self) -> DateTime<Utc> {
        let state = self.lock();
        let now = Utc::now() - Duration::microseconds(1);
        match state.in_flight.values().map(|f| f.stored).min() {
            Some(oldest) => (oldest - Duration::microseconds(1)).min(now),
            None => now,
        }
    }

    /// Every statement with `seq` at or below the result is visible (or was rolled back).
    pub async fn horizon(&self, pool: &PgPool) -> Result<i64, sqlx::Error> {
        if !self.lock().initialized {
            let _allocating = self.allocating.lock().await;
            self.initialize(pool).await?;
        }
        let state = self.lock();
        Ok(
            match state.in_flight.values().filter_map(|f| f.first_seq).min() {
                Some(first) => (first - 1).min(state.max_allocated),
                None => state.max_allocated,
            },
        )
    }
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        if let Some(w) = self.write {
            self.order.lock().in_flight.remove(&w);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn order_at(max_seq: i64) -> WriteOrder {
        let order = WriteOrder::default();
        {
            let mut s = order.lock();
            s.initialized = true;
            s.max_allocated = max_seq;
        }
        order
    }

    fn lazy_pool() -> PgPool {
        // Never connected: the order is initialized and the batches are empty.
        sqlx::postgres::PgPoolOptions::new()
            .acquire_timeout(std::time::Duration::from_millis(200))
            .connect_lazy("postgres://nobody@127.0.0.1:1/none")
            .unwrap()
    }

    /// A reservation as `reserve` makes it, with `seqs` instead of the sequence's values.
    fn register<'a>(order: &'a WriteOrder, seqs: &[i64]) -> (DateTime<Utc>, InFlight<'a>) {
        let mut state = order.lock();
        let stored = state
            .last_stored
            .map_or_else(Utc::now, |l| l + Duration::microseconds(1));
        state.last_stored = Some(stored);
        state.next_write += 1;
        let write = state.next_write;
        state.in_flight.insert(
            write,
            Flight {
                stored,
                first_seq: seqs.first().copied(),
            },
        );
        state.max_allocated = state.max_allocated.max(*seqs.last().unwrap());
        (
            stored,
            InFlight {
                order,
                write: Some(write),
            },
        )
    }

    #[tokio::test]
    async fn in_flight_batches_hold_the_bounds_back() {
        let pool = lazy_pool();
        let order = order_at(10);
        let (a_stored, a) = register(&order, &[11, 12]);
        let (b_stored, b) = register(&order, &[13]);
        assert!(b_stored > a_stored, "stored strictly increases");
        assert_eq!(order.horizon(&pool).await.unwrap(), 10);
        assert!(order.consistent_through() < a_stored);
        drop(b); // a later batch committing first moves neither bound
        assert_eq!(order.horizon(&pool).await.unwrap(), 10);
        assert!(order.consistent_through() < a_stored);
        drop(a);
        assert_eq!(order.horizon(&pool).await.unwrap(), 13);
        assert!(order.consistent_through() >= a_stored);
    }

    #[tokio::test]
    async fn spare_seq_values_are_handed_out_in_order_without_a_round_trip() {
        let pool = lazy_pool(); // unreachable: a query would fail the reservation
        let order = order_at(10);
        order.allocating.lock().await.extend([11, 12, 13, 14]);
        let first = order.reserve(&pool, 3).await.unwrap();
        let second = order.reserve(&pool, 1).await.unwrap();
        assert_eq!(
            (first.seqs.clone(), second.seqs.clone()),
            (vec![11, 12, 13], vec![14])
        );
        assert_eq!(order.horizon(&pool).await.unwrap(), 10);
        drop(first);
        assert_eq!(order.horizon(&pool).await.unwrap(), 13);
        drop(second);
        assert_eq!(order.horizon(&pool).await.unwrap(), 14);
        assert!(
            order.reserve(&pool, 1).await.is_err(),
            "no spare values left: asks PostgreSQL"
        );
    }

    #[tokio::test]
    async fn stored_increases_across_reservations() {
        let pool = lazy_pool();
        let order = order_at(5);
        let first = order.reserve(&pool, 0).await.unwrap();
        let second = order.reserve(&pool, 0).await.unwrap();
        let (first_stored, second_stored) = (first.stored, second.stored);
        assert!(second_stored > first_stored);
        assert!(first.seqs.is_empty());
        assert!(order.consistent_through() < first_stored);
        drop(first);
        drop(second);
        assert!(order.consistent_through() >= second_stored);
        assert_eq!(order.horizon(&pool).await.unwrap(), 5);
    }
}
