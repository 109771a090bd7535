//! The sequence horizon: the highest `seq` below which no statement can still appear.
//!
//! `seq` values are allocated when a batch is inserted but become visible when its
//! transaction commits, so commits can land out of sequence order. A reader paging upwards
//! (`ascending=true` with `more`) that moved past a `seq` still in flight would never see that
//! statement. Allocation is therefore serialized through [`SeqHorizon::allocate`], which
//! records each uncommitted batch's first `seq` until its transaction ends, and ascending
//! pages stop at [`SeqHorizon::current`]. Only the INSERT itself is serialized; validation,
//! link rows and the commit run concurrently.
//!
//! The horizon covers the writes of this process; several Cairn processes writing to one
//! database would each need to see the others' in-flight batches (not supported yet).

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::Mutex;

use sqlx::PgPool;

#[derive(Default)]
pub struct SeqHorizon {
    /// Held while a batch's rows are inserted, so `seq` order is allocation order.
    allocating: tokio::sync::Mutex<()>,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    /// Highest `seq` allocated so far; `None` until read from the database.
    max_allocated: Option<i64>,
    next_write: u64,
    /// First `seq` of each batch allocated but not yet committed or rolled back.
    in_flight: BTreeMap<u64, i64>,
}

/// Keeps a batch's first `seq` in flight until dropped (after commit or rollback).
pub struct InFlight<'a> {
    horizon: &'a SeqHorizon,
    write: Option<u64>,
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        if let Some(w) = self.write {
            self.horizon.lock().in_flight.remove(&w);
        }
    }
}

impl SeqHorizon {
    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().expect("seq horizon lock")
    }

    /// Runs `insert` (which allocates `seq` values) with allocation serialized, and records
    /// the batch (its `seq` values as `seqs_of` lists them) as in flight.
    pub async fn allocate<F, T, E>(
        &self,
        insert: F,
        seqs_of: impl Fn(&T) -> Vec<i64>,
    ) -> Result<(T, InFlight<'_>), E>
    where
        F: Future<Output = Result<T, E>>,
    {
        let _order = self.allocating.lock().await;
        let inserted = insert.await?;
        let seqs = seqs_of(&inserted);
        let mut state = self.lock();
        let write = match (seqs.iter().min(), seqs.iter().max()) {
            (Some(&first), Some(&last)) => {
                state.next_write += 1;
                let w = state.next_write;
                state.in_flight.insert(w, first);
                state.max_allocated = Some(state.max_allocated.unwrap_or(0).max(last));
                Some(w)
            }
            _ => None,
        };
        Ok((
            inserted,
            InFlight {
                horizon: self,
                write,
            },
        ))
    }

    /// Every statement with `seq` at or below the result is committed (or never will be).
    pub async fn current(&self, pool: &PgPool) -> Result<i64, sqlx::Error> {
        if self.lock().max_allocated.is_none() {
            // First use: nothing can allocate while the database's maximum is read.
            let _order = self.allocating.lock().await;
            if self.lock().max_allocated.is_none() {
                let max: i64 = sqlx::query_scalar("SELECT coalesce(max(seq), 0) FROM statements")
                    .fetch_one(pool)
                    .await?;
                let mut state = self.lock();
                state.max_allocated = Some(state.max_allocated.unwrap_or(0).max(max));
            }
        }
        let state = self.lock();
        let max = state.max_allocated.unwrap_or(0);
        Ok(match state.in_flight.values().min() {
            Some(first) => (first - 1).min(max),
            None => max,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn in_flight_batches_hold_the_horizon_back() {
        let h = SeqHorizon::default();
        h.lock().max_allocated = Some(10);
        let seqs = |v: &Vec<i64>| v.clone();
        let (_, a) = h
            .allocate(async { Ok::<_, ()>(vec![11, 12]) }, seqs)
            .await
            .unwrap();
        let (_, b) = h
            .allocate(async { Ok::<_, ()>(vec![13]) }, seqs)
            .await
            .unwrap();
        let horizon = |h: &SeqHorizon| {
            let s = h.lock();
            let max = s.max_allocated.unwrap();
            s.in_flight.values().min().map_or(max, |f| (f - 1).min(max))
        };
        assert_eq!(horizon(&h), 10);
        drop(b); // a later batch committing first does not move the horizon
        assert_eq!(horizon(&h), 10);
        drop(a);
        assert_eq!(horizon(&h), 13);
        let failed = h
            .allocate(async { Err::<Vec<i64>, _>("insert failed") }, seqs)
            .await;
        assert!(failed.is_err());
        assert_eq!(horizon(&h), 13);
    }
}
