//! `memdiag demo`: the whole job in one command. Starts the demo service (a
//! Rust program with the memdiag collector and endpoint that leaks slowly,
//! fills a cache and churns), records its heap profile over HTTP for a
//! while, and prints the leak report — which names the leaking function and
//! not the cache.

pub mod scenarios;
pub mod service;

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, ExitCode, Stdio};

use anyhow::{bail, Context, Result};
use clap::Parser;

use crate::args::{Cli, DemoArgs};
use crate::commands;

/// Kills the service when the demo ends, however it ends.
struct Service(Child);

impl Drop for Service {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts `memdiag demo-service` and reads the address it serves on.
fn start_service(scenario: &str) -> Result<(Service, String)> {
    let exe = std::env::current_exe().context("locating the memdiag executable")?;
    let mut child = Command::new(exe)
        .args([
            "demo-service",
            "--scenario",
            scenario,
            "--addr",
            "127.0.0.1:0",
        ])
        .stdout(Stdio::piped())
        .stdin(Stdio::null())
        .spawn()
        .context("starting the demo service")?;
    let stdout = child.stdout.take().context("demo service stdout")?;
    let service = Service(child);
    let mut line = String::new();
    BufReader::new(stdout)
        .read_line(&mut line)
        .context("reading the demo service's address")?;
    let addr = line.trim().to_string();
    if addr.is_empty() {
        bail!("the demo service exited before printing its address");
    }
    Ok((service, addr))
}

/// Parses a subcommand line with the real parser, so the demo runs `record`
/// and `leaks` exactly as a user would type them.
fn parse(args: &[&str]) -> Result<crate::args::Command> {
    let argv = std::iter::once("memdiag").chain(args.iter().copied());
    Ok(Cli::try_parse_from(argv)?.command)
}

pub fn run(args: &DemoArgs) -> Result<ExitCode> {
    let out = match &args.out {
        Some(dir) => dir.clone(),
        None => fresh_dir()?,
    };
    let (service, addr) = start_service(&args.scenario)?;
    let url = format!("http://{addr}/debug/pprof/heap");
    eprintln!(
        "memdiag demo: service {:?} on http://{addr}/debug/pprof/ (a slow leak, a cache that fills, churn)",
        args.scenario
    );
    let every = format!("{}ms", args.every.as_millis());
    let duration = format!("{}ms", args.duration.as_millis());
    let out_str = out.to_string_lossy().into_owned();
    let crate::args::Command::Record(record) = parse(&[
        "record", &url, "--every", &every, "--for", &duration, "--out", &out_str,
    ])?
    else {
        bail!("internal: record arguments");
    };
    eprintln!(
        "memdiag demo: $ memdiag record {url} --every {every} --for {duration} --out {out_str}"
    );
    commands::record::run(&record)?;
    drop(service);

    eprintln!("memdiag demo: $ memdiag leaks {out_str}\n");
    let crate::args::Command::Leaks(leaks) = parse(&["leaks", &out_str])? else {
        bail!("internal: leaks arguments");
    };
    // `leaks` exits 1 when it finds a leak; the demo succeeds when it does.
    let found = commands::leaks::run(&leaks)? == ExitCode::from(1);
    if !found {
        bail!("the demo service's leak was not found in {out_str}");
    }
    // The same recording as a page: timeline with the verdicts, flame graph.
    let page = out.join("report.html").to_string_lossy().into_owned();
    eprintln!("\nmemdiag demo: $ memdiag report {out_str} -o {page}");
    let crate::args::Command::Report(report) = parse(&["report", &out_str, "-o", &page])? else {
        bail!("internal: report arguments");
    };
    commands::html::run(&report)?;
    eprintln!("memdiag demo: the recording is in {out_str}; open {page} in a browser");
    Ok(ExitCode::SUCCESS)
}

/// A new directory for the recording under the system's temp directory.
fn fresh_dir() -> Result<PathBuf> {
    let stamp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let dir = std::env::temp_dir().join(format!("memdiag-demo-{stamp}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    Ok(dir)
}
