//! The traces, raw and list reports against `go tool pprof`'s output.
//!
//! * Every `-traces`, `-raw` and `-list` case of testdata/expected/INDEX.tsv:
//!   our text must equal the committed output of Go 1.19's pprof.
//! * When `go` is on PATH, the same reports run live on every fixture (and
//!   `-list` on the fixture whose source is in the repo, found or not).
//!
//! Go's legacy heap text profiles are compared with one allowance: Go cannot
//! symbolize them without the binary (each frame is one `<unknown>`
//! location) while our decoder names the functions from the text's `#`
//! lines. For those, locations' function lines are replaced by what Go
//! shows before comparing; samples, addresses, values and labels must still
//! match exactly.

use std::path::{Path, PathBuf};
use std::process::Command;

use memdiag_profile::ops::{self, Filters};
use memdiag_profile::report::{self, Granularity, Options};
use memdiag_profile::Profile;
use regex::Regex;

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .nth(2)
        .expect("repo root")
        .to_path_buf()
}

fn set_utc() {
    // pprof prints times in the local zone; the fixtures were made in UTC.
    std::env::set_var("TZ", "UTC");
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Traces,
    Raw,
    List,
}

/// A `go tool pprof` command line understood by this test.
#[derive(Debug, Default)]
struct Args {
    kind: Option<Kind>,
    list_regex: Option<String>,
    sample_index: Option<String>,
    granularity: Option<Granularity>,
    unit: Option<String>,
    base: Option<(String, bool)>,
    source_path: Option<String>,
    filters: Filters,
    inputs: Vec<String>,
}

/// Parses pprof arguments; any flag not understood fails the test rather
/// than being ignored.
fn parse_args(args: &[String]) -> Args {
    let mut out = Args::default();
    let mut i = 0;
    while i < args.len() {
        let a = &args[i];
        i += 1;
        let Some(flag) = a.strip_prefix('-') else {
            out.inputs.push(a.clone());
            continue;
        };
        let flag = flag.trim_start_matches('-');
        let (name, value) = match flag.split_once('=') {
            Some((n, v)) => (n, Some(v.to_string())),
            None => (flag, None),
        };
        let mut value_or_next = || {
            value.clone().unwrap_or_else(|| {
                i += 1;
                args.get(i - 1).cloned().expect("flag value")
            })
        };
        match name {
            "traces" => out.kind = Some(Kind::Traces),
            "raw" => out.kind = Some(Kind::Raw),
            "list" => {
                out.kind = Some(Kind::List);
                out.list_regex = Some(value_or_next());
            }
            "sample_index" => out.sample_index = Some(value_or_next()),
            "alloc_space" | "alloc_objects" | "inuse_space" | "inuse_objects" => {
                out.sample_index = Some(name.to_string())
            }
            "functions" => out.granularity = Some(Granularity::Functions),
            "lines" => out.granularity = Some(Granularity::Lines),
            "files" => out.granularity = Some(Granularity::Files),
            "addresses" => out.granularity = Some(Granularity::Addresses),
            "unit" => out.unit = Some(value_or_next()),
            "base" => out.base = Some((value_or_next(), false)),
            "diff_base" => out.base = Some((value_or_next(), true)),
            "source_path" => out.source_path = Some(value_or_next()),
            "focus" => out.filters.focus = Some(value_or_next()),
            "ignore" => out.filters.ignore = Some(value_or_next()),
            "hide" => out.filters.hide = Some(value_or_next()),
            "show" => out.filters.show = Some(value_or_next()),
            "show_from" => out.filters.show_from = Some(value_or_next()),
            "tagfocus" => out.filters.tag_focus = Some(value_or_next()),
            "tagignore" => out.filters.tag_ignore = Some(value_or_next()),
            other => panic!("unsupported pprof flag -{other} in {args:?}"),
        }
    }
    out
}

/// Go legacy heap text is read the way Go reads it (bare addresses, no
/// names), so that reports compare byte for byte.
fn load(path: &str) -> Result<Profile, String> {
    let full = repo_root().join(path);
    let bytes = std::fs::read(&full).map_err(|e| format!("{}: {e}", full.display()))?;
    let decoded = if path.ends_with(".txt") {
        memdiag_profile::codec::parse_legacy_heap_unsymbolized(&bytes)
    } else {
        memdiag_profile::decode(&bytes)
    };
    let mut p = decoded.map_err(|e| format!("{path}: {e}"))?;
    ops::ensure_mapping(&mut p);
    ops::combine(vec![p]).map_err(|e| format!("{path}: {e}"))
}

/// Our output for a pprof command line, following the driver's steps.
fn run_ours(args: &Args) -> Result<String, String> {
    let kind = args.kind.expect("a -traces, -raw or -list flag");
    let mut profiles = args
        .inputs
        .iter()
        .map(|i| load(i))
        .collect::<Result<Vec<Profile>, String>>()?;
    let mut p = if profiles.len() == 1 {
        profiles.pop().expect("one profile")
    } else {
        ops::combine(profiles).map_err(|e| e.to_string())?
    };
    if let Some((base, diff)) = &args.base {
        p = ops::subtract_base(p, load(base)?, *diff).map_err(|e| e.to_string())?;
    }
    let _ = ops::remove_uninteresting(&mut p);
    let sample_index = match &args.sample_index {
        Some(spec) => p.sample_index(spec).map_err(|e| e.to_string())?,
        None => p.default_sample_index(),
    };
    let total = report::compute_total(&p, sample_index);
    ops::apply_filters(&mut p, &args.filters).map_err(|e| e.to_string())?;
    let mut o = Options {
        sample_index,
        total: Some(total),
        ..Options::default()
    };
    if let Some(g) = args.granularity {
        o.granularity = g;
    }
    if let Some(u) = &args.unit {
        o.unit = u.clone();
    }
    if let Some(sp) = &args.source_path {
        o.source_path = std::env::split_paths(sp).collect();
    }
    Ok(match kind {
        Kind::Traces => report::traces::traces(&p, &o).to_text(),
        Kind::Raw => report::raw::raw(&p),
        Kind::List => {
            let re = Regex::new(args.list_regex.as_deref().expect("-list regex"))
                .map_err(|e| e.to_string())?;
            report::list::list(&p, &o, &re)
                .map_err(|e| e.to_string())?
                .to_text()
        }
    })
}

fn is_legacy_text(args: &Args) -> bool {
    args.inputs.iter().any(|i| !i.ends_with(".gz"))
}

/// For legacy heap text: a raw report with its locations' function lines
/// reduced to what Go shows without a binary (address and mapping only), and
/// a traces report with every frame `<unknown>` and one frame per location.
fn as_unsymbolized(kind: Kind, text: &str) -> String {
    match kind {
        Kind::Raw => {
            let mut out = String::new();
            let mut in_locations = false;
            for line in text.lines() {
                if line == "Locations" || line == "Mappings" {
                    in_locations = line == "Locations";
                    out.push_str(line);
                    out.push('\n');
                    continue;
                }
                if in_locations {
                    // "     1: 0x4bf239 M=1 main.f file:1 s=0" -> "     1: 0x4bf239 M=1 "
                    if line.starts_with("             ") {
                        continue; // an inlined line
                    }
                    let mut head = String::new();
                    for (n, word) in line.split_inclusive(' ').enumerate() {
                        let keep = n == 0
                            || word.trim_end().ends_with(':')
                            || word.starts_with("0x")
                            || word.starts_with("M=")
                            || word.starts_with("[F]")
                            || word.trim().is_empty();
                        if !keep {
                            break;
                        }
                        head.push_str(word);
                    }
                    out.push_str(&head);
                    out.push('\n');
                } else {
                    out.push_str(line);
                    out.push('\n');
                }
            }
            out
        }
        Kind::Traces => {
            let mut out = String::new();
            // The value of a trace whose leaf frame was inlined, for the
            // location's last frame.
            let mut value: Option<&str> = None;
            for line in text.lines() {
                // Frame lines: 10-character value column, three spaces, name.
                let is_frame = line.len() > 13
                    && line.as_bytes()[10..13] == *b"   "
                    && !line.starts_with("-----------+");
                if is_frame {
                    let column = &line[..13];
                    if line.ends_with(" (inline)") {
                        if !column.trim().is_empty() {
                            value = Some(column);
                        }
                        continue;
                    }
                    out.push_str(value.take().unwrap_or(column));
                    out.push_str("<unknown>\n");
                } else {
                    out.push_str(line);
                    out.push('\n');
                }
            }
            out
        }
        Kind::List => text.to_string(),
    }
}

/// Compares and, on a difference, names the first differing line.
fn check(what: &str, kind: Kind, legacy: bool, want: &str, got: &str) -> Result<(), String> {
    let (want, got) = if legacy {
        (as_unsymbolized(kind, want), as_unsymbolized(kind, got))
    } else {
        (want.to_string(), got.to_string())
    };
    if want == got {
        return Ok(());
    }
    let (w, g): (Vec<&str>, Vec<&str>) = (want.lines().collect(), got.lines().collect());
    let at = (0..w.len().max(g.len()))
        .find(|&i| w.get(i) != g.get(i))
        .unwrap_or(0);
    Err(format!(
        "{what}: output differs at line {} (want {} lines, got {}; trailing newline want {} got {}):\n  want: {:?}\n  got:  {:?}",
        at + 1,
        w.len(),
        g.len(),
        want.ends_with('\n'),
        got.ends_with('\n'),
        w.get(at).unwrap_or(&"<end>"),
        g.get(at).unwrap_or(&"<end>"),
    ))
}

struct IndexCase {
    file: String,
    args: Vec<String>,
}

fn index_cases() -> Vec<IndexCase> {
    let index = repo_root().join("testdata/expected/INDEX.tsv");
    let text = std::fs::read_to_string(&index).expect("testdata/expected/INDEX.tsv");
    text.lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .map(|l| {
            let (file, args) = l.split_once('\t').expect("INDEX.tsv: file<TAB>args");
            IndexCase {
                file: file.to_string(),
                args: args.split_whitespace().map(str::to_string).collect(),
            }
        })
        .filter(|c| {
            c.args.iter().any(|a| {
                let name = a.trim_start_matches('-');
                let name = name.split('=').next().unwrap_or(name);
                a.starts_with('-') && matches!(name, "traces" | "raw" | "list")
            })
        })
        .collect()
}

/// The committed expected output without its `# produced by` line.
fn expected(file: &str) -> String {
    let path = repo_root().join("testdata/expected").join(file);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    match text.split_once('\n') {
        Some((first, rest)) if first.starts_with("# produced by") => rest.to_string(),
        _ => text,
    }
}

#[test]
fn index_cases_match_committed_go_output() {
    check_index_cases(false);
}

#[test]
fn legacy_text_index_cases_match_committed_go_output() {
    check_index_cases(true);
}

/// The INDEX.tsv cases on legacy heap text inputs (`legacy`) or on the
/// others.
fn check_index_cases(legacy: bool) {
    set_utc();
    let cases: Vec<IndexCase> = index_cases()
        .into_iter()
        .filter(|c| is_legacy_text(&parse_args(&c.args)) == legacy)
        .collect();
    assert!(
        !cases.is_empty(),
        "INDEX.tsv has no -traces/-raw/-list case (legacy text: {legacy})"
    );
    let mut failures = Vec::new();
    for c in &cases {
        let args = parse_args(&c.args);
        let kind = args.kind.expect("report kind");
        let result = run_ours(&args).and_then(|got| {
            check(
                &c.file,
                kind,
                is_legacy_text(&args),
                &expected(&c.file),
                &got,
            )
        });
        if let Err(e) = result {
            failures.push(e);
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases differ:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
    eprintln!("{} INDEX.tsv cases match", cases.len());
}

fn go() -> Option<PathBuf> {
    let found = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|d| d.join("go"))
            .find(|p| p.is_file())
    });
    if found.is_none() {
        eprintln!("note: `go` is not on PATH; skipping the live go tool pprof comparison");
    }
    found
}

/// `go tool pprof ARGS` run from the repo root: stdout, stderr, success.
fn go_pprof(go: &Path, args: &[String]) -> (String, String, bool) {
    let out = Command::new(go)
        .args(["tool", "pprof"])
        .args(args)
        .current_dir(repo_root())
        .env("TZ", "UTC")
        .env("PPROF_TMPDIR", std::env::temp_dir())
        .output()
        .expect("run go tool pprof");
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
        out.status.success(),
    )
}

fn fixtures() -> Vec<String> {
    let dir = repo_root().join("testdata/profiles");
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| {
            e.expect("dir entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .filter(|n| n.ends_with(".pb.gz") || n.ends_with(".txt"))
        .map(|n| format!("testdata/profiles/{n}"))
        .collect();
    names.sort();
    assert!(!names.is_empty(), "no fixtures in {}", dir.display());
    names
}

/// Runs each pprof command line live and compares with ours; our code runs
/// from the repo root like Go does (the list search path defaults to it).
fn compare_live(go: &Path, cases: &[Vec<String>]) {
    let _cwd = CwdGuard::enter(&repo_root());
    let mut failures = Vec::new();
    for args in cases {
        let parsed = parse_args(args);
        let kind = parsed.kind.expect("report kind");
        let (want, stderr, ok) = go_pprof(go, args);
        let what = format!("go tool pprof {}", args.join(" "));
        let result = match (ok, run_ours(&parsed)) {
            (true, Ok(got)) => check(&what, kind, is_legacy_text(&parsed), &want, &got),
            (false, Err(e)) if stderr.contains(&e) => Ok(()),
            (false, Err(e)) => Err(format!("{what}: Go failed with {stderr:?}, we with {e:?}")),
            (true, Err(e)) => Err(format!("{what}: Go succeeded, we failed: {e}")),
            (false, Ok(_)) => Err(format!("{what}: Go failed ({stderr:?}), we succeeded")),
        };
        if let Err(e) = result {
            failures.push(e);
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} live cases differ:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
    eprintln!("{} live cases match", cases.len());
}

fn strings(args: &[&str]) -> Vec<String> {
    args.iter().map(|a| a.to_string()).collect()
}

#[test]
fn traces_and_raw_match_live_go() {
    set_utc();
    let Some(go) = go() else { return };
    let mut cases = Vec::new();
    for f in fixtures().iter().filter(|f| f.ends_with(".pb.gz")) {
        cases.push(strings(&["-raw", f]));
        cases.push(strings(&["-traces", f]));
        cases.push(strings(&["-traces", "-lines", f]));
    }
    let heap = "testdata/profiles/heap.pb.gz";
    cases.push(strings(&["-traces", "-files", heap]));
    cases.push(strings(&["-traces", "-addresses", heap]));
    cases.push(strings(&["-traces", "-sample_index=alloc_objects", heap]));
    cases.push(strings(&["-traces", "-unit=kB", heap]));
    cases.push(strings(&["-traces", "-focus=buildCache", heap]));
    cases.push(strings(&[
        "-traces",
        "-diff_base=testdata/profiles/heap_base.pb.gz",
        heap,
    ]));
    cases.push(strings(&[
        "-raw",
        "-base=testdata/profiles/heap_base.pb.gz",
        heap,
    ]));
    compare_live(&go, &cases);
}

#[test]
fn legacy_text_traces_and_raw_match_live_go() {
    set_utc();
    let Some(go) = go() else { return };
    let mut cases = Vec::new();
    for f in fixtures().iter().filter(|f| !f.ends_with(".pb.gz")) {
        cases.push(strings(&["-raw", f]));
        cases.push(strings(&["-traces", f]));
        cases.push(strings(&["-traces", "-sample_index=alloc_space", f]));
    }
    assert!(!cases.is_empty(), "no legacy text fixture");
    compare_live(&go, &cases);
}

/// The allowance made for legacy text inputs keeps values and labels.
#[test]
fn unsymbolized_view_keeps_values() {
    let raw = "Samples:\n          1: 1 2 \nLocations\n     1: 0x4bf239 M=1 main.f a.go:1 s=0\n             main.g a.go:2 s=0\n     2: 0x10 M=1 \nMappings\n1: 0x0/0x0/0x0   \n";
    assert_eq!(
        as_unsymbolized(Kind::Raw, raw),
        "Samples:\n          1: 1 2 \nLocations\n     1: 0x4bf239 M=1 \n     2: 0x10 M=1 \nMappings\n1: 0x0/0x0/0x0   \n"
    );
    let traces = "Type: x\n-----------+---\n     bytes:  576B\n     225kB   main.f (inline)\n             main.g\n             main.h\n-----------+---\n";
    assert_eq!(
        as_unsymbolized(Kind::Traces, traces),
        "Type: x\n-----------+---\n     bytes:  576B\n     225kB   <unknown>\n             <unknown>\n-----------+---\n"
    );
    // A different value is still a difference.
    let other = traces.replace("225kB", "224kB");
    assert!(check("x", Kind::Traces, true, traces, &other).is_err());
}

#[test]
fn list_matches_live_go() {
    set_utc();
    let Some(go) = go() else { return };
    let heap = "testdata/profiles/heap.pb.gz";
    let source = "-source_path=testdata/go/fixtures";
    let cases = vec![
        // Source found through -source_path (the profile says
        // memdiag/fixtures/main.go; pprof cuts at "/fixtures/").
        strings(&["-list", "main\\.", source, heap]),
        strings(&["-list", "buildTree|mutual", source, heap]),
        strings(&[
            "-list",
            "main.makeEntry",
            source,
            "-sample_index=alloc_objects",
            heap,
        ]),
        strings(&["-list", "main.main", source, "testdata/profiles/cpu.pb.gz"]),
        strings(&["-list", "main", source, "testdata/profiles/goroutine.pb.gz"]),
        strings(&[
            "-list",
            "spin",
            source,
            "-unit=ms",
            "testdata/profiles/cpu.pb.gz",
        ]),
        strings(&["-list", "buildTree", source, "-focus=phase2", heap]),
        strings(&["-list", "newBlock", source, "-hide=newBlock", heap]),
        // Missing source: pprof prints an error line per routine.
        strings(&["-list", "main.buildCache", heap]),
        strings(&["-list", "runtime\\.main$", heap]),
        // No match at all.
        strings(&["-list", "no_such_function_xyz", heap]),
    ];
    compare_live(&go, &cases);
}

/// Without Go: the listing of the fixture whose source is in the repo shows
/// that source, and a missing source gets pprof's error line.
#[test]
fn list_finds_the_fixture_source_or_says_why_not() {
    set_utc();
    let _cwd = CwdGuard::enter(&repo_root());
    let source = std::fs::read_to_string(repo_root().join("testdata/go/fixtures/main.go"))
        .expect("fixture source");
    let build_tree_line = source
        .lines()
        .position(|l| l.starts_with("func buildTree("))
        .expect("func buildTree in the fixture source")
        + 1;

    let args = parse_args(&strings(&[
        "-list",
        "main.buildTree",
        "-source_path=testdata/go/fixtures",
        "testdata/profiles/heap.pb.gz",
    ]));
    let text = run_ours(&args).expect("list");
    assert!(text.starts_with("Total: "), "{text}");
    assert!(
        text.contains("ROUTINE ======================== main.buildTree in main.go\n"),
        "{text}"
    );
    let want = format!("{build_tree_line:>6}:func buildTree(");
    assert!(text.contains(&want), "no {want:?} in:\n{text}");
    assert!(!text.contains("Error:"), "{text}");

    let args = parse_args(&strings(&[
        "-list",
        "main.buildTree",
        "testdata/profiles/heap.pb.gz",
    ]));
    let text = run_ours(&args).expect("list");
    let root = repo_root();
    let want = format!(
        " Error: could not find file memdiag/fixtures/main.go on path {}\n",
        root.display()
    );
    assert!(
        text.contains(
            "ROUTINE ======================== main.buildTree in memdiag/fixtures/main.go\n"
        ),
        "{text}"
    );
    assert!(
        text.ends_with(&want),
        "want {want:?} at the end of:\n{text}"
    );

    let args = parse_args(&strings(&[
        "-list",
        "zzz_nothing",
        "testdata/profiles/heap.pb.gz",
    ]));
    assert_eq!(
        run_ours(&args).unwrap_err(),
        "no matches found for regexp: zzz_nothing"
    );
}

/// Runs the test body from `dir` (pprof's default source search path is the
/// working directory); tests using it are serialized by a lock.
struct CwdGuard {
    old: PathBuf,
    _lock: std::sync::MutexGuard<'static, ()>,
}

static CWD_LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());

impl CwdGuard {
    fn enter(dir: &Path) -> Self {
        let lock = CWD_LOCK.lock().unwrap_or_else(|e| e.into_inner());
        let old = std::env::current_dir().expect("cwd");
        std::env::set_current_dir(dir).expect("chdir");
        CwdGuard { old, _lock: lock }
    }
}

impl Drop for CwdGuard {
    fn drop(&mut self) {
        let _ = std::env::set_current_dir(&self.old);
    }
}

/// A profile with what the Go fixtures lack: comments, a build id, several
/// mappings, a folded location, locations without lines, a function whose system name differs, start lines, string
/// labels (several values, a long key) and numeric labels with units.
fn synthetic_profile() -> Profile {
    use memdiag_profile::{Function, Label, Line, Location, Mapping};

    let mut p = Profile::with_sample_types(&[("samples", "count"), ("cpu", "nanoseconds")]);
    let s = |p: &mut Profile, v: &str| p.strings.intern(v);
    p.default_sample_type = s(&mut p, "cpu");
    p.period_type = Some(memdiag_profile::ValueType {
        ty: s(&mut p, "cpu"),
        unit: s(&mut p, "nanoseconds"),
    });
    p.period = 10_000_000;
    p.time_nanos = 1_700_000_000_123_456_000;
    p.duration_nanos = 2_345_678_901;
    p.comments = vec![s(&mut p, "built by a test"), s(&mut p, "# hidden comment")];
    p.mappings = vec![
        Mapping {
            memory_start: 0x400000,
            memory_limit: 0x4c1000,
            filename: s(&mut p, "/usr/local/bin/server"),
            build_id: s(&mut p, "abc123"),
            has_functions: true,
            has_filenames: true,
            has_line_numbers: true,
            has_inline_frames: true,
            ..Mapping::default()
        },
        Mapping {
            memory_start: 0x7f0000000000,
            memory_limit: 0x7f0000100000,
            file_offset: 0x1000,
            filename: s(&mut p, "/lib/x86_64-linux-gnu/libc.so.6"),
            ..Mapping::default()
        },
    ];
    let func = |p: &mut Profile, name: &str, system: &str, file: &str, start: i64| Function {
        name: p.strings.intern(name),
        system_name: p.strings.intern(system),
        filename: p.strings.intern(file),
        start_line: start,
    };
    p.functions = vec![
        func(
            &mut p,
            "main.work",
            "main.work",
            "/proc/self/cwd/src/work.go",
            10,
        ),
        func(
            &mut p,
            "main.helper",
            "main.helper.abi0",
            "src/helper.go",
            0,
        ),
        func(
            &mut p,
            "main.small",
            "main.small",
            "/proc/self/cwd/src/./work.go",
            10,
        ),
        func(
            &mut p,
            "main.main",
            "main.main",
            "/nonexistent/dir/main.go",
            3,
        ),
        func(&mut p, "", "", "libc.c", 0),
    ];
    let line = |f: u32, l: i64| Line {
        function: Some(f),
        line: l,
        column: 0,
    };
    p.locations = vec![
        // main.small inlined into main.work.
        Location {
            mapping: Some(0),
            address: 0x401000,
            lines: vec![line(2, 14), line(0, 22)],
            is_folded: false,
        },
        Location {
            mapping: Some(0),
            address: 0x401100,
            lines: vec![line(0, 25)],
            is_folded: false,
        },
        Location {
            mapping: Some(0),
            address: 0x402000,
            lines: vec![line(1, 7)],
            is_folded: true,
        },
        Location {
            mapping: Some(0),
            address: 0x403000,
            lines: vec![line(3, 5)],
            is_folded: false,
        },
        // No lines at all (Go rejects a line without a function).
        Location {
            mapping: Some(1),
            address: 0x7f0000001234,
            lines: vec![],
            is_folded: false,
        },
        Location {
            mapping: None,
            address: 0x7f0000002000,
            lines: vec![],
            is_folded: false,
        },
        Location {
            mapping: Some(1),
            address: 0x7f0000003000,
            lines: vec![line(4, 99)],
            is_folded: false,
        },
    ];
    let str_label = |p: &mut Profile, k: &str, v: &str| Label {
        key: p.strings.intern(k),
        str: p.strings.intern(v),
        ..Label::default()
    };
    let num_label = |p: &mut Profile, k: &str, v: i64, unit: &str| Label {
        key: p.strings.intern(k),
        num: v,
        num_unit: p.strings.intern(unit),
        ..Label::default()
    };
    let l1 = vec![
        str_label(&mut p, "worker", "7"),
        str_label(&mut p, "a_very_long_label_key", "x y"),
        str_label(&mut p, "tag", "b"),
        str_label(&mut p, "tag", "a"),
        num_label(&mut p, "bytes", 1536, "bytes"),
        num_label(&mut p, "request", 3, ""),
    ];
    let l2 = vec![
        str_label(&mut p, "worker", "8"),
        num_label(&mut p, "latency", 2_500_000, "nanoseconds"),
        num_label(&mut p, "latency", 1_000, "nanoseconds"),
    ];
    p.samples.push(&[0, 3], &[3, 30_000_000], &l1);
    p.samples.push(&[1, 3], &[12, 120_000_000], &l2);
    p.samples.push(&[2, 1, 0, 3], &[1, 10_000_000], &[]);
    p.samples.push(&[4, 5, 6, 3], &[2, 20_000_000], &l1);
    p.samples.push(&[6, 1, 3], &[-1, -10_000_000], &[]);
    p
}

/// A directory with the synthetic profile and a source file for it.
struct SyntheticFiles {
    dir: PathBuf,
}

impl SyntheticFiles {
    fn create() -> Self {
        let dir = std::env::temp_dir().join(format!("memdiag-traces-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("proj/src")).expect("temp dir");
        let bytes = memdiag_profile::encode_gzip(&synthetic_profile());
        std::fs::write(dir.join("synthetic.pb.gz"), bytes).expect("write profile");
        let source: String = (1..=30).map(|i| format!("// line {i}\r\n")).collect();
        std::fs::write(dir.join("proj/src/work.go"), source).expect("write source");
        SyntheticFiles { dir }
    }

    fn path(&self, name: &str) -> String {
        self.dir.join(name).to_string_lossy().into_owned()
    }
}

impl Drop for SyntheticFiles {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

#[test]
fn synthetic_profile_matches_live_go() {
    set_utc();
    let Some(go) = go() else { return };
    let files = SyntheticFiles::create();
    let prof = files.path("synthetic.pb.gz");
    let source_path = format!("-source_path={}", files.path("proj"));
    let mut cases = vec![strings(&["-raw", &prof])];
    for extra in [
        "",
        "-lines",
        "-files",
        "-addresses",
        "-sample_index=samples",
    ] {
        let mut args = vec!["-traces"];
        if !extra.is_empty() {
            args.push(extra);
        }
        args.push(&prof);
        cases.push(strings(&args));
    }
    cases.push(strings(&["-list", "main", &source_path, &prof]));
    cases.push(strings(&["-list", ".", &source_path, "-unit=ms", &prof]));
    cases.push(strings(&["-list", "main.work", &prof]));
    // An empty name matches too: locations without function names.
    cases.push(strings(&["-list", "^main.w|^$", &source_path, &prof]));
    cases.push(strings(&["-list=helper", &source_path, &prof]));
    compare_live(&go, &cases);
}
