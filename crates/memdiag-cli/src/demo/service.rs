//! The demo service (`memdiag demo-service`): runs one scenario with the
//! memdiag collector sampling and the `/debug/pprof/` endpoint serving, and
//! prints the endpoint's address as its first line of output.

use std::io::Write;

use anyhow::{bail, Result};

use super::scenarios;

/// The service samples more often than the 512 KiB default so that a short
/// run of a slow leak yields enough samples to show a trend.
pub const SAMPLE_RATE: usize = 4 * 1024;

/// Runs `scenario` and serves its profiles on `addr` until killed.
pub fn run(scenario: &str, addr: &str) -> Result<()> {
    let Some((_, workloads)) = scenarios::all().into_iter().find(|(n, _)| *n == scenario) else {
        bail!("unknown scenario {scenario:?} (see `memdiag demo-service --list`)");
    };
    memdiag::set_sample_rate(SAMPLE_RATE);
    let server = memdiag::http::serve(addr)?;
    scenarios::start(workloads);
    let mut out = std::io::stdout().lock();
    writeln!(out, "{}", server.local_addr())?;
    out.flush()?;
    drop(out);
    loop {
        std::thread::park();
    }
}

/// The scenarios and their leaking functions, one per line (tab-separated).
pub fn list() -> String {
    scenarios::all()
        .into_iter()
        .map(|(name, ws)| {
            let leaks: Vec<_> = ws.iter().filter_map(|w| w.leak).collect();
            format!("{name}\t{}\n", leaks.join(","))
        })
        .collect()
}
