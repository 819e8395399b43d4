//! `-noinlines`: attribute inlined functions to the function they were
//! inlined into.

use crate::Profile;

/// Keeps only the outermost line of each location (the caller that the
/// inlined frames were folded into), as pprof's `Aggregate` does when inline
/// frames are not wanted.
pub fn drop_inlined_frames(p: &mut Profile) {
    for m in &mut p.mappings {
        m.has_inline_frames = false;
    }
    for l in &mut p.locations {
        if l.lines.len() > 1 {
            l.lines.drain(..l.lines.len() - 1);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Line, Location};

    #[test]
    fn keeps_the_outermost_line() {
        let mut p = Profile::default();
        let line = |n| Line {
            function: None,
            line: n,
            column: 0,
        };
        p.locations.push(Location {
            lines: vec![line(1), line(2), line(3)],
            ..Location::default()
        });
        drop_inlined_frames(&mut p);
        assert_eq!(p.locations[0].lines, vec![line(3)]);
    }
}
