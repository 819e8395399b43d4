//! Building the pprof heap profile: lazy symbolization, at export time.

use crate::objects;
use crate::sampler::{guarded, sample_rate};
use crate::state::{self, FP_SHIFT};
use memdiag_profile::{Function, Line, Location, Mapping, Profile, ValueType};
use std::collections::HashMap;
use std::os::unix::ffi::OsStringExt;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};

/// The current heap profile: Go's four heap sample types (alloc_objects,
/// alloc_space, inuse_objects, inuse_space; estimated unsampled values),
/// period = the sampling rate in bytes.
pub fn heap_profile() -> Profile {
    guarded(|| build(false))
}

/// The heap profile at the highest estimated live heap seen so far: its
/// inuse_objects / inuse_space are the sampled live set at that peak (taken
/// each time the live heap grows past the last peak by 1 % or 64 KiB, so
/// within about 1 % of the true high); alloc_* are the current totals.
pub fn peak_profile() -> Profile {
    guarded(|| build(true))
}

/// Writes [`heap_profile`] as a gzipped pprof file.
pub fn write_heap_profile(path: impl AsRef<Path>) -> std::io::Result<()> {
    guarded(|| std::fs::write(path, memdiag_profile::encode_gzip(&build(false))))
}

/// Process memory beside the heap estimate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MemoryStats {
    /// Resident set size, from /proc/self/statm (0 if unreadable).
    pub rss_bytes: u64,
    /// Estimated live heap bytes (sum of the sampled in-use weights).
    pub heap_inuse_bytes: u64,
    /// Estimated live heap at the recorded peak.
    pub heap_peak_bytes: u64,
    /// `rss_bytes - heap_inuse_bytes`: memory resident but not live heap
    /// (allocator overhead and fragmentation, stacks, code, other mappings).
    pub gap_bytes: i64,
    /// The sampling rate the estimates come from.
    pub sample_rate: usize,
    /// Memory the profiler's own tables hold (stack table, frame store,
    /// per-shard counters; an upper bound). Sampled blocks are not
    /// included: they are the program's, plus a 32-byte header each and
    /// rounding up to a power of two.
    pub profiler_bytes: u64,
}

/// Resident memory, estimated live heap, and their gap.
pub fn memory_stats() -> MemoryStats {
    guarded(|| {
        let rss_bytes = std::fs::read_to_string("/proc/self/statm")
            .ok()
            .and_then(|s| s.split_whitespace().nth(1)?.parse::<u64>().ok())
            // SAFETY: sysconf has no preconditions.
            .map(|pages| pages * unsafe { libc::sysconf(libc::_SC_PAGESIZE) } as u64)
            .unwrap_or(0);
        let heap_inuse_bytes = state::live_bytes();
        let heap_peak_bytes = state::peak_bytes();
        MemoryStats {
            rss_bytes,
            heap_inuse_bytes,
            heap_peak_bytes,
            gap_bytes: rss_bytes as i64 - heap_inuse_bytes as i64,
            sample_rate: sample_rate(),
            profiler_bytes: state::table_bytes(),
        }
    })
}

static EXIT_HOOK: AtomicBool = AtomicBool::new(false);

/// Registers (once, at a thread's first sampling decision) the `atexit`
/// handler that writes the profile named by `MEMDIAG_PROFILE`. No Rust
/// allocation: `getenv` and `atexit` only.
pub(crate) fn register_exit_profile() {
    if EXIT_HOOK.load(Ordering::Relaxed) || EXIT_HOOK.swap(true, Ordering::Relaxed) {
        return;
    }
    // SAFETY: a NUL-terminated name; only tested for presence.
    if unsafe { libc::getenv(c"MEMDIAG_PROFILE".as_ptr()) }.is_null() {
        return;
    }
    extern "C" fn write_at_exit() {
        // SAFETY: a NUL-terminated name; the value is copied at once.
        let p = unsafe { libc::getenv(c"MEMDIAG_PROFILE".as_ptr()) };
        if p.is_null() {
            return;
        }
        // SAFETY: getenv returns a NUL-terminated string.
        let bytes = unsafe { std::ffi::CStr::from_ptr(p) }.to_bytes().to_vec();
        let path = std::path::PathBuf::from(std::ffi::OsString::from_vec(bytes));
        if path.as_os_str().is_empty() {
            return;
        }
        if let Err(e) = write_heap_profile(&path) {
            eprintln!("memdiag: cannot write {}: {e}", path.display());
        }
    }
    // SAFETY: registers a plain function.
    unsafe { libc::atexit(write_at_exit) };
}

/// Whether a (possibly inlined) frame belongs to the allocation path
/// (memdiag itself, by name or by source file, or the global-allocator
/// shims): such frames are dropped from the leaf end. Names alone do not do
/// with `debug = "line-tables-only"`, where inlined frames have short names.
fn is_internal(name: &str, file: &str) -> bool {
    file.starts_with(concat!(env!("CARGO_MANIFEST_DIR"), "/src/"))
        || name.starts_with("memdiag::")
        || name.starts_with("<memdiag::")
        || name.contains("__rust_alloc")
        || name.contains("__rust_dealloc")
        || name.contains("__rust_realloc")
        || name.contains("__rg_")
        || name.contains("__rdl_")
}

struct Builder {
    p: Profile,
    locations: HashMap<usize, u32>,
    functions: HashMap<(String, String), u32>,
    /// Per location: how many of its lines, innermost first, are internal.
    internal: Vec<usize>,
    /// Location → the same location without its internal lines.
    trimmed: HashMap<u32, u32>,
    /// The index of the first loaded object's mapping, and each object's
    /// address range, in mapping order.
    mappings: (u32, Vec<std::ops::Range<u64>>),
}

impl Builder {
    fn function(&mut self, name: &str, system_name: &str, file: &str) -> u32 {
        let key = (name.to_string(), file.to_string());
        if let Some(&f) = self.functions.get(&key) {
            return f;
        }
        let f = Function {
            name: self.p.strings.intern(name),
            system_name: self.p.strings.intern(system_name),
            filename: self.p.strings.intern(file),
            start_line: 0,
        };
        let id = self.p.functions.len() as u32;
        self.p.functions.push(f);
        self.functions.insert(key, id);
        id
    }

    /// The location of return address `ret`, symbolized on first use.
    fn location(&mut self, ret: usize) -> u32 {
        if let Some(&l) = self.locations.get(&ret) {
            return l;
        }
        // The call instruction is just before the return address.
        let pc = ret.saturating_sub(1);
        let mut syms: Vec<(String, String, String, i64)> = Vec::new();
        backtrace::resolve(pc as *mut std::ffi::c_void, |s| {
            let (name, system) = match s.name() {
                Some(n) => (format!("{n:#}"), n.as_str().unwrap_or("").to_string()),
                None => (String::new(), String::new()),
            };
            let file = s
                .filename()
                .map(|f| f.display().to_string())
                .unwrap_or_default();
            syms.push((name, system, file, s.lineno().unwrap_or(0) as i64));
        });
        let mut lines = Vec::with_capacity(syms.len());
        let mut internal = 0;
        let mut leading = true;
        for (name, system, file, line) in &syms {
            if name.is_empty() {
                continue;
            }
            leading &= is_internal(name, file);
            if leading {
                internal += 1;
            }
            let f = self.function(name, system, file);
            lines.push(Line {
                function: Some(f),
                line: *line,
                column: 0,
            });
        }
        // With `debug = "line-tables-only"` DWARF names lack their paths
        // (`leak_some`): take the real function's from the symbol table.
        if let Some(outer) = lines.last_mut() {
            if let Some(full) = symtab_name(pc) {
                let f = outer.function.unwrap_or(0) as usize;
                let short = self.p.str(self.p.functions[f].name).to_string();
                if !short.contains("::") && last_segment(&full) == last_segment(&short) {
                    let file = self.p.str(self.p.functions[f].filename).to_string();
                    let system = self.p.str(self.p.functions[f].system_name).to_string();
                    outer.function = Some(self.function(&full, &system, &file));
                }
            }
        }
        let (first, ranges) = &self.mappings;
        let mapping = ranges
            .iter()
            .position(|r| r.contains(&(pc as u64)))
            .map(|i| first + i as u32);
        let id = self.p.locations.len() as u32;
        self.p.locations.push(Location {
            mapping,
            address: pc as u64,
            lines,
            is_folded: false,
        });
        self.internal.push(internal);
        self.locations.insert(ret, id);
        id
    }
}

impl Builder {
    /// `loc` without its leading internal lines (a new location, made once).
    fn trim(&mut self, loc: u32) -> u32 {
        let k = self.internal[loc as usize];
        if k == 0 {
            return loc;
        }
        if let Some(&t) = self.trimmed.get(&loc) {
            return t;
        }
        let mut l = self.p.locations[loc as usize].clone();
        l.lines.drain(..k);
        let id = self.p.locations.len() as u32;
        self.p.locations.push(l);
        self.internal.push(0);
        self.trimmed.insert(loc, id);
        id
    }
}

fn build(peak: bool) -> Profile {
    let rate = sample_rate();
    let stats = memory_stats();
    let snapshot = state::snapshot();

    let mut p = Profile::with_sample_types(&[
        ("alloc_objects", "count"),
        ("alloc_space", "bytes"),
        ("inuse_objects", "count"),
        ("inuse_space", "bytes"),
    ]);
    p.period_type = Some(ValueType {
        ty: p.strings.intern("space"),
        unit: p.strings.intern("bytes"),
    });
    p.period = rate as i64;
    p.default_sample_type = p.strings.intern("inuse_space");
    p.time_nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as i64)
        .unwrap_or(0);
    let comment = format!(
        "memdiag: heap sampled every {rate} bytes on average; values are estimates of the unsampled totals"
    );
    let c = p.strings.intern(&comment);
    p.comments.push(c);
    let comment = format!(
        "memdiag: rss={} heap_inuse_estimate={} heap_peak_estimate={} rss_minus_heap={}",
        stats.rss_bytes, stats.heap_inuse_bytes, stats.heap_peak_bytes, stats.gap_bytes
    );
    let c = p.strings.intern(&comment);
    p.comments.push(c);
    if peak {
        let c = p
            .strings
            .intern("memdiag: peak profile: inuse_* are the live set at the highest live heap");
        p.comments.push(c);
    }

    let half = 1u64 << (FP_SHIFT - 1);
    let samples = snapshot.into_iter().map(|(frames, v)| {
        let (inuse_objects, inuse_space) = if peak { (v[4], v[5]) } else { (v[2], v[3]) };
        let values = [
            ((v[0] + half) >> FP_SHIFT) as i64,
            v[1] as i64,
            ((inuse_objects + half) >> FP_SHIFT) as i64,
            inuse_space as i64,
        ];
        (frames, values)
    });
    symbolize(p, samples)
}

/// Adds `samples` (return addresses, innermost first, and one value per
/// sample type of `p`) to `p`: symbolized, the allocation path's frames
/// dropped, equal stacks merged. Call with the reentrancy guard set.
pub(crate) fn symbolize<F: AsRef<[usize]>, const N: usize>(
    mut p: Profile,
    samples: impl IntoIterator<Item = (F, [i64; N])>,
) -> Profile {
    let first = p.mappings.len() as u32;
    let mut ranges = Vec::new();
    for o in objects::loaded() {
        ranges.push(o.start..o.limit);
        let m = Mapping {
            memory_start: o.start,
            memory_limit: o.limit,
            file_offset: o.offset,
            filename: p.strings.intern(&o.path),
            build_id: p.strings.intern(&o.build_id),
            has_functions: true,
            has_filenames: true,
            has_line_numbers: true,
            has_inline_frames: true,
        };
        p.mappings.push(m);
    }

    let mut b = Builder {
        p,
        locations: HashMap::new(),
        functions: HashMap::new(),
        internal: Vec::new(),
        trimmed: HashMap::new(),
        mappings: (first, ranges),
    };
    let mut merged: HashMap<Vec<u32>, usize> = HashMap::new();
    let mut out: Vec<(Vec<u32>, [i64; N])> = Vec::new();
    for (frames, values) in samples {
        let mut locs: Vec<u32> = frames.as_ref().iter().map(|&a| b.location(a)).collect();
        // Drop the allocation path's frames from the leaf end: whole
        // locations, then the inlined internal lines of the next one.
        let skip = locs
            .iter()
            .take_while(|&&l| {
                let n = b.p.locations[l as usize].lines.len();
                n > 0 && b.internal[l as usize] == n
            })
            .count();
        locs.drain(..skip);
        if let Some(leaf) = locs.first_mut() {
            *leaf = b.trim(*leaf);
        }
        match merged.get(&locs) {
            Some(&i) => {
                for (a, x) in out[i].1.iter_mut().zip(values) {
                    *a += x;
                }
            }
            None => {
                merged.insert(locs.clone(), out.len());
                out.push((locs, values));
            }
        }
    }
    let mut p = b.p;
    for (locs, values) in &out {
        p.samples.push(locs, values, &[]);
    }
    p
}

/// The last path segment of a function name, without generic arguments.
fn last_segment(name: &str) -> String {
    let mut plain = String::with_capacity(name.len());
    let mut depth = 0i32;
    for c in name.chars() {
        match c {
            '<' => {
                if depth == 0 && plain.ends_with("::") {
                    plain.truncate(plain.len() - 2);
                }
                depth += 1;
            }
            '>' => depth -= 1,
            _ if depth == 0 => plain.push(c),
            _ => {}
        }
    }
    match plain.rfind("::") {
        Some(i) => plain[i + 2..].to_string(),
        None => plain,
    }
}

/// The main executable's function symbols: (start, end, demangled name),
/// sorted, at run-time addresses. Read once, at the first export.
fn symtab() -> &'static [(u64, u64, String)] {
    static SYMS: std::sync::OnceLock<Vec<(u64, u64, String)>> = std::sync::OnceLock::new();
    SYMS.get_or_init(|| {
        use object::{Object, ObjectSymbol, SymbolKind};
        let Ok(data) = std::fs::read("/proc/self/exe") else {
            return Vec::new();
        };
        let Ok(file) = object::File::parse(&*data) else {
            return Vec::new();
        };
        let bias = objects::loaded().first().map_or(0, |o| o.bias);
        let mut v: Vec<(u64, u64, String)> = file
            .symbols()
            .filter(|s| s.kind() == SymbolKind::Text && s.size() > 0)
            .filter_map(|s| {
                let name = s.name().ok()?;
                let start = s.address().wrapping_add(bias);
                Some((
                    start,
                    start + s.size(),
                    format!("{:#}", rustc_demangle::demangle(name)),
                ))
            })
            .collect();
        v.sort_unstable_by_key(|e| e.0);
        v
    })
}

fn symtab_name(pc: usize) -> Option<String> {
    let syms = symtab();
    let pc = pc as u64;
    let i = syms.partition_point(|e| e.0 <= pc).checked_sub(1)?;
    let (start, end, name) = &syms[i];
    (*start <= pc && pc < *end).then(|| name.clone())
}

#[cfg(test)]
mod tests {
    use super::last_segment;

    #[test]
    fn last_segments() {
        assert_eq!(last_segment("leaky::leak_some"), "leak_some");
        assert_eq!(last_segment("leak_some"), "leak_some");
        assert_eq!(last_segment("from_elem<u8>"), "from_elem");
        assert_eq!(last_segment("alloc::vec::from_elem::<u8>"), "from_elem");
        assert_eq!(
            last_segment("<alloc::raw_vec::RawVecInner<A>>::grow_one"),
            "grow_one"
        );
    }
}
