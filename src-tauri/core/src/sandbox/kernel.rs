//! The sandbox's mechanism: what this machine offers, and the Landlock ruleset of one run,
//! built in Delegate's process and applied in the forked child just before `exec`.

use super::policy::{Fallback, NetworkRule, Plan};
use serde::Serialize;
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum SandboxError {
    #[error(
        "this machine cannot sandbox the agent ({reason}); the employee is set to refuse to run unsandboxed. Set `sandbox_fallback = \"unsandboxed\"` (or `sandbox = \"off\"`) to run it anyway"
    )]
    Unavailable { reason: String },
    #[error("cannot build the sandbox: {0}")]
    Build(String),
    #[error("cannot create {path} for the agent: {source}")]
    Prepare {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// What this machine offers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Support {
    /// The Landlock ABI the kernel offers (0: none).
    pub abi: i32,
    /// Why there is no sandbox, when there is none.
    pub missing: Option<String>,
    /// Whether the agent's view of the session's sockets (D-Bus, X11, the keyring) can be
    /// hidden: unprivileged user namespaces are allowed.
    pub hides_session: bool,
}

impl Support {
    pub fn available(&self) -> bool {
        self.abi > 0
    }
    /// Whether network rules hold (Landlock ABI 4).
    pub fn network(&self) -> bool {
        self.abi >= 4
    }
    /// One line for `doctor` and the settings screen.
    pub fn describe(&self) -> String {
        match &self.missing {
            None => format!(
                "Landlock ABI {}: agents run in an OS sandbox{}{}",
                self.abi,
                if self.network() {
                    " (files and network)"
                } else {
                    " (files only: this kernel has no network rules)"
                },
                if self.hides_session {
                    ""
                } else {
                    "; the session's sockets (D-Bus, keyring) stay reachable: user namespaces are not allowed here"
                }
            ),
            Some(why) => format!("no OS sandbox on this machine: {why}"),
        }
    }
}

/// The sandbox this machine offers, asked of the kernel.
pub fn support() -> Support {
    imp::support()
}

/// A run's private temporary folder (TMPDIR), removed when dropped.
#[derive(Debug)]
pub struct RunTmp {
    path: PathBuf,
}

impl RunTmp {
    /// Creates `<parent>/delegate-run-<random>` readable by the user only.
    pub fn create(parent: &Path) -> Result<Self, SandboxError> {
        use std::os::unix::fs::DirBuilderExt;
        let mut last = None;
        for _ in 0..8 {
            let path = parent.join(format!("delegate-run-{}", uuid::Uuid::new_v4().simple()));
            match std::fs::DirBuilder::new().mode(0o700).create(&path) {
                Ok(()) => return Ok(Self { path }),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => last = Some(e),
                Err(e) => return Err(SandboxError::Prepare { path, source: e }),
            }
        }
        Err(SandboxError::Prepare {
            path: parent.to_path_buf(),
            source: last.unwrap_or_else(|| std::io::Error::other("no free name")),
        })
    }
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for RunTmp {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

/// A sandbox built in Delegate's process, ready to be applied in the agent's child (by
/// [`super::contain::Launch`], which also enters the namespaces).
pub struct Prepared {
    #[cfg(target_os = "linux")]
    fd: std::os::fd::OwnedFd,
    #[cfg(target_os = "linux")]
    cover: Option<imp::Cover>,
    /// The read rights `/proc` gets when the run mounts its own (`None`: not readable).
    #[cfg(target_os = "linux")]
    proc_read: Option<u64>,
}

#[cfg(target_os = "linux")]
impl Prepared {
    /// Whether folders of the session are to be covered (which needs a mount namespace).
    pub(crate) fn covers(&self) -> bool {
        self.cover.is_some()
    }
    /// In the child, in its own mount namespace: covers the session's folders.
    pub(crate) fn cover(&self) {
        if let Some(c) = &self.cover {
            c.mount();
        }
    }
    /// In the child, last before exec: Landlock (see `imp::restrict`).
    pub(crate) fn restrict(&self, fresh_proc: bool) -> std::io::Result<()> {
        imp::restrict(self, fresh_proc)
    }
}

/// Builds the Landlock ruleset for `plan` plus the run's private `tmp` folder.
/// `Ok(None)`: the machine cannot sandbox and the plan allows running without.
pub fn prepare(plan: &Plan, tmp: &Path) -> Result<Option<Prepared>, SandboxError> {
    prepare_on(plan, tmp, &support())
}

/// [`prepare`] on a machine that offers `support`: the agent's state folders are made ready
/// either way; without Landlock the employee's fallback decides.
pub fn prepare_on(
    plan: &Plan,
    tmp: &Path,
    support: &Support,
) -> Result<Option<Prepared>, SandboxError> {
    use std::os::unix::fs::DirBuilderExt;
    for dir in &plan.state {
        if !dir.exists() {
            std::fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(dir)
                .map_err(|source| SandboxError::Prepare {
                    path: dir.clone(),
                    source,
                })?;
        }
    }
    for (from, to) in &plan.seed {
        if from.is_file() && !to.exists() {
            std::fs::copy(from, to).map_err(|source| SandboxError::Prepare {
                path: to.clone(),
                source,
            })?;
        }
    }
    if !support.available() {
        return match plan.fallback {
            Fallback::Refuse => Err(SandboxError::Unavailable {
                reason: support.missing.clone().unwrap_or_default(),
            }),
            Fallback::Unsandboxed => Ok(None),
        };
    }
    imp::build(plan, tmp)
}

#[cfg(target_os = "linux")]
mod imp {
    use super::*;
    use landlock::{
        ABI, Access, AccessFs, AccessNet, CompatLevel, Compatible, NetPort, Ruleset, RulesetAttr,
        RulesetCreatedAttr, Scope, path_beneath_rules,
    };

    /// The newest ABI whose rights Delegate asks for; older kernels get what they support.
    const TARGET: ABI = ABI::V6;

    #[allow(unsafe_code)]
    pub fn support() -> Support {
        // SAFETY: landlock_create_ruleset(NULL, 0, LANDLOCK_CREATE_RULESET_VERSION) only
        // returns the ABI version (or an error); it reads no memory.
        let v = unsafe {
            libc::syscall(
                libc::SYS_landlock_create_ruleset,
                std::ptr::null::<libc::c_void>(),
                0usize,
                1u32,
            )
        };
        if v > 0 {
            Support {
                abi: v as i32,
                missing: None,
                hides_session: user_namespaces(),
            }
        } else {
            let why = match std::io::Error::last_os_error().raw_os_error() {
                Some(libc::EOPNOTSUPP) => {
                    "Landlock is built into this kernel but turned off (add \"landlock\" to the lsm= boot parameter)"
                }
                _ => {
                    "this kernel has no Landlock (Linux 5.13 or newer with CONFIG_SECURITY_LANDLOCK)"
                }
            };
            Support {
                abi: 0,
                missing: Some(why.into()),
                hides_session: false,
            }
        }
    }

    /// Whether this process may create a user + mount namespace (asked once, in a child).
    #[allow(unsafe_code)]
    fn user_namespaces() -> bool {
        static ANSWER: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
        *ANSWER.get_or_init(|| {
            use std::os::unix::process::CommandExt;
            let mut c = std::process::Command::new("/bin/true");
            c.stdin(std::process::Stdio::null())
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null());
            // SAFETY: unshare(2) is async-signal-safe; nothing is allocated in the child.
            unsafe {
                c.pre_exec(|| {
                    if libc::unshare(libc::CLONE_NEWUSER | libc::CLONE_NEWNS) != 0 {
                        return Err(std::io::Error::last_os_error());
                    }
                    Ok(())
                });
            }
            c.status().is_ok_and(|s| s.success())
        })
    }

    /// What the agent's child does before Landlock, inside the user and mount namespace it
    /// entered ([`super::contain`]): the session's runtime folder (`$XDG_RUNTIME_DIR`:
    /// the D-Bus session bus with the keyring's Secret Service, Wayland, PulseAudio), the X11
    /// socket folder and the socket folders of tmux, Codex's app-server and Delegate's window channel are covered by
    /// empty, read-only tmpfs mounts. Landlock cannot refuse
    /// connecting to a Unix socket named by a path; a socket that is not there cannot be
    /// connected to. All strings are prepared here, in the parent: the child only makes
    /// system calls.
    pub struct Cover {
        dirs: Vec<std::ffi::CString>,
        tmpfs: std::ffi::CString,
        options: std::ffi::CString,
    }

    impl Cover {
        pub fn for_this_session(plan: &Plan) -> Option<Self> {
            if !user_namespaces() {
                return None;
            }
            use std::ffi::CString;
            use std::os::unix::ffi::OsStrExt;
            let uid = nix::unistd::getuid();
            let mut dirs: Vec<PathBuf> = Vec::new();
            if let Some(rt) = std::env::var_os("XDG_RUNTIME_DIR").map(PathBuf::from) {
                dirs.push(rt);
            }
            dirs.push(PathBuf::from(format!("/run/user/{uid}")));
            dirs.push(PathBuf::from("/tmp/.X11-unix"));
            // Servers that run commands for whoever reaches their socket: tmux (its sockets
            // in $TMUX_TMPDIR or /tmp) and Codex's app-server (which Codex's own sandbox
            // hides for the same reason).
            let tmux = std::env::var_os("TMUX_TMPDIR")
                .filter(|d| !d.is_empty())
                .map_or_else(|| PathBuf::from("/tmp"), PathBuf::from);
            dirs.push(tmux.join(format!("tmux-{uid}")));
            dirs.push(PathBuf::from(format!("/tmp/codex-daemon-{uid}")));
            // The desktop app's window channel, where the session has no runtime folder.
            dirs.push(crate::paths::runtime_fallback());
            dirs.sort();
            dirs.dedup();
            // Never over a folder the agent is meant to use.
            dirs.retain(|d| {
                d.is_dir()
                    && !plan
                        .write
                        .iter()
                        .any(|w| w.starts_with(d) || d.starts_with(w))
            });
            let dirs: Vec<CString> = dirs
                .iter()
                .filter_map(|d| CString::new(d.as_os_str().as_bytes()).ok())
                .collect();
            Some(Self {
                dirs,
                tmpfs: CString::new("tmpfs").ok()?,
                options: CString::new("size=4k,mode=555").ok()?,
            })
        }

        /// In the child, in its own mount namespace: cover the folders. Best effort: a mount
        /// the kernel refuses leaves the rest of the sandbox in place.
        #[allow(unsafe_code)]
        pub fn mount(&self) {
            for d in &self.dirs {
                // SAFETY: mount(2) with NUL-terminated strings prepared in the parent; no
                // allocation, no lock.
                unsafe {
                    libc::mount(
                        self.tmpfs.as_ptr(),
                        d.as_ptr(),
                        self.tmpfs.as_ptr(),
                        libc::MS_NOSUID | libc::MS_NODEV | libc::MS_NOEXEC | libc::MS_RDONLY,
                        self.options.as_ptr().cast(),
                    );
                }
            }
        }
    }

    /// `struct landlock_path_beneath_attr` of the kernel's uapi.
    #[repr(C, packed)]
    struct PathBeneath {
        allowed_access: u64,
        parent_fd: i32,
    }
    const LANDLOCK_RULE_PATH_BENEATH: libc::c_int = 1;

    /// In the child, last before exec: Landlock for this process and all it starts. With
    /// `fresh_proc` the run's PID namespace mounted its own `/proc` after the rules were
    /// built (they name the old one), so `/proc` gets its read rule again.
    #[allow(unsafe_code)]
    pub fn restrict(p: &Prepared, fresh_proc: bool) -> std::io::Result<()> {
        use std::os::fd::AsRawFd;
        // SAFETY: system calls on a descriptor opened in the parent and on a path literal;
        // no allocation, no lock.
        unsafe {
            if fresh_proc && let Some(access) = p.proc_read {
                let dir = libc::open(c"/proc".as_ptr(), libc::O_PATH | libc::O_CLOEXEC);
                if dir < 0 {
                    return Err(std::io::Error::last_os_error());
                }
                let rule = PathBeneath {
                    allowed_access: access,
                    parent_fd: dir,
                };
                let r = libc::syscall(
                    libc::SYS_landlock_add_rule,
                    p.fd.as_raw_fd(),
                    LANDLOCK_RULE_PATH_BENEATH,
                    &rule as *const PathBeneath,
                    0u32,
                );
                libc::close(dir);
                if r != 0 {
                    return Err(std::io::Error::last_os_error());
                }
            }
            if libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            if libc::syscall(libc::SYS_landlock_restrict_self, p.fd.as_raw_fd(), 0u32) != 0 {
                return Err(std::io::Error::last_os_error());
            }
        }
        Ok(())
    }

    pub fn build(plan: &Plan, tmp: &Path) -> Result<Option<Prepared>, SandboxError> {
        let build = |e: &dyn std::fmt::Display| SandboxError::Build(e.to_string());
        let read = AccessFs::from_read(TARGET);
        let all = AccessFs::from_all(TARGET);
        // Best effort: an older kernel enforces what it supports (the run records the ABI).
        let mut ruleset = Ruleset::default()
            .set_compatibility(CompatLevel::BestEffort)
            .handle_access(all)
            .map_err(|e| build(&e))?;
        if plan.network != NetworkRule::Open {
            ruleset = ruleset
                .handle_access(AccessNet::ConnectTcp)
                .map_err(|e| build(&e))?;
        }
        let ruleset = ruleset
            .scope(Scope::AbstractUnixSocket | Scope::Signal)
            .map_err(|e| build(&e))?;
        let existing = |list: &[PathBuf]| -> Vec<PathBuf> {
            list.iter().filter(|p| p.exists()).cloned().collect()
        };
        let mut created = ruleset
            .create()
            .map_err(|e| build(&e))?
            .add_rules(path_beneath_rules(existing(&plan.read), read))
            .map_err(|e| build(&e))?
            .add_rules(path_beneath_rules(existing(&plan.write), all))
            .map_err(|e| build(&e))?
            .add_rules(path_beneath_rules([tmp], all))
            .map_err(|e| build(&e))?;
        if plan.network == NetworkRule::Https {
            created = created
                .add_rule(NetPort::new(443, AccessNet::ConnectTcp))
                .map_err(|e| build(&e))?;
        }
        let fd: Option<std::os::fd::OwnedFd> = created.into();
        match fd {
            Some(fd) => Ok(Some(Prepared {
                fd,
                cover: Cover::for_this_session(plan),
                // The read rights of ABI 1, which every kernel with Landlock handles.
                proc_read: plan
                    .may_read(Path::new("/proc"))
                    .then(|| AccessFs::from_read(ABI::V1).bits()),
            })),
            None => match plan.fallback {
                Fallback::Refuse => Err(SandboxError::Unavailable {
                    reason: "the kernel refused to create a Landlock ruleset".into(),
                }),
                Fallback::Unsandboxed => Ok(None),
            },
        }
    }
}

#[cfg(not(target_os = "linux"))]
mod imp {
    use super::*;

    pub fn support() -> Support {
        Support {
            abi: 0,
            missing: Some("the OS sandbox needs Linux (Landlock)".into()),
            hides_session: false,
        }
    }

    pub fn build(plan: &Plan, _tmp: &Path) -> Result<Option<Prepared>, SandboxError> {
        match plan.fallback {
            Fallback::Refuse => Err(SandboxError::Unavailable {
                reason: support().missing.unwrap_or_default(),
            }),
            Fallback::Unsandboxed => Ok(None),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Employee;
    use crate::sandbox::{Check, SandboxNeeds, check, plan};

    #[test]
    fn a_machine_without_landlock_refuses_or_runs_unsandboxed_as_told() {
        let dir = tempfile::tempdir().unwrap();
        let home = dir.path().join("home");
        std::fs::create_dir_all(&home).unwrap();
        let mut e = Employee::new("W", crate::config::SourceKind::Local, dir.path().join("ws"));
        e.agent = crate::config::AgentKind::Codex;
        let none = Support {
            abi: 0,
            missing: Some("this kernel has no Landlock".into()),
            hides_session: false,
        };
        // What Codex's agent file asks for: its state folder.
        let needs = || SandboxNeeds {
            write: vec![home.join(".codex")],
            ..Default::default()
        };
        let plan = plan(&e, needs(), false, Path::new("/usr/bin/true"), Some(&home)).unwrap();
        match prepare_on(&plan, dir.path(), &none) {
            Err(SandboxError::Unavailable { reason }) => {
                assert_eq!(reason, "this kernel has no Landlock")
            }
            other => panic!("{:?}", other.map(|p| p.is_some())),
        }
        // The agent's state folder is ready either way.
        assert!(home.join(".codex").is_dir());
        e.sandbox_fallback = Fallback::Unsandboxed;
        let plan =
            crate::sandbox::plan(&e, needs(), false, Path::new("/usr/bin/true"), Some(&home))
                .unwrap();
        assert!(prepare_on(&plan, dir.path(), &none).unwrap().is_none());
        assert!(matches!(
            check(&e, &none).as_slice(),
            [Check::Note(n)] if n.contains("WITHOUT an OS sandbox")
        ));
        e.sandbox_fallback = Fallback::Refuse;
        assert!(matches!(
            check(&e, &none).as_slice(),
            [Check::Problem { fix, .. }] if fix.contains("sandbox_fallback")
        ));
    }
}
