//! [`Profile`] → profile.proto, written field by field so that samples are
//! encoded one at a time through a reused message.

use prost::encoding::{int64, message, string};

use super::pb::{self, field};
use crate::model::{Profile, ValueType};

fn value_type(vt: &ValueType) -> pb::ValueType {
    pb::ValueType {
        r#type: vt.ty.0 as i64,
        unit: vt.unit.0 as i64,
    }
}

fn scalar(tag: u32, v: i64, buf: &mut Vec<u8>) {
    if v != 0 {
        int64::encode(tag, &v, buf);
    }
}

/// Encodes `p` as an uncompressed profile.proto message. Ids are `index + 1`.
pub fn encode(p: &Profile) -> Vec<u8> {
    let mut buf = Vec::with_capacity(64 + p.samples.len() * 32);
    for vt in &p.sample_types {
        message::encode(field::SAMPLE_TYPE, &value_type(vt), &mut buf);
    }
    let mut sample = pb::Sample::default();
    for s in p.samples.iter() {
        sample.location_id.clear();
        sample
            .location_id
            .extend(s.locations.iter().map(|&l| l as u64 + 1));
        sample.value.clear();
        sample.value.extend_from_slice(s.values);
        sample.label.clear();
        sample.label.extend(s.labels.iter().map(|l| pb::Label {
            key: l.key.0 as i64,
            str: l.str.0 as i64,
            num: l.num,
            num_unit: l.num_unit.0 as i64,
        }));
        message::encode(field::SAMPLE, &sample, &mut buf);
    }
    for (i, m) in p.mappings.iter().enumerate() {
        let m = pb::Mapping {
            id: i as u64 + 1,
            memory_start: m.memory_start,
            memory_limit: m.memory_limit,
            file_offset: m.file_offset,
            filename: m.filename.0 as i64,
            build_id: m.build_id.0 as i64,
            has_functions: m.has_functions,
            has_filenames: m.has_filenames,
            has_line_numbers: m.has_line_numbers,
            has_inline_frames: m.has_inline_frames,
        };
        message::encode(field::MAPPING, &m, &mut buf);
    }
    for (i, l) in p.locations.iter().enumerate() {
        let l = pb::Location {
            id: i as u64 + 1,
            mapping_id: l.mapping.map_or(0, |m| m as u64 + 1),
            address: l.address,
            line: l
                .lines
                .iter()
                .map(|ln| pb::Line {
                    function_id: ln.function.map_or(0, |f| f as u64 + 1),
                    line: ln.line,
                    column: ln.column,
                })
                .collect(),
            is_folded: l.is_folded,
        };
        message::encode(field::LOCATION, &l, &mut buf);
    }
    for (i, f) in p.functions.iter().enumerate() {
        let f = pb::Function {
            id: i as u64 + 1,
            name: f.name.0 as i64,
            system_name: f.system_name.0 as i64,
            filename: f.filename.0 as i64,
            start_line: f.start_line,
        };
        message::encode(field::FUNCTION, &f, &mut buf);
    }
    for s in p.strings.as_slice() {
        string::encode(field::STRING_TABLE, s, &mut buf);
    }
    scalar(field::DROP_FRAMES, p.drop_frames.0 as i64, &mut buf);
    scalar(field::KEEP_FRAMES, p.keep_frames.0 as i64, &mut buf);
    scalar(field::TIME_NANOS, p.time_nanos, &mut buf);
    scalar(field::DURATION_NANOS, p.duration_nanos, &mut buf);
    if let Some(vt) = &p.period_type {
        message::encode(field::PERIOD_TYPE, &value_type(vt), &mut buf);
    }
    scalar(field::PERIOD, p.period, &mut buf);
    for c in &p.comments {
        int64::encode(field::COMMENT, &(c.0 as i64), &mut buf);
    }
    scalar(
        field::DEFAULT_SAMPLE_TYPE,
        p.default_sample_type.0 as i64,
        &mut buf,
    );
    scalar(field::DOC_URL, p.doc_url.0 as i64, &mut buf);
    buf
}
