//! `tags`: how the reported value splits over each label's values, like
//! `go tool pprof -tags`.

use std::collections::BTreeMap;

use serde::Serialize;

use super::format::{percentage, scale, scaled_label};
use super::header::sample_unit;
use super::Options;
use crate::ops::{label_kind, num_label_units, LabelKind};
use crate::Profile;

#[derive(Debug, Serialize)]
pub struct TagValue {
    pub value: String,
    pub total: i64,
}

#[derive(Debug, Serialize)]
pub struct TagKey {
    pub key: String,
    pub total: i64,
    /// Largest share first.
    pub values: Vec<TagValue>,
}

#[derive(Debug, Serialize)]
pub struct TagsReport {
    pub unit: String,
    #[serde(skip)]
    output_unit: String,
    /// Sorted by key.
    pub keys: Vec<TagKey>,
}

pub fn tags(p: &Profile, o: &Options) -> TagsReport {
    let (units, _) = num_label_units(p);
    let mut by_key: BTreeMap<String, BTreeMap<String, i64>> = BTreeMap::new();
    for s in p.samples.iter() {
        let v = s.values.get(o.sample_index).copied().unwrap_or(0);
        for l in s.labels {
            let key = p.str(l.key);
            let value = match label_kind(l) {
                LabelKind::Str => p.str(l.str).to_string(),
                LabelKind::Num => {
                    let unit = units.get(key).map_or("", String::as_str);
                    scaled_label(l.num, unit, &o.unit)
                }
                LabelKind::Ignored => continue,
            };
            *by_key
                .entry(key.to_string())
                .or_default()
                .entry(value)
                .or_default() += v;
        }
    }
    let keys = by_key
        .into_iter()
        .map(|(key, values)| {
            let mut values: Vec<TagValue> = values
                .into_iter()
                .map(|(value, total)| TagValue { value, total })
                .collect();
            values.sort_by(|a, b| {
                b.total
                    .unsigned_abs()
                    .cmp(&a.total.unsigned_abs())
                    .then_with(|| a.value.cmp(&b.value))
            });
            TagKey {
                key,
                total: values.iter().map(|v| v.total).sum(),
                values,
            }
        })
        .collect();
    TagsReport {
        unit: sample_unit(p, o).to_string(),
        output_unit: o.unit.clone(),
        keys,
    }
}

impl TagsReport {
    fn amount(&self, v: i64) -> String {
        let (n, unit) = scale(v, &self.unit, &self.output_unit);
        format!("{n:.1}{unit}")
    }

    /// pprof's layout: a block per key, the first column right-aligned to
    /// the widest cell of the block plus one space, as Go's tabwriter does.
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        for k in &self.keys {
            let head = format!("{}:", k.key);
            let rows: Vec<(String, &str)> = k
                .values
                .iter()
                .map(|v| {
                    let amount = self.amount(v.total);
                    let cell = if k.total > 0 {
                        format!("{amount} ({}):", percentage(v.total, k.total))
                    } else {
                        format!("{amount}:")
                    };
                    (cell, v.value.as_str())
                })
                .collect();
            let width0 = rows
                .iter()
                .map(|_| 1)
                .chain([head.chars().count()])
                .max()
                .unwrap_or(0)
                + 1;
            let width1 = rows
                .iter()
                .map(|(c, _)| c.chars().count())
                .max()
                .unwrap_or(0)
                + 1;
            out.push_str(&format!("{head:>width0$} Total {}\n", self.amount(k.total)));
            for (cell, value) in rows {
                out.push_str(&format!("{:>width0$}{cell:>width1$} {value}\n", " "));
            }
            out.push('\n');
        }
        out
    }
}
