//! Dev-only test kit: a stateful Todoist-API-v1-compatible fake server, and (as binaries) a
//! fake agent CLI that replays recorded Claude streams. Used by integration tests, the
//! end-to-end harness and benchmarks.

pub mod todoist;
pub mod webdriver;

pub use todoist::{FakeTodoist, Recorded};

use std::path::PathBuf;

/// A binary built next to the running test executable (`target/debug/NAME`).
pub fn sibling_binary(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("current exe");
    let dir = exe
        .parent()
        .and_then(|d| {
            if d.ends_with("deps") {
                d.parent()
            } else {
                Some(d)
            }
        })
        .expect("target dir");
    let path = dir.join(name);
    assert!(
        path.exists(),
        "{} is missing: build it first with `cargo build --workspace --bins`",
        path.display()
    );
    path
}
