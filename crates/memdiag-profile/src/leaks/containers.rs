//! Container growth joins the leak it serves.
//!
//! Leaked objects kept in a `Vec` or a map also grow the container's
//! buffer, by doubling. Each step is a site of its own (`RawVec::grow_one`,
//! a `HashMap` rehash; Go's `runtime.growslice`, `runtime.hashGrow`) whose
//! series is flat between doublings and so looks like a plateau beside the
//! leak it serves. Such a site is recognised by its allocating call: the
//! same function, called the same way, as a leak site's.

use std::collections::HashMap;

use super::{allocating_frame, Class, Series};

/// Turns into leaks the sites that grow a leak's container, and returns for
/// each site the leak site it joined. A site joins when it is a plateau or
/// churn, grew over the series, and its allocating call (the allocating
/// function and every caller, see [`allocating_frame`]) is a leak site's;
/// of several such leaks it joins the fastest (`slopes`). A site whose
/// function has no leak never changes class.
pub fn join_leaks(series: &Series, slopes: &[f64], classes: &mut [Class]) -> Vec<Option<usize>> {
    let call = |i: usize| -> Option<&[u32]> {
        let stack = series.stack(series.sites[i].stack);
        let names = stack.iter().map(|&f| series.frames[f as usize].as_str());
        allocating_frame(names).map(|k| &stack[k..])
    };
    let mut leaks: HashMap<&[u32], usize> = HashMap::new();
    for i in (0..classes.len()).filter(|&i| classes[i] == Class::Leak) {
        if let Some(c) = call(i) {
            let fastest = leaks.entry(c).or_insert(i);
            if slopes[i] > slopes[*fastest] {
                *fastest = i;
            }
        }
    }
    let mut joins = vec![None; classes.len()];
    if leaks.is_empty() {
        return joins;
    }
    for (i, site) in series.sites.iter().enumerate() {
        let grew = site.values.last() > site.values.first();
        if !matches!(classes[i], Class::Plateau | Class::Churn) || !grew {
            continue;
        }
        if let Some(&leak) = call(i).and_then(|c| leaks.get(c)) {
            classes[i] = Class::Leak;
            joins[i] = Some(leak);
        }
    }
    joins
}
