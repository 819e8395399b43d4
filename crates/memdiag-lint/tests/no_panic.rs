//! Any input, however broken, yields a report: never a panic.

use memdiag_lint::{alloc_sites, lint, Config};
use proptest::prelude::*;

/// Fragments that make syn take many different paths, valid or not.
const TOKENS: &[&str] = &[
    "fn",
    "f",
    "(",
    ")",
    "{",
    "}",
    "[",
    "]",
    ";",
    ",",
    "loop",
    "for",
    "x",
    "in",
    "while",
    "let",
    "=",
    "Box",
    "::",
    "leak",
    ".",
    "mem",
    "forget",
    "static",
    "S",
    ":",
    "Mutex",
    "<",
    ">",
    "Vec",
    "u8",
    "struct",
    "Rc",
    "RefCell",
    "Arc",
    "impl",
    "async",
    "0u8",
    "1",
    "<<",
    "20",
    "*",
    "mpsc",
    "channel",
    "spawn",
    "tokio",
    "with_capacity",
    "read_u32",
    "?",
    "clear",
    "insert",
    "\"s\"",
    "'a",
    "&",
    "#",
    "!",
    "vec",
    "|",
    "->",
    "// memdiag:allow(leak-in-loop)\n",
    "\n",
    "é",
    "/*",
    "*/",
    "thread_local",
    "const",
    "N",
    "ManuallyDrop",
];

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]
    #[test]
    fn token_soup_never_panics(picks in prop::collection::vec(0..TOKENS.len(), 0..120)) {
        let src: Vec<&str> = picks.iter().map(|i| TOKENS[*i]).collect();
        let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("soup");
        std::fs::create_dir_all(&dir).unwrap();
        // proptest runs cases one after another; one file per thread is enough.
        let file = dir.join(format!("{:?}.rs", std::thread::current().id()).replace(['(', ')'], ""));
        std::fs::write(&file, src.join(" ")).unwrap();
        let report = lint(std::slice::from_ref(&file), &Config::default());
        let _ = (report.render_text(true), report.render_json(), report.render_sarif());
        let _ = alloc_sites(&[file], &Config::default()).render_text();
    }
}
