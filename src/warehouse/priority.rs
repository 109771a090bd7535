//! Warehouse work runs below the CPU priority of requests.
//!
//! The ETL shares the server's cores with statement writes: at 500 PUT/s a run every 5 s
//! takes about 100–300 ms of both cores (flattening, DuckDB's append and commit), and the
//! PUTs arriving meanwhile wait for CPU. Statements are the system of record; the warehouse
//! can be a little late.
//!
//! So the writer connection is opened, and every task on it runs, on threads with the
//! `SCHED_IDLE` policy and a nice value [`NICE_STEPS`] above the server's. On Linux both
//! belong to the thread, and threads inherit them from the thread that starts them: DuckDB's
//! own worker threads, started when the database is opened, get them too. When the cores are
//! idle the ETL runs as fast as before; when a request thread wakes, it takes the core at once.
//! Elsewhere they are per process, and nothing is changed.
//!
//! Measured (ingest benchmark `--put-only --put-seconds 20`, warehouse on): nice 10 alone gave
//! a PUT p99 median of 10.7 ms over 7 runs against 13.5 ms over 3 runs at the server's
//! priority, within the noise of a 2-core machine. Right after the batch scenarios of the full
//! ingest benchmark, while the warehouse loads the last run's 56,000–70,000 statements, nice 10
//! left PUTs waiting: p95 39, 52 and 32 ms, p99 69, 136 and 77 ms in three runs; with
//! `SCHED_IDLE` p95 8 and 27 ms, p99 39 and 52 ms in two (README, *Ingest* → *One
//! statement*). The cost: under load that fills both cores the warehouse, and a report's
//! parallel work on DuckDB's threads, wait until the load ends (the scheduler still gives
//! `SCHED_IDLE` threads a small share). What still made PUTs wait after the batches was how
//! much the catch-up loaded at once, not its priority: it now gives way to client writes
//! (`runner::catch_up`).

use super::WarehouseError;

/// How many nice steps warehouse threads run below the server's own threads.
const NICE_STEPS: i32 = 10;

/// Lowers the calling thread's CPU priority by [`NICE_STEPS`] (no further than nice 19), and
/// moves it to the `SCHED_IDLE` policy: it then runs only on a core no request thread wants,
/// and a request thread that wakes takes the core from it at once. Best effort: a failure
/// leaves the thread at the server's priority (or at the lower nice value).
fn lower_this_thread() {
    #[cfg(target_os = "linux")]
    // SAFETY: getpriority/setpriority/sched_setscheduler on the calling thread's own id (0 is
    // the caller) with a valid parameter have no memory effects.
    unsafe {
        let tid = libc::gettid() as libc::id_t;
        *libc::__errno_location() = 0;
        let current = libc::getpriority(libc::PRIO_PROCESS, tid);
        if *libc::__errno_location() == 0 {
            libc::setpriority(libc::PRIO_PROCESS, tid, (current + NICE_STEPS).min(19));
        }
        let param = libc::sched_param { sched_priority: 0 };
        libc::sched_setscheduler(0, libc::SCHED_IDLE, &param);
    }
}

/// Runs `f` on a new warehouse-priority thread and waits for it.
pub(super) fn run_blocking<T: Send>(f: impl FnOnce() -> T + Send) -> T {
    std::thread::scope(|scope| {
        scope
            .spawn(|| {
                lower_this_thread();
                f()
            })
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
    })
}

/// Starts `f` on a new warehouse-priority thread now; the returned future yields its result.
/// A thread per task costs tens of microseconds, against the milliseconds of a warehouse task.
pub(super) fn spawn<T, F>(
    f: F,
) -> impl std::future::Future<Output = Result<T, WarehouseError>> + Send + 'static
where
    T: Send + 'static,
    F: FnOnce() -> T + Send + 'static,
{
    let (done, result) = tokio::sync::oneshot::channel();
    let started = std::thread::Builder::new()
        .name("cairn-warehouse".into())
        .spawn(move || {
            lower_this_thread();
            let _ = done.send(f());
        });
    async move {
        started.map_err(|e| anyhow::anyhow!("cannot start a warehouse thread: {e}"))?;
        result.await.map_err(|_| {
            WarehouseError::Other(anyhow::anyhow!("warehouse task failed (it panicked)"))
        })
    }
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    fn nice_of_this_thread() -> i32 {
        // SAFETY: as in lower_this_thread.
        unsafe { libc::getpriority(libc::PRIO_PROCESS, libc::gettid() as libc::id_t) }
    }

    fn policy_of_this_thread() -> i32 {
        // SAFETY: as in lower_this_thread.
        unsafe { libc::sched_getscheduler(0) }
    }

    #[tokio::test]
    async fn warehouse_threads_and_the_threads_they_start_run_below_the_caller() {
        let own = nice_of_this_thread();
        let expected = (own + super::NICE_STEPS).min(19);
        let priority = || (nice_of_this_thread(), policy_of_this_thread());
        let (task, started_by_task) = super::spawn(move || {
            let inner = std::thread::spawn(priority).join().unwrap();
            (priority(), inner)
        })
        .await
        .unwrap();
        let lowered = (expected, libc::SCHED_IDLE);
        assert_eq!((task, started_by_task), (lowered, lowered));
        assert_eq!(super::run_blocking(priority), lowered);
        assert_eq!(
            priority(),
            (own, libc::SCHED_OTHER),
            "the caller keeps its priority"
        );
    }
}
