//! `memdiag`: the analyzer command. A thin layer over memdiag-profile.
//! Exit codes: 0 success, 2 usage or input error.

mod args;
mod commands;
mod go_flags;
mod input;
mod pipeline;

use std::process::ExitCode;

use clap::Parser;

use args::{Cli, Command, GO_STYLE_FLAGS};
use commands::report::{self, Kind};

fn main() -> ExitCode {
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
    let result = match &cli.command {
        Command::Top(a) => report::run(Kind::Top, a, None),
        Command::Traces(a) => report::run(Kind::Traces, a, None),
        Command::Tree(a) => report::run(Kind::Tree, a, None),
        Command::Raw(a) => report::run(Kind::Raw, a, None),
        Command::Tags(a) => report::run(Kind::Tags, a, None),
        Command::Peek(a) => report::run(Kind::Peek, &a.report, Some(&a.regex)),
        Command::List(a) => report::run(Kind::List, &a.report, Some(&a.regex)),
        Command::Diff(a) => report::run_diff(a),
        Command::Merge(a) | Command::Convert(a) => commands::write::run(a),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("memdiag: {e:#}");
            ExitCode::from(2)
        }
    }
}
