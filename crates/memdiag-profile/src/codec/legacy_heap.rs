//! Go's legacy heap profile text: the `debug=1` output of `/debug/pprof/heap`
//! and `pprof.Lookup("heap").WriteTo(w, 1)`, plus the older variants pprof
//! still reads (`heapz_v2`, `heap_v2`, `heapprofile`, `growthz`,
//! `fragmentationz`).
//!
//! ```text
//! heap profile: 347: 578240 [2221: 17494712] @ heap/8192
//! 4: 229376 [4: 229376] @ 0x40dbae 0x4bed2a 0x4bf4e9 0x462901
//! #   0x4bed29    main.fillMaps+0x149    memdiag/fixtures/main.go:182
//! ...
//! # runtime.MemStats
//! # HeapInuse = 2736128
//! ```
//!
//! (the frame lines are tab-separated). Values follow pprof's reading of the
//! format exactly: the header picks the sample types (`alloc_objects
//! alloc_space inuse_objects inuse_space`, or only `objects space` when the
//! alloc totals add nothing over the in-use ones) and the sampling rate; each
//! record is unsampled with pprof's Poisson estimate, computed with the same
//! floating-point steps as Go's `math.Exp` so that the truncated integers
//! agree; every stack address is moved back by one byte onto its call
//! instruction; records carry a `bytes` label (the object size).
//!
//! [`parse_unsymbolized`] stops there and returns what `go tool pprof` reads:
//! bare addresses. [`parse`] also uses what the Go runtime printed under each
//! record: the `#` frame lines name each address (inlined frames become extra
//! lines of one location) and the frames the runtime did not print (the
//! allocator's own `runtime.*` frames at the leaf and `runtime.goexit` at the
//! root) are left out of the stack, as the runtime does when it writes the
//! same profile as protobuf. The other `#` lines (the `runtime.MemStats`
//! section) become profile comments as written, e.g. `# HeapInuse = 2736128`;
//! starting with `#`, they stay out of report headers as pprof does.
//!
//! A `/proc/self/maps`-like section after `--- Memory map: ---` or
//! `MAPPED_LIBRARIES:` becomes the mappings; without one every location gets
//! pprof's catch-all mapping `[0, 2^64-1)`.

use std::collections::HashMap;
use std::ops::Range;
use std::sync::OnceLock;

use regex::Regex;

use crate::model::{Function, Label, Line, Location, Mapping, ValueType};
use crate::strings::StrId;
use crate::{Error, Profile};

/// True when `data` starts like Go's legacy heap text.
pub fn looks_like(data: &[u8]) -> bool {
    data.starts_with(b"heap profile:")
}

/// Reads legacy heap text with the function names, files and lines of the
/// text's `#` frame lines, and its `# runtime.MemStats` lines as comments.
pub fn parse(data: &[u8]) -> Result<Profile, Error> {
    parse_with(data, true)
}

/// Reads legacy heap text exactly as `go tool pprof` does: the same samples,
/// values, labels, locations (bare addresses) and mappings, no comments.
pub fn parse_unsymbolized(data: &[u8]) -> Result<Profile, Error> {
    parse_with(data, false)
}

/// pprof's `drop_frames` for heap profiles (its `allocRxStr`): allocator entry
/// points of C, C++, TCMalloc and the Go runtime.
const ALLOC_DROP_FRAMES: &str = concat!(
    "calloc|cfree|malloc|free|memalign|do_memalign|(__)?posix_memalign|pvalloc|valloc|realloc|",
    "tcmalloc::.*|tc_calloc|tc_cfree|tc_malloc|tc_free|tc_memalign|tc_posix_memalign|",
    "tc_pvalloc|tc_valloc|tc_realloc|tc_new|tc_delete|tc_newarray|tc_deletearray|",
    "tc_new_nothrow|tc_newarray_nothrow|",
    "malloc_zone_malloc|malloc_zone_calloc|malloc_zone_valloc|malloc_zone_realloc|",
    "malloc_zone_memalign|malloc_zone_free|",
    "runtime\\..*|",
    "BaseArena::.*|(::)?do_malloc_no_errno|(::)?do_malloc_pages|(::)?do_malloc|",
    "DoSampledAllocation|MallocedMemBlock::MallocedMemBlock|_M_allocate|",
    "__builtin_(vec_)?delete|__builtin_(vec_)?new|__gnu_cxx::new_allocator::allocate|",
    "__libc_malloc|__malloc_alloc_template::allocate|allocate|cpp_alloc|",
    "operator new(\\[\\])?|simple_alloc::allocate",
);

/// pprof's `keep_frames` for heap profiles (its `allocSkipRxStr`): runtime
/// frames that matter when they sit in the middle of a stack.
const ALLOC_KEEP_FRAMES: &str = "runtime\\.panic|runtime\\.reflectcall|runtime\\.call[0-9]*";

fn parse_with(data: &[u8], symbolize: bool) -> Result<Profile, Error> {
    let mut lines = data
        .split(|&b| b == b'\n')
        .map(|l| String::from_utf8_lossy(l.strip_suffix(b"\r").unwrap_or(l)))
        .zip(1..);
    let first = lines.next().map(|(l, _)| l).unwrap_or_default();
    let header = parse_header(&first)?;
    let mut b = Builder::new(&header, symbolize);

    let mut open: Option<Record> = None;
    for (raw, no) in lines.by_ref() {
        let line = raw.trim();
        if line.is_empty() {
            b.add(open.take());
            continue;
        }
        if let Some(body) = line.strip_prefix('#') {
            if symbolize {
                match (open.as_mut(), parse_frame(body)) {
                    (Some(record), Some(frame)) => record.frames.push(frame),
                    (_, frame) => {
                        b.add(open.take());
                        if frame.is_none() {
                            // Kept with its `#`: pprof's report headers leave
                            // such comments out.
                            b.comment(line);
                        }
                    }
                }
            }
            continue;
        }
        if is_memory_map_sentinel(line) {
            break;
        }
        b.add(open.take());
        open = Some(parse_record(line, no, &header)?);
    }
    b.add(open.take());

    let maps = parse_memory_map(lines.map(|(l, _)| l));
    let mut p = b.finish();
    attach_mappings(&mut p, maps);
    if symbolize {
        mark_symbolized_mappings(&mut p);
    }
    Ok(p)
}

/// What the header line says about the records that follow.
struct Header {
    /// Records carry alloc values worth keeping: four sample types, else two.
    has_alloc: bool,
    /// Records are Poisson-sampled at `period` bytes and must be unsampled.
    sampled: bool,
    period: i64,
}

fn header_regexes() -> &'static [Regex; 3] {
    static RES: OnceLock<[Regex; 3]> = OnceLock::new();
    RES.get_or_init(|| {
        let totals = r"heap profile: *([0-9]+): *([0-9]+) *\[ *([0-9]+): *([0-9]+) *\]";
        let re = |tail: &str| Regex::new(&format!("{totals}{tail}")).expect("valid regex");
        [
            re(r" *@ *(heap[_a-z0-9]*)/?([0-9]*)"),
            re(" @ growthz?"),
            re(" @ fragmentationz?"),
        ]
    })
}

fn parse_header(line: &str) -> Result<Header, Error> {
    let err = |cause: String| Error::Legacy { line: 1, cause };
    let [heap, growth, fragmentation] = header_regexes();
    if let Some(c) = heap.captures(line) {
        // pprof keeps the alloc columns only when they differ from the in-use
        // ones (compared as written) and are not zero.
        let has_alloc = (c[3] != c[1] && &c[3] != "0") || (c[4] != c[2] && &c[4] != "0");
        let rate = match &c[6] {
            "" => 0,
            digits => digits
                .parse::<i64>()
                .map_err(|_| err(format!("sampling rate {digits} does not fit in 64 bits")))?,
        };
        let (sampled, period) = match &c[5] {
            "heapz_v2" | "heap_v2" => (true, rate),
            // The Go runtime writes twice its MemProfileRate.
            "heap" => (true, rate / 2),
            "heapprofile" => (false, 1),
            kind => {
                return Err(err(format!(
                    "unknown heap profile kind `@ {kind}`: expected heap/RATE, heap_v2/RATE, heapz_v2/RATE or heapprofile"
                )))
            }
        };
        return Ok(Header {
            has_alloc,
            sampled,
            period,
        });
    }
    if growth.is_match(line) || fragmentation.is_match(line) {
        return Ok(Header {
            has_alloc: false,
            sampled: false,
            period: 1,
        });
    }
    Err(err(format!(
        "unrecognized header {:?}: expected `heap profile: N: BYTES [N: BYTES] @ heap/RATE`",
        snippet(line)
    )))
}

/// One `c: b [ac: ab] @ addr...` record and the frame lines printed under it.
struct Record {
    values: Vec<i64>,
    block_size: i64,
    addrs: Vec<u64>,
    frames: Vec<Frame>,
}

/// One `#\t0xPC\tfunc+0xOFF\tfile:line` line.
struct Frame {
    pc: u64,
    /// Empty when the runtime could not name the PC (`#\t0xPC` alone).
    function: String,
    /// Entry PC of the compiled function holding `pc` (`pc - OFF`); inlined
    /// frames share their caller's.
    entry: Option<u64>,
    file: String,
    line: i64,
}

fn parse_record(line: &str, no: usize, header: &Header) -> Result<Record, Error> {
    let err = |cause: String| Error::Legacy { line: no, cause };
    let mut cur = Cursor(line);
    let inuse_count = cur.number("in-use object count", true).map_err(err)?;
    cur.expect(":", "after the in-use object count")
        .map_err(err)?;
    let inuse_bytes = cur.number("in-use bytes", true).map_err(err)?;
    cur.expect("[", "before the allocation totals")
        .map_err(err)?;
    let alloc_count = cur.number("allocated object count", false).map_err(err)?;
    cur.expect(":", "after the allocated object count")
        .map_err(err)?;
    let alloc_bytes = cur.number("allocated bytes", false).map_err(err)?;
    cur.expect("]", "after the allocated bytes").map_err(err)?;
    cur.expect("@", "before the stack addresses").map_err(err)?;

    let mut values = Vec::with_capacity(4);
    let mut block_size = 0;
    let mut add = |count: &str, bytes: &str, what: &str| -> Result<(), Error> {
        let int = |s: &str| {
            s.parse::<i64>()
                .map_err(|_| err(format!("{what} value {s} does not fit in 64 bits")))
        };
        let (mut count, mut bytes) = (int(count)?, int(bytes)?);
        if count == 0 && bytes != 0 {
            return Err(err(format!(
                "{what} object count is 0 but {what} bytes is {bytes}"
            )));
        }
        if count != 0 {
            block_size = bytes / count;
            if header.sampled {
                (count, bytes) = unsample(count, bytes, header.period);
            }
        }
        values.extend([count, bytes]);
        Ok(())
    };
    if header.has_alloc {
        add(alloc_count, alloc_bytes, "allocated")?;
    }
    add(inuse_count, inuse_bytes, "in-use")?;

    let addrs = cur
        .0
        .split_ascii_whitespace()
        .map(|tok| parse_hex(tok).map_err(|cause| err(format!("stack address {tok:?}: {cause}"))))
        .collect::<Result<Vec<u64>, Error>>()?;
    Ok(Record {
        values,
        block_size,
        addrs,
        frames: Vec::new(),
    })
}

/// The unread rest of a record line.
struct Cursor<'a>(&'a str);

impl<'a> Cursor<'a> {
    /// Skips whitespace and reads a decimal integer (with an optional `-`
    /// when `signed`).
    fn number(&mut self, what: &str, signed: bool) -> Result<&'a str, String> {
        let s = self.0.trim_start();
        let sign = usize::from(signed && s.starts_with('-'));
        let digits = s[sign..].bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return Err(format!(
                "expected the {what} (a number) in a record `COUNT: BYTES [COUNT: BYTES] @ ADDR...`, found {:?}",
                snippet(s)
            ));
        }
        self.0 = &s[sign + digits..];
        Ok(&s[..sign + digits])
    }

    /// Skips whitespace and `token`, or says what was found instead.
    fn expect(&mut self, token: &str, context: &str) -> Result<(), String> {
        let s = self.0.trim_start();
        match s.strip_prefix(token) {
            Some(after) => {
                self.0 = after;
                Ok(())
            }
            None => Err(format!(
                "expected `{token}` {context} in a record `COUNT: BYTES [COUNT: BYTES] @ ADDR...`, found {:?}",
                snippet(s)
            )),
        }
    }
}

/// A `0x`-prefixed hexadecimal number.
fn parse_hex(tok: &str) -> Result<u64, &'static str> {
    let digits = tok
        .strip_prefix("0x")
        .filter(|d| !d.is_empty() && d.bytes().all(|b| b.is_ascii_hexdigit()))
        .ok_or("expected 0x followed by hexadecimal digits")?;
    u64::from_str_radix(digits, 16).map_err(|_| "does not fit in 64 bits")
}

/// The body of a `#` line (after the `#`) as a frame line, if it is one.
fn parse_frame(body: &str) -> Option<Frame> {
    let body = body.trim();
    // Go separates the fields with tabs; Rust names can hold spaces
    // (`<T as Trait>::f`), so split at tabs when there are any.
    let (pc, function, position) = if body.contains('\t') {
        let mut fields = body.split('\t').map(str::trim).filter(|f| !f.is_empty());
        let pc = fields.next().unwrap_or("");
        (pc, fields.next().unwrap_or(""), fields.next().unwrap_or(""))
    } else {
        let (pc, rest) = body
            .split_once(|c: char| c.is_ascii_whitespace())
            .unwrap_or((body, ""));
        let rest = rest.trim_start();
        let (function, position) = rest
            .split_once(|c: char| c.is_ascii_whitespace())
            .unwrap_or((rest, ""));
        (pc, function, position)
    };
    let pc = parse_hex(pc).ok()?;
    // `func+0xOFF`: the offset from the entry of the compiled function.
    let (function, entry) = match function.rsplit_once("+0x") {
        Some((name, off)) => match u64::from_str_radix(off, 16) {
            Ok(off) => (name, pc.checked_sub(off)),
            Err(_) => (function, None),
        },
        None => (function, None),
    };
    let position = position.trim();
    let (file, line) = match position.rsplit_once(':') {
        Some((file, line)) if line.parse::<i64>().is_ok() => (file, line.parse().unwrap_or(0)),
        _ => (position, 0),
    };
    Some(Frame {
        pc,
        function: function.to_string(),
        entry,
        file: file.to_string(),
        line,
    })
}

/// pprof's estimate of the unsampled (count, bytes) of a record whose objects
/// were sampled by a Poisson process of mean `rate` bytes: each sample is
/// divided by its probability of being seen, `1 - e^(-avg/rate)`. The results
/// are truncated toward zero, as Go converts them.
pub(crate) fn unsample(count: i64, bytes: i64, rate: i64) -> (i64, i64) {
    if count == 0 || bytes == 0 {
        return (0, 0);
    }
    if rate <= 1 {
        // Every allocation was recorded (1), or the rate is unknown.
        return (count, bytes);
    }
    let avg = bytes as f64 / count as f64;
    let scale = 1.0 / (1.0 - super::go_exp::go_exp(-avg / rate as f64));
    (go_int(count as f64 * scale), go_int(bytes as f64 * scale))
}

/// Go's `int64(f)` on amd64 and arm64 for finite in-range values; out of range
/// values give the "integer indefinite" `i64::MIN` as on amd64.
fn go_int(f: f64) -> i64 {
    const LIMIT: f64 = 9_223_372_036_854_775_808.0; // 2^63
    if (-LIMIT..LIMIT).contains(&f) {
        f as i64
    } else {
        i64::MIN
    }
}

/// Builds the profile record by record.
struct Builder {
    p: Profile,
    symbolize: bool,
    bytes_key: StrId,
    /// Location index by (adjusted) address.
    locations: HashMap<u64, u32>,
    /// Function index by (name, file).
    functions: HashMap<(StrId, StrId), u32>,
    stack: Vec<u32>,
}

impl Builder {
    fn new(header: &Header, symbolize: bool) -> Self {
        let types: &[(&str, &str)] = if header.has_alloc {
            // alloc before inuse, so that pprof's default is inuse_space.
            &[
                ("alloc_objects", "count"),
                ("alloc_space", "bytes"),
                ("inuse_objects", "count"),
                ("inuse_space", "bytes"),
            ]
        } else {
            &[("objects", "count"), ("space", "bytes")]
        };
        let mut p = Profile::with_sample_types(types);
        p.period_type = Some(ValueType {
            ty: p.strings.intern("space"),
            unit: p.strings.intern("bytes"),
        });
        p.period = header.period;
        p.drop_frames = p.strings.intern(ALLOC_DROP_FRAMES);
        p.keep_frames = p.strings.intern(ALLOC_KEEP_FRAMES);
        let bytes_key = p.strings.intern("bytes");
        Builder {
            p,
            symbolize,
            bytes_key,
            locations: HashMap::new(),
            functions: HashMap::new(),
            stack: Vec::new(),
        }
    }

    fn comment(&mut self, text: &str) {
        let id = self.p.strings.intern(text);
        self.p.comments.push(id);
    }

    fn add(&mut self, record: Option<Record>) {
        let Some(record) = record else { return };
        let mut stack = std::mem::take(&mut self.stack);
        stack.clear();
        match self.symbolize.then(|| match_frames(&record)).flatten() {
            Some(matched) => {
                for (addr, frames) in matched {
                    let loc = self.location(addr);
                    if self.p.locations[loc as usize].lines.is_empty() {
                        let lines: Vec<Line> = record.frames[frames]
                            .iter()
                            .filter(|f| !f.function.is_empty())
                            .map(|f| self.line(f))
                            .collect();
                        self.p.locations[loc as usize].lines = lines;
                    }
                    stack.push(loc);
                }
            }
            None => {
                for &addr in &record.addrs {
                    // Return addresses: step back onto the call instruction.
                    stack.push(self.location(addr.wrapping_sub(1)));
                }
            }
        }
        let label = Label {
            key: self.bytes_key,
            num: record.block_size,
            ..Label::default()
        };
        self.p.samples.push(&stack, &record.values, &[label]);
        self.stack = stack;
    }

    fn location(&mut self, addr: u64) -> u32 {
        let locations = &mut self.p.locations;
        *self.locations.entry(addr).or_insert_with(|| {
            locations.push(Location {
                address: addr,
                ..Location::default()
            });
            (locations.len() - 1) as u32
        })
    }

    fn line(&mut self, frame: &Frame) -> Line {
        let name = self.p.strings.intern(&frame.function);
        let file = self.p.strings.intern(&frame.file);
        let functions = &mut self.p.functions;
        let function = *self.functions.entry((name, file)).or_insert_with(|| {
            functions.push(Function {
                name,
                system_name: name,
                filename: file,
                start_line: 0,
            });
            (functions.len() - 1) as u32
        });
        Line {
            function: Some(function),
            line: frame.line,
            column: 0,
        }
    }

    fn finish(self) -> Profile {
        self.p
    }
}

/// Pairs a record's frame lines with its stack addresses, in order, and
/// returns (location address, frame range) per location of the stack, or
/// `None` when there are no frame lines or some do not fit the stack.
///
/// Each address takes the frame lines of its call PC (`addr - 1`, or `addr`
/// at a function entry): usually one; several when one PC stands for inlined
/// calls (frames of different functions); a repeated frame of the same
/// function is the next address (recursion). Addresses without frame lines
/// are those the runtime hid and are left out. Consecutive addresses whose
/// frames lie in one compiled function (same entry PC, different function
/// names) are the runtime's expansion of inlined calls and are folded into
/// one location at the innermost address, as the runtime's protobuf writer
/// does.
fn match_frames(record: &Record) -> Option<Vec<(u64, Range<usize>)>> {
    let frames = &record.frames;
    if frames.is_empty() {
        return None;
    }
    let mut matched: Vec<(u64, Range<usize>)> = Vec::with_capacity(record.addrs.len());
    let mut next = 0;
    for &addr in &record.addrs {
        let Some(first) = frames.get(next) else { break };
        let call = addr.wrapping_sub(1);
        if first.pc != call && first.pc != addr {
            continue;
        }
        let mut end = next + 1;
        while end < frames.len()
            && frames[end].pc == first.pc
            && frames[end].function != frames[end - 1].function
        {
            end += 1;
        }
        match matched.last_mut() {
            Some((_, run)) if run.end == next && inlined_into(&frames[next - 1], first) => {
                run.end = end;
            }
            _ => matched.push((call, next..end)),
        }
        next = end;
    }
    (next == frames.len()).then_some(matched)
}

/// Whether `callee`, printed just before `caller`, was inlined into it.
fn inlined_into(callee: &Frame, caller: &Frame) -> bool {
    callee.entry.is_some()
        && callee.entry == caller.entry
        && !callee.function.is_empty()
        && callee.function != caller.function
}

fn is_memory_map_sentinel(line: &str) -> bool {
    line.contains("--- Memory map: ---") || line.contains("MAPPED_LIBRARIES:")
}

/// A mapping read from a memory map section, before interning.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct MapEntry {
    pub start: u64,
    pub limit: u64,
    pub offset: u64,
    pub file: String,
    pub build_id: String,
}

fn map_regexes() -> &'static [Regex; 3] {
    static RES: OnceLock<[Regex; 3]> = OnceLock::new();
    RES.get_or_init(|| {
        let hex = r"(?:0x)?([[:xdigit:]]+)";
        let range = format!(r"^\s*{hex}[\s-]?\s*{hex}:?");
        let perm = r"(?:\s+([-rwxp]+))?";
        let opt_hex = r"(?:\s+([[:xdigit:]]+))?";
        let opt_string = r"(?:\s+(\S+))?";
        let re = |s: &str| Regex::new(s).expect("valid regex");
        [
            // /proc/self/maps: start-end perms offset dev inode path
            re(&format!(
                r"{range}{perm}{opt_hex}\s+[[:xdigit:]]+:[[:xdigit:]]+\s+[[:digit:]]+{opt_string}"
            )),
            // start-end [perms] [path] [(@offset)] [build id]
            re(&format!(
                r"{range}{perm}{opt_string}(?:\s+\(@([[:xdigit:]]+)\))?{opt_hex}"
            )),
            // a glog prefix: `... file.cc:123] `
            re(r"^[^\[\]]+:[0-9]+]\s"),
        ]
    })
}

/// Reads a memory map section as pprof does: `/proc/self/maps` lines and
/// pprof's brief `start-end path (@offset) buildid` lines, skipping
/// non-executable ranges and anything unrecognized; `name=value` lines define
/// `$name` for the lines after them.
pub(crate) fn parse_memory_map<S: AsRef<str>>(lines: impl Iterator<Item = S>) -> Vec<MapEntry> {
    let [proc_maps, brief_maps, log_prefix] = map_regexes();
    let mut vars: Vec<(String, String)> = Vec::new();
    let mut out = Vec::new();
    for raw in lines {
        let raw = raw.as_ref();
        let raw = log_prefix.find(raw).map_or(raw, |m| &raw[m.end()..]);
        let line = substitute(raw, &vars);
        // (start, limit, perms, offset, file, build id)
        let fields = if let Some(c) = proc_maps.captures(&line) {
            let g = |i| c.get(i).map_or(String::new(), |m| m.as_str().to_string());
            Some([g(1), g(2), g(3), g(4), g(5), String::new()])
        } else {
            brief_maps.captures(&line).map(|c| {
                let g = |i| c.get(i).map_or(String::new(), |m| m.as_str().to_string());
                [g(1), g(2), g(3), g(5), g(4), g(6)]
            })
        };
        if let Some([_, _, perms, ..]) = &fields {
            if !perms.is_empty() && !perms.contains('x') {
                continue; // not code
            }
        }
        let entry = fields.and_then(|[start, limit, _, offset, file, build_id]| {
            let hex = |s: &str| u64::from_str_radix(s, 16).ok();
            Some(MapEntry {
                start: hex(&start)?,
                limit: hex(&limit)?,
                offset: if offset.is_empty() { 0 } else { hex(&offset)? },
                file,
                build_id,
            })
        });
        match entry {
            Some(m) => out.push(m),
            None => {
                if let Some((name, value)) = line.split_once('=') {
                    vars.push((format!("${}", name.trim()), value.trim().to_string()));
                }
            }
        }
    }
    out
}

/// Replaces each `$name` defined so far (the first definition wins).
fn substitute(line: &str, vars: &[(String, String)]) -> String {
    if vars.is_empty() {
        return line.to_string();
    }
    let mut out = String::with_capacity(line.len());
    let mut rest = line;
    while let Some(c) = rest.chars().next() {
        match vars
            .iter()
            .find(|(name, _)| rest.starts_with(name.as_str()))
        {
            Some((name, value)) => {
                out.push_str(value);
                rest = &rest[name.len()..];
            }
            None => {
                out.push(c);
                rest = &rest[c.len_utf8()..];
            }
        }
    }
    out
}

/// Sets the profile's mappings from a memory map section and assigns each
/// location to one, with pprof's repairs: split mappings merged, the main
/// binary first, a leading `/anon_hugepage` dropped, the main binary rebased to
/// 0x400000, and a catch-all mapping for addresses no mapping covers.
pub(crate) fn attach_mappings(p: &mut Profile, mut maps: Vec<MapEntry>) {
    // Merge adjacent pieces of one mapping.
    let mut merged: Vec<MapEntry> = Vec::with_capacity(maps.len());
    for m in maps.drain(..) {
        match merged.last_mut() {
            Some(last) if adjacent(last, &m) => {
                last.limit = m.limit;
                if !m.file.is_empty() {
                    last.file = m.file;
                }
                if !m.build_id.is_empty() {
                    last.build_id = m.build_id;
                }
            }
            _ => merged.push(m),
        }
    }
    let mut maps = merged;
    // The first file that is not a shared library or `[vdso]`-like is the
    // main binary.
    let main = maps.iter().position(|m| {
        let file = m.file.replace("(deleted)", "");
        let file = file.trim();
        !file.is_empty() && !is_shared_library(file) && !file.starts_with('[')
    });
    if let Some(i) = main {
        maps.swap(0, i);
    }
    if maps.len() > 1
        && maps[0].file.starts_with("/anon_hugepage")
        && maps[0].limit == maps[1].start
    {
        maps.remove(0);
    }
    if let Some(m) = maps.first_mut() {
        if m.start.wrapping_sub(m.offset) == 0x40_0000 {
            m.start = 0x40_0000;
            m.offset = 0;
        }
    }

    let mut catch_all = None;
    for l in 0..p.locations.len() {
        let a = p.locations[l].address;
        if p.locations[l].mapping.is_some() || a == 0 {
            continue;
        }
        let found = maps
            .iter()
            .position(|m| m.start <= a && a < m.limit)
            .or_else(|| {
                // A mapping whose first piece went unreported.
                let i = maps.iter().position(|m| {
                    m.offset != 0 && m.start.wrapping_sub(m.offset) <= a && a < m.start
                })?;
                let m = &mut maps[i];
                m.start = m.start.wrapping_sub(m.offset);
                m.offset = 0;
                Some(i)
            });
        let index = found.unwrap_or_else(|| {
            *catch_all.get_or_insert_with(|| {
                maps.push(MapEntry {
                    limit: u64::MAX,
                    ..MapEntry::default()
                });
                maps.len() - 1
            })
        });
        p.locations[l].mapping = Some(index as u32);
    }

    p.mappings = maps
        .into_iter()
        .map(|m| Mapping {
            memory_start: m.start,
            memory_limit: m.limit,
            file_offset: m.offset,
            filename: p.strings.intern(&m.file),
            build_id: p.strings.intern(&m.build_id),
            ..Mapping::default()
        })
        .collect();
}

/// Whether two consecutive entries are pieces of one mapping.
fn adjacent(a: &MapEntry, b: &MapEntry) -> bool {
    if !a.file.is_empty() && !b.file.is_empty() && a.file != b.file {
        return false;
    }
    if !a.build_id.is_empty() && !b.build_id.is_empty() && a.build_id != b.build_id {
        return false;
    }
    if a.limit != b.start {
        return false;
    }
    if a.offset != 0 && b.offset != 0 {
        return a.offset.wrapping_add(a.limit.wrapping_sub(a.start)) == b.offset;
    }
    true
}

/// `.so` at the end, or `.so.` / `.so_` followed by a digit.
fn is_shared_library(file: &str) -> bool {
    file.ends_with(".so")
        || file.match_indices(".so").any(|(i, _)| {
            let tail = &file.as_bytes()[i + 3..];
            tail.len() >= 2 && matches!(tail[0], b'.' | b'_') && tail[1].is_ascii_digit()
        })
}

/// Marks the mappings whose every location got names from the text as
/// symbolized, so that readers of the profile do not look for the binary.
fn mark_symbolized_mappings(p: &mut Profile) {
    let mut named = vec![true; p.mappings.len()];
    let mut used = vec![false; p.mappings.len()];
    for l in &p.locations {
        if let Some(m) = l.mapping {
            used[m as usize] = true;
            named[m as usize] &= !l.lines.is_empty();
        }
    }
    for (i, m) in p.mappings.iter_mut().enumerate() {
        if used[i] && named[i] {
            m.has_functions = true;
            m.has_filenames = true;
            m.has_line_numbers = true;
        }
    }
}

/// The start of `s`, for error messages.
fn snippet(s: &str) -> String {
    const MAX: usize = 40;
    match s.char_indices().nth(MAX) {
        Some((i, _)) => format!("{}...", &s[..i]),
        None => s.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames() {
        let f =
            parse_frame("\t0x4bed29\tmain.fillMaps+0x149\tmemdiag/fixtures/main.go:182").unwrap();
        assert_eq!(
            (f.pc, f.function.as_str(), f.file.as_str(), f.line),
            (0x4bed29, "main.fillMaps", "memdiag/fixtures/main.go", 182)
        );
        let f = parse_frame("\t0x4bed29").unwrap();
        assert_eq!((f.pc, f.function.as_str(), f.line), (0x4bed29, "", 0));
        assert!(parse_frame(" HeapInuse = 2736128").is_none());
        assert!(parse_frame(" runtime.MemStats").is_none());
    }

    #[test]
    fn shared_libraries() {
        for lib in ["/lib/libc.so", "/lib/libc.so.6", "/x/libfoo.so_1"] {
            assert!(is_shared_library(lib), "{lib}");
        }
        for bin in ["/usr/bin/app", "/x/app.sock", "/x/a.so.x"] {
            assert!(!is_shared_library(bin), "{bin}");
        }
    }
}
