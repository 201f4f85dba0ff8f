//! The OS sandbox settings of an employee, as `config.toml` names them. What they allow and
//! how they are enforced is the sandbox module's business ([`crate::sandbox`]).

use serde::{Deserialize, Serialize};

/// How much of the machine an employee's agent may touch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "lowercase")]
pub enum SandboxMode {
    /// Writes: workspace, agent state, private tmp. Reads: the system, the agent, the workspace.
    #[default]
    Strict,
    /// Writes as strict; reads anything the user can.
    Workspace,
    /// No OS sandbox.
    Off,
}

/// Which TCP connections the agent may open.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "lowercase")]
pub enum NetworkRule {
    /// Any.
    #[default]
    Open,
    /// Only to port 443 (HTTPS), where the kernel supports network rules.
    Https,
    /// None, where the kernel supports network rules.
    None,
}

/// What to do when the machine cannot sandbox (no Landlock, another OS).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "lowercase")]
pub enum Fallback {
    /// Do not start the agent; the employee needs attention.
    #[default]
    Refuse,
    /// Start it unsandboxed, and say so in the run.
    Unsandboxed,
}

impl SandboxMode {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Strict => "strict",
            Self::Workspace => "workspace",
            Self::Off => "off",
        }
    }
}

impl NetworkRule {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Open => "open",
            Self::Https => "https",
            Self::None => "none",
        }
    }
}

/// The settings parse from their config names (`strict`, `https`, …) the way serde reads
/// them from config.toml, so the CLI flags and the file accept the same words.
macro_rules! from_config_name {
    ($($t:ty),*) => {$(
        impl std::str::FromStr for $t {
            type Err = String;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                use serde::de::IntoDeserializer;
                Self::deserialize(s.into_deserializer())
                    .map_err(|e: serde::de::value::Error| e.to_string())
            }
        }
    )*};
}
from_config_name!(SandboxMode, NetworkRule, Fallback);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_parse_from_their_config_names() {
        assert_eq!("https".parse::<NetworkRule>(), Ok(NetworkRule::Https));
        assert_eq!("off".parse::<SandboxMode>(), Ok(SandboxMode::Off));
        assert_eq!("unsandboxed".parse::<Fallback>(), Ok(Fallback::Unsandboxed));
        let err = "bogus".parse::<SandboxMode>().unwrap_err();
        assert!(err.contains("`strict`, `workspace`, `off`"), "{err}");
    }
}
