//! Comparing against a base profile: `-base`, `-diff_base`, `-normalize`.

use super::{label_kind, LabelKind};
use crate::model::{Label, Mapping, Profile, Sample, Samples};
use crate::strings::StrId;
use crate::Error;

/// The label key pprof puts on the samples of a `-diff_base` profile.
pub const DIFF_BASE_KEY: &str = "pprof::base";
/// The value of [`DIFF_BASE_KEY`] on those samples.
pub const DIFF_BASE_VALUE: &str = "true";

/// Subtracts `base` from `p`, as pprof's driver does for `-base` and
/// `-diff_base`: the base is scaled by -1 and [`combine`](super::combine)d
/// with `p`, so samples with the same stack and labels net out and those
/// netting to zero disappear. Both inputs should be as loaded (each already
/// combined from its sources).
///
/// With `diff_base`, every base sample first gets the string label
/// `pprof::base=true` (replacing any string values of that key), so base
/// samples never net out against `p`'s: they stay separate, negative samples.
/// A report must then compute its total the way pprof's `computeTotal` does:
/// the sum of the absolute values of the reported sample type over all
/// samples, except that when the base samples (see [`is_diff_base_sample`])
/// sum to a non-zero absolute total, that sum alone is the total — percentages
/// are relative to the base. (With `-mean`, each of those sums is divided by
/// the matching sum of sample type 0.)
pub fn subtract_base(p: Profile, mut base: Profile, diff_base: bool) -> Result<Profile, Error> {
    if diff_base {
        set_label(&mut base, DIFF_BASE_KEY, &[DIFF_BASE_VALUE]);
    }
    super::scale(&mut base, -1.0);
    super::combine(vec![p, base])
}

/// `-normalize`: scales each sample type of `p` so that its total equals the
/// base's (by `base total / p total`, or 0 when `p`'s total is 0). Call it
/// before [`subtract_base`]. Fails unless the profiles are
/// [`compatible`](super::compatible).
pub fn normalize(p: &mut Profile, base: &Profile) -> Result<(), Error> {
    super::compatible(p, base)?;
    let n = p.sample_types.len();
    let sums = |q: &Profile| {
        let mut sums = vec![0i64; n];
        for s in q.samples.iter() {
            for (sum, v) in sums.iter_mut().zip(s.values) {
                *sum = sum.wrapping_add(*v);
            }
        }
        sums
    };
    let (base_sums, src_sums) = (sums(base), sums(p));
    let ratios: Vec<f64> = base_sums
        .iter()
        .zip(&src_sums)
        .map(|(&b, &s)| if s == 0 { 0.0 } else { b as f64 / s as f64 })
        .collect();
    super::scale_n(p, &ratios)
}

/// Sets the string label `key` to `values` on every sample, replacing the
/// string values it had (pprof's `Profile.SetLabel`; numeric labels of the
/// same key stay). Empty values cannot be represented and are skipped.
pub fn set_label(p: &mut Profile, key: &str, values: &[&str]) {
    let key_id = p.strings.intern(key);
    let new: Vec<Label> = values
        .iter()
        .filter(|v| !v.is_empty())
        .map(|v| Label {
            key: key_id,
            str: p.strings.intern(v),
            ..Default::default()
        })
        .collect();
    let mut samples = Samples::new(p.samples.width());
    samples.reserve(p.samples.len(), 0);
    let mut labels = Vec::new();
    for s in p.samples.iter() {
        labels.clear();
        labels.extend(
            s.labels
                .iter()
                .filter(|l| !(l.key == key_id && label_kind(l) == LabelKind::Str)),
        );
        labels.extend_from_slice(&new);
        samples.push(s.locations, s.values, &labels);
    }
    p.samples = samples;
}

/// Gives a profile without mappings one empty mapping that every location
/// uses, as pprof's driver does to each profile it loads (in
/// `locateBinaries`), before merging. Go runtime profiles without mappings
/// thus get one (with an empty file name, which reports do not show).
pub fn ensure_mapping(p: &mut Profile) {
    if !p.mappings.is_empty() {
        return;
    }
    p.mappings.push(Mapping::default());
    for loc in &mut p.locations {
        loc.mapping = Some(0);
    }
}

/// Recognizes the samples of a `-diff_base` profile (those with the string
/// label `pprof::base=true`); see [`subtract_base`] for how reports use it.
#[derive(Clone, Copy, Debug)]
pub struct DiffBaseLabel {
    key: StrId,
    value: StrId,
}

impl DiffBaseLabel {
    /// `None` when no sample of `p` can carry the label.
    pub fn find(p: &Profile) -> Option<Self> {
        Some(DiffBaseLabel {
            key: p.strings.find(DIFF_BASE_KEY)?,
            value: p.strings.find(DIFF_BASE_VALUE)?,
        })
    }

    /// Whether `s` (a sample of the profile given to [`DiffBaseLabel::find`])
    /// belongs to the diff base.
    pub fn matches(&self, s: &Sample<'_>) -> bool {
        s.labels
            .iter()
            .any(|l| l.key == self.key && l.str == self.value)
    }
}

/// Whether sample `s` of `p` belongs to the diff base (pprof's
/// `Sample.DiffBaseSample`). Looks the label strings up on every call: for
/// many samples use [`DiffBaseLabel`].
pub fn is_diff_base_sample(p: &Profile, s: &Sample<'_>) -> bool {
    DiffBaseLabel::find(p).is_some_and(|d| d.matches(s))
}
