//! Merge, base subtraction, scaling and filters: checked against values
//! computed by hand from the inputs, and against `go tool pprof` totals in
//! testdata/expected when present.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use memdiag_profile::model::{Function, Label, Line, Location, Mapping, ValueType};
use memdiag_profile::ops::{self, DiffBaseLabel, Filters};
use memdiag_profile::{decode, Error, Profile};

// ---------------------------------------------------------------------------
// Building profiles by hand

/// Builds profiles whose frames are named functions: each distinct list of
/// function names (innermost first) becomes one location.
struct Builder {
    p: Profile,
    functions: BTreeMap<String, u32>,
    locations: BTreeMap<Vec<String>, u32>,
}

impl Builder {
    fn new(types: &[(&str, &str)]) -> Self {
        let mut p = Profile::with_sample_types(types);
        p.mappings.push(Mapping {
            memory_start: 0x400000,
            memory_limit: 0x800000,
            filename: p.strings.intern("/bin/app"),
            has_functions: true,
            ..Default::default()
        });
        p.period_type = Some(ValueType {
            ty: p.strings.intern("space"),
            unit: p.strings.intern("bytes"),
        });
        p.period = 524288;
        Builder {
            p,
            functions: BTreeMap::new(),
            locations: BTreeMap::new(),
        }
    }

    fn function(&mut self, name: &str) -> u32 {
        if let Some(&f) = self.functions.get(name) {
            return f;
        }
        let f = Function {
            name: self.p.strings.intern(name),
            system_name: self.p.strings.intern(name),
            filename: self
                .p
                .strings
                .intern(&format!("/src/{}.go", name.replace('.', "_"))),
            start_line: 1,
        };
        self.p.functions.push(f);
        let i = self.p.functions.len() as u32 - 1;
        self.functions.insert(name.to_string(), i);
        i
    }

    /// A location whose lines are `names`, innermost (inlined) first.
    fn location(&mut self, names: &[&str]) -> u32 {
        let key: Vec<String> = names.iter().map(|s| s.to_string()).collect();
        if let Some(&l) = self.locations.get(&key) {
            return l;
        }
        let lines = names
            .iter()
            .enumerate()
            .map(|(i, n)| Line {
                function: Some(self.function(n)),
                line: 10 + i as i64,
                column: 0,
            })
            .collect();
        let address = 0x401000 + 0x10 * self.p.locations.len() as u64;
        self.p.locations.push(Location {
            mapping: Some(0),
            address,
            lines,
            is_folded: false,
        });
        let i = self.p.locations.len() as u32 - 1;
        self.locations.insert(key, i);
        i
    }

    /// A sample; `stack` is leaf first, one function per frame. Labels are
    /// `("key", "value")` strings or `("key", "=123 unit")` numbers.
    fn sample(&mut self, stack: &[&str], values: &[i64], labels: &[(&str, &str)]) -> &mut Self {
        let locs: Vec<u32> = stack.iter().map(|f| self.location(&[f])).collect();
        self.sample_at(&locs, values, labels)
    }

    fn sample_at(&mut self, locs: &[u32], values: &[i64], labels: &[(&str, &str)]) -> &mut Self {
        let labels: Vec<Label> = labels
            .iter()
            .map(|(k, v)| {
                let key = self.p.strings.intern(k);
                match v.strip_prefix('=') {
                    Some(num) => {
                        let (n, unit) = num.split_once(' ').unwrap_or((num, ""));
                        Label {
                            key,
                            num: n.parse().unwrap(),
                            num_unit: self.p.strings.intern(unit),
                            ..Default::default()
                        }
                    }
                    None => Label {
                        key,
                        str: self.p.strings.intern(v),
                        ..Default::default()
                    },
                }
            })
            .collect();
        self.p.samples.push(locs, values, &labels);
        self
    }

    fn build(&mut self) -> Profile {
        self.p.clone()
    }
}

// ---------------------------------------------------------------------------
// Looking at profiles independently of the operations' code

/// A location as text: its lines (`function:line`, innermost first).
fn location_text(p: &Profile, l: u32) -> String {
    let loc = &p.locations[l as usize];
    let lines: Vec<String> = loc
        .lines
        .iter()
        .map(|ln| format!("{}:{}", p.function_name(ln), ln.line))
        .collect();
    lines.join("+")
}

/// A sample's labels as sorted text.
fn labels_text(p: &Profile, labels: &[Label]) -> Vec<String> {
    let mut out: Vec<String> = labels
        .iter()
        .map(|l| {
            if l.str.0 != 0 {
                format!("{}={}", p.str(l.key), p.str(l.str))
            } else {
                format!("{}=#{}{}", p.str(l.key), l.num, p.str(l.num_unit))
            }
        })
        .collect();
    out.sort();
    out
}

type Sites = BTreeMap<(Vec<String>, Vec<String>), Vec<i64>>;

/// Values summed per (stack, labels), stacks as text, leaf first.
fn sites(p: &Profile) -> Sites {
    let mut out = Sites::new();
    for s in p.samples.iter() {
        let stack = s.locations.iter().map(|&l| location_text(p, l)).collect();
        let key = (stack, labels_text(p, s.labels));
        let sums = out.entry(key).or_insert_with(|| vec![0; s.values.len()]);
        for (sum, v) in sums.iter_mut().zip(s.values) {
            *sum += v;
        }
    }
    out
}

/// Leaf-first stacks of function names with their value 0, sorted.
fn stacks(p: &Profile) -> Vec<(String, i64)> {
    let mut out: Vec<(String, i64)> = p
        .samples
        .iter()
        .map(|s| {
            let names: Vec<String> = s.locations.iter().map(|&l| location_text(p, l)).collect();
            (names.join(" "), s.values[0])
        })
        .collect();
    out.sort();
    out
}

fn fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/profiles")
}

fn fixture(name: &str) -> Option<Profile> {
    let data = std::fs::read(fixtures_dir().join(name)).ok()?;
    Some(decode(&data).unwrap_or_else(|e| panic!("{name}: {e}")))
}

/// Two heap-like profiles: the Go fixtures when present, else built ones.
fn heap_pair() -> (Profile, Profile) {
    if let (Some(a), Some(b)) = (fixture("heap.pb.gz"), fixture("heap_base.pb.gz")) {
        return (a, b);
    }
    let types = [("alloc_objects", "count"), ("alloc_space", "bytes")];
    let a = Builder::new(&types)
        .sample(&["malloc", "alloc", "main"], &[1, 16], &[("bytes", "=16")])
        .sample(&["malloc", "grow", "main"], &[2, 64], &[("bytes", "=32")])
        .sample(&["malloc", "grow", "main"], &[2, 64], &[("bytes", "=32")])
        .sample(&["other", "main"], &[0, 0], &[])
        .build();
    let b = Builder::new(&types)
        .sample(&["malloc", "grow", "main"], &[1, 32], &[("bytes", "=32")])
        .sample(&["malloc", "alloc", "main"], &[3, 48], &[("bytes", "=16")])
        .sample(&["malloc", "alloc", "main"], &[3, 48], &[("bytes", "=8")])
        .build();
    (a, b)
}

fn all_profiles() -> Vec<(String, Profile)> {
    let mut out = Vec::new();
    for name in [
        "heap.pb.gz",
        "heap_base.pb.gz",
        "allocs.pb.gz",
        "cpu.pb.gz",
        "goroutine.pb.gz",
    ] {
        if let Some(p) = fixture(name) {
            out.push((name.to_string(), p));
        }
    }
    let (a, b) = heap_pair();
    out.push(("built a".into(), a));
    out.push(("built b".into(), b));
    out
}

// ---------------------------------------------------------------------------
// Merge

#[test]
fn merge_sums_the_values_of_each_site() {
    let (a, b) = heap_pair();
    let mut expected = sites(&a);
    for (key, values) in sites(&b) {
        let sums = expected.entry(key).or_insert_with(|| vec![0; values.len()]);
        for (sum, v) in sums.iter_mut().zip(&values) {
            *sum += v;
        }
    }
    expected.retain(|_, v| v.iter().any(|&x| x != 0));

    let merged = ops::merge(vec![a.clone(), b.clone()]).unwrap();
    assert_eq!(sites(&merged), expected);
    assert!(merged
        .samples
        .iter()
        .all(|s| s.values.iter().any(|&v| v != 0)));
    for i in 0..a.sample_types.len() {
        assert_eq!(merged.total(i), a.total(i) + b.total(i));
    }
    // Headers: earliest time, summed durations, the larger period.
    assert_eq!(merged.duration_nanos, a.duration_nanos + b.duration_nanos);
    assert_eq!(merged.period, a.period.max(b.period));
    if a.time_nanos != 0 && b.time_nanos != 0 {
        assert_eq!(merged.time_nanos, a.time_nanos.min(b.time_nanos));
    }
}

#[test]
fn merge_of_one_profile_is_the_profile() {
    for (name, p) in all_profiles() {
        let merged = ops::merge(vec![p.clone()]).unwrap();
        let mut expected = sites(&p);
        expected.retain(|_, v| v.iter().any(|&x| x != 0));
        assert_eq!(sites(&merged), expected, "{name}");
        let types = |q: &Profile| -> Vec<(String, String)> {
            (0..q.sample_types.len())
                .map(|i| (q.sample_type_name(i).into(), q.sample_type_unit(i).into()))
                .collect()
        };
        assert_eq!(types(&merged), types(&p), "{name}");
        assert_eq!(
            (merged.time_nanos, merged.duration_nanos, merged.period),
            (p.time_nanos, p.duration_nanos, p.period),
            "{name}"
        );
        assert_eq!(
            merged.str(merged.default_sample_type),
            p.str(p.default_sample_type)
        );
        // Merging again changes nothing at all.
        assert_eq!(ops::merge(vec![merged.clone()]).unwrap(), merged, "{name}");
        // The main mapping stays first.
        if let Some(m) = p.mappings.first() {
            assert_eq!(merged.str(merged.mappings[0].filename), p.str(m.filename));
        }
    }
}

#[test]
fn merge_dedupes_locations_functions_and_mappings() {
    let types = [("samples", "count")];
    let a = Builder::new(&types).sample(&["f", "g"], &[1], &[]).build();
    // The same code seen at another load address: same mapping (by file and
    // size), so its locations are the same after rebasing.
    let mut b = a.clone();
    b.mappings[0].memory_start += 0x10000;
    b.mappings[0].memory_limit += 0x10000;
    for l in &mut b.locations {
        l.address += 0x10000;
    }
    let merged = ops::merge(vec![a.clone(), b]).unwrap();
    assert_eq!(merged.mappings.len(), 1);
    assert_eq!(merged.locations.len(), 2);
    assert_eq!(merged.functions.len(), 2);
    assert_eq!(merged.samples.len(), 1);
    assert_eq!(merged.samples.get(0).values, &[2]);
    assert_eq!(merged.locations, a.locations);
}

#[test]
fn merge_keeps_samples_with_different_labels_apart() {
    let types = [("samples", "count")];
    let p = Builder::new(&types)
        .sample(&["f"], &[1], &[("k", "a"), ("n", "=5 bytes")])
        .sample(&["f"], &[2], &[("n", "=5 bytes"), ("k", "a")])
        .sample(&["f"], &[4], &[("k", "b")])
        .sample(&["f"], &[8], &[("k", "a"), ("k", "b")])
        .sample(&["f"], &[16], &[("k", "b"), ("k", "a")])
        .build();
    let merged = ops::merge(vec![p]).unwrap();
    let got: Vec<(Vec<String>, i64)> = merged
        .samples
        .iter()
        .map(|s| (labels_text(&merged, s.labels), s.values[0]))
        .collect();
    // Label order across keys does not matter; the order of one key's values
    // does (as in Go).
    assert_eq!(
        got,
        vec![
            (vec!["k=a".to_string(), "n=#5bytes".to_string()], 3),
            (vec!["k=b".to_string()], 4),
            (vec!["k=a".to_string(), "k=b".to_string()], 8),
            (vec!["k=a".to_string(), "k=b".to_string()], 16),
        ]
    );
    // Canonical order: string labels by key, then numeric ones.
    let first = merged.samples.get(0);
    assert_eq!(merged.str(first.labels[0].key), "k");
    assert_eq!(merged.str(first.labels[1].key), "n");
}

#[test]
fn merge_rejects_incompatible_sample_types() {
    let a = Builder::new(&[("alloc_objects", "count"), ("alloc_space", "bytes")]).build();
    let b = Builder::new(&[("samples", "count"), ("cpu", "nanoseconds")]).build();
    let err = ops::merge(vec![a.clone(), b.clone()]).unwrap_err();
    assert!(matches!(err, Error::Incompatible(_)), "{err:?}");
    let msg = err.to_string();
    for want in [
        "alloc_objects/count",
        "alloc_space/bytes",
        "samples/count",
        "cpu/nanoseconds",
    ] {
        assert!(msg.contains(want), "{msg}");
    }
    // The driver's path fails too, before merging.
    assert!(matches!(
        ops::combine(vec![a.clone(), b]),
        Err(Error::Incompatible(_))
    ));
    let c = Builder::new(&[("alloc_objects", "count")]).build();
    let msg = ops::combine(vec![a.clone(), c]).unwrap_err().to_string();
    assert!(msg.contains("count"), "{msg}");
    // Different period types.
    let mut d = a.clone();
    d.period_type = None;
    let msg = ops::merge(vec![a, d]).unwrap_err().to_string();
    assert!(msg.contains("period"), "{msg}");
    assert!(ops::merge(vec![]).is_err());
}

#[test]
fn combine_converts_units_like_the_driver() {
    let a = Builder::new(&[("space", "bytes")])
        .sample(&["f"], &[2048], &[])
        .build();
    let b = Builder::new(&[("space", "kilobytes")])
        .sample(&["f"], &[3], &[])
        .build();
    let merged = ops::combine(vec![a, b]).unwrap();
    assert_eq!(merged.sample_type_unit(0), "bytes");
    assert_eq!(merged.total(0), 2048 + 3 * 1024);
}

// ---------------------------------------------------------------------------
// Scale and base

#[test]
fn scale_rounds_half_away_from_zero_and_drops_zeros() {
    let mut p = Builder::new(&[("a", "count"), ("b", "count")])
        .sample(&["f"], &[3, -3], &[])
        .sample(&["g"], &[1, 2], &[])
        .sample(&["h"], &[1, 1], &[])
        .build();
    ops::scale(&mut p, 0.5);
    let values: Vec<Vec<i64>> = p.samples.iter().map(|s| s.values.to_vec()).collect();
    assert_eq!(values, vec![vec![2, -2], vec![1, 1], vec![1, 1]]);
    ops::scale(&mut p, 0.4);
    let values: Vec<Vec<i64>> = p.samples.iter().map(|s| s.values.to_vec()).collect();
    assert_eq!(values, vec![vec![1, -1]]);
    // ScaleN keeps a sample only if a scaled value is non-zero.
    let mut q = Builder::new(&[("a", "count"), ("b", "count")])
        .sample(&["f"], &[5, 1], &[])
        .build();
    ops::scale_n(&mut q, &[1.0, 0.1]).unwrap();
    assert!(q.samples.is_empty());
    assert!(ops::scale_n(&mut q, &[1.0]).is_err());
}

#[test]
fn subtracting_a_profile_from_itself_leaves_nothing() {
    for (name, p) in all_profiles() {
        let d = ops::subtract_base(p.clone(), p.clone(), false).unwrap();
        assert!(d.samples.is_empty(), "{name}: {} samples", d.samples.len());
    }
}

#[test]
fn diff_base_keeps_base_samples_apart_and_labeled() {
    for (name, p) in all_profiles() {
        let distinct = ops::merge(vec![p.clone()]).unwrap().samples.len();
        let d = ops::subtract_base(p.clone(), p.clone(), true).unwrap();
        assert_eq!(d.samples.len(), 2 * distinct, "{name}");
        let label = DiffBaseLabel::find(&d);
        let base: Vec<bool> = d
            .samples
            .iter()
            .map(|s| label.is_some_and(|l| l.matches(&s)))
            .collect();
        assert_eq!(base.iter().filter(|&&b| b).count(), distinct, "{name}");
        for i in 0..d.sample_types.len() {
            assert_eq!(d.total(i), 0, "{name}");
            let base_total: i64 = d
                .samples
                .iter()
                .zip(&base)
                .filter(|(_, &b)| b)
                .map(|(s, _)| s.values[i])
                .sum();
            assert_eq!(base_total, -p.total(i), "{name}");
        }
        for s in d.samples.iter() {
            assert_eq!(
                ops::is_diff_base_sample(&d, &s),
                s.values.iter().all(|&v| v <= 0) && s.values.iter().any(|&v| v < 0),
                "{name}"
            );
        }
    }
}

#[test]
fn base_subtraction_by_hand() {
    let types = [("inuse_space", "bytes")];
    let p = Builder::new(&types)
        .sample(&["a", "main"], &[10], &[])
        .sample(&["b", "main"], &[5], &[])
        .build();
    let base = Builder::new(&types)
        .sample(&["a", "main"], &[4], &[])
        .sample(&["b", "main"], &[5], &[])
        .sample(&["c", "main"], &[3], &[])
        .build();
    let d = ops::subtract_base(p.clone(), base.clone(), false).unwrap();
    assert_eq!(
        stacks(&d),
        vec![
            ("a:10 main:10".to_string(), 6),
            ("c:10 main:10".to_string(), -3)
        ]
    );
    let mut normalized = p.clone();
    ops::normalize(&mut normalized, &base).unwrap();
    // 15 → 12: each value times 12/15.
    assert_eq!(
        stacks(&normalized),
        vec![
            ("a:10 main:10".to_string(), 8),
            ("b:10 main:10".to_string(), 4)
        ]
    );
}

// ---------------------------------------------------------------------------
// Filters

/// main → alloc → grow → malloc and friends; values are powers of ten so
/// that any total tells which samples are left.
fn filter_profile() -> Profile {
    let mut b = Builder::new(&[("alloc_space", "bytes")]);
    b.sample(
        &["malloc", "alloc", "main"],
        &[1],
        &[("key1", "a"), ("bytes", "=1024")],
    )
    .sample(
        &["malloc", "grow", "alloc", "main"],
        &[10],
        &[("key1", "b"), ("bytes", "=4096")],
    )
    .sample(&["grow", "helper", "main"], &[100], &[("key2", "c")])
    .sample(&[], &[1000], &[])
    .sample(&["runtime.gc"], &[10000], &[("bytes", "=2048")]);
    // A location with an inlined frame: inl inlined into outer.
    let inl = b.location(&["inl", "outer"]);
    let main = b.location(&["main"]);
    b.sample_at(&[inl, main], &[100000], &[]);
    b.build()
}

fn filtered(f: Filters) -> (Profile, Vec<String>) {
    let mut p = filter_profile();
    let msgs = ops::apply_filters(&mut p, &f).unwrap();
    (p, msgs)
}

fn names(p: &Profile) -> Vec<(String, i64)> {
    stacks(p)
        .into_iter()
        .map(|(s, v)| {
            // Drop line numbers for readability.
            let s = s
                .split(' ')
                .map(|f| {
                    f.split('+')
                        .map(|l| l.split(':').next().unwrap())
                        .collect::<Vec<_>>()
                        .join("+")
                })
                .collect::<Vec<_>>()
                .join(" ");
            (s, v)
        })
        .collect()
}

fn opt(s: &str) -> Option<String> {
    Some(s.to_string())
}

#[test]
fn no_filter_drops_samples_without_locations() {
    let (p, msgs) = filtered(Filters::default());
    assert_eq!(p.total(0), 111111 - 1000);
    assert!(msgs.is_empty());
}

#[test]
fn focus_and_ignore() {
    let (p, msgs) = filtered(Filters {
        focus: opt("alloc"),
        ..Default::default()
    });
    assert_eq!(p.total(0), 11);
    assert!(msgs.is_empty());

    let (p, _) = filtered(Filters {
        ignore: opt("grow"),
        ..Default::default()
    });
    assert_eq!(p.total(0), 110001);

    let (p, _) = filtered(Filters {
        focus: opt("main"),
        ignore: opt("^malloc$"),
        ..Default::default()
    });
    assert_eq!(p.total(0), 100100);

    // File names match too.
    let (p, _) = filtered(Filters {
        focus: opt("/src/helper"),
        ..Default::default()
    });
    assert_eq!(p.total(0), 100);

    // Inlined frames count as frames of their location.
    let (p, _) = filtered(Filters {
        focus: opt("^inl$"),
        ..Default::default()
    });
    assert_eq!(p.total(0), 100000);

    let (p, msgs) = filtered(Filters {
        focus: opt("nomatch"),
        ignore: opt("nomatch"),
        ..Default::default()
    });
    assert!(p.samples.is_empty());
    assert_eq!(
        msgs,
        vec![
            "Focus expression matched no samples",
            "Ignore expression matched no samples"
        ]
    );
}

#[test]
fn hide_and_show_rewrite_stacks() {
    let (p, msgs) = filtered(Filters {
        hide: opt("malloc|inl"),
        ..Default::default()
    });
    assert!(msgs.is_empty());
    assert_eq!(
        names(&p),
        vec![
            ("alloc main".to_string(), 1),
            ("grow alloc main".to_string(), 10),
            ("grow helper main".to_string(), 100),
            ("outer main".to_string(), 100000),
            ("runtime.gc".to_string(), 10000),
        ]
    );

    let (p, _) = filtered(Filters {
        show: opt("main|^alloc|^inl"),
        ..Default::default()
    });
    assert_eq!(
        names(&p),
        vec![
            ("alloc main".to_string(), 1),
            ("alloc main".to_string(), 10),
            ("inl main".to_string(), 100000),
            ("main".to_string(), 100),
        ]
    );

    let (p, msgs) = filtered(Filters {
        hide: opt("nomatch"),
        show: opt("nomatch"),
        ..Default::default()
    });
    assert!(p.samples.is_empty());
    assert_eq!(
        msgs,
        vec![
            "Hide expression matched no samples",
            "Show expression matched no samples"
        ]
    );
}

#[test]
fn show_from_and_prune_from() {
    let (p, msgs) = filtered(Filters {
        show_from: opt("alloc|outer"),
        ..Default::default()
    });
    assert!(msgs.is_empty());
    assert_eq!(
        names(&p),
        vec![
            ("inl+outer".to_string(), 100000),
            ("malloc alloc".to_string(), 1),
            ("malloc grow alloc".to_string(), 10),
        ]
    );

    let (p, msgs) = filtered(Filters {
        show_from: opt("nomatch"),
        ..Default::default()
    });
    assert!(p.samples.is_empty());
    assert_eq!(msgs, vec!["ShowFrom expression matched no samples"]);

    let (p, _) = filtered(Filters {
        prune_from: opt("^(alloc|outer)$"),
        ..Default::default()
    });
    assert_eq!(
        names(&p),
        vec![
            ("alloc main".to_string(), 1),
            ("alloc main".to_string(), 10),
            ("grow helper main".to_string(), 100),
            ("outer main".to_string(), 100000),
            ("runtime.gc".to_string(), 10000),
        ]
    );
}

#[test]
fn tag_filters() {
    let total = |f: Filters| {
        let (p, msgs) = filtered(f);
        (p.total(0), msgs)
    };
    assert_eq!(
        total(Filters {
            tag_focus: opt("key1=a"),
            ..Default::default()
        }),
        (1, vec![])
    );
    // Without a key, regexes match `key:value`, and all must match.
    assert_eq!(
        total(Filters {
            tag_focus: opt("key1:b"),
            ..Default::default()
        })
        .0,
        10
    );
    assert_eq!(
        total(Filters {
            tag_focus: opt("key1,b"),
            ..Default::default()
        })
        .0,
        10
    );
    // With a key, any regex may match.
    assert_eq!(
        total(Filters {
            tag_focus: opt("key1=a,b"),
            ..Default::default()
        })
        .0,
        11
    );
    // Numeric ranges, in the label's unit (`bytes` by default for the key
    // `bytes`).
    assert_eq!(
        total(Filters {
            tag_focus: opt("bytes=2kb:"),
            ..Default::default()
        }),
        (
            10010,
            vec!["tagfocus:Interpreted '2kb:' as range, not regexp".to_string()]
        )
    );
    assert_eq!(
        total(Filters {
            tag_focus: opt("1kb:2kb"),
            ..Default::default()
        })
        .0,
        10001
    );
    assert_eq!(
        total(Filters {
            tag_focus: opt("bytes=4kb"),
            ..Default::default()
        })
        .0,
        10
    );
    assert_eq!(
        total(Filters {
            tag_ignore: opt("key2=c"),
            ..Default::default()
        })
        .0,
        110011
    );
    let (t, msgs) = total(Filters {
        tag_focus: opt("nokey=x"),
        tag_ignore: opt("nomatch"),
        ..Default::default()
    });
    assert_eq!(t, 0);
    assert_eq!(
        msgs,
        vec![
            "TagFocus expression matched no samples",
            "TagIgnore expression matched no samples"
        ]
    );

    let (p, msgs) = filtered(Filters {
        tag_show: opt("key"),
        tag_hide: opt("2"),
        ..Default::default()
    });
    assert!(msgs.is_empty());
    let labels: Vec<Vec<String>> = p
        .samples
        .iter()
        .map(|s| labels_text(&p, s.labels))
        .filter(|l| !l.is_empty())
        .collect();
    assert_eq!(labels, vec![vec!["key1=a"], vec!["key1=b"]]);
}

#[test]
fn label_units_and_their_warnings() {
    let p = Builder::new(&[("samples", "count")])
        .sample(&["f"], &[1], &[("bytes", "=1 kb")])
        .sample(&["f"], &[1], &[("bytes", "=1 MB"), ("request", "=3")])
        .sample(&["f"], &[1], &[("bytes", "=1 B"), ("size", "=3")])
        .build();
    let (units, msgs) = ops::num_label_units(&p);
    assert_eq!(units["bytes"], "kb");
    assert_eq!(units["request"], "bytes");
    assert_eq!(units["size"], "size");
    assert_eq!(
        msgs,
        vec!["For tag bytes used unit kb, also encountered unit(s) B, MB"]
    );
}

#[test]
fn bad_expressions_are_errors() {
    let mut p = filter_profile();
    let before = p.clone();
    for f in [
        Filters {
            focus: opt("("),
            ..Default::default()
        },
        Filters {
            tag_ignore: opt("k=["),
            ..Default::default()
        },
        Filters {
            hide: opt("ok"),
            prune_from: opt("*"),
            ..Default::default()
        },
    ] {
        let err = ops::apply_filters(&mut p, &f).unwrap_err();
        assert!(matches!(err, Error::Regex { .. }), "{err:?}");
        assert_eq!(p, before, "nothing changes on error");
    }
    let err = ops::apply_filters(
        &mut p,
        &Filters {
            tag_focus: opt("99999999999999999999kb"),
            ..Default::default()
        },
    )
    .unwrap_err();
    assert!(err.to_string().contains("tagfocus"), "{err}");
}

#[test]
fn remove_uninteresting_prunes_with_drop_frames() {
    let mut b = Builder::new(&[("samples", "count")]);
    b.sample(&["malloc(int)", "alloc", "main"], &[1], &[])
        .sample(&["alloc", "malloc(int)", "main"], &[2], &[])
        .sample(&["malloc(int)"], &[4], &[]);
    let mut p = b.build();
    p.drop_frames = p.strings.intern("malloc|mmap");
    ops::remove_uninteresting(&mut p).unwrap();
    assert_eq!(
        names(&p),
        vec![
            ("alloc main".to_string(), 1),
            // The pruned frame is the leaf-most... from the root: main, then
            // malloc: malloc and everything beneath it goes.
            ("main".to_string(), 2),
            // Frames before the first non-matching frame stay.
            ("malloc(int)".to_string(), 4),
        ]
    );
    let mut q = b.build();
    q.drop_frames = q.strings.intern("malloc|mmap");
    q.keep_frames = q.strings.intern("malloc");
    ops::remove_uninteresting(&mut q).unwrap();
    assert_eq!(q.total(0), 7);
    assert_eq!(stacks(&q), stacks(&b.build()));

    q.drop_frames = q.strings.intern("(");
    assert!(ops::remove_uninteresting(&mut q).is_err());
}

// ---------------------------------------------------------------------------
// Totals of `go tool pprof -top` runs (testdata/expected/INDEX.tsv)

/// `value` (in `unit`) formatted like `shown`, a figure of a pprof report
/// (`22870.99kB`, `1.82MB`, `1234`): converted to its unit, two decimals,
/// `.00` trimmed (pprof's `ScaledLabel`).
fn format_like(value: i64, unit: &str, shown: &str) -> String {
    let digits = shown
        .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '-'))
        .unwrap_or(shown.len());
    let target = &shown[digits..];
    let (v, u) = ops::convert_unit(value, unit, if target.is_empty() { unit } else { target });
    let s = format!("{v:.2}");
    let s = s.strip_suffix(".00").unwrap_or(&s);
    if s == "0" || s == "-0" {
        return "0".to_string();
    }
    format!("{s}{u}")
}

/// The options of an INDEX.tsv row this test understands, or `None`.
struct Row {
    sources: Vec<String>,
    base: Option<(String, bool)>,
    sample_index: Option<String>,
    filters: Filters,
}

fn parse_row(args: &str) -> Option<Row> {
    let mut row = Row {
        sources: Vec::new(),
        base: None,
        sample_index: None,
        filters: Filters::default(),
    };
    let mut top = false;
    for arg in args.split_whitespace() {
        let Some(flag) = arg.strip_prefix('-') else {
            row.sources.push(arg.to_string());
            continue;
        };
        let (name, value) = flag.split_once('=').unwrap_or((flag, ""));
        let value = Some(value.to_string());
        match name {
            "top" | "text" => top = true,
            "cum" => {}
            "sample_index" => row.sample_index = value,
            "focus" => row.filters.focus = value,
            "ignore" => row.filters.ignore = value,
            "hide" => row.filters.hide = value,
            "show" => row.filters.show = value,
            "show_from" => row.filters.show_from = value,
            "tagfocus" => row.filters.tag_focus = value,
            "tagignore" => row.filters.tag_ignore = value,
            "prune_from" => row.filters.prune_from = value,
            "base" => row.base = value.map(|v| (v, false)),
            "diff_base" => row.base = value.map(|v| (v, true)),
            _ => return None,
        }
    }
    (top && !row.sources.is_empty()).then_some(row)
}

fn load(root: &Path, files: &[String]) -> Profile {
    let profiles = files
        .iter()
        .map(|f| {
            let mut p = decode(&std::fs::read(root.join(f)).unwrap()).unwrap();
            ops::ensure_mapping(&mut p);
            p
        })
        .collect();
    ops::combine(profiles).unwrap()
}

#[test]
fn totals_match_go_tool_pprof() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let Ok(index) = std::fs::read_to_string(root.join("testdata/expected/INDEX.tsv")) else {
        eprintln!("no testdata/expected/INDEX.tsv: skipped");
        return;
    };
    let mut checked = 0;
    for line in index.lines().filter(|l| !l.starts_with('#')) {
        let Some((file, args)) = line.split_once('\t') else {
            continue;
        };
        let Some(row) = parse_row(args) else { continue };
        if row.sources.iter().any(|s| s.ends_with(".txt")) {
            continue; // legacy text: not this crate's operations
        }
        let Ok(expected) = std::fs::read_to_string(root.join("testdata/expected").join(file))
        else {
            continue;
        };
        let Some(showing) = expected
            .lines()
            .find(|l| l.starts_with("Showing nodes accounting for "))
        else {
            continue;
        };
        let mut p = load(&root, &row.sources);
        if let Some((base, diff)) = &row.base {
            let b = load(&root, std::slice::from_ref(base));
            p = ops::subtract_base(p, b, *diff).unwrap();
        }
        let _ = ops::remove_uninteresting(&mut p);
        let index = match &row.sample_index {
            Some(spec) => p.sample_index(spec).unwrap(),
            None => p.default_sample_index(),
        };
        let unit = p.sample_type_unit(index).to_string();

        // The total: over all samples (before filters), absolute values; the
        // diff base's alone when there is one.
        let label = DiffBaseLabel::find(&p);
        let (mut all, mut base) = (0i64, 0i64);
        for s in p.samples.iter() {
            let v = s.values[index].abs();
            all += v;
            if label.is_some_and(|l| l.matches(&s)) {
                base += v;
            }
        }
        let total = if base > 0 { base } else { all };
        let want_total = showing
            .rsplit_once(" of ")
            .and_then(|(_, t)| t.strip_suffix(" total"))
            .unwrap();
        assert_eq!(
            format_like(total, &unit, want_total),
            want_total,
            "{file}: {args}"
        );

        ops::apply_filters(&mut p, &row.filters).unwrap();
        // Without dropped nodes, the nodes shown account for every sample.
        if !expected.contains("\nDropped ") {
            let shown = showing
                .strip_prefix("Showing nodes accounting for ")
                .and_then(|s| s.split(',').next())
                .unwrap();
            assert_eq!(
                format_like(p.total(index), &unit, shown),
                shown,
                "{file}: {args}"
            );
        }
        checked += 1;
    }
    eprintln!("checked {checked} rows of INDEX.tsv");
}
