//! `lint`: memdiag-lint's static checks over Rust sources (exit 1 when
//! something is found, like `go vet`), or `--alloc-sites`.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::Result;
use memdiag_lint::{alloc_sites, lint, Config};

use crate::args::{LintArgs, LintFormat};

pub fn run(args: &LintArgs) -> Result<ExitCode> {
    let paths: Vec<PathBuf> = if args.paths.is_empty() {
        vec![PathBuf::from(".")]
    } else {
        args.paths.clone()
    };
    let mut config = match &args.config {
        Some(file) => Config::load(file)?,
        None => Config::discover(&paths[0])?,
    };
    config.include_tests |= args.include_tests;

    if args.alloc_sites {
        let report = alloc_sites(&paths, &config);
        let out = match args.format {
            LintFormat::Json => report.render_json(),
            _ => report.render_text(),
        };
        print!("{out}");
        return Ok(ExitCode::SUCCESS);
    }

    let start = Instant::now();
    let report = lint(&paths, &config);
    let seconds = start.elapsed().as_secs_f64();
    match args.format {
        LintFormat::Text => print!("{}", report.render_text(std::io::stdout().is_terminal())),
        LintFormat::Json => println!("{}", report.render_json()),
        LintFormat::Sarif => println!("{}", report.render_sarif()),
        LintFormat::Stats => println!(
            "{}",
            serde_json::json!({
                "files": report.files_scanned,
                "lines": report.lines_scanned,
                "seconds": seconds,
                "lines_per_sec": report.lines_scanned as f64 / seconds,
                "parse_warnings": report.warnings.len(),
                "findings": report.counts(),
            })
        ),
    }
    Ok(if report.findings.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
