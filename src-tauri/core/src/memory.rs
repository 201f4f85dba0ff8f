//! The process's allocator, set for what Delegate does: a long-lived process that handles
//! large, short-lived buffers (agent output lines of up to 4 MB) on whichever thread runs
//! the task at that moment.

/// glibc raises its mmap threshold to the largest block freed (up to 32 MB). After the first
/// long line, blocks of a few MB then come from per-thread arenas, which keep them once
/// freed: the process grows with every thread that ever handled a long line (about 10 MB
/// more with 16 threads). A fixed threshold keeps every block above 128 KB mapped on its
/// own and given back to the system as soon as it is freed.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[allow(unsafe_code)]
pub fn return_large_blocks() {
    use nix::libc::{M_MMAP_THRESHOLD, mallopt};
    // SAFETY: mallopt(3) only changes a tunable of glibc's allocator, under its own lock; it
    // touches no memory of ours and may be called at any time.
    unsafe {
        mallopt(M_MMAP_THRESHOLD, 128 * 1024);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
pub fn return_large_blocks() {}
