//! Shared by the end-to-end tests: which binary to drive, where artefacts go, and a guard that
//! stops helper processes however a test ends.
#![allow(dead_code, clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::Child;

/// The app under test: the debug binary, or `DELEGATE_APP_BIN` (e.g. a release build).
pub fn app_binary() -> PathBuf {
    std::env::var_os("DELEGATE_APP_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_delegate-app")))
}

/// `DELEGATE_E2E_ARTIFACTS`, default `target/e2e-artifacts`.
pub fn artifacts() -> PathBuf {
    let dir = std::env::var_os("DELEGATE_E2E_ARTIFACTS")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/e2e-artifacts"));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Waits until something accepts connections on the loopback `port` (a driver that started),
/// instead of sleeping a fixed time.
pub async fn wait_port(port: u16, secs: u64) {
    let start = std::time::Instant::now();
    while tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .is_err()
    {
        assert!(
            start.elapsed() < std::time::Duration::from_secs(secs),
            "nothing listens on port {port} after {secs} s"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

/// Kills a helper when the test ends. With `group`, the helper was started as the leader of
/// its own process group and everything in it goes too.
pub struct Guard {
    pub child: Child,
    pub group: bool,
}

impl Drop for Guard {
    fn drop(&mut self) {
        if self.group {
            let pgid = nix::unistd::Pid::from_raw(self.child.id() as i32);
            let _ = nix::sys::signal::killpg(pgid, nix::sys::signal::Signal::SIGKILL);
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Saves what the window titled `title` shows on the X display, as a person sees it
/// (ImageMagick's `import`). WebKitWebDriver's own screenshot cannot be used: Delegate keeps
/// GTK from initialising OpenGL, so WebKit draws without accelerated compositing, and in that
/// mode WebKitWebDriver's snapshot request never answers.
pub fn capture_window(title: &str, path: &Path) {
    let status = std::process::Command::new("import")
        .args(["-screen", "-window", title])
        .arg(path)
        .status()
        .unwrap();
    assert!(status.success(), "cannot capture the window {title:?}");
}
