//! Broken inputs through `memdiag_profile::decode`: each is an error naming
//! its cause, never a panic. Inputs are written as raw protobuf bytes.

use std::io::Write;

use flate2::write::GzEncoder;
use flate2::Compression;
use memdiag_profile::{decode, encode_gzip, Error, Profile};
use prost::encoding::{encode_key, encode_varint, WireType};

/// A protobuf message under construction.
#[derive(Clone, Default)]
struct Msg(Vec<u8>);

impl Msg {
    fn varint(mut self, tag: u32, v: u64) -> Self {
        encode_key(tag, WireType::Varint, &mut self.0);
        encode_varint(v, &mut self.0);
        self
    }

    fn int(self, tag: u32, v: i64) -> Self {
        self.varint(tag, v as u64)
    }

    fn bytes(mut self, tag: u32, b: &[u8]) -> Self {
        encode_key(tag, WireType::LengthDelimited, &mut self.0);
        encode_varint(b.len() as u64, &mut self.0);
        self.0.extend_from_slice(b);
        self
    }

    fn msg(self, tag: u32, m: &Msg) -> Self {
        self.bytes(tag, &m.0)
    }

    fn packed(self, tag: u32, vs: &[u64]) -> Self {
        let mut body = Vec::new();
        for &v in vs {
            encode_varint(v, &mut body);
        }
        self.bytes(tag, &body)
    }
}

/// The parts of a small valid profile, to break one at a time.
#[derive(Clone)]
struct Parts {
    sample_types: Vec<Msg>,
    samples: Vec<Msg>,
    mappings: Vec<Msg>,
    locations: Vec<Msg>,
    functions: Vec<Msg>,
    strings: Vec<Vec<u8>>,
    rest: Msg,
}

impl Parts {
    fn valid() -> Self {
        let strings = [
            "",
            "alloc_space",
            "bytes",
            "main.main",
            "main.go",
            "/bin/app",
            "key",
        ];
        Parts {
            sample_types: vec![Msg::default().int(1, 1).int(2, 2)],
            samples: vec![Msg::default()
                .packed(1, &[1, 2])
                .packed(2, &[100])
                .msg(3, &Msg::default().int(1, 6).int(3, 7))],
            mappings: vec![Msg::default()
                .varint(1, 1)
                .varint(2, 0x1000)
                .varint(3, 0x2000)
                .int(5, 5)],
            locations: vec![
                Msg::default()
                    .varint(1, 1)
                    .varint(2, 1)
                    .varint(3, 0x1010)
                    .msg(4, &Msg::default().varint(1, 1).int(2, 10)),
                Msg::default().varint(1, 2).varint(3, 0x1020),
            ],
            functions: vec![Msg::default().varint(1, 1).int(2, 3).int(4, 4)],
            strings: strings.iter().map(|s| s.as_bytes().to_vec()).collect(),
            rest: Msg::default(),
        }
    }

    fn encode(&self) -> Vec<u8> {
        let mut m = Msg::default();
        for st in &self.sample_types {
            m = m.msg(1, st);
        }
        for s in &self.samples {
            m = m.msg(2, s);
        }
        for x in &self.mappings {
            m = m.msg(3, x);
        }
        for x in &self.locations {
            m = m.msg(4, x);
        }
        for x in &self.functions {
            m = m.msg(5, x);
        }
        for s in &self.strings {
            m = m.bytes(6, s);
        }
        m.0.extend_from_slice(&self.rest.0);
        m.0
    }
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut gz = GzEncoder::new(Vec::new(), Compression::default());
    gz.write_all(data).unwrap();
    gz.finish().unwrap()
}

/// Decodes `data` (raw and gzipped) expecting an error whose message holds
/// every one of `words`.
#[track_caller]
fn fails(data: &[u8], words: &[&str]) -> Error {
    let gz = gzip(data);
    let mut errors = Vec::new();
    for (form, input) in [("raw", data), ("gzipped", &gz[..])] {
        match decode(input) {
            Ok(p) => panic!(
                "{form}: decoded to a profile with {} samples",
                p.samples.len()
            ),
            Err(e) => {
                let msg = e.to_string();
                for w in words {
                    assert!(msg.contains(w), "{form}: {msg:?} lacks {w:?}");
                }
                errors.push(e);
            }
        }
    }
    errors.remove(0)
}

#[test]
fn the_valid_parts_decode() {
    let p = decode(&Parts::valid().encode()).unwrap();
    assert_eq!(p.samples.len(), 1);
    assert_eq!(p.samples.get(0).values, &[100]);
    assert_eq!(p.function_name(&p.locations[0].lines[0]), "main.main");
    assert_eq!(decode(&gzip(&Parts::valid().encode())).unwrap(), p);
}

#[test]
fn empty_input() {
    assert!(matches!(fails(&[], &["empty", "0 bytes"]), Error::Empty));
}

#[test]
fn an_empty_profile_is_valid() {
    // Only the string table's "": no sample types, no samples. Go accepts
    // it too (and reports on nothing).
    let data = Msg::default().bytes(6, b"").0;
    for input in [data.clone(), gzip(&data)] {
        let p = decode(&input).unwrap();
        assert!(p.samples.is_empty());
        assert!(p.sample_types.is_empty());
    }
    let mut parts = Parts::valid();
    parts.samples.clear();
    let p = decode(&parts.encode()).unwrap();
    assert!(p.samples.is_empty());
    assert_eq!(p.sample_type_name(0), "alloc_space");
}

#[test]
fn truncated_gzip() {
    let full = gzip(&Parts::valid().encode());
    for cut in [3, 10, full.len() / 2, full.len() - 4, full.len() - 1] {
        let err = decode(&full[..cut]).unwrap_err();
        assert!(matches!(err, Error::Gzip(_)), "cut at {cut}: {err:?}");
        let msg = err.to_string();
        assert!(msg.contains("gzip") && msg.contains("truncated"), "{msg}");
    }
    // A stream whose body is corrupt.
    let mut bad = full.clone();
    for b in &mut bad[12..20] {
        *b ^= 0x5a;
    }
    assert!(decode(&bad).is_err());
}

#[test]
fn gzip_of_nothing() {
    assert!(matches!(decode(&gzip(b"")), Err(Error::Empty)));
}

#[test]
fn garbage_bytes() {
    fails(&[0xff; 64], &["not a pprof profile"]);
    fails(&[0x00, 0x01, 0x02, 0x03, 0xfe, 0xfd], &["protobuf"]);
    // Text that is neither protobuf nor legacy heap text.
    let err = decode(b"hello, this is not a profile\n").unwrap_err();
    assert!(err.to_string().contains("unrecognized format"), "{err}");
}

#[test]
fn a_protobuf_that_is_not_a_profile() {
    // Something like {name: "Alice", id: 42, email: "a@b.c"}: field 1 is a
    // string where profile.proto has a ValueType message.
    let person = Msg::default()
        .bytes(1, b"Alice")
        .varint(2, 42)
        .bytes(3, b"a@b.c");
    fails(&person.0, &["not a pprof profile"]);
    // A timestamp: field 1 is a number where profile.proto has a message.
    let ts = Msg::default().varint(1, 1_700_000_000).varint(2, 5);
    fails(&ts.0, &["wrong wire type"]);
    // Only fields profile.proto does not have: no string table.
    let other = Msg::default().bytes(20, b"hello").varint(21, 1);
    fails(&other.0, &["string table", "not a pprof profile"]);
}

#[test]
fn the_string_table_must_start_with_empty() {
    let mut parts = Parts::valid();
    parts.strings[0] = b"oops".to_vec();
    fails(&parts.encode(), &["string_table[0]", "empty"]);
}

#[test]
fn truncated_protobuf() {
    let data = Parts::valid().encode();
    for cut in [1, 5, data.len() / 2, data.len() - 1] {
        let raw = &data[..cut];
        match decode(raw) {
            Ok(p) => panic!("cut at {cut}: decoded {} samples", p.samples.len()),
            Err(e) => assert!(!e.to_string().is_empty()),
        }
    }
    // A length longer than what remains.
    let mut m = Msg::default().bytes(6, b"");
    encode_key(2, WireType::LengthDelimited, &mut m.0);
    encode_varint(1 << 40, &mut m.0);
    m.0.extend_from_slice(b"xyz");
    fails(&m.0, &["truncated"]);
}

#[test]
fn ids_that_point_nowhere() {
    let mut parts = Parts::valid();
    parts.samples[0] = Msg::default().packed(1, &[1, 99]).packed(2, &[1]);
    fails(
        &parts.encode(),
        &["sample[0].location_id", "location id 99"],
    );

    let mut parts = Parts::valid();
    parts.locations[1] = Msg::default().varint(1, 2).varint(2, 7);
    fails(&parts.encode(), &["location[1].mapping_id", "mapping id 7"]);

    let mut parts = Parts::valid();
    parts.locations[1] = Msg::default()
        .varint(1, 2)
        .msg(4, &Msg::default().varint(1, 5));
    fails(
        &parts.encode(),
        &["location[1].line[0].function_id", "function id 5"],
    );
}

#[test]
fn zero_and_duplicate_ids() {
    let mut parts = Parts::valid();
    parts.locations[1] = Msg::default().varint(3, 0x1020);
    fails(&parts.encode(), &["location[1].id", "id is 0"]);

    let mut parts = Parts::valid();
    parts.functions.push(Msg::default().int(2, 3));
    fails(&parts.encode(), &["function[1].id", "id is 0"]);

    let mut parts = Parts::valid();
    parts.mappings.push(Msg::default());
    fails(&parts.encode(), &["mapping[1].id", "id is 0"]);

    let mut parts = Parts::valid();
    parts.locations[1] = Msg::default().varint(1, 1);
    fails(&parts.encode(), &["location[1].id", "duplicate id 1"]);
}

#[test]
fn string_indices_out_of_range() {
    let n = Parts::valid().strings.len();
    let cases: Vec<(Parts, &str)> = vec![
        {
            let mut p = Parts::valid();
            p.functions[0] = Msg::default().varint(1, 1).int(2, 99);
            (p, "function[0].name")
        },
        {
            let mut p = Parts::valid();
            p.sample_types[0] = Msg::default().int(1, -1).int(2, 2);
            (p, "sample_type[0].type")
        },
        {
            let mut p = Parts::valid();
            p.samples[0] = Msg::default()
                .packed(1, &[1])
                .packed(2, &[1])
                .msg(3, &Msg::default().int(1, n as i64));
            (p, "sample[0].label[0].key")
        },
        {
            let mut p = Parts::valid();
            p.mappings[0] = Msg::default().varint(1, 1).int(6, 1000);
            (p, "mapping[0].build_id")
        },
        {
            let mut p = Parts::valid();
            p.rest = Msg::default().int(13, 50);
            (p, "comment[0]")
        },
        {
            let mut p = Parts::valid();
            p.rest = Msg::default().int(14, i64::MAX);
            (p, "default_sample_type")
        },
    ];
    for (parts, field) in cases {
        fails(&parts.encode(), &[field, "out of range"]);
    }
}

#[test]
fn mismatched_value_counts() {
    let mut parts = Parts::valid();
    parts.samples[0] = Msg::default().packed(1, &[1]).packed(2, &[1, 2]);
    fails(
        &parts.encode(),
        &["sample[0].value", "2 values", "1 sample types"],
    );

    let mut parts = Parts::valid();
    parts.samples.push(Msg::default().packed(1, &[1]));
    fails(&parts.encode(), &["sample[1].value", "0 values"]);

    // Samples but no sample types at all (Go: "missing sample type
    // information").
    let mut parts = Parts::valid();
    parts.sample_types.clear();
    parts.samples[0] = Msg::default().packed(1, &[1]);
    fails(&parts.encode(), &["sample", "no sample types"]);
}

#[test]
fn wrong_wire_types_and_bad_utf8() {
    let mut parts = Parts::valid();
    parts.rest = Msg::default().bytes(9, b"not a number");
    fails(&parts.encode(), &["field 9", "wrong wire type"]);

    let mut parts = Parts::valid();
    parts.strings.push(vec![0xff, 0xfe]);
    fails(&parts.encode(), &["string_table[7]", "UTF-8"]);

    // A sample whose packed values end in the middle of a varint.
    let mut parts = Parts::valid();
    parts.samples[0] = Msg::default().packed(1, &[1]).bytes(2, &[0x80]);
    fails(&parts.encode(), &["sample[0]"]);
}

#[test]
fn legacy_heap_text_that_is_broken() {
    for text in [
        &b"heap profile: garbage"[..],
        b"heap profile: 1: 2 [3: 4] @ heap/1048576\n1: x [",
    ] {
        // Legacy parsing errors name a line; never a panic.
        let err = decode(text).unwrap_err();
        assert!(!err.to_string().is_empty());
    }
}

#[test]
fn a_decoded_profile_round_trips() {
    let p = decode(&Parts::valid().encode()).unwrap();
    let again: Profile = decode(&encode_gzip(&p)).unwrap();
    assert_eq!(again, p);
}
