//! Label ("tag") filters: `-tagfocus`, `-tagignore` (regular expressions or
//! numeric ranges, as compiled by pprof's driver) and `-tagshow`, `-taghide`.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::OnceLock;

use regex::Regex;

use super::filter::{compile_regex, edit_samples};
use super::{convert_unit, label_kind, LabelKind};
use crate::model::{Profile, Sample};
use crate::strings::StrId;
use crate::Error;

/// The unit of each numeric label key, as pprof's `Profile.NumLabelUnits`
/// decides it: the first unit seen with the key, else `bytes` for the keys
/// `alignment` and `request`, else the key itself. Also returns the messages
/// pprof prints (before any filter) for keys seen with several units:
/// `For tag bytes used unit B, also encountered unit(s) kB, MB`.
pub fn num_label_units(p: &Profile) -> (BTreeMap<String, String>, Vec<String>) {
    let (units, ignored) = label_units(p);
    let named = units
        .iter()
        .map(|(k, u)| (p.str(*k).to_string(), u.clone()))
        .collect::<BTreeMap<_, _>>();
    let mut messages: Vec<(String, String)> = ignored
        .iter()
        .map(|(k, others)| {
            let others: Vec<&str> = others.iter().map(String::as_str).collect();
            let key = p.str(*k).to_string();
            let text = format!(
                "For tag {key} used unit {}, also encountered unit(s) {}",
                named[&key],
                others.join(", ")
            );
            (key, text)
        })
        .collect();
    messages.sort();
    (named, messages.into_iter().map(|(_, m)| m).collect())
}

type LabelUnits = HashMap<StrId, String>;

/// Units by key id, and the other units seen per key (sorted).
fn label_units(p: &Profile) -> (LabelUnits, HashMap<StrId, BTreeSet<String>>) {
    let mut units: HashMap<StrId, StrId> = HashMap::new();
    let mut ignored: HashMap<StrId, BTreeSet<String>> = HashMap::new();
    for s in p.samples.iter() {
        for l in s.labels {
            if label_kind(l) != LabelKind::Num {
                continue;
            }
            let first = *units.entry(l.key).or_insert(l.num_unit);
            if l.num_unit.is_empty() {
                continue;
            }
            if first.is_empty() {
                units.insert(l.key, l.num_unit);
            } else if first != l.num_unit {
                ignored
                    .entry(l.key)
                    .or_default()
                    .insert(p.str(l.num_unit).to_string());
            }
        }
    }
    let units = units
        .into_iter()
        .map(|(k, u)| {
            let unit = match (p.str(u), p.str(k)) {
                ("", "alignment" | "request") => "bytes",
                ("", key) => key,
                (unit, _) => unit,
            };
            (k, unit.to_string())
        })
        .collect();
    (units, ignored)
}

/// A numeric range in a unit: `min..=max`, either bound optional.
#[derive(Debug)]
struct NumRange {
    unit: String,
    min: Option<f64>,
    max: Option<f64>,
}

impl NumRange {
    fn contains(&self, value: i64, unit: &str) -> bool {
        let (v, u) = convert_unit(value, unit, &self.unit);
        u == self.unit && self.min.is_none_or(|m| v >= m) && self.max.is_none_or(|m| v <= m)
    }
}

#[derive(Debug)]
enum Matcher {
    Range(NumRange),
    Regexes(Vec<Regex>),
}

/// A compiled `-tagfocus` / `-tagignore` value.
#[derive(Debug)]
pub(crate) struct TagFilter {
    /// The label key before `=`, if any (an empty key means none).
    key: Option<String>,
    matcher: Matcher,
}

fn range_rx() -> &'static Regex {
    static RX: OnceLock<Regex> = OnceLock::new();
    RX.get_or_init(|| Regex::new("([+-]?[[:digit:]]+)([[:alpha:]]+)?").expect("valid regex"))
}

/// Parses a numeric range as pprof does: `32kb` (equal), `:64kb` (at most),
/// `4mb:` (at least), `12kb:64mb` (between, inclusive); `None` when `value`
/// is not one of these (it is then read as regular expressions).
fn parse_range(option: &str, value: &str) -> Result<Option<NumRange>, Error> {
    let found: Vec<regex::Captures<'_>> = range_rx().captures_iter(value).take(2).collect();
    let Some(first) = found.first() else {
        return Ok(None);
    };
    let number = |c: &regex::Captures<'_>| -> Result<(i64, String), Error> {
        let digits = &c[1];
        let n = digits.parse::<i64>().map_err(|e| Error::Option {
            option: option.to_string(),
            value: value.to_string(),
            cause: format!("cannot parse {digits:?} as a 64-bit integer: {e}"),
        })?;
        Ok((n, c.get(2).map_or("", |m| m.as_str()).to_string()))
    };
    let whole0 = &first[0];
    let (v, u) = number(first)?;
    let (scaled, unit) = convert_unit(v, &u, &u);
    let unit = unit.to_string();
    let range = |min, max| {
        Some(NumRange {
            unit: unit.clone(),
            min,
            max,
        })
    };
    if found.len() == 1 {
        return Ok(if value == whole0 {
            range(Some(scaled), Some(scaled))
        } else if value == format!("{whole0}:") {
            range(Some(scaled), None)
        } else if value == format!(":{whole0}") {
            range(None, Some(scaled))
        } else {
            None
        });
    }
    if value != format!("{whole0}:{}", &found[1][0]) {
        return Ok(None);
    }
    let (v2, u2) = number(&found[1])?;
    let (scaled2, unit2) = convert_unit(v2, &u2, &unit);
    if unit2 != unit {
        return Ok(None);
    }
    Ok(range(Some(scaled), Some(scaled2)))
}

impl TagFilter {
    /// Compiles a tag filter option; notes in `messages` when the value is
    /// read as a range, as pprof prints it.
    pub(crate) fn compile(
        option: &str,
        value: &Option<String>,
        messages: &mut Vec<String>,
    ) -> Result<Option<TagFilter>, Error> {
        let Some(value) = value.as_deref().filter(|v| !v.is_empty()) else {
            return Ok(None);
        };
        let (key, value) = match value.split_once('=') {
            Some((k, v)) => ((!k.is_empty()).then(|| k.to_string()), v),
            None => (None, value),
        };
        if let Some(range) = parse_range(option, value)? {
            messages.push(format!(
                "{option}:Interpreted '{value}' as range, not regexp"
            ));
            return Ok(Some(TagFilter {
                key,
                matcher: Matcher::Range(range),
            }));
        }
        let regexes = value
            .split(',')
            .map(|part| compile_regex(option, part))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Some(TagFilter {
            key,
            matcher: Matcher::Regexes(regexes),
        }))
    }
}

/// A [`TagFilter`] bound to one profile, with memoized regex results.
struct SampleMatcher<'a> {
    filter: &'a TagFilter,
    units: &'a LabelUnits,
    /// The key's id; `Some(None)` when the key is not in the profile at all.
    key: Option<Option<StrId>>,
    /// Per (key, value): which regexes match (no key given: `key:value`;
    /// key given: `value`, any regex).
    cache: HashMap<(StrId, StrId), Vec<bool>>,
}

impl<'a> SampleMatcher<'a> {
    fn new(filter: &'a TagFilter, units: &'a LabelUnits, p: &Profile) -> Self {
        SampleMatcher {
            filter,
            units,
            key: filter.key.as_deref().map(|k| p.strings.find(k)),
            cache: HashMap::new(),
        }
    }

    fn regex_hits(&mut self, p: &Profile, key: StrId, value: StrId, regexes: &[Regex]) -> &[bool] {
        let keyed = self.key.is_some();
        self.cache.entry((key, value)).or_insert_with(|| {
            let text = if keyed {
                p.str(value).to_string()
            } else {
                format!("{}:{}", p.str(key), p.str(value))
            };
            regexes.iter().map(|rx| rx.is_match(&text)).collect()
        })
    }

    fn matches(&mut self, p: &Profile, s: &Sample<'_>) -> bool {
        let want = match self.key {
            Some(None) => return false,
            Some(Some(k)) => Some(k),
            None => None,
        };
        let filter = self.filter;
        match &filter.matcher {
            Matcher::Range(range) => s.labels.iter().any(|l| {
                label_kind(l) == LabelKind::Num
                    && want.is_none_or(|k| l.key == k)
                    && range.contains(l.num, self.units.get(&l.key).map_or("", String::as_str))
            }),
            Matcher::Regexes(regexes) => {
                let strs = s.labels.iter().filter(|l| label_kind(l) == LabelKind::Str);
                match want {
                    // Any regex matching any value of the key.
                    Some(k) => strs.filter(|l| l.key == k).any(|l| {
                        self.regex_hits(p, l.key, l.str, regexes)
                            .iter()
                            .any(|&hit| hit)
                    }),
                    // Every regex matching some `key:value`.
                    None => {
                        let labels: Vec<_> = strs.collect();
                        (0..regexes.len()).all(|i| {
                            labels
                                .iter()
                                .any(|l| self.regex_hits(p, l.key, l.str, regexes)[i])
                        })
                    }
                }
            }
        }
    }
}

/// pprof's `FilterSamplesByTag`: keeps the samples matching `focus` (if set)
/// and not `ignore` (if set). `units` are the label units of the profile
/// before any filtering. Returns whether `focus` and `ignore` matched any
/// sample.
pub(crate) fn filter_samples_by_tag(
    p: &mut Profile,
    focus: Option<&TagFilter>,
    ignore: Option<&TagFilter>,
    units: &LabelUnits,
) -> (bool, bool) {
    let mut focus = focus.map(|f| SampleMatcher::new(f, units, p));
    let mut ignore = ignore.map(|f| SampleMatcher::new(f, units, p));
    let (mut fm, mut im) = (false, false);
    let profile: &Profile = p;
    let mut keep = Vec::with_capacity(profile.samples.len());
    for s in profile.samples.iter() {
        let focused = focus.as_mut().is_none_or(|m| m.matches(profile, &s));
        let ignored = ignore.as_mut().is_some_and(|m| m.matches(profile, &s));
        fm |= focused;
        im |= ignored;
        keep.push(focused && !ignored);
    }
    let mut keep = keep.into_iter();
    p.samples.retain(|_| keep.next().unwrap_or(false));
    (fm, im)
}

/// Label units for [`filter_samples_by_tag`].
pub(crate) fn units_for_filters(p: &Profile) -> LabelUnits {
    label_units(p).0
}

/// pprof's `FilterTagsByName`: removes from every sample the label keys that
/// do not match `show` (if set) or that match `hide`. Returns whether `show`
/// and `hide` matched any key.
pub(crate) fn filter_tags_by_name(
    p: &mut Profile,
    show: Option<&Regex>,
    hide: Option<&Regex>,
) -> (bool, bool) {
    let (mut sm, mut hm) = (false, false);
    // Per key: (matches show, matches hide).
    let mut cache: HashMap<StrId, (bool, bool)> = HashMap::new();
    let strings = &p.strings;
    edit_samples(&mut p.samples, |_, _, labels| {
        labels.retain(|l| {
            if label_kind(l) == LabelKind::Ignored {
                return true;
            }
            let (show_hit, hide_hit) = *cache.entry(l.key).or_insert_with(|| {
                let key = strings.get(l.key);
                (
                    show.is_none_or(|rx| rx.is_match(key)),
                    hide.is_some_and(|rx| rx.is_match(key)),
                )
            });
            sm |= show_hit;
            hm |= hide_hit;
            show_hit && !hide_hit
        });
        true
    });
    (sm, hm)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn range(v: &str) -> Option<NumRange> {
        parse_range("tagfocus", v).unwrap()
    }

    #[test]
    fn parses_ranges_like_pprof() {
        let r = range("1kb:4kb").unwrap();
        assert_eq!(
            (r.unit.as_str(), r.min, r.max),
            ("kB", Some(1.0), Some(4.0))
        );
        assert!(r.contains(1024, "bytes") && r.contains(4096, "B") && !r.contains(4097, "bytes"));
        let r = range("1kb:").unwrap();
        assert_eq!((r.min, r.max), (Some(1.0), None));
        let r = range(":64").unwrap();
        assert_eq!((r.unit.as_str(), r.min, r.max), ("", None, Some(64.0)));
        assert!(
            !r.contains(1, "bytes"),
            "a unitless range never matches a byte label"
        );
        assert!(r.contains(3, "requests"));
        let r = range("32").unwrap();
        assert_eq!((r.min, r.max), (Some(32.0), Some(32.0)));
        assert!(range("foo").is_none());
        assert!(range("main.f1").is_none());
        assert!(range("1kb:4s").is_none());
        assert!(range("1kb-4kb").is_none());
        assert!(parse_range("tagfocus", "99999999999999999999").is_err());
    }
}
