//! Hands the memory DuckDB freed back to the system once a piece of warehouse work is done.
//!
//! DuckDB's Linux release library (the one `.ci/duckdb-env` links) allocates with its own
//! jemalloc, which returns freed pages gradually (its decay), not when they are freed.
//! Measured after each ETL commit during the ingest benchmark, jemalloc kept 100–272 MB
//! resident for 3–73 MB allocated, and every next run started from there; with the decay set
//! to zero, resident stayed within 5 MB of allocated. Purging its arenas after a commit takes
//! the server back to what is in use. Without that jemalloc (its symbol below absent, as may
//! be the case for DuckDB compiled from source by the `bundled` feature; not measured), the
//! fallback is `malloc_trim`, which returns the free pages of the C library's heap.

use std::ffi::{c_char, c_int, c_void, CStr};
use std::sync::OnceLock;

/// jemalloc's `mallctl`, as DuckDB's library exports it.
type Mallctl = unsafe extern "C" fn(
    name: *const c_char,
    old: *mut c_void,
    old_len: *mut usize,
    new: *mut c_void,
    new_len: usize,
) -> c_int;

/// DuckDB's jemalloc, when the process has it.
fn duckdb_mallctl() -> Option<Mallctl> {
    static MALLCTL: OnceLock<Option<Mallctl>> = OnceLock::new();
    *MALLCTL.get_or_init(|| {
        // SAFETY: dlsym with a NUL-terminated name; the symbol, when present, is jemalloc's
        // mallctl with the signature above (jemalloc's public API, prefixed by DuckDB).
        let symbol = unsafe { libc::dlsym(libc::RTLD_DEFAULT, c"duckdb_je_mallctl".as_ptr()) };
        (!symbol.is_null()).then(|| unsafe { std::mem::transmute::<*mut c_void, Mallctl>(symbol) })
    })
}

/// `arena.<MALLCTL_ARENAS_ALL>.purge`: every arena returns its unused dirty pages.
const PURGE_ALL_ARENAS: &CStr = c"arena.4096.purge";

/// Every arena of DuckDB's jemalloc returns its unused pages; jemalloc's result (0: done).
fn purge(mallctl: Mallctl) -> c_int {
    // SAFETY: a purge takes and returns no value.
    unsafe {
        mallctl(
            PURGE_ALL_ARENAS.as_ptr(),
            std::ptr::null_mut(),
            std::ptr::null_mut(),
            std::ptr::null_mut(),
            0,
        )
    }
}

/// Returns the pages DuckDB's allocator holds but does not use to the system.
pub(super) fn release_freed_memory() {
    match duckdb_mallctl() {
        Some(mallctl) => {
            purge(mallctl);
        }
        // SAFETY: malloc_trim only releases free memory of the C library's heap.
        None => unsafe {
            libc::malloc_trim(0);
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The build CI tests links DuckDB's release library: its jemalloc must be found, or the
    /// purge silently falls back to `malloc_trim`, which does not reach DuckDB's memory.
    #[cfg(not(feature = "bundled"))]
    #[test]
    fn the_release_library_jemalloc_is_found_and_purges() {
        let _db = duckdb::Connection::open_in_memory().unwrap();
        let mallctl = duckdb_mallctl().expect("duckdb_je_mallctl in the linked libduckdb");
        assert_eq!(purge(mallctl), 0, "jemalloc refused {PURGE_ALL_ARENAS:?}");
    }
}
