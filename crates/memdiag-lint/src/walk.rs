//! Which files a run reads: `.rs` files under the given dirs, honouring
//! `.gitignore` (even outside a git checkout, as in a downloaded crate),
//! never `target/`; explicit file arguments are always read.

use std::path::{Path, PathBuf};

/// Directories holding code that runs only in tests, benches or examples:
/// skipped below a walked root unless the config includes tests.
const TEST_DIRS: &[&str] = &["tests", "benches", "examples", "fuzz"];

pub(crate) fn rust_files(paths: &[PathBuf], include_tests: bool) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for root in paths {
        if root.is_file() {
            files.push(root.clone());
            continue;
        }
        let walker = ignore::WalkBuilder::new(root)
            .require_git(false)
            .filter_entry(move |e| {
                let is_dir = e.file_type().is_some_and(|t| t.is_dir());
                !(is_dir && e.depth() > 0 && skip_dir(e.file_name(), include_tests))
            })
            .build();
        // Unreadable directory entries are skipped: the walk is best effort.
        for entry in walker.flatten() {
            let path = entry.path();
            if entry.file_type().is_some_and(|t| t.is_file()) && is_rust(path) {
                files.push(path.to_path_buf());
            }
        }
    }
    files.sort();
    files.dedup();
    files
}

fn skip_dir(name: &std::ffi::OsStr, include_tests: bool) -> bool {
    name == "target" || (!include_tests && TEST_DIRS.iter().any(|d| name == *d))
}

fn is_rust(path: &Path) -> bool {
    path.extension().is_some_and(|e| e == "rs")
}
