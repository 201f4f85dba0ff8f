//! The operating-system sandbox every agent runs in (Linux Landlock).
//!
//! The rules are built in Delegate's process before the agent starts and applied in the forked
//! child just before `exec`, so they hold for the agent CLI and everything it starts, whatever
//! its own permission flags say. Landlock is allow-list only: what is not listed is refused.
//!
//! - `strict` (the default): the agent writes only its workspace, its own state folders (each
//!   agent file declares them), a private temporary folder and a few device files; it reads the
//!   system (`/usr`, `/etc`, `/opt`, `/proc`, `/sys`, `/dev`, `/run`), its own installation and
//!   runtime, the workspace and what the employee adds — not the home folder as a whole, so
//!   `~/.ssh`, `~/.aws`, `~/.gnupg`, browser profiles and other projects are out of reach.
//! - `workspace`: the same writes, but it may read everything the user can.
//! - `off`: no sandbox (explicit, and marked wherever the employee is shown).
//!
//! The network rule (`open`, `https`, `none`) limits TCP connections where the kernel supports
//! it (Landlock ABI 4).
//!
//! The module is split in two: its **policy** ([`policy`]: what a mode allows, the words the
//! form, the card and `doctor` use, the plan of one run) and its **mechanism** ([`landlock`]:
//! the kernel's rules built and applied; [`contain`]: the run's own namespaces, so the whole
//! run dies with Delegate; [`reap`]: what a crash left behind, stopped at the next start;
//! [`denials`]: the refusals read back from what the agent printed). The policy is given what an agent
//! needs ([`SandboxNeeds`]) by the agent module; nothing here knows an agent.

pub mod contain;
pub mod denials;
pub mod kernel;
pub mod policy;
pub mod reap;

pub use denials::{Denial, MAX_DENIALS_PER_TEXT, denials, tool_writes};
pub use kernel::{Prepared, RunTmp, SandboxError, Support, prepare, prepare_on, support};
pub use policy::{
    Check, Choice, Fallback, NetworkRule, Plan, SandboxMode, SandboxNeeds, SandboxView, check,
    plan, summary, view,
};
