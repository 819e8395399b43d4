//! The top, peek and tree reports against `go tool pprof` (Go 1.19.8):
//!
//! * `expected_outputs_match`: every row of testdata/expected/INDEX.tsv that
//!   runs `-top`, `-peek` or `-tree` with only the flags these reports
//!   implement (sample index, sort, node limits, unit, granularity) is
//!   rebuilt from its profile and compared byte for byte with Go's stored
//!   output.
//! * `live_go_matches`: when `go` is on PATH, runs `go tool pprof` on every
//!   fixture in testdata/profiles, for every sample index and a set of report
//!   flags, and compares.
//!
//! * `live_go_matches_synthetic`: the same against pseudo-random profiles
//!   built here (inlined frames, negative values, diff-base labels, nameless
//!   functions, locations without lines, several mappings, comments) and
//!   written to a temporary directory.
//!
//! Times are printed in the local zone: both sides run with TZ=UTC.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use memdiag_profile::ops;
use memdiag_profile::report::{self, Granularity, Options};
use memdiag_profile::{Function, Label, Line, Location, Mapping, Profile};
use regex::Regex;

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn use_utc() {
    // All tests of this binary set the same value.
    std::env::set_var("TZ", "UTC");
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Top,
    Tree,
    Peek,
}

/// A report invocation parsed from pprof arguments.
#[derive(Debug)]
struct Invocation {
    kind: Kind,
    regex: Option<String>,
    sample_index: Option<String>,
    granularity: Granularity,
    node_count: Option<usize>,
    node_fraction: Option<f64>,
    cum: bool,
    unit: Option<String>,
    profile: String,
}

/// Parses `go tool pprof` arguments; `None` when they use anything these
/// reports do not implement (filters, other reports, other flags).
fn parse_args(args: &[&str]) -> Option<Invocation> {
    let mut kind = None;
    let mut inv = Invocation {
        kind: Kind::Top,
        regex: None,
        sample_index: None,
        granularity: Granularity::Functions,
        node_count: None,
        node_fraction: None,
        cum: false,
        unit: None,
        profile: String::new(),
    };
    let mut positional = Vec::new();
    let mut i = 0;
    while i < args.len() {
        let arg = args[i];
        i += 1;
        let Some(flag) = arg.strip_prefix('-') else {
            positional.push(arg);
            continue;
        };
        let flag = flag.strip_prefix('-').unwrap_or(flag);
        let (name, value) = match flag.split_once('=') {
            Some((n, v)) => (n, Some(v)),
            None => (flag, None),
        };
        match (name, value) {
            ("top", None) => kind = Some(Kind::Top),
            ("tree", None) => kind = Some(Kind::Tree),
            ("peek", Some(v)) => {
                kind = Some(Kind::Peek);
                inv.regex = Some(v.to_string());
            }
            ("peek", None) => {
                kind = Some(Kind::Peek);
                inv.regex = Some(args.get(i)?.to_string());
                i += 1;
            }
            ("sample_index", Some(v)) => inv.sample_index = Some(v.to_string()),
            ("cum", None) => inv.cum = true,
            ("flat", None) => inv.cum = false,
            ("nodecount", Some(v)) => inv.node_count = Some(v.parse().ok()?),
            ("nodefraction", Some(v)) => inv.node_fraction = Some(v.parse().ok()?),
            ("unit", Some(v)) => inv.unit = Some(v.to_string()),
            ("functions", None) => inv.granularity = Granularity::Functions,
            ("lines", None) => inv.granularity = Granularity::Lines,
            ("files", None) => inv.granularity = Granularity::Files,
            ("addresses", None) => inv.granularity = Granularity::Addresses,
            _ => return None,
        }
    }
    inv.kind = kind?;
    if positional.len() != 1 {
        return None;
    }
    inv.profile = positional[0].to_string();
    Some(inv)
}

/// Go legacy heap text is read the way Go reads it (bare addresses, no
/// names: Go cannot symbolize it without the binary) so reports can be
/// compared byte for byte; `decode` would name the frames from the text.
fn load(path: &Path) -> Result<Profile, String> {
    let data = std::fs::read(path).map_err(|e| format!("reading {}: {e}", path.display()))?;
    let decoded = if path.extension().is_some_and(|e| e == "txt") {
        memdiag_profile::codec::parse_legacy_heap_unsymbolized(&data)
    } else {
        memdiag_profile::decode(&data)
    };
    decoded.map_err(|e| format!("decoding {}: {e}", path.display()))
}

/// Our output for an invocation, or why there is none.
fn run_ours(inv: &Invocation) -> Result<String, String> {
    let p = load(&repo_root().join(&inv.profile))?;
    report_text(&p, inv)
}

/// What pprof's driver does to a profile before any report: merge it (which
/// sums samples with the same stack and labels, so that the report total,
/// a sum of absolute values, is that of the merged samples) and apply its
/// own drop/keep frames (whose errors Go ignores).
fn prepare(p: Profile) -> Result<Profile, String> {
    let mut p = ops::combine(vec![p]).map_err(|e| format!("merge: {e}"))?;
    let _ = ops::remove_uninteresting(&mut p);
    Ok(p)
}

/// Our output for an invocation on an already loaded profile.
fn report_text(p: &Profile, inv: &Invocation) -> Result<String, String> {
    let p = &prepare(p.clone())?;
    let sample_index = match &inv.sample_index {
        Some(spec) => p.sample_index(spec).map_err(|e| e.to_string())?,
        None => p.default_sample_index(),
    };
    let mut o = Options {
        sample_index,
        granularity: inv.granularity,
        node_count: inv.node_count,
        node_fraction: inv.node_fraction,
        cum_sort: inv.cum,
        ..Options::default()
    };
    if let Some(unit) = &inv.unit {
        o.unit = unit.clone();
    }
    Ok(match inv.kind {
        Kind::Top => report::top(p, &o).to_text(),
        Kind::Tree => report::tree(p, &o).to_text(),
        Kind::Peek => {
            let re = Regex::new(inv.regex.as_deref().unwrap_or(""))
                .map_err(|e| format!("regex: {e}"))?;
            let r = report::peek(p, &o, &re);
            if let Some(err) = r.no_match_error() {
                return Err(err);
            }
            r.to_text()
        }
    })
}

/// A readable account of where two outputs differ.
fn describe_difference(expected: &str, actual: &str) -> String {
    let (e, a): (Vec<&str>, Vec<&str>) = (expected.lines().collect(), actual.lines().collect());
    for i in 0..e.len().max(a.len()) {
        let (el, al) = (e.get(i), a.get(i));
        if el != al {
            return format!(
                "first difference at line {}:\n  go:   {:?}\n  ours: {:?}",
                i + 1,
                el.unwrap_or(&"<end>"),
                al.unwrap_or(&"<end>")
            );
        }
    }
    if expected.ends_with('\n') != actual.ends_with('\n') {
        return "outputs differ in their final newline".to_string();
    }
    "outputs differ".to_string()
}

#[test]
fn expected_outputs_match() {
    use_utc();
    let root = repo_root();
    let index_path = root.join("testdata/expected/INDEX.tsv");
    let Ok(index) = std::fs::read_to_string(&index_path) else {
        println!(
            "note: {} not found; nothing to compare",
            index_path.display()
        );
        return;
    };
    let mut checked = 0;
    let mut failures = Vec::new();
    for line in index.lines() {
        if line.starts_with('#') || line.trim().is_empty() {
            continue;
        }
        let Some((file, args)) = line.split_once('\t') else {
            continue;
        };
        let argv: Vec<&str> = args.split_whitespace().collect();
        let Some(inv) = parse_args(&argv) else {
            continue;
        };
        checked += 1;
        let path = root.join("testdata/expected").join(file);
        let expected = std::fs::read_to_string(&path).expect("expected output");
        let expected = match expected.split_once('\n') {
            Some((first, rest)) if first.starts_with("# produced by") => rest.to_string(),
            _ => expected,
        };
        match run_ours(&inv) {
            Ok(actual) if actual == expected => {}
            Ok(actual) => failures.push(format!(
                "{file} ({args}): {}",
                describe_difference(&expected, &actual)
            )),
            Err(e) => failures.push(format!("{file} ({args}): {e}")),
        }
    }
    println!("compared {checked} expected outputs");
    assert!(checked > 0, "no -top/-peek/-tree rows in INDEX.tsv");
    assert!(
        failures.is_empty(),
        "{} of {checked} differ from go tool pprof:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

fn go_available() -> bool {
    Command::new("go")
        .arg("version")
        .output()
        .is_ok_and(|o| o.status.success())
}

/// Go's stdout for `go tool pprof ARGS`, or its stderr on failure.
fn run_go(args: &[String]) -> Result<String, String> {
    let out = Command::new("go")
        .arg("tool")
        .arg("pprof")
        .args(args)
        .current_dir(repo_root())
        .env("TZ", "UTC")
        .env("GOTOOLCHAIN", "local")
        .env("GOFLAGS", "")
        .env("PPROF_TMPDIR", std::env::temp_dir())
        .output()
        .map_err(|e| format!("running go: {e}"))?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    }
}

#[test]
fn live_go_matches() {
    use_utc();
    if !go_available() {
        println!("note: `go` is not on PATH; skipping the live comparison");
        return;
    }
    let root = repo_root();
    let Ok(dir) = std::fs::read_dir(root.join("testdata/profiles")) else {
        println!("note: no testdata/profiles; skipping the live comparison");
        return;
    };
    let fixtures: BTreeSet<String> = dir
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".pb.gz") || n.ends_with(".txt"))
        .collect();

    let mut runs: Vec<Vec<String>> = Vec::new();
    for name in &fixtures {
        let rel = format!("testdata/profiles/{name}");
        let types: Vec<String> = match load(&root.join(&rel)) {
            Ok(p) => (0..p.sample_types.len())
                .map(|i| p.sample_type_name(i).to_string())
                .collect(),
            // Let the comparison report the failure.
            Err(_) => vec![String::new()],
        };
        for ty in &types {
            let si = |args: &[&str]| -> Vec<String> {
                let mut v: Vec<String> = args.iter().map(|s| s.to_string()).collect();
                if !ty.is_empty() {
                    v.push(format!("-sample_index={ty}"));
                }
                v.push(rel.clone());
                v
            };
            runs.push(si(&["-top"]));
            runs.push(si(&["-top", "-cum"]));
            runs.push(si(&["-top", "-lines"]));
            runs.push(si(&["-tree"]));
        }
        let plain = |args: &[&str]| -> Vec<String> {
            let mut v: Vec<String> = args.iter().map(|s| s.to_string()).collect();
            v.push(rel.clone());
            v
        };
        runs.push(plain(&["-top", "-files"]));
        runs.push(plain(&["-top", "-addresses"]));
        runs.push(plain(&["-top", "-nodecount=3"]));
        runs.push(plain(&["-top", "-nodefraction=0.1", "-unit=kB"]));
        runs.push(plain(&["-tree", "-nodecount=4", "-lines"]));
        runs.push(plain(&["-peek", "main|runtime"]));
    }

    compare_live(&runs);
}

/// Runs `go tool pprof` with each argument list (in parallel, go starts
/// slowly) and compares with our output; fails listing every difference.
fn compare_live(runs: &[Vec<String>]) {
    let results: Vec<Result<String, String>> = std::thread::scope(|s| {
        let chunks: Vec<_> = runs
            .chunks(runs.len().div_ceil(8).max(1))
            .map(|chunk| s.spawn(move || chunk.iter().map(|a| run_go(a)).collect::<Vec<_>>()))
            .collect();
        chunks
            .into_iter()
            .flat_map(|h| h.join().expect("go runner"))
            .collect()
    });

    let mut failures = Vec::new();
    let mut compared = 0;
    for (args, go) in runs.iter().zip(results) {
        let argv: Vec<&str> = args.iter().map(String::as_str).collect();
        let inv = parse_args(&argv).expect("our own arguments parse");
        let ours = run_ours(&inv);
        compared += 1;
        match (go, ours) {
            (Ok(g), Ok(o)) if g == o => {}
            (Ok(g), Ok(o)) => failures.push(format!(
                "go tool pprof {}: {}",
                args.join(" "),
                describe_difference(&g, &o)
            )),
            (Err(_), Err(_)) => {}
            (Ok(_), Err(e)) => failures.push(format!(
                "go tool pprof {}: ours failed: {e}",
                args.join(" ")
            )),
            (Err(e), Ok(_)) => failures.push(format!(
                "go tool pprof {}: go failed but we did not: {}",
                args.join(" "),
                e.trim()
            )),
        }
    }
    println!("compared {compared} live go tool pprof runs");
    assert!(
        failures.is_empty(),
        "{} of {compared} differ from go tool pprof:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// A small deterministic pseudo-random generator (xorshift64*).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }
}

/// A pseudo-random profile exercising what the reports must get right:
/// inlined frames (a location with several lines), recursion, nameless
/// functions, locations without lines, several mappings, unclean file
/// paths, negative and zero values, `pprof::base` labels, comments, a build
/// id, and a duration.
fn synthetic_profile(seed: u64) -> Profile {
    let mut rng = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
    let time_types = matches!(seed % 3, 0);
    let mut p = if time_types {
        Profile::with_sample_types(&[("samples", "count"), ("cpu", "nanoseconds")])
    } else {
        Profile::with_sample_types(&[("alloc_objects", "count"), ("alloc_space", "bytes")])
    };
    let n_mappings = 1 + rng.below(3) as usize;
    for m in 0..n_mappings {
        let filename = if m == 0 && seed % 4 == 1 {
            String::new()
        } else {
            format!("/nonexistent/memdiag-test/bin{m}")
        };
        let build_id = if seed & 1 == 0 {
            format!("buildid{seed}x{m}")
        } else {
            String::new()
        };
        p.mappings.push(Mapping {
            memory_start: 0x400000 * (m as u64 + 1),
            memory_limit: 0x400000 * (m as u64 + 2),
            filename: p.strings.intern(&filename),
            build_id: p.strings.intern(&build_id),
            has_functions: true,
            has_filenames: true,
            has_line_numbers: true,
            has_inline_frames: true,
            ..Mapping::default()
        });
    }
    const NAMES: &[&str] = &[
        "main.main",
        "runtime.main",
        "main.alpha",
        "main.beta",
        "main.(*T).gamma",
        "github.com/x/y/v2.Delta",
        "pkg/sub.epsilon",
        "main.zeta.func1",
        "",
        "strings.Repeat",
        "main.eta",
        "main.theta",
    ];
    const FILES: &[&str] = &[
        "/src/main.go",
        "/proc/self/cwd/./local.go",
        "a//b/../c.go",
        "",
        "pkg/sub/f.go",
        "/src/main.go",
    ];
    let n_functions = 6 + rng.below(6) as usize;
    for i in 0..n_functions {
        let name = NAMES[i % NAMES.len()];
        let file = *rng.pick(FILES);
        let start_line = if rng.below(3) == 0 {
            0
        } else {
            rng.below(50) as i64
        };
        let f = Function {
            name: p.strings.intern(name),
            system_name: p.strings.intern(name),
            filename: p.strings.intern(file),
            start_line,
        };
        p.functions.push(f);
    }
    let n_locations = 8 + rng.below(12) as usize;
    for i in 0..n_locations {
        let n_lines = match rng.below(10) {
            0 => 0,
            1..=2 => 2,
            3 => 3,
            _ => 1,
        };
        let lines = (0..n_lines)
            .map(|_| Line {
                function: Some(rng.below(n_functions as u64) as u32),
                line: rng.below(4) as i64 * 10,
                column: 0,
            })
            .collect();
        let mapping = rng.below(n_mappings as u64) as u32;
        p.locations.push(Location {
            mapping: Some(mapping),
            address: 0x400000 * (u64::from(mapping) + 1) + 0x10 * i as u64 + 1,
            lines,
            is_folded: false,
        });
    }
    let base_key = p.strings.intern("pprof::base");
    let base_true = p.strings.intern("true");
    let negatives = seed % 2 == 1;
    let n_samples = 20 + rng.below(60) as usize;
    for _ in 0..n_samples {
        let depth = rng.below(8) as usize;
        let stack: Vec<u32> = (0..depth)
            .map(|_| rng.below(n_locations as u64) as u32)
            .collect();
        let value = |rng: &mut Rng| -> i64 {
            // Small values stay positive: edges of weights w and -w into
            // one node are ordered by Go's map iteration (nondeterministic).
            let v = match rng.below(12) {
                0 => return 0,
                1 => return 1 + rng.below(10) as i64,
                _ => 1 + rng.below(3_000_000) as i64,
            };
            if negatives && rng.below(3) == 0 {
                -v
            } else {
                v
            }
        };
        let mut values = [value(&mut rng), value(&mut rng)];
        if time_types {
            values[1] = values[1] * 1000 + 10_000_000;
        }
        let labels = if negatives && rng.below(4) == 0 {
            vec![Label {
                key: base_key,
                str: base_true,
                ..Label::default()
            }]
        } else {
            Vec::new()
        };
        p.samples.push(&stack, &values, &labels);
    }
    if seed % 5 != 4 {
        p.time_nanos = 1_700_000_000_000_000_000 + seed as i64 * 7_777_777_000_000;
    }
    if time_types || seed % 4 == 2 {
        p.duration_nanos = 1_000_000_000 + rng.below(5_000_000_000) as i64;
    }
    if seed % 3 == 1 {
        let c = p.strings.intern(&format!("comment {seed}"));
        p.comments.push(c);
        let hidden = p.strings.intern("# not shown");
        p.comments.push(hidden);
    }
    p.period_type = Some(p.sample_types[1]);
    p.period = 1;
    p
}

#[test]
fn live_go_matches_synthetic() {
    use_utc();
    if !go_available() {
        println!("note: `go` is not on PATH; skipping the live comparison");
        return;
    }
    let dir = std::env::temp_dir().join(format!("memdiag-reports-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let mut runs: Vec<Vec<String>> = Vec::new();
    // MEMDIAG_SYNTHETIC_SEEDS=N widens the search.
    let seeds: u64 = std::env::var("MEMDIAG_SYNTHETIC_SEEDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(16);
    for seed in 1..=seeds {
        let p = synthetic_profile(seed);
        let path = dir.join(format!("synthetic{seed}.pb.gz"));
        std::fs::write(&path, memdiag_profile::encode_gzip(&p)).expect("write profile");
        let path = path.to_string_lossy().into_owned();
        let flag_sets: &[&[&str]] = &[
            &["-top"],
            &["-top", "-sample_index=0"],
            &["-top", "-cum"],
            &["-top", "-lines"],
            &["-top", "-files"],
            &["-top", "-addresses"],
            &["-top", "-nodecount=4"],
            &["-top", "-nodefraction=0"],
            &["-top", "-nodefraction=0.2", "-cum"],
            &["-top", "-unit=auto"],
            &["-top", "-unit=MB"],
            &["-top", "-unit=bytes"],
            &["-top", "-unit=ms"],
            &["-tree"],
            &["-tree", "-lines", "-nodecount=5"],
            &["-tree", "-cum", "-sample_index=0"],
            &["-peek", "main"],
            &["-peek", "a", "-addresses"],
        ];
        for flags in flag_sets {
            let mut args: Vec<String> = flags.iter().map(|s| s.to_string()).collect();
            args.push(path.clone());
            runs.push(args);
        }
    }
    compare_live(&runs);
    let _ = std::fs::remove_dir_all(&dir);
}
