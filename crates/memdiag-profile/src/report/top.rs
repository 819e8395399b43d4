//! The `top` report: one row per node with flat, flat%, sum%, cum and cum%,
//! as `go tool pprof -top` prints it.

use serde::Serialize;

use super::format::{percentage, scaled_label};
use super::graph::{Graph, Trim};
use super::header::{
    graph_report_lines, report_total, sample_type, sample_unit, select_output_unit,
};
use super::Options;
use crate::model::Profile;

/// pprof's defaults for text reports: no node limit, nodes whose cum is
/// under 0.5% of the total dropped, edges under 0.1% dropped.
pub(crate) const DEFAULT_NODE_FRACTION: f64 = 0.005;
pub(crate) const DEFAULT_EDGE_FRACTION: f64 = 0.001;

/// A `top` report, ready to print with [`TopReport::to_text`] or to
/// serialize.
#[derive(Clone, Debug, Serialize)]
pub struct TopReport {
    /// The lines above the table (profile description and summary).
    pub header: Vec<String>,
    pub sample_type: String,
    /// Unit of the sample values, as in the profile.
    pub sample_unit: String,
    /// Unit the formatted values are in.
    pub output_unit: String,
    /// The total the percentages are relative to.
    pub total: i64,
    pub rows: Vec<TopRow>,
}

/// One node of a [`TopReport`].
#[derive(Clone, Debug, Serialize)]
pub struct TopRow {
    pub name: String,
    /// `(inline)` when every call reaching the node was inlined,
    /// `(partial-inline)` when some were, else empty.
    pub inline: String,
    pub flat: i64,
    pub cum: i64,
    /// Running sum of `flat` down to this row.
    pub sum: i64,
    pub flat_formatted: String,
    pub cum_formatted: String,
    /// Percentages of the total, as pprof prints them (e.g. `48.01%`).
    pub flat_percent: String,
    pub sum_percent: String,
    pub cum_percent: String,
}

/// Builds the `top` report of `p` for the sample type, granularity, sort
/// order, node limits and unit of `o`.
pub fn top(p: &Profile, o: &Options) -> TopReport {
    let node_fraction = o.node_fraction.unwrap_or(DEFAULT_NODE_FRACTION);
    let trim = Trim {
        node_count: o.node_count.unwrap_or(0),
        node_fraction,
        edge_fraction: o.edge_fraction.unwrap_or(DEFAULT_EDGE_FRACTION),
        cum_sort: o.cum_sort,
    };
    let g = Graph::build(p, o, &trim);
    let total = report_total(p, o);
    let unit = sample_unit(p, o);
    let output_unit = select_output_unit(&g, total, unit, &o.unit);
    let header = graph_report_lines(p, o, &g, total, &output_unit, node_fraction);
    let mut sum = 0i64;
    let rows = g
        .nodes
        .iter()
        .map(|n| {
            sum += n.flat;
            TopRow {
                name: n.name.clone(),
                inline: n.inline_label(&g.edges).to_string(),
                flat: n.flat,
                cum: n.cum,
                sum,
                flat_formatted: scaled_label(n.flat, unit, &output_unit),
                cum_formatted: scaled_label(n.cum, unit, &output_unit),
                flat_percent: percentage(n.flat, total),
                sum_percent: percentage(sum, total),
                cum_percent: percentage(n.cum, total),
            }
        })
        .collect();
    TopReport {
        header,
        sample_type: sample_type(p, o).to_string(),
        sample_unit: unit.to_string(),
        output_unit,
        total,
        rows,
    }
}

impl TopReport {
    /// The report exactly as `go tool pprof -top` prints it.
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        for line in &self.header {
            out.push_str(line);
            out.push('\n');
        }
        out.push_str(&format!(
            "{:>10} {:>5}% {:>5}% {:>10} {:>5}%\n",
            "flat", "flat", "sum", "cum", "cum"
        ));
        for r in &self.rows {
            let inline = if r.inline.is_empty() {
                String::new()
            } else {
                format!(" {}", r.inline)
            };
            out.push_str(&format!(
                "{:>10} {} {} {:>10} {}  {}{}\n",
                r.flat_formatted,
                r.flat_percent,
                r.sum_percent,
                r.cum_formatted,
                r.cum_percent,
                r.name,
                inline
            ));
        }
        out
    }
}
