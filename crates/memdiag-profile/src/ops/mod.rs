//! Operations on profiles: merge, base subtraction, scaling, filters.
//!
//! Each operation follows the semantics of `go tool pprof` (the pprof sources
//! vendored with Go 1.19). The order in which the driver applies them, which a
//! caller must follow to get the same figures as Go, is:
//!
//! 1. decode every source profile, [`ensure_mapping`] on each, then
//!    [`combine`] them — a single profile too: Go always merges, which drops
//!    all-zero samples and unreferenced locations and canonicalizes labels;
//!    the same for the base profiles, if any;
//! 2. with `-base` / `-diff_base`: optionally [`normalize`] (`-normalize`),
//!    then [`subtract_base`];
//! 3. [`remove_uninteresting`] (the profile's own `drop_frames` /
//!    `keep_frames`); Go ignores its error;
//! 4. for each report: [`num_label_units`] (print its warnings), compute the
//!    report total (see [`subtract_base`] for `-diff_base`), then
//!    [`apply_filters`] — always, even without any filter option, since it
//!    drops samples without locations — and print the warnings it returns.
//!    (With `-relative_percentages` the total is computed after the filters.)

mod base;
mod demangle;
mod filter;
mod inlines;
mod merge;
mod scale;
mod tag_filter;

pub use base::{
    ensure_mapping, is_diff_base_sample, normalize, set_label, subtract_base, DiffBaseLabel,
    DIFF_BASE_KEY, DIFF_BASE_VALUE,
};
pub use demangle::{demangle_functions, Demangle};
pub use filter::{apply_filters, compile_regex, prune, prune_from, remove_uninteresting, Filters};
pub use inlines::drop_inlined_frames;
pub use merge::{combine, compatible, merge};
pub use scale::{convert_unit, scale, scale_n, scale_profiles};
pub use tag_filter::num_label_units;

use crate::model::{Label, Profile};
use crate::strings::StrId;

/// How Go's pprof sees a decoded label: a string label when `str` is set, a
/// numeric one when `num` or `num_unit` is set, and nothing at all otherwise
/// (Go's decoder drops such labels; a string label's number is ignored).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum LabelKind {
    Str,
    Num,
    Ignored,
}

pub(crate) fn label_kind(l: &Label) -> LabelKind {
    if !l.str.is_empty() {
        LabelKind::Str
    } else if l.num != 0 || !l.num_unit.is_empty() {
        LabelKind::Num
    } else {
        LabelKind::Ignored
    }
}

/// Go's `int64(f)` on amd64: values out of range (and NaN) become `i64::MIN`.
pub(crate) fn go_f64_to_i64(f: f64) -> i64 {
    // 2^63 is exactly representable; anything at or beyond it is out of range.
    const LIMIT: f64 = 9_223_372_036_854_775_808.0;
    if !(-LIMIT..LIMIT).contains(&f) {
        i64::MIN
    } else {
        f as i64
    }
}

/// Formats a profile's sample types as `[type/unit type/unit ...]`.
pub(crate) fn describe_sample_types(p: &Profile) -> String {
    let types: Vec<String> = p
        .sample_types
        .iter()
        .map(|vt| format!("{}/{}", p.str(vt.ty), p.str(vt.unit)))
        .collect();
    format!("[{}]", types.join(" "))
}

/// Formats a profile's period type as `type/unit`.
pub(crate) fn describe_period_type(p: &Profile) -> String {
    match p.period_type {
        Some(vt) => format!("{}/{}", p.str(vt.ty), p.str(vt.unit)),
        None => "/".to_string(),
    }
}

/// The period type as Go sees it: an absent one reads as empty strings.
pub(crate) fn period_type_strs(p: &Profile) -> (&str, &str) {
    match p.period_type {
        Some(vt) => (p.str(vt.ty), p.str(vt.unit)),
        None => ("", ""),
    }
}

/// Maps a string of one profile's table into another's, memoized per id.
pub(crate) struct StrMap {
    ids: Vec<u32>,
}

impl StrMap {
    const UNSET: u32 = u32::MAX;

    pub(crate) fn new(len: usize) -> Self {
        StrMap {
            ids: vec![Self::UNSET; len],
        }
    }

    pub(crate) fn map(&mut self, id: StrId, from: &Profile, to: &mut Profile) -> StrId {
        if id.is_empty() {
            return StrId::EMPTY;
        }
        let Some(slot) = self.ids.get_mut(id.0 as usize) else {
            return to.strings.intern(from.str(id));
        };
        if *slot == Self::UNSET {
            *slot = to.strings.intern(from.str(id)).0;
        }
        StrId(*slot)
    }
}
