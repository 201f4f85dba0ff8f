//! What the rest of Delegate knows about each source — its name in `config.toml`, the words a
//! person sees, an employee's settings for it, the token it needs and where that token is
//! kept — so the engine, the CLI, the app and `doctor` ask here instead of naming sources. A
//! new source adds its folder and one line in the `sources!` list below.

use super::service::Connect;
use serde::Serialize;

/// One source as people and settings see it.
#[derive(Debug, Clone, Copy, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct SourceInfo {
    pub kind: SourceKind,
    /// The service's name, as shown ("GitHub").
    pub title: &'static str,
    /// What an employee of this source works on is called ("repository").
    pub target_noun: &'static str,
    /// That target in words ("a GitHub repository").
    pub target_words: &'static str,
    /// The employee's settings for this source, as `config.toml` names them (`repo`,
    /// `github_label`): the form, `employee add`'s flags, the checks and the summary of an
    /// employee are made from these. The first one marked `target` is what it works on.
    pub settings: &'static [Setting],
    /// What one task is called there ("issue").
    pub task_word: &'static str,
    /// The longest comment the service takes, in characters (the end comment with its
    /// drafts stays under it).
    pub comment_chars: usize,
    /// Which of its tasks an employee takes, as the start of a sentence ("Issues in Todo in
    /// this team").
    pub taken_words: &'static str,
    /// What the token is called there ("API token", "personal access token").
    pub token_name: &'static str,
    /// Where else a token may come from, as a clause for messages (", or log in with …").
    pub token_elsewhere: &'static str,
    /// The variable that overrides the keychain for one process.
    pub token_env: Option<&'static str>,
    /// A tool the person may be logged in with that gives a token when neither the variable
    /// nor the keychain has one (GitHub: `gh auth token`).
    #[serde(skip)]
    #[cfg_attr(feature = "ts", ts(skip))]
    pub token_tool: Option<TokenTool>,
    /// The service's public API, and the variable that points this process elsewhere (its
    /// section's `api_url` does it in `config.toml`).
    #[serde(skip)]
    #[cfg_attr(feature = "ts", ts(skip))]
    pub default_api_url: Option<&'static str>,
    #[serde(skip)]
    #[cfg_attr(feature = "ts", ts(skip))]
    pub api_url_env: Option<&'static str>,
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

/// Where else a source's token may come from.
#[derive(Debug, Clone, Copy)]
pub struct TokenTool {
    /// That origin in words ("the GitHub CLI's login (gh auth token)").
    pub words: &'static str,
    /// Its token for the service `config` points at, if the person is logged in (quickly:
    /// it is asked on every connect).
    pub read: fn(&crate::config::Config) -> Option<crate::secrets::Secret>,
}

/// A setting's check of a value: why it is wrong, in words that follow its key.
pub type Check = fn(&str) -> Result<(), String>;

/// One setting an employee of a source has (`repo = "octo-org/docs"`): always text.
#[derive(Debug, Clone, Copy, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Setting {
    /// Its key in `config.toml`, and `employee add`'s flag (`--repo`).
    pub key: &'static str,
    /// The form's label ("GitHub repository").
    pub label: &'static str,
    /// A line under it: what it does, what empty means.
    pub hint: &'static str,
    /// An example value, for placeholders and errors.
    pub example: &'static str,
    /// An employee of this source cannot work without it.
    pub required: bool,
    /// It names what the employee works on, picked from the account's list.
    pub target: bool,
    /// The first-run setup asks for it too (beside the target).
    pub first_run: bool,
    /// How it reads in the summary of an employee, `{}` standing for its value
    /// ("repository {}", " (issues labelled “{}”)"); empty: left out.
    pub words: &'static str,
    /// The check of a value that is set (trimmed, not empty): why it is wrong.
    #[serde(skip)]
    #[cfg_attr(feature = "ts", ts(skip))]
    pub check: Option<Check>,
}

impl SourceInfo {
    pub fn needs_token(&self) -> bool {
        self.token_env.is_some()
    }

    /// The setting named `key`, if this source has it.
    pub fn setting(&self, key: &str) -> Option<&'static Setting> {
        self.settings.iter().find(|s| s.key == key)
    }

    /// The setting that names what an employee works on (`project`, `repo`, `team`).
    pub fn target(&self) -> Option<&'static Setting> {
        self.settings.iter().find(|s| s.target)
    }
}

/// A value that must be one label name.
pub fn one_label(value: &str) -> Result<(), String> {
    if value.contains(',') {
        return Err(
            "must be one label name (no commas), or left out to take every open issue".into(),
        );
    }
    Ok(())
}

/// Declares the sources: each one's variant of [`SourceKind`], its name in `config.toml`, and
/// the module whose `INFO` describes it, in the order the app offers them.
macro_rules! sources {
    ($($kind:ident = $name:literal => $module:ident),+ $(,)?) => {
        /// Where an employee's tasks come from (`source = "github"`): one per registered
        /// source.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
        #[cfg_attr(feature = "ts", derive(ts_rs::TS))]
        pub enum SourceKind {
            $(#[serde(rename = $name)] $kind,)+
        }

        impl SourceKind {
            /// The name `config.toml` and the history use (`todoist`, `local`).
            pub fn as_str(self) -> &'static str {
                match self {
                    $(SourceKind::$kind => $name,)+
                }
            }

            /// This source's facts.
            pub fn info(self) -> &'static SourceInfo {
                match self {
                    $(SourceKind::$kind => &super::$module::INFO,)+
                }
            }
        }

        /// Every source Delegate knows, in the order the app offers them.
        pub const SOURCES: &[SourceInfo] = &[$(super::$module::INFO,)+];
    };
}

// A new source: its folder (with its `mod` line in `source/mod.rs`) and one line here.
sources! {
    Todoist = "todoist" => todoist,
    GitHub = "github" => github,
    Linear = "linear" => linear,
    Postgres = "postgres" => postgres,
    Airtable = "airtable" => airtable,
    Local = "local" => local,
}

impl SourceKind {
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
        for info in SOURCES {
            let kind = info.kind;
            assert_eq!(SOURCES.iter().filter(|s| s.kind == kind).count(), 1);
            assert_eq!(kind.info().kind, kind);
            assert_eq!(kind.as_str().parse::<SourceKind>(), Ok(kind));
        }
        let envs: Vec<_> = SOURCES.iter().filter_map(|s| s.token_env).collect();
        let unique: std::collections::HashSet<_> = envs.iter().collect();
        assert_eq!(
            unique.len(),
            envs.len(),
            "one variable per source: {envs:?}"
        );
        // A setting key belongs to one source (a form or a flag never means two things), and
        // never shadows one every employee has, nor a flag `employee add` has for itself.
        let cli_flags = ["template", "home", "arg", "help", "version"];
        let mut keys = std::collections::HashSet::new();
        for source in SOURCES {
            assert!(
                source.target().is_some() == source.needs_token(),
                "{}",
                source.title
            );
            for s in source.settings {
                assert!(keys.insert(s.key), "{} is used twice", s.key);
                assert!(!crate::config::EMPLOYEE_KEYS.contains(&s.key), "{}", s.key);
                assert!(!cli_flags.contains(&s.key), "{}", s.key);
            }
        }
    }
}
