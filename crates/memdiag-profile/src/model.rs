//! The profile model: profile.proto's content with integer references.
//!
//! Locations, functions and mappings are referenced by their index in the
//! profile's vectors (not by pprof id); ids are assigned as `index + 1` on
//! encode. Samples are stored column-wise in [`Samples`] so that a profile with
//! millions of samples costs a few flat vectors rather than millions of small
//! allocations.

use crate::strings::{StrId, StringTable};

/// A sample type or the period type: two interned strings (`type`, `unit`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct ValueType {
    pub ty: StrId,
    pub unit: StrId,
}

/// A sample label: a string value (`str`) or a numeric one (`num`, `num_unit`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Label {
    pub key: StrId,
    pub str: StrId,
    pub num: i64,
    pub num_unit: StrId,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Mapping {
    pub memory_start: u64,
    pub memory_limit: u64,
    pub file_offset: u64,
    pub filename: StrId,
    pub build_id: StrId,
    pub has_functions: bool,
    pub has_filenames: bool,
    pub has_line_numbers: bool,
    pub has_inline_frames: bool,
}

/// One source position of a location; a location holds several when frames
/// were inlined, innermost first.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Line {
    /// Index into [`Profile::functions`]; `None` when the producer gave none.
    pub function: Option<u32>,
    pub line: i64,
    pub column: i64,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Location {
    /// Index into [`Profile::mappings`].
    pub mapping: Option<u32>,
    pub address: u64,
    pub lines: Vec<Line>,
    pub is_folded: bool,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Function {
    pub name: StrId,
    pub system_name: StrId,
    pub filename: StrId,
    pub start_line: i64,
}

/// One sample, borrowed from [`Samples`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Sample<'a> {
    /// Indices into [`Profile::locations`], leaf first.
    pub locations: &'a [u32],
    /// One value per sample type.
    pub values: &'a [i64],
    pub labels: &'a [Label],
}

/// All samples of a profile, column-wise.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Samples {
    width: usize,
    locations: Vec<u32>,
    location_ends: Vec<usize>,
    values: Vec<i64>,
    labels: Vec<Label>,
    label_ends: Vec<usize>,
}

impl Samples {
    /// An empty set whose samples carry `width` values each.
    pub fn new(width: usize) -> Self {
        Samples {
            width,
            ..Default::default()
        }
    }

    /// Number of values per sample (the number of sample types).
    pub fn width(&self) -> usize {
        self.width
    }

    pub fn len(&self) -> usize {
        self.location_ends.len()
    }

    pub fn is_empty(&self) -> bool {
        self.location_ends.is_empty()
    }

    /// Appends a sample. `values.len()` must equal [`Samples::width`]; callers
    /// that take values from input check this first.
    pub fn push(&mut self, locations: &[u32], values: &[i64], labels: &[Label]) {
        assert_eq!(values.len(), self.width, "sample width mismatch");
        self.locations.extend_from_slice(locations);
        self.location_ends.push(self.locations.len());
        self.values.extend_from_slice(values);
        self.labels.extend_from_slice(labels);
        self.label_ends.push(self.labels.len());
    }

    pub fn get(&self, i: usize) -> Sample<'_> {
        let loc_start = if i == 0 { 0 } else { self.location_ends[i - 1] };
        let lab_start = if i == 0 { 0 } else { self.label_ends[i - 1] };
        Sample {
            locations: &self.locations[loc_start..self.location_ends[i]],
            values: &self.values[i * self.width..(i + 1) * self.width],
            labels: &self.labels[lab_start..self.label_ends[i]],
        }
    }

    pub fn values_mut(&mut self, i: usize) -> &mut [i64] {
        &mut self.values[i * self.width..(i + 1) * self.width]
    }

    /// Every value of every sample, sample after sample.
    pub fn all_values_mut(&mut self) -> &mut [i64] {
        &mut self.values
    }

    pub fn iter(&self) -> impl ExactSizeIterator<Item = Sample<'_>> + '_ {
        (0..self.len()).map(move |i| self.get(i))
    }

    /// Keeps only the samples for which `keep` returns true.
    pub fn retain(&mut self, mut keep: impl FnMut(Sample<'_>) -> bool) {
        let mut kept = Samples::new(self.width);
        for s in self.iter() {
            if keep(s) {
                kept.push(s.locations, s.values, s.labels);
            }
        }
        *self = kept;
    }

    pub fn reserve(&mut self, samples: usize, locations: usize) {
        self.location_ends.reserve(samples);
        self.label_ends.reserve(samples);
        self.values.reserve(samples * self.width);
        self.locations.reserve(locations);
    }
}

/// A profile: profile.proto's `Profile` message.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Profile {
    pub sample_types: Vec<ValueType>,
    pub samples: Samples,
    pub mappings: Vec<Mapping>,
    pub locations: Vec<Location>,
    pub functions: Vec<Function>,
    pub strings: StringTable,
    pub drop_frames: StrId,
    pub keep_frames: StrId,
    pub time_nanos: i64,
    pub duration_nanos: i64,
    pub period_type: Option<ValueType>,
    pub period: i64,
    pub comments: Vec<StrId>,
    pub default_sample_type: StrId,
    pub doc_url: StrId,
}

impl Profile {
    /// An empty profile with the given sample types `(type, unit)`.
    pub fn with_sample_types(types: &[(&str, &str)]) -> Self {
        let mut p = Profile::default();
        for (ty, unit) in types {
            let vt = ValueType {
                ty: p.strings.intern(ty),
                unit: p.strings.intern(unit),
            };
            p.sample_types.push(vt);
        }
        p.samples = Samples::new(types.len());
        p
    }

    /// The string behind an interned id.
    pub fn str(&self, id: StrId) -> &str {
        self.strings.get(id)
    }

    /// Name of sample type `i` (e.g. `inuse_space`).
    pub fn sample_type_name(&self, i: usize) -> &str {
        self.str(self.sample_types[i].ty)
    }

    /// Unit of sample type `i` (e.g. `bytes`).
    pub fn sample_type_unit(&self, i: usize) -> &str {
        self.str(self.sample_types[i].unit)
    }

    /// The sample type reports use when none is asked for: the one named by
    /// `default_sample_type`, else the last one (as Go's pprof does).
    pub fn default_sample_index(&self) -> usize {
        let want = self.str(self.default_sample_type);
        if !want.is_empty() {
            if let Some(i) =
                (0..self.sample_types.len()).find(|&i| self.sample_type_name(i) == want)
            {
                return i;
            }
        }
        self.sample_types.len().saturating_sub(1)
    }

    /// Resolves a `-sample_index` argument: a sample type name or a number.
    pub fn sample_index(&self, spec: &str) -> Result<usize, crate::Error> {
        if let Ok(n) = spec.parse::<usize>() {
            if n < self.sample_types.len() {
                return Ok(n);
            }
        } else if let Some(i) =
            (0..self.sample_types.len()).find(|&i| self.sample_type_name(i) == spec)
        {
            return Ok(i);
        }
        let names: Vec<&str> = (0..self.sample_types.len())
            .map(|i| self.sample_type_name(i))
            .collect();
        Err(crate::Error::SampleIndex {
            spec: spec.to_string(),
            available: names.join(", "),
        })
    }

    /// The name of a function referenced by a line (empty when absent).
    pub fn function_name(&self, line: &Line) -> &str {
        match line.function {
            Some(f) => self.str(self.functions[f as usize].name),
            None => "",
        }
    }

    /// The source file of a function referenced by a line (empty when absent).
    pub fn function_file(&self, line: &Line) -> &str {
        match line.function {
            Some(f) => self.str(self.functions[f as usize].filename),
            None => "",
        }
    }

    /// Sum of sample type `index` over all samples.
    pub fn total(&self, index: usize) -> i64 {
        self.samples.iter().map(|s| s.values[index]).sum()
    }

    pub fn comment_strings(&self) -> impl Iterator<Item = &str> {
        self.comments.iter().map(|c| self.str(*c))
    }
}
