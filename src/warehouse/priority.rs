//! Warehouse work runs below the CPU priority of requests.
//!
//! The ETL shares the server's cores with statement writes: at 500 PUT/s a run every 5 s
//! takes about 100–300 ms of both cores (flattening, DuckDB's append and commit), and the
//! PUTs arriving meanwhile wait for CPU. Statements are the system of record; the warehouse
//! can be a little late.
//!
//! So the writer connection is opened, and every task on it runs, on threads whose nice value
//! is [`NICE_STEPS`] above the server's. On Linux the nice value belongs to the thread, and
//! threads inherit it from the thread that starts them: DuckDB's own worker threads, started
//! when the database is opened, get it too. When the cores are idle the ETL runs as fast as
//! before; under load the scheduler gives request threads the larger share (weight 1024
//! against 110 at nice 10). Elsewhere the nice value is per process, and nothing is changed.
//!
//! Measured (ingest benchmark `--put-only --put-seconds 20`, warehouse on): PUT p99 median
//! 10.7 ms over 7 runs against 13.5 ms over 3 runs at the server's priority; the runs spread
//! from 8 to 24 ms, so the gain is within the noise of a 2-core machine. The larger cause of
//! the tail was elsewhere (see `store::write_order`).

use super::WarehouseError;

/// How many nice steps warehouse threads run below the server's own threads.
const NICE_STEPS: i32 = 10;

/// Lowers the calling thread's CPU priority by [`NICE_STEPS`] (no further than nice 19).
/// Best effort: a failure leaves the thread at the server's priority.
fn lower_this_thread() {
    #[cfg(target_os = "linux")]
    // SAFETY: getpriority/setpriority on the calling thread's own id have no memory effects.
    unsafe {
        let tid = libc::gettid() as libc::id_t;
        *libc::__errno_location() = 0;
        let current = libc::getpriority(libc::PRIO_PROCESS, tid);
        if *libc::__errno_location() == 0 {
            libc::setpriority(libc::PRIO_PROCESS, tid, (current + NICE_STEPS).min(19));
        }
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

    #[tokio::test]
    async fn warehouse_threads_and_the_threads_they_start_run_below_the_caller() {
        let own = nice_of_this_thread();
        let expected = (own + super::NICE_STEPS).min(19);
        let (task, started_by_task) = super::spawn(|| {
            let inner = std::thread::spawn(nice_of_this_thread).join().unwrap();
            (nice_of_this_thread(), inner)
        })
        .await
        .unwrap();
        assert_eq!((task, started_by_task), (expected, expected));
        assert_eq!(super::run_blocking(nice_of_this_thread), expected);
        assert_eq!(nice_of_this_thread(), own, "the caller keeps its priority");
    }
}
