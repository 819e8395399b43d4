//! The `peek` report: the callers and callees of the nodes whose name
//! matches a regular expression, as `go tool pprof -peek REGEX` prints it.
//! The graph is not trimmed: every node and edge is kept, whatever the
//! node count and fractions asked for.

use regex::Regex;
use serde::Serialize;

use super::graph::Trim;
use super::tree::{build, TreeReport};
use super::Options;
use crate::model::Profile;

/// A `peek` report: a [`TreeReport`] of the matching nodes.
#[derive(Clone, Debug, Serialize)]
pub struct PeekReport {
    pub regex: String,
    #[serde(flatten)]
    pub tree: TreeReport,
}

/// Builds the `peek` report of the nodes of `p` whose name `re` matches.
pub fn peek(p: &Profile, o: &Options, re: &Regex) -> PeekReport {
    let trim = Trim {
        node_count: 0,
        node_fraction: 0.0,
        edge_fraction: 0.0,
        cum_sort: o.cum_sort,
    };
    PeekReport {
        regex: re.as_str().to_string(),
        tree: build(p, o, &trim, Some(re)),
    }
}

impl PeekReport {
    /// The report exactly as `go tool pprof -peek` prints it when something
    /// matched (see [`PeekReport::no_match_error`]).
    pub fn to_text(&self) -> String {
        self.tree.to_text()
    }

    /// pprof prints nothing and fails with this message when no node
    /// matched the regular expression.
    pub fn no_match_error(&self) -> Option<String> {
        self.tree
            .entries
            .is_empty()
            .then(|| format!("no matches found for regexp: {}", self.regex))
    }
}
