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
    /// Merge profiles into one gzipped pprof file.
    Merge(WriteArgs),
    /// Convert a profile (e.g. Go legacy heap text) into gzipped pprof.
    Convert(WriteArgs),
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

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    #[test]
    fn command_definitions_are_consistent() {
        super::Cli::command().debug_assert();
    }
}
