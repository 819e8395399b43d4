//! Every case in testdata/expected/INDEX.tsv: the committed output of the real
//! `go tool pprof` must equal memdiag's output for the same arguments. When Go
//! is installed, the same cases also run live against `go tool pprof`.
//!
//! Go legacy heap text is the one exception to byte equality: Go cannot
//! symbolize it without the binary and shows one `<unknown>` node, while
//! memdiag names the functions from the text's `#` frame lines. For those
//! inputs the report total must agree (to the precision Go prints).

mod common;

use common::*;

struct Case {
    expected_file: String,
    go_args: Vec<String>,
}

fn cases() -> Vec<Case> {
    let index = repo_root().join("testdata/expected/INDEX.tsv");
    let text = std::fs::read_to_string(&index).expect("testdata/expected/INDEX.tsv");
    text.lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .map(|l| {
            let (file, args) = l.split_once('\t').expect("INDEX.tsv: file<TAB>args");
            Case {
                expected_file: file.to_string(),
                go_args: args.split_whitespace().map(str::to_string).collect(),
            }
        })
        .collect()
}

/// The committed expected output without its `# produced by` header.
fn expected_output(case: &Case) -> String {
    let path = repo_root()
        .join("testdata/expected")
        .join(&case.expected_file);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    text.lines()
        .skip_while(|l| l.starts_with("# produced by"))
        .map(|l| format!("{l}\n"))
        .collect()
}

fn is_legacy_text(case: &Case) -> bool {
    case.go_args.iter().any(|a| a.ends_with(".txt"))
}

/// Bytes (or the profile's own unit) of a pprof label like `1.82MB`, `512kB`, `0`.
fn label_value(label: &str) -> f64 {
    let split = label
        .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '-'))
        .unwrap_or(label.len());
    let (num, unit) = label.split_at(split);
    let scale = match unit {
        // pprof's memory units are binary multiples with decimal names.
        "kB" => 1024.0,
        "MB" => 1024.0 * 1024.0,
        "GB" => 1024.0 * 1024.0 * 1024.0,
        "TB" => 1024.0 * 1024.0 * 1024.0 * 1024.0,
        _ => 1.0,
    };
    num.parse::<f64>()
        .unwrap_or_else(|_| panic!("not a figure: {label:?}"))
        * scale
}

/// The `Z` of `... of Z total` and the precision it was printed with.
fn report_total(text: &str) -> Option<(f64, f64)> {
    let line = text.lines().find(|l| l.ends_with(" total"))?;
    let label = line.trim_end_matches(" total").rsplit(' ').next()?;
    let decimals = label.split_once('.').map_or(0, |(_, frac)| {
        frac.chars().take_while(char::is_ascii_digit).count()
    });
    let value = label_value(label);
    let unit_scale = value / label_value(label.trim_end_matches(char::is_alphabetic)).max(1e-300);
    Some((value, unit_scale * 10f64.powi(-(decimals as i32)) / 2.0))
}

/// Equal text; for legacy text inputs, equal totals within printed precision.
fn agrees(case: &Case, want: &str, got: &str) -> bool {
    if !is_legacy_text(case) {
        return want == got;
    }
    match (report_total(want), report_total(got)) {
        (Some((w, w_err)), Some((g, g_err))) => (w - g).abs() <= w_err + g_err,
        (None, None) => true,
        _ => false,
    }
}

fn memdiag_output(case: &Case) -> String {
    let args = translate(&case.go_args);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = memdiag(&args);
    assert!(
        out.status.success(),
        "memdiag {args:?} failed: {}",
        stderr(&out)
    );
    stdout(&out)
}

#[test]
fn committed_go_outputs_match() {
    let mut failures = Vec::new();
    let all = cases();
    assert!(!all.is_empty(), "INDEX.tsv lists no cases");
    for case in &all {
        let (want, got) = (expected_output(case), memdiag_output(case));
        if !agrees(case, &want, &got) {
            failures.push(format!(
                "== {} ({})\n--- go tool pprof\n{want}--- memdiag\n{got}",
                case.expected_file,
                case.go_args.join(" ")
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases differ:\n{}",
        failures.len(),
        all.len(),
        failures.join("\n")
    );
}

#[test]
fn live_go_tool_pprof_matches() {
    let Some(go) = go() else { return };
    let mut failures = Vec::new();
    for case in cases() {
        let args: Vec<&str> = case.go_args.iter().map(String::as_str).collect();
        let live = go_pprof(&go, &args);
        assert!(
            live.status.success(),
            "go tool pprof {args:?}: {}",
            stderr(&live)
        );
        let (want, got) = (stdout(&live), memdiag_output(&case));
        if !agrees(&case, &want, &got) {
            failures.push(format!(
                "== {}\n--- go tool pprof\n{want}--- memdiag\n{got}",
                case.go_args.join(" ")
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
