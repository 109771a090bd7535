//! Warehouse work runs below the CPU priority of requests.
//!
//! The ETL shares the server's cores with statement writes: at 500 PUT/s a run every 5 s
//! takes about 100–300 ms of both cores (flattening, DuckDB's append and commit), and the
//! PUTs arriving meanwhile wait for CPU. Statements are the system of record; the warehouse
//! can be a little late.
//!
//! So the writer connection is opened, and every task on it runs, on threads of Linux's
//! `SCHED_IDLE` class: they run when a core has nothing else to do, and a request thread that
//! wakes up takes the core from them at once. On Linux the scheduling class belongs to the
//! thread, and threads inherit it from the thread that starts them: DuckDB's own worker
//! threads, started when the database is opened, get it too. When the cores are idle the ETL
//! runs as fast as before. Elsewhere (or if the class cannot be set) the thread's nice value
//! is raised by [`NICE_STEPS`] instead; nothing is changed where it is per process.
//!
//! Measured (ingest benchmark `--put-only --put-seconds 15`, warehouse on, nine runs of each
//! alternated on one machine): PUT p99 10.7–19.9 ms (median 15.8) in `SCHED_IDLE` against
//! 9.8–35.4 ms (median 21.2) at nice +10, lower in seven of the nine pairs, and p95 lower in
//! all nine (5.4–9.3 against 5.8–10.9 ms). With the ETL every 60 s, so that no run fell in
//! the measured seconds, p99 was 9.7–13.0 ms: the ETL's runs still make most of the tail.
//! Nice +10 alone had measured within the noise of the server's own priority (13.5 against
//! 10.7 ms median p99), and the larger cause of the tail then was elsewhere (see
//! `store::write_order`).
//!
//! The price: while requests keep both cores busy, the warehouse gets only the idle moments
//! (at nice +10 it had about a tenth of a core) and its lag grows until the load eases.

use super::WarehouseError;

/// How many nice steps warehouse threads run below the server's own threads where
/// `SCHED_IDLE` is not available.
const NICE_STEPS: i32 = 10;

/// Puts the calling thread in the `SCHED_IDLE` class, or failing that lowers its nice value
/// by [`NICE_STEPS`] (no further than 19). Best effort: a failure of both leaves the thread at
/// the server's priority.
fn lower_this_thread() {
    #[cfg(target_os = "linux")]
    // SAFETY: sched_setscheduler/getpriority/setpriority on the calling thread's own id, with
    // a parameter that lives across the call, have no other memory effects.
    unsafe {
        let tid = libc::gettid();
        let param = libc::sched_param { sched_priority: 0 };
        if libc::sched_setscheduler(tid, libc::SCHED_IDLE, &param) == 0 {
            return;
        }
        let tid = tid as libc::id_t;
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
    /// The calling thread's scheduling class (`SCHED_OTHER`, `SCHED_IDLE`, …).
    fn class_of_this_thread() -> i32 {
        // SAFETY: as in lower_this_thread.
        unsafe { libc::sched_getscheduler(libc::gettid()) }
    }

    #[tokio::test]
    async fn warehouse_threads_and_the_threads_they_start_run_below_the_caller() {
        let own = class_of_this_thread();
        assert_ne!(own, libc::SCHED_IDLE);
        let (task, started_by_task) = super::spawn(|| {
            let inner = std::thread::spawn(class_of_this_thread).join().unwrap();
            (class_of_this_thread(), inner)
        })
        .await
        .unwrap();
        assert_eq!(
            (task, started_by_task),
            (libc::SCHED_IDLE, libc::SCHED_IDLE)
        );
        assert_eq!(super::run_blocking(class_of_this_thread), libc::SCHED_IDLE);
        assert_eq!(class_of_this_thread(), own, "the caller keeps its class");
    }
}
