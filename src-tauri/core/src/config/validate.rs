//! Checks that serde cannot express, each reported with the employee, the field and its line.

use super::{Config, ConfigError, Employee, SourceKind};
use std::borrow::Cow;
use std::collections::HashSet;
use std::path::Path;

/// What an employee's agent accepts (a permission mode, per-task caps, a command): rules only
/// the agent module knows. `config` checks the data; whoever loads or saves it hands the rules
/// in (the engine and the use cases pass `crate::agent::RULES`).
pub trait AgentRules: Sync {
    /// The field that is wrong for this employee's agent, and why.
    fn check(&self, employee: &Employee) -> Result<(), (&'static str, String)>;
}

/// No rules beyond the data's own: for code that only rewrites the file (`edit`) after the
/// use case checked the employee, and for tests of the file format.
pub struct DataOnly;

impl AgentRules for DataOnly {
    fn check(&self, _: &Employee) -> Result<(), (&'static str, String)> {
        Ok(())
    }
}

/// A field that is wrong and why.
struct Problem {
    field: Cow<'static, str>,
    message: String,
}

fn problem(field: impl Into<Cow<'static, str>>, message: impl Into<String>) -> Option<Problem> {
    Some(Problem {
        field: field.into(),
        message: message.into(),
    })
}

/// Validates every employee; the first problem found is returned with its line in `text`.
pub fn validate(
    config: &Config,
    path: &Path,
    text: &str,
    rules: &dyn AgentRules,
) -> Result<(), ConfigError> {
    let mut seen = HashSet::new();
    for (index, employee) in config.employees.iter().enumerate() {
        let found = check_employee(employee, rules).or_else(|| {
            if seen.insert(employee.name.to_lowercase()) {
                None
            } else {
                problem(
                    "name",
                    "this name is used by another employee; names must be unique",
                )
            }
        });
        if let Some(p) = found {
            return Err(ConfigError::Invalid {
                path: path.to_path_buf(),
                line: line_of(text, index, &p.field),
                employee: employee.name.clone(),
                message: format!("`{}` {}", p.field, p.message),
            });
        }
    }
    if let Some(limit) = config.budget.daily_usd
        && !(limit.is_finite() && limit >= 0.0)
    {
        return Err(ConfigError::Parse {
            path: path.to_path_buf(),
            message: "[budget] daily_usd must be a number of dollars ≥ 0".into(),
        });
    }
    check_sections(config, path, text)?;
    let mut settings = Vec::new();
    for kind in SourceKind::with_tokens() {
        settings.push((
            format!("[{kind}] timeout_secs"),
            config.service(kind).timeout_secs,
            1..=600,
        ));
    }
    settings.extend([
        (
            "[machine] claim_grace_secs".to_string(),
            config.machine.claim_grace_secs,
            0..=86_400,
        ),
        (
            "[machine] claim_settle_secs".to_string(),
            config.machine.claim_settle_secs,
            0..=600,
        ),
    ]);
    for (name, value, range) in settings {
        if let Some(v) = value
            && !range.contains(&v)
        {
            return Err(ConfigError::Parse {
                path: path.to_path_buf(),
                message: format!(
                    "{name} must be between {} and {} seconds",
                    range.start(),
                    range.end()
                ),
            });
        }
    }
    if let Some(name) = &config.machine.name
        && (name.trim().is_empty()
            || name.chars().count() > 80
            || name.chars().any(char::is_control))
    {
        return Err(ConfigError::Parse {
            path: path.to_path_buf(),
            message: "[machine] name must be 1 to 80 characters with no control characters".into(),
        });
    }
    Ok(())
}

/// Each key at the top of the file is a section Delegate knows: its own, or the one of a
/// service a source connects to, in that service's shape.
fn check_sections(config: &Config, path: &Path, text: &str) -> Result<(), ConfigError> {
    for (key, value) in &config.services {
        let at = top_line(text, key)
            .map(|l| format!("line {l}: "))
            .unwrap_or_default();
        let service = SourceKind::with_tokens().find(|k| k.as_str() == key);
        let message = match service {
            Some(_) => match value.clone().try_into::<super::ServiceSettings>() {
                Ok(_) => continue,
                Err(e) => {
                    // The line of the first entry that is wrong on its own.
                    let wrong = value.as_table().and_then(|t| {
                        t.iter().find_map(|(k, v)| {
                            let one = toml::Table::from_iter([(k.clone(), v.clone())]);
                            toml::Value::Table(one)
                                .try_into::<super::ServiceSettings>()
                                .is_err()
                                .then(|| entry_line(text, key, k))
                                .flatten()
                        })
                    });
                    let at = wrong.map(|l| format!("line {l}: ")).unwrap_or(at);
                    format!("{at}[{key}]: {}", e.to_string().trim_end())
                }
            },
            None => {
                let known: Vec<String> = super::SECTIONS
                    .iter()
                    .map(|s| s.to_string())
                    .chain(SourceKind::with_tokens().map(|k| k.as_str().to_string()))
                    .collect();
                format!(
                    "{at}unknown field `{key}`: the file's sections are {}",
                    known
                        .iter()
                        .map(|k| if k == "employee" {
                            "[[employee]]".to_string()
                        } else {
                            format!("[{k}]")
                        })
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            }
        };
        return Err(ConfigError::Parse {
            path: path.to_path_buf(),
            message,
        });
    }
    Ok(())
}

/// The 1-based line of `entry` in the section `key` of `text`.
fn entry_line(text: &str, key: &str, entry: &str) -> Option<usize> {
    let doc = toml_edit::Document::parse(text).ok()?;
    let table = doc.get(key)?.as_table_like()?;
    let span = table
        .get(entry)
        .and_then(|i| i.span())
        .or_else(|| table.get_key_value(entry).and_then(|(k, _)| k.span()))?;
    Some(text[..span.start].matches('\n').count() + 1)
}

/// The 1-based line of the top-level `key` in `text`.
fn top_line(text: &str, key: &str) -> Option<usize> {
    let doc = toml_edit::Document::parse(text).ok()?;
    let span = doc
        .get(key)?
        .span()
        .or_else(|| doc.as_table().key(key).and_then(|k| k.span()))?;
    Some(text[..span.start].matches('\n').count() + 1)
}

/// The checks for one employee, also used by `employee add` and the UI before saving.
pub fn check(employee: &Employee, rules: &dyn AgentRules) -> Result<(), String> {
    match check_employee(employee, rules) {
        Some(p) => Err(format!("`{}` {}", p.field, p.message)),
        None => Ok(()),
    }
}

/// Every problem of one employee, by field (a field reported once).
fn all_problems(e: &Employee, rules: &dyn AgentRules) -> Vec<Problem> {
    let mut out: Vec<Problem> = Vec::new();
    if e.name.trim().is_empty() {
        out.extend(problem("name", "must not be empty"));
    }
    if e.name.chars().any(char::is_control) || e.name.len() > 80 {
        out.extend(problem(
            "name",
            "must be at most 80 characters with no control characters",
        ));
    }
    out.extend(source_problems(e));
    if !e.workspace.is_absolute() {
        out.extend(problem(
            "workspace",
            format!(
                "must be an absolute path (got \"{}\")",
                e.workspace.display()
            ),
        ));
    }
    if e.command.as_deref().is_some_and(|c| c.trim().is_empty()) {
        out.extend(problem("command", "must not be empty"));
    }
    for (field, list) in [
        ("sandbox_read", &e.sandbox_read),
        ("sandbox_write", &e.sandbox_write),
    ] {
        if let Some(p) = list.iter().find(|p| !p.is_absolute()) {
            out.extend(problem(
                field,
                format!("must list absolute paths (got \"{}\")", p.display()),
            ));
        } else if list.iter().any(|p| p.as_os_str() == "/") {
            out.extend(problem(
                field,
                "must not open the whole file system; use sandbox = \"workspace\" to read everything, or sandbox = \"off\"",
            ));
        }
    }
    for tool in e.allowed_tools.iter().chain(&e.disallowed_tools) {
        if tool.trim().is_empty() || tool.contains(',') && !tool.contains('(') {
            out.extend(problem(
                "allowed_tools",
                format!("has an invalid entry \"{tool}\"; write one tool per list item"),
            ));
            break;
        }
    }
    if !(1..=86_400).contains(&e.timeout_secs) {
        out.extend(problem(
            "timeout_secs",
            "must be between 1 and 86400 seconds",
        ));
    }
    if !(1..=20).contains(&e.max_attempts) {
        out.extend(problem("max_attempts", "must be between 1 and 20"));
    }
    if e.retry_backoff_secs > 86_400 {
        out.extend(problem(
            "retry_backoff_secs",
            "must be at most 86400 seconds",
        ));
    }
    if !(1..=86_400).contains(&e.poll_secs) {
        out.extend(problem("poll_secs", "must be between 1 and 86400 seconds"));
    }
    if let Some(v) = e.max_task_usd
        && !(v.is_finite() && v > 0.0)
    {
        out.extend(problem("max_task_usd", "must be a number of dollars > 0"));
    }
    if let Some(v) = e.daily_usd
        && !(v.is_finite() && v >= 0.0)
    {
        out.extend(problem("daily_usd", "must be a number of dollars ≥ 0"));
    }
    if e.max_turns == Some(0) {
        out.extend(problem("max_turns", "must be at least 1"));
    }
    if let Err((field, message)) = rules.check(e) {
        out.extend(problem(field, message));
    }
    let mut seen = std::collections::HashSet::new();
    out.retain(|p| seen.insert(p.field.clone()));
    out
}

/// The employee's source settings: the required ones there, each set one as its source
/// checks it, and no key that is neither an employee's nor its source's (a typo, or another
/// source's setting).
fn source_problems(e: &Employee) -> Vec<Problem> {
    let info = e.source.info();
    let mut out = Vec::new();
    for s in info.settings {
        match e.settings.get(s.key) {
            Some(v) if !v.is_str() => out.extend(problem(
                s.key,
                format!("must be text in quotes, like {} = \"{}\"", s.key, s.example),
            )),
            _ => match e.setting(s.key) {
                None if s.required => out.extend(problem(
                    s.key,
                    format!(
                        "is required when source = \"{}\" ({}, like \"{}\")",
                        e.source.as_str(),
                        s.label,
                        s.example
                    ),
                )),
                Some(v) => {
                    if let Some(Err(why)) = s.check.map(|check| check(v)) {
                        out.extend(problem(s.key, why));
                    }
                }
                None => {}
            },
        }
    }
    for key in e.settings.keys() {
        if info.setting(key).is_some() {
            continue;
        }
        let field: Cow<'static, str> = Cow::Owned(key.clone());
        let owner = crate::source::SOURCES
            .iter()
            .find(|other| other.setting(key).is_some());
        let message = match owner {
            Some(other) => format!(
                "is a {} setting; this employee's tasks come from {} (source = \"{}\")",
                other.title,
                info.title,
                e.source.as_str()
            ),
            None => match closest(key, info) {
                Some(near) => format!("is not a setting Delegate knows; did you mean `{near}`?"),
                None => "is not a setting Delegate knows (see README, \"Configuration\")".into(),
            },
        };
        out.extend(problem(field, message));
    }
    out
}

/// The known key nearest to a misspelt one, if it is near enough to be meant.
fn closest(key: &str, info: &crate::source::SourceInfo) -> Option<&'static str> {
    super::EMPLOYEE_KEYS
        .iter()
        .copied()
        .chain(info.settings.iter().map(|s| s.key))
        .map(|k| (strsim::levenshtein(key, k), k))
        .filter(|(d, k)| *d <= 2.max(k.len() / 4))
        .min_by_key(|(d, _)| *d)
        .map(|(_, k)| k)
}

fn check_employee(e: &Employee, rules: &dyn AgentRules) -> Option<Problem> {
    all_problems(e, rules).into_iter().next()
}

/// A field of an employee that needs fixing, in words a person can act on.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct FieldProblem {
    pub field: String,
    pub message: String,
}

/// Every problem of `employee`, for forms that show them next to their fields.
pub fn problems(employee: &Employee, rules: &dyn AgentRules) -> Vec<FieldProblem> {
    all_problems(employee, rules)
        .into_iter()
        .map(|p| FieldProblem {
            field: p.field.into_owned(),
            message: p.message,
        })
        .collect()
}

/// The 1-based line of `field` in the `index`-th `[[employee]]` table, or of the table itself.
fn line_of(text: &str, index: usize, field: &str) -> Option<usize> {
    let doc = toml_edit::Document::parse(text).ok()?;
    let table = doc.get("employee")?.as_array_of_tables()?.get(index)?;
    let span = table
        .get(field)
        .and_then(|item| item.span())
        .or_else(|| table.span())?;
    Some(text[..span.start].matches('\n').count() + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Config, ConfigError> {
        Config::parse(Path::new("c.toml"), text, &DataOnly)
    }

    #[test]
    fn semantic_errors_name_employee_field_and_line() {
        let text = "[[employee]]\nname = \"A\"\nsource = \"local\"\nworkspace = \"/w\"\ntimeout_secs = 0\n";
        let err = parse(text).unwrap_err().to_string();
        assert_eq!(
            err,
            "c.toml, line 5: employee \"A\": `timeout_secs` must be between 1 and 86400 seconds"
        );
    }

    #[test]
    fn sandbox_paths_are_absolute_and_never_the_root() {
        let text = "[[employee]]\nname = \"A\"\nsource = \"local\"\nworkspace = \"/w\"\nsandbox = \"strict\"\nsandbox_write = [\"notes\"]\n";
        let err = parse(text).unwrap_err().to_string();
        assert_eq!(
            err,
            "c.toml, line 6: employee \"A\": `sandbox_write` must list absolute paths (got \"notes\")"
        );
        let text = "[[employee]]\nname = \"A\"\nsource = \"local\"\nworkspace = \"/w\"\nsandbox_read = [\"/\"]\n";
        assert!(
            parse(text)
                .unwrap_err()
                .to_string()
                .contains("whole file system")
        );
        let text = "[[employee]]\nname = \"A\"\nsource = \"local\"\nworkspace = \"/w\"\nsandbox = \"sometimes\"\n";
        assert!(parse(text).unwrap_err().to_string().contains("sandbox"));
    }

    #[test]
    fn todoist_needs_a_project() {
        let text = "[[employee]]\nname = \"A\"\nsource = \"todoist\"\nworkspace = \"/w\"\n";
        let err = parse(text).unwrap_err().to_string();
        assert!(err.contains("`project` is required"), "{err}");
    }

    #[test]
    fn github_needs_a_repository_as_owner_and_name() {
        let text = "[[employee]]\nname = \"A\"\nsource = \"github\"\nworkspace = \"/w\"\n";
        let err = parse(text).unwrap_err().to_string();
        assert!(err.contains("`repo` is required"), "{err}");
        let text = "[[employee]]\nname = \"A\"\nsource = \"github\"\nrepo = \"just-a-name\"\nworkspace = \"/w\"\n";
        let err = parse(text).unwrap_err().to_string();
        assert!(
            err.contains("owner/name") && err.contains("line 4"),
            "{err}"
        );
        let text = "[[employee]]\nname = \"A\"\nsource = \"github\"\nrepo = \"octo-org/content.site\"\ngithub_label = \"delegate\"\nworkspace = \"/w\"\n";
        parse(text).unwrap();
        let text = "[[employee]]\nname = \"A\"\nsource = \"github\"\nrepo = \"o/../x\"\nworkspace = \"/w\"\n";
        assert!(parse(text).is_err());
    }

    #[test]
    fn relative_workspace_is_rejected() {
        let text = "[[employee]]\nname = \"A\"\nsource = \"local\"\nworkspace = \"w\"\n";
        let err = parse(text).unwrap_err().to_string();
        assert!(err.contains("line 4"), "{err}");
        assert!(err.contains("absolute"), "{err}");
    }

    #[test]
    fn duplicate_names_are_rejected() {
        let one = "[[employee]]\nname = \"A\"\nsource = \"local\"\nworkspace = \"/w\"\n";
        let err = parse(&format!("{one}{}", one.replace("\"A\"", "\"a\"")))
            .unwrap_err()
            .to_string();
        assert!(err.contains("unique"), "{err}");
        assert!(err.contains("line 6"), "{err}");
    }

    #[test]
    fn the_agents_rules_are_reported_with_the_line() {
        struct NoYolo;
        impl AgentRules for NoYolo {
            fn check(&self, e: &Employee) -> Result<(), (&'static str, String)> {
                match e.permission_mode.as_deref() {
                    Some("yolo") => Err(("permission_mode", "is not a mode".into())),
                    _ => Ok(()),
                }
            }
        }
        let text = "[[employee]]\nname = \"A\"\nsource = \"local\"\nworkspace = \"/w\"\npermission_mode = \"yolo\"\n";
        let err = Config::parse(Path::new("c.toml"), text, &NoYolo)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("line 5") && err.contains("`permission_mode` is not a mode"),
            "{err}"
        );
        assert!(parse(text).is_ok(), "the data alone is fine");
    }

    #[test]
    fn wrong_types_are_reported_with_the_line() {
        let text = "[[employee]]\nname = \"A\"\nsource = \"local\"\nworkspace = \"/w\"\nmax_attempts = \"three\"\n";
        let err = parse(text).unwrap_err().to_string();
        assert!(err.contains("line 5"), "{err}");
    }

    #[test]
    fn a_form_gets_every_problem_by_field() {
        let mut e = Employee::new(
            "",
            SourceKind::Todoist,
            std::path::PathBuf::from("relative"),
        );
        e.timeout_secs = 0;
        let fields: Vec<String> = problems(&e, &DataOnly)
            .into_iter()
            .map(|p| p.field)
            .collect();
        assert_eq!(fields, ["name", "project", "workspace", "timeout_secs"]);
        assert!(
            problems(
                &Employee::new("W", SourceKind::Local, "/w".into()),
                &DataOnly
            )
            .is_empty()
        );
    }
}
