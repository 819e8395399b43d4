//! `memdiag flame`: the SVG's frames checked against `memdiag top` on the
//! same profile (itself checked against `go tool pprof` in go_expected.rs).

mod common;

use std::collections::HashMap;
use std::path::PathBuf;

use common::*;
use regex::Regex;

const FIXTURE: &str = "testdata/profiles/heap.pb.gz";
const BASE: &str = "testdata/profiles/heap_base.pb.gz";

/// One drawn frame, from its `<title>` and `<rect>`.
#[derive(Debug)]
struct Frame {
    name: String,
    /// The value in the title.
    count: i64,
    /// inferno's `fg:x`/`fg:w`: offset and width in sample values.
    x: i64,
    w: i64,
    /// Width in percent of the whole graph.
    width_pct: f64,
    y: i64,
    fill: String,
}

fn unescape(s: &str) -> String {
    s.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&apos;", "'")
        .replace("&amp;", "&")
}

fn frames(svg: &str) -> Vec<Frame> {
    let re = Regex::new(
        r#"<g><title>([^<]*) \(([\d,]+) [a-z]+, [^<]*\)</title><rect x="[\d.]+%" y="(\d+)" width="([\d.]+)%" height="\d+" fill="([^"]+)" fg:x="(\d+)" fg:w="(\d+)"/>"#,
    )
    .unwrap();
    re.captures_iter(svg)
        .map(|c| Frame {
            name: unescape(&c[1]),
            count: c[2].replace(',', "").parse().unwrap(),
            y: c[3].parse().unwrap(),
            width_pct: c[4].parse().unwrap(),
            fill: c[5].to_string(),
            x: c[6].parse().unwrap(),
            w: c[7].parse().unwrap(),
        })
        .collect()
}

fn out_path(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("flame");
    std::fs::create_dir_all(&dir).unwrap();
    let p = dir.join(name);
    let _ = std::fs::remove_file(&p);
    p
}

fn flame(args: &[&str], name: &str) -> String {
    let out = out_path(name);
    let mut all: Vec<&str> = vec!["flame", "-o", out.to_str().unwrap()];
    all.extend_from_slice(args);
    let o = memdiag(&all);
    assert!(o.status.success(), "memdiag flame failed: {}", stderr(&o));
    std::fs::read_to_string(&out).unwrap()
}

/// name → cum (or flat) from `memdiag top --json` with no node trimmed.
fn top_values(profile: &str, field: &str) -> (i64, HashMap<String, i64>) {
    let v = top_json(&["-nodefraction=0", "-nodecount=1000000", profile]);
    let values = v["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["name"].as_str().unwrap().to_string(),
                r[field].as_i64().unwrap(),
            )
        })
        .collect();
    (v["total"].as_i64().unwrap(), values)
}

/// Length of the union of `[x, x + w)` intervals: a function's value
/// counted once even where it recurses (nested frames).
fn union_len(mut spans: Vec<(i64, i64)>) -> i64 {
    spans.sort_unstable();
    let (mut len, mut end) = (0, i64::MIN);
    for (x, w) in spans {
        let (a, b) = (x.max(end), x + w);
        if b > a {
            len += b - a;
        }
        end = end.max(b);
    }
    len
}

#[test]
fn frames_add_up_to_top_figures() {
    let svg = flame(&[FIXTURE, "-nodefraction=0"], "heap.svg");
    let fs = frames(&svg);
    let (total, cum) = top_values(FIXTURE, "cum");
    let root = fs.iter().find(|f| f.name == "all").expect("root frame");
    assert_eq!(root.count, total);
    assert_eq!(root.w, total);
    let mut spans: HashMap<&str, Vec<(i64, i64)>> = HashMap::new();
    for f in &fs {
        assert_eq!(f.count, f.w, "{}: title and fg:w agree", f.name);
        let pct = 100.0 * f.w as f64 / total as f64;
        assert!((f.width_pct - pct).abs() < 0.001, "{f:?}: width {pct}%");
        if f.name != "all" {
            spans.entry(&f.name).or_default().push((f.x, f.w));
        }
    }
    assert!(spans.len() > 10, "only {} functions drawn", spans.len());
    for (name, want) in &cum {
        let got = spans.remove(name.as_str()).map_or(0, union_len);
        assert_eq!(got, *want, "{name}: drawn width vs top's cum");
    }
    assert!(spans.is_empty(), "frames not in top: {:?}", spans.keys());
}

#[test]
fn icicle_puts_the_root_on_top() {
    let root_y = |svg: &str| frames(svg).iter().find(|f| f.name == "all").unwrap().y;
    let max_y = |svg: &str| frames(svg).iter().map(|f| f.y).max().unwrap();
    let flame_svg = flame(&[FIXTURE], "plain.svg");
    let icicle_svg = flame(&[FIXTURE, "--icicle"], "icicle.svg");
    assert_eq!(root_y(&flame_svg), max_y(&flame_svg));
    assert!(root_y(&icicle_svg) < max_y(&icicle_svg));
}

#[test]
fn differential_colours_growth_red_and_shrink_blue() {
    let svg = flame(&[FIXTURE, "--diff", BASE, "-nodefraction=0"], "diff.svg");
    let fs = frames(&svg);
    // inferno colours a frame by the change of its own (self) value, as
    // Brendan Gregg's difffolded does; for a function drawn once that is
    // the change of its flat value.
    let (_, new) = top_values(FIXTURE, "flat");
    let (_, base) = top_values(BASE, "flat");
    let (_, new_cum) = top_values(FIXTURE, "cum");
    let mut seen: HashMap<&str, usize> = HashMap::new();
    for f in &fs {
        *seen.entry(&f.name).or_default() += 1;
    }
    let (mut red, mut blue) = (0, 0);
    for f in fs
        .iter()
        .filter(|f| seen[f.name.as_str()] == 1 && f.name != "all")
    {
        let delta = new.get(&f.name).unwrap_or(&0) - base.get(&f.name).unwrap_or(&0);
        let rgb: Vec<u8> = f
            .fill
            .trim_start_matches("rgb(")
            .trim_end_matches(')')
            .split(',')
            .map(|c| c.parse().unwrap())
            .collect();
        if delta > 0 {
            assert!(
                rgb[0] == 255 && rgb[2] < 255,
                "{}: grew by {delta}, fill {}",
                f.name,
                f.fill
            );
            red += 1;
        } else if delta < 0 {
            assert!(
                rgb[2] == 255 && rgb[0] < 255,
                "{}: shrank by {delta}, fill {}",
                f.name,
                f.fill
            );
            blue += 1;
        }
        let want = *new_cum.get(&f.name).unwrap_or(&0);
        assert_eq!(f.w, want, "{}: width from the new profile", f.name);
    }
    assert!(
        red > 0 && blue > 0,
        "{red} grown and {blue} shrunk frames checked"
    );
}

#[test]
fn output_is_never_overwritten_without_force() {
    let out = out_path("exists.svg");
    std::fs::write(&out, "keep me").unwrap();
    let o = memdiag(&["flame", FIXTURE, "-o", out.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("already exists"), "{}", stderr(&o));
    assert_eq!(std::fs::read_to_string(&out).unwrap(), "keep me");
    let o = memdiag(&["flame", FIXTURE, "-o", out.to_str().unwrap(), "--force"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(std::fs::read_to_string(&out).unwrap().starts_with("<?xml"));
}

#[test]
fn bad_input_is_a_clear_error() {
    let out = out_path("never.svg");
    let o = memdiag(&["flame", "testdata/README.md", "-o", out.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("testdata/README.md"), "{}", stderr(&o));
    assert!(!out.exists());
}
