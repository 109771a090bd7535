//! The order of statement writes, which queries rely on.
//!
//! `stored` and `seq` are assigned in one serialized step ([`WriteOrder::enter`] through
//! [`Ticket::allocated`]): a later batch gets a later `stored` and higher `seq` values, so
//! the sequence order is the `stored` order the specification sorts by, and time bounds
//! (`since`, `until`) translate into sequence ranges. Only the assignment and the INSERT are
//! serialized; validation, link rows and the commit run concurrently.
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

use std::collections::BTreeMap;
use std::sync::Mutex;

use chrono::{DateTime, Duration, DurationRound, Utc};
use sqlx::PgPool;

#[derive(Default)]
pub struct WriteOrder {
    /// Held from the assignment of `stored` until the batch's rows are inserted.
    allocating: tokio::sync::Mutex<()>,
    state: Mutex<State>,
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
    /// Known once the rows are inserted; until then every `seq` of the batch is above
    /// `max_allocated`.
    first_seq: Option<i64>,
}

/// A batch between the assignment of its `stored` time and the insertion of its rows.
pub struct Ticket<'a> {
    order: &'a WriteOrder,
    _allocating: tokio::sync::MutexGuard<'a, ()>,
    write: Option<u64>,
    pub stored: DateTime<Utc>,
}

/// A batch whose rows are inserted and not yet committed or rolled back; dropping it says
/// the transaction has ended.
pub struct InFlight<'a> {
    order: &'a WriteOrder,
    write: Option<u64>,
}

impl WriteOrder {
    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().expect("write order lock")
    }

    /// Waits for the turn to insert, then assigns `stored`: now, and always later than
    /// every `stored` assigned before (to the microsecond, PostgreSQL's precision).
    pub async fn enter(&self, pool: &PgPool) -> Result<Ticket<'_>, sqlx::Error> {
        let allocating = self.allocating.lock().await;
        self.initialize(pool).await?;
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
                first_seq: None,
            },
        );
        Ok(Ticket {
            order: self,
            _allocating: allocating,
            write: Some(write),
            stored,
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

impl<'a> Ticket<'a> {
    /// The batch's rows are inserted with these `seq` values; the next batch may go.
    pub fn allocated(mut self, seqs: impl IntoIterator<Item = i64>) -> InFlight<'a> {
        let write = self.write.take();
        let mut state = self.order.lock();
        let (mut first, mut last) = (None::<i64>, None::<i64>);
        for seq in seqs {
            first = Some(first.map_or(seq, |f| f.min(seq)));
            last = Some(last.map_or(seq, |l| l.max(seq)));
        }
        if let Some(w) = write {
            if let Some(flight) = state.in_flight.get_mut(&w) {
                flight.first_seq = first;
            }
        }
        if let Some(last) = last {
            state.max_allocated = state.max_allocated.max(last);
        }
        InFlight {
            order: self.order,
            write,
        }
    }
}

impl Drop for Ticket<'_> {
    fn drop(&mut self) {
        if let Some(w) = self.write {
            self.order.lock().in_flight.remove(&w);
        }
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
        // Never connected: the order is initialized already.
        PgPool::connect_lazy("postgres://nobody@127.0.0.1:1/none").unwrap()
    }

    #[tokio::test]
    async fn stored_increases_and_in_flight_batches_hold_the_bounds_back() {
        let pool = lazy_pool();
        let order = order_at(10);
        let a = order.enter(&pool).await.unwrap();
        let a_stored = a.stored;
        let a = a.allocated([11, 12]);
        let b = order.enter(&pool).await.unwrap();
        assert!(b.stored > a_stored, "stored strictly increases");
        let b = b.allocated([13]);
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
    async fn a_batch_that_fails_before_insertion_leaves_no_trace() {
        let pool = lazy_pool();
        let order = order_at(5);
        let ticket = order.enter(&pool).await.unwrap();
        let stored = ticket.stored;
        assert!(order.consistent_through() < stored);
        drop(ticket);
        assert!(order.consistent_through() >= stored);
        assert_eq!(order.horizon(&pool).await.unwrap(), 5);
    }
}
