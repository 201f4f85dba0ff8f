//! Files the person attached to the task (on its comments), brought into the workspace for
//! the agent: `inputs/<task>/`, each name made safe, each file and the whole capped. The
//! service's name for a file is never trusted as a path, and nothing is written through a
//! link: an agent that replaced `inputs/` with a link to the home folder gets nothing written
//! there.

use crate::source::{FileRef, Source};
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

/// The folder in the workspace.
pub const DIR: &str = "inputs";
/// Most bytes of one file.
pub const MAX_FILE_BYTES: u64 = 20 * 1024 * 1024;
/// Most bytes of one task's files together.
pub const MAX_TASK_BYTES: u64 = 50 * 1024 * 1024;
/// Most files of one task.
pub const MAX_FILES: usize = 20;
/// How long bringing one task's files may take in all: the claim is held meanwhile, before
/// the run (and its lease renewals) starts.
pub const MAX_SECONDS: u64 = 90;

/// What became of one attached file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Brought {
    /// In the workspace at this path (relative to it), this many bytes.
    Saved { rel: String, bytes: u64 },
    /// Left out, and why (in words for the prompt and the run's timeline).
    Skipped { name: String, why: String },
}

/// A file name that is safe in one folder: the last part of `name` after any slash, only
/// letters, digits, `.`, `-`, `_` and spaces, no leading dots, at most 100 characters; never
/// empty.
pub fn safe_name(name: &str) -> String {
    let last = name.rsplit(['/', '\\']).next().unwrap_or("");
    let cleaned: String = last
        .chars()
        .map(|c| {
            if c.is_alphanumeric() || matches!(c, '.' | '-' | '_' | ' ') {
                c
            } else {
                '_'
            }
        })
        .collect();
    let trimmed = cleaned.trim().trim_start_matches('.').trim();
    let short: String = trimmed.chars().take(100).collect();
    if short.is_empty() || short.chars().all(|c| c == '.' || c == '_') {
        "file".into()
    } else {
        short
    }
}

/// `inputs/<task>` for a task id (itself made safe).
pub fn task_folder(task_id: &str) -> String {
    format!("{DIR}/{}", safe_name(task_id))
}

/// A real folder at `path` (created when missing), never a link.
pub(crate) fn real_dir(path: &Path) -> std::io::Result<()> {
    match std::fs::symlink_metadata(path) {
        Ok(m) if m.is_dir() => Ok(()),
        Ok(_) => Err(std::io::Error::other(format!(
            "{} is not a plain folder (a link or a file): nothing is written through it",
            path.display()
        ))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => std::fs::create_dir(path),
        Err(e) => Err(e),
    }
}

/// Writes `bytes` as `dir/name` without following a link at either place: a new file
/// beside it, then renamed over it.
pub(crate) fn write_file(dir: &Path, name: &str, bytes: &[u8]) -> std::io::Result<()> {
    let tmp = dir.join(format!(".{name}.{}.part", std::process::id()));
    let _ = std::fs::remove_file(&tmp);
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .custom_flags(libc::O_NOFOLLOW)
        .open(&tmp)?;
    f.write_all(bytes)?;
    f.sync_all()?;
    std::fs::rename(&tmp, dir.join(name))
}

/// Brings `files` (in the order they were attached) into `workspace/inputs/<task>/`. A
/// file already there with the same size is kept (a rework does not download it again).
pub async fn bring(
    source: &Source,
    workspace: &Path,
    task_id: &str,
    files: &[FileRef],
) -> Vec<Brought> {
    let mut out = Vec::new();
    if files.is_empty() {
        return out;
    }
    let folder = task_folder(task_id);
    let dir: PathBuf = workspace.join(&folder);
    if let Err(e) = real_dir(&workspace.join(DIR)).and_then(|()| real_dir(&dir)) {
        for f in files {
            out.push(Brought::Skipped {
                name: safe_name(&f.name),
                why: format!("cannot write to {folder}: {e}"),
            });
        }
        return out;
    }
    let mut total: u64 = 0;
    let mut taken: Vec<String> = Vec::new();
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(MAX_SECONDS);
    for (i, f) in files.iter().enumerate() {
        let mut name = safe_name(&f.name);
        if taken.contains(&name) {
            name = format!("{}-{name}", i + 1);
        }
        let skip = |why: String| Brought::Skipped {
            name: name.clone(),
            why,
        };
        if i >= MAX_FILES {
            out.push(skip(format!("more than {MAX_FILES} files on the task")));
            continue;
        }
        let room = MAX_FILE_BYTES.min(MAX_TASK_BYTES.saturating_sub(total));
        if let Some(declared) = f.size
            && declared > room
        {
            out.push(skip(format!(
                "{} declared, over the {} cap",
                human(declared),
                human(room)
            )));
            continue;
        }
        let path = dir.join(&name);
        if let (Some(size), Ok(m)) = (f.size, std::fs::symlink_metadata(&path))
            && m.is_file()
            && m.len() == size
        {
            total += size;
            taken.push(name.clone());
            out.push(Brought::Saved {
                rel: format!("{folder}/{name}"),
                bytes: size,
            });
            continue;
        }
        let fetched = tokio::time::timeout_at(deadline, source.download(f, room)).await;
        let Ok(fetched) = fetched else {
            out.push(skip(format!(
                "the task's files took longer than {MAX_SECONDS} s to download"
            )));
            continue;
        };
        match fetched {
            Ok(Some(bytes)) => match write_file(&dir, &name, &bytes) {
                Ok(()) => {
                    total += bytes.len() as u64;
                    taken.push(name.clone());
                    out.push(Brought::Saved {
                        rel: format!("{folder}/{name}"),
                        bytes: bytes.len() as u64,
                    });
                }
                Err(e) => out.push(skip(format!("cannot be written: {e}"))),
            },
            Ok(None) => out.push(skip(format!("larger than the {} cap", human(room)))),
            Err(e) => out.push(skip(format!("cannot be downloaded: {e}"))),
        }
    }
    out
}

/// "12 KB", "3.4 MB".
pub fn human(bytes: u64) -> String {
    if bytes < 1024 {
        format!("{bytes} B")
    } else if bytes < 1024 * 1024 {
        format!("{} KB", bytes.div_ceil(1024))
    } else if bytes < 1024 * 1024 * 1024 {
        format!("{:.1} MB", bytes as f64 / (1024.0 * 1024.0))
    } else {
        format!("{:.1} GB", bytes as f64 / (1024.0 * 1024.0 * 1024.0))
    }
}

/// The prompt's lines about the files: where each is, or why it is not there.
pub fn prompt_lines(brought: &[Brought]) -> Vec<String> {
    brought
        .iter()
        .map(|b| match b {
            Brought::Saved { rel, bytes } => format!("`{rel}` ({})", human(*bytes)),
            Brought::Skipped { name, why } => format!("{name}: not brought in ({why})"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_made_safe() {
        assert_eq!(safe_name("../../.bashrc"), "bashrc");
        assert_eq!(safe_name("..\\..\\evil.exe"), "evil.exe");
        assert_eq!(safe_name("notes/Q3 figures.pdf"), "Q3 figures.pdf");
        assert_eq!(safe_name(".."), "file");
        assert_eq!(safe_name(""), "file");
        assert_eq!(safe_name("a\0b;$(rm -rf).txt"), "a_b___rm -rf_.txt");
        assert_eq!(safe_name(&"x".repeat(300)).len(), 100);
        assert_eq!(task_folder("../6X7"), "inputs/6X7");
    }

    #[test]
    fn nothing_is_written_through_a_link() {
        let ws = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        std::os::unix::fs::symlink(outside.path(), ws.path().join(DIR)).unwrap();
        assert!(real_dir(&ws.path().join(DIR)).is_err());
        let dir = ws.path().join("real");
        std::fs::create_dir(&dir).unwrap();
        std::os::unix::fs::symlink(outside.path().join("target"), dir.join("a.txt")).unwrap();
        write_file(&dir, "a.txt", b"hello").unwrap();
        assert!(
            !outside.path().join("target").exists(),
            "the link was replaced, not followed"
        );
        assert_eq!(std::fs::read_to_string(dir.join("a.txt")).unwrap(), "hello");
    }
}
