//! The inputs of `report` and `web`, loaded once: profile files and URLs
//! (merged, as `top` does), or one directory written by `memdiag record`
//! (its last snapshot is shown, with the timeline of all of them).

use std::path::Path;

use anyhow::{bail, Result};
use memdiag_profile::Profile;

use super::timeline::{self, Timeline};
use crate::args::SelectArgs;
use crate::input::is_url;
use crate::pipeline::{load_for_report, Base};

pub struct Loaded {
    /// As [`load_for_report`] gives it: not yet filtered.
    pub profile: Profile,
    /// The inputs the profile came from.
    pub source: String,
    pub timeline: Option<Timeline>,
    /// A recording's snapshot files, oldest first.
    pub snapshots: Vec<String>,
    /// The command line's `-base` or `-diff_base`.
    pub base: Option<Base>,
}

pub fn load(inputs: &[String], select: &SelectArgs) -> Result<Loaded> {
    let base = match (&select.base, &select.diff_base) {
        (Some(b), _) => Some(load_base(b, false)?),
        (None, Some(b)) => Some(load_base(b, true)?),
        (None, None) => None,
    };
    let is_dir = |i: &String| !is_url(i) && Path::new(i).is_dir();
    if !inputs.iter().any(is_dir) {
        return Ok(Loaded {
            profile: load_for_report(inputs)?,
            source: inputs.join(" "),
            timeline: None,
            snapshots: Vec::new(),
            base,
        });
    }
    let [dir] = inputs else {
        bail!(
            "{}: a recording directory is shown on its own; give it without other inputs",
            inputs.join(" ")
        );
    };
    let (timeline, snapshots) = timeline::analyze(dir, select)?;
    let Some(last) = snapshots.last() else {
        bail!("{dir}: the recording holds no snapshots");
    };
    Ok(Loaded {
        profile: load_for_report(std::slice::from_ref(last))?,
        source: last.clone(),
        timeline: Some(timeline),
        snapshots,
        base,
    })
}

/// Loads a profile to compare against (`diff`: keep it apart, as
/// `-diff_base` does, rather than subtract it as `-base`).
pub fn load_base(input: &str, diff: bool) -> Result<Base> {
    Ok(Base {
        profile: load_for_report(&[input.to_string()])?,
        diff,
        name: input.to_string(),
    })
}
