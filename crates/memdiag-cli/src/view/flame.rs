//! The flame tree as the page reads it: pruned, one column per field.

use memdiag_profile::report::flame::FlameTree;
use serde::Serialize;

/// Subtrees under this fraction of the root are dropped: under a pixel at
/// any sensible width, and they would make a large profile's page heavy.
pub const MIN_FRACTION: f64 = 1e-4;

/// The nodes of a [`FlameTree`] in pre-order, column-wise (a row of small
/// objects would triple the JSON).
#[derive(Serialize)]
pub struct Flame {
    pub names: Vec<String>,
    /// Index into `names`, per node.
    pub name: Vec<u32>,
    pub depth: Vec<u32>,
    /// Cumulative value of each node; node 0 is the root.
    pub value: Vec<i64>,
    /// The base profile's value of each node, only for a comparison.
    pub base: Option<Vec<i64>>,
}

impl Flame {
    pub fn new(tree: FlameTree) -> Flame {
        let tree = tree.pruned(MIN_FRACTION);
        let diff = tree.nodes.iter().any(|n| n.base != 0);
        Flame {
            name: tree.nodes.iter().map(|n| n.name).collect(),
            depth: tree.nodes.iter().map(|n| n.depth).collect(),
            value: tree.nodes.iter().map(|n| n.value).collect(),
            base: diff.then(|| tree.nodes.iter().map(|n| n.base).collect()),
            names: tree.names,
        }
    }
}
