//! What a scope left live, by stack: merged, symbolized as a small pprof
//! profile, filtered by the ignore list, and printed like a short
//! `memdiag top` of stacks.

use crate::{export, sampler, state};
use memdiag_profile::Profile;
use regex::Regex;
use std::collections::HashMap;
use std::fmt::Write;

/// Stacks shown in a failure message.
const SHOWN_STACKS: usize = 5;
/// Frames shown per stack (innermost first).
const SHOWN_FRAMES: usize = 12;

/// Live blocks of one stack.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Leak {
    pub(crate) stack: u32,
    pub(crate) objects: u64,
    pub(crate) bytes: u64,
}

/// Merges live blocks `(stack, bytes)` by stack, largest first.
pub(crate) fn by_stack(live: &[(u32, u64)]) -> Vec<Leak> {
    let mut m: HashMap<u32, Leak> = HashMap::new();
    for &(stack, bytes) in live {
        let l = m.entry(stack).or_insert(Leak {
            stack,
            objects: 0,
            bytes: 0,
        });
        l.objects += 1;
        l.bytes += bytes;
    }
    let mut v: Vec<Leak> = m.into_values().collect();
    v.sort_by(|a, b| b.bytes.cmp(&a.bytes).then(a.stack.cmp(&b.stack)));
    v
}

/// The leaks as a heap profile (inuse_objects, inuse_space; exact).
pub(crate) fn profile(leaks: &[Leak]) -> Profile {
    sampler::guarded(|| {
        let mut p =
            Profile::with_sample_types(&[("inuse_objects", "count"), ("inuse_space", "bytes")]);
        p.default_sample_type = p.strings.intern("inuse_space");
        let c = p
            .strings
            .intern("memdiag: blocks live when a testing scope closed (every allocation counted)");
        p.comments.push(c);
        let samples = leaks.iter().map(|l| {
            (
                state::stack_frames(l.stack),
                [l.objects as i64, l.bytes as i64],
            )
        });
        export::symbolize(p, samples)
    })
}

/// Whether a frame of sample `locations` is a function matching `ignore`.
fn ignored(p: &Profile, locations: &[u32], ignore: &[Regex]) -> bool {
    locations.iter().any(|&l| {
        p.locations[l as usize]
            .lines
            .iter()
            .any(|line| ignore.iter().any(|re| re.is_match(p.function_name(line))))
    })
}

/// `p` without the stacks `ignore` matches; returns how many bytes and
/// objects that dropped.
pub(crate) fn drop_ignored(p: &mut Profile, ignore: &[Regex]) -> (u64, u64) {
    let mut dropped = (0u64, 0u64);
    let mut samples = std::mem::take(&mut p.samples);
    samples.retain(|s| {
        let drop = ignored(p, s.locations, ignore);
        if drop {
            dropped.0 += s.values[1] as u64;
            dropped.1 += s.values[0] as u64;
        }
        !drop
    });
    p.samples = samples;
    dropped
}

/// The largest stacks of `p`, innermost frame first, one function per
/// line with its file and line. Standard-library frames at the ends (the
/// allocation path in `alloc`, closure shims) are counted, not shown:
///
/// ```text
///       bytes  objects  share  stack (innermost first)
///        4000        1 100.0%  leaky::make_leak (src/lib.rs:12) [+10 std frames]
///                                 leaky::tests::it_leaks::{{closure}} (src/lib.rs:30)
/// ```
pub(crate) fn top_stacks(p: &Profile) -> String {
    let mut order: Vec<usize> = (0..p.samples.len()).collect();
    order.sort_by_key(|&i| std::cmp::Reverse(p.samples.get(i).values[1]));
    let total: i64 = p.samples.iter().map(|s| s.values[1]).sum();
    let mut out = String::from("      bytes  objects  share  stack (innermost first)\n");
    for &i in order.iter().take(SHOWN_STACKS) {
        let s = p.samples.get(i);
        let share = 100.0 * s.values[1] as f64 / total.max(1) as f64;
        let _ = write!(
            out,
            "{:>11} {:>8} {:>5.1}%",
            s.values[1], s.values[0], share
        );
        let frames: Vec<(&str, &str, i64)> = s
            .locations
            .iter()
            .flat_map(|&l| p.locations[l as usize].lines.iter())
            .map(|line| (p.function_name(line), p.function_file(line), line.line))
            .collect();
        let own = |f: &&(&str, &str, i64)| {
            !f.1.starts_with("/rustc/") && !f.0.starts_with("memdiag::testing::")
        };
        let first = frames.iter().position(|f| own(&f)).unwrap_or(0);
        let last = frames.iter().rposition(|f| own(&f)).unwrap_or(frames.len());
        let shown = frames.get(first..=last).unwrap_or(&[]);
        if shown.is_empty() {
            out.push_str("  (stack unknown)\n");
        }
        for (k, (name, file, line)) in shown.iter().take(SHOWN_FRAMES).enumerate() {
            let indent = if k == 0 {
                "  "
            } else {
                "                                 "
            };
            let _ = write!(out, "{indent}{name}");
            if !file.is_empty() {
                let _ = write!(out, " ({}:{line})", short_path(file));
            }
            if k == 0 && first > 0 {
                let _ = write!(out, " [+{first} std frames]");
            }
            out.push('\n');
        }
        if shown.len() > SHOWN_FRAMES {
            let _ = writeln!(
                out,
                "                                 ... {} more frames",
                shown.len() - SHOWN_FRAMES
            );
        }
    }
    if order.len() > SHOWN_STACKS {
        let _ = writeln!(out, "  ... and {} more stacks", order.len() - SHOWN_STACKS);
    }
    out
}

/// A source path relative to the current directory (the crate's, under
/// `cargo test`) when it lies below it.
fn short_path(f: &str) -> &str {
    std::env::current_dir()
        .ok()
        .and_then(|d| f.strip_prefix(d.to_str()?))
        .map(|r| r.trim_start_matches('/'))
        .unwrap_or(f)
}
