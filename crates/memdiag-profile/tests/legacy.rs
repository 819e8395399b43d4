//! Go's legacy heap text (`heap profile: ... @ heap/RATE`) against Go:
//!
//! * the committed fixtures (testdata/profiles/heap_rate*.txt) read
//!   unsymbolized give exactly the samples, values, labels and mappings of
//!   `go tool pprof -raw` on them (testdata/expected/*.legacy.raw.txt);
//! * read with the names of their `#` frame lines, they give exactly the
//!   per-function flat and cum figures of the protobuf profile the Go runtime
//!   wrote at the same moment (heap_rate*.pb.gz), for every sample type;
//! * when `go` is on PATH, synthetic texts exercising every header variant,
//!   unsampling at many sizes, memory map sections and odd spacing are
//!   compared with a live `go tool pprof -raw`;
//! * unsampling is checked by hand on a tiny text, and broken input fails
//!   with `Error::Legacy` naming the line, never with a panic;
//! * the legacy binary CPU format (gperftools, Go before 1.9) in its four word
//!   formats, against a live `go tool pprof -raw` as well.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

use memdiag_profile::codec::{parse_legacy_cpu, parse_legacy_heap, parse_legacy_heap_unsymbolized};
use memdiag_profile::{decode, Error, Profile};

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn read(rel: &str) -> Vec<u8> {
    let path = repo_root().join(rel);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

const FIXTURES: [&str; 3] = ["heap_rate1", "heap_rate4096", "heap_rate512k"];

/// The part of a profile that `go tool pprof -raw` shows, in a form where
/// Go's merging of identical samples and dropping of all-zero ones is undone:
/// sample values summed by (stack, labels), zero sums left out. A stack is
/// its (address, mapping) pairs, leaf first; a mapping is
/// `start/limit/offset file`, and only those the samples use are listed (Go's
/// merge renumbers them in order of use and drops the others).
/// Summed sample values by (stack, labels).
type Sums = BTreeMap<(Vec<(u64, String)>, String), Vec<i64>>;

#[derive(Debug, PartialEq, Eq)]
struct Raw {
    period_type: String,
    period: i64,
    sample_types: Vec<String>,
    samples: Sums,
    mappings: BTreeSet<String>,
}

impl Raw {
    fn add(&mut self, stack: Vec<(u64, String)>, labels: String, values: &[i64]) {
        let sum = self
            .samples
            .entry((stack, labels))
            .or_insert_with(|| vec![0; values.len()]);
        for (s, v) in sum.iter_mut().zip(values) {
            *s += v;
        }
    }

    fn drop_zeros(mut self) -> Self {
        self.samples.retain(|_, v| v.iter().any(|&x| x != 0));
        self.mappings = self
            .samples
            .keys()
            .flat_map(|(stack, _)| stack.iter().map(|(_, m)| m.clone()))
            .collect();
        self
    }
}

fn raw_of(p: &Profile) -> Raw {
    let mut raw = Raw {
        period_type: p
            .period_type
            .map(|t| format!("{} {}", p.str(t.ty), p.str(t.unit)))
            .unwrap_or_default(),
        period: p.period,
        sample_types: (0..p.sample_types.len())
            .map(|i| format!("{}/{}", p.sample_type_name(i), p.sample_type_unit(i)))
            .collect(),
        samples: BTreeMap::new(),
        mappings: BTreeSet::new(),
    };
    // pprof's driver drops the samples without a location before reporting.
    for s in p.samples.iter().filter(|s| !s.locations.is_empty()) {
        let stack = s
            .locations
            .iter()
            .map(|&l| {
                let loc = &p.locations[l as usize];
                let m = loc.mapping.map(|m| &p.mappings[m as usize]);
                let m = m.map_or(String::new(), |m| {
                    format!(
                        "{:#x}/{:#x}/{:#x} {}",
                        m.memory_start,
                        m.memory_limit,
                        m.file_offset,
                        p.str(m.filename)
                    )
                });
                (loc.address, m)
            })
            .collect();
        let mut labels: Vec<String> = s
            .labels
            .iter()
            .map(|l| format!("{}:[{}]", p.str(l.key), l.num))
            .collect();
        labels.sort();
        raw.add(stack, labels.join(" "), s.values);
    }
    raw.drop_zeros()
}

/// Parses the output of `go tool pprof -raw` (Go's `Profile.String`).
fn parse_go_raw(text: &str) -> Raw {
    let mut lines = text.lines().skip_while(|l| l.starts_with("# produced by"));
    let mut raw = Raw {
        period_type: String::new(),
        period: 0,
        sample_types: Vec::new(),
        samples: BTreeMap::new(),
        mappings: BTreeSet::new(),
    };
    for l in lines.by_ref() {
        if let Some(t) = l.strip_prefix("PeriodType: ") {
            raw.period_type = t.to_string();
        } else if let Some(t) = l.strip_prefix("Period: ") {
            raw.period = t.parse().unwrap();
        } else if l == "Samples:" {
            break;
        }
    }
    raw.sample_types = lines
        .next()
        .unwrap()
        .split_whitespace()
        .map(|t| t.trim_end_matches("[dflt]").to_string())
        .collect();
    // (values, location ids, labels)
    let mut samples: Vec<(Vec<i64>, Vec<u64>, String)> = Vec::new();
    for l in lines.by_ref() {
        if l == "Locations" {
            break;
        }
        let (left, right) = l.split_once(':').unwrap();
        let values: Result<Vec<i64>, _> = left.split_whitespace().map(str::parse).collect();
        match values {
            Ok(values) => {
                let ids = right
                    .split_whitespace()
                    .map(|i| i.parse().unwrap())
                    .collect();
                samples.push((values, ids, String::new()));
            }
            Err(_) => samples.last_mut().unwrap().2 = l.trim().to_string(),
        }
    }
    let mut locations: BTreeMap<u64, (u64, u64)> = BTreeMap::new();
    for l in lines.by_ref() {
        if l == "Mappings" {
            break;
        }
        let Some((id, rest)) = l.split_once(": ") else {
            continue; // an inlined frame's line
        };
        let Ok(id) = id.trim().parse::<u64>() else {
            continue;
        };
        let mut fields = rest.split_whitespace();
        let addr = fields.next().unwrap().trim_start_matches("0x");
        let mapping = fields
            .next()
            .and_then(|m| m.strip_prefix("M="))
            .map_or(0, |m| m.parse().unwrap());
        locations.insert(id, (u64::from_str_radix(addr, 16).unwrap(), mapping));
    }
    let mut mappings: BTreeMap<u64, String> = BTreeMap::new();
    for l in lines {
        let (id, rest) = l.split_once(": ").unwrap();
        let mut fields = rest.split_whitespace();
        let range = fields.next().unwrap();
        // The file, unless what follows the range is a build id or flags.
        let file = fields.next().filter(|f| !f.starts_with('[')).unwrap_or("");
        mappings.insert(id.parse().unwrap(), format!("{range} {file}"));
    }
    for (values, ids, labels) in samples {
        let stack = ids
            .iter()
            .map(|id| {
                let (addr, m) = locations[id];
                (addr, mappings.get(&m).cloned().unwrap_or_default())
            })
            .collect();
        raw.add(stack, labels, &values);
    }
    raw.drop_zeros()
}

#[test]
fn fixtures_read_unsymbolized_equal_go_raw() {
    for name in FIXTURES {
        let ours = parse_legacy_heap_unsymbolized(&read(&format!("testdata/profiles/{name}.txt")))
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        let go =
            String::from_utf8(read(&format!("testdata/expected/{name}.legacy.raw.txt"))).unwrap();
        let (ours, go) = (raw_of(&ours), parse_go_raw(&go));
        assert!(!go.samples.is_empty());
        assert_eq!(ours, go, "{name}");
    }
}

/// Per function: flat and cum of every sample type, over the samples whose
/// stack has a function starting with `within`.
fn by_function(p: &Profile, within: &str) -> BTreeMap<String, Vec<(i64, i64)>> {
    let width = p.sample_types.len();
    let mut out: BTreeMap<String, Vec<(i64, i64)>> = BTreeMap::new();
    for s in p.samples.iter() {
        let mut names = s
            .locations
            .iter()
            .flat_map(|&l| &p.locations[l as usize].lines)
            .map(|line| p.function_name(line));
        if !names.any(|n| n.starts_with(within)) {
            continue;
        }
        let mut seen = BTreeSet::new();
        for (depth, &l) in s.locations.iter().enumerate() {
            let lines = &p.locations[l as usize].lines;
            assert!(!lines.is_empty(), "a location without lines");
            for (i, line) in lines.iter().enumerate() {
                let name = p.function_name(line).to_string();
                let entry = out
                    .entry(name.clone())
                    .or_insert_with(|| vec![(0, 0); width]);
                let flat = depth == 0 && i == 0;
                let first = seen.insert(name);
                for (e, v) in entry.iter_mut().zip(s.values) {
                    if flat {
                        e.0 += v;
                    }
                    if first {
                        e.1 += v;
                    }
                }
            }
        }
    }
    out
}

#[test]
fn fixtures_read_symbolized_equal_the_runtime_protobuf() {
    for name in FIXTURES {
        let text = parse_legacy_heap(&read(&format!("testdata/profiles/{name}.txt")))
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        let proto = decode(&read(&format!("testdata/profiles/{name}.pb.gz"))).unwrap();
        assert_eq!(text.sample_types.len(), 4);
        for i in 0..4 {
            assert_eq!(text.sample_type_name(i), proto.sample_type_name(i));
            assert_eq!(text.total(i), proto.total(i), "{name} total {i}");
        }
        assert_eq!(text.period, proto.period, "{name}");
        // Buckets with nothing in them (the text writer's own buffer, recorded
        // between the two writes) are left out.
        let nonzero = |m: BTreeMap<String, Vec<(i64, i64)>>| {
            m.into_iter()
                .filter(|(_, v)| v.iter().any(|&(f, c)| f != 0 || c != 0))
                .collect::<BTreeMap<_, _>>()
        };
        // Allocations of the program's own goroutines. (Stacks made only of
        // runtime internals can differ: the text hides their leading frames
        // by frame name, the protobuf writer by the name of the function at
        // each return address, and the two disagree inside inlined code.)
        let (ours, want) = (
            nonzero(by_function(&text, "main.")),
            nonzero(by_function(&proto, "main.")),
        );
        for (f, v) in &want {
            assert_eq!(
                ours.get(f),
                Some(v),
                "{name}: {f} (flat, cum) per sample type"
            );
        }
        assert_eq!(ours.len(), want.len(), "{name}: functions");
    }
}

/// A location as (address, [(function, line)] innermost first).
type NamedLocation = (u64, Vec<(String, i64)>);

/// Sample values summed by stack, over the samples whose stack has a function
/// starting with `within` and whose sums are not all zero.
fn by_named_stack(p: &Profile, within: &str) -> BTreeMap<Vec<NamedLocation>, Vec<i64>> {
    let mut out: BTreeMap<Vec<NamedLocation>, Vec<i64>> = BTreeMap::new();
    for s in p.samples.iter() {
        let stack: Vec<NamedLocation> = s
            .locations
            .iter()
            .map(|&l| {
                let loc = &p.locations[l as usize];
                let lines = loc
                    .lines
                    .iter()
                    .map(|ln| (p.function_name(ln).to_string(), ln.line))
                    .collect();
                (loc.address, lines)
            })
            .collect();
        if !stack
            .iter()
            .any(|(_, lines)| lines.iter().any(|(f, _)| f.starts_with(within)))
        {
            continue;
        }
        let sum = out.entry(stack).or_insert_with(|| vec![0; s.values.len()]);
        for (t, v) in sum.iter_mut().zip(s.values) {
            *t += v;
        }
    }
    out.retain(|_, v| v.iter().any(|&x| x != 0));
    out
}

#[test]
fn symbolized_stacks_equal_the_runtime_protobuf() {
    // Same locations (addresses, inlined frames, recursion) and values as the
    // runtime's own protobuf of the same moment, for the program's stacks.
    for name in FIXTURES {
        let text = parse_legacy_heap(&read(&format!("testdata/profiles/{name}.txt"))).unwrap();
        let proto = decode(&read(&format!("testdata/profiles/{name}.pb.gz"))).unwrap();
        let (ours, want) = (
            by_named_stack(&text, "main."),
            by_named_stack(&proto, "main."),
        );
        assert!(want
            .keys()
            .any(|k| k.iter().any(|(_, lines)| lines.len() > 1)));
        for (stack, v) in &want {
            assert_eq!(ours.get(stack), Some(v), "{name}: {stack:x?}");
        }
        assert_eq!(ours.len(), want.len(), "{name}");
    }
}

#[test]
fn symbolized_samples_keep_values_and_drop_only_hidden_frames() {
    for name in FIXTURES {
        let data = read(&format!("testdata/profiles/{name}.txt"));
        let bare = parse_legacy_heap_unsymbolized(&data).unwrap();
        let named = decode(&data).unwrap();
        assert_eq!(
            named,
            parse_legacy_heap(&data).unwrap(),
            "decode dispatches"
        );
        assert_eq!(bare.samples.len(), named.samples.len());
        for (b, n) in bare.samples.iter().zip(named.samples.iter()) {
            assert_eq!(b.values, n.values);
            assert_eq!(b.labels.len(), 1);
            assert_eq!(b.labels[0].num, n.labels[0].num);
            // The named stack is the bare one without the allocator's leaf
            // frames and runtime.goexit.
            let addr = |p: &Profile, l: &u32| p.locations[*l as usize].address;
            let b: Vec<u64> = b.locations.iter().map(|l| addr(&bare, l)).collect();
            let n: Vec<u64> = n.locations.iter().map(|l| addr(&named, l)).collect();
            let mut rest = b.iter();
            assert!(n.iter().all(|a| rest.any(|x| x == a)), "{n:x?} in {b:x?}");
            assert!(n.len() <= b.len());
        }
        // What the runtime printed after the records.
        let comments: Vec<&str> = named.comment_strings().collect();
        assert_eq!(comments.first(), Some(&"# runtime.MemStats"), "{name}");
        assert!(comments.iter().all(|c| c.starts_with("# ")));
        assert!(comments.iter().any(|c| c.starts_with("# HeapInuse = ")));
        assert_eq!(bare.comments.len(), 0);
        assert!(named.mappings.iter().all(|m| m.has_functions));
    }
}

#[test]
fn symbolized_locations_carry_names_files_lines_and_inlining() {
    // Go 1.19's stacks give inlined calls their own (inline mark) addresses:
    // newBlock, inlined into makeEntry, sits in makeEntry's code (same entry
    // PC 0x4be300). buildTree calls itself at one call site. The allocator's
    // leaf frame and runtime.goexit have no frame lines.
    let text = b"heap profile: 2: 64 [4: 128] @ heap/2
2: 64 [4: 128] @ 0x40dbae 0x4be367 0x4be31e 0x4be405 0x4be826 0x4be826 0x4bf428 0x462901
#\t0x4be366\tmain.newBlock+0x66\tmemdiag/fixtures/main.go:92
#\t0x4be31d\tmain.makeEntry+0x1d\tmemdiag/fixtures/main.go:108
#\t0x4be404\tmain.buildCache+0x44\tmemdiag/fixtures/main.go:116
#\t0x4be825\tmain.buildTree+0xa5\tmemdiag/fixtures/main.go:143
#\t0x4be825\tmain.buildTree+0xa5\tmemdiag/fixtures/main.go:143
#\t0x4bf427

1: 8 [1: 8] @ 0x500001
#\t0x500000\tmain.leaf+0x10\tleaf.go:3
#\t0x500000\tmain.caller+0x40\tcaller.go:7
";
    let p = parse_legacy_heap(text).unwrap();
    type Frames = Vec<(String, String, i64)>;
    let named = |s: memdiag_profile::Sample| -> Vec<(u64, Frames)> {
        s.locations
            .iter()
            .map(|&l| {
                let loc = &p.locations[l as usize];
                let lines = loc
                    .lines
                    .iter()
                    .map(|ln| {
                        (
                            p.function_name(ln).to_string(),
                            p.function_file(ln).to_string(),
                            ln.line,
                        )
                    })
                    .collect();
                (loc.address, lines)
            })
            .collect()
    };
    let f = |n: &str, l| (n.to_string(), "memdiag/fixtures/main.go".to_string(), l);
    assert_eq!(p.samples.get(0).values, &[4, 128, 2, 64]);
    assert_eq!(
        named(p.samples.get(0)),
        vec![
            (
                0x4be366,
                vec![f("main.newBlock", 92), f("main.makeEntry", 108)]
            ),
            (0x4be404, vec![f("main.buildCache", 116)]),
            (0x4be825, vec![f("main.buildTree", 143)]),
            (0x4be825, vec![f("main.buildTree", 143)]),
            (0x4bf427, vec![]), // printed without a name
        ]
    );
    // Older runtimes: one PC printed with all its inlined frames.
    let g = |n: &str, file: &str, l| (n.to_string(), file.to_string(), l);
    assert_eq!(
        named(p.samples.get(1)),
        vec![(
            0x500000,
            vec![
                g("main.leaf", "leaf.go", 3),
                g("main.caller", "caller.go", 7)
            ]
        )]
    );
    assert_eq!(p.str(p.drop_frames).split('|').nth(2), Some("malloc"));
    assert!(p.str(p.keep_frames).starts_with("runtime\\.panic"));
}

/// pprof's estimate, written out for the test.
fn unsampled(count: i64, bytes: i64, rate: f64) -> (i64, i64) {
    let scale = 1.0 / (1.0 - (-(bytes as f64 / count as f64) / rate).exp());
    ((count as f64 * scale) as i64, (bytes as f64 * scale) as i64)
}

#[test]
fn unsampling_by_hand() {
    let text = b"heap profile: 13: 13312 [20: 20480] @ heap/8192
3: 3072 [10: 10240] @ 0x1000 0x2000
0: 0 [10: 10240000] @ 0x1000
0: 0 [0: 0] @ 0x3000
-2: -64 [5: 160] @ 0x3000
";
    let p = parse_legacy_heap_unsymbolized(text).unwrap();
    let names: Vec<&str> = (0..4).map(|i| p.sample_type_name(i)).collect();
    assert_eq!(
        names,
        [
            "alloc_objects",
            "alloc_space",
            "inuse_objects",
            "inuse_space"
        ]
    );
    assert_eq!(p.period, 4096, "the header says twice the rate");
    assert_eq!(p.str(p.period_type.unwrap().ty), "space");
    // Objects of 1 KiB at a 4 KiB rate: each was seen with probability
    // 1 - e^-0.25 = 0.2212, so the figures grow by 4.52.
    let (c, b) = unsampled(10, 10240, 4096.0);
    assert_eq!((c, b), (45, 46293));
    let (ic, ib) = unsampled(3, 3072, 4096.0);
    assert_eq!((ic, ib), (13, 13887));
    let (nc, nb) = unsampled(-2, -64, 4096.0);
    assert_eq!((nc, nb), (-257, -8224));
    let (sc, sb) = unsampled(5, 160, 4096.0);
    assert_eq!((sc, sb), (642, 20560));
    let want: Vec<Vec<i64>> = vec![
        vec![c, b, ic, ib],
        // 1 MB objects: seen almost surely, figures unchanged.
        vec![10, 10240000, 0, 0],
        vec![0, 0, 0, 0],
        vec![sc, sb, nc, nb],
    ];
    let got: Vec<Vec<i64>> = p.samples.iter().map(|s| s.values.to_vec()).collect();
    assert_eq!(got, want);
    let sizes: Vec<i64> = p.samples.iter().map(|s| s.labels[0].num).collect();
    assert_eq!(
        sizes,
        [1024, 1024000, 0, 32],
        "in-use size, else allocated size"
    );
    // Addresses step back onto the call; one catch-all mapping.
    let addrs: Vec<u64> = p.locations.iter().map(|l| l.address).collect();
    assert_eq!(addrs, [0xfff, 0x1fff, 0x2fff]);
    assert_eq!(p.mappings.len(), 1);
    assert_eq!(p.mappings[0].memory_limit, u64::MAX);

    // Rate 1 (heap/2): every allocation was recorded.
    let p =
        parse_legacy_heap(b"heap profile: 3: 30 [9: 90] @ heap/2\n3: 30 [9: 90] @ 0x10\n").unwrap();
    assert_eq!(p.samples.get(0).values, &[9, 90, 3, 30]);
    assert_eq!(p.period, 1);
}

#[test]
fn header_variants() {
    let cases: [(&str, &[&str], i64, [i64; 2]); 7] = [
        // Alloc totals equal to the in-use ones: only two sample types.
        (
            "heap profile: 1: 1024 [1: 1024] @ heap/8192",
            &["objects", "space"],
            4096,
            [1, 1024],
        ),
        (
            "heap profile: 1: 1024 [0: 0] @ heap/8192",
            &["objects", "space"],
            4096,
            [1, 1024],
        ),
        (
            "heap profile: 1: 1024 [2: 2048] @ heap_v2/4096",
            &[
                "alloc_objects",
                "alloc_space",
                "inuse_objects",
                "inuse_space",
            ],
            4096,
            [1, 1024],
        ),
        (
            "heap profile: 1: 1024 [1: 1024] @ heapz_v2/4096",
            &["objects", "space"],
            4096,
            [1, 1024],
        ),
        (
            "heap profile: 1: 1024 [1: 1024] @ heapprofile",
            &["objects", "space"],
            1,
            [1, 1024],
        ),
        (
            "heap profile: 1: 1024 [1: 1024] @ growthz",
            &["objects", "space"],
            1,
            [1, 1024],
        ),
        (
            "heap profile: 1: 1024 [1: 1024] @ fragmentationz",
            &["objects", "space"],
            1,
            [1, 1024],
        ),
    ];
    for (header, types, period, inuse) in cases {
        let text = format!("{header}\n1: 1024 [1: 1024] @ 0x10\n");
        let p = parse_legacy_heap(text.as_bytes()).unwrap_or_else(|e| panic!("{header}: {e}"));
        let names: Vec<&str> = (0..p.sample_types.len())
            .map(|i| p.sample_type_name(i))
            .collect();
        assert_eq!(names, types, "{header}");
        assert_eq!(p.period, period, "{header}");
        let values = p.samples.get(0).values;
        let (c, b) = if header.contains("heap_v2")
            || header.contains("heapz_v2")
            || header.contains("heap/")
        {
            unsampled(inuse[0], inuse[1], period as f64)
        } else {
            (inuse[0], inuse[1])
        };
        assert_eq!(&values[values.len() - 2..], &[c, b], "{header}");
    }
}

fn legacy_error(text: &[u8]) -> (usize, String) {
    match parse_legacy_heap(text) {
        Err(Error::Legacy { line, cause }) => {
            // The unsymbolized reader agrees.
            match parse_legacy_heap_unsymbolized(text) {
                Err(Error::Legacy { line: l2, .. }) => assert_eq!(line, l2),
                other => panic!("unsymbolized: {other:?}"),
            }
            (line, cause)
        }
        other => panic!(
            "{:?}: expected Error::Legacy, got {other:?}",
            String::from_utf8_lossy(text)
        ),
    }
}

#[test]
fn broken_input_names_the_line() {
    let h = "heap profile: 1: 2 [3: 4] @ heap/1048576\n";
    let cases: Vec<(String, usize, &str)> = vec![
        ("heap profile: 1: 2 [3:".into(), 1, "unrecognized header"),
        (
            "heap profile: 1: 2 @ heap/1048576\n".into(),
            1,
            "unrecognized header",
        ),
        (
            "heap profile: 1: 2 [3: 4] @ heapz/1\n".into(),
            1,
            "unknown heap profile kind",
        ),
        (
            "heap profile: 1: 2 [3: 4] @ heap/99999999999999999999\n".into(),
            1,
            "64 bits",
        ),
        (format!("{h}x: 2 [3: 4] @ 0x1\n"), 2, "in-use object count"),
        (
            format!("{h}1: 2 [3: 4] @ 0x1\n\n1: 2 [y: 4] @ 0x1\n"),
            4,
            "allocated object count",
        ),
        (format!("{h}1: 2 [3: 4] 0x1 0x2\n"), 2, "expected `@`"),
        (format!("{h}1: 2 [3: 4 @ 0x1\n"), 2, "expected `]`"),
        (format!("{h}1: 2 [3: 4] @ 0x1 0xZZ\n"), 2, "\"0xZZ\""),
        (format!("{h}1: 2 [3: 4] @ 0x1 1234\n"), 2, "\"1234\""),
        (
            format!("{h}1: 2 [3: 4] @ 0x1ffffffffffffffff\n"),
            2,
            "64 bits",
        ),
        (
            format!("{h}1: 99999999999999999999 [3: 4] @ 0x1\n"),
            2,
            "64 bits",
        ),
        (
            format!("{h}0: 2 [3: 4] @ 0x1\n"),
            2,
            "in-use object count is 0 but in-use bytes is 2",
        ),
        (
            format!("{h}1: 2 [0: 4] @ 0x1\n"),
            2,
            "allocated object count is 0",
        ),
        (
            format!("{h}1: 2 [3: 4] @ 0x1\n#\t0x0\tmain.f+0x1\tf.go:1\n\n1: 2 [3"),
            5,
            "expected `:`",
        ),
        (format!("{h}garbage\n"), 2, "in-use object count"),
    ];
    for (text, line, needle) in cases {
        let (got_line, cause) = legacy_error(text.as_bytes());
        assert_eq!(got_line, line, "{text:?}: {cause}");
        assert!(
            cause.contains(needle),
            "{text:?}: {cause:?} lacks {needle:?}"
        );
        let message = decode(text.as_bytes()).unwrap_err().to_string();
        assert!(message.contains(&format!("line {line}")), "{message}");
    }
}

#[test]
fn truncated_and_mutated_input_never_panics() {
    let data = read("testdata/profiles/heap_rate512k.txt");
    for end in 0..data.len().min(4000) {
        match decode(&data[..end]) {
            Ok(_) | Err(Error::Legacy { .. }) | Err(Error::Empty) => {}
            Err(e) if end < 13 => drop(e), // not even the magic
            Err(e) => panic!("prefix of {end} bytes: {e}"),
        }
    }
    // Deterministic byte mutations of the start of the file.
    let mut seed = 0x2545_f491_4f6c_dd1d_u64;
    for _ in 0..3000 {
        let mut d = data[..data.len().min(1500)].to_vec();
        for _ in 0..3 {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            let at = 13 + (seed as usize) % (d.len() - 13);
            let alphabet = b"0123456789abcdefx:[]@ #\n\t-";
            d[at] = alphabet[(seed >> 32) as usize % alphabet.len()];
        }
        let _ = parse_legacy_heap(&d);
        let _ = parse_legacy_heap_unsymbolized(&d);
    }
}

#[test]
fn memory_map_section() {
    let text = b"heap profile: 2: 2048 [2: 2048] @ heap_v2/1
1: 1024 [1: 1024] @ 0x401001 0x7f0000001001 0x9000000
1: 1024 [1: 1024] @ 0x405001
--- Memory map: ---
00400000-00402000 r-xp 00000000 08:01 123 /usr/bin/app
00402000-00408000 r-xp 00002000 08:01 123 /usr/bin/app
00600000-00601000 rw-p 00000000 08:01 123 /usr/bin/app
7f0000000000-7f0000100000 r-xp 00000000 08:01 456 /lib/libc.so.6
";
    let p = parse_legacy_heap_unsymbolized(text).unwrap();
    let maps: Vec<(u64, u64, &str)> = p
        .mappings
        .iter()
        .map(|m| (m.memory_start, m.memory_limit, p.str(m.filename)))
        .collect();
    assert_eq!(
        maps,
        [
            (0x400000, 0x408000, "/usr/bin/app"),
            (0x7f0000000000, 0x7f0000100000, "/lib/libc.so.6"),
            (0, u64::MAX, ""),
        ]
    );
    let of = |addr: u64| {
        let l = p.locations.iter().find(|l| l.address == addr).unwrap();
        l.mapping.unwrap()
    };
    assert_eq!(
        (
            of(0x401000),
            of(0x7f0000001000),
            of(0x8ffffff),
            of(0x405000)
        ),
        (0, 1, 2, 0)
    );
}

// ---- live comparison with go tool pprof -------------------------------------

fn go_available() -> bool {
    Command::new("go")
        .arg("version")
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false)
}

fn go_raw(path: &Path) -> Result<String, String> {
    let out = Command::new("go")
        .args(["tool", "pprof", "-symbolize=none", "-raw"])
        .arg(path)
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

/// A pseudo-random heap text at `rate` (the header says 2×rate for `heap`)
/// with objects of 2 bytes to 128 KiB, so that unsampling runs over the whole
/// range of its scale factor, and up to `max_count` objects per record: large
/// figures expose any last-bit difference of the scale factor, as Go's
/// `math.Exp` differs from a correctly rounded one in about one case in ten.
fn random_text(
    header_kind: &str,
    rate: i64,
    records: usize,
    max_count: u64,
    mut seed: u64,
) -> String {
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let mut body = String::new();
    let mut totals = [0u128; 4];
    for _ in 0..records {
        let size = 1 + (1u64 << (next() % 17)) + next() % 64;
        let alloc = 1 + next() % [10, 5000, max_count][(next() % 3) as usize];
        let inuse = next() % (alloc + 1);
        let depth = 1 + next() % 6;
        let stack: Vec<String> = (0..depth)
            .map(|_| format!("{:#x}", 0x401000 + (next() % 40) * 0x40))
            .collect();
        body.push_str(&format!(
            "{inuse}: {} [{alloc}: {}] @ {}\n",
            inuse * size,
            alloc * size,
            stack.join(" ")
        ));
        body.push_str("#\t0x401000\tmain.f+0x10\t/src/main.go:10\n\n");
        for (t, v) in totals
            .iter_mut()
            .zip([inuse, inuse * size, alloc, alloc * size])
        {
            *t += u128::from(v);
        }
    }
    let header_rate = if header_kind == "heap" {
        2 * rate
    } else {
        rate
    };
    let [t, tb, ta, tab] = totals;
    format!("heap profile: {t}: {tb} [{ta}: {tab}] @ {header_kind}/{header_rate}\n{body}")
}

#[test]
fn live_go_tool_pprof_raw_agrees() {
    if !go_available() {
        println!("note: `go` is not on PATH; skipping the live comparison with go tool pprof");
        return;
    }
    let mut cases: Vec<(&str, String)> = vec![
        (
            "random_512k",
            random_text("heap", 512 * 1024, 2000, 1_000_000, 1),
        ),
        ("random_4096", random_text("heap", 4096, 2000, 1_000_000, 2)),
        ("random_huge", random_text("heap", 4096, 2000, 1 << 40, 6)),
        (
            "random_v2_64k",
            random_text("heap_v2", 65536, 400, 1 << 30, 3),
        ),
        ("random_rate1", random_text("heap", 1, 50, 1000, 4)),
        (
            "random_heapz_v2",
            random_text("heapz_v2", 1 << 20, 200, 1 << 30, 5),
        ),
    ];
    let fixed: [(&str, &str); 8] = [
        ("heapprofile", "heap profile: 3: 300 [7: 700] @ heapprofile\n3: 300 [7: 700] @ 0x10 0x20\n"),
        ("growthz", "heap profile: 3: 300 [7: 700] @ growthz\n3: 300 [7: 700] @ 0x10\n2: 8 [0: 0] @ 0x20\n"),
        ("fragmentationz", "heap profile: 3: 300 [3: 300] @ fragmentation\n3: 300 [3: 300] @ 0x10\n"),
        ("inuse_only", "heap profile: 2: 64 [2: 64] @ heap/1048576\n2: 64 [2: 64] @ 0x10 0x20\n"),
        ("no_rate", "heap profile: 2: 64 [5: 160] @ heap\n2: 64 [5: 160] @ 0x10\n"),
        ("negative_and_spacing", "heap profile: 2: 64 [5: 160] @ heap/8192\r\n  -2:   -64 [  5:   160 ] @ 0x10   0x20 \r\n\r\n\t1:32 [1:32] @\n0: 0 [0: 0] @ 0x0\n"),
        ("maps", "heap profile: 2: 2048 [3: 4096] @ heap_v2/1\n1: 1024 [2: 3072] @ 0x401001 0x7f0000001001 0x9000000\n1: 1024 [1: 1024] @ 0x405001 0x30001\n# a comment\nMAPPED_LIBRARIES:\n00400000-00402000 r-xp 00000000 08:01 123 /nonexistent/app\n00402000-00408000 r-xp 00002000 08:01 123 /nonexistent/app\n00600000-00601000 rw-p 00000000 08:01 123 /nonexistent/app\n7f0000000000-7f0000100000 r-xp 00000000 08:01 456 /nonexistent/libc.so.6\nroot=/nonexistent\n0x20000-0x40000 $root/brief (@1000) abcdef\n"),
        ("hugepage_and_split", "heap profile: 2: 2048 [3: 4096] @ heap_v2/1\n1: 1024 [2: 3072] @ 0x400101 0x600101 0x500101\n--- Memory map: ---\n00400000-00480000 r-xp 00000000 00:00 0 /anon_hugepage (deleted)\n00480000-00500000 r-xp 00080000 08:01 123 /nonexistent/app\n00600000-00700000 r-xp 00010000 08:01 9 /nonexistent/lib.so\n"),
    ];
    cases.extend(fixed.iter().map(|(n, t)| (*n, t.to_string())));
    let mut cases: Vec<(&str, Vec<u8>)> = cases
        .into_iter()
        .map(|(n, t)| (n, t.into_bytes()))
        .collect();
    cases.extend(cpu_cases());

    let dir = std::env::temp_dir().join(format!("memdiag-legacy-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let results: Vec<(String, Result<String, String>, Vec<u8>)> = std::thread::scope(|s| {
        let handles: Vec<_> = cases
            .iter()
            .map(|(name, text)| {
                let path = dir.join(format!("{name}.prof"));
                std::fs::File::create(&path)
                    .and_then(|mut f| f.write_all(text))
                    .unwrap();
                s.spawn(move || (name.to_string(), go_raw(&path), text.clone()))
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let _ = std::fs::remove_dir_all(&dir);

    let mut failures = Vec::new();
    for (name, go, text) in results {
        let go = match go {
            Ok(go) => parse_go_raw(&go),
            Err(e) => {
                failures.push(format!("{name}: go tool pprof failed: {e}"));
                continue;
            }
        };
        let ours = if name.starts_with("cpu_") {
            parse_legacy_cpu(&text)
        } else {
            parse_legacy_heap_unsymbolized(&text)
        };
        match ours {
            Ok(p) => {
                let ours = raw_of(&p);
                if ours != go {
                    let diff: Vec<String> = go
                        .samples
                        .iter()
                        .filter(|(k, v)| ours.samples.get(*k) != Some(*v))
                        .take(5)
                        .map(|(k, v)| format!("  {k:x?}: go {v:?}, ours {:?}", ours.samples.get(k)))
                        .collect();
                    failures.push(format!(
                        "{name}: differs\n{}\n--- go\n{:?} {} {:?} {:?}\n--- ours\n{:?} {} {:?} {:?}",
                        diff.join("\n"),
                        go.period_type,
                        go.period,
                        go.sample_types,
                        go.mappings,
                        ours.period_type,
                        ours.period,
                        ours.sample_types,
                        ours.mappings
                    ));
                }
            }
            Err(e) => failures.push(format!("{name}: ours failed: {e}")),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

// ---- legacy binary CPU profiles ---------------------------------------------

/// A legacy CPU profile: words of `size` bytes, header with `period_us`, the
/// samples (count, stack leaf first), the end marker when `trailer`, then
/// `maps` as text.
fn cpu_profile(
    size: usize,
    big_endian: bool,
    period_us: u64,
    samples: &[(u64, Vec<u64>)],
    trailer: bool,
    maps: &str,
) -> Vec<u8> {
    let mut out = Vec::new();
    let mut word = |w: u64| {
        let bytes = w.to_le_bytes();
        let mut b = bytes[..size].to_vec();
        if big_endian {
            b.reverse();
        }
        out.extend(b);
    };
    for w in [0, 3, 0, period_us, 0] {
        word(w);
    }
    for (count, stack) in samples {
        word(*count);
        word(stack.len() as u64);
        for &a in stack {
            word(a);
        }
    }
    if trailer {
        for w in [0, 1, 0] {
            word(w);
        }
    }
    out.extend_from_slice(maps.as_bytes());
    out
}

/// Pseudo-random CPU samples; when `handler` is set, all samples but a few
/// have that second frame (pushed by a signal handler), and some repeat the
/// leaf as second frame.
fn random_cpu_samples(n: usize, handler: Option<u64>, mut seed: u64) -> Vec<(u64, Vec<u64>)> {
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    (0..n)
        .map(|i| {
            let depth = 1 + next() % 6;
            let mut stack: Vec<u64> = (0..depth)
                .map(|_| 0x401000 + (next() % 30) * 0x40)
                .collect();
            if let Some(h) = handler {
                if i % 40 != 7 {
                    stack.insert(1, h);
                }
            }
            if next() % 5 == 0 {
                stack.insert(1, stack[0]);
            }
            (1 + next() % 20, stack)
        })
        .collect()
}

fn cpu_cases() -> Vec<(&'static str, Vec<u8>)> {
    let maps = "00400000-00480000 r-xp 00000000 08:01 123 /nonexistent/app\n\
                7f0000000000-7f0000100000 r-xp 00000000 08:01 456 /nonexistent/libc.so.6\n";
    vec![
        (
            "cpu_64le",
            cpu_profile(
                8,
                false,
                10000,
                &random_cpu_samples(300, Some(0x7f0000000500), 1),
                true,
                maps,
            ),
        ),
        (
            "cpu_32be",
            cpu_profile(
                4,
                true,
                1000,
                &random_cpu_samples(200, Some(0x402000), 2),
                true,
                "",
            ),
        ),
        (
            "cpu_32le_no_trailer",
            cpu_profile(4, false, 5000, &random_cpu_samples(50, None, 3), false, ""),
        ),
        (
            "cpu_64be",
            cpu_profile(
                8,
                true,
                10000,
                &random_cpu_samples(100, None, 4),
                true,
                maps,
            ),
        ),
    ]
}

#[test]
fn legacy_cpu_by_hand() {
    let data = cpu_profile(
        8,
        false,
        10000,
        &[
            (5, vec![0x401010, 0x9999, 0x402020]),
            (2, vec![0x401010, 0x9999]),
            // The leaf repeated, adjusted, as second frame.
            (3, vec![0x403000, 0x9999, 0x403000]),
        ],
        true,
        "",
    );
    let p = decode(&data).unwrap();
    assert_eq!(p, parse_legacy_cpu(&data).unwrap());
    let names: Vec<&str> = (0..2).map(|i| p.sample_type_name(i)).collect();
    assert_eq!(names, ["samples", "cpu"]);
    assert_eq!(p.period, 10_000_000);
    let got: Vec<(Vec<i64>, Vec<u64>)> = p
        .samples
        .iter()
        .map(|s| {
            let addrs = s
                .locations
                .iter()
                .map(|&l| p.locations[l as usize].address)
                .collect();
            (s.values.to_vec(), addrs)
        })
        .collect();
    // 0x9998 (0x9999 adjusted) is second in every sample: the signal
    // handler's frame, removed. Then 0x402fff follows the leaf 0x403000.
    assert_eq!(
        got,
        vec![
            (vec![5, 50_000_000], vec![0x401010, 0x40201f]),
            (vec![2, 20_000_000], vec![0x401010]),
            (vec![3, 30_000_000], vec![0x403000]),
        ]
    );
}

#[test]
fn legacy_cpu_broken() {
    let data = cpu_profile(8, false, 10000, &[(5, vec![0x401010, 0x402020])], true, "");
    // Cut inside the sample's stack: the depth promises more words.
    for cut in [48, 56, 60] {
        let err = decode(&data[..cut]).unwrap_err().to_string();
        assert!(err.contains("legacy CPU profile"), "{cut}: {err}");
    }
    for end in 0..data.len() {
        let _ = decode(&data[..end]);
    }
}
