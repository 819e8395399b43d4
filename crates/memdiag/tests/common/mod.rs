// Shared helpers for the collector's integration tests (each test binary
// installs `memdiag::Profiled<System>` as its global allocator).
#![allow(dead_code)]

use memdiag_profile::Profile;

/// Sum of each sample type over the samples whose stack has a function whose
/// name contains `needle`.
pub fn totals_for(p: &Profile, needle: &str) -> [i64; 4] {
    let mut out = [0i64; 4];
    for s in p.samples.iter() {
        let hit = s.locations.iter().any(|&l| {
            p.locations[l as usize]
                .lines
                .iter()
                .any(|line| p.function_name(line).contains(needle))
        });
        if hit {
            for (o, v) in out.iter_mut().zip(s.values) {
                *o += v;
            }
        }
    }
    out
}
