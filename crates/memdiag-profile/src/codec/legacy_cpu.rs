//! The legacy binary CPU profile of gperftools and of Go before 1.9
//! (`pprof.StartCPUProfile` then wrote this format), read as pprof reads it.
//!
//! The profile is a sequence of machine words (32 or 64 bits, either byte
//! order, detected from the header):
//!
//! ```text
//! header   0, 3, 0, PERIOD_US, 0
//! sample   COUNT, DEPTH, PC_0 (leaf), ..., PC_DEPTH-1     (repeated)
//! trailer  0, 1, 0
//! ```
//!
//! followed by the process's memory map as text (`/proc/self/maps`). Samples
//! get values `samples/count` and `cpu/nanoseconds`; every PC but the leaf is
//! a return address and is moved back by one byte onto its call. Like pprof,
//! the reader then removes up to two artifacts of the signal handler: a
//! second frame shared by (nearly) all samples, and a leaf repeated as the
//! second frame.

use std::collections::HashMap;

use super::legacy_heap::{attach_mappings, parse_memory_map};
use crate::model::{Location, ValueType};
use crate::{Error, Profile};

/// pprof's `drop_frames` for CPU profiles (its `cpuProfilerRxStr`): the
/// profiler's own signal handling frames.
const CPU_DROP_FRAMES: &str = "ProfileData::Add|ProfileData::prof_handler|CpuProfiler::prof_handler|__pthread_sighandler|__restore";

/// One machine word format.
#[derive(Clone, Copy, Debug)]
struct Words {
    size: usize,
    big_endian: bool,
}

impl Words {
    /// The formats in the order pprof tries them.
    const ALL: [Words; 4] = [
        Words {
            size: 4,
            big_endian: false,
        },
        Words {
            size: 4,
            big_endian: true,
        },
        Words {
            size: 8,
            big_endian: false,
        },
        Words {
            size: 8,
            big_endian: true,
        },
    ];

    /// The word at byte `at`, if the data holds it.
    fn get(self, data: &[u8], at: usize) -> Option<u64> {
        let bytes = data.get(at..at.checked_add(self.size)?)?;
        let fold = |acc: u64, &b: &u8| acc << 8 | u64::from(b);
        Some(if self.big_endian {
            bytes.iter().fold(0, fold)
        } else {
            bytes.iter().rev().fold(0, fold)
        })
    }

    /// The sampling period in microseconds when `data` starts with a header
    /// in this format.
    fn header(self, data: &[u8]) -> Option<u64> {
        let w = |i: usize| self.get(data, i * self.size);
        match (w(0)?, w(1)?, w(2)?, w(3)?, w(4)?) {
            (0, 3, 0, period, 0) if period > 0 => Some(period),
            _ => None,
        }
    }
}

/// The word format and sampling period (µs) of a legacy CPU profile header.
fn detect(data: &[u8]) -> Option<(Words, u64)> {
    Words::ALL
        .into_iter()
        .find_map(|w| w.header(data).map(|period| (w, period)))
}

/// True when `data` starts with a legacy CPU profile header. (A protobuf
/// cannot start with a zero byte, which every such header does.)
pub fn looks_like(data: &[u8]) -> bool {
    detect(data).is_some()
}

pub fn parse(data: &[u8]) -> Result<Profile, Error> {
    let (words, period_us) = detect(data).ok_or_else(|| {
        Error::invalid("legacy CPU profile", "no header (words 0, 3, 0, period, 0)")
    })?;
    let period = (period_us as i64).wrapping_mul(1000);

    // Samples as stacks of adjusted addresses.
    let mut stacks: Vec<(i64, Vec<u64>)> = Vec::new();
    let mut at = 5 * words.size;
    let truncated = |at: usize| {
        Error::invalid(
            "legacy CPU profile",
            format!("truncated sample at byte {at} (no end-of-data marker before the end)"),
        )
    };
    while at < data.len() {
        let start = at;
        let count = words.get(data, at).ok_or_else(|| truncated(start))?;
        let depth = words
            .get(data, at + words.size)
            .ok_or_else(|| truncated(start))?;
        at += 2 * words.size;
        let available = (data.len() - at) / words.size;
        if depth > available as u64 {
            return Err(Error::invalid(
                "legacy CPU profile",
                format!(
                    "sample at byte {start} has {depth} addresses but only {available} words follow"
                ),
            ));
        }
        let mut stack: Vec<u64> = (0..depth as usize)
            .map(|i| words.get(data, at + i * words.size).unwrap_or(0))
            .collect();
        at += depth as usize * words.size;
        if count == 0 && stack == [0] {
            break; // end of data
        }
        for a in stack.iter_mut().skip(1) {
            // Return addresses: step back onto the call instruction.
            *a = a.wrapping_sub(1);
        }
        stacks.push((count as i64, stack));
    }
    let rest = &data[at.min(data.len())..];

    strip_signal_frames(&mut stacks);

    let mut p = Profile::with_sample_types(&[("samples", "count"), ("cpu", "nanoseconds")]);
    p.period_type = Some(ValueType {
        ty: p.strings.intern("cpu"),
        unit: p.strings.intern("nanoseconds"),
    });
    p.period = period;
    p.drop_frames = p.strings.intern(CPU_DROP_FRAMES);
    // Locations in order of first use.
    let mut index: HashMap<u64, u32> = HashMap::new();
    let mut samples: Vec<(i64, Vec<u32>)> = Vec::with_capacity(stacks.len());
    for (count, stack) in stacks {
        let locs = stack
            .into_iter()
            .map(|addr| {
                *index.entry(addr).or_insert_with(|| {
                    p.locations.push(Location {
                        address: addr,
                        ..Location::default()
                    });
                    (p.locations.len() - 1) as u32
                })
            })
            .collect();
        samples.push((count, locs));
    }

    let text = String::from_utf8_lossy(rest);
    let maps = parse_memory_map(text.lines());
    attach_mappings(&mut p, maps);

    for (count, mut locs) in samples {
        // The leaf may also appear, adjusted, as the second frame.
        if locs.len() > 1
            && p.locations[locs[0] as usize].address
                == p.locations[locs[1] as usize].address.wrapping_add(1)
        {
            locs.remove(1);
        }
        p.samples
            .push(&locs, &[count, count.wrapping_mul(period)], &[]);
    }
    Ok(p)
}

/// Removes, up to twice, a second frame that all samples but one in 32 share:
/// a frame the signal handler pushed, not one of the program's.
fn strip_signal_frames(stacks: &mut [(i64, Vec<u64>)]) {
    let margin = stacks.len() / 32;
    for _ in 0..2 {
        let mut counts: HashMap<u64, usize> = HashMap::new();
        for (_, s) in stacks.iter() {
            if let Some(&a) = s.get(1) {
                *counts.entry(a).or_default() += 1;
            }
        }
        // At most one address can be that common.
        let Some((&common, _)) = counts.iter().find(|(_, &n)| n >= stacks.len() - margin) else {
            continue;
        };
        for (_, s) in stacks.iter_mut() {
            if s.get(1) == Some(&common) {
                s.remove(1);
            }
        }
    }
}
