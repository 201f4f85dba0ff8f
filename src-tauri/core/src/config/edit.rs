//! Writes to `config.toml` that keep the person's comments and layout (`toml_edit`), made
//! atomic with a temporary file and a rename so a crash never leaves half a file.

use super::{Config, ConfigError, DataOnly, Employee};
use std::io::Write;
use std::path::Path;
use toml_edit::{ArrayOfTables, DocumentMut, Item, Table};

/// Keys always written, even when they hold the default value.
const ALWAYS_WRITTEN: [&str; 4] = ["name", "source", "workspace", "agent"];

/// Appends `employee` after validating it against the file's current content.
pub fn add_employee(path: &Path, employee: &Employee) -> Result<(), ConfigError> {
    let mut doc = open_for_edit(path, &employee.name, None)?;
    let table = employee_table(employee, path)?;
    match doc.get_mut("employee") {
        Some(Item::ArrayOfTables(list)) => list.push(table),
        Some(_) => {
            return Err(ConfigError::Parse {
                path: path.to_path_buf(),
                message: "`employee` must be written as [[employee]] tables".into(),
            });
        }
        None => {
            let mut list = ArrayOfTables::new();
            list.push(table);
            doc.insert("employee", Item::ArrayOfTables(list));
        }
    }
    save_checked(path, &doc.to_string())
}

/// Removes the employee called `name` (case-insensitive) and keeps everything else.
pub fn remove_employee(path: &Path, name: &str) -> Result<(), ConfigError> {
    let text = read_or_empty(path)?;
    Config::parse(path, &text, &DataOnly)?;
    let mut doc = parse_mut(path, &text)?;
    let list = doc
        .get_mut("employee")
        .and_then(Item::as_array_of_tables_mut)
        .ok_or_else(|| ConfigError::NoSuchEmployee(name.to_string()))?;
    let index = list
        .iter()
        .position(|t| {
            t.get("name")
                .and_then(Item::as_str)
                .is_some_and(|n| n.eq_ignore_ascii_case(name))
        })
        .ok_or_else(|| ConfigError::NoSuchEmployee(name.to_string()))?;
    list.remove(index);
    if list.is_empty() {
        doc.remove("employee");
    }
    save_checked(path, &doc.to_string())
}

/// Replaces the employee called `name` with `employee`, keeping its position in the file.
pub fn replace_employee(path: &Path, name: &str, employee: &Employee) -> Result<(), ConfigError> {
    let mut doc = open_for_edit(path, &employee.name, Some(name))?;
    let table = employee_table(employee, path)?;
    let slot = doc
        .get_mut("employee")
        .and_then(Item::as_array_of_tables_mut)
        .and_then(|list| {
            list.iter_mut().find(|t| {
                t.get("name")
                    .and_then(Item::as_str)
                    .is_some_and(|n| n.eq_ignore_ascii_case(name))
            })
        })
        .ok_or_else(|| ConfigError::NoSuchEmployee(name.to_string()))?;
    let decor = slot.decor().clone();
    *slot = table;
    *slot.decor_mut() = decor;
    save_checked(path, &doc.to_string())
}

/// Reads and validates the file for an edit that gives an employee the name `new_name`;
/// the name must be free unless it belongs to `replacing`.
fn open_for_edit(
    path: &Path,
    new_name: &str,
    replacing: Option<&str>,
) -> Result<DocumentMut, ConfigError> {
    let text = read_or_empty(path)?;
    let current = Config::parse(path, &text, &DataOnly)?;
    let taken = current.employees.iter().any(|e| {
        e.name.eq_ignore_ascii_case(new_name)
            && !replacing.is_some_and(|r| r.eq_ignore_ascii_case(&e.name))
    });
    if taken {
        return Err(ConfigError::DuplicateEmployee(new_name.to_string()));
    }
    parse_mut(path, &text)
}

/// Sets `[table] key = value`, creating the table if needed, keeping everything else.
pub fn set_value(
    path: &Path,
    table: &str,
    key: &str,
    value: impl Into<toml_edit::Value>,
) -> Result<(), ConfigError> {
    let text = read_or_empty(path)?;
    Config::parse(path, &text, &DataOnly)?;
    let mut doc = parse_mut(path, &text)?;
    let slot = doc
        .entry(table)
        .or_insert_with(|| Item::Table(Table::new()))
        .as_table_like_mut()
        .ok_or_else(|| ConfigError::Parse {
            path: path.to_path_buf(),
            message: format!("`{table}` must be a table"),
        })?;
    slot.insert(key, Item::Value(value.into()));
    save_checked(path, &doc.to_string())
}

/// Saves the app-wide settings a person changes in Settings: which notifications to show and
/// the daily budget across employees (`None`: no limit). The budget is checked first.
pub fn save_settings(
    path: &Path,
    notifications: &super::NotificationSettings,
    global_daily_usd: Option<f64>,
) -> Result<(), ConfigError> {
    if let Some(v) = global_daily_usd
        && !(v.is_finite() && v >= 0.0)
    {
        return Err(ConfigError::BadSetting(
            "the daily budget must be a number of dollars ≥ 0, or empty for no limit".into(),
        ));
    }
    let n = notifications;
    for (key, value) in [
        ("draft_ready", n.draft_ready),
        ("gave_up", n.gave_up),
        ("budget_reached", n.budget_reached),
        ("token_rejected", n.token_rejected),
        ("needs_attention", n.needs_attention),
    ] {
        set_value(path, "notifications", key, value)?;
    }
    match global_daily_usd {
        Some(v) => set_value(path, "budget", "daily_usd", v),
        None => unset_value(path, "budget", "daily_usd"),
    }
}

/// Removes `[table] key`, if present.
pub fn unset_value(path: &Path, table: &str, key: &str) -> Result<(), ConfigError> {
    let text = read_or_empty(path)?;
    Config::parse(path, &text, &DataOnly)?;
    let mut doc = parse_mut(path, &text)?;
    if let Some(t) = doc.get_mut(table).and_then(Item::as_table_like_mut) {
        t.remove(key);
    }
    save_checked(path, &doc.to_string())
}

fn employee_table(employee: &Employee, path: &Path) -> Result<Table, ConfigError> {
    let invalid = |message: String| ConfigError::Invalid {
        path: path.to_path_buf(),
        line: None,
        employee: employee.name.clone(),
        message,
    };
    super::validate::check(employee, &DataOnly).map_err(invalid)?;
    let defaults = toml::Table::try_from(Employee::new(
        &employee.name,
        employee.source,
        employee.workspace.clone(),
    ))
    .map_err(|e| invalid(e.to_string()))?;
    let mut wanted = toml::Table::try_from(employee).map_err(|e| invalid(e.to_string()))?;
    wanted.retain(|k, v| ALWAYS_WRITTEN.contains(&k) || defaults.get(k) != Some(&*v));
    let text = toml::to_string(&wanted).map_err(|e| invalid(e.to_string()))?;
    let doc: DocumentMut = text
        .parse()
        .map_err(|e: toml_edit::TomlError| invalid(e.to_string()))?;
    let mut table = doc.as_table().clone();
    table.set_implicit(false);
    // Keep a consistent order: the identifying keys first, the source's settings (as it
    // declares them) right after `source`.
    let settings: Vec<&str> = employee
        .source
        .info()
        .settings
        .iter()
        .map(|s| s.key)
        .collect();
    let rank = |key: &str| match key {
        "name" => 0,
        "source" => 1,
        _ => match settings.iter().position(|k| *k == key) {
            Some(i) => 2 + i,
            None => {
                2 + settings.len()
                    + ALWAYS_WRITTEN
                        .iter()
                        .position(|k| *k == key)
                        .unwrap_or(ALWAYS_WRITTEN.len())
            }
        },
    };
    table.sort_values_by(|a, _, b, _| rank(a.get()).cmp(&rank(b.get())));
    Ok(table)
}

fn read_or_empty(path: &Path) -> Result<String, ConfigError> {
    match std::fs::read_to_string(path) {
        Ok(t) => Ok(t),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(String::new()),
        Err(source) => Err(ConfigError::Read {
            path: path.to_path_buf(),
            source,
        }),
    }
}

fn parse_mut(path: &Path, text: &str) -> Result<DocumentMut, ConfigError> {
    text.parse()
        .map_err(|e: toml_edit::TomlError| ConfigError::Parse {
            path: path.to_path_buf(),
            message: e.to_string(),
        })
}

/// Re-validates the new text, then replaces the file atomically.
fn save_checked(path: &Path, text: &str) -> Result<(), ConfigError> {
    Config::parse(path, text, &DataOnly)?;
    write_atomic(path, text.as_bytes()).map_err(|source| ConfigError::Write {
        path: path.to_path_buf(),
        source,
    })
}

/// Writes `bytes` next to `path`, syncs, then renames over it.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    let file_name = path
        .file_name()
        .map(|n| n.to_string_lossy().to_string())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{file_name}.{}.tmp", std::process::id()));
    let result = (|| {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::SourceKind;
    use std::path::PathBuf;

    #[test]
    fn add_keeps_comments_and_remove_restores() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.toml");
        let original = "# my notes about Delegate\n[todoist]\napi_url = \"http://x\" # mine\n";
        std::fs::write(&path, original).unwrap();

        let mut e = Employee::new("Writer", SourceKind::Local, PathBuf::from("/w"));
        e.max_attempts = 5;
        add_employee(&path, &e).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.starts_with(original), "{text}");
        assert!(text.contains("max_attempts = 5"), "{text}");
        assert!(
            !text.contains("poll_secs"),
            "defaults stay implicit: {text}"
        );
        let loaded = Config::load(&path, &DataOnly).unwrap();
        assert_eq!(loaded.employees, vec![e.clone()]);

        assert!(matches!(
            add_employee(&path, &e),
            Err(ConfigError::DuplicateEmployee(_))
        ));
        remove_employee(&path, "writer").unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), original);
        assert!(matches!(
            remove_employee(&path, "writer"),
            Err(ConfigError::NoSuchEmployee(_))
        ));
    }

    #[test]
    fn settings_are_set_in_place() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.toml");
        std::fs::write(&path, "# mine\n[notifications]\ngave_up = true # keep me\n").unwrap();
        set_value(&path, "notifications", "draft_ready", false).unwrap();
        set_value(&path, "desktop", "autostart", true).unwrap();
        set_value(&path, "budget", "daily_usd", 12.5).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.contains("gave_up = true # keep me"), "{text}");
        let c = Config::load(&path, &DataOnly).unwrap();
        assert!(!c.notifications.draft_ready && c.notifications.gave_up);
        assert_eq!(c.desktop.autostart, Some(true));
        assert_eq!(c.budget.daily_usd, Some(12.5));
        unset_value(&path, "budget", "daily_usd").unwrap();
        assert_eq!(
            Config::load(&path, &DataOnly).unwrap().budget.daily_usd,
            None
        );
        assert!(
            set_value(&path, "notifications", "nonsense", true).is_err(),
            "validated"
        );
    }

    #[test]
    fn replace_keeps_position() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.toml");
        for n in ["A", "B", "C"] {
            add_employee(
                &path,
                &Employee::new(n, SourceKind::Local, PathBuf::from("/w")),
            )
            .unwrap();
        }
        let mut b = Employee::new("B2", SourceKind::Local, PathBuf::from("/w2"));
        b.poll_secs = 5;
        replace_employee(&path, "b", &b).unwrap();
        let names: Vec<_> = Config::load(&path, &DataOnly)
            .unwrap()
            .employees
            .into_iter()
            .map(|e| e.name)
            .collect();
        assert_eq!(names, ["A", "B2", "C"]);
    }

    #[test]
    fn invalid_employee_is_not_written() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.toml");
        let e = Employee::new("X", SourceKind::Todoist, PathBuf::from("/w"));
        let err = add_employee(&path, &e).unwrap_err().to_string();
        assert!(err.contains("project"), "{err}");
        assert!(!path.exists());
    }

    #[test]
    fn settings_are_saved_and_bad_budgets_refused_before_writing() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.toml");
        std::fs::write(&path, "# mine\n").unwrap();
        let n = crate::config::NotificationSettings {
            needs_attention: false,
            ..Default::default()
        };
        save_settings(&path, &n, Some(5.0)).unwrap();
        let c = crate::config::Config::load(&path, &DataOnly).unwrap();
        assert_eq!(
            (c.budget.daily_usd, c.notifications.needs_attention),
            (Some(5.0), false)
        );
        save_settings(&path, &n, None).unwrap();
        assert_eq!(
            crate::config::Config::load(&path, &DataOnly)
                .unwrap()
                .budget
                .daily_usd,
            None
        );
        for bad in [-1.0, f64::NAN, f64::INFINITY] {
            let err = save_settings(&path, &n, Some(bad)).unwrap_err();
            assert!(matches!(err, ConfigError::BadSetting(_)), "{err}");
        }
        assert!(
            std::fs::read_to_string(&path).unwrap().contains("# mine"),
            "comments kept"
        );
    }
}
