//! One run's processes live and end together.
//!
//! Where the machine allows user namespaces (Linux), each run gets a PID namespace of its own
//! and its processes form this tree:
//!
//! ```text
//! Delegate
//!  └─ supervisor  the child Delegate started: its pid names the run's process group (TERM,
//!     │            then KILL, on cancel or timeout); it ignores TERM and ends as the agent ended
//!     └─ init      pid 1 of the run's PID namespace: reaps orphans; when it ends, the kernel
//!        │          kills every process left in the namespace
//!        └─ agent  pid 2, and everything it starts, whatever its process group or session
//! ```
//!
//! Each level gets SIGKILL when the one above it dies (`PR_SET_PDEATHSIG`): a Delegate that
//! is killed outright takes the whole run with it at once, without waiting for a restart, and
//! an agent that ends takes with it whatever it left running (`setsid`, double forks and
//! all). The namespace gets its own `/proc`, so the pids the agent sees are the ones `/proc`
//! describes (Claude Code reads `/proc/<its pid>/stat`), and it sees no other process.
//!
//! The supervisor and init are forks of Delegate that never `exec`: they make only system
//! calls, on data prepared in Delegate before the fork (async-signal-safe), and keep no
//! descriptor but the pipe between them. They share Delegate's memory copy-on-write.
//!
//! Without user namespaces (or off Linux) the agent is started directly, as before: it dies
//! with Delegate (`PR_SET_PDEATHSIG`), what it left in its process group is stopped when it
//! ends, and what escaped is stopped at Delegate's next start ([`super::reap`]). `doctor` and
//! each run's timeline say so ([`warning`]).

use crate::sandbox::Prepared;
use tokio::process::Command;

/// Why the run's processes are not tied to Delegate here, for the timeline and `doctor`;
/// `None` when they are.
pub fn warning() -> Option<&'static str> {
    (!available()).then_some(
        "⚠️ Processes the agent leaves running would outlive a crash of Delegate until it \
         starts again (this machine does not allow user namespaces, so a run cannot get a PID \
         namespace of its own)",
    )
}

/// What `doctor` says about this machine.
pub fn describe() -> &'static str {
    match warning() {
        None => {
            "Every process an agent starts ends with its run, even if Delegate is killed (a PID namespace per run)"
        }
        Some(w) => w.trim_start_matches("⚠️ "),
    }
}

/// Whether a run can get a PID namespace of its own (asked of the kernel once).
pub fn available() -> bool {
    imp::available()
}

/// Everything the agent's child does between `fork` and `exec`, built in Delegate's process:
/// the namespaces, the covered session folders and Landlock of the sandbox.
pub struct Launch {
    sandbox: Option<Prepared>,
    #[cfg(target_os = "linux")]
    namespaces: Option<imp::Namespaces>,
}

impl Launch {
    /// The start of a run in `sandbox` (if any): in a PID namespace of its own where the
    /// machine allows it, whatever the sandbox.
    pub fn new(sandbox: Option<Prepared>) -> Self {
        #[cfg(target_os = "linux")]
        {
            let cover = sandbox.as_ref().is_some_and(Prepared::covers);
            let pid = available();
            Self {
                namespaces: (cover || pid).then(|| imp::Namespaces::new(pid)).flatten(),
                sandbox,
            }
        }
        #[cfg(not(target_os = "linux"))]
        Self { sandbox }
    }

    /// Registers the child's part on `cmd` (after Delegate's `die_with_parent`).
    #[cfg(target_os = "linux")]
    #[allow(unsafe_code)]
    pub fn apply(self, cmd: &mut Command) {
        // SAFETY: the closure runs in the forked child before exec; everything it does is a
        // system call on data prepared here (see `imp`), with no allocation and no lock.
        unsafe {
            cmd.pre_exec(move || {
                let entered = match &self.namespaces {
                    Some(ns) => ns.enter(),
                    None => imp::Entered::default(),
                };
                if entered.mount
                    && let Some(s) = &self.sandbox
                {
                    s.cover();
                }
                // Only the agent's process comes back from here.
                let fresh_proc = if entered.pid {
                    imp::split(entered.mount)?
                } else {
                    false
                };
                if let Some(s) = &self.sandbox {
                    s.restrict(fresh_proc)?;
                }
                Ok(())
            });
        }
    }

    #[cfg(not(target_os = "linux"))]
    pub fn apply(self, _cmd: &mut Command) {
        let _ = self.sandbox;
    }
}

#[cfg(target_os = "linux")]
#[allow(unsafe_code)]
mod imp {
    use libc::{c_int, c_uint, pid_t};
    use std::ffi::CString;
    use std::io;

    /// Whether this process may create a user + mount + PID namespace and start a process in
    /// it (asked once, in a child).
    pub fn available() -> bool {
        static ANSWER: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
        *ANSWER.get_or_init(|| {
            use std::os::unix::process::CommandExt;
            let mut c = std::process::Command::new("/bin/true");
            c.stdin(std::process::Stdio::null())
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null());
            // SAFETY: system calls only; nothing is allocated in the child.
            unsafe {
                c.pre_exec(|| {
                    let flags = libc::CLONE_NEWUSER | libc::CLONE_NEWNS | libc::CLONE_NEWPID;
                    if libc::unshare(flags) != 0 {
                        return Err(io::Error::last_os_error());
                    }
                    match fork() {
                        0 => libc::_exit(0),
                        -1 => Err(io::Error::last_os_error()),
                        pid => {
                            let mut status = 0;
                            if libc::waitpid(pid, &mut status, 0) == pid
                                && libc::WIFEXITED(status)
                                && libc::WEXITSTATUS(status) == 0
                            {
                                Ok(())
                            } else {
                                Err(io::Error::from_raw_os_error(libc::ECHILD))
                            }
                        }
                    }
                });
            }
            c.status().is_ok_and(|s| s.success())
        })
    }

    /// Which namespaces the child is in after [`Namespaces::enter`].
    #[derive(Debug, Default, Clone, Copy)]
    pub struct Entered {
        /// A mount namespace of its own, private: mounts made now stay in it.
        pub mount: bool,
        /// A PID namespace of its own for the processes it starts next.
        pub pid: bool,
    }

    /// A user namespace (the same user and group, mapped to themselves) with a mount namespace
    /// and, where asked, a PID namespace. The strings are prepared here, in the parent.
    pub struct Namespaces {
        pid: bool,
        setgroups: CString,
        uid_map: CString,
        gid_map: CString,
        uid_line: Vec<u8>,
        gid_line: Vec<u8>,
    }

    impl Namespaces {
        pub fn new(pid: bool) -> Option<Self> {
            let (uid, gid) = (nix::unistd::getuid(), nix::unistd::getgid());
            Some(Self {
                pid,
                setgroups: CString::new("/proc/self/setgroups").ok()?,
                uid_map: CString::new("/proc/self/uid_map").ok()?,
                gid_map: CString::new("/proc/self/gid_map").ok()?,
                uid_line: format!("{uid} {uid} 1\n").into_bytes(),
                gid_line: format!("{gid} {gid} 1\n").into_bytes(),
            })
        }

        /// In the child: enter the namespaces. Best effort: what the kernel refuses is left
        /// out (without a PID namespace the run behaves as it does where there is none).
        pub fn enter(&self) -> Entered {
            let base = libc::CLONE_NEWUSER | libc::CLONE_NEWNS;
            // SAFETY (for every call below): plain system calls with NUL-terminated strings
            // and buffers prepared in the parent; no allocation, no lock.
            unsafe {
                let pid = if self.pid && libc::unshare(base | libc::CLONE_NEWPID) == 0 {
                    true
                } else if libc::unshare(base) == 0 {
                    false
                } else {
                    return Entered::default();
                };
                let write = |path: &CString, data: &[u8]| -> bool {
                    let fd = libc::open(path.as_ptr(), libc::O_WRONLY | libc::O_CLOEXEC);
                    if fd < 0 {
                        return false;
                    }
                    let n = libc::write(fd, data.as_ptr().cast(), data.len());
                    libc::close(fd);
                    n == data.len() as isize
                };
                write(&self.setgroups, b"deny");
                if !write(&self.uid_map, &self.uid_line) || !write(&self.gid_map, &self.gid_line) {
                    return Entered { mount: false, pid };
                }
                let mount = libc::mount(
                    std::ptr::null(),
                    c"/".as_ptr(),
                    std::ptr::null(),
                    libc::MS_REC | libc::MS_PRIVATE,
                    std::ptr::null(),
                ) == 0;
                Entered { mount, pid }
            }
        }
    }

    /// fork(2) without glibc's fork handlers: this runs in the child of a multi-threaded
    /// process, where a handler could wait for a lock another thread held at the first fork.
    unsafe fn fork() -> pid_t {
        // SAFETY: clone with only SIGCHLD is fork: the child continues on a copy of this stack.
        unsafe {
            libc::syscall(
                libc::SYS_clone,
                libc::SIGCHLD as libc::c_ulong,
                0usize,
                0usize,
                0usize,
                0usize,
            ) as pid_t
        }
    }

    /// Closes every descriptor but `keep` (the standard streams and the pipe Rust's spawn
    /// waits on included, so that neither waits for this process).
    unsafe fn close_all_but(keep: c_int) {
        // SAFETY: close_range / close on descriptors of this process.
        unsafe {
            let range = |first: c_uint, last: c_uint| {
                first > last || libc::syscall(libc::SYS_close_range, first, last, 0u32) == 0
            };
            let k = keep as c_uint;
            if !((k == 0 || range(0, k - 1)) && range(k + 1, c_uint::MAX)) {
                // Kernels before 5.9: one by one, up to the limit.
                let mut lim = libc::rlimit {
                    rlim_cur: 0,
                    rlim_max: 0,
                };
                let top = if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) == 0 {
                    lim.rlim_cur.min(1 << 16) as c_int
                } else {
                    1024
                };
                for fd in (0..top).filter(|fd| *fd != keep) {
                    libc::close(fd);
                }
            }
        }
    }

    fn errno() -> i32 {
        io::Error::last_os_error().raw_os_error().unwrap_or(0)
    }

    /// In the child, inside the new namespaces: becomes the supervisor, forks init (pid 1),
    /// which forks the agent's process. Returns only in the agent's process, with whether
    /// `/proc` is the namespace's own (mounted by init when `mount`).
    pub fn split(mount: bool) -> io::Result<bool> {
        let mut fds = [0 as c_int; 2];
        // SAFETY: system calls only (see the module's notes).
        unsafe {
            if libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) != 0 {
                return Err(io::Error::last_os_error());
            }
            let (rx, tx) = (fds[0], fds[1]);
            match fork() {
                -1 => Err(io::Error::last_os_error()),
                0 => init(rx, tx, mount),
                init => supervise(init, rx, tx),
            }
        }
    }

    /// Pid 1 of the run's namespace. Returns only in the agent's process.
    unsafe fn init(rx: c_int, tx: c_int, mount: bool) -> io::Result<bool> {
        // SAFETY: system calls only.
        unsafe {
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL, 0, 0, 0);
            libc::close(rx);
            // The supervisor died before the line above took effect: nobody reads the pipe.
            let mut p = libc::pollfd {
                fd: tx,
                events: 0,
                revents: 0,
            };
            if libc::poll(&mut p, 1, 0) == 1 && p.revents & libc::POLLERR != 0 {
                libc::_exit(1);
            }
            let fresh_proc = mount
                && libc::mount(
                    c"proc".as_ptr(),
                    c"/proc".as_ptr(),
                    c"proc".as_ptr(),
                    libc::MS_NOSUID | libc::MS_NODEV | libc::MS_NOEXEC,
                    std::ptr::null(),
                ) == 0;
            let agent = fork();
            if agent == 0 {
                libc::close(tx);
                return Ok(fresh_proc);
            }
            if agent < 0 {
                let msg = b"delegate: cannot start the agent in its PID namespace\n";
                libc::write(2, msg.as_ptr().cast(), msg.len());
                libc::_exit(127);
            }
            close_all_but(tx);
            libc::prctl(libc::PR_SET_NAME, c"delegate-init".as_ptr(), 0, 0, 0);
            loop {
                let mut status: c_int = 0;
                let r = libc::waitpid(-1, &mut status, 0);
                if r == agent {
                    let bytes = status.to_ne_bytes();
                    libc::write(tx, bytes.as_ptr().cast(), bytes.len());
                    // Leaving kills whatever the agent left running in the namespace.
                    libc::_exit(0);
                }
                if r < 0 && errno() != libc::EINTR {
                    libc::_exit(1);
                }
            }
        }
    }

    /// The process Delegate started: waits for init's word on the agent, then for init (once
    /// it is gone, so is every process of the namespace), and ends as the agent ended.
    unsafe fn supervise(init: pid_t, rx: c_int, tx: c_int) -> ! {
        // SAFETY: system calls only.
        unsafe {
            libc::close(tx);
            close_all_but(rx);
            // TERM to the run's process group is for the agent; the supervisor stays to report.
            for sig in [
                libc::SIGTERM,
                libc::SIGINT,
                libc::SIGHUP,
                libc::SIGQUIT,
                libc::SIGUSR1,
                libc::SIGUSR2,
            ] {
                libc::signal(sig, libc::SIG_IGN);
            }
            libc::prctl(libc::PR_SET_NAME, c"delegate-run".as_ptr(), 0, 0, 0);
            let mut buf = [0u8; 4];
            let mut got = 0;
            while got < buf.len() {
                let n = libc::read(rx, buf[got..].as_mut_ptr().cast(), buf.len() - got);
                if n > 0 {
                    got += n as usize;
                } else if n == 0 || errno() != libc::EINTR {
                    break;
                }
            }
            while libc::waitpid(init, std::ptr::null_mut(), 0) < 0 && errno() == libc::EINTR {}
            if got == buf.len() {
                let status = c_int::from_ne_bytes(buf);
                if libc::WIFEXITED(status) {
                    libc::_exit(libc::WEXITSTATUS(status));
                }
                if libc::WIFSIGNALED(status) {
                    let sig = libc::WTERMSIG(status);
                    // Die of the same signal, without a core dump of Delegate's memory.
                    let none = libc::rlimit {
                        rlim_cur: 0,
                        rlim_max: 0,
                    };
                    libc::setrlimit(libc::RLIMIT_CORE, &none);
                    libc::signal(sig, libc::SIG_DFL);
                    let mut set: libc::sigset_t = std::mem::zeroed();
                    libc::sigemptyset(&mut set);
                    libc::sigaddset(&mut set, sig);
                    libc::sigprocmask(libc::SIG_UNBLOCK, &set, std::ptr::null_mut());
                    libc::kill(libc::getpid(), sig);
                    libc::_exit(128 + sig);
                }
            }
            // Init ended without a word (it was killed): so was the agent.
            libc::kill(libc::getpid(), libc::SIGKILL);
            libc::_exit(128 + libc::SIGKILL)
        }
    }
}

#[cfg(not(target_os = "linux"))]
mod imp {
    pub fn available() -> bool {
        false
    }
}

#[cfg(test)]
#[cfg(target_os = "linux")]
mod tests {
    use super::*;
    use std::os::unix::process::ExitStatusExt;

    /// `sh -c script` started the way agents are (own process group, this module's launch),
    /// with `marker` in its environment: its exit and what it printed.
    async fn sh(script: &str, marker: &str) -> (std::process::ExitStatus, String) {
        let mut cmd = Command::new("/bin/sh");
        cmd.args(["-c", script])
            .env(crate::sandbox::reap::RUN_MARKER, marker)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::piped())
            .process_group(0);
        Launch::new(None).apply(&mut cmd);
        let out = cmd.output().await.unwrap();
        (
            out.status,
            String::from_utf8_lossy(&out.stdout).into_owned(),
        )
    }

    fn marker() -> String {
        format!("contain-test-{}", uuid::Uuid::new_v4())
    }

    #[tokio::test]
    async fn the_agent_ends_as_delegate_sees_it_and_takes_its_leftovers_along() {
        assert!(available(), "this test needs user namespaces");
        let m = marker();
        // Exit codes and deaths by signal reach Delegate as they happened.
        assert_eq!(sh("exit 3", &m).await.0.code(), Some(3));
        assert_eq!(
            sh("kill -TERM $$", &m).await.0.signal(),
            Some(libc::SIGTERM)
        );
        assert_eq!(
            sh("kill -SEGV $$", &m).await.0.signal(),
            Some(libc::SIGSEGV)
        );
        // The agent is pid 2 of its namespace, and /proc says so.
        let (status, out) = sh("echo $$; cut -d' ' -f1 /proc/self/stat", &m).await;
        assert!(status.success());
        let pids: Vec<&str> = out.lines().collect();
        assert_eq!(pids[0], "2", "{out}");
        assert!(pids[1].parse::<u32>().unwrap() > 2, "{out}");
        // What escaped its process group is gone once Delegate sees it end.
        let (status, _) = sh("setsid sleep 100 & sleep 100 & exit 0", &m).await;
        assert!(status.success());
        let left = crate::sandbox::reap::find(std::slice::from_ref(&m));
        crate::sandbox::reap::stop(&[m], std::time::Duration::ZERO);
        assert_eq!(left, []);
    }
}
