//! Decoding mutated profiles never panics, and whatever decodes re-encodes
//! and re-decodes identically; generated profiles round-trip exactly.
//!
//! Cases per property: `PROPTEST_CASES`, 2000 by default.

use std::io::{Read, Write};
use std::sync::OnceLock;

use flate2::read::MultiGzDecoder;
use flate2::write::GzEncoder;
use flate2::Compression;
use memdiag_profile::codec::encode_proto;
use memdiag_profile::model::{Function, Label, Line, Location, Mapping, ValueType};
use memdiag_profile::ops::{self, Filters};
use memdiag_profile::{decode, encode_gzip, Profile};
use proptest::prelude::*;
use proptest::sample::Index;

fn cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2000)
}

/// A small deterministic generator (xorshift), so that a seed names a
/// profile.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Self {
        Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1)
    }

    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }

    fn chance(&mut self, percent: usize) -> bool {
        self.below(100) < percent
    }

    /// A value that is often an edge case.
    fn int(&mut self) -> i64 {
        match self.below(8) {
            0 => 0,
            1 => i64::MIN,
            2 => i64::MAX,
            3 => -1,
            4 => self.next() as i64,
            _ => self.below(100_000) as i64,
        }
    }
}

const WORDS: &[&str] = &[
    "main.main",
    "runtime.mallocgc",
    "bytes.(*Buffer).grow",
    "/src/main.go",
    "héllo wörld ✓",
    "bytes",
    "count",
    "key",
    "a",
    "",
    "pprof::base",
    "true",
];

/// A valid profile of about `size` samples, with every kind of content.
fn generate(seed: u64, size: usize) -> Profile {
    let mut r = Rng::new(seed);
    let word = |r: &mut Rng, p: &mut Profile| {
        if r.chance(20) {
            let s = format!("s{}", r.below(1000));
            p.strings.intern(&s)
        } else {
            p.strings.intern(WORDS[r.below(WORDS.len())])
        }
    };
    let mut p = Profile::default();
    let width = r.below(4);
    for _ in 0..width {
        let vt = ValueType {
            ty: word(&mut r, &mut p),
            unit: word(&mut r, &mut p),
        };
        p.sample_types.push(vt);
    }
    p.samples = memdiag_profile::Samples::new(width);
    for _ in 0..r.below(4) {
        let m = Mapping {
            memory_start: r.next(),
            memory_limit: r.next(),
            file_offset: r.next() % 3,
            filename: word(&mut r, &mut p),
            build_id: word(&mut r, &mut p),
            has_functions: r.chance(50),
            has_filenames: r.chance(50),
            has_line_numbers: r.chance(50),
            has_inline_frames: r.chance(50),
        };
        p.mappings.push(m);
    }
    for _ in 0..r.below(size / 4 + 2) {
        let f = Function {
            name: word(&mut r, &mut p),
            system_name: word(&mut r, &mut p),
            filename: word(&mut r, &mut p),
            start_line: r.int(),
        };
        p.functions.push(f);
    }
    for _ in 0..r.below(size / 2 + 2) {
        let mut lines = Vec::new();
        for _ in 0..r.below(4) {
            let function = match p.functions.len() {
                0 => None,
                n if r.chance(90) => Some(r.below(n) as u32),
                _ => None,
            };
            lines.push(Line {
                function,
                line: r.int(),
                column: if r.chance(20) { r.int() } else { 0 },
            });
        }
        let mapping = match p.mappings.len() {
            0 => None,
            n if r.chance(80) => Some(r.below(n) as u32),
            _ => None,
        };
        p.locations.push(Location {
            mapping,
            address: r.next(),
            lines,
            is_folded: r.chance(10),
        });
    }
    // Samples need sample types.
    let samples = if width == 0 { 0 } else { r.below(size + 1) };
    for _ in 0..samples {
        let locs: Vec<u32> = match p.locations.len() {
            0 => Vec::new(),
            n => (0..r.below(8)).map(|_| r.below(n) as u32).collect(),
        };
        let values: Vec<i64> = (0..width).map(|_| r.int()).collect();
        let labels: Vec<Label> = (0..r.below(4))
            .map(|_| Label {
                key: word(&mut r, &mut p),
                str: if r.chance(50) {
                    word(&mut r, &mut p)
                } else {
                    Default::default()
                },
                num: if r.chance(50) { r.int() } else { 0 },
                num_unit: if r.chance(30) {
                    word(&mut r, &mut p)
                } else {
                    Default::default()
                },
            })
            .collect();
        p.samples.push(&locs, &values, &labels);
    }
    p.drop_frames = if r.chance(20) {
        word(&mut r, &mut p)
    } else {
        Default::default()
    };
    p.keep_frames = if r.chance(20) {
        word(&mut r, &mut p)
    } else {
        Default::default()
    };
    p.time_nanos = r.int();
    p.duration_nanos = r.int();
    if r.chance(70) {
        p.period_type = Some(ValueType {
            ty: word(&mut r, &mut p),
            unit: word(&mut r, &mut p),
        });
    }
    p.period = r.int();
    for _ in 0..r.below(3) {
        let c = word(&mut r, &mut p);
        p.comments.push(c);
    }
    p.default_sample_type = word(&mut r, &mut p);
    p.doc_url = if r.chance(10) {
        word(&mut r, &mut p)
    } else {
        Default::default()
    };
    p
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut gz = GzEncoder::new(Vec::new(), Compression::fast());
    gz.write_all(data).unwrap();
    gz.finish().unwrap()
}

/// Valid uncompressed profiles to mutate: a small and a medium generated
/// one, and the fixture profiles (as Go wrote them, protobuf and legacy
/// text) when present.
fn inputs() -> &'static [Vec<u8>] {
    static INPUTS: OnceLock<Vec<Vec<u8>>> = OnceLock::new();
    INPUTS.get_or_init(|| {
        let mut out = vec![
            encode_proto(&generate(1, 4)),
            encode_proto(&generate(7, 300)),
        ];
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/profiles");
        let dir = dir.as_path();
        let mut files: Vec<_> = std::fs::read_dir(dir)
            .into_iter()
            .flatten()
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.to_string_lossy().ends_with(".pb.gz"))
            .collect();
        files.sort();
        for f in files {
            let gz = std::fs::read(&f).unwrap();
            let mut raw = Vec::new();
            MultiGzDecoder::new(&gz[..]).read_to_end(&mut raw).unwrap();
            // Keep debug-build runs quick.
            if raw.len() <= 256 * 1024 {
                out.push(raw);
            }
        }
        for raw in &out {
            decode(raw).expect("mutation inputs are valid");
        }
        // Go's legacy heap text too, when this build reads it.
        let mut texts: Vec<_> = std::fs::read_dir(dir)
            .into_iter()
            .flatten()
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|e| e == "txt"))
            .collect();
        texts.sort();
        for f in texts {
            let text = std::fs::read(&f).unwrap();
            if text.len() <= 64 * 1024 && decode(&text).is_ok() {
                out.push(text);
            }
        }
        out
    })
}

#[derive(Clone, Debug)]
enum Mutation {
    /// XOR a byte with a non-zero mask.
    Flip(Index, u8),
    Set(Index, u8),
    Truncate(Index),
    Insert(Index, Vec<u8>),
    Remove(Index, usize),
    /// Replace up to `n` bytes with the varint encoding of a value.
    Varint(Index, u64, usize),
    /// Copy a range of the input elsewhere.
    Duplicate(Index, usize, Index),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    let varint_value = prop_oneof![
        Just(0u64),
        Just(u64::MAX),
        Just(1u64 << 63),
        0u64..300,
        any::<u64>(),
    ];
    prop_oneof![
        (any::<Index>(), 1u8..=255).prop_map(|(i, m)| Mutation::Flip(i, m)),
        (any::<Index>(), any::<u8>()).prop_map(|(i, b)| Mutation::Set(i, b)),
        any::<Index>().prop_map(Mutation::Truncate),
        (any::<Index>(), prop::collection::vec(any::<u8>(), 1..12))
            .prop_map(|(i, b)| Mutation::Insert(i, b)),
        (any::<Index>(), 1usize..16).prop_map(|(i, n)| Mutation::Remove(i, n)),
        (any::<Index>(), varint_value, 0usize..4).prop_map(|(i, v, n)| Mutation::Varint(i, v, n)),
        (any::<Index>(), 1usize..64, any::<Index>())
            .prop_map(|(i, n, j)| Mutation::Duplicate(i, n, j)),
    ]
}

fn apply(data: &mut Vec<u8>, m: &Mutation) {
    let at = |i: &Index, data: &Vec<u8>| i.index(data.len() + 1);
    match m {
        Mutation::Flip(i, mask) if !data.is_empty() => {
            let i = i.index(data.len());
            data[i] ^= mask;
        }
        Mutation::Set(i, b) if !data.is_empty() => {
            let i = i.index(data.len());
            data[i] = *b;
        }
        Mutation::Truncate(i) => data.truncate(at(i, data)),
        Mutation::Insert(i, bytes) => {
            let i = at(i, data);
            data.splice(i..i, bytes.iter().copied());
        }
        Mutation::Remove(i, n) => {
            let i = at(i, data);
            let end = (i + n).min(data.len());
            data.drain(i..end);
        }
        Mutation::Varint(i, v, n) => {
            let i = at(i, data);
            let end = (i + n).min(data.len());
            let mut enc = Vec::new();
            prost::encoding::encode_varint(*v, &mut enc);
            data.splice(i..end, enc);
        }
        Mutation::Duplicate(i, n, j) => {
            let i = at(i, data);
            let end = (i + n).min(data.len());
            let chunk = data[i..end].to_vec();
            let j = at(j, data);
            data.splice(j..j, chunk);
        }
        _ => {}
    }
}

/// Whatever decodes must survive encode → decode unchanged, and encode to
/// the same bytes again.
fn check_round_trip(p: &Profile) -> Result<(), TestCaseError> {
    let encoded = encode_proto(p);
    let again = decode(&encoded).map_err(|e| TestCaseError::fail(format!("re-decode: {e}")))?;
    prop_assert_eq!(&again, p);
    prop_assert_eq!(encode_proto(&again), encoded);
    let gz = decode(&encode_gzip(p)).map_err(|e| TestCaseError::fail(format!("gzip: {e}")))?;
    prop_assert_eq!(&gz, p);
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(cases()))]

    #[test]
    fn mutated_input_never_panics(
        which in any::<Index>(),
        compressed in prop::bool::weighted(0.25),
        mutations in prop::collection::vec(mutation(), 1..5),
    ) {
        let raw = which.get(inputs());
        let mut data = if compressed { gzip(raw) } else { raw.clone() };
        for m in &mutations {
            apply(&mut data, m);
        }
        if let Ok(p) = decode(&data) {
            check_round_trip(&p)?;
        }
    }

    #[test]
    fn generated_profiles_round_trip(seed in any::<u64>(), size in 0usize..64) {
        let p = generate(seed, size);
        let decoded = decode(&encode_proto(&p))
            .map_err(|e| TestCaseError::fail(format!("decode: {e}")))?;
        prop_assert_eq!(&decoded, &p);
        check_round_trip(&decoded)?;
    }
}

/// Runs the operations on `p` with filters picked by `pick`: they may fail,
/// never panic.
fn run_operations(p: &Profile, pick: u64) {
    const PATTERNS: &[&str] = &["main", "^a$", "s1", "é", "nomatch", "bytes|count", ""];
    const TAGS: &[&str] = &[
        "key=a",
        "a",
        "1kb:",
        ":-1",
        "bytes=0:100",
        "key",
        "s1=s2",
        "(",
    ];
    let mut r = Rng::new(pick);
    let mut choose = |pool: &[&str]| {
        r.chance(40)
            .then(|| pool[(r.next() % pool.len() as u64) as usize].to_string())
    };
    let filters = Filters {
        focus: choose(PATTERNS),
        ignore: choose(PATTERNS),
        hide: choose(PATTERNS),
        show: choose(PATTERNS),
        show_from: choose(PATTERNS),
        tag_focus: choose(TAGS),
        tag_ignore: choose(TAGS),
        tag_show: choose(PATTERNS),
        tag_hide: choose(PATTERNS),
        prune_from: choose(PATTERNS),
    };
    let Ok(mut merged) = ops::combine(vec![p.clone()]) else {
        return;
    };
    let _ = ops::subtract_base(merged.clone(), p.clone(), pick & 1 == 0);
    let mut normalized = p.clone();
    let _ = ops::normalize(&mut normalized, &merged);
    ops::scale(&mut normalized, -0.5);
    let _ = ops::remove_uninteresting(&mut merged);
    let _ = ops::num_label_units(&merged);
    let _ = ops::apply_filters(&mut merged, &filters);
    let _ = ops::merge(vec![merged]);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(cases() / 4))]

    #[test]
    fn operations_never_panic(seed in any::<u64>(), size in 0usize..48, pick in any::<u64>()) {
        run_operations(&generate(seed, size), pick);
    }
}

#[test]
fn fixtures_round_trip() {
    for (i, raw) in inputs().iter().enumerate() {
        let p = decode(raw).unwrap();
        assert_eq!(decode(&encode_proto(&p)).unwrap(), p);
        for pick in 0..8 {
            run_operations(&p, pick * 31 + i as u64);
        }
    }
}
