//! The employee workspace template shipped inside the binary: `.claude/CLAUDE.md` (rules for
//! unattended work), `.claude/skills/*`, `reference/*`, and `AGENTS.md` / `GEMINI.md` pointing
//! Codex and the Gemini CLI at the same rules. Creating an employee from a
//! template copies it into the workspace — never over a file that is already there — and
//! sets defaults that suit the job.

use crate::config::Employee;
use include_dir::{Dir, include_dir};
use std::path::{Path, PathBuf};

static CLAUDE_DIR: Dir<'static> =
    include_dir!("$CARGO_MANIFEST_DIR/../../workspace-template/.claude");
static REFERENCE_DIR: Dir<'static> =
    include_dir!("$CARGO_MANIFEST_DIR/../../workspace-template/reference");
/// The same rules for the agents that read another file: Codex (`AGENTS.md`) and the Gemini
/// CLI (`GEMINI.md`, which also carries the report's fallback form).
static ROOT_FILES: [(&str, &[u8]); 2] = [
    (
        "AGENTS.md",
        include_bytes!("../../../workspace-template/AGENTS.md"),
    ),
    (
        "GEMINI.md",
        include_bytes!("../../../workspace-template/GEMINI.md"),
    ),
];

#[derive(Debug, thiserror::Error)]
pub enum TemplateError {
    #[error("no template named \"{0}\"; choose one of: {1}")]
    Unknown(String, String),
    #[error("cannot write {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// A kind of employee people want, built on one skill.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Template {
    pub id: &'static str,
    pub title: &'static str,
    /// The skill folder under `.claude/skills/` this employee uses by default.
    pub skill: &'static str,
    pub summary: &'static str,
}

pub const TEMPLATES: [Template; 4] = [
    Template {
        id: "linkedin-writer",
        title: "LinkedIn Writer",
        skill: "linkedin-post",
        summary: "Drafts LinkedIn and social posts in your voice, with alternative hooks",
    },
    Template {
        id: "research-brief",
        title: "Researcher",
        skill: "research-brief",
        summary: "Answers a question with a sourced brief; may read the web",
    },
    Template {
        id: "code-reviewer",
        title: "Code Reviewer",
        skill: "code-review",
        summary: "Reviews code in its workspace and writes findings by severity; never edits code",
    },
    Template {
        id: "notes-and-email",
        title: "Notes & Email Writer",
        skill: "notes-and-email",
        summary: "Turns raw notes into meeting notes and drafts emails and replies",
    },
];

pub fn find(id: &str) -> Result<&'static Template, TemplateError> {
    TEMPLATES
        .iter()
        .find(|t| t.id.eq_ignore_ascii_case(id))
        .ok_or_else(|| {
            let ids: Vec<&str> = TEMPLATES.iter().map(|t| t.id).collect();
            TemplateError::Unknown(id.to_string(), ids.join(", "))
        })
}

fn tools(list: &[&str]) -> Vec<String> {
    list.iter().map(|t| t.to_string()).collect()
}

impl Template {
    /// Sets the defaults for this kind of employee. `Skill` is always allowed: without it
    /// Claude Code does not run skills.
    pub fn apply_defaults(&self, e: &mut Employee) {
        e.model = "sonnet".into();
        e.allowed_tools = tools(&["Read", "Write", "Edit", "Glob", "Grep", "Skill"]);
        e.disallowed_tools = Vec::new();
        e.timeout_secs = 600;
        e.max_turns = Some(40);
        e.max_task_usd = Some(1.0);
        match self.id {
            "research-brief" => {
                e.allowed_tools = tools(&[
                    "Read",
                    "Write",
                    "Edit",
                    "Glob",
                    "Grep",
                    "Skill",
                    "WebSearch",
                    "WebFetch",
                ]);
                e.timeout_secs = 900;
                e.max_turns = Some(60);
                e.max_task_usd = Some(2.0);
            }
            "code-reviewer" => {
                // Reads everything, writes only its report.
                e.allowed_tools = tools(&[
                    "Read",
                    "Glob",
                    "Grep",
                    "Skill",
                    "Write(drafts/**)",
                    "Edit(drafts/**)",
                ]);
                e.disallowed_tools = tools(&["Bash"]);
                e.timeout_secs = 900;
                e.max_turns = Some(60);
                e.max_task_usd = Some(2.0);
            }
            _ => {}
        }
        e.append_system_prompt = Some(format!(
            "You are the {} of this workspace. Unless the task clearly needs another skill, use \
             the {} skill (.claude/skills/{}/SKILL.md) and follow .claude/CLAUDE.md.",
            self.title, self.skill, self.skill
        ));
    }
}

/// What an install did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Installed {
    pub written: Vec<PathBuf>,
    /// Files that already existed and were left as they were.
    pub kept: Vec<PathBuf>,
}

/// Every template file as (path relative to a workspace, contents).
pub fn files() -> Vec<(PathBuf, &'static [u8])> {
    let mut out = Vec::new();
    for (root, dir) in [(".claude", &CLAUDE_DIR), ("reference", &REFERENCE_DIR)] {
        collect(dir, Path::new(root), &mut out);
    }
    for (name, contents) in ROOT_FILES {
        out.push((PathBuf::from(name), contents));
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

fn collect(dir: &'static Dir<'static>, root: &Path, out: &mut Vec<(PathBuf, &'static [u8])>) {
    for f in dir.files() {
        out.push((root.join(f.path()), f.contents()));
    }
    for d in dir.dirs() {
        collect(d, root, out);
    }
}

/// Copies the template into `workspace`, skipping every file that already exists, and
/// creates `drafts/`.
pub fn install(workspace: &Path) -> Result<Installed, TemplateError> {
    let mut done = Installed::default();
    let write_err = |path: &Path, source| TemplateError::Write {
        path: path.to_path_buf(),
        source,
    };
    for (rel, contents) in files() {
        let path = workspace.join(&rel);
        if path.exists() {
            done.kept.push(rel);
            continue;
        }
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|e| write_err(parent, e))?;
        }
        // `create_new` so a file that appears meanwhile is never overwritten either.
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)
            .map_err(|e| write_err(&path, e))?;
        std::io::Write::write_all(&mut f, contents).map_err(|e| write_err(&path, e))?;
        done.written.push(rel);
    }
    let drafts = workspace.join("drafts");
    std::fs::create_dir_all(&drafts).map_err(|e| write_err(&drafts, e))?;
    Ok(done)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::SourceKind;
    use std::collections::BTreeSet;

    fn text(rel: &str) -> String {
        let (_, bytes) = files()
            .into_iter()
            .find(|(p, _)| p == Path::new(rel))
            .unwrap_or_else(|| panic!("{rel} is not in the template"));
        String::from_utf8(bytes.to_vec()).unwrap()
    }

    fn paths() -> BTreeSet<String> {
        files()
            .into_iter()
            .map(|(p, _)| p.display().to_string())
            .collect()
    }

    #[test]
    fn every_skill_has_front_matter_claude_code_accepts() {
        let skills: BTreeSet<String> = paths()
            .into_iter()
            .filter_map(|p| {
                p.strip_prefix(".claude/skills/")?
                    .strip_suffix("/SKILL.md")
                    .map(String::from)
            })
            .collect();
        assert!(skills.len() >= 4, "{skills:?}");
        for skill in &skills {
            let body = text(&format!(".claude/skills/{skill}/SKILL.md"));
            let rest = body.strip_prefix("---\n").expect("front matter first");
            let end = rest.find("\n---\n").expect("front matter closed");
            let docs = yaml_rust2::YamlLoader::load_from_str(&rest[..end]).expect("valid YAML");
            let fm = &docs[0];
            let name = fm["name"].as_str().expect("name");
            let description = fm["description"].as_str().expect("description");
            assert_eq!(name, skill, "name matches the folder");
            assert!(
                name.len() <= 64
                    && name
                        .chars()
                        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
            );
            assert!(
                (20..=1024).contains(&description.len()),
                "{skill}: description length"
            );
            for section in ["## Unattended mode", "## Self-check"] {
                assert!(body.contains(section), "{skill} lacks {section}");
            }
            assert!(
                paths().contains(&format!(".claude/skills/{skill}/example.md")),
                "{skill} has an example"
            );
        }
        for t in TEMPLATES {
            assert!(
                skills.contains(t.skill),
                "template {} names a missing skill",
                t.id
            );
        }
    }

    #[test]
    fn every_path_the_template_names_exists() {
        let all = paths();
        for (rel, bytes) in files() {
            let Ok(body) = std::str::from_utf8(bytes) else {
                continue;
            };
            // Paths are written in backticks: `reference/brand.md`, `.claude/skills/x/SKILL.md`.
            for token in body.split('`').skip(1).step_by(2) {
                let named = token.starts_with("reference/") || token.starts_with(".claude/");
                let placeholder = token.contains(['<', '…', '*', ' ']);
                if named && !placeholder {
                    let exists = all.contains(token)
                        || token.ends_with('/') && all.iter().any(|p| p.starts_with(token));
                    assert!(
                        exists,
                        "{} names {token}, which is not in the template",
                        rel.display()
                    );
                }
            }
        }
        let claude = text(".claude/CLAUDE.md");
        for rule in ["NEEDS INPUT", "drafts/", "Never publish", "summary"] {
            assert!(claude.contains(rule), "CLAUDE.md lacks {rule}");
        }
        for note in ["brand.md", "pillars.md", "style.md"] {
            assert!(all.contains(&format!("reference/{note}")));
        }
    }

    #[test]
    fn install_never_overwrites() {
        let dir = tempfile::tempdir().unwrap();
        let first = install(dir.path()).unwrap();
        assert_eq!(first.written.len(), files().len());
        assert!(dir.path().join("drafts").is_dir());
        let brand = dir.path().join("reference/brand.md");
        std::fs::write(&brand, "my own voice").unwrap();
        let second = install(dir.path()).unwrap();
        assert!(second.written.is_empty());
        assert_eq!(second.kept.len(), files().len());
        assert_eq!(std::fs::read_to_string(brand).unwrap(), "my own voice");
    }

    #[test]
    fn defaults_suit_the_job_and_validate() {
        for t in TEMPLATES {
            let mut e = Employee::new(t.title, SourceKind::Local, PathBuf::from("/w"));
            t.apply_defaults(&mut e);
            assert!(e.allowed_tools.iter().any(|x| x == "Skill"), "{}", t.id);
            crate::config::validate::check(&e, &crate::agent::RULES).unwrap();
        }
        let mut e = Employee::new("R", SourceKind::Local, PathBuf::from("/w"));
        find("code-reviewer").unwrap().apply_defaults(&mut e);
        assert!(
            !e.allowed_tools.iter().any(|x| x == "Write" || x == "Edit"),
            "read-only on code"
        );
        assert!(
            find("nope")
                .unwrap_err()
                .to_string()
                .contains("linkedin-writer")
        );
    }
}
