//! `leaks DIR | FILE...`: which allocation sites leak over a series of heap
//! profiles. The statistics are memdiag-profile's (`leaks` module); this
//! module finds the snapshots, feeds them one at a time, and renders.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::mpsc;

use anyhow::{bail, Context, Result};
use memdiag_profile::leaks::{self, Class, LeakReport, Params, SeriesBuilder, SiteVerdict};
use memdiag_profile::ops::{self, Filters};
use memdiag_profile::report::format::scaled_label;
use memdiag_profile::report::Granularity;
use memdiag_profile::Profile;
use serde::Serialize;

use crate::args::LeaksArgs;
use crate::commands::record::INDEX_FILE;

/// Exit status when a leak is reported.
const FOUND: u8 = 1;

/// A series of snapshots and its leak analysis, before rendering: `leaks`
/// prints it, `report` and `web` plot it.
pub struct Analysis {
    /// The snapshot files, in the order given (or listed by the index).
    pub files: Vec<PathBuf>,
    /// Each snapshot's `time_nanos` and file, oldest first.
    pub by_time: Vec<(i64, PathBuf)>,
    pub series: leaks::Series,
    pub report: LeakReport,
    /// Problems worth telling the user, not yet printed.
    pub warnings: Vec<String>,
}

pub fn run(args: &LeaksArgs) -> Result<ExitCode> {
    let Analysis {
        files,
        series,
        report,
        warnings,
        ..
    } = analyze(args)?;
    for w in &warnings {
        eprintln!("memdiag: warning: {w}");
    }
    if series.sample_type.0.starts_with("alloc_") {
        eprintln!(
            "memdiag: warning: {} counts every allocation since the program started and only grows, so every site that allocates looks like a leak; leaks is meant for inuse_space or inuse_objects",
            series.sample_type.0
        );
    }
    if args.json {
        let out = JsonOutput {
            files: files.iter().map(|f| f.display().to_string()).collect(),
            warnings: &warnings,
            report: &report,
        };
        let mut s = serde_json::to_string_pretty(&out).context("encoding JSON")?;
        s.push('\n');
        write_stdout(&s)?;
    } else {
        write_stdout(&to_text(&report, args.nodecount))?;
    }
    Ok(if report.has_leaks() {
        ExitCode::from(FOUND)
    } else {
        ExitCode::SUCCESS
    })
}

/// Reads the snapshots `args` names, one at a time, and analyzes them.
pub fn analyze(args: &LeaksArgs) -> Result<Analysis> {
    if !(args.alpha > 0.0 && args.alpha < 1.0) {
        bail!("--alpha {}: must be between 0 and 1", args.alpha);
    }
    let (files, from_index) = snapshot_files(&args.inputs)?;
    if files.len() < 2 {
        bail!(
            "{}: only one snapshot; leaks needs a series of heap profiles (at least 2, 5 or more for a firm verdict), e.g. from `memdiag record`",
            files
                .first()
                .map_or_else(|| args.inputs.join(" "), |f| f.display().to_string())
        );
    }
    let granularity = if args.lines {
        Granularity::Lines
    } else if args.files {
        Granularity::Files
    } else if args.addresses {
        Granularity::Addresses
    } else {
        Granularity::Functions
    };
    let legacy = if args.inuse_objects {
        Some("inuse_objects")
    } else if args.inuse_space {
        Some("inuse_space")
    } else {
        None
    };
    let spec = args.sample_index.as_deref().or(legacy);
    let filters = Filters {
        focus: args.focus.clone(),
        ignore: args.ignore.clone(),
        hide: args.hide.clone(),
        show: args.show.clone(),
        ..Filters::default()
    };
    let filtering = [&args.focus, &args.ignore, &args.hide, &args.show]
        .iter()
        .any(|f| f.is_some());
    let mut builder = SeriesBuilder::new(granularity, spec, files.len());
    let mut warnings = Vec::new();
    let mut times: Vec<(i64, &Path)> = Vec::with_capacity(files.len());
    // One thread reads and decodes while this one aggregates; at most two
    // decoded profiles wait in the channel.
    std::thread::scope(|scope| -> Result<()> {
        let (tx, rx) = mpsc::sync_channel::<(usize, Result<Profile>)>(2);
        let files_ref = &files;
        scope.spawn(move || {
            for (i, f) in files_ref.iter().enumerate() {
                let loaded = load(f);
                let failed = loaded.is_err();
                if tx.send((i, loaded)).is_err() || failed {
                    break;
                }
            }
        });
        for (i, loaded) in rx {
            let file = &files[i];
            let mut p = loaded?;
            let _ = ops::remove_uninteresting(&mut p);
            if filtering {
                for w in ops::apply_filters(&mut p, &filters)
                    .with_context(|| file.display().to_string())?
                {
                    warnings.push(format!("{}: {w}", file.display()));
                }
            }
            if args.noinlines {
                ops::drop_inlined_frames(&mut p);
            }
            let first = builder.is_empty();
            for w in builder.add(&p).with_context(|| {
                if first {
                    file.display().to_string()
                } else {
                    format!(
                        "{}: cannot be analyzed with the earlier snapshots",
                        file.display()
                    )
                }
            })? {
                warnings.push(format!("{}: {w}", file.display()));
            }
            times.push((p.time_nanos, file));
        }
        Ok(())
    })?;
    check_times(&times, from_index, &mut warnings)?;
    let mut by_time: Vec<(i64, PathBuf)> =
        times.iter().map(|&(t, f)| (t, f.to_path_buf())).collect();
    by_time.sort_by_key(|t| t.0);
    let series = builder.finish();
    let params = Params {
        alpha: args.alpha,
        ..Params::default()
    };
    let report = leaks::analyze(&series, &params);
    Ok(Analysis {
        files,
        by_time,
        series,
        report,
        warnings,
    })
}

#[derive(Serialize)]
struct JsonOutput<'a> {
    files: Vec<String>,
    warnings: &'a [String],
    #[serde(flatten)]
    report: &'a LeakReport,
}

/// Writes to stdout; a closed pipe (`| head`) is not an error.
fn write_stdout(s: &str) -> Result<()> {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    match out.write_all(s.as_bytes()).and_then(|()| out.flush()) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => other.context("writing to stdout"),
    }
}

fn load(file: &Path) -> Result<Profile> {
    let bytes = std::fs::read(file).with_context(|| format!("{}: cannot read", file.display()))?;
    memdiag_profile::decode(&bytes)
        .with_context(|| format!("{}: not a usable heap profile", file.display()))
}

/// The snapshot files named by the inputs, and whether their order came from
/// a recording's index (so an order that is not by time is worth a warning).
fn snapshot_files(inputs: &[String]) -> Result<(Vec<PathBuf>, bool)> {
    let mut files = Vec::new();
    let mut ordered = inputs.len() > 1;
    for input in inputs {
        let path = Path::new(input);
        if crate::input::is_url(input) {
            bail!("{input}: leaks reads files; record the URL first with `memdiag record {input} --out DIR`");
        }
        if path.is_dir() {
            let (listed, from_index) = dir_files(path)?;
            ordered |= from_index;
            files.extend(listed);
        } else if path.exists() {
            files.push(path.to_path_buf());
        } else {
            bail!("{input}: no such file or directory");
        }
    }
    Ok((files, ordered))
}

/// The profiles of a directory: those its index lists, else every regular
/// file but hidden and temporary ones, by name.
fn dir_files(dir: &Path) -> Result<(Vec<PathBuf>, bool)> {
    let index = dir.join(INDEX_FILE);
    if index.is_file() {
        let text = std::fs::read_to_string(&index)
            .with_context(|| format!("{}: cannot read", index.display()))?;
        let mut files = Vec::new();
        for (n, line) in text.lines().enumerate() {
            if line.is_empty() || line.starts_with('#') || line.starts_with("time\t") {
                continue;
            }
            let Some(name) = line.split('\t').nth(2) else {
                bail!(
                    "{}:{}: expected `time<TAB>time_nanos<TAB>file<TAB>bytes`, got {line:?}",
                    index.display(),
                    n + 1
                );
            };
            files.push(dir.join(name));
        }
        return Ok((files, true));
    }
    let mut files = Vec::new();
    for entry in
        std::fs::read_dir(dir).with_context(|| format!("{}: cannot list", dir.display()))?
    {
        let entry = entry.with_context(|| format!("{}: cannot list", dir.display()))?;
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if name.starts_with('.') || name.ends_with(".tmp") {
            continue;
        }
        if entry.file_type().is_ok_and(|t| t.is_file()) {
            files.push(entry.path());
        }
    }
    if files.is_empty() {
        bail!("{}: the directory holds no profiles", dir.display());
    }
    files.sort();
    Ok((files, false))
}

/// Equal or unsorted timestamps are warned about; a series whose snapshots
/// all share one time cannot give rates.
fn check_times(times: &[(i64, &Path)], ordered: bool, warnings: &mut Vec<String>) -> Result<()> {
    if times.iter().all(|t| t.0 == times[0].0) {
        bail!(
            "all {} snapshots have the same time_nanos ({}): growth rates need snapshots taken at different times",
            times.len(),
            times[0].0
        );
    }
    if let Some(w) = times.windows(2).find(|w| w[1].0 < w[0].0) {
        if ordered {
            warnings.push(format!(
                "{} is older than {}, which comes before it: snapshots are ordered by time_nanos",
                w[1].1.display(),
                w[0].1.display()
            ));
        }
    }
    let mut sorted: Vec<&(i64, &Path)> = times.iter().collect();
    sorted.sort_by_key(|t| t.0);
    let equal: Vec<_> = sorted.windows(2).filter(|w| w[0].0 == w[1].0).collect();
    for w in equal.iter().take(3) {
        warnings.push(format!(
            "{} and {} have the same time_nanos ({})",
            w[0].1.display(),
            w[1].1.display(),
            w[0].0
        ));
    }
    if equal.len() > 3 {
        warnings.push(format!(
            "{} more pairs of snapshots have the same time_nanos: is a file listed twice?",
            equal.len() - 3
        ));
    }
    Ok(())
}

/// The site names of the rows, with callers added (`f ← caller`) where
/// several rows would otherwise read the same. Rows that callers cannot
/// tell apart (a leak and the `Vec` it pushes into) show instead the
/// frame the site calls to allocate (`f → alloc::vec::Vec<T,A>::push`;
/// just `f` when it is the leaf).
pub fn labels(rows: &[&SiteVerdict]) -> Vec<String> {
    let at = |s: &SiteVerdict| s.stack.iter().position(|f| *f == s.site).unwrap_or(0);
    let all: Vec<Vec<String>> = rows
        .iter()
        .map(|s| s.stack.iter().skip(at(s) + 1).cloned().collect())
        .collect();
    let label = |i: usize, depth: usize| -> String {
        std::iter::once(rows[i].site.clone())
            .chain(all[i].iter().take(depth).cloned())
            .collect::<Vec<_>>()
            .join(" ← ")
    };
    let counts = |labels: &[String]| {
        let mut counts = std::collections::HashMap::new();
        for l in labels {
            *counts.entry(l.clone()).or_insert(0) += 1;
        }
        counts
    };
    let mut labels: Vec<String> = (0..rows.len()).map(|i| label(i, 0)).collect();
    for depth in 1..=3 {
        let counts = counts(&labels);
        let mut changed = false;
        for i in 0..rows.len() {
            if counts[&labels[i]] > 1 && all[i].len() >= depth {
                labels[i] = label(i, depth);
                changed = true;
            }
        }
        if !changed {
            break;
        }
    }
    let counts = counts(&labels);
    for (i, s) in rows.iter().enumerate() {
        if counts[&labels[i]] > 1 {
            labels[i] = match at(s).checked_sub(1).and_then(|k| s.stack.get(k)) {
                Some(callee) => format!("{} → {callee}", s.site),
                None => s.site.clone(),
            };
        }
    }
    labels
}

/// `1h2m`, `3m20s`, `45s`, `0.5s`.
fn fmt_secs(secs: f64) -> String {
    if secs < 10.0 && secs.fract() != 0.0 {
        return format!("{secs:.1}s");
    }
    let total = secs.round() as i64;
    let (h, m, s) = (total / 3600, total / 60 % 60, total % 60);
    match (h, m) {
        (0, 0) => format!("{s}s"),
        (0, _) => format!("{m}m{s}s"),
        _ => format!("{h}h{m}m{s}s"),
    }
}

fn value(v: f64, unit: &str) -> String {
    scaled_label(v.round() as i64, unit, "minimum")
}

fn signed(v: f64, unit: &str) -> String {
    let s = value(v, unit);
    if v > 0.0 && s != "0" {
        format!("+{s}")
    } else {
        s
    }
}

fn confidence(s: &SiteVerdict) -> String {
    format!("q={:.1e}", s.q_value)
}

/// `leak`, `leak?` when weak, `leak (grows with #1)` for a site that joined
/// leak #1 (the container holding its objects, usually).
fn class_cell(s: &SiteVerdict) -> String {
    let weak = if s.weak { "?" } else { "" };
    match s.joins {
        Some(j) => format!("{}{weak} (grows with #{j})", s.class),
        None => format!("{}{weak}", s.class),
    }
}

fn to_text(r: &LeakReport, node_count: usize) -> String {
    use std::fmt::Write;
    let mut out = String::new();
    let unit = r.unit.as_str();
    let _ = writeln!(
        out,
        "{} snapshots over {}, {} by {}",
        r.snapshots,
        fmt_secs(r.duration_secs),
        r.sample_type,
        match r.granularity {
            Granularity::Functions => "function",
            Granularity::Lines => "line",
            Granularity::Files => "file",
            Granularity::Addresses => "address",
        }
    );
    let c = &r.counts;
    let _ = writeln!(
        out,
        "Sites: {} leak, {} plateau, {} shrinking, {} churn, {} stable (false discovery rate {}%)",
        c.leak,
        c.plateau,
        c.shrinking,
        c.churn,
        c.stable,
        r.alpha * 100.0
    );
    if r.weak {
        let _ = writeln!(
            out,
            "Verdict is weak: only {} snapshots; record at least 5 (better 20 or more) for a firm one.",
            r.snapshots
        );
    }
    let shown: Vec<&SiteVerdict> = r
        .sites
        .iter()
        .enumerate()
        .filter(|(i, s)| s.class == Class::Leak || *i < node_count.max(c.leak))
        .map(|(_, s)| s)
        .collect();
    if shown.is_empty() {
        let _ = writeln!(out, "\nNo site changed.");
        return out;
    }
    let labels = labels(&shown);
    let rows: Vec<[String; 8]> = shown
        .iter()
        .zip(&labels)
        .enumerate()
        .map(|(i, (s, label))| {
            [
                format!("{}", i + 1),
                class_cell(s),
                format!("{}/min", signed(s.growth_per_minute, unit)),
                signed(s.total_growth as f64, unit),
                s.retained_fraction
                    .map_or_else(|| "-".to_string(), |f| format!("{:.1}%", f * 100.0)),
                confidence(s),
                format!("+{}", fmt_secs(s.first_seen_secs)),
                label.clone(),
            ]
        })
        .collect();
    let header = [
        "#",
        "class",
        "growth/min",
        "total growth",
        "retained",
        "confidence",
        "first seen",
        "site",
    ];
    let mut width = header.map(str::len);
    for row in &rows {
        for (w, cell) in width.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    out.push('\n');
    let line = |cells: [&str; 8]| {
        let mut l = String::new();
        for (k, cell) in cells.iter().enumerate() {
            let pad = width[k].saturating_sub(cell.chars().count());
            if k == 7 {
                l.push_str(cell);
            } else if k == 1 {
                l.push_str(cell);
                l.push_str(&" ".repeat(pad + 2));
            } else {
                l.push_str(&" ".repeat(pad));
                l.push_str(cell);
                l.push_str("  ");
            }
        }
        l.trim_end().to_string()
    };
    let _ = writeln!(out, "{}", line(header));
    for row in &rows {
        let cells: [&str; 8] = std::array::from_fn(|k| row[k].as_str());
        let _ = writeln!(out, "{}", line(cells));
    }
    if shown.iter().any(|s| s.weak) {
        let _ = writeln!(
            out,
            "(?: weak verdict, too few snapshots to tell a leak from a cache that is about to stop growing)"
        );
    }
    if r.sites.len() > shown.len() {
        let _ = writeln!(
            out,
            "({} more changing sites not shown; -nodecount=N shows more)",
            r.sites.len() - shown.len()
        );
    }
    let leaks: Vec<&SiteVerdict> = r.leaks().collect();
    if !leaks.is_empty() {
        let _ = writeln!(out, "\nLeaking stacks (leaf first):");
        for (i, s) in leaks.iter().enumerate() {
            let _ = writeln!(
                out,
                "\n#{} {}: {}/min, {} now, {}{}{}",
                i + 1,
                s.site,
                signed(s.growth_per_minute, unit),
                value(s.last_value as f64, unit),
                confidence(s),
                if s.weak { " (weak)" } else { "" },
                s.joins
                    .map_or_else(String::new, |j| format!(", grows with #{j}"))
            );
            for frame in &s.stack {
                let _ = writeln!(out, "    {frame}");
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::fmt_secs;

    #[test]
    fn durations_print_compactly() {
        assert_eq!(fmt_secs(0.0), "0s");
        assert_eq!(fmt_secs(2.5), "2.5s");
        assert_eq!(fmt_secs(200.0), "3m20s");
        assert_eq!(fmt_secs(3725.0), "1h2m5s");
    }
}
