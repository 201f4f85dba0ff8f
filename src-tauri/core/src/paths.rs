//! Where Delegate keeps its files. Every path can be relocated with one `DELEGATE_HOME`
//! (or `--home`), so tests and extra profiles never touch the real user's files.

use std::path::{Path, PathBuf};

/// The environment variable that puts every file under one folder.
pub const HOME_ENV: &str = "DELEGATE_HOME";

#[derive(Debug, thiserror::Error)]
pub enum PathsError {
    #[error("cannot find a home folder for Delegate's files; set {HOME_ENV}=/some/folder")]
    NoHome,
}

/// The files Delegate reads and writes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Paths {
    pub config_file: PathBuf,
    pub data_dir: PathBuf,
    pub log_dir: PathBuf,
}

impl Paths {
    /// All files under one folder: `DIR/config.toml`, `DIR/history.db`, `DIR/queue.db`, `DIR/logs/`.
    pub fn under(dir: &Path) -> Self {
        Self {
            config_file: dir.join("config.toml"),
            data_dir: dir.to_path_buf(),
            log_dir: dir.join("logs"),
        }
    }

    /// `explicit` (from `--home`) wins, then `DELEGATE_HOME`, then the OS folders.
    pub fn resolve(explicit: Option<&Path>) -> Result<Self, PathsError> {
        if let Some(dir) = explicit {
            return Ok(Self::under(dir));
        }
        if let Some(dir) = std::env::var_os(HOME_ENV).filter(|v| !v.is_empty()) {
            return Ok(Self::under(Path::new(&dir)));
        }
        let dirs = directories::ProjectDirs::from("app", "Delegate", "Delegate")
            .ok_or(PathsError::NoHome)?;
        let data_dir = dirs.data_local_dir().to_path_buf();
        let log_dir = dirs
            .state_dir()
            .map(|d| d.join("logs"))
            .unwrap_or_else(|| data_dir.join("logs"));
        Ok(Self {
            config_file: dirs.config_dir().join("config.toml"),
            data_dir,
            log_dir,
        })
    }

    pub fn history_db(&self) -> PathBuf {
        self.data_dir.join("history.db")
    }

    pub fn queue_db(&self) -> PathBuf {
        self.data_dir.join("queue.db")
    }
}

/// The per-user folder for the desktop app's sockets: `$XDG_RUNTIME_DIR/delegate` (the
/// session's own folder, which only the user can enter and which logout clears), or
/// `<temp>/delegate-<uid>` where the session has none. Sandboxed agents do not see it: the
/// sandbox covers both (`sandbox::kernel::Cover`). Not created here.
pub fn runtime_dir() -> PathBuf {
    match std::env::var_os("XDG_RUNTIME_DIR").filter(|d| !d.is_empty()) {
        Some(rt) => PathBuf::from(rt).join("delegate"),
        None => runtime_fallback(),
    }
}

/// Where [`runtime_dir`] is when the session has no `$XDG_RUNTIME_DIR`.
pub fn runtime_fallback() -> PathBuf {
    std::env::temp_dir().join(format!("delegate-{}", nix::unistd::getuid()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_home_holds_every_file() {
        let p = Paths::under(Path::new("/x"));
        assert_eq!(p.config_file, Path::new("/x/config.toml"));
        assert_eq!(p.history_db(), Path::new("/x/history.db"));
        assert_eq!(p.queue_db(), Path::new("/x/queue.db"));
        assert_eq!(p.log_dir, Path::new("/x/logs"));
    }

    #[test]
    fn explicit_home_wins() {
        let p = Paths::resolve(Some(Path::new("/y"))).unwrap();
        assert_eq!(p.config_file, Path::new("/y/config.toml"));
    }
}
