//! Writing Go's legacy heap text, the `debug=1` form of `/debug/pprof/heap`
//! (see [`legacy_heap`](super::legacy_heap) for the format and its reader).
//!
//! A heap profile in the model holds *estimated* (unsampled) values, as Go's
//! protobuf heap profiles do; the legacy text holds *sampled* counts, which
//! its readers (`go tool pprof`, and [`parse_legacy_heap`](super::parse_legacy_heap))
//! unsample per record with the Poisson estimate `scale = 1/(1-e^(-avg/R))`,
//! `avg = bytes/count`, from the header's `heap/2R`. So the writer re-samples:
//! each record's (count, bytes) pair becomes the integer sampled pair whose
//! unsampled estimate — computed by the reader's own function — comes closest
//! to the profile's values. For a record whose objects all have one size (the
//! usual case: one allocation site, one type) the profile's values are an
//! integer number of samples times the scale and come back to the unit; a
//! record mixing sizes comes back within about one sample's weight, the
//! legacy format holding only their average. A record that estimates less
//! than one sample is written as one sample (never dropped).
//!
//! Stacks are written as Go writes them: return addresses (each location's
//! address + 1; the reader steps back by one onto the call instruction),
//! followed by `#` frame lines naming each address (inlined frames innermost
//! first, an unnamed location as a bare `#\t0xPC`). The function entry offset
//! Go prints after a name (`+0x1f`) is left out: the model does not know it.
//! Fields are tab-separated, as Go writes them, so names with spaces
//! (Rust's `<T as Trait>::f`) read back whole.
//! The profile's comments follow the records as `#` lines, where Go writes
//! its `runtime.MemStats`.

use std::fmt::Write as _;

use super::legacy_heap::unsample;
use crate::{Error, Profile};

/// Writes `p` as Go's legacy heap text (`heap profile: ... @ heap/2R`).
///
/// `p` must have the sample types `inuse_objects` and `inuse_space` (and
/// usually `alloc_objects` and `alloc_space`; without them the alloc columns
/// repeat the in-use ones), or `objects` and `space`; its `period` is the
/// sampling rate R in bytes (1 = every allocation was recorded). Values must
/// not be negative (a delta profile cannot be written in this format).
pub fn write(p: &Profile) -> Result<String, Error> {
    let index = |names: &[&str]| {
        names
            .iter()
            .find_map(|n| (0..p.sample_types.len()).find(|&i| p.sample_type_name(i) == *n))
    };
    let (Some(io), Some(is)) = (
        index(&["inuse_objects", "objects"]),
        index(&["inuse_space", "space"]),
    ) else {
        return Err(Error::invalid(
            "sample_type",
            format!(
                "legacy heap text needs inuse_objects and inuse_space (or objects and space); the profile has {}",
                crate::ops::describe_sample_types(p)
            ),
        ));
    };
    let alloc = index(&["alloc_objects"]).zip(index(&["alloc_space"]));
    let rate = p.period.max(0);

    struct Record {
        inuse: (i64, i64),
        alloc: (i64, i64),
        stack: Vec<u32>,
    }
    let mut records = Vec::with_capacity(p.samples.len());
    for (n, s) in p.samples.iter().enumerate() {
        let value = |i: usize| -> Result<i64, Error> {
            let v = s.values[i];
            if v < 0 {
                return Err(Error::invalid(
                    format!("sample {n}"),
                    format!(
                        "{} is negative ({v}): legacy heap text holds no deltas",
                        p.sample_type_name(i)
                    ),
                ));
            }
            Ok(v)
        };
        let inuse = (value(io)?, value(is)?);
        let alloc_values = match alloc {
            Some((ao, aspace)) => (value(ao)?, value(aspace)?),
            None => inuse,
        };
        if inuse == (0, 0) && alloc_values == (0, 0) {
            continue;
        }
        records.push(Record {
            inuse: resample(inuse.0, inuse.1, rate),
            alloc: resample(alloc_values.0, alloc_values.1, rate),
            stack: s.locations.to_vec(),
        });
    }
    // Go lists the records by in-use bytes, largest first.
    records.sort_by_key(|r| std::cmp::Reverse(r.inuse.1));

    let sum = |f: &dyn Fn(&Record) -> i64| records.iter().map(f).fold(0i64, i64::wrapping_add);
    let mut out = String::with_capacity(64 + records.len() * 256);
    // Writing into a String cannot fail.
    let _ = writeln!(
        out,
        "heap profile: {}: {} [{}: {}] @ heap/{}",
        sum(&|r| r.inuse.0),
        sum(&|r| r.inuse.1),
        sum(&|r| r.alloc.0),
        sum(&|r| r.alloc.1),
        rate.saturating_mul(2)
    );
    for r in &records {
        let _ = write!(
            out,
            "{}: {} [{}: {}] @",
            r.inuse.0, r.inuse.1, r.alloc.0, r.alloc.1
        );
        for &l in &r.stack {
            let _ = write!(out, " {:#x}", return_address(p, l));
        }
        out.push('\n');
        for &l in &r.stack {
            let loc = &p.locations[l as usize];
            let pc = return_address(p, l).wrapping_sub(1);
            let named: Vec<_> = loc
                .lines
                .iter()
                .filter(|line| !p.function_name(line).is_empty())
                .collect();
            if named.is_empty() {
                let _ = writeln!(out, "#\t{pc:#x}");
            }
            for line in named {
                let _ = writeln!(
                    out,
                    "#\t{pc:#x}\t{}\t{}:{}",
                    p.function_name(line),
                    p.function_file(line),
                    line.line
                );
            }
        }
        out.push('\n');
    }
    if !p.comments.is_empty() {
        out.push('\n');
        for c in p.comment_strings() {
            for part in c.lines() {
                let part = part.trim_start_matches('#').trim_start();
                let _ = writeln!(out, "# {part}");
            }
        }
    }
    Ok(out)
}

/// The return address written for location `l`: its address + 1, or a
/// made-up address (unique per location, in an unmapped range) for a
/// location without one.
fn return_address(p: &Profile, l: u32) -> u64 {
    match p.locations[l as usize].address {
        0 => 0xffff_0000_0000_0001 + u64::from(l) * 16,
        a => a.wrapping_add(1),
    }
}

/// The sampled (count, bytes) whose unsampled estimate at `rate` (by the
/// reader's [`unsample`]) is nearest to (`count`, `bytes`).
pub(crate) fn resample(count: i64, bytes: i64, rate: i64) -> (i64, i64) {
    if count <= 0 || bytes <= 0 {
        // Go's records never hold bytes without objects; keep the pair
        // consistent for the reader (which rejects count 0 with bytes).
        return if count > 0 { (count, 0) } else { (0, 0) };
    }
    if rate <= 1 {
        return (count, bytes);
    }
    let avg = bytes as f64 / count as f64;
    let seen = -(-avg / rate as f64).exp_m1(); // 1 - e^(-avg/R)
    let c0 = count as f64 * seen;
    if c0 < 1.0 {
        // Less than one sample: one, of the average size.
        return (1, (avg.round() as i64).max(1));
    }
    let error = |c: i64, b: i64| {
        let (uc, ub) = unsample(c, b, rate);
        (uc - count).unsigned_abs() as f64 / count as f64
            + (ub - bytes).unsigned_abs() as f64 / bytes as f64
    };
    let mut best = (0i64, 0i64, f64::INFINITY);
    for c in [c0.floor(), c0.round(), c0.ceil()] {
        let c = (c as i64).max(1);
        // Sampled bytes b with b * scale(b/c) = bytes: a few fixed-point
        // steps from b = bytes * seen (the count's rounding moves the
        // average of the estimates off the sampled one).
        let mut b_est = bytes as f64 * seen;
        for _ in 0..4 {
            b_est = bytes as f64 * -(-(b_est / c as f64) / rate as f64).exp_m1();
        }
        let b0 = b_est.round() as i64;
        let b1 = (c as f64 * avg).round() as i64;
        let near = |b: i64| b.saturating_sub(2)..=b.saturating_add(2);
        for b in near(b0).chain(near(b1)) {
            if b < c {
                continue; // at least a byte per object
            }
            let e = error(c, b);
            if e < best.2 {
                best = (c, b, e);
            }
        }
    }
    if best.2.is_finite() {
        (best.0, best.1)
    } else {
        (c0 as i64, (c0 * avg) as i64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Function, Line, Location};
    use crate::ValueType;

    const RATE: i64 = 512 * 1024;

    /// Unsampled values of `k` samples of `size` bytes, as a sampling
    /// collector estimates them.
    fn estimate(k: i64, size: i64) -> (i64, i64) {
        let w = 1.0 / (1.0 - (-(size as f64) / RATE as f64).exp());
        (
            (k as f64 * w).round() as i64,
            (k as f64 * w * size as f64).round() as i64,
        )
    }

    /// (alloc objects and bytes, in-use objects and bytes, stack leaf first).
    type Record<'a> = ((i64, i64), (i64, i64), &'a [&'a str]);

    fn profile(records: &[Record<'_>]) -> Profile {
        let mut p = Profile::with_sample_types(&[
            ("alloc_objects", "count"),
            ("alloc_space", "bytes"),
            ("inuse_objects", "count"),
            ("inuse_space", "bytes"),
        ]);
        p.period = RATE;
        p.period_type = Some(ValueType {
            ty: p.strings.intern("space"),
            unit: p.strings.intern("bytes"),
        });
        let c = p.strings.intern("memdiag: a comment");
        p.comments.push(c);
        for (alloc, inuse, names) in records {
            let mut stack = Vec::new();
            for name in *names {
                let f = p.functions.len() as u32;
                let fname = p.strings.intern(name);
                let file = p.strings.intern("src/main.rs");
                p.functions.push(Function {
                    name: fname,
                    system_name: fname,
                    filename: file,
                    start_line: 0,
                });
                p.locations.push(Location {
                    mapping: None,
                    address: 0x1000 + 0x10 * p.locations.len() as u64,
                    lines: vec![Line {
                        function: Some(f),
                        line: 7,
                        column: 0,
                    }],
                    is_folded: false,
                });
                stack.push(p.locations.len() as u32 - 1);
            }
            p.samples
                .push(&stack, &[alloc.0, alloc.1, inuse.0, inuse.1], &[]);
        }
        p
    }

    /// Per leaf function name: the four values.
    fn by_leaf(p: &Profile) -> Vec<(String, Vec<i64>)> {
        let mut v: Vec<(String, Vec<i64>)> = p
            .samples
            .iter()
            .map(|s| {
                let leaf = &p.locations[s.locations[0] as usize];
                (
                    p.function_name(&leaf.lines[0]).to_string(),
                    s.values.to_vec(),
                )
            })
            .collect();
        v.sort();
        v
    }

    #[test]
    fn one_size_records_come_back_to_the_unit() {
        let a = estimate(40, 1000);
        let i = estimate(25, 1000);
        let big = estimate(3, 4 << 20);
        let p = profile(&[
            (a, i, &["app::leak", "app::main"]),
            (
                big,
                big,
                &["<app::Big as core::clone::Clone>::clone", "app::main"],
            ),
            (estimate(1, 16), (0, 0), &["app::tiny"]),
        ]);
        let text = write(&p).unwrap();
        assert!(text.starts_with("heap profile: "), "{text}");
        assert!(text.contains(&format!("@ heap/{}", 2 * RATE)), "{text}");
        // 25 and 40 samples of 1000 bytes (the estimates' rounding may move
        // the bytes by a unit).
        assert!(text.contains("\n25: 2499"), "{text}");
        assert!(text.contains(" [40: 3999"), "{text}");
        assert!(text.contains("] @ 0x1001 0x1011\n"), "{text}");
        assert!(text.contains("# memdiag: a comment"), "{text}");
        let back = super::super::parse_legacy_heap(text.as_bytes()).unwrap();
        assert_eq!(back.period, RATE);
        let got = by_leaf(&back);
        let want = by_leaf(&p);
        assert_eq!(got.len(), want.len());
        for ((gn, gv), (wn, wv)) in got.iter().zip(&want) {
            assert_eq!(gn, wn);
            for (g, w) in gv.iter().zip(wv) {
                assert!((g - w).abs() <= 1, "{gn}: {gv:?} vs {wv:?}");
            }
        }
        // Stacks and frame names come back.
        let s = back
            .samples
            .iter()
            .find(|s| {
                let leaf = &back.locations[s.locations[0] as usize];
                back.function_name(&leaf.lines[0]) == "app::leak"
            })
            .unwrap();
        let names: Vec<&str> = s
            .locations
            .iter()
            .map(|&l| back.function_name(&back.locations[l as usize].lines[0]))
            .collect();
        assert_eq!(names, ["app::leak", "app::main"]);
        assert_eq!(back.locations[s.locations[0] as usize].address, 0x1000);
    }

    #[test]
    fn mixed_sizes_come_back_within_a_sample() {
        // 10 samples of 64 bytes and 10 of 4096 in one record.
        let (c1, b1) = estimate(10, 64);
        let (c2, b2) = estimate(10, 4096);
        let v = (c1 + c2, b1 + b2);
        let p = profile(&[(v, v, &["app::mixed"])]);
        let back = super::super::parse_legacy_heap(write(&p).unwrap().as_bytes()).unwrap();
        let got = back.samples.get(0).values.to_vec();
        // Without alloc columns distinct from in-use ones the reader keeps two.
        assert_eq!(got.len(), 2);
        let one_sample = estimate(1, (b1 + b2) / (c1 + c2)).0 as f64;
        assert!(
            ((got[0] - v.0).abs() as f64) <= one_sample,
            "{got:?} vs {v:?}"
        );
        assert!(
            ((got[1] - v.1) as f64 / v.1 as f64).abs() < 0.01,
            "{got:?} vs {v:?}"
        );
    }

    #[test]
    fn small_estimates_are_one_sample_and_rate_one_is_exact() {
        assert_eq!(resample(3, 300, RATE), (1, 100));
        assert_eq!(resample(3, 300, 1), (3, 300));
        assert_eq!(resample(0, 0, RATE), (0, 0));
    }

    #[test]
    fn refuses_negative_values_and_missing_types() {
        let p = profile(&[((1, -5), (1, 5), &["f"])]);
        assert!(write(&p).is_err());
        let q = Profile::with_sample_types(&[("samples", "count")]);
        let e = write(&q).unwrap_err().to_string();
        assert!(e.contains("inuse_space"), "{e}");
    }
}
