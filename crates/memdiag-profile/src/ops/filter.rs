//! Sample filters with the semantics of pprof's driver (`applyFocus`) and
//! profile package (`FilterSamplesByName`, `ShowFrom`, `PruneFrom`, `Prune`).

use regex::Regex;

use super::tag_filter::{self, TagFilter};
use crate::model::{Label, Line, Location, Profile, Sample, Samples};
use crate::Error;

/// The filter options of `go tool pprof`; `None` (or an empty string) means
/// the option is not set. Name filters are regular expressions in Go's RE2
/// syntax, matched unanchored against function names, source file names and
/// mapping file names.
#[derive(Clone, Debug, Default)]
pub struct Filters {
    /// `-focus`: keep samples with a frame matching.
    pub focus: Option<String>,
    /// `-ignore`: drop samples with a frame matching.
    pub ignore: Option<String>,
    /// `-hide`: remove matching frames from stacks.
    pub hide: Option<String>,
    /// `-show`: keep only matching frames in stacks.
    pub show: Option<String>,
    /// `-show_from`: drop frames above the outermost matching one.
    pub show_from: Option<String>,
    /// `-tagfocus`: keep samples whose labels match (`key=regex,...`,
    /// `key=1kb:4kb` ranges, ...).
    pub tag_focus: Option<String>,
    /// `-tagignore`: drop samples whose labels match.
    pub tag_ignore: Option<String>,
    /// `-tagshow`: keep only the label keys matching.
    pub tag_show: Option<String>,
    /// `-taghide`: remove the label keys matching.
    pub tag_hide: Option<String>,
    /// `-prune_from`: drop frames beneath the leaf-most matching one.
    pub prune_from: Option<String>,
}

/// Applies `f` to `p` in pprof's order: focus/ignore/hide/show, show_from,
/// tagfocus/tagignore, tagshow/taghide, prune_from. Returns the messages
/// `go tool pprof` prints to stderr meanwhile, in its order (e.g.
/// `tagfocus:Interpreted '1kb:4kb' as range, not regexp`,
/// `Focus expression matched no samples`).
///
/// Call it for every report even with no filter set: like pprof, it drops the
/// samples that have no location. Hide and show rewrite the lines of the
/// (shared) locations in place. A bad expression fails before anything is
/// changed.
pub fn apply_filters(p: &mut Profile, f: &Filters) -> Result<Vec<String>, Error> {
    let mut messages = Vec::new();
    let focus = compile_option("focus", &f.focus)?;
    let ignore = compile_option("ignore", &f.ignore)?;
    let hide = compile_option("hide", &f.hide)?;
    let show = compile_option("show", &f.show)?;
    let show_from = compile_option("show_from", &f.show_from)?;
    let tag_focus = TagFilter::compile("tagfocus", &f.tag_focus, &mut messages)?;
    let tag_ignore = TagFilter::compile("tagignore", &f.tag_ignore, &mut messages)?;
    let prune_from_rx = compile_option("prune_from", &f.prune_from)?;
    let tag_show = compile_option("tagshow", &f.tag_show)?;
    let tag_hide = compile_option("taghide", &f.tag_hide)?;

    // Label units are those of the profile before any filtering.
    let units = match tag_focus.is_some() || tag_ignore.is_some() {
        true => tag_filter::units_for_filters(p),
        false => Default::default(),
    };

    let mut warn = |matched: bool, what: &str| {
        if !matched {
            messages.push(format!("{what} expression matched no samples"));
        }
    };

    let m = filter_samples_by_name(
        p,
        focus.as_ref(),
        ignore.as_ref(),
        hide.as_ref(),
        show.as_ref(),
    );
    warn(focus.is_none() || m.focus, "Focus");
    warn(ignore.is_none() || m.ignore, "Ignore");
    warn(hide.is_none() || m.hide, "Hide");
    warn(show.is_none() || m.show, "Show");

    if let Some(rx) = &show_from {
        warn(filter_show_from(p, rx), "ShowFrom");
    }

    if tag_focus.is_some() || tag_ignore.is_some() {
        let (fm, im) =
            tag_filter::filter_samples_by_tag(p, tag_focus.as_ref(), tag_ignore.as_ref(), &units);
        warn(tag_focus.is_none() || fm, "TagFocus");
        warn(tag_ignore.is_none() || im, "TagIgnore");
    }

    if tag_show.is_some() || tag_hide.is_some() {
        let (sm, hm) = tag_filter::filter_tags_by_name(p, tag_show.as_ref(), tag_hide.as_ref());
        warn(tag_show.is_none() || sm, "TagShow");
        warn(tag_hide.is_none() || hm, "TagHide");
    }

    if let Some(rx) = &prune_from_rx {
        prune_from(p, rx);
    }
    Ok(messages)
}

fn compile_option(option: &str, value: &Option<String>) -> Result<Option<Regex>, Error> {
    match value.as_deref() {
        None | Some("") => Ok(None),
        Some(v) => compile_regex(option, v).map(Some),
    }
}

/// Compiles a Go (RE2) regular expression for the `regex` crate, keeping Go's
/// meaning where the two differ: `\d`, `\w`, `\s`, `\b` are ASCII-only, `\Q..\E`
/// quotes, `{` that does not start a repetition is literal, and `&&`, `--`,
/// `~~` and `[` inside a bracket class are plain characters. Errors name
/// `option`.
pub fn compile_regex(option: &str, pattern: &str) -> Result<Regex, Error> {
    Regex::new(&translate_go_regex(pattern)).map_err(|e| Error::Regex {
        option: option.to_string(),
        cause: format!("{pattern:?}: {e}"),
    })
}

/// ASCII expansions of Go's Perl classes, inside (`true`) or outside a
/// bracket class.
fn perl_class(c: char, in_class: bool) -> &'static str {
    match (c, in_class) {
        ('d', false) => "[0-9]",
        ('d', true) => "0-9",
        ('D', _) => "[^0-9]",
        ('w', false) => "[0-9A-Za-z_]",
        ('w', true) => "0-9A-Za-z_",
        ('W', _) => "[^0-9A-Za-z_]",
        ('s', false) => r"[\t\n\f\r\x20]",
        ('s', true) => r"\t\n\f\r\x20",
        _ => r"[^\t\n\f\r\x20]",
    }
}

/// Whether `s` starts with a counted repetition: `{n}`, `{n,}` or `{n,m}`.
fn is_repetition(s: &str) -> bool {
    let Some(rest) = s.strip_prefix('{') else {
        return false;
    };
    let Some(end) = rest.find('}') else {
        return false;
    };
    let body = &rest[..end];
    let (min, max) = body.split_once(',').unwrap_or((body, "0"));
    let digits = |t: &str| t.bytes().all(|b| b.is_ascii_digit());
    !min.is_empty() && digits(min) && digits(max)
}

fn translate_go_regex(pat: &str) -> String {
    let mut out = String::with_capacity(pat.len() + 16);
    let mut in_class = false;
    let mut class_start = false;
    let mut i = 0;
    while let Some(c) = pat[i..].chars().next() {
        let at_class_start = std::mem::replace(&mut class_start, false);
        let next = pat[i + c.len_utf8()..].chars().next();
        let mut advance = c.len_utf8();
        match c {
            '\\' => {
                let Some(n) = next else {
                    out.push('\\');
                    break;
                };
                advance += n.len_utf8();
                match n {
                    'd' | 'D' | 'w' | 'W' | 's' | 'S' => out.push_str(perl_class(n, in_class)),
                    'b' | 'B' if !in_class => {
                        out.push_str(r"(?-u:\");
                        out.push(n);
                        out.push(')');
                    }
                    'Q' if !in_class => {
                        let rest = &pat[i + 2..];
                        let (literal, used) = match rest.find(r"\E") {
                            Some(e) => (&rest[..e], e + 2),
                            None => (rest, rest.len()),
                        };
                        out.push_str(&regex::escape(literal));
                        advance += used;
                    }
                    '0'..='7' => {
                        // Octal: `\0`, or two or three digits (`\1` alone
                        // would be a backreference, an error in both).
                        let digits = pat[i + 1..]
                            .bytes()
                            .take(3)
                            .take_while(|b| (b'0'..=b'7').contains(b))
                            .count();
                        if n == '0' || digits > 1 {
                            let code = u32::from_str_radix(&pat[i + 1..i + 1 + digits], 8)
                                .expect("octal digits");
                            out.push_str(&format!("\\x{{{code:x}}}"));
                            advance = 1 + digits;
                        } else {
                            out.push('\\');
                            out.push(n);
                        }
                    }
                    'p' | 'P' | 'x' => {
                        out.push('\\');
                        out.push(n);
                        let rest = &pat[i + 2..];
                        if rest.starts_with('{') {
                            let end = rest.find('}').map_or(rest.len(), |e| e + 1);
                            out.push_str(&rest[..end]);
                            advance += end;
                        }
                    }
                    _ => {
                        out.push('\\');
                        out.push(n);
                    }
                }
            }
            '[' if !in_class => {
                in_class = true;
                class_start = true;
                out.push('[');
                if next == Some('^') {
                    out.push('^');
                    advance += 1;
                }
            }
            '[' => {
                let posix = pat[i..]
                    .starts_with("[:")
                    .then(|| pat[i + 2..].find(":]"))
                    .flatten();
                match posix {
                    Some(end) => {
                        out.push_str(&pat[i..i + 2 + end + 2]);
                        advance = 2 + end + 2;
                    }
                    None => out.push_str(r"\["),
                }
            }
            ']' if in_class && at_class_start => out.push_str(r"\]"),
            ']' if in_class => {
                in_class = false;
                out.push(']');
            }
            '&' | '~' if in_class => {
                out.push('\\');
                out.push(c);
            }
            '-' if in_class && next == Some('-') => {
                out.push_str(r"-\-");
                advance += 1;
            }
            '{' if !in_class && !is_repetition(&pat[i..]) => out.push_str(r"\{"),
            _ => out.push(c),
        }
        i += advance;
    }
    out
}

/// Memoized matches of one expression against functions (name or file) and
/// mappings (file).
struct NameMatcher<'r> {
    re: &'r Regex,
    functions: Vec<Option<bool>>,
    mappings: Vec<Option<bool>>,
}

impl<'r> NameMatcher<'r> {
    fn new(re: &'r Regex, p: &Profile) -> Self {
        NameMatcher {
            re,
            functions: vec![None; p.functions.len()],
            mappings: vec![None; p.mappings.len()],
        }
    }

    fn function(&mut self, p: &Profile, line: &Line) -> bool {
        let Some(f) = line.function else {
            return false;
        };
        let f = f as usize;
        *self.functions[f].get_or_insert_with(|| {
            let func = &p.functions[f];
            self.re.is_match(p.str(func.name)) || self.re.is_match(p.str(func.filename))
        })
    }

    fn mapping(&mut self, p: &Profile, loc: &Location) -> bool {
        let Some(m) = loc.mapping else {
            return false;
        };
        let m = m as usize;
        *self.mappings[m].get_or_insert_with(|| self.re.is_match(p.str(p.mappings[m].filename)))
    }

    /// Whether any line's function or the mapping matches.
    fn location(&mut self, p: &Profile, loc: &Location) -> bool {
        loc.lines.iter().any(|ln| self.function(p, ln)) || self.mapping(p, loc)
    }

    /// The lines of `loc` whose function does not match (none if the
    /// mapping matches).
    fn unmatched_lines(&mut self, p: &Profile, loc: &Location) -> Vec<Line> {
        if self.mapping(p, loc) {
            return Vec::new();
        }
        let lines = loc.lines.iter().filter(|ln| !self.function(p, ln));
        lines.copied().collect()
    }

    /// The lines of `loc` whose function matches or that have no function
    /// (all of them if the mapping matches).
    fn matched_lines(&mut self, p: &Profile, loc: &Location) -> Vec<Line> {
        if self.mapping(p, loc) {
            return loc.lines.clone();
        }
        let lines = loc
            .lines
            .iter()
            .filter(|ln| ln.function.is_none() || self.function(p, ln));
        lines.copied().collect()
    }
}

/// Rebuilds the samples: `edit` gets each sample with its locations and
/// labels copied into buffers it may change, and returns whether to keep it.
/// The samples are left alone while nothing changes.
pub(crate) fn edit_samples(
    samples: &mut Samples,
    mut edit: impl FnMut(Sample<'_>, &mut Vec<u32>, &mut Vec<Label>) -> bool,
) {
    let mut out: Option<Samples> = None;
    let (mut locs, mut labels) = (Vec::new(), Vec::new());
    for (i, s) in samples.iter().enumerate() {
        locs.clear();
        locs.extend_from_slice(s.locations);
        labels.clear();
        labels.extend_from_slice(s.labels);
        let keep = edit(s, &mut locs, &mut labels);
        if out.is_none() && (!keep || locs != s.locations || labels != s.labels) {
            // The first change: copy what came before.
            let mut o = Samples::new(samples.width());
            o.reserve(samples.len(), 0);
            for earlier in samples.iter().take(i) {
                o.push(earlier.locations, earlier.values, earlier.labels);
            }
            out = Some(o);
        }
        if let (Some(o), true) = (out.as_mut(), keep) {
            o.push(&locs, s.values, &labels);
        }
    }
    if let Some(o) = out {
        *samples = o;
    }
}

/// Which name filters matched anything.
struct NameMatches {
    focus: bool,
    ignore: bool,
    hide: bool,
    show: bool,
}

/// pprof's `FilterSamplesByName`. Matches are decided per location (all of
/// the profile's, referenced or not), before hide/show edit its lines.
fn filter_samples_by_name(
    p: &mut Profile,
    focus: Option<&Regex>,
    ignore: Option<&Regex>,
    hide: Option<&Regex>,
    show: Option<&Regex>,
) -> NameMatches {
    let mut m = NameMatches {
        focus: false,
        ignore: false,
        hide: false,
        show: false,
    };
    let mut focus = focus.map(|re| NameMatcher::new(re, p));
    let mut ignore = ignore.map(|re| NameMatcher::new(re, p));
    let mut hide = hide.map(|re| NameMatcher::new(re, p));
    let mut show = show.map(|re| NameMatcher::new(re, p));

    // Per location: Some(true) focused, Some(false) ignored.
    let mut selected: Vec<Option<bool>> = vec![None; p.locations.len()];
    let mut hidden = vec![false; p.locations.len()];
    let mut any_hidden = false;
    for i in 0..p.locations.len() {
        let loc = &p.locations[i];
        if ignore.as_mut().is_some_and(|r| r.location(p, loc)) {
            m.ignore = true;
            selected[i] = Some(false);
        } else if focus.as_mut().is_none_or(|r| r.location(p, loc)) {
            m.focus = true;
            selected[i] = Some(true);
        }
        if let Some(r) = hide.as_mut() {
            if r.location(p, &p.locations[i]) {
                m.hide = true;
                let lines = r.unmatched_lines(p, &p.locations[i]);
                hidden[i] = lines.is_empty();
                p.locations[i].lines = lines;
            }
        }
        if let Some(r) = show.as_mut() {
            let lines = r.matched_lines(p, &p.locations[i]);
            if lines.is_empty() {
                hidden[i] = true;
            } else {
                m.show = true;
            }
            p.locations[i].lines = lines;
        }
        any_hidden |= hidden[i];
    }

    edit_samples(&mut p.samples, |s, locs, _| {
        let mut focused = false;
        for &l in s.locations {
            match selected[l as usize] {
                Some(true) => focused = true,
                Some(false) => return false,
                None => {}
            }
        }
        if !focused {
            return false;
        }
        if any_hidden {
            locs.retain(|&l| !hidden[l as usize]);
            return !locs.is_empty();
        }
        true
    });
    m
}

/// pprof's `ShowFrom`: in each stack, drops the frames above the outermost
/// frame matching `rx` (and a location's lines above its outermost matching
/// line); samples with no matching frame are dropped. Returns whether any
/// location matched.
fn filter_show_from(p: &mut Profile, rx: &Regex) -> bool {
    let mut matcher = NameMatcher::new(rx, p);
    // Per location: None if no match, Some(lines to keep) otherwise.
    let cuts: Vec<Option<usize>> = p
        .locations
        .iter()
        .map(|loc| {
            if matcher.mapping(p, loc) {
                return Some(loc.lines.len());
            }
            let last = loc.lines.iter().rposition(|ln| matcher.function(p, ln));
            last.map(|j| j + 1)
        })
        .collect();
    for (loc, cut) in p.locations.iter_mut().zip(&cuts) {
        if let Some(keep) = cut {
            loc.lines.truncate(*keep);
        }
    }
    let from: Vec<bool> = cuts.iter().map(Option::is_some).collect();
    let matched = from.iter().any(|&f| f);
    edit_samples(&mut p.samples, |s, locs, _| {
        match s.locations.iter().rposition(|&l| from[l as usize]) {
            Some(j) => {
                locs.truncate(j + 1);
                true
            }
            None => false,
        }
    });
    matched
}

/// pprof's `PruneFrom` (`-prune_from`): in each stack, drops the frames
/// beneath the leaf-most one whose function (simplified, see
/// [`remove_uninteresting`]) matches `rx`; in that location, the inlined
/// lines beneath the match go too.
pub fn prune_from(p: &mut Profile, rx: &Regex) {
    let mut beneath = vec![false; p.locations.len()];
    for (i, loc) in p.locations.iter_mut().enumerate() {
        let hit = loc.lines.iter().position(|ln| {
            let name = function_name(&p.functions, &p.strings, ln);
            !name.is_empty() && rx.is_match(simplify_func(name))
        });
        if let Some(j) = hit {
            beneath[i] = true;
            loc.lines.drain(..j);
        }
    }
    edit_samples(&mut p.samples, |s, locs, _| {
        if let Some(j) = s.locations.iter().position(|&l| beneath[l as usize]) {
            locs.drain(..j);
        }
        true
    });
}

fn function_name<'a>(
    functions: &[crate::model::Function],
    strings: &'a crate::StringTable,
    ln: &Line,
) -> &'a str {
    ln.function
        .map_or("", |f| strings.get(functions[f as usize].name))
}

/// pprof's `simplifyFunc`: drops a leading `.` and an argument list starting
/// at the first `(` that does not belong to `(anonymous namespace)` or
/// `operator()`.
fn simplify_func(name: &str) -> &str {
    const RESERVED: [&str; 2] = ["(anonymous namespace)", "operator()"];
    let name = name.strip_prefix('.').unwrap_or(name);
    let bytes = name.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if let Some(r) = RESERVED
            .iter()
            .find(|r| bytes[i..].starts_with(r.as_bytes()))
        {
            i += r.len();
        } else if bytes[i] == b'(' {
            return &name[..i];
        } else {
            i += 1;
        }
    }
    name
}

/// pprof's `RemoveUninteresting`, which the driver runs on every loaded
/// profile: when the profile names `drop_frames`, [`prune`]s with
/// `^(drop_frames)$` and `^(keep_frames)$`. Fails if those do not compile
/// (the driver ignores that error).
pub fn remove_uninteresting(p: &mut Profile) -> Result<(), Error> {
    let drop = p.str(p.drop_frames).to_string();
    if drop.is_empty() {
        return Ok(());
    }
    let drop = compile_regex("drop_frames", &format!("^({drop})$"))?;
    let keep = p.str(p.keep_frames).to_string();
    let keep = match keep.is_empty() {
        true => None,
        false => Some(compile_regex("keep_frames", &format!("^({keep})$"))?),
    };
    prune(p, &drop, keep.as_ref());
    Ok(())
}

/// pprof's `Prune`: removes, from each stack, the frames beneath (leafward of)
/// the root-most frame whose simplified function name matches `drop` and not
/// `keep`, and that frame too when its outermost line matched (else only the
/// lines up to the match are dropped from the location). Frames before the
/// first non-matching one from the root are left alone.
pub fn prune(p: &mut Profile, drop: &Regex, keep: Option<&Regex>) {
    let n = p.locations.len();
    // The whole location goes, or only what is beneath it.
    let (mut prune_loc, mut prune_beneath) = (vec![false; n], vec![false; n]);
    for (i, loc) in p.locations.iter_mut().enumerate() {
        let hit = loc.lines.iter().rposition(|ln| {
            let name = function_name(&p.functions, &p.strings, ln);
            if name.is_empty() {
                return false;
            }
            let name = simplify_func(name);
            drop.is_match(name) && keep.is_none_or(|k| !k.is_match(name))
        });
        if let Some(j) = hit {
            prune_beneath[i] = true;
            if j == loc.lines.len() - 1 {
                prune_loc[i] = true;
            } else {
                loc.lines.drain(..=j);
            }
        }
    }
    edit_samples(&mut p.samples, |s, locs, _| {
        let mut found_user = false;
        for (i, &l) in s.locations.iter().enumerate().rev() {
            let l = l as usize;
            if !prune_loc[l] && !prune_beneath[l] {
                found_user = true;
                continue;
            }
            if !found_user {
                continue;
            }
            if prune_loc[l] {
                locs.drain(..=i);
            } else {
                locs.drain(..i);
            }
            break;
        }
        true
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn translates_go_syntax() {
        assert_eq!(translate_go_regex(r"main\.alloc"), r"main\.alloc");
        assert_eq!(translate_go_regex(r"\d+"), "[0-9]+");
        assert_eq!(translate_go_regex(r"[\w.]"), r"[0-9A-Za-z_.]");
        assert_eq!(translate_go_regex(r"\Qa.b\E+"), r"a\.b+");
        assert_eq!(translate_go_regex(r"Foo[...]"), r"Foo[...]");
        assert_eq!(translate_go_regex(r"[]a]"), r"[\]a]");
        assert_eq!(translate_go_regex(r"[a&&b]"), r"[a\&\&b]");
        assert_eq!(translate_go_regex(r"a{2}b{"), r"a{2}b\{");
        assert_eq!(translate_go_regex(r"\p{Greek}x{1,}"), r"\p{Greek}x{1,}");
        assert_eq!(translate_go_regex(r"[[:alpha:][]"), r"[[:alpha:]\[]");
        assert_eq!(translate_go_regex(r"\101\0\1"), r"\x{41}\x{0}\1");
    }

    #[test]
    fn go_semantics() {
        let re = compile_regex("focus", r"^\w+$").unwrap();
        assert!(re.is_match("abc_1"));
        assert!(!re.is_match("héllo"));
        let re = compile_regex("focus", r"\bfoo\b").unwrap();
        assert!(re.is_match("x.foo(y)"));
        let re = compile_regex("focus", r"main\.(*T).m{").unwrap_err();
        assert!(matches!(re, Error::Regex { .. }));
        assert!(compile_regex("focus", r"a{").unwrap().is_match("xa{"));
    }

    #[test]
    fn simplifies_function_names() {
        assert_eq!(simplify_func(".foo(int)"), "foo");
        assert_eq!(
            simplify_func("ns::(anonymous namespace)::f(int)"),
            "ns::(anonymous namespace)::f"
        );
        assert_eq!(simplify_func("A::operator()(int)"), "A::operator()");
        assert_eq!(simplify_func("main.main"), "main.main");
        assert_eq!(simplify_func("héllo.wörld(x)"), "héllo.wörld");
    }
}
