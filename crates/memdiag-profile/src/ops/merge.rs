//! Merging profiles, with the semantics of pprof's `profile.Merge` (and of
//! the driver's `combineProfiles`, which harmonizes units first).

use std::collections::HashMap;

use super::{
    describe_period_type, describe_sample_types, label_kind, period_type_strs, LabelKind, StrMap,
};
use crate::model::{Function, Label, Line, Location, Mapping, Profile, Samples, ValueType};
use crate::strings::StrId;
use crate::Error;

/// Merges `profiles` into a new, compacted profile, as `profile.Merge` does.
///
/// * Sample types (names and units, in order) and period types must be equal,
///   else [`Error::Incompatible`] names both.
/// * Mappings, functions and locations are deduplicated by content, with the
///   keys pprof uses: mappings by rounded size, file offset and build id (else
///   file name), with location addresses rebased onto the surviving mapping;
///   functions by names, file and start line; locations by mapping, address
///   relative to the mapping start, folding, and (function, line) pairs.
///   Columns are not part of the key (pprof 1.19 has no columns).
/// * Samples with the same stack and the same labels are summed; input
///   samples whose values are all zero are skipped, and if any merged sample
///   sums to zero the result is merged once more, which drops it and
///   everything only it referenced.
/// * Labels come out in Go's canonical form: string labels (sorted by key,
///   values in input order), then numeric ones; labels Go ignores (neither a
///   string nor a number nor a unit) are dropped, as is the number of a label
///   that has a string.
/// * Headers: earliest `time_nanos` (Go's quirk: a zero after the first
///   profile wins), summed `duration_nanos`, largest `period`, comments
///   concatenated without duplicates, the first non-empty default sample type;
///   drop/keep frames, period type and doc url come from the first profile.
///
/// Only the strings still referenced survive: the result has a fresh table.
pub fn merge(profiles: Vec<Profile>) -> Result<Profile, Error> {
    merge_slice(&profiles)
}

/// What the pprof driver does with a set of profiles it loaded (its
/// `combineProfiles`): [`scale_profiles`](super::scale_profiles) to common
/// units, then [`merge`]. Use it to load even a single profile.
pub fn combine(mut profiles: Vec<Profile>) -> Result<Profile, Error> {
    super::scale_profiles(&mut profiles)?;
    merge_slice(&profiles)
}

/// Checks that two profiles can be merged or compared: equal period types and
/// equal sample types (pprof's `Profile.compatible`).
pub fn compatible(a: &Profile, b: &Profile) -> Result<(), Error> {
    if period_type_strs(a) != period_type_strs(b) {
        return Err(Error::Incompatible(format!(
            "incompatible period types {} and {}",
            describe_period_type(a),
            describe_period_type(b)
        )));
    }
    let same = a.sample_types.len() == b.sample_types.len()
        && (0..a.sample_types.len()).all(|i| {
            a.sample_type_name(i) == b.sample_type_name(i)
                && a.sample_type_unit(i) == b.sample_type_unit(i)
        });
    if !same {
        return Err(Error::Incompatible(format!(
            "incompatible sample types {} and {}",
            describe_sample_types(a),
            describe_sample_types(b)
        )));
    }
    Ok(())
}

fn merge_slice(srcs: &[Profile]) -> Result<Profile, Error> {
    if srcs.is_empty() {
        return Err(Error::invalid("profiles", "no profiles to merge"));
    }
    for (i, p) in srcs.iter().enumerate() {
        if p.samples.width() != p.sample_types.len() {
            return Err(Error::invalid(
                format!("profiles[{i}].samples"),
                format!(
                    "samples carry {} values but the profile has {} sample types",
                    p.samples.width(),
                    p.sample_types.len()
                ),
            ));
        }
    }
    let mut merger = Merger::new(combine_headers(srcs)?, srcs);
    for src in srcs {
        merger.add(src);
    }
    let p = merger.out;
    let has_zero = p.samples.iter().any(|s| s.values.iter().all(|&v| v == 0));
    if has_zero {
        // Merging the result alone drops the zero samples and compacts.
        return merge_slice(std::slice::from_ref(&p));
    }
    Ok(p)
}

/// The merged profile's headers (no samples yet), after checking that every
/// profile is compatible with the first.
fn combine_headers(srcs: &[Profile]) -> Result<Profile, Error> {
    let first = &srcs[0];
    for s in &srcs[1..] {
        compatible(first, s)?;
    }
    let mut p = Profile::default();
    let (mut time_nanos, mut duration_nanos, mut period) = (0i64, 0i64, 0i64);
    let mut default_sample_type = "";
    let mut comments: Vec<&str> = Vec::new();
    for s in srcs {
        if time_nanos == 0 || s.time_nanos < time_nanos {
            time_nanos = s.time_nanos;
        }
        duration_nanos = duration_nanos.wrapping_add(s.duration_nanos);
        if period == 0 || period < s.period {
            period = s.period;
        }
        for c in s.comment_strings() {
            if !comments.contains(&c) {
                comments.push(c);
            }
        }
        if default_sample_type.is_empty() {
            default_sample_type = s.str(s.default_sample_type);
        }
    }
    for vt in &first.sample_types {
        let vt = ValueType {
            ty: p.strings.intern(first.str(vt.ty)),
            unit: p.strings.intern(first.str(vt.unit)),
        };
        p.sample_types.push(vt);
    }
    p.samples = Samples::new(p.sample_types.len());
    p.period_type = first.period_type.map(|vt| ValueType {
        ty: p.strings.intern(first.str(vt.ty)),
        unit: p.strings.intern(first.str(vt.unit)),
    });
    p.time_nanos = time_nanos;
    p.duration_nanos = duration_nanos;
    p.period = period;
    p.comments = comments.iter().map(|c| p.strings.intern(c)).collect();
    p.default_sample_type = p.strings.intern(default_sample_type);
    p.drop_frames = p.strings.intern(first.str(first.drop_frames));
    p.keep_frames = p.strings.intern(first.str(first.keep_frames));
    p.doc_url = p.strings.intern(first.str(first.doc_url));
    Ok(p)
}

/// pprof's mapping key: size rounded up to 4 KiB, file offset, and the build
/// id or else the file name (mappings with neither all share one key).
#[derive(PartialEq, Eq, Hash)]
struct MappingKey {
    size: u64,
    offset: u64,
    build_id_or_file: String,
}

impl MappingKey {
    fn new(m: &Mapping, p: &Profile) -> Self {
        const ROUNDING: u64 = 0x1000;
        let size = m.memory_limit.wrapping_sub(m.memory_start);
        let size = size.wrapping_add(ROUNDING - 1);
        let size = size - size % ROUNDING;
        let id = if !m.build_id.is_empty() {
            m.build_id
        } else {
            m.filename
        };
        MappingKey {
            size,
            offset: m.file_offset,
            build_id_or_file: p.str(id).to_string(),
        }
    }
}

/// pprof's location key, over merged mapping and function indices.
#[derive(PartialEq, Eq, Hash)]
struct LocationKey {
    /// The address relative to the mapping's start when there is a mapping.
    addr: u64,
    mapping: Option<u32>,
    lines: Vec<(Option<u32>, i64)>,
    is_folded: bool,
}

fn mix(h: u64, v: u64) -> u64 {
    (h.rotate_left(5) ^ v).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95)
}

fn sample_hash(locations: &[u32], labels: &[Label]) -> u64 {
    let mut h = locations.len() as u64;
    for &l in locations {
        h = mix(h, u64::from(l));
    }
    for l in labels {
        h = mix(h, u64::from(l.key.0) << 32 | u64::from(l.str.0));
        h = mix(h, l.num as u64);
        h = mix(h, u64::from(l.num_unit.0));
    }
    // A final avalanche so that the low bits used by the table vary.
    h ^= h >> 29;
    h = h.wrapping_mul(0xbf58_476d_1ce4_e5b9);
    h ^ (h >> 32)
}

const NONE: u32 = u32::MAX;

/// An open-addressing set of merged sample indices keyed by sample hash: one
/// `u64` per slot (high half of the hash, which also gives the position, and
/// index + 1; 0 when empty), so that a probe usually costs a single cache
/// miss even with millions of samples.
struct SampleTable {
    slots: Vec<u64>,
    len: usize,
}

impl SampleTable {
    fn with_capacity(n: usize) -> Self {
        SampleTable {
            slots: vec![0; (n.max(8) * 2).next_power_of_two()],
            len: 0,
        }
    }

    /// Loads the first slot of each hash, in one tight loop so that the
    /// cache misses overlap, and so that [`SampleTable::find`] finds them in
    /// cache.
    fn touch(&self, hashes: impl Iterator<Item = u64>) {
        let mask = self.slots.len() - 1;
        let seen = hashes.fold(0, |acc, h| acc ^ self.slots[(h >> 32) as usize & mask]);
        std::hint::black_box(seen);
    }

    /// The index of the sample with hash `h` for which `eq` holds, or the
    /// slot where to insert it.
    fn find(&self, h: u64, mut eq: impl FnMut(u32) -> bool) -> Result<u32, usize> {
        let mask = self.slots.len() - 1;
        let tag = h >> 32;
        let mut pos = tag as usize & mask;
        loop {
            let slot = self.slots[pos];
            if slot == 0 {
                return Err(pos);
            }
            let index = (slot as u32).wrapping_sub(1);
            if slot >> 32 == tag && eq(index) {
                return Ok(index);
            }
            pos = (pos + 1) & mask;
        }
    }

    /// Fills `slot` (from [`SampleTable::find`]) with `index`; `h` must be the
    /// hash given to `find`.
    fn insert(&mut self, slot: usize, h: u64, index: u32) {
        self.slots[slot] = (h >> 32) << 32 | u64::from(index + 1);
        self.len += 1;
        if self.len * 2 > self.slots.len() {
            self.grow();
        }
    }

    fn grow(&mut self) {
        let bigger = vec![0; self.slots.len() * 2];
        let old = std::mem::replace(&mut self.slots, bigger);
        let mask = self.slots.len() - 1;
        for slot in old.into_iter().filter(|&s| s != 0) {
            let mut pos = (slot >> 32) as usize & mask;
            while self.slots[pos] != 0 {
                pos = (pos + 1) & mask;
            }
            self.slots[pos] = slot;
        }
    }
}

/// Samples of a source, mapped and hashed, waiting to be added: (index in
/// the source, start in `locations`, start in `labels`, hash).
#[derive(Default)]
struct Batch {
    samples: Vec<(usize, usize, usize, u64)>,
    locations: Vec<u32>,
    labels: Vec<Label>,
}

impl Batch {
    const SIZE: usize = 32;
}

/// Per-source memo tables: source index → merged index.
struct SourceMaps {
    strings: StrMap,
    mappings: Vec<Option<(u32, i64)>>,
    functions: Vec<u32>,
    locations: Vec<u32>,
}

struct Merger {
    out: Profile,
    mappings: HashMap<MappingKey, u32>,
    functions: HashMap<Function, u32>,
    locations: HashMap<LocationKey, u32>,
    samples: SampleTable,
}

impl Merger {
    fn new(out: Profile, srcs: &[Profile]) -> Self {
        let first = &srcs[0];
        Merger {
            out,
            mappings: HashMap::with_capacity(first.mappings.len()),
            functions: HashMap::with_capacity(first.functions.len()),
            locations: HashMap::with_capacity(first.locations.len()),
            samples: SampleTable::with_capacity(first.samples.len()),
        }
    }

    fn add(&mut self, src: &Profile) {
        let mut maps = SourceMaps {
            strings: StrMap::new(src.strings.len()),
            mappings: vec![None; src.mappings.len()],
            functions: vec![NONE; src.functions.len()],
            locations: vec![NONE; src.locations.len()],
        };
        // The first mapping is the main binary: keep it first.
        if self.out.mappings.is_empty() && !src.mappings.is_empty() {
            self.map_mapping(&mut maps, src, 0);
        }
        let frames = src.samples.iter().map(|s| s.locations.len()).sum();
        self.out.samples.reserve(src.samples.len(), frames);
        // Samples go through in batches: hashing a batch first, then touching
        // the table slots it needs together lets the cache misses overlap.
        let mut batch = Batch::default();
        let mut labels: Vec<Label> = Vec::new();
        for (i, s) in src.samples.iter().enumerate() {
            if s.values.iter().all(|&v| v == 0) {
                continue;
            }
            let locs_start = batch.locations.len();
            for &l in s.locations {
                let l = self.map_location(&mut maps, src, l as usize);
                batch.locations.push(l);
            }
            self.map_labels(&mut maps, src, s.labels, &mut labels);
            let labels_start = batch.labels.len();
            batch.labels.extend_from_slice(&labels);
            let h = sample_hash(&batch.locations[locs_start..], &labels);
            batch.samples.push((i, locs_start, labels_start, h));
            if batch.samples.len() == Batch::SIZE {
                self.flush(src, &mut batch);
            }
        }
        self.flush(src, &mut batch);
    }

    fn flush(&mut self, src: &Profile, batch: &mut Batch) {
        self.samples.touch(batch.samples.iter().map(|s| s.3));
        let n = batch.samples.len();
        for k in 0..n {
            let (i, locs_start, labels_start, h) = batch.samples[k];
            let next = batch.samples.get(k + 1);
            let locs_end = next.map_or(batch.locations.len(), |n| n.1);
            let labels_end = next.map_or(batch.labels.len(), |n| n.2);
            self.add_sample(
                &batch.locations[locs_start..locs_end],
                src.samples.get(i).values,
                &batch.labels[labels_start..labels_end],
                h,
            );
        }
        batch.samples.clear();
        batch.locations.clear();
        batch.labels.clear();
    }

    fn add_sample(&mut self, locs: &[u32], values: &[i64], labels: &[Label], h: u64) {
        let samples = &self.out.samples;
        let found = self.samples.find(h, |i| {
            let s = samples.get(i as usize);
            s.locations == locs && s.labels == labels
        });
        match found {
            Ok(i) => {
                let sums = self.out.samples.values_mut(i as usize);
                for (sum, v) in sums.iter_mut().zip(values) {
                    *sum = sum.wrapping_add(*v);
                }
            }
            Err(slot) => {
                let index = self.out.samples.len() as u32;
                self.out.samples.push(locs, values, labels);
                self.samples.insert(slot, h, index);
            }
        }
    }

    /// Translates a sample's labels into Go's canonical form (see [`merge`]).
    fn map_labels(
        &mut self,
        maps: &mut SourceMaps,
        src: &Profile,
        labels: &[Label],
        out: &mut Vec<Label>,
    ) {
        out.clear();
        for l in labels {
            let label = match label_kind(l) {
                LabelKind::Str => Label {
                    key: maps.strings.map(l.key, src, &mut self.out),
                    str: maps.strings.map(l.str, src, &mut self.out),
                    num: 0,
                    num_unit: StrId::EMPTY,
                },
                LabelKind::Num => Label {
                    key: maps.strings.map(l.key, src, &mut self.out),
                    str: StrId::EMPTY,
                    num: l.num,
                    num_unit: maps.strings.map(l.num_unit, src, &mut self.out),
                },
                LabelKind::Ignored => continue,
            };
            out.push(label);
        }
        if out.len() > 1 {
            let strings = &self.out.strings;
            // Stable: values of one key keep their order.
            out.sort_by(|a, b| {
                (a.str.is_empty(), strings.get(a.key)).cmp(&(b.str.is_empty(), strings.get(b.key)))
            });
        }
    }

    fn map_mapping(&mut self, maps: &mut SourceMaps, src: &Profile, i: usize) -> (u32, i64) {
        if let Some(mi) = maps.mappings[i] {
            return mi;
        }
        let m = &src.mappings[i];
        let key = MappingKey::new(m, src);
        let mi = if let Some(&j) = self.mappings.get(&key) {
            let start = self.out.mappings[j as usize].memory_start;
            (j, (start as i64).wrapping_sub(m.memory_start as i64))
        } else {
            let j = self.out.mappings.len() as u32;
            let mapping = Mapping {
                filename: maps.strings.map(m.filename, src, &mut self.out),
                build_id: maps.strings.map(m.build_id, src, &mut self.out),
                ..m.clone()
            };
            self.out.mappings.push(mapping);
            self.mappings.insert(key, j);
            (j, 0)
        };
        maps.mappings[i] = Some(mi);
        mi
    }

    fn map_function(&mut self, maps: &mut SourceMaps, src: &Profile, i: usize) -> u32 {
        if maps.functions[i] != NONE {
            return maps.functions[i];
        }
        let f = &src.functions[i];
        let f = Function {
            name: maps.strings.map(f.name, src, &mut self.out),
            system_name: maps.strings.map(f.system_name, src, &mut self.out),
            filename: maps.strings.map(f.filename, src, &mut self.out),
            start_line: f.start_line,
        };
        let j = *self.functions.entry(f).or_insert_with(|| {
            self.out.functions.push(f);
            self.out.functions.len() as u32 - 1
        });
        maps.functions[i] = j;
        j
    }

    fn map_location(&mut self, maps: &mut SourceMaps, src: &Profile, i: usize) -> u32 {
        if maps.locations[i] != NONE {
            return maps.locations[i];
        }
        let l = &src.locations[i];
        let (mapping, offset) = match l.mapping {
            Some(m) => {
                let (j, offset) = self.map_mapping(maps, src, m as usize);
                (Some(j), offset)
            }
            None => (None, 0),
        };
        let address = (l.address as i64).wrapping_add(offset) as u64;
        let lines: Vec<Line> = l
            .lines
            .iter()
            .map(|ln| Line {
                function: ln
                    .function
                    .map(|f| self.map_function(maps, src, f as usize)),
                ..*ln
            })
            .collect();
        let key = LocationKey {
            addr: match mapping {
                Some(j) => address.wrapping_sub(self.out.mappings[j as usize].memory_start),
                None => address,
            },
            mapping,
            lines: lines.iter().map(|ln| (ln.function, ln.line)).collect(),
            is_folded: l.is_folded,
        };
        let j = match self.locations.get(&key) {
            Some(&j) => j,
            None => {
                let j = self.out.locations.len() as u32;
                self.out.locations.push(Location {
                    mapping,
                    address,
                    lines,
                    is_folded: l.is_folded,
                });
                self.locations.insert(key, j);
                j
            }
        };
        maps.locations[i] = j;
        j
    }
}
