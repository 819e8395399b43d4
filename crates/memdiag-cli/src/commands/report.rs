//! The text reports: top, traces, peek, tree, list, raw, tags, diff.

use std::io::Write;

use anyhow::{Context, Result};
use memdiag_profile::report;
use regex::Regex;
use serde::Serialize;

use crate::args::{DiffArgs, ReportArgs, SelectArgs};
use crate::pipeline::prepare;

#[derive(Clone, Copy, Debug)]
pub enum Kind {
    Top,
    Traces,
    Peek,
    Tree,
    List,
    Raw,
    Tags,
}

/// Text, or JSON when asked, of one report.
fn emit<T: Serialize>(report: &T, text: impl FnOnce(&T) -> String, json: bool) -> Result<()> {
    let out = if json {
        let mut s = serde_json::to_string_pretty(report).context("encoding JSON")?;
        s.push('\n');
        s
    } else {
        text(report)
    };
    write_stdout(&out)
}

/// Writes to stdout; a closed pipe (`| head`) is not an error.
fn write_stdout(s: &str) -> Result<()> {
    let mut out = std::io::stdout().lock();
    match out.write_all(s.as_bytes()).and_then(|()| out.flush()) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => other.context("writing to stdout"),
    }
}

fn compile(regex: &str) -> Result<Regex> {
    Regex::new(regex).with_context(|| format!("bad regular expression {regex:?}"))
}

pub fn run(kind: Kind, args: &ReportArgs, regex: Option<&str>) -> Result<()> {
    run_selected(kind, &args.inputs, &args.select, args.json, regex)
}

pub fn run_diff(args: &DiffArgs) -> Result<()> {
    let mut select = args.select.clone();
    select.diff_base = Some(args.base_profile.clone());
    select.base = None;
    run_selected(
        Kind::Top,
        std::slice::from_ref(&args.new_profile),
        &select,
        args.json,
        None,
    )
}

fn run_selected(
    kind: Kind,
    inputs: &[String],
    select: &SelectArgs,
    json: bool,
    regex: Option<&str>,
) -> Result<()> {
    let prepared = prepare(inputs, select)?;
    let (p, o) = (&prepared.profile, &prepared.options);
    match kind {
        Kind::Top => emit(&report::top(p, o), |r| r.to_text(), json),
        Kind::Traces => emit(&report::traces::traces(p, o), |r| r.to_text(), json),
        Kind::Tree => emit(&report::tree(p, o), |r| r.to_text(), json),
        Kind::Tags => emit(&report::tags(p, o), |r| r.to_text(), json),
        Kind::Peek => {
            let re = compile(regex.unwrap_or(""))?;
            let peek = report::peek(p, o, &re);
            if let Some(err) = peek.no_match_error() {
                anyhow::bail!("{err}");
            }
            emit(&peek, |r| r.to_text(), json)
        }
        Kind::List => {
            let re = compile(regex.unwrap_or(""))?;
            let listing = report::list::list(p, o, &re)?;
            emit(&listing, |r| r.to_text(), json)
        }
        Kind::Raw => {
            let text = report::raw::raw(p);
            if json {
                emit(&text, |t| t.clone(), true)
            } else {
                write_stdout(&text)
            }
        }
    }
}
