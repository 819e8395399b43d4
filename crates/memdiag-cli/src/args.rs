//! Command-line definitions. Flag names follow `go tool pprof` (one dash and
//! underscores work too, see `go_flags`); kebab-case aliases are for clap users.

use clap::{ArgGroup, Args, Parser, Subcommand};

#[derive(Parser, Debug)]
#[command(
    name = "memdiag",
    version,
    about = "Find memory leaks and excessive memory use: read pprof profiles (Go's or memdiag's) and report like `go tool pprof`.",
    after_help = "Inputs are pprof files (gzipped or not), Go legacy heap text, or http(s):// URLs of a /debug/pprof endpoint.\nFlags may be written the go tool pprof way: -sample_index=alloc_space -focus=main"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Functions (or lines, files, addresses) ranked by flat value, like `go tool pprof -top`.
    Top(ReportArgs),
    /// Every sample with its stack, like `go tool pprof -traces`.
    Traces(ReportArgs),
    /// Callers and callees of the functions matching REGEX, like `go tool pprof -peek`.
    Peek(RegexReportArgs),
    /// Every node with its callers and callees, like `go tool pprof -tree`.
    Tree(ReportArgs),
    /// Annotated source of the functions matching REGEX, like `go tool pprof -list`.
    List(RegexReportArgs),
    /// The decoded profile as text, like `go tool pprof -raw`.
    Raw(ReportArgs),
    /// The value split by each label's values, like `go tool pprof -tags`.
    Tags(ReportArgs),
    /// Top of NEW relative to BASE (shorthand for `top -diff_base BASE NEW`).
    Diff(DiffArgs),
    /// Flame graph SVG (inferno): interactive, any sample type, same filters as `top`.
    Flame(FlameArgs),
    /// Merge profiles into one gzipped pprof file.
    Merge(WriteArgs),
    /// Convert a profile (e.g. Go legacy heap text) into gzipped pprof.
    Convert(WriteArgs),
    /// Record heap profiles from a URL on a schedule into a directory (for `leaks`).
    Record(RecordArgs),
    /// Find leaking allocation sites in a series of heap profiles (exit 1 when a leak is found).
    Leaks(LeaksArgs),
    /// Write a self-contained HTML report: summary, top table, flame graph (and a timeline for a recording).
    Report(HtmlArgs),
    /// Serve the interactive HTML report on 127.0.0.1 (sample type, focus, ignore, base, source).
    Web(WebArgs),
    /// Static checks for leak patterns in Rust sources, like `go vet` (exit 1 when something is found).
    Lint(LintArgs),
    /// The whole job in one command: run a demo service that leaks, record it, report the leak.
    Demo(DemoArgs),
    /// The demo service `demo` runs (a scenario with the memdiag collector and endpoint).
    #[command(hide = true)]
    DemoService(DemoServiceArgs),
}

/// The flag names that may be written with a single dash, Go style.
pub const GO_STYLE_FLAGS: &[&str] = &[
    "sample_index",
    "focus",
    "ignore",
    "hide",
    "show",
    "show_from",
    "tagfocus",
    "tagignore",
    "base",
    "diff_base",
    "nodecount",
    "nodefraction",
    "cum",
    "unit",
    "functions",
    "lines",
    "files",
    "addresses",
    "source_path",
    "noinlines",
    "alloc_space",
    "alloc_objects",
    "inuse_space",
    "inuse_objects",
    "json",
    "output",
    "force",
    "alpha",
    "port",
];

#[derive(Args, Debug, Clone)]
#[command(group(ArgGroup::new("granularity").args(["functions", "lines", "files", "addresses"])))]
pub struct ReportArgs {
    /// Profile files or URLs; several are merged.
    #[arg(required = true, value_name = "PROFILE")]
    pub inputs: Vec<String>,
    #[command(flatten)]
    pub select: SelectArgs,
    /// Print machine-readable JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

#[derive(Args, Debug, Clone)]
pub struct RegexReportArgs {
    /// Regular expression (RE2 syntax) selecting functions.
    pub regex: String,
    #[command(flatten)]
    pub report: ReportArgs,
}

#[derive(Args, Debug, Clone)]
#[command(group(ArgGroup::new("granularity").args(["functions", "lines", "files", "addresses"])))]
pub struct DiffArgs {
    /// The earlier profile.
    #[arg(value_name = "BASE")]
    pub base_profile: String,
    /// The later profile.
    #[arg(value_name = "NEW")]
    pub new_profile: String,
    #[command(flatten)]
    pub select: SelectArgs,
    #[arg(long)]
    pub json: bool,
}

/// Which samples and values a report shows.
#[derive(Args, Debug, Clone, Default)]
pub struct SelectArgs {
    /// Sample type to report, by name (inuse_space) or index.
    #[arg(
        long = "sample_index",
        visible_alias = "sample-index",
        value_name = "TYPE"
    )]
    pub sample_index: Option<String>,
    /// Keep only samples with a frame matching this regex.
    #[arg(long, value_name = "REGEX")]
    pub focus: Option<String>,
    /// Drop samples with a frame matching this regex.
    #[arg(long, value_name = "REGEX")]
    pub ignore: Option<String>,
    /// Remove matching frames from stacks.
    #[arg(long, value_name = "REGEX")]
    pub hide: Option<String>,
    /// Keep only matching frames in stacks.
    #[arg(long, value_name = "REGEX")]
    pub show: Option<String>,
    /// Drop frames above the first one matching this regex.
    #[arg(long = "show_from", visible_alias = "show-from", value_name = "REGEX")]
    pub show_from: Option<String>,
    /// Keep only samples whose labels match (key=value regex, or key=range for numeric labels).
    #[arg(long, value_name = "FILTER")]
    pub tagfocus: Option<String>,
    /// Drop samples whose labels match.
    #[arg(long, value_name = "FILTER")]
    pub tagignore: Option<String>,
    /// Shorthand for -sample_index=alloc_space (Go's legacy flag).
    #[arg(long = "alloc_space", hide = true)]
    pub alloc_space: bool,
    /// Shorthand for -sample_index=alloc_objects.
    #[arg(long = "alloc_objects", hide = true)]
    pub alloc_objects: bool,
    /// Shorthand for -sample_index=inuse_space.
    #[arg(long = "inuse_space", hide = true)]
    pub inuse_space: bool,
    /// Shorthand for -sample_index=inuse_objects.
    #[arg(long = "inuse_objects", hide = true)]
    pub inuse_objects: bool,
    /// Subtract this profile.
    #[arg(long, value_name = "PROFILE", conflicts_with = "diff_base")]
    pub base: Option<String>,
    /// Compare against this profile (negative values kept; percentages of the base total).
    #[arg(
        long = "diff_base",
        visible_alias = "diff-base",
        value_name = "PROFILE"
    )]
    pub diff_base: Option<String>,
    /// Show at most N nodes.
    #[arg(long, value_name = "N")]
    pub nodecount: Option<usize>,
    /// Hide nodes below this fraction of the total.
    #[arg(long, value_name = "FRACTION")]
    pub nodefraction: Option<f64>,
    /// Sort by cumulative value.
    #[arg(long)]
    pub cum: bool,
    /// Output unit (e.g. MB, kB, bytes, s, ms), or `minimum`/`auto`.
    #[arg(long, value_name = "UNIT")]
    pub unit: Option<String>,
    /// Report at function granularity (default).
    #[arg(long)]
    pub functions: bool,
    /// Report at source line granularity.
    #[arg(long)]
    pub lines: bool,
    /// Report at source file granularity.
    #[arg(long)]
    pub files: bool,
    /// Report at instruction address granularity.
    #[arg(long)]
    pub addresses: bool,
    /// Attribute inlined functions to their callers.
    #[arg(long)]
    pub noinlines: bool,
    /// Directories to search for source files (`list`), separated by ':'.
    #[arg(
        long = "source_path",
        visible_alias = "source-path",
        value_name = "DIRS"
    )]
    pub source_path: Option<String>,
}

#[derive(Args, Debug, Clone)]
#[command(group(ArgGroup::new("granularity").args(["functions", "lines", "files", "addresses"])))]
pub struct HtmlArgs {
    /// Profile files or URLs (merged), or one directory written by `memdiag record`.
    #[arg(required = true, value_name = "PROFILE|DIR")]
    pub inputs: Vec<String>,
    #[command(flatten)]
    pub select: SelectArgs,
    /// Output file (one self-contained HTML page).
    #[arg(short, long, value_name = "FILE")]
    pub output: String,
    /// Overwrite the output file if it exists.
    #[arg(long)]
    pub force: bool,
}

#[derive(Args, Debug, Clone)]
#[command(group(ArgGroup::new("granularity").args(["functions", "lines", "files", "addresses"])))]
pub struct WebArgs {
    /// Profile files or URLs (merged), or one directory written by `memdiag record`.
    #[arg(required = true, value_name = "PROFILE|DIR|URL")]
    pub inputs: Vec<String>,
    #[command(flatten)]
    pub select: SelectArgs,
    /// Port to serve on, on 127.0.0.1 only (0: any free port).
    #[arg(long, value_name = "N", default_value_t = 8080)]
    pub port: u16,
}

#[derive(Args, Debug, Clone)]
#[command(group(ArgGroup::new("granularity").args(["functions", "lines", "files", "addresses"])))]
pub struct FlameArgs {
    /// Profile files or URLs; several are merged.
    #[arg(required = true, value_name = "PROFILE")]
    pub inputs: Vec<String>,
    #[command(flatten)]
    pub select: SelectArgs,
    /// Output SVG file.
    #[arg(short, long, value_name = "FILE")]
    pub output: String,
    /// Overwrite the output file if it exists.
    #[arg(long)]
    pub force: bool,
    /// Differential flame graph against this earlier profile: widths from
    /// PROFILE, growth red, shrink blue.
    #[arg(long, value_name = "BASE", conflicts_with_all = ["base", "diff_base"])]
    pub diff: Option<String>,
    /// Icicle graph: roots at the top, growing down.
    #[arg(long)]
    pub icicle: bool,
    /// Title above the graph.
    #[arg(long)]
    pub title: Option<String>,
}

#[derive(Args, Debug, Clone)]
pub struct WriteArgs {
    /// Output file (gzipped pprof).
    #[arg(short, long, value_name = "FILE")]
    pub output: String,
    /// Overwrite the output file if it exists.
    #[arg(long)]
    pub force: bool,
    /// Input profiles or URLs.
    #[arg(required = true, value_name = "PROFILE")]
    pub inputs: Vec<String>,
}

#[derive(Args, Debug, Clone)]
#[command(
    group(ArgGroup::new("granularity").args(["functions", "lines", "files", "addresses"])),
    after_help = "Exit status: 0 no leak found, 1 a leak was found, 2 bad input or usage."
)]
pub struct LeaksArgs {
    /// A directory written by `memdiag record` (or holding only profiles), or profile files.
    #[arg(required = true, value_name = "DIR|FILE")]
    pub inputs: Vec<String>,
    /// Sample type to analyze, by name or index (default: the profile's default, inuse_space).
    #[arg(
        long = "sample_index",
        visible_alias = "sample-index",
        value_name = "TYPE"
    )]
    pub sample_index: Option<String>,
    /// Shorthand for -sample_index=inuse_space.
    #[arg(long = "inuse_space", hide = true)]
    pub inuse_space: bool,
    /// Shorthand for -sample_index=inuse_objects.
    #[arg(long = "inuse_objects", hide = true)]
    pub inuse_objects: bool,
    /// Keep only samples with a frame matching this regex.
    #[arg(long, value_name = "REGEX")]
    pub focus: Option<String>,
    /// Drop samples with a frame matching this regex.
    #[arg(long, value_name = "REGEX")]
    pub ignore: Option<String>,
    /// Remove matching frames from stacks.
    #[arg(long, value_name = "REGEX")]
    pub hide: Option<String>,
    /// Keep only matching frames in stacks.
    #[arg(long, value_name = "REGEX")]
    pub show: Option<String>,
    /// Align sites by function stacks (default).
    #[arg(long)]
    pub functions: bool,
    /// Align sites by source-line stacks.
    #[arg(long)]
    pub lines: bool,
    /// Align sites by source-file stacks.
    #[arg(long)]
    pub files: bool,
    /// Align sites by address stacks.
    #[arg(long)]
    pub addresses: bool,
    /// Attribute inlined functions to their callers.
    #[arg(long)]
    pub noinlines: bool,
    /// Show at most N sites besides the leaks (all leaks are always shown).
    #[arg(long, value_name = "N", default_value_t = 20)]
    pub nodecount: usize,
    /// False discovery rate of the trend tests.
    #[arg(long, value_name = "RATE", default_value_t = 0.05)]
    pub alpha: f64,
    /// Print machine-readable JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

#[derive(Args, Debug, Clone)]
#[command(
    after_help = "Suppress a finding with `// memdiag:allow(rule-id)` on its line, the line before, or its item; or in memdiag-lint.toml.\nExit status: 0 nothing found, 1 findings, 2 bad input or usage."
)]
pub struct LintArgs {
    /// Crate or workspace directories, or .rs files (default: the current directory).
    #[arg(value_name = "PATH")]
    pub paths: Vec<std::path::PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = LintFormat::Text)]
    pub format: LintFormat,
    /// List heap-allocation sites per function instead (like Go's -gcflags=-m), those in loops flagged.
    #[arg(long = "alloc-sites", visible_alias = "alloc_sites")]
    pub alloc_sites: bool,
    /// Config file (default: the nearest memdiag-lint.toml above the first PATH).
    #[arg(long, value_name = "FILE")]
    pub config: Option<std::path::PathBuf>,
    /// Also check tests, benches and examples.
    #[arg(long = "include-tests")]
    pub include_tests: bool,
}

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum LintFormat {
    /// rustc-style diagnostics
    Text,
    Json,
    /// SARIF 2.1.0, for code scanning
    Sarif,
    /// One JSON line of counts and throughput (for scripts/bench-lint).
    #[value(hide = true)]
    Stats,
}

#[derive(Args, Debug, Clone)]
pub struct DemoArgs {
    /// How long to record the service.
    #[arg(long = "for", value_name = "DURATION", default_value = "30s", value_parser = parse_duration)]
    pub duration: std::time::Duration,
    /// Time between two heap profiles.
    #[arg(long, value_name = "DURATION", default_value = "1s", value_parser = parse_duration)]
    pub every: std::time::Duration,
    /// Directory for the recording (default: a new directory under the system's temp directory).
    #[arg(short, long, value_name = "DIR")]
    pub out: Option<std::path::PathBuf>,
    /// Which scenario the service runs (`memdiag demo-service --list`).
    #[arg(long, value_name = "NAME", default_value = "demo", hide = true)]
    pub scenario: String,
}

#[derive(Args, Debug, Clone)]
pub struct DemoServiceArgs {
    /// Scenario to run.
    #[arg(long, value_name = "NAME", default_value = "demo")]
    pub scenario: String,
    /// Address to serve /debug/pprof/ on (loopback).
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:6060")]
    pub addr: String,
    /// Print the scenarios and their leaking functions.
    #[arg(long)]
    pub list: bool,
}

#[derive(Args, Debug, Clone)]
#[command(
    after_help = "Durations are written like Go's: 500ms, 10s, 1m30s, 2h.\nExample: memdiag record http://localhost:6060/debug/pprof/heap --every 10s --for 10m --out snaps/"
)]
pub struct RecordArgs {
    /// Heap profile URL (pprof protobuf), e.g. http://localhost:6060/debug/pprof/heap; a ?seconds=N query is passed through.
    #[arg(value_name = "URL")]
    pub url: String,
    /// Time between two fetches.
    #[arg(long, value_name = "DURATION", default_value = "10s", value_parser = parse_duration)]
    pub every: std::time::Duration,
    /// How long to record (default: until Ctrl-C).
    #[arg(long = "for", value_name = "DURATION", value_parser = parse_duration)]
    pub duration: Option<std::time::Duration>,
    /// Stop after N snapshots.
    #[arg(long, value_name = "N")]
    pub count: Option<usize>,
    /// Directory to write the profiles and index.tsv into.
    #[arg(short, long, value_name = "DIR")]
    pub out: std::path::PathBuf,
    /// Add to a directory that already holds a recording.
    #[arg(long)]
    pub append: bool,
    /// Attempts after a failed fetch before skipping that snapshot.
    #[arg(long, value_name = "N", default_value_t = 2)]
    pub retries: u32,
}

/// Parses a duration the way Go's `time.ParseDuration` does (`1m30s`,
/// `500ms`, `1.5h`), or in humantime's longer forms (`10 minutes`).
pub fn parse_duration(s: &str) -> Result<std::time::Duration, String> {
    let t = s.trim();
    if let Some(d) = parse_go_duration(t) {
        return Ok(d);
    }
    humantime::parse_duration(t)
        .map_err(|e| format!("{s:?} is not a duration (write e.g. 500ms, 10s, 1m30s): {e}"))
}

fn parse_go_duration(s: &str) -> Option<std::time::Duration> {
    if s == "0" {
        return Some(std::time::Duration::ZERO);
    }
    let mut rest = s;
    let mut total = 0f64;
    let mut any = false;
    while !rest.is_empty() {
        let num_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let number: f64 = rest[..num_len].parse().ok()?;
        rest = &rest[num_len..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let scale = match &rest[..unit_len] {
            "ns" => 1e-9,
            "us" | "µs" | "μs" => 1e-6,
            "ms" => 1e-3,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            _ => return None,
        };
        rest = &rest[unit_len..];
        total += number * scale;
        any = true;
    }
    if !any || !total.is_finite() {
        return None;
    }
    std::time::Duration::try_from_secs_f64(total).ok()
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;
    use std::time::Duration;

    #[test]
    fn durations_parse_like_go() {
        let p = |s| super::parse_duration(s).unwrap();
        assert_eq!(p("10s"), Duration::from_secs(10));
        assert_eq!(p("500ms"), Duration::from_millis(500));
        assert_eq!(p("1m30s"), Duration::from_secs(90));
        assert_eq!(p("1.5h"), Duration::from_secs(5400));
        assert_eq!(p("10 minutes"), Duration::from_secs(600));
        assert!(super::parse_duration("ten").is_err());
        assert!(super::parse_duration("5x").is_err());
    }

    #[test]
    fn command_definitions_are_consistent() {
        super::Cli::command().debug_assert();
    }
}
