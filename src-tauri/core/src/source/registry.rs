//! What the rest of Delegate knows about each source — its name in `config.toml`, the words a
//! person sees, the setting that names an employee's target, the token it needs and where
//! that token is kept — so the engine, the CLI, the app and `doctor` ask here instead of
//! naming sources. A new source adds its folder, a variant of [`SourceKind`] and one line in
//! [`SOURCES`].

use super::SourceKind;
use super::service::Connect;
use serde::Serialize;

/// One source as people and settings see it.
#[derive(Debug, Clone, Copy, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct SourceInfo {
    pub kind: SourceKind,
    /// The service's name, as shown ("GitHub").
    pub title: &'static str,
    /// The employee setting that names what it works on (`project`, `repo`), if any.
    pub target_field: Option<&'static str>,
    /// What that target is called ("repository").
    pub target_noun: &'static str,
    /// That target in words ("a GitHub repository").
    pub target_words: &'static str,
    /// An example of the target, for forms and errors.
    pub target_example: &'static str,
    /// What one task is called there ("issue").
    pub task_word: &'static str,
    /// What the token is called there ("API token", "personal access token").
    pub token_name: &'static str,
    /// Where else a token may come from, as a clause for messages (", or log in with …").
    pub token_elsewhere: &'static str,
    /// The variable that overrides the keychain for one process.
    pub token_env: Option<&'static str>,
    /// The keychain entry that keeps the token.
    #[serde(skip)]
    pub keychain_entry: Option<&'static str>,
    /// Where a person gets a token, and what it must allow.
    pub token_help: &'static str,
    /// The only task links Delegate opens for it in the browser: its own task pages (a link
    /// recorded with a task that starts otherwise is never handed to the browser).
    pub task_links: &'static [&'static str],
    /// How to connect to its service with a token (none: a source on this machine).
    #[serde(skip)]
    #[cfg_attr(feature = "ts", ts(skip))]
    pub connect: Option<Connect>,
}

impl SourceInfo {
    pub fn needs_token(&self) -> bool {
        self.token_env.is_some()
    }
}

/// Every source Delegate knows, in the order the app offers them.
pub const SOURCES: [SourceInfo; 4] = [
    super::todoist::INFO,
    super::github::INFO,
    super::linear::INFO,
    super::local::INFO,
];

impl SourceKind {
    /// This source's facts.
    pub fn info(self) -> &'static SourceInfo {
        SOURCES
            .iter()
            .find(|s| s.kind == self)
            .unwrap_or(&SOURCES[SOURCES.len() - 1])
    }

    /// Sources that need a token.
    pub fn with_tokens() -> impl Iterator<Item = SourceKind> {
        SOURCES.iter().filter(|s| s.needs_token()).map(|s| s.kind)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_is_registered_once() {
        for kind in [
            SourceKind::Todoist,
            SourceKind::GitHub,
            SourceKind::Linear,
            SourceKind::Local,
        ] {
            assert_eq!(SOURCES.iter().filter(|s| s.kind == kind).count(), 1);
            assert_eq!(kind.info().kind, kind);
        }
        let envs: Vec<_> = SOURCES.iter().filter_map(|s| s.token_env).collect();
        assert_eq!(
            envs,
            ["TODOIST_API_TOKEN", "GITHUB_TOKEN", "LINEAR_API_KEY"]
        );
    }
}
