//! README's "Layout" names every module of the engine, the shell and the CLI, so the map a
//! newcomer reads matches the tree.
#![allow(clippy::unwrap_used)] // test code: a panic is a failed test

use std::path::{Path, PathBuf};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The Rust files and folders under `dir`, as README names them (`x.rs`, `x/`), with the
/// files of each folder too.
fn modules(dir: &Path, out: &mut Vec<String>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for p in entries {
        let name = p.file_name().unwrap().to_string_lossy().to_string();
        if p.is_dir() {
            out.push(format!("{name}/"));
            modules(&p, out);
        } else if name.ends_with(".rs") && name != "mod.rs" && name != "tests.rs" {
            out.push(name);
        }
    }
}

#[test]
fn the_readme_layout_names_every_module() {
    let readme = std::fs::read_to_string(repo().join("README.md")).unwrap();
    let start = readme
        .find("## Layout")
        .expect("README has a Layout section");
    let block = &readme[start..];
    let open = block.find("```").unwrap() + 3;
    let layout = &block[open..open + block[open..].find("```").unwrap()];
    let mut missing = Vec::new();
    for dir in ["src-tauri/core/src", "src-tauri/src", "src-tauri/cli/src"] {
        let mut names = Vec::new();
        modules(&repo().join(dir), &mut names);
        assert!(!names.is_empty(), "{dir} has modules");
        for n in names {
            if n == "bin/" || !layout.contains(&n) {
                missing.push(format!("{dir}: {n}"));
            }
        }
    }
    assert!(
        missing.is_empty(),
        "README's Layout does not name these (or the engine grew a bin/ again): {missing:#?}"
    );
}
