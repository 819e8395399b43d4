//! `memdiag-lint.toml`: rules to disable, paths where a rule is allowed, and
//! whether test code is linted.

use crate::error::LintError;
use crate::rules;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// File name looked up by [`Config::discover`].
pub const CONFIG_FILE: &str = "memdiag-lint.toml";

/// Lint settings. `Config::default()` enables every rule everywhere and skips
/// test code.
///
/// ```toml
/// disable = ["large-stack-array"]      # rule ids switched off
/// include_tests = false                # lint #[cfg(test)], #[test], tests/, benches/, examples/
/// [allow]                              # rule id -> path prefixes (relative to the config's dir)
/// "unbounded-channel" = ["src/bin/"]
/// ```
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    #[serde(default)]
    pub disable: Vec<String>,
    #[serde(default)]
    pub allow: BTreeMap<String, Vec<String>>,
    #[serde(default)]
    pub include_tests: bool,
    /// Directory the `allow` prefixes are relative to (the config file's dir).
    #[serde(skip)]
    pub root: PathBuf,
}

impl Config {
    /// Reads and validates a config file; unknown rule ids are an error.
    pub fn load(path: &Path) -> Result<Config, LintError> {
        let text = std::fs::read_to_string(path).map_err(|source| LintError::ConfigRead {
            path: path.to_path_buf(),
            source,
        })?;
        let parse_err = |message: String| LintError::ConfigParse {
            path: path.to_path_buf(),
            message,
        };
        let mut config: Config = toml::from_str(&text).map_err(|e| parse_err(e.to_string()))?;
        for id in config.disable.iter().chain(config.allow.keys()) {
            if rules::info(id).is_none() {
                return Err(parse_err(format!("unknown rule id `{id}`")));
            }
        }
        config.root = path.parent().unwrap_or(Path::new("")).to_path_buf();
        Ok(config)
    }

    /// Loads the nearest `memdiag-lint.toml` in `start` or its ancestors, or
    /// the default config when there is none.
    pub fn discover(start: &Path) -> Result<Config, LintError> {
        let dir = if start.is_file() {
            start.parent()
        } else {
            Some(start)
        };
        for dir in dir.into_iter().flat_map(Path::ancestors) {
            let candidate = dir.join(CONFIG_FILE);
            if candidate.is_file() {
                return Config::load(&candidate);
            }
        }
        Ok(Config::default())
    }

    pub(crate) fn enabled(&self, rule: &str) -> bool {
        !self.disable.iter().any(|d| d == rule)
    }

    /// True when `path` lies under one of the rule's allowed prefixes.
    pub(crate) fn allowed(&self, rule: &str, path: &Path) -> bool {
        let Some(prefixes) = self.allow.get(rule) else {
            return false;
        };
        let rel = path.strip_prefix(&self.root).unwrap_or(path);
        let rel = rel.strip_prefix(".").unwrap_or(rel);
        prefixes.iter().any(|p| rel.starts_with(p))
    }
}
