//! Secrets (the Todoist token) live only in the OS keychain. [`Secret`] never prints its value,
//! so a secret cannot reach a log line or an error message by accident.

use std::fmt;
use std::sync::Mutex;

/// Takes precedence over the keychain for this process only; never persisted.
pub const TOKEN_ENV: &str = "TODOIST_API_TOKEN";
const SERVICE: &str = "app.delegate.Delegate";
const TODOIST_ACCOUNT: &str = "todoist-api-token";

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
    #[error("the OS keychain is not available: {detail}. {hint}")]
    Unavailable { detail: String, hint: &'static str },
    #[error("the OS keychain refused the request: {0}")]
    Keychain(String),
    #[error(
        "the token is empty; paste the API token from Todoist → Settings → Integrations → Developer"
    )]
    Empty,
}

/// Where secrets are kept. The keychain in the product; memory in unit tests.
pub trait SecretStore: Send + Sync {
    fn get(&self) -> Result<Option<Secret>, SecretError>;
    fn set(&self, secret: &Secret) -> Result<(), SecretError>;
    /// Returns whether a secret was there.
    fn clear(&self) -> Result<bool, SecretError>;
}

/// The Todoist token in the OS keychain (Secret Service on Linux, Keychain on macOS,
/// Credential Manager on Windows).
pub struct KeychainStore {
    service: String,
    account: String,
}

impl KeychainStore {
    pub fn todoist() -> Self {
        Self {
            service: SERVICE.into(),
            account: TODOIST_ACCOUNT.into(),
        }
    }

    fn entry(&self) -> Result<keyring::Entry, SecretError> {
        keyring::Entry::new(&self.service, &self.account).map_err(map_keyring_error)
    }
}

impl SecretStore for KeychainStore {
    fn get(&self) -> Result<Option<Secret>, SecretError> {
        match self.entry()?.get_password() {
            Ok(v) => Ok(Some(Secret::new(v))),
            Err(keyring::Error::NoEntry) => Ok(None),
            Err(e) => Err(map_keyring_error(e)),
        }
    }

    fn set(&self, secret: &Secret) -> Result<(), SecretError> {
        if secret.expose().trim().is_empty() {
            return Err(SecretError::Empty);
        }
        self.entry()?
            .set_password(secret.expose().trim())
            .map_err(map_keyring_error)
    }

    fn clear(&self) -> Result<bool, SecretError> {
        match self.entry()?.delete_credential() {
            Ok(()) => Ok(true),
            Err(keyring::Error::NoEntry) => Ok(false),
            Err(e) => Err(map_keyring_error(e)),
        }
    }
}

/// Turns keyring's errors into a message that says what to install or unlock.
fn map_keyring_error(e: keyring::Error) -> SecretError {
    let detail = e.to_string();
    let lower = detail.to_lowercase();
    let hint = if lower.contains("no result found") || lower.contains("locked") {
        "Unlock your login keyring (for example by logging in to the desktop session), or set TODOIST_API_TOKEN for this process"
    } else if lower.contains("dbus")
        || lower.contains("d-bus")
        || lower.contains(".service files")
        || lower.contains("autolaunch")
    {
        "Install and start a Secret Service provider (gnome-keyring or KeePassXC) inside a D-Bus session, or set TODOIST_API_TOKEN for this process"
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
                "Check that your OS keychain is installed and unlocked, or set TODOIST_API_TOKEN for this process"
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
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenOrigin {
    Environment,
    Keychain,
}

/// The Todoist token: `TODOIST_API_TOKEN` first, then the store.
pub fn todoist_token(
    store: &dyn SecretStore,
) -> Result<Option<(Secret, TokenOrigin)>, SecretError> {
    if let Some(v) = std::env::var(TOKEN_ENV)
        .ok()
        .filter(|v| !v.trim().is_empty())
    {
        return Ok(Some((Secret::new(v.trim()), TokenOrigin::Environment)));
    }
    Ok(store.get()?.map(|s| (s, TokenOrigin::Keychain)))
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
}
