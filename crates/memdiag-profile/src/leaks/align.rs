//! Aligning allocation sites across snapshots.
//!
//! A site is a call stack at a report [`Granularity`] (functions by
//! default): two samples of different snapshots are the same site when their
//! frames, leaf first, have the same report node keys. Each snapshot is
//! folded into per-site sums as it is added and can be dropped right after,
//! so a long series never holds more than one decoded profile. Frames and
//! stacks are interned as integer ids.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use crate::model::Profile;
use crate::report::graph::{node_info, objfile_and_lines, NodeInfo};
use crate::report::Granularity;
use crate::Error;

const NO_SITE: u32 = u32::MAX;

/// Which sample values make a site's series.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Columns {
    /// The analyzed value (e.g. `inuse_space`).
    value: usize,
    /// Its object count (`inuse_objects`), when the profile has one.
    objects: Option<usize>,
    /// The matching allocation total (`alloc_space`), for the retained
    /// fraction.
    alloc: Option<usize>,
}

/// One site's values, one per snapshot in time order (0 where the site had
/// no sample). `objects` and `alloc` are empty when the profile lacks them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SiteSeries {
    /// Index into [`Series::stacks`].
    pub stack: u32,
    pub values: Vec<i64>,
    pub objects: Vec<i64>,
    pub alloc: Vec<i64>,
}

/// Sites aligned across snapshots, ready for [`super::analyze`].
#[derive(Clone, Debug, Default)]
pub struct Series {
    /// `time_nanos` of each snapshot, ascending.
    pub times_nanos: Vec<i64>,
    /// Name and unit of the analyzed sample type.
    pub sample_type: (String, String),
    /// Names of the companion series, when present (`inuse_objects`,
    /// `alloc_space`).
    pub objects_type: Option<String>,
    pub alloc_type: Option<String>,
    pub granularity: Granularity,
    /// Printable name of each frame id.
    pub frames: Vec<String>,
    stack_frames: Vec<u32>,
    stack_ends: Vec<u32>,
    pub sites: Vec<SiteSeries>,
}

impl Series {
    /// The frames of stack `id`, leaf first.
    pub fn stack(&self, id: u32) -> &[u32] {
        let id = id as usize;
        let start = if id == 0 {
            0
        } else {
            self.stack_ends[id - 1] as usize
        };
        &self.stack_frames[start..self.stack_ends[id] as usize]
    }

    /// The frame names of stack `id`, leaf first.
    pub fn stack_names(&self, id: u32) -> Vec<String> {
        self.stack(id)
            .iter()
            .map(|&f| self.frames[f as usize].clone())
            .collect()
    }

    pub fn len(&self) -> usize {
        self.times_nanos.len()
    }

    pub fn is_empty(&self) -> bool {
        self.times_nanos.is_empty()
    }
}

/// Per-site values of the snapshots added so far.
#[derive(Default)]
struct SiteColumns {
    stack: u32,
    /// (value, objects, alloc) per snapshot, in the order added: one
    /// allocation per site, so adding a snapshot touches one cache line per
    /// site rather than three.
    points: Vec<[i64; 3]>,
}

/// What identifies the program a snapshot came from.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Binary {
    file: String,
    build_id: String,
}

/// Builds a [`Series`] from snapshots added one at a time, in any order.
pub struct SeriesBuilder {
    granularity: Granularity,
    sample_index: Option<String>,
    capacity: usize,
    types: Vec<(String, String)>,
    columns: Option<Columns>,
    binary: Option<Binary>,
    frame_ids: HashMap<NodeInfo, u32>,
    frames: Vec<String>,
    stack_ids: HashMap<Box<[u32]>, u32, BuildHasherDefault<StackHasher>>,
    stack_frames: Vec<u32>,
    stack_ends: Vec<u32>,
    /// For each site, the site that followed it in the last snapshot (or
    /// [`NO_SITE`]); `first_site` is the first site of the last snapshot.
    /// Profiles of one program list their samples in nearly the same order
    /// every time, so the prediction usually spares a hash lookup (a cache
    /// miss in a table of 50k stacks).
    next_site: Vec<u32>,
    first_site: u32,
    sites: Vec<SiteColumns>,
    times: Vec<i64>,
    // Per-snapshot scratch, reused.
    acc: Vec<[i64; 3]>,
    /// `snapshot + 1` when the site has a sample in the current snapshot.
    stamp: Vec<u32>,
    touched: Vec<u32>,
    key: Vec<u32>,
    loc_start: Vec<u32>,
    loc_frames: Vec<u32>,
}

impl SeriesBuilder {
    /// `sample_index` selects the analyzed value by name or number, as
    /// `-sample_index` does (default: the profile's default sample type).
    /// `expected_snapshots` is a capacity hint.
    pub fn new(
        granularity: Granularity,
        sample_index: Option<&str>,
        expected_snapshots: usize,
    ) -> Self {
        SeriesBuilder {
            granularity,
            sample_index: sample_index.map(str::to_string),
            capacity: expected_snapshots.max(2),
            types: Vec::new(),
            columns: None,
            binary: None,
            frame_ids: HashMap::new(),
            frames: Vec::new(),
            stack_ids: HashMap::default(),
            stack_frames: Vec::new(),
            stack_ends: Vec::new(),
            next_site: Vec::new(),
            first_site: NO_SITE,
            sites: Vec::new(),
            times: Vec::new(),
            acc: Vec::new(),
            stamp: Vec::new(),
            touched: Vec::new(),
            key: Vec::new(),
            loc_start: Vec::new(),
            loc_frames: Vec::new(),
        }
    }

    /// Number of snapshots added.
    pub fn len(&self) -> usize {
        self.times.len()
    }

    pub fn is_empty(&self) -> bool {
        self.times.is_empty()
    }

    /// Folds one snapshot into the per-site sums. Returns warnings (e.g. the
    /// snapshot seems to come from another program); fails when its sample
    /// types differ from the first snapshot's.
    pub fn add(&mut self, p: &Profile) -> Result<Vec<String>, Error> {
        let mut warnings = Vec::new();
        let types: Vec<(String, String)> = (0..p.sample_types.len())
            .map(|i| {
                (
                    p.sample_type_name(i).to_string(),
                    p.sample_type_unit(i).to_string(),
                )
            })
            .collect();
        let columns = match self.columns {
            Some(c) => {
                if types != self.types {
                    return Err(Error::Incompatible(format!(
                        "sample types [{}] differ from the first snapshot's [{}]",
                        describe(&types),
                        describe(&self.types)
                    )));
                }
                c
            }
            None => {
                let c = resolve_columns(p, self.sample_index.as_deref())?;
                self.types = types;
                self.columns = Some(c);
                c
            }
        };
        let binary = main_binary(p);
        match (&self.binary, binary) {
            (None, b) => self.binary = b,
            (Some(first), Some(b)) if *first != b => warnings.push(format!(
                "main mapping {} (build id {:?}) differs from the first snapshot's {} (build id {:?}): snapshots of different programs?",
                b.file, b.build_id, first.file, first.build_id
            )),
            _ => {}
        }

        // Checked up front so that a bad snapshot leaves no partial sums.
        let locations = p.locations.len();
        if let Some(&bad) = p
            .samples
            .iter()
            .flat_map(|s| s.locations)
            .find(|&&l| l as usize >= locations)
        {
            return Err(Error::invalid(
                "sample.location_id",
                format!("location index {bad} out of range (the profile has {locations})"),
            ));
        }
        self.map_locations(p);
        let snapshot = self.times.len();
        let generation = snapshot as u32 + 1;
        let mut prev: Option<usize> = None;
        for s in p.samples.iter() {
            self.key.clear();
            for &loc in s.locations {
                if let Some(range) = self.loc_range(loc) {
                    self.key.extend_from_slice(&self.loc_frames[range]);
                }
            }
            let predicted = match prev {
                Some(p) => self.next_site[p],
                None => self.first_site,
            };
            let site = if predicted != NO_SITE && self.stack(predicted) == self.key.as_slice() {
                predicted
            } else {
                match self.stack_ids.get(self.key.as_slice()) {
                    Some(&id) => id,
                    None => self.new_site(),
                }
            };
            match prev {
                Some(p) => self.next_site[p] = site,
                None => self.first_site = site,
            }
            prev = Some(site as usize);
            let site = site as usize;
            let v = [
                s.values.get(columns.value).copied().unwrap_or(0),
                columns
                    .objects
                    .and_then(|i| s.values.get(i).copied())
                    .unwrap_or(0),
                columns
                    .alloc
                    .and_then(|i| s.values.get(i).copied())
                    .unwrap_or(0),
            ];
            if site >= self.acc.len() {
                self.acc.resize(site + 1, [0; 3]);
                self.stamp.resize(site + 1, 0);
            }
            if self.stamp[site] != generation {
                self.stamp[site] = generation;
                self.touched.push(site as u32);
            }
            let acc = &mut self.acc[site];
            for k in 0..3 {
                acc[k] = acc[k].saturating_add(v[k]);
            }
        }
        let capacity = self.capacity.max(snapshot + 1);
        for &site in &self.touched {
            let sums = std::mem::take(&mut self.acc[site as usize]);
            let col = &mut self.sites[site as usize];
            if col.points.capacity() == 0 {
                col.points.reserve_exact(capacity);
            }
            col.points.resize(snapshot, [0; 3]);
            col.points.push(sums);
        }
        self.touched.clear();
        self.times.push(p.time_nanos);
        Ok(warnings)
    }

    /// A new site for the stack in `self.key`.
    fn new_site(&mut self) -> u32 {
        let stack = self.stack_ends.len() as u32;
        self.stack_frames.extend_from_slice(&self.key);
        self.stack_ends.push(self.stack_frames.len() as u32);
        self.stack_ids.insert(self.key.as_slice().into(), stack);
        let site = self.sites.len() as u32;
        debug_assert_eq!(site, stack, "one site per stack");
        self.next_site.push(NO_SITE);
        self.sites.push(SiteColumns {
            stack,
            ..SiteColumns::default()
        });
        site
    }

    /// The frames of site `site`'s stack.
    fn stack(&self, site: u32) -> &[u32] {
        let i = site as usize;
        let start = if i == 0 {
            0
        } else {
            self.stack_ends[i - 1] as usize
        };
        &self.stack_frames[start..self.stack_ends[i] as usize]
    }

    fn loc_range(&self, loc: u32) -> Option<std::ops::Range<usize>> {
        let loc = loc as usize;
        let start = *self.loc_start.get(loc)? as usize;
        let end = *self.loc_start.get(loc + 1)? as usize;
        Some(start..end)
    }

    /// The frame ids of every location of `p` (one per line, innermost
    /// first), into `loc_start` / `loc_frames`.
    fn map_locations(&mut self, p: &Profile) {
        self.loc_start.clear();
        self.loc_frames.clear();
        self.loc_start.push(0);
        let mut files: Vec<Option<String>> = vec![None; p.functions.len()];
        for loc in &p.locations {
            let (objfile, lines) = objfile_and_lines(p, loc);
            for line in lines {
                let info = node_info(
                    p,
                    self.granularity,
                    &[] as &[&str],
                    loc.address,
                    line,
                    objfile,
                    &mut files,
                );
                let next = self.frames.len() as u32;
                let id = match self.frame_ids.get(&info) {
                    Some(&id) => id,
                    None => {
                        self.frames.push(info.printable_name());
                        self.frame_ids.insert(info, next);
                        next
                    }
                };
                self.loc_frames.push(id);
            }
            self.loc_start.push(self.loc_frames.len() as u32);
        }
    }

    /// The aligned series, snapshots ordered by time (a stable sort: equal
    /// times keep the order they were added in).
    pub fn finish(self) -> Series {
        let n = self.times.len();
        let mut order: Vec<usize> = (0..n).collect();
        order.sort_by_key(|&i| self.times[i]);
        let columns = self.columns;
        let has_objects = columns.is_some_and(|c| c.objects.is_some());
        let has_alloc = columns.is_some_and(|c| c.alloc.is_some());
        let sites = self
            .sites
            .into_iter()
            .map(|c| {
                let at = |i: usize, k: usize| c.points.get(i).map_or(0, |p| p[k]);
                let column = |k: usize| -> Vec<i64> { order.iter().map(|&i| at(i, k)).collect() };
                SiteSeries {
                    stack: c.stack,
                    values: column(0),
                    objects: if has_objects { column(1) } else { Vec::new() },
                    alloc: if has_alloc { column(2) } else { Vec::new() },
                }
            })
            .collect();
        let name = |i: Option<usize>| i.and_then(|i| self.types.get(i)).map(|t| t.0.clone());
        Series {
            times_nanos: order.iter().map(|&i| self.times[i]).collect(),
            sample_type: columns
                .and_then(|c| self.types.get(c.value).cloned())
                .unwrap_or_default(),
            objects_type: name(columns.and_then(|c| c.objects)),
            alloc_type: name(columns.and_then(|c| c.alloc)),
            granularity: self.granularity,
            frames: self.frames,
            stack_frames: self.stack_frames,
            stack_ends: self.stack_ends,
            sites,
        }
    }
}

fn describe(types: &[(String, String)]) -> String {
    types
        .iter()
        .map(|(t, u)| format!("{t}/{u}"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn resolve_columns(p: &Profile, spec: Option<&str>) -> Result<Columns, Error> {
    if p.sample_types.is_empty() {
        return Err(Error::invalid(
            "sample_type",
            "the profile has no sample types",
        ));
    }
    let value = match spec {
        Some(spec) => p.sample_index(spec)?,
        None => p.default_sample_index(),
    };
    let name = p.sample_type_name(value);
    let find = |want: &str| (0..p.sample_types.len()).find(|&i| p.sample_type_name(i) == want);
    let objects = name
        .strip_suffix("_space")
        .and_then(|stem| find(&format!("{stem}_objects")));
    let alloc = name
        .strip_prefix("inuse_")
        .and_then(|rest| find(&format!("alloc_{rest}")));
    Ok(Columns {
        value,
        objects,
        alloc,
    })
}

fn main_binary(p: &Profile) -> Option<Binary> {
    let m = p.mappings.first()?;
    let file = p.str(m.filename).to_string();
    let build_id = p.str(m.build_id).to_string();
    if file.is_empty() && build_id.is_empty() {
        return None;
    }
    Some(Binary { file, build_id })
}

/// A fast hash for stack keys (slices of small integers that come from our
/// own interning, not from an adversary): multiply-rotate over 8-byte words,
/// as rustc's FxHasher.
#[derive(Default)]
struct StackHasher(u64);

impl StackHasher {
    const K: u64 = 0x517c_c1b7_2722_0a95;

    fn add(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(Self::K);
    }
}

impl Hasher for StackHasher {
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let mut w = [0u8; 8];
            w.copy_from_slice(c);
            self.add(u64::from_le_bytes(w));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut w = [0u8; 8];
            w[..rest.len()].copy_from_slice(rest);
            self.add(u64::from_le_bytes(w));
        }
    }

    fn write_u32(&mut self, i: u32) {
        self.add(u64::from(i));
    }

    fn write_u64(&mut self, i: u64) {
        self.add(i);
    }

    fn write_usize(&mut self, i: usize) {
        self.add(i as u64);
    }

    fn finish(&self) -> u64 {
        self.0
    }
}
