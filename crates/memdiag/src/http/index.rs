//! `/debug/pprof/`: the HTML index, laid out as Go's: a table of profiles
//! with their record counts and `?debug=1` links, then a description of each.

use std::fmt::Write as _;

use axum::http::{header, HeaderValue};
use axum::response::Response;

use super::heap::{collect, Kind};
use super::routes::nosniff;

/// (name, description); sorted by name, as Go sorts its list.
const PROFILES: [(&str, &str); 5] = [
    (
        "allocs",
        "Every sampled allocation since the start, freed or not (the heap data, alloc_space first).",
    ),
    (
        "cmdline",
        "The program's command line, arguments separated by NUL bytes.",
    ),
    (
        "heap",
        "The sampled live heap: allocations not yet freed, with their stacks. \
         seconds=N gives the change over N seconds; gc=1 is accepted and does nothing (no GC in Rust).",
    ),
    (
        "peak",
        "The sampled live heap as it was at its highest estimated size so far.",
    ),
    (
        "profile",
        "A CPU profile over the seconds GET parameter (30 by default); read it with go tool pprof or memdiag.",
    ),
];

pub(crate) async fn page() -> Response {
    // The peak profile has every stack (their alloc_* totals are current),
    // which is the heap's record count as Go counts it (records whose
    // objects were all freed included); its live ones are the peak's.
    let peak = collect(Kind::Peak).await;
    let count = |name: &str| match &peak {
        Ok(p) if name == "heap" || name == "allocs" => p.samples.len(),
        Ok(p) if name == "peak" => p.samples.iter().filter(|s| s.values[3] != 0).count(),
        _ => 0,
    };
    let mut b = String::with_capacity(4096);
    b.push_str(
        "<html>\n<head>\n<title>/debug/pprof/</title>\n<style>\n.profile-name{\n\tdisplay:inline-block;\n\twidth:6rem;\n}\n</style>\n</head>\n<body>\n/debug/pprof/<br>\n<br>\nTypes of profiles available:\n<table>\n<thead><td>Count</td><td>Profile</td></thead>\n",
    );
    for (name, _) in PROFILES {
        let _ = writeln!(
            b,
            "<tr><td>{}</td><td><a href='{name}?debug=1'>{}</a></td></tr>",
            count(name),
            escape(name)
        );
    }
    b.push_str("</table>\n<br>\n<p>\nProfile Descriptions:\n<ul>\n");
    for (name, desc) in PROFILES {
        let _ = writeln!(
            b,
            "<li><div class=profile-name>{}: </div> {}</li>",
            escape(name),
            escape(desc)
        );
    }
    b.push_str("</ul>\n</p>\n</body>\n</html>");
    let mut r = Response::new(b.into());
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    nosniff(r)
}

fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '\'' => out.push_str("&#39;"),
            '"' => out.push_str("&#34;"),
            c => out.push(c),
        }
    }
    out
}
