//! The `traces` report: every sample with its value, labels and call stack,
//! as `go tool pprof -traces` prints it.
//!
//! Samples appear in profile order, unsorted and unfiltered (pprof prints
//! even zero-valued ones); only samples without any location are skipped.
//! Frames are named at the report's granularity, the way pprof's driver
//! aggregates locations before printing: with the default `functions`
//! granularity a frame is its function name; `lines` adds `file:line`,
//! `files` shows only the file and `addresses` prefixes the address. The
//! caller frames of a location holding inlined frames are marked
//! `(inline)`.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Arc;

use serde::{Serialize, Serializer};

use super::format::scaled_label;
use super::graph::{go_clean, objfile_and_lines, NodeInfo};
use super::header::{header_lines, report_total, sample_type, sample_unit};
use super::{Granularity, Options};
use crate::model::{Line, Profile};
use crate::ops::{label_kind, num_label_units, LabelKind};

/// The line pprof prints between traces.
const SEPARATOR: &str = "-----------+-------------------------------------------------------";

/// A `traces` report, ready to print with [`TracesReport::to_text`] or to
/// serialize.
#[derive(Clone, Debug, Serialize)]
pub struct TracesReport {
    /// The profile description above the traces (`File:`, `Type:`, ...).
    pub header: Vec<String>,
    pub sample_type: String,
    /// Unit of the sample values, as in the profile.
    pub sample_unit: String,
    /// Unit asked for the formatted values (`minimum` picks one per value).
    pub output_unit: String,
    pub traces: Vec<Trace>,
}

/// One sample of a [`TracesReport`].
#[derive(Clone, Debug, Serialize)]
pub struct Trace {
    /// The sample's value of the reported sample type.
    pub value: i64,
    pub value_formatted: String,
    /// String labels (sorted as pprof prints them), then numeric labels
    /// (sorted likewise, values formatted in the key's unit).
    pub labels: Vec<TraceLabel>,
    /// The call stack, leaf first.
    pub frames: Vec<TraceFrame>,
}

/// The values a sample has for one label key.
#[derive(Clone, Debug, Serialize)]
pub struct TraceLabel {
    pub key: String,
    pub values: Vec<String>,
    pub numeric: bool,
}

/// One frame of a [`Trace`].
#[derive(Clone, Debug, Serialize)]
pub struct TraceFrame {
    /// The frame's name (shared by all the frames of the same location).
    #[serde(serialize_with = "serialize_name")]
    pub name: Arc<str>,
    /// The frame was inlined into the next one (its caller).
    pub inline: bool,
}

impl TraceLabel {
    /// The label's line as pprof prints it; also its sort key.
    fn line(&self) -> String {
        format!("{:>10}:  {}\n", self.key, self.values.join(" "))
    }
}

fn serialize_name<S: Serializer>(name: &Arc<str>, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(name)
}

impl TracesReport {
    /// The report as `go tool pprof -traces` prints it.
    pub fn to_text(&self) -> String {
        let frames: usize = self.traces.iter().map(|t| t.frames.len() + 1).sum();
        let mut out = String::with_capacity(frames * 40);
        out.push_str(&self.header.join("\n"));
        out.push('\n');
        for t in &self.traces {
            out.push_str(SEPARATOR);
            out.push('\n');
            for l in &t.labels {
                out.push_str(&l.line());
            }
            for (i, f) in t.frames.iter().enumerate() {
                let value = if i == 0 {
                    t.value_formatted.as_str()
                } else {
                    ""
                };
                let inline = if f.inline { " (inline)" } else { "" };
                let _ = writeln!(out, "{value:>10}   {}{inline}", f.name);
            }
        }
        out.push_str(SEPARATOR);
        out.push('\n');
        out
    }
}

/// Builds the `traces` report of `p` for the sample type, granularity and
/// unit of `o`.
pub fn traces(p: &Profile, o: &Options) -> TracesReport {
    let total = report_total(p, o);
    let header = header_lines(p, o, total, &o.unit);
    let unit = sample_unit(p, o);
    let frames = location_frames(p, o.granularity);
    let (num_units, _) = num_label_units(p);

    let mut traces = Vec::with_capacity(p.samples.len());
    for s in p.samples.iter() {
        let stack: Vec<TraceFrame> = s
            .locations
            .iter()
            .flat_map(|&l| frames[l as usize].iter().cloned())
            .collect();
        if stack.is_empty() {
            continue;
        }
        let value = s.values.get(o.sample_index).copied().unwrap_or(0);
        traces.push(Trace {
            value,
            value_formatted: scaled_label(value, unit, &o.unit),
            labels: sample_labels(p, s.labels, &num_units),
            frames: stack,
        });
    }

    TracesReport {
        header,
        sample_type: sample_type(p, o).to_string(),
        sample_unit: unit.to_string(),
        output_unit: o.unit.clone(),
        traces,
    }
}

/// The frames of every location (innermost first), named at `granularity`.
fn location_frames(p: &Profile, granularity: Granularity) -> Vec<Vec<TraceFrame>> {
    p.locations
        .iter()
        .map(|loc| {
            let (objfile, lines) = objfile_and_lines(p, loc);
            let last = lines.len() - 1;
            lines
                .iter()
                .enumerate()
                .map(|(i, line)| TraceFrame {
                    name: frame_info(p, granularity, loc.address, line, objfile)
                        .printable_name()
                        .into(),
                    inline: i != last,
                })
                .collect()
        })
        .collect()
}

/// What pprof knows of a frame once the driver cleared what `granularity`
/// does not use. Unlike the graph reports, traces show source paths as the
/// profile has them (only cleaned), without trimming.
fn frame_info(
    p: &Profile,
    granularity: Granularity,
    address: u64,
    line: &Line,
    objfile: &str,
) -> NodeInfo {
    let address = if granularity == Granularity::Addresses {
        address
    } else {
        0
    };
    let Some(f) = line.function.and_then(|f| p.functions.get(f as usize)) else {
        return NodeInfo {
            address,
            objfile: objfile.to_string(),
            ..NodeInfo::default()
        };
    };
    let keep_name = granularity != Granularity::Files;
    let keep_file = granularity != Granularity::Functions;
    let keep_line = matches!(granularity, Granularity::Lines | Granularity::Addresses);
    let mut info = NodeInfo {
        address,
        lineno: if keep_line { line.line } else { 0 },
        ..NodeInfo::default()
    };
    if keep_name {
        info.name = p.str(f.name).to_string();
    }
    let file = p.str(f.filename);
    if keep_file && !file.is_empty() {
        info.file = go_clean(file);
    }
    if info.name.is_empty() {
        info.objfile = objfile.to_string();
        info.start_line = f.start_line;
    }
    info
}

/// A sample's labels as pprof prints them: the values of each key (in
/// sample order), string keys sorted by their printed line, then numeric
/// keys likewise.
fn sample_labels(
    p: &Profile,
    labels: &[crate::model::Label],
    num_units: &BTreeMap<String, String>,
) -> Vec<TraceLabel> {
    let mut strs: Vec<TraceLabel> = Vec::new();
    let mut nums: Vec<TraceLabel> = Vec::new();
    for l in labels {
        let kind = label_kind(l);
        let (group, value) = match kind {
            LabelKind::Str => (&mut strs, p.str(l.str).to_string()),
            LabelKind::Num => {
                let key = p.str(l.key);
                let unit = num_units.get(key).map_or("", String::as_str);
                (&mut nums, scaled_label(l.num, unit, "auto"))
            }
            LabelKind::Ignored => continue,
        };
        let key = p.str(l.key);
        match group.iter_mut().find(|g| g.key == key) {
            Some(g) => g.values.push(value),
            None => group.push(TraceLabel {
                key: key.to_string(),
                values: vec![value],
                numeric: kind == LabelKind::Num,
            }),
        }
    }
    strs.sort_by_cached_key(TraceLabel::line);
    nums.sort_by_cached_key(TraceLabel::line);
    strs.extend(nums);
    strs
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Function, Label, Location, Mapping};

    fn profile() -> Profile {
        let mut p = Profile::with_sample_types(&[("space", "bytes")]);
        let name = p.strings.intern("main.f");
        let inner = p.strings.intern("main.g");
        let file = p.strings.intern("src/./a.go");
        p.functions = vec![
            Function {
                name,
                system_name: name,
                filename: file,
                start_line: 0,
            },
            Function {
                name: inner,
                system_name: inner,
                filename: file,
                start_line: 0,
            },
        ];
        p.mappings = vec![Mapping::default()];
        p.locations = vec![Location {
            mapping: Some(0),
            address: 0x1234,
            lines: vec![
                Line {
                    function: Some(1),
                    line: 7,
                    column: 0,
                },
                Line {
                    function: Some(0),
                    line: 3,
                    column: 0,
                },
            ],
            is_folded: false,
        }];
        let label = |p: &mut Profile, k: &str, v: &str| Label {
            key: p.strings.intern(k),
            str: p.strings.intern(v),
            ..Label::default()
        };
        let labels = [
            label(&mut p, "zone", "b"),
            label(&mut p, "x", "1"),
            label(&mut p, "zone", "a"),
            Label {
                key: p.strings.intern("bytes"),
                num: 2048,
                ..Label::default()
            },
        ];
        p.samples.push(&[0], &[1536], &labels);
        p.samples.push(&[], &[5], &[]);
        p
    }

    #[test]
    fn text_layout() {
        let p = profile();
        let r = traces(&p, &Options::default());
        assert_eq!(
            r.to_text(),
            format!(
                "Type: space\n{SEPARATOR}\n         x:  1\n      zone:  b a\n     bytes:  2kB\n\
                 \x20   1.50kB   main.g (inline)\n             main.f\n{SEPARATOR}\n"
            )
        );
    }

    #[test]
    fn granularities_name_frames() {
        let p = profile();
        let names = |g: Granularity| -> Vec<String> {
            let o = Options {
                granularity: g,
                ..Options::default()
            };
            traces(&p, &o).traces[0]
                .frames
                .iter()
                .map(|f| f.name.to_string())
                .collect()
        };
        assert_eq!(
            names(Granularity::Lines),
            ["main.g src/a.go:7", "main.f src/a.go:3"]
        );
        assert_eq!(names(Granularity::Files), ["src/a.go", "src/a.go"]);
        assert_eq!(
            names(Granularity::Addresses),
            [
                "0000000000001234 main.g src/a.go:7",
                "0000000000001234 main.f src/a.go:3"
            ]
        );
    }
}
