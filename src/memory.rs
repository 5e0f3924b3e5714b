//! Handing freed memory back to the system at the one moment it matters: the end of a
//! start.
//!
//! The binary's allocator is jemalloc (`main.rs`), which returns freed pages over about a
//! second from its background thread. A start frees hundreds of MiB at once (the history
//! read, the decoded chunks of the cache build) just before the replica turns ready, so
//! for that second its resident size is the start's peak, not what it keeps. Purging
//! once there makes the figure an operator reads at ready the one the replica runs at.

use std::ffi::CStr;

/// jemalloc's name for "every arena" in `arena.<i>.*` controls (`MALLCTL_ARENAS_ALL`).
const PURGE_ALL_ARENAS: &CStr = c"arena.4096.purge";

/// Returns every page jemalloc holds unused to the system now. Costs a few ms after a
/// large start; a no-op (jemalloc's own empty arenas) where jemalloc is linked but not
/// the global allocator.
pub fn return_freed_pages() {
    // SAFETY: `arena.<i>.purge` takes no input and gives no output, and jemalloc requires
    // exactly that: null old and new pointers and zero lengths. The name is a valid C
    // string that lives for the whole call.
    let status = unsafe {
        tikv_jemalloc_sys::mallctl(
            PURGE_ALL_ARENAS.as_ptr(),
            std::ptr::null_mut(),
            std::ptr::null_mut(),
            std::ptr::null_mut(),
            0,
        )
    };
    if status != 0 {
        tracing::debug!(status, "jemalloc did not purge its arenas");
    }
}
