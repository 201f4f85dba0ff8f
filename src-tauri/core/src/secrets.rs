//! Secrets (each source's token: Todoist, GitHub, …) live only in the OS keychain, one entry
//! per source. [`Secret`] never prints its value,
//! so a secret cannot reach a log line or an error message by accident.

use crate::config::SourceKind;
use std::fmt;
use std::sync::Mutex;
use std::sync::mpsc::{self, RecvTimeoutError};
use std::time::Duration;

/// How long one keychain call may take, in seconds, when the default does not suit.
pub const KEYRING_TIMEOUT_ENV: &str = "DELEGATE_KEYRING_TIMEOUT_SECS";
/// A keychain that has not answered in this long is not going to: the Secret Service may
/// accept the connection and then never reply, and a person is better told than kept waiting.
pub const KEYRING_TIMEOUT: Duration = Duration::from_secs(10);
const SERVICE: &str = "app.delegate.Delegate";

/// A secret value whose `Debug` and `Display` print `***`.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }
    /// The value itself: call only where it leaves the process on purpose (an HTTP header).
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    #[error(
        "the keyring did not answer in {secs} s — is gnome-keyring / KWallet running? Start or unlock it (a desktop login usually does), or set the token's variable ({}) for this process instead of using the keyring",
        token_variables()
    )]
    NoAnswer { secs: u64 },
    #[error(
        "the OS keychain is not available: {detail}. {hint}, or set the token's variable ({}) for this process",
        token_variables()
    )]
    Unavailable { detail: String, hint: &'static str },
    #[error("the OS keychain refused the request: {0}")]
    Keychain(String),
    #[error(
        "the token is empty; paste the token (where to get one is written beside the field, and in `delegate token set --help`)"
    )]
    Empty,
    #[error(
        "that does not look like a token: a token is one word, without spaces or line breaks (paste only the token itself)"
    )]
    NotAToken,
}

impl SecretError {
    /// The input was wrong (not the keychain): the person can fix it by pasting again.
    pub fn is_bad_input(&self) -> bool {
        matches!(self, Self::Empty | Self::NotAToken)
    }
}

/// Where secrets are kept. The keychain in the product; memory in unit tests.
pub trait SecretStore: Send + Sync {
    fn get(&self) -> Result<Option<Secret>, SecretError>;
    fn set(&self, secret: &Secret) -> Result<(), SecretError>;
    /// Returns whether a secret was there.
    fn clear(&self) -> Result<bool, SecretError>;
}

/// A source's token in the OS keychain (Secret Service on Linux, Keychain on macOS,
/// Credential Manager on Windows). Every call runs on a thread of its own and is given up
/// after a timeout ([`KEYRING_TIMEOUT`], or [`KEYRING_TIMEOUT_ENV`]): the platform calls
/// block, and a Secret Service that never answers would otherwise hang Delegate for good.
pub struct KeychainStore {
    service: String,
    account: String,
    timeout: Duration,
    /// The thread of a call that never answered. While it is still waiting, later calls fail
    /// at once: the keyring is not answering, and stuck threads must not pile up.
    stuck: Mutex<Option<std::thread::JoinHandle<()>>>,
}

impl KeychainStore {
    /// The entry of `kind`'s token.
    pub fn for_source(kind: SourceKind) -> Self {
        Self {
            service: SERVICE.into(),
            account: kind
                .info()
                .keychain_entry
                .unwrap_or(kind.as_str())
                .to_string(),
            timeout: keyring_timeout(std::env::var(KEYRING_TIMEOUT_ENV).ok().as_deref()),
            stuck: Mutex::new(None),
        }
    }

    /// Runs `call` on the entry, given up after the timeout.
    fn call<T: Send + 'static>(
        &self,
        call: impl FnOnce(keyring::Entry) -> Result<T, SecretError> + Send + 'static,
    ) -> Result<T, SecretError> {
        let (service, account) = (self.service.clone(), self.account.clone());
        within(self.timeout, &self.stuck, move || {
            keyring::Entry::new(&service, &account)
                .map_err(map_keyring_error)
                .and_then(call)
        })
    }
}

/// Runs `call` on a thread of its own and waits at most `timeout` for its answer. A call that
/// does not answer in time is left in `stuck`; while it still waits, the next calls fail at
/// once.
fn within<T: Send + 'static>(
    timeout: Duration,
    stuck: &Mutex<Option<std::thread::JoinHandle<()>>>,
    call: impl FnOnce() -> Result<T, SecretError> + Send + 'static,
) -> Result<T, SecretError> {
    let no_answer = SecretError::NoAnswer {
        secs: timeout.as_secs(),
    };
    // Held while waiting: keychain calls go one at a time.
    let mut stuck = stuck.lock().unwrap_or_else(|e| e.into_inner());
    if stuck.as_ref().is_some_and(|h| !h.is_finished()) {
        return Err(no_answer);
    }
    *stuck = None;
    let (tx, rx) = mpsc::sync_channel(1);
    let thread = std::thread::Builder::new()
        .name("keyring".into())
        .spawn(move || {
            let _ = tx.send(call());
        })
        .map_err(|e| SecretError::Keychain(format!("cannot start a thread to ask it: {e}")))?;
    match rx.recv_timeout(timeout) {
        Ok(answer) => answer,
        Err(RecvTimeoutError::Timeout) => {
            tracing::warn!(
                timeout_s = timeout.as_secs(),
                "the keyring did not answer; giving up on it"
            );
            *stuck = Some(thread);
            Err(no_answer)
        }
        Err(RecvTimeoutError::Disconnected) => Err(SecretError::Keychain(
            "the call ended without an answer".into(),
        )),
    }
}

/// The keychain timeout: `value` in whole seconds (at least 1) when it is one, else the default.
fn keyring_timeout(value: Option<&str>) -> Duration {
    value
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map(|s| Duration::from_secs(s.max(1)))
        .unwrap_or(KEYRING_TIMEOUT)
}

impl SecretStore for KeychainStore {
    fn get(&self) -> Result<Option<Secret>, SecretError> {
        let found = self.call(|entry| match entry.get_password() {
            Ok(v) => Ok(Some(Secret::new(v))),
            Err(keyring::Error::NoEntry) => Ok(None),
            Err(e) => Err(map_keyring_error(e)),
        })?;
        if let Some(s) = &found {
            hold(s);
        }
        Ok(found)
    }

    fn set(&self, secret: &Secret) -> Result<(), SecretError> {
        if secret.expose().trim().is_empty() {
            return Err(SecretError::Empty);
        }
        hold(secret);
        let value = Secret::new(secret.expose().trim());
        self.call(move |entry| {
            entry
                .set_password(value.expose())
                .map_err(map_keyring_error)
        })
    }

    fn clear(&self) -> Result<bool, SecretError> {
        self.call(|entry| match entry.delete_credential() {
            Ok(()) => Ok(true),
            Err(keyring::Error::NoEntry) => Ok(false),
            Err(e) => Err(map_keyring_error(e)),
        })
    }
}

/// Secrets this process has held (each source's token, from the environment, the keychain, a
/// tool's login or a person's paste), so that no child it starts ever gets them: see
/// [`crate::agent::spawn::child_env`].
static HELD: Mutex<Vec<Secret>> = Mutex::new(Vec::new());

/// Remembers `secret` as one this process holds (see [`held`]).
pub fn hold(secret: &Secret) {
    let value = secret.expose().trim();
    if value.is_empty() {
        return;
    }
    let mut held = HELD.lock().unwrap_or_else(|e| e.into_inner());
    if !held.iter().any(|h| h.expose() == value) {
        held.push(Secret::new(value));
    }
}

/// Every secret this process has held so far.
pub fn held() -> Vec<Secret> {
    HELD.lock().unwrap_or_else(|e| e.into_inner()).clone()
}

/// Every source's token variable, as a list for messages ("TODOIST_API_TOKEN, GITHUB_TOKEN…").
fn token_variables() -> String {
    crate::source::SOURCES
        .iter()
        .filter_map(|s| s.token_env)
        .collect::<Vec<_>>()
        .join(", ")
}

/// Turns keyring's errors into a message that says what to install or unlock.
fn map_keyring_error(e: keyring::Error) -> SecretError {
    let detail = e.to_string();
    let lower = detail.to_lowercase();
    let hint = if lower.contains("no result found") || lower.contains("locked") {
        "Unlock your login keyring (for example by logging in to the desktop session)"
    } else if lower.contains("dbus")
        || lower.contains("d-bus")
        || lower.contains(".service files")
        || lower.contains("autolaunch")
    {
        "Install and start a Secret Service provider (gnome-keyring or KeePassXC) inside a D-Bus session"
    } else {
        ""
    };
    if matches!(
        e,
        keyring::Error::PlatformFailure(_) | keyring::Error::NoStorageAccess(_)
    ) {
        SecretError::Unavailable {
            detail,
            hint: if hint.is_empty() {
                "Check that your OS keychain is installed and unlocked"
            } else {
                hint
            },
        }
    } else {
        SecretError::Keychain(detail)
    }
}

/// A store in memory, for tests and for processes that must not touch the keychain.
#[derive(Default)]
pub struct MemoryStore(Mutex<Option<Secret>>);

impl MemoryStore {
    pub fn with(secret: &str) -> Self {
        Self(Mutex::new(Some(Secret::new(secret))))
    }
}

impl SecretStore for MemoryStore {
    fn get(&self) -> Result<Option<Secret>, SecretError> {
        Ok(self.0.lock().map(|g| g.clone()).unwrap_or(None))
    }
    fn set(&self, secret: &Secret) -> Result<(), SecretError> {
        if secret.expose().trim().is_empty() {
            return Err(SecretError::Empty);
        }
        if let Ok(mut g) = self.0.lock() {
            *g = Some(secret.clone());
        }
        Ok(())
    }
    fn clear(&self) -> Result<bool, SecretError> {
        Ok(self
            .0
            .lock()
            .map(|mut g| g.take().is_some())
            .unwrap_or(false))
    }
}

/// Where the token in use came from, for `token status` and `doctor`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum TokenOrigin {
    Environment,
    Keychain,
    /// Another tool the person is logged in with (the GitHub CLI's `gh auth token`): see
    /// [`crate::source::TokenTool`].
    Tool,
}

/// `kind`'s token: its variable first (`GITHUB_TOKEN`, …), then the store, then a tool the
/// person is logged in with, where the source has one (GitHub: `gh auth token`).
///
/// `config` says where the service is (a tool asks for that host's token); `None` is the
/// defaults.
pub fn source_token(
    kind: SourceKind,
    store: &dyn SecretStore,
    config: Option<&crate::config::Config>,
) -> Result<Option<(Secret, TokenOrigin)>, SecretError> {
    let env = kind
        .info()
        .token_env
        .and_then(|name| std::env::var(name).ok());
    let found = token_from(env, store)?;
    if found.is_none()
        && let Some(tool) = kind.info().token_tool
    {
        let defaults;
        let config = match config {
            Some(c) => c,
            None => {
                defaults = crate::config::Config::default();
                &defaults
            }
        };
        return Ok((tool.read)(config).map(|t| {
            hold(&t);
            (t, TokenOrigin::Tool)
        }));
    }
    Ok(found)
}

fn token_from(
    env: Option<String>,
    store: &dyn SecretStore,
) -> Result<Option<(Secret, TokenOrigin)>, SecretError> {
    if let Some(v) = env.filter(|v| !v.trim().is_empty()) {
        let token = Secret::new(v.trim());
        hold(&token);
        return Ok(Some((token, TokenOrigin::Environment)));
    }
    let found = store.get()?;
    if let Some(s) = &found {
        hold(s);
    }
    Ok(found.map(|s| (s, TokenOrigin::Keychain)))
}

fn origin_words(kind: SourceKind) -> String {
    TokenOrigin::Tool.describe_for(kind)
}

impl TokenOrigin {
    /// In words, for the CLI and the settings screen (`kind`: whose token).
    pub fn describe_for(self, kind: SourceKind) -> String {
        match self {
            Self::Environment => {
                format!("the {} variable", kind.info().token_env.unwrap_or("token"))
            }
            Self::Keychain => "the OS keychain".into(),
            Self::Tool => kind
                .info()
                .token_tool
                .map_or("another tool's login", |t| t.words)
                .into(),
        }
    }
}

/// Where each source's token is kept: the given stores, and for every other source its
/// own default (its OS keychain entry, or — for tests — an empty store in memory). The same
/// store is handed out for a source every time.
#[derive(Clone)]
pub struct Stores {
    kept: std::sync::Arc<
        Mutex<std::collections::HashMap<SourceKind, std::sync::Arc<dyn SecretStore>>>,
    >,
    keychain: bool,
}

impl Stores {
    /// Every source's entry in the OS keychain.
    pub fn keychain() -> Self {
        Self {
            kept: Default::default(),
            keychain: true,
        }
    }

    /// Empty stores in memory for every source: nothing saved, the keychain never asked.
    pub fn memory() -> Self {
        Self {
            kept: Default::default(),
            keychain: false,
        }
    }

    /// With `store` for `kind` (a copy: other clones keep what they had).
    pub fn with(self, kind: SourceKind, store: impl SecretStore + 'static) -> Self {
        let mut kept = self.lock().clone();
        kept.insert(kind, std::sync::Arc::new(store));
        Self {
            kept: std::sync::Arc::new(Mutex::new(kept)),
            keychain: self.keychain,
        }
    }

    /// `kind`'s store.
    pub fn get(&self, kind: SourceKind) -> std::sync::Arc<dyn SecretStore> {
        let keychain = self.keychain;
        self.lock()
            .entry(kind)
            .or_insert_with(|| {
                if keychain {
                    std::sync::Arc::new(KeychainStore::for_source(kind))
                } else {
                    std::sync::Arc::new(MemoryStore::default())
                }
            })
            .clone()
    }

    fn lock(
        &self,
    ) -> std::sync::MutexGuard<
        '_,
        std::collections::HashMap<SourceKind, std::sync::Arc<dyn SecretStore>>,
    > {
        self.kept.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// A token as pasted by a person (from the settings screen or `delegate token set`): trimmed;
/// empty or multi-word input is refused before it reaches the keychain.
pub fn pasted_token(input: &str) -> Result<Secret, SecretError> {
    let token = input.trim();
    if token.is_empty() {
        return Err(SecretError::Empty);
    }
    if token.chars().any(char::is_whitespace) || token.len() > 512 {
        return Err(SecretError::NotAToken);
    }
    let token = Secret::new(token);
    hold(&token);
    Ok(token)
}

/// Whether a token is set and where it comes from — never the token itself.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct TokenStatus {
    /// Whose token.
    pub source: SourceKind,
    pub set: bool,
    pub origin: Option<TokenOrigin>,
    /// Why the keychain could not be read, with what to install or unlock.
    pub problem: Option<String>,
    /// The status in one sentence, as the settings screen shows it.
    pub summary: String,
}

/// `kind`'s token status as `store` (and the environment) has it.
pub fn token_status_for(
    kind: SourceKind,
    store: &dyn SecretStore,
    config: &crate::config::Config,
) -> TokenStatus {
    match source_token(kind, store, Some(config)) {
        Ok(found) => {
            let origin = found.map(|(_, origin)| origin);
            TokenStatus {
                source: kind,
                set: origin.is_some(),
                origin,
                problem: None,
                summary: match origin {
                    None => format!(
                        "No {} saved. Only {} employees need one.",
                        kind.info().token_name,
                        kind.info().title
                    ),
                    Some(TokenOrigin::Environment) => format!(
                        "Your {} is set by the {} variable for this session.",
                        kind.info().token_name,
                        kind.info().token_env.unwrap_or("token")
                    ),
                    Some(TokenOrigin::Keychain) => format!(
                        "Your {} is saved in the OS keychain.",
                        kind.info().token_name
                    ),
                    Some(TokenOrigin::Tool) => format!("Using {}.", origin_words(kind)),
                },
            }
        }
        Err(e) => TokenStatus {
            source: kind,
            set: false,
            origin: None,
            problem: Some(e.to_string()),
            summary: e.to_string(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_never_print() {
        let s = Secret::new("abc123");
        assert_eq!(format!("{s:?} {s}"), "Secret(***) ***");
    }

    #[test]
    fn memory_store_round_trip() {
        let m = MemoryStore::default();
        assert!(m.get().unwrap().is_none());
        m.set(&Secret::new("t")).unwrap();
        assert_eq!(m.get().unwrap().unwrap().expose(), "t");
        assert!(m.clear().unwrap());
        assert!(!m.clear().unwrap());
        assert!(matches!(m.set(&Secret::new("  ")), Err(SecretError::Empty)));
    }

    #[test]
    fn a_keychain_call_that_never_answers_is_given_up() {
        let stuck = Mutex::new(None);
        let (release, wait) = mpsc::channel::<()>();
        let (started_tx, started) = mpsc::channel::<()>();
        let hung = within(Duration::from_millis(200), &stuck, move || {
            let _ = started_tx.send(());
            let _ = wait.recv();
            Ok(1)
        });
        started.recv().unwrap();
        let e = hung.unwrap_err();
        assert!(matches!(e, SecretError::NoAnswer { .. }), "{e}");
        let text = e.to_string();
        assert!(
            text.starts_with("the keyring did not answer in 0 s"),
            "{text}"
        );
        assert!(text.contains("gnome-keyring / KWallet"), "{text}");
        assert!(text.contains("TODOIST_API_TOKEN"), "{text}");
        // While that call still waits, the next one is not even started.
        let next = within(Duration::from_secs(30), &stuck, || -> Result<u8, _> {
            panic!("started while the keyring was stuck")
        });
        assert!(matches!(next, Err(SecretError::NoAnswer { .. })));
        // Once it answers (late), the keyring is asked again.
        release.send(()).unwrap();
        let handle = stuck.lock().unwrap().take().unwrap();
        handle.join().unwrap();
        assert_eq!(
            within(Duration::from_secs(30), &stuck, || Ok(2)).unwrap(),
            2
        );
        assert!(matches!(
            within(Duration::from_secs(30), &stuck, || -> Result<u8, _> {
                Err(SecretError::Empty)
            }),
            Err(SecretError::Empty)
        ));
    }

    #[test]
    fn the_keyring_timeout_is_ten_seconds_unless_set() {
        assert_eq!(keyring_timeout(None), Duration::from_secs(10));
        assert_eq!(keyring_timeout(Some("3")), Duration::from_secs(3));
        assert_eq!(keyring_timeout(Some("0")), Duration::from_secs(1));
        assert_eq!(keyring_timeout(Some("soon")), Duration::from_secs(10));
    }

    #[test]
    fn tokens_read_or_pasted_are_held() {
        let long = "held-3f9a1c0e5b7d2e8f4a6c1b9d0e3f7a2c";
        assert!(!held().iter().any(|h| h.expose() == long));
        let store = MemoryStore::with(long);
        let (token, origin) = token_from(None, &store).unwrap().unwrap();
        assert_eq!((token.expose(), origin), (long, TokenOrigin::Keychain));
        assert!(held().iter().any(|h| h.expose() == long));
        let pasted = "pasted-0e5b7d2e8f4a6c1b9d0e3f7a2c3f9a1c";
        pasted_token(&format!(" {pasted}\n")).unwrap();
        assert!(held().iter().any(|h| h.expose() == pasted));
    }

    #[test]
    fn pasted_tokens_are_trimmed_and_checked() {
        assert_eq!(pasted_token("  abc123\n").unwrap().expose(), "abc123");
        assert!(matches!(pasted_token(" \n"), Err(SecretError::Empty)));
        assert!(matches!(
            pasted_token("abc 123"),
            Err(SecretError::NotAToken)
        ));
        assert!(matches!(pasted_token("a\nb"), Err(SecretError::NotAToken)));
        assert!(pasted_token("a\nb").unwrap_err().is_bad_input());
        assert!(pasted_token(&"x".repeat(600)).is_err());
    }
}
