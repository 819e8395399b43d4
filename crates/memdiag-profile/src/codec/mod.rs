//! Reading and writing profiles: pprof protobuf (raw or gzipped) and Go's
//! legacy heap text.

mod go_exp;
mod legacy_cpu;
mod legacy_heap;
mod legacy_heap_write;
mod pb;
mod proto_decode;
mod proto_encode;

use std::io::{Read, Write};

use flate2::read::MultiGzDecoder;
use flate2::write::GzEncoder;
use flate2::Compression;

use crate::{Error, Profile};

pub use legacy_cpu::parse as parse_legacy_cpu;
pub use legacy_heap::parse as parse_legacy_heap;
pub use legacy_heap::parse_unsymbolized as parse_legacy_heap_unsymbolized;
pub use legacy_heap_write::write as write_legacy_heap;
pub use proto_decode::decode as decode_proto;
pub use proto_encode::encode as encode_proto;

const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

/// Decodes a profile from bytes: gzip is detected by its magic number, then
/// the content is read as Go legacy heap text when it starts like one, else
/// as profile.proto.
pub fn decode(data: &[u8]) -> Result<Profile, Error> {
    if data.is_empty() {
        return Err(Error::Empty);
    }
    if data.starts_with(&GZIP_MAGIC) {
        let mut raw = Vec::with_capacity(data.len() * 4);
        MultiGzDecoder::new(data)
            .read_to_end(&mut raw)
            .map_err(Error::Gzip)?;
        if raw.is_empty() {
            return Err(Error::Empty);
        }
        return decode_uncompressed(&raw);
    }
    decode_uncompressed(data)
}

fn decode_uncompressed(data: &[u8]) -> Result<Profile, Error> {
    if legacy_heap::looks_like(data) {
        return legacy_heap::parse(data);
    }
    if legacy_cpu::looks_like(data) {
        return legacy_cpu::parse(data);
    }
    decode_proto(data).map_err(|e| match e {
        Error::Proto { .. } if looks_like_text(data) => Error::UnknownFormat {
            start: String::from_utf8_lossy(&data[..data.len().min(40)]).into_owned(),
        },
        e => e,
    })
}

fn looks_like_text(data: &[u8]) -> bool {
    let head = &data[..data.len().min(512)];
    head.iter()
        .all(|&b| b.is_ascii_graphic() || b.is_ascii_whitespace())
}

/// Encodes `p` as gzipped profile.proto, the form `go tool pprof` writes.
pub fn encode_gzip(p: &Profile) -> Vec<u8> {
    let raw = encode_proto(p);
    let mut gz = GzEncoder::new(Vec::with_capacity(raw.len() / 4), Compression::default());
    // Writing into a Vec cannot fail.
    gz.write_all(&raw).expect("write to Vec");
    gz.finish().expect("write to Vec")
}
