//! profile.proto → [`Profile`], in two passes over the (decompressed) bytes.
//!
//! Pass one reads everything but samples; pass two decodes samples one at a
//! time into a reused message and appends them to the column store, so no
//! per-sample message tree is ever built.

use std::collections::HashMap;

use prost::bytes::Buf;
use prost::encoding::{decode_key, decode_varint, WireType};
use prost::Message;

use super::pb::{self, field};
use crate::model::{Function, Label, Line, Location, Mapping, Profile, Samples, ValueType};
use crate::strings::{StrId, StringTable};
use crate::Error;

/// A top-level field's payload.
enum Payload<'a> {
    Varint(u64),
    Bytes(&'a [u8]),
    Other,
}

/// Iterates the top-level fields of a message: `(offset, tag, payload)`.
struct Fields<'a> {
    data: &'a [u8],
    pos: usize,
}

impl<'a> Iterator for Fields<'a> {
    type Item = Result<(usize, u32, Payload<'a>), Error>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.pos >= self.data.len() {
            return None;
        }
        let start = self.pos;
        let mut buf = &self.data[self.pos..];
        let before = buf.len();
        let result = (|| {
            let (tag, wire) = decode_key(&mut buf).map_err(|e| e.to_string())?;
            let payload = match wire {
                WireType::Varint => {
                    Payload::Varint(decode_varint(&mut buf).map_err(|e| e.to_string())?)
                }
                WireType::LengthDelimited => {
                    let len = decode_varint(&mut buf).map_err(|e| e.to_string())?;
                    if len > buf.len() as u64 {
                        return Err(format!(
                            "field {tag} claims {len} bytes but only {} remain (truncated?)",
                            buf.len()
                        ));
                    }
                    let (bytes, rest) = buf.split_at(len as usize);
                    buf = rest;
                    Payload::Bytes(bytes)
                }
                WireType::SixtyFourBit if buf.len() >= 8 => {
                    buf.advance(8);
                    Payload::Other
                }
                WireType::ThirtyTwoBit if buf.len() >= 4 => {
                    buf.advance(4);
                    Payload::Other
                }
                other => {
                    return Err(format!(
                        "field {tag}: unsupported or truncated wire type {other:?}"
                    ))
                }
            };
            Ok((tag, payload))
        })();
        match result {
            Ok((tag, payload)) => {
                self.pos += before - buf.len();
                Some(Ok((start, tag, payload)))
            }
            Err(cause) => {
                self.pos = self.data.len();
                Some(Err(Error::Proto {
                    offset: start,
                    cause,
                }))
            }
        }
    }
}

fn fields(data: &[u8]) -> Fields<'_> {
    Fields { data, pos: 0 }
}

fn message<M: Message + Default>(offset: usize, bytes: &[u8], what: &str) -> Result<M, Error> {
    M::decode(bytes).map_err(|e| Error::Proto {
        offset,
        cause: format!("{what}: {e}"),
    })
}

fn wrong_wire(offset: usize, tag: u32) -> Error {
    Error::Proto {
        offset,
        cause: format!("field {tag} has the wrong wire type for profile.proto"),
    }
}

/// Maps pprof ids (non-zero, unique) to dense indices.
struct IdMap {
    /// True while ids are exactly 1, 2, 3, ... in order: then index = id - 1.
    dense: bool,
    map: HashMap<u64, u32>,
    len: usize,
    what: &'static str,
}

impl IdMap {
    fn new(what: &'static str) -> Self {
        IdMap {
            dense: true,
            map: HashMap::new(),
            len: 0,
            what,
        }
    }

    fn add(&mut self, id: u64) -> Result<(), Error> {
        if id == 0 {
            return Err(Error::invalid(
                format!("{}[{}].id", self.what, self.len),
                "id is 0 (ids must be non-zero)",
            ));
        }
        if self.dense && id == self.len as u64 + 1 {
            self.len += 1;
            return Ok(());
        }
        if self.dense {
            self.dense = false;
            self.map = (0..self.len).map(|i| (i as u64 + 1, i as u32)).collect();
        }
        if self.map.insert(id, self.len as u32).is_some() {
            return Err(Error::invalid(
                format!("{}[{}].id", self.what, self.len),
                format!("duplicate id {id}"),
            ));
        }
        self.len += 1;
        Ok(())
    }

    fn index(&self, id: u64) -> Option<u32> {
        if self.dense {
            (id >= 1 && id <= self.len as u64).then(|| (id - 1) as u32)
        } else {
            self.map.get(&id).copied()
        }
    }
}

fn str_id(value: i64, strings: usize, field: impl FnOnce() -> String) -> Result<StrId, Error> {
    if value < 0 || value as u64 >= strings as u64 {
        return Err(Error::invalid(
            field(),
            format!(
                "string index {value} is out of range (the string table has {strings} entries)"
            ),
        ));
    }
    Ok(StrId(value as u32))
}

/// Decodes an uncompressed profile.proto message.
pub fn decode(data: &[u8]) -> Result<Profile, Error> {
    let mut sample_types = Vec::new();
    let mut pb_mappings = Vec::new();
    let mut pb_locations = Vec::new();
    let mut pb_functions = Vec::new();
    let mut strings = Vec::new();
    let mut comments = Vec::new();
    let mut scalars = [0i64; 16];
    let mut period_type = None;
    let mut sample_count = 0usize;

    for f in fields(data) {
        let (offset, tag, payload) = f?;
        match (tag, payload) {
            (field::SAMPLE_TYPE, Payload::Bytes(b)) => {
                sample_types.push(message::<pb::ValueType>(offset, b, "sample_type")?)
            }
            (field::SAMPLE, Payload::Bytes(_)) => sample_count += 1,
            (field::MAPPING, Payload::Bytes(b)) => {
                pb_mappings.push(message::<pb::Mapping>(offset, b, "mapping")?)
            }
            (field::LOCATION, Payload::Bytes(b)) => {
                pb_locations.push(message::<pb::Location>(offset, b, "location")?)
            }
            (field::FUNCTION, Payload::Bytes(b)) => {
                pb_functions.push(message::<pb::Function>(offset, b, "function")?)
            }
            (field::STRING_TABLE, Payload::Bytes(b)) => {
                let s = std::str::from_utf8(b).map_err(|e| Error::Proto {
                    offset,
                    cause: format!("string_table[{}] is not UTF-8: {e}", strings.len()),
                })?;
                strings.push(s.to_string());
            }
            (field::PERIOD_TYPE, Payload::Bytes(b)) => {
                period_type = Some(message::<pb::ValueType>(offset, b, "period_type")?)
            }
            (field::COMMENT, Payload::Varint(v)) => comments.push(v as i64),
            (field::COMMENT, Payload::Bytes(mut b)) => {
                while !b.is_empty() {
                    let v = decode_varint(&mut b).map_err(|e| Error::Proto {
                        offset,
                        cause: format!("comment: {e}"),
                    })?;
                    comments.push(v as i64);
                }
            }
            (
                field::DROP_FRAMES
                | field::KEEP_FRAMES
                | field::TIME_NANOS
                | field::DURATION_NANOS
                | field::PERIOD
                | field::DEFAULT_SAMPLE_TYPE
                | field::DOC_URL,
                Payload::Varint(v),
            ) => scalars[tag as usize] = v as i64,
            (1..=15, Payload::Other) | (1..=6 | 11, Payload::Varint(_)) => {
                return Err(wrong_wire(offset, tag))
            }
            (7..=10 | 12 | 14 | 15, Payload::Bytes(_)) => return Err(wrong_wire(offset, tag)),
            _ => {} // unknown fields are skipped, as protobuf requires
        }
    }

    if strings.first().map(String::as_str) != Some("") {
        return Err(Error::invalid(
            "string_table[0]",
            if strings.is_empty() {
                "the string table is missing (this is not a pprof profile)".to_string()
            } else {
                format!("must be the empty string, found {:?}", strings[0])
            },
        ));
    }
    let n = strings.len();
    let s = |v: i64, name: &dyn Fn() -> String| str_id(v, n, name);

    let mut p = Profile {
        strings: StringTable::from_vec(strings),
        ..Default::default()
    };
    for (i, vt) in sample_types.iter().enumerate() {
        p.sample_types.push(ValueType {
            ty: s(vt.r#type, &|| format!("sample_type[{i}].type"))?,
            unit: s(vt.unit, &|| format!("sample_type[{i}].unit"))?,
        });
    }
    if let Some(vt) = period_type {
        p.period_type = Some(ValueType {
            ty: s(vt.r#type, &|| "period_type.type".into())?,
            unit: s(vt.unit, &|| "period_type.unit".into())?,
        });
    }
    p.drop_frames = s(scalars[field::DROP_FRAMES as usize], &|| {
        "drop_frames".into()
    })?;
    p.keep_frames = s(scalars[field::KEEP_FRAMES as usize], &|| {
        "keep_frames".into()
    })?;
    p.time_nanos = scalars[field::TIME_NANOS as usize];
    p.duration_nanos = scalars[field::DURATION_NANOS as usize];
    p.period = scalars[field::PERIOD as usize];
    p.default_sample_type = s(scalars[field::DEFAULT_SAMPLE_TYPE as usize], &|| {
        "default_sample_type".into()
    })?;
    p.doc_url = s(scalars[field::DOC_URL as usize], &|| "doc_url".into())?;
    for (i, c) in comments.iter().enumerate() {
        p.comments.push(s(*c, &|| format!("comment[{i}]"))?);
    }

    let mut mapping_ids = IdMap::new("mapping");
    for (i, m) in pb_mappings.iter().enumerate() {
        mapping_ids.add(m.id)?;
        p.mappings.push(Mapping {
            memory_start: m.memory_start,
            memory_limit: m.memory_limit,
            file_offset: m.file_offset,
            filename: s(m.filename, &|| format!("mapping[{i}].filename"))?,
            build_id: s(m.build_id, &|| format!("mapping[{i}].build_id"))?,
            has_functions: m.has_functions,
            has_filenames: m.has_filenames,
            has_line_numbers: m.has_line_numbers,
            has_inline_frames: m.has_inline_frames,
        });
    }
    let mut function_ids = IdMap::new("function");
    for (i, f) in pb_functions.iter().enumerate() {
        function_ids.add(f.id)?;
        p.functions.push(Function {
            name: s(f.name, &|| format!("function[{i}].name"))?,
            system_name: s(f.system_name, &|| format!("function[{i}].system_name"))?,
            filename: s(f.filename, &|| format!("function[{i}].filename"))?,
            start_line: f.start_line,
        });
    }
    let mut location_ids = IdMap::new("location");
    for (i, l) in pb_locations.iter().enumerate() {
        location_ids.add(l.id)?;
        let mapping = match l.mapping_id {
            0 => None,
            id => Some(mapping_ids.index(id).ok_or_else(|| {
                Error::invalid(
                    format!("location[{i}].mapping_id"),
                    format!("mapping id {id} does not exist"),
                )
            })?),
        };
        let mut lines = Vec::with_capacity(l.line.len());
        for (j, ln) in l.line.iter().enumerate() {
            let function = match ln.function_id {
                0 => None,
                id => Some(function_ids.index(id).ok_or_else(|| {
                    Error::invalid(
                        format!("location[{i}].line[{j}].function_id"),
                        format!("function id {id} does not exist"),
                    )
                })?),
            };
            lines.push(Line {
                function,
                line: ln.line,
                column: ln.column,
            });
        }
        p.locations.push(Location {
            mapping,
            address: l.address,
            lines,
            is_folded: l.is_folded,
        });
    }
    drop((pb_mappings, pb_locations, pb_functions));

    let width = p.sample_types.len();
    if width == 0 && sample_count > 0 {
        // Go's pprof rejects this too ("missing sample type information").
        return Err(Error::invalid(
            "sample_type",
            format!("the profile has {sample_count} samples but no sample types"),
        ));
    }
    p.samples = Samples::new(width);
    p.samples.reserve(sample_count, sample_count * 8);
    let mut sample = pb::Sample::default();
    let mut locs: Vec<u32> = Vec::new();
    let mut labels: Vec<Label> = Vec::new();
    let mut index = 0usize;
    for f in fields(data) {
        let (offset, tag, payload) = f?;
        let (field::SAMPLE, Payload::Bytes(b)) = (tag, payload) else {
            continue;
        };
        sample.clear();
        sample.merge(b).map_err(|e| Error::Proto {
            offset,
            cause: format!("sample[{index}]: {e}"),
        })?;
        if sample.value.len() != width {
            return Err(Error::invalid(
                format!("sample[{index}].value"),
                format!(
                    "has {} values but the profile has {width} sample types",
                    sample.value.len()
                ),
            ));
        }
        locs.clear();
        for &id in &sample.location_id {
            locs.push(location_ids.index(id).ok_or_else(|| {
                Error::invalid(
                    format!("sample[{index}].location_id"),
                    format!("location id {id} does not exist"),
                )
            })?);
        }
        labels.clear();
        for (j, l) in sample.label.iter().enumerate() {
            let at = |part: &str| format!("sample[{index}].label[{j}].{part}");
            labels.push(Label {
                key: s(l.key, &|| at("key"))?,
                str: s(l.str, &|| at("str"))?,
                num: l.num,
                num_unit: s(l.num_unit, &|| at("num_unit"))?,
            });
        }
        p.samples.push(&locs, &sample.value, &labels);
        index += 1;
    }
    Ok(p)
}
