//! From command-line inputs to a profile ready for a report, in the order
//! `go tool pprof`'s driver applies each step (see `memdiag_profile::ops`):
//! load and combine, subtract a base, drop uninteresting frames, take the
//! report total, filter.

use anyhow::{Context, Result};
use memdiag_profile::ops::{self, Filters};
use memdiag_profile::report::{compute_total, Granularity, Options};
use memdiag_profile::Profile;

use crate::args::SelectArgs;
use crate::input;

pub struct Prepared {
    pub profile: Profile,
    pub options: Options,
}

/// Loads every input and combines them into one profile (a single input is
/// combined too: that drops all-zero samples, as Go does).
pub fn load_combined(inputs: &[String]) -> Result<Profile> {
    let mut profiles = Vec::with_capacity(inputs.len());
    for i in inputs {
        let mut p = input::load(i)?;
        ops::ensure_mapping(&mut p);
        profiles.push(p);
    }
    ops::combine(profiles).with_context(|| format!("merging {}", inputs.join(", ")))
}

/// [`load_combined`], then names simplified as Go's symbolizer does for
/// every profile it reports on (`alloc::vec::from_elem<u8>` →
/// `alloc::vec::from_elem`).
pub fn load_for_report(inputs: &[String]) -> Result<Profile> {
    let mut p = load_combined(inputs)?;
    ops::demangle_functions(&mut p, ops::Demangle::default(), false);
    Ok(p)
}

/// The filters as Go lists them under `Active filters:`.
fn active_filters(f: &Filters) -> Vec<String> {
    [
        ("focus", &f.focus),
        ("ignore", &f.ignore),
        ("hide", &f.hide),
        ("show", &f.show),
        ("show_from", &f.show_from),
        ("tagfocus", &f.tag_focus),
        ("tagignore", &f.tag_ignore),
    ]
    .into_iter()
    .filter_map(|(k, v)| {
        v.as_ref()
            .filter(|v| !v.is_empty())
            .map(|v| format!("{k}={v}"))
    })
    .collect()
}

fn sample_index(profile: &Profile, select: &SelectArgs) -> Result<usize> {
    let legacy_flag = [
        (select.alloc_space, "alloc_space"),
        (select.alloc_objects, "alloc_objects"),
        (select.inuse_space, "inuse_space"),
        (select.inuse_objects, "inuse_objects"),
    ]
    .into_iter()
    .find_map(|(set, name)| set.then_some(name));
    Ok(match select.sample_index.as_deref().or(legacy_flag) {
        Some(spec) => profile.sample_index(spec)?,
        None => profile.default_sample_index(),
    })
}

pub fn prepare(inputs: &[String], select: &SelectArgs) -> Result<Prepared> {
    let profile = load_for_report(inputs)?;
    let base = match (&select.base, &select.diff_base) {
        (Some(b), _) => Some((b, false)),
        (None, Some(b)) => Some((b, true)),
        (None, None) => None,
    };
    let base = match base {
        Some((input, diff)) => Some(Base {
            profile: load_for_report(std::slice::from_ref(input))?,
            diff,
            name: input.clone(),
        }),
        None => None,
    };
    prepare_loaded(profile, base, select, inputs.join(" "))
}

/// A loaded base profile to subtract (`-base`, or `-diff_base` when `diff`).
pub struct Base {
    pub profile: Profile,
    pub diff: bool,
    pub name: String,
}

/// [`prepare`] for profiles already loaded with [`load_for_report`] (the
/// `web` command keeps them in memory); `select`'s base inputs are ignored
/// in favour of `base`.
pub fn prepare_loaded(
    mut profile: Profile,
    base: Option<Base>,
    select: &SelectArgs,
    source_name: String,
) -> Result<Prepared> {
    if let Some(base) = base {
        profile = ops::subtract_base(profile, base.profile, base.diff)
            .with_context(|| format!("subtracting base {}", base.name))?;
    }
    // Go ignores a failure here (a drop_frames regex it cannot compile).
    let _ = ops::remove_uninteresting(&mut profile);

    let (_, unit_warnings) = ops::num_label_units(&profile);
    for w in unit_warnings {
        eprintln!("{w}");
    }
    let sample_index = sample_index(&profile, select)?;
    let total = compute_total(&profile, sample_index);

    let filters = Filters {
        focus: select.focus.clone(),
        ignore: select.ignore.clone(),
        hide: select.hide.clone(),
        show: select.show.clone(),
        show_from: select.show_from.clone(),
        tag_focus: select.tagfocus.clone(),
        tag_ignore: select.tagignore.clone(),
        ..Filters::default()
    };
    for warning in ops::apply_filters(&mut profile, &filters)? {
        eprintln!("{warning}");
    }
    if select.noinlines {
        ops::drop_inlined_frames(&mut profile);
    }

    let granularity = if select.lines {
        Granularity::Lines
    } else if select.files {
        Granularity::Files
    } else if select.addresses {
        Granularity::Addresses
    } else {
        Granularity::Functions
    };
    let mut options = Options {
        sample_index,
        granularity,
        node_count: select.nodecount,
        node_fraction: select.nodefraction,
        cum_sort: select.cum,
        source_name,
        total: Some(total),
        active_filters: active_filters(&filters),
        ..Options::default()
    };
    if let Some(unit) = &select.unit {
        options.unit = unit.clone();
    }
    if let Some(dirs) = &select.source_path {
        options.source_path = std::env::split_paths(dirs).collect();
    }
    Ok(Prepared { profile, options })
}
