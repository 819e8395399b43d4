//! Report shapes and run behaviour: text, JSON, SARIF, suppression, config,
//! unparsable files, alloc-sites.

use memdiag_lint::{alloc_sites, lint, Config, LintError};
use serde_json::Value;
use std::path::{Path, PathBuf};

/// A fresh directory under the target dir with the given files.
fn tree(name: &str, files: &[(&str, &str)]) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
    let _ = std::fs::remove_dir_all(&dir);
    for (path, text) in files {
        let p = dir.join(path);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }
    dir
}

const LEAKY: &str =
    "fn f(v: Vec<String>) {\n    for s in v {\n        let _ = s.leak();\n    }\n}\n";

#[test]
fn text_is_rustc_style() {
    let dir = tree("text", &[("src/lib.rs", LEAKY)]);
    let text = lint(std::slice::from_ref(&dir), &Config::default()).render_text(false);
    let file = dir.join("src/lib.rs");
    assert!(
        text.contains("warning[leak-in-loop]: `.leak()` inside a loop"),
        "{text}"
    );
    assert!(
        text.contains(&format!(" --> {}:3:17", file.display())),
        "{text}"
    );
    assert!(text.contains("3 |         let _ = s.leak();"), "{text}");
    assert!(text.contains("  |                 ^^^^^^^^"), "{text}");
    assert!(text.contains("= help: leak once"), "{text}");
    assert!(text.contains("1 finding in 1 files (5 lines)"), "{text}");
}

#[test]
fn json_has_one_object_per_finding() {
    let dir = tree("json", &[("src/lib.rs", LEAKY)]);
    let v: Value = serde_json::from_str(&lint(&[dir], &Config::default()).render_json()).unwrap();
    let f = &v["findings"][0];
    assert_eq!(v["findings"].as_array().unwrap().len(), 1);
    assert_eq!(f["rule"], "leak-in-loop");
    assert_eq!(
        (f["line"].as_u64(), f["column"].as_u64()),
        (Some(3), Some(17))
    );
    assert!(f["help"].as_str().unwrap().starts_with("leak once"));
    assert_eq!(v["files_scanned"], 1);
}

#[test]
fn sarif_has_the_required_fields() {
    let dir = tree("sarif", &[("src/lib.rs", LEAKY), ("src/bad.rs", "fn (")]);
    let v: Value = serde_json::from_str(&lint(&[dir], &Config::default()).render_sarif()).unwrap();
    assert_eq!(v["version"], "2.1.0");
    assert!(v["$schema"].as_str().unwrap().contains("sarif-2.1.0"));
    let run = &v["runs"][0];
    let rules = run["tool"]["driver"]["rules"].as_array().unwrap();
    assert_eq!(rules.len(), memdiag_lint::rules::all().count());
    assert!(rules
        .iter()
        .all(|r| r["id"].is_string() && r["help"]["text"].is_string()));
    assert_eq!(run["tool"]["driver"]["name"], "memdiag-lint");
    let result = &run["results"][0];
    assert_eq!(result["ruleId"], "leak-in-loop");
    assert_eq!(
        rules[result["ruleIndex"].as_u64().unwrap() as usize]["id"],
        "leak-in-loop"
    );
    assert!(result["message"]["text"].is_string());
    let loc = &result["locations"][0]["physicalLocation"];
    assert!(loc["artifactLocation"]["uri"]
        .as_str()
        .unwrap()
        .ends_with("src/lib.rs"));
    assert_eq!(loc["region"]["startLine"], 3);
    assert_eq!(loc["region"]["startColumn"], 17);
    let notes = run["invocations"][0]["toolExecutionNotifications"]
        .as_array()
        .unwrap();
    assert_eq!(notes.len(), 1, "the unparsable file is reported");
}

#[test]
fn allow_comments_cover_the_line_and_the_item() {
    let src = "\
fn a(v: Vec<String>) {
    for s in v {
        let _ = s.leak(); // memdiag:allow(leak-in-loop)
    }
}
// memdiag:allow(leak-in-loop, unbounded-channel)
#[inline]
fn b(v: Vec<String>) {
    for s in v {
        let _ = s.leak();
    }
    let _ = std::sync::mpsc::channel::<u8>();
}
fn c(v: Vec<String>) {
    for s in v {
        // memdiag:allow(unbounded-channel)
        let _ = s.leak();
    }
}
";
    let dir = tree("allow", &[("src/lib.rs", src)]);
    let report = lint(&[dir], &Config::default());
    let lines: Vec<_> = report
        .findings
        .iter()
        .map(|f| (f.at.line, f.rule))
        .collect();
    assert_eq!(
        lines,
        vec![(17, "leak-in-loop")],
        "only the wrongly-allowed leak remains"
    );
}

#[test]
fn test_code_is_skipped_unless_included() {
    let src = format!("#[cfg(test)]\nmod tests {{\n{LEAKY}}}\n#[test]\n{LEAKY}");
    let dir = tree("tests", &[("src/lib.rs", &src), ("tests/it.rs", LEAKY)]);
    assert_eq!(
        lint(std::slice::from_ref(&dir), &Config::default())
            .findings
            .len(),
        0
    );
    let config = Config {
        include_tests: true,
        ..Config::default()
    };
    assert_eq!(lint(&[dir], &config).findings.len(), 3);
}

#[test]
fn config_disables_and_allows_rules() {
    let config = "disable = [\"unbounded-channel\"]\n[allow]\n\"leak-in-loop\" = [\"src/gen\"]\n";
    let chan = "fn f() { let _ = std::sync::mpsc::channel::<u8>(); }\n";
    let dir = tree(
        "config",
        &[
            ("memdiag-lint.toml", config),
            ("src/gen/a.rs", LEAKY),
            ("src/b.rs", LEAKY),
            ("src/c.rs", chan),
        ],
    );
    let config = Config::discover(&dir.join("src")).unwrap();
    let report = lint(std::slice::from_ref(&dir), &config);
    let found: Vec<_> = report
        .findings
        .iter()
        .map(|f| (f.at.path.strip_prefix(&dir).unwrap().to_path_buf(), f.rule))
        .collect();
    assert_eq!(found, vec![(PathBuf::from("src/b.rs"), "leak-in-loop")]);
}

#[test]
fn config_errors_name_the_file_and_cause() {
    let dir = tree(
        "bad-config",
        &[("memdiag-lint.toml", "disable = [\"no-such-rule\"]\n")],
    );
    let err = Config::discover(&dir).unwrap_err();
    assert!(matches!(err, LintError::ConfigParse { .. }));
    let msg = err.to_string();
    assert!(
        msg.contains("memdiag-lint.toml") && msg.contains("no-such-rule"),
        "{msg}"
    );
}

#[test]
fn unparsable_file_is_a_warning_and_the_run_goes_on() {
    let dir = tree(
        "parse",
        &[
            ("src/bad.rs", "fn main() {\n    let x = ;\n}\n"),
            ("src/ok.rs", LEAKY),
        ],
    );
    let report = lint(std::slice::from_ref(&dir), &Config::default());
    assert_eq!(report.files_scanned, 2);
    assert_eq!(report.findings.len(), 1);
    assert_eq!(report.warnings.len(), 1);
    let w = &report.warnings[0];
    assert!(
        w.path.ends_with("src/bad.rs") && w.message.starts_with("cannot parse"),
        "{w:?}"
    );
    assert_eq!(w.line, 2);
    assert!(report.render_text(false).contains("1 files skipped"));
}

#[test]
fn walk_honours_gitignore_and_skips_target() {
    let dir = tree(
        "walk",
        &[
            (".gitignore", "generated/\n"),
            ("generated/a.rs", LEAKY),
            ("target/b.rs", LEAKY),
            ("src/c.rs", LEAKY),
        ],
    );
    let report = lint(&[dir], &Config::default());
    assert_eq!(report.files_scanned, 1);
    assert!(report.findings[0].at.path.ends_with("src/c.rs"));
}

#[test]
fn alloc_sites_lists_sites_per_fn_and_flags_loops() {
    let src = "\
struct P;
impl P {
    fn parse(&self, xs: &[u32]) -> Vec<String> {
        let head = Box::new(1);
        let mut out = Vec::with_capacity(xs.len());
        for x in xs {
            out.push(format!(\"{x}\"));
        }
        drop(head);
        out
    }
}
fn none() -> u32 { 1 }
";
    let dir = tree("sites", &[("src/lib.rs", src)]);
    let report = alloc_sites(&[dir], &Config::default());
    assert_eq!(report.functions.len(), 1);
    let f = &report.functions[0];
    assert_eq!((f.function.as_str(), f.line), ("P::parse", 3));
    let sites: Vec<_> = f
        .sites
        .iter()
        .map(|s| (s.line, s.kind.as_str(), s.in_loop))
        .collect();
    assert_eq!(
        sites,
        vec![
            (4, "Box::new", false),
            (5, "Vec::with_capacity", false),
            (7, "format!", true)
        ]
    );
    let text = report.render_text();
    assert!(
        text.contains("P::parse: 3 allocation site(s), 1 in a loop"),
        "{text}"
    );
    assert!(
        text.contains(":7:22: format! allocates (in loop)"),
        "{text}"
    );
    let v: Value = serde_json::from_str(&report.render_json()).unwrap();
    assert_eq!(v["functions"][0]["sites"][2]["in_loop"], true);
}

// One cycle through two strong fields: one finding, the other field related.
const CYCLE: &str = "use std::sync::{Arc, Mutex};\nstruct Parent {\n    children: Vec<Arc<Child>>,\n}\nstruct Child {\n    parent: Mutex<Option<Arc<Parent>>>,\n}\n";

#[test]
fn a_cycle_is_one_finding_with_related_locations() {
    let dir = tree("cycle", &[("src/lib.rs", CYCLE)]);
    let report = lint(std::slice::from_ref(&dir), &Config::default());
    let text = report.render_text(false);
    assert!(
        text.contains("3 |     children: Vec<Arc<Child>>,"),
        "{text}"
    );
    assert!(
        text.contains("6 |     parent: Mutex<Option<Arc<Parent>>>,"),
        "{text}"
    );
    assert!(
        text.contains("note: `Child` holds a strong reference"),
        "{text}"
    );
    assert!(text.contains("1 finding in 1 files"), "{text}");

    let v: Value = serde_json::from_str(&report.render_json()).unwrap();
    let f = &v["findings"][0];
    assert_eq!(v["findings"].as_array().unwrap().len(), 1);
    assert_eq!(
        (f["line"].as_u64(), f["related"][0]["line"].as_u64()),
        (Some(3), Some(6))
    );

    let v: Value = serde_json::from_str(&report.render_sarif()).unwrap();
    let result = &v["runs"][0]["results"][0];
    let related = &result["relatedLocations"][0];
    assert_eq!(related["physicalLocation"]["region"]["startLine"], 6);
    assert!(related["message"]["text"].is_string());
}
