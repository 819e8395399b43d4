//! The `list` report: annotated source of the functions matching a regular
//! expression, as `go tool pprof -list REGEX` prints it.
//!
//! Frames are taken at line granularity. Each sample adds its value once to
//! the cum of every distinct (function, file, line) frame of its stack, and
//! to the flat of its leaf frame. For every matching function and each of
//! its source files, the listing shows the file's lines from 5 before the
//! first line with samples (or from the function's start line, when the
//! profile has it) to 5 after the last one.
//!
//! Source files are found as pprof finds them: a path that a directory of
//! the search path (`-source_path`, else the working directory) names by its
//! base name is cut after it (`/build/myproj/src/a.go` with `…/myproj` on
//! the path becomes `src/a.go`), then a relative path is looked for under
//! each search directory and its parents. A file that cannot be found gets
//! pprof's one-line ` Error: …` in place of its source.

use std::collections::HashMap;
use std::io::Read;
use std::path::{Path, PathBuf};

use regex::Regex;
use serde::Serialize;

use super::format::{percentage, scaled_label};
use super::graph::{go_clean, objfile_and_lines, trim_path};
use super::header::{report_total, sample_type, sample_unit};
use super::Options;
use crate::model::Profile;
use crate::Error;

/// Source lines shown before the first and after the last line with samples.
const MARGIN: i64 = 5;

/// Longest source line pprof's line scanner reads; reading stops there.
const MAX_LINE: usize = 64 * 1024;

/// A `list` report, ready to print with [`ListReport::to_text`] or to
/// serialize.
#[derive(Clone, Debug, Serialize)]
pub struct ListReport {
    pub sample_type: String,
    /// Unit of the sample values, as in the profile.
    pub sample_unit: String,
    /// Unit asked for the formatted values (`minimum` picks one per value).
    pub output_unit: String,
    /// The total percentages are relative to.
    pub total: i64,
    pub total_formatted: String,
    /// One entry per matching function and source file, by function name
    /// then file name.
    pub routines: Vec<Routine>,
}

/// The listing of one function in one source file.
#[derive(Clone, Debug, Serialize)]
pub struct Routine {
    pub function: String,
    /// The source file as the profile names it (cleaned, and cut like the
    /// search does when `-source_path` is given); `None` when the profile
    /// has no file for the function, which pprof reports as
    /// `No source information for …`.
    pub file: Option<String>,
    pub flat: i64,
    pub cum: i64,
    pub flat_formatted: String,
    pub cum_formatted: String,
    /// `cum` as a percentage of the report total.
    pub cum_percent: String,
    /// Why the source could not be read (then `lines` is empty).
    pub error: Option<String>,
    pub lines: Vec<SourceLine>,
}

/// One line of source with the values of the samples on it.
#[derive(Clone, Debug, Serialize)]
pub struct SourceLine {
    pub lineno: i64,
    pub text: String,
    pub flat: i64,
    pub cum: i64,
    pub flat_formatted: String,
    pub cum_formatted: String,
}

impl ListReport {
    /// The report as `go tool pprof -list` prints it.
    pub fn to_text(&self) -> String {
        let mut out = format!("Total: {}\n", self.total_formatted);
        for r in &self.routines {
            let Some(file) = &r.file else {
                out.push_str(&format!("No source information for {}\n", r.function));
                continue;
            };
            out.push_str(&format!(
                "ROUTINE ======================== {} in {file}\n",
                r.function
            ));
            out.push_str(&format!(
                "{:>10} {:>10} (flat, cum) {} of Total\n",
                r.flat_formatted, r.cum_formatted, r.cum_percent
            ));
            if let Some(e) = &r.error {
                out.push_str(&format!(" Error: {e}\n"));
                continue;
            }
            for l in &r.lines {
                let flat = if l.flat == 0 { "." } else { &l.flat_formatted };
                let cum = if l.cum == 0 { "." } else { &l.cum_formatted };
                out.push_str(&format!(
                    "{flat:>10} {cum:>10} {:>6}:{}\n",
                    l.lineno, l.text
                ));
            }
        }
        out
    }
}

/// What identifies a frame of the listing (pprof's node key at line
/// granularity, object file names kept).
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
struct FrameKey {
    name: String,
    file: String,
    lineno: i64,
    start_line: i64,
    objfile: String,
}

/// A frame of a matching function with its values.
struct Frame {
    key: FrameKey,
    flat: i64,
    cum: i64,
}

/// Builds the `list` report of the functions of `p` whose name matches `re`.
/// Fails, as pprof does, when no function with samples matches.
pub fn list(p: &Profile, o: &Options, re: &Regex) -> Result<ListReport, Error> {
    let frames = matching_frames(p, o, re);
    if frames.is_empty() {
        return Err(Error::Io(std::io::Error::new(
            std::io::ErrorKind::NotFound,
            format!("no matches found for regexp: {re}"),
        )));
    }
    let total = report_total(p, o);
    let unit = sample_unit(p, o);
    let fmt = |v: i64| scaled_label(v, unit, &o.unit);

    // Frames by function, then by file; both in name order.
    let mut by_function: Vec<(&str, Vec<&Frame>)> = Vec::new();
    let mut index: HashMap<&str, usize> = HashMap::new();
    for f in &frames {
        let i = *index.entry(&f.key.name).or_insert_with(|| {
            by_function.push((&f.key.name, Vec::new()));
            by_function.len() - 1
        });
        by_function[i].1.push(f);
    }
    by_function.sort_by(|a, b| a.0.cmp(b.0));

    let mut reader = SourceReader::new(o);
    let mut routines = Vec::new();
    for (name, frames) in by_function {
        let mut by_file: Vec<(&str, Vec<&Frame>)> = Vec::new();
        for f in frames.into_iter().filter(|f| !f.key.file.is_empty()) {
            match by_file.iter_mut().find(|(file, _)| *file == f.key.file) {
                Some((_, fs)) => fs.push(f),
                None => by_file.push((&f.key.file, vec![f])),
            }
        }
        if by_file.is_empty() {
            routines.push(Routine {
                function: name.to_string(),
                file: None,
                flat: 0,
                cum: 0,
                flat_formatted: String::new(),
                cum_formatted: String::new(),
                cum_percent: String::new(),
                error: None,
                lines: Vec::new(),
            });
            continue;
        }
        by_file.sort_by(|a, b| a.0.cmp(b.0));
        for (file, mut frames) in by_file {
            frames.sort_by(|a, b| {
                (a.key.lineno, a.key.start_line, &a.key.objfile).cmp(&(
                    b.key.lineno,
                    b.key.start_line,
                    &b.key.objfile,
                ))
            });
            let flat: i64 = frames.iter().map(|f| f.flat).sum();
            let cum: i64 = frames.iter().map(|f| f.cum).sum();
            let (lines, error) = match source_lines(file, &mut reader, &frames) {
                Ok(lines) => (lines, None),
                Err(e) => (Vec::new(), Some(e)),
            };
            routines.push(Routine {
                function: name.to_string(),
                file: Some(file.to_string()),
                flat,
                cum,
                flat_formatted: fmt(flat),
                cum_formatted: fmt(cum),
                cum_percent: percentage(cum, total),
                error,
                lines: lines
                    .into_iter()
                    .map(|(lineno, text, flat, cum)| SourceLine {
                        lineno,
                        text,
                        flat,
                        cum,
                        flat_formatted: fmt(flat),
                        cum_formatted: fmt(cum),
                    })
                    .collect(),
            });
        }
    }

    Ok(ListReport {
        sample_type: sample_type(p, o).to_string(),
        sample_unit: unit.to_string(),
        output_unit: o.unit.clone(),
        total,
        total_formatted: fmt(total),
        routines,
    })
}

/// The frames of the functions matching `re` that have a value, with their
/// flat and cum values.
fn matching_frames(p: &Profile, o: &Options, re: &Regex) -> Vec<Frame> {
    let trim_dirs = search_dirs_of(&o.source_path);
    let mut matches: Vec<Option<bool>> = vec![None; p.functions.len()];
    let mut unnamed_matches: Option<bool> = None;
    let mut ids: HashMap<FrameKey, u32> = HashMap::new();
    let mut frames: Vec<Frame> = Vec::new();
    // The frame ids of each location, innermost first; `None` for frames of
    // functions that do not match.
    let loc_frames: Vec<Vec<Option<u32>>> = p
        .locations
        .iter()
        .map(|loc| {
            let (objfile, lines) = objfile_and_lines(p, loc);
            lines
                .iter()
                .map(|line| {
                    let f = line
                        .function
                        .map(|f| f as usize)
                        .filter(|&f| f < p.functions.len());
                    let matched = match f {
                        Some(f) => *matches[f]
                            .get_or_insert_with(|| re.is_match(p.str(p.functions[f].name))),
                        None => *unnamed_matches.get_or_insert_with(|| re.is_match("")),
                    };
                    if !matched {
                        return None;
                    }
                    let key = match f {
                        Some(f) => {
                            let func = &p.functions[f];
                            let file = p.str(func.filename);
                            FrameKey {
                                name: p.str(func.name).to_string(),
                                file: if file.is_empty() {
                                    String::new()
                                } else {
                                    go_clean(trim_path(file, &trim_dirs))
                                },
                                lineno: line.line,
                                start_line: func.start_line,
                                objfile: objfile.to_string(),
                            }
                        }
                        None => FrameKey {
                            objfile: objfile.to_string(),
                            ..FrameKey::default()
                        },
                    };
                    let next = frames.len() as u32;
                    Some(*ids.entry(key).or_insert_with_key(|key| {
                        frames.push(Frame {
                            key: key.clone(),
                            flat: 0,
                            cum: 0,
                        });
                        next
                    }))
                })
                .collect()
        })
        .collect();

    let mut stamp = vec![u32::MAX; frames.len()];
    for (generation, s) in p.samples.iter().enumerate() {
        let w = s.values.get(o.sample_index).copied().unwrap_or(0);
        if w == 0 {
            continue;
        }
        let generation = generation as u32;
        for &l in s.locations {
            for id in loc_frames[l as usize].iter().flatten() {
                let id = *id as usize;
                if stamp[id] != generation {
                    stamp[id] = generation;
                    frames[id].cum += w;
                }
            }
        }
        let leaf = s
            .locations
            .first()
            .and_then(|&l| loc_frames[l as usize].first());
        if let Some(Some(id)) = leaf {
            frames[*id as usize].flat += w;
        }
    }
    frames.retain(|f| f.flat != 0 || f.cum != 0);
    frames
}

/// The lines of `file` to show for `frames` (sorted by line), with the
/// values of each: pprof's window from the function start (or 5 lines
/// before the first frame) to 5 lines after the last one, cut at the end of
/// the file.
fn source_lines(
    file: &str,
    reader: &mut SourceReader,
    frames: &[&Frame],
) -> Result<Vec<(i64, String, i64, i64)>, String> {
    let first = &frames[0].key;
    let mut start = if first.start_line != 0 {
        first.start_line
    } else {
        first.lineno - MARGIN
    };
    let mut end = first.lineno + MARGIN;
    let mut values: HashMap<i64, (i64, i64)> = HashMap::new();
    for f in frames {
        let node_start = if f.key.start_line != 0 {
            f.key.start_line
        } else {
            f.key.lineno - MARGIN
        };
        let node_end = f.key.lineno + MARGIN;
        if node_start < start {
            start = node_start;
        } else if node_end > end {
            end = node_end;
        }
        let v = values.entry(f.key.lineno).or_default();
        v.0 += f.flat;
        v.1 += f.cum;
    }
    let start = start.max(1);
    let source = reader.lines(file)?;
    let mut out = Vec::new();
    for lineno in start..=end {
        let Some(text) = usize::try_from(lineno - 1).ok().and_then(|i| source.get(i)) else {
            break;
        };
        let (flat, cum) = values.get(&lineno).copied().unwrap_or_default();
        out.push((lineno, text.clone(), flat, cum));
    }
    Ok(out)
}

/// Reads source files once each, finding them as pprof does.
struct SourceReader {
    /// The directories searched (`-source_path`, else the working
    /// directory).
    dirs: Vec<String>,
    /// The search path as pprof prints it in errors.
    search_path: String,
    files: HashMap<String, Result<Vec<String>, String>>,
}

impl SourceReader {
    fn new(o: &Options) -> Self {
        let dirs = if o.source_path.is_empty() {
            vec![working_dir()]
        } else {
            search_dirs_of(&o.source_path)
        };
        SourceReader {
            search_path: dirs.join(":"),
            dirs,
            files: HashMap::new(),
        }
    }

    /// The lines of `file` (without line ends), or why it cannot be read.
    fn lines(&mut self, file: &str) -> Result<&Vec<String>, String> {
        if !self.files.contains_key(file) {
            let read = self.open(file).map(read_lines);
            self.files.insert(file.to_string(), read);
        }
        self.files[file].as_ref().map_err(Clone::clone)
    }

    fn open(&self, file: &str) -> Result<std::fs::File, String> {
        let path = trim_path(file, &self.dirs);
        if path.starts_with('/') {
            return std::fs::File::open(path).map_err(|e| format!("open {path}: {}", os_error(&e)));
        }
        for dir in &self.dirs {
            let mut dir = dir.clone();
            loop {
                if let Ok(f) = std::fs::File::open(go_join(&dir, path)) {
                    return Ok(f);
                }
                let parent = go_dir(&dir);
                if parent == dir {
                    break;
                }
                dir = parent;
            }
        }
        Err(format!(
            "could not find file {path} on path {}",
            self.search_path
        ))
    }
}

/// The lines of a file as Go's line scanner yields them: split at `\n`, a
/// trailing `\r` dropped, no empty last line. A read error (a directory,
/// say) or an overlong line ends the file there, silently, as in pprof.
fn read_lines(mut f: std::fs::File) -> Vec<String> {
    let mut data = Vec::new();
    // A read error keeps what was read, as pprof's scanner does.
    let _ = f.read_to_end(&mut data);
    let mut lines = Vec::new();
    let mut rest = &data[..];
    while !rest.is_empty() {
        let (line, next) = match rest.iter().position(|&b| b == b'\n') {
            Some(i) => (&rest[..i], &rest[i + 1..]),
            None => (rest, &rest[rest.len()..]),
        };
        if line.len() >= MAX_LINE {
            break;
        }
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        lines.push(String::from_utf8_lossy(line).into_owned());
        rest = next;
    }
    lines
}

/// The search directories as strings (pprof joins them with `:`).
fn search_dirs_of(dirs: &[PathBuf]) -> Vec<String> {
    dirs.iter()
        .map(|d| d.to_string_lossy().into_owned())
        .collect()
}

/// Go's `filepath.Join` of two elements: empty ones ignored, the result
/// cleaned.
fn go_join(dir: &str, path: &str) -> String {
    match (dir.is_empty(), path.is_empty()) {
        (true, true) => String::new(),
        (true, false) => go_clean(path),
        (false, true) => go_clean(dir),
        (false, false) => go_clean(&format!("{dir}/{path}")),
    }
}

/// Go's `filepath.Dir`: everything up to the last `/`, cleaned.
fn go_dir(path: &str) -> String {
    match path.rfind('/') {
        Some(i) => go_clean(&path[..=i]),
        None => ".".to_string(),
    }
}

/// The working directory as Go's `os.Getwd` reports it: `$PWD` when it names
/// the current directory, else the system's answer.
fn working_dir() -> String {
    let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."));
    if let Some(pwd) = std::env::var_os("PWD") {
        let pwd = PathBuf::from(pwd);
        if pwd.is_absolute() && same_file(&pwd, Path::new(".")) {
            return pwd.to_string_lossy().into_owned();
        }
    }
    cwd.to_string_lossy().into_owned()
}

#[cfg(unix)]
fn same_file(a: &Path, b: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    match (std::fs::metadata(a), std::fs::metadata(b)) {
        (Ok(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
        _ => false,
    }
}

#[cfg(not(unix))]
fn same_file(_: &Path, _: &Path) -> bool {
    false
}

/// An OS error as Go words it (`no such file or directory`).
fn os_error(e: &std::io::Error) -> String {
    let text = e.to_string();
    let text = match text.rfind(" (os error ") {
        Some(i) => &text[..i],
        None => &text,
    };
    let mut chars = text.chars();
    match chars.next() {
        Some(c) => c.to_lowercase().chain(chars).collect(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_follow_go() {
        assert_eq!(go_dir("a/b"), "a");
        assert_eq!(go_dir("a"), ".");
        assert_eq!(go_dir("/a"), "/");
        assert_eq!(go_dir("/"), "/");
        assert_eq!(go_dir("a/b/"), "a/b");
        assert_eq!(go_join("", "x.go"), "x.go");
        assert_eq!(go_join("/w/main", "../x.go"), "/w/x.go");
        let dirs = vec!["/home/me/myproj".to_string()];
        assert_eq!(trim_path("/build/myproj/src/a.go", &dirs), "src/a.go");
        assert_eq!(trim_path::<String>("/proc/self/cwd/./a.go", &[]), "a.go");
        assert_eq!(trim_path("main.go", &dirs), "main.go");
    }

    #[test]
    fn lines_split_like_go_scanner() {
        let dir = std::env::temp_dir().join(format!("memdiag-list-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("src.txt");
        std::fs::write(&path, "a\r\nb\n\nc").unwrap();
        let lines = read_lines(std::fs::File::open(&path).unwrap());
        assert_eq!(lines, ["a", "b", "", "c"]);
        std::fs::write(&path, "a\n").unwrap();
        assert_eq!(read_lines(std::fs::File::open(&path).unwrap()), ["a"]);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn os_errors_are_worded_like_go() {
        let e = std::io::Error::from_raw_os_error(2);
        assert_eq!(os_error(&e), "no such file or directory");
    }
}
