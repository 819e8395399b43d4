//! What the report page (`assets/app.*`) shows, as one JSON [`View`]: the
//! summary, the top table, the flame tree and, for a recording, the
//! timeline. `report` embeds a view in the page; `web` computes one per
//! request from the profile it keeps in memory. Everything is aggregated
//! here, so the page never sees per-sample data.

mod flame;
mod loaded;
mod page;
mod summary;
mod timeline;

pub use loaded::{load, load_base, Loaded};
pub use page::{report_page, web_page};
pub use timeline::Timeline;

use anyhow::{anyhow, Result};
use memdiag_profile::report::flame::FlameTree;
use memdiag_profile::report::{self, TopReport};
use memdiag_profile::Profile;
use serde::Serialize;

use crate::args::SelectArgs;
use crate::pipeline::{prepare_loaded, Base};
use flame::Flame;
use summary::Summary;

/// Everything one rendering of the page needs.
#[derive(Serialize)]
pub struct View {
    pub summary: Summary,
    /// Exactly what `memdiag top --json` prints for the same selection.
    pub top: TopReport,
    pub flame: Flame,
    pub timeline: Option<Timeline>,
    pub controls: Controls,
}

/// The state of the web page's controls (the report page ignores them).
#[derive(Serialize, Default)]
pub struct Controls {
    pub sample_types: Vec<String>,
    pub sample_index: usize,
    pub focus: String,
    pub ignore: String,
    /// The base compared against (`""`: none), one of `bases` or the
    /// command line's `-base`.
    pub base: String,
    /// The profiles the page may pick as a base.
    pub bases: Vec<String>,
}

/// The view of `profile` (as [`crate::pipeline::load_for_report`] gives it)
/// under `select`, compared against `base` when there is one. With a base,
/// the top table shows the difference (as `top -base`) and the flame tree
/// both profiles side by side, so frames can be coloured by growth.
pub fn compute(
    profile: Profile,
    base: Option<Base>,
    select: &SelectArgs,
    source: &str,
) -> Result<View> {
    let base_name = base.as_ref().map(|b| b.name.clone()).unwrap_or_default();
    let (shown, diff_tree) = match base {
        None => (
            prepare_loaded(profile, None, select, source.to_string())?,
            None,
        ),
        Some(base) => {
            let new = prepare_loaded(profile.clone(), None, select, source.to_string())?;
            let old = prepare_loaded(base.profile.clone(), None, select, base.name.clone())?;
            let tree = FlameTree::build_diff(&new.profile, &old.profile, &new.options);
            drop((new, old));
            let shown = prepare_loaded(profile, Some(base), select, source.to_string())?;
            (shown, Some(tree))
        }
    };
    let (p, o) = (&shown.profile, &shown.options);
    // The table and the tree each read every sample: one core each.
    let (top, tree) = std::thread::scope(|s| {
        let tree = s.spawn(|| diff_tree.unwrap_or_else(|| FlameTree::build(p, o)));
        (report::top(p, o), tree.join())
    });
    let tree = tree.map_err(|_| anyhow!("building the flame graph failed"))?;
    let summary = Summary::new(p, o, &top, &base_name);
    let controls = Controls {
        sample_types: (0..p.sample_types.len())
            .map(|i| p.sample_type_name(i).to_string())
            .collect(),
        sample_index: o.sample_index,
        focus: select.focus.clone().unwrap_or_default(),
        ignore: select.ignore.clone().unwrap_or_default(),
        base: base_name,
        bases: Vec::new(),
    };
    Ok(View {
        summary,
        top,
        flame: Flame::new(tree),
        timeline: None,
        controls,
    })
}
