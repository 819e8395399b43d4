//! The `tree` report: each node with its callers above and its callees
//! below, as `go tool pprof -tree` prints it. `peek` is the same report
//! restricted to the nodes whose name matches a regular expression.

use regex::Regex;
use serde::Serialize;

use super::format::{percentage, scaled_label};
use super::graph::{Edge, Graph, Node, Trim};
use super::header::{
    graph_report_lines, report_total, sample_type, sample_unit, select_output_unit,
};
use super::top::{DEFAULT_EDGE_FRACTION, DEFAULT_NODE_FRACTION};
use super::Options;
use crate::model::Profile;

/// pprof's node limit for graph-shaped reports other than `top`.
const DEFAULT_NODE_COUNT: usize = 80;

const SEPARATOR: &str = "----------------------------------------------------------+-------------";
const LEGEND: &str = "      flat  flat%   sum%        cum   cum%   calls calls% + context \t \t ";

/// A `tree` (or `peek`) report, ready to print with [`TreeReport::to_text`]
/// or to serialize.
#[derive(Clone, Debug, Serialize)]
pub struct TreeReport {
    /// The lines above the table (profile description and summary).
    pub header: Vec<String>,
    pub sample_type: String,
    pub sample_unit: String,
    pub output_unit: String,
    pub total: i64,
    /// The nodes shown, in report order.
    pub entries: Vec<TreeEntry>,
    /// Number of nodes in the graph (shown or not); pprof closes the table
    /// with a separator when there is any.
    pub graph_nodes: usize,
}

/// One node of a [`TreeReport`] with its callers and callees.
#[derive(Clone, Debug, Serialize)]
pub struct TreeEntry {
    pub name: String,
    pub flat: i64,
    pub cum: i64,
    /// Running sum of `flat` over the entries shown, down to this one.
    pub sum: i64,
    pub flat_formatted: String,
    pub cum_formatted: String,
    pub flat_percent: String,
    pub sum_percent: String,
    pub cum_percent: String,
    /// Callers, heaviest first.
    pub callers: Vec<TreeEdge>,
    /// Callees, heaviest first.
    pub callees: Vec<TreeEdge>,
}

/// A caller or callee of a [`TreeEntry`].
#[derive(Clone, Debug, Serialize)]
pub struct TreeEdge {
    pub name: String,
    pub weight: i64,
    pub weight_formatted: String,
    /// Share of the entry's cum, as pprof prints it.
    pub percent: String,
    /// The call was inlined.
    pub inline: bool,
}

/// Builds the `tree` report of `p` (80 nodes by default).
pub fn tree(p: &Profile, o: &Options) -> TreeReport {
    let trim = Trim {
        node_count: o.node_count.unwrap_or(DEFAULT_NODE_COUNT),
        node_fraction: o.node_fraction.unwrap_or(DEFAULT_NODE_FRACTION),
        edge_fraction: o.edge_fraction.unwrap_or(DEFAULT_EDGE_FRACTION),
        cum_sort: o.cum_sort,
    };
    build(p, o, &trim, None)
}

/// The tree report of the graph trimmed by `trim`, showing only the nodes
/// whose name `filter` matches (all when `None`).
pub(crate) fn build(p: &Profile, o: &Options, trim: &Trim, filter: Option<&Regex>) -> TreeReport {
    let g = Graph::build(p, o, trim);
    let total = report_total(p, o);
    let unit = sample_unit(p, o);
    let output_unit = select_output_unit(&g, total, unit, &o.unit);
    let header = graph_report_lines(p, o, &g, total, &output_unit, trim.node_fraction);
    let fmt = |v: i64| scaled_label(v, unit, &output_unit);
    let edge_list = |node: &Node, edges: Vec<&Edge>, callers: bool| -> Vec<TreeEdge> {
        edges
            .into_iter()
            .map(|e| TreeEdge {
                name: g.nodes[if callers { e.src } else { e.dest }].name.clone(),
                weight: e.weight,
                weight_formatted: fmt(e.weight),
                percent: percentage(e.weight, node.cum),
                inline: e.inline,
            })
            .collect()
    };
    let mut sum = 0i64;
    let mut entries = Vec::new();
    for n in &g.nodes {
        if filter.is_some_and(|re| !re.is_match(&n.name)) {
            continue;
        }
        sum += n.flat;
        entries.push(TreeEntry {
            name: n.name.clone(),
            flat: n.flat,
            cum: n.cum,
            sum,
            flat_formatted: fmt(n.flat),
            cum_formatted: fmt(n.cum),
            flat_percent: percentage(n.flat, total),
            sum_percent: percentage(sum, total),
            cum_percent: percentage(n.cum, total),
            callers: edge_list(n, g.sorted_edges(&n.in_edges), true),
            callees: edge_list(n, g.sorted_edges(&n.out_edges), false),
        });
    }
    TreeReport {
        header,
        sample_type: sample_type(p, o).to_string(),
        sample_unit: unit.to_string(),
        output_unit: output_unit.clone(),
        total,
        entries,
        graph_nodes: g.nodes.len(),
    }
}

impl TreeReport {
    /// The report exactly as `go tool pprof -tree` (or `-peek`) prints it.
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        for line in &self.header {
            out.push_str(line);
            out.push('\n');
        }
        out.push_str(SEPARATOR);
        out.push('\n');
        out.push_str(LEGEND);
        out.push('\n');
        let edge_line = |out: &mut String, e: &TreeEdge| {
            out.push_str(&format!(
                "{:>50} {} |   {}{}\n",
                e.weight_formatted,
                e.percent,
                e.name,
                if e.inline { " (inline)" } else { "" }
            ));
        };
        for entry in &self.entries {
            out.push_str(SEPARATOR);
            out.push('\n');
            for e in &entry.callers {
                edge_line(&mut out, e);
            }
            out.push_str(&format!(
                "{:>10} {} {} {:>10} {}                | {}\n",
                entry.flat_formatted,
                entry.flat_percent,
                entry.sum_percent,
                entry.cum_formatted,
                entry.cum_percent,
                entry.name
            ));
            for e in &entry.callees {
                edge_line(&mut out, e);
            }
        }
        if self.graph_nodes > 0 {
            out.push_str(SEPARATOR);
            out.push('\n');
        }
        out
    }
}
