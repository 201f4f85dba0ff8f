//! The app-wide settings a person changes on the Settings screen, and starting at login: the
//! desktop shell turns the login item on or off, the engine decides when and remembers the
//! person's choice in `config.toml` (`[desktop] autostart`).

use crate::config::{NotificationSettings, edit};
use crate::engine::{Engine, EngineError};
use serde::{Deserialize, Serialize};

/// The Settings screen's values.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct SettingsView {
    pub notifications: NotificationSettings,
    pub autostart: bool,
    pub global_daily_usd: Option<f64>,
}

impl Engine {
    /// The settings as the Settings screen shows them. `starts_at_login` is whether the
    /// system starts Delegate at login now (the desktop knows): that is what the switch
    /// shows, whatever was remembered.
    pub fn settings_view(&self, starts_at_login: bool) -> SettingsView {
        let config = self.config();
        SettingsView {
            notifications: config.notifications,
            autostart: starts_at_login,
            global_daily_usd: config.budget.daily_usd,
        }
    }

    /// Saves which notifications to show and the daily budget across employees (checked
    /// first), and applies them. The start-at-login switch is the desktop's to carry out;
    /// [`Engine::remember_autostart`] records it once done.
    pub async fn save_settings(&self, settings: &SettingsView) -> Result<(), EngineError> {
        edit::save_settings(
            &self.paths().config_file,
            &settings.notifications,
            settings.global_daily_usd,
        )?;
        self.reload_config().await
    }

    /// Remembers that Delegate starts at login (or not), as the person (or the first setup)
    /// chose.
    pub async fn remember_autostart(&self, enabled: bool) -> Result<(), EngineError> {
        edit::set_value(&self.paths().config_file, "desktop", "autostart", enabled)?;
        self.reload_config().await
    }

    /// Whether the desktop should turn starting at login on now: the first time Delegate has
    /// an employee, unless the person already chose either way.
    pub fn autostart_due(&self) -> bool {
        let config = self.config();
        config.desktop.autostart.is_none() && !config.employees.is_empty()
    }

    /// Which notifications to show, as the config in use says.
    pub fn notification_settings(&self) -> NotificationSettings {
        self.config().notifications
    }
}

#[cfg(test)]
mod tests {
    use crate::config::SourceKind;
    use crate::testing;

    #[tokio::test]
    async fn start_at_login_is_due_after_the_first_employee_unless_the_person_chose() {
        let dir = tempfile::tempdir().unwrap();
        let engine = testing::engine(dir.path());
        assert!(!engine.autostart_due(), "nothing set up yet");
        let e = crate::Employee::new("Writer", SourceKind::Local, dir.path().join("ws"));
        engine.save_employee(None, &e, None).await.unwrap();
        assert!(engine.autostart_due(), "the first employee");
        engine.remember_autostart(true).await.unwrap();
        assert!(!engine.autostart_due(), "done once");
        assert_eq!(engine.config().desktop.autostart, Some(true));

        // A person who turned it off keeps it off, whatever they set up next.
        let dir = tempfile::tempdir().unwrap();
        let engine = testing::engine(dir.path());
        engine.remember_autostart(false).await.unwrap();
        engine.save_employee(None, &e, None).await.unwrap();
        assert!(!engine.autostart_due());
    }

    #[tokio::test]
    async fn settings_are_checked_saved_and_applied() {
        let dir = tempfile::tempdir().unwrap();
        let engine = testing::engine(dir.path());
        let mut view = engine.settings_view(true);
        assert!(view.autostart && view.notifications.draft_ready);
        assert_eq!(view.global_daily_usd, None);
        view.notifications.gave_up = false;
        view.global_daily_usd = Some(12.5);
        engine.save_settings(&view).await.unwrap();
        assert!(!engine.notification_settings().gave_up, "applied at once");
        let shown = engine.settings_view(false);
        assert_eq!(
            (shown.global_daily_usd, shown.autostart),
            (Some(12.5), false)
        );
        view.global_daily_usd = Some(-1.0);
        let bad = engine.save_settings(&view).await.unwrap_err();
        assert_eq!(bad.code(), "invalid");
        assert_eq!(
            engine.config().budget.daily_usd,
            Some(12.5),
            "nothing written"
        );
    }
}
