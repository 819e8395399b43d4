//! `memdiag`: the analyzer command. A thin layer over memdiag-profile.
//! Exit codes: 0 success, 1 found what it looks for (`leaks`: a leak), 2 usage or input error.

mod args;
mod commands;
mod demo;
mod go_flags;
mod input;
mod output;
mod pipeline;
mod view;

use std::process::ExitCode;

/// memdiag samples its own allocations: the demo service is this binary,
/// and `MEMDIAG_PROFILE=heap.pb.gz memdiag ...` profiles the analyzer.
/// Sampling is off unless asked for (`MEMDIAG_RATE`), so it costs the
/// analyzer one decrement per allocation.
#[global_allocator]
static ALLOC: memdiag::Profiled<std::alloc::System> = memdiag::Profiled::new(std::alloc::System);

use clap::Parser;

use args::{Cli, Command, GO_STYLE_FLAGS};
use commands::report::{self, Kind};

fn main() -> ExitCode {
    if std::env::var_os("MEMDIAG_RATE").is_none() && std::env::var_os("MEMDIAG_PROFILE").is_none() {
        memdiag::set_sample_rate(0);
    }
    let argv = go_flags::normalize(std::env::args(), GO_STYLE_FLAGS);
    let cli = match Cli::try_parse_from(argv) {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() {
                ExitCode::from(2)
            } else {
                ExitCode::SUCCESS
            };
        }
    };
    let done = |r: anyhow::Result<()>| r.map(|()| ExitCode::SUCCESS);
    let result = match &cli.command {
        Command::Top(a) => done(report::run(Kind::Top, a, None)),
        Command::Traces(a) => done(report::run(Kind::Traces, a, None)),
        Command::Tree(a) => done(report::run(Kind::Tree, a, None)),
        Command::Raw(a) => done(report::run(Kind::Raw, a, None)),
        Command::Tags(a) => done(report::run(Kind::Tags, a, None)),
        Command::Peek(a) => done(report::run(Kind::Peek, &a.report, Some(&a.regex))),
        Command::List(a) => done(report::run(Kind::List, &a.report, Some(&a.regex))),
        Command::Diff(a) => done(report::run_diff(a)),
        Command::Merge(a) | Command::Convert(a) => done(commands::write::run(a)),
        Command::Flame(a) => done(commands::flame::run(a)),
        Command::Record(a) => done(commands::record::run(a)),
        Command::Leaks(a) => commands::leaks::run(a),
        Command::Lint(a) => commands::lint::run(a),
        Command::Report(a) => done(commands::html::run(a)),
        Command::Web(a) => done(commands::web::run(a)),
        Command::Demo(a) => demo::run(a),
        Command::DemoService(a) if a.list => {
            print!("{}", demo::service::list());
            Ok(ExitCode::SUCCESS)
        }
        Command::DemoService(a) => done(demo::service::run(&a.scenario, &a.addr)),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("memdiag: {e:#}");
            ExitCode::from(2)
        }
    }
}
