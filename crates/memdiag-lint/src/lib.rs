//! `memdiag-lint`: `go vet` for memory. Static checks over Rust sources (syn,
//! no compilation) for patterns that make memory grow without bound, and an
//! allocation-site listing (the analog of Go's `-gcflags=-m`).
//!
//! # API (what `memdiag lint` wires up)
//!
//! ```no_run
//! use memdiag_lint::{alloc_sites, lint, Config};
//! use std::path::PathBuf;
//!
//! let paths = vec![PathBuf::from(".")];
//! // `memdiag-lint.toml` in the dir or an ancestor, else defaults.
//! // `Config::load(path)` reads an explicit file. Errors name the file.
//! let config = Config::discover(&paths[0])?;
//!
//! let report = lint(&paths, &config); // never fails, never panics
//! print!("{}", report.render_text(true)); // rustc style; `false` = no color
//! let _json: String = report.render_json(); // {"findings": [..], ..}
//! let _sarif: String = report.render_sarif(); // SARIF 2.1.0
//! let exit = if report.findings.is_empty() { 0 } else { 1 };
//!
//! let sites = alloc_sites(&paths, &config); // `--alloc-sites`
//! print!("{}", sites.render_text());
//! let _json: String = sites.render_json();
//! # let _ = exit;
//! # Ok::<(), memdiag_lint::LintError>(())
//! ```
//!
//! - Paths: directories are walked (`.gitignore` honoured, `target/` skipped,
//!   and `tests/`, `benches/`, `examples/`, `fuzz/` below the root too unless
//!   `include_tests`); files are read as given. Parallel over files (rayon).
//! - Files that cannot be read or parsed go to [`Report::warnings`]; the run
//!   goes on. `Report::files_scanned`/`lines_scanned` count every file.
//! - [`rules::all`] lists the rules (id, summary, help), e.g. for
//!   `--list-rules`.
//! - Suppression: `// memdiag:allow(rule-id[, rule-id..])` on the line or the
//!   line before; before an item (fn, struct, impl, mod, ..) or among its
//!   attributes it covers the whole item. `memdiag:allow(*)` allows every
//!   rule. Config (`memdiag-lint.toml`): see [`Config`].
//!
//! # Rules
//! | id | finds |
//! |---|---|
//! | `leak-in-loop` | `Box::leak`/`String::leak`/`Vec::leak`/`.leak()` in a loop or per-request code |
//! | `forget-owned` | `mem::forget` of a value that owns memory or a resource |
//! | `raw-without-release` | `Box/Arc/Rc::into_raw`, `ManuallyDrop::new` with no release in the module |
//! | `rc-cycle` | `Rc`/`Arc` fields that can form a cycle (with interior mutability), no `Weak` |
//! | `unbounded-channel` | `mpsc::channel()`, `unbounded()`, `unbounded_channel()` |
//! | `insert-only` | static or shared struct collection that is added to, never removed from |
//! | `spawn-in-loop` | `tokio::spawn`/`thread::spawn` in a loop, handle dropped, no shutdown |
//! | `alloc-from-input` | `with_capacity`/`reserve`/`vec![_; n]` sized by unchecked input |
//! | `clear-without-shrink` | `clear()` on a long-lived buffer that is never shrunk |
//! | `large-stack-array` | arrays of 64 KiB or more on the stack or in a future |
//!
//! Each rule's file documents its heuristic. They match names, not types:
//! crate-wide facts ("no `remove` anywhere") span all files of one run.

mod alloc_sites;
mod config;
mod ctx;
mod error;
mod facts;
mod finding;
mod lint;
mod owners;
mod owning;
mod receivers;
mod report;
pub mod rules;
mod source;
mod statics;
mod suppress;
mod types;
mod walk;

pub use alloc_sites::{alloc_sites, AllocReport, AllocSite, FnAllocs};
pub use config::{Config, CONFIG_FILE};
pub use error::LintError;
pub use finding::{FileWarning, Finding, Place, Related};
pub use lint::lint;
pub use report::Report;
pub use rules::RuleInfo;
