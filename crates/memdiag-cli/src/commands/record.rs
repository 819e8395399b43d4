//! `record URL --every 10s --for 10m --out DIR`: fetch heap profiles on a
//! schedule into DIR, as `heap-<seq>-<UTC time>.pb.gz` files plus an index
//! (`index.tsv`: time, time_nanos, file, bytes) that `leaks` reads.
//!
//! Every file is written beside its final name and renamed into place, so
//! Ctrl-C or a crash never leaves half a profile. A fetch that fails is
//! retried, then skipped and reported; recording goes on.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, OnceLock};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{bail, Context, Result};
use indicatif::{ProgressBar, ProgressStyle};
use memdiag_profile::Profile;

use crate::args::RecordArgs;
use crate::input;

/// The index of a recording directory.
pub const INDEX_FILE: &str = "index.tsv";
const INDEX_HEADER: &str = "time\ttime_nanos\tfile\tbytes\n";

/// Granularity of waits, so Ctrl-C is noticed promptly.
const POLL: Duration = Duration::from_millis(50);

pub fn run(args: &RecordArgs) -> Result<()> {
    if !input::is_url(&args.url) {
        bail!(
            "{}: expected an http(s):// URL of a heap profile endpoint, e.g. http://localhost:6060/debug/pprof/heap",
            args.url
        );
    }
    if args.every.is_zero() {
        bail!("--every must be longer than 0");
    }
    let dir = &args.out;
    let mut index = prepare_dir(dir, args.append)?;
    let mut seq = index.lines().filter(|l| is_entry(l)).count() + 1;

    let stop = ctrl_c_flag()?;
    stop.store(false, Ordering::SeqCst);

    let planned = args.duration.map(|d| {
        let n = (d.as_nanos() / args.every.as_nanos()) as u64 + 1;
        args.count.map_or(n, |c| n.min(c as u64))
    });
    let planned = planned.or(args.count.map(|c| c as u64));
    let bar = match planned {
        Some(n) => ProgressBar::new(n).with_style(
            ProgressStyle::with_template(
                "{spinner} {pos}/{len} snapshots  {elapsed_precise}  {msg}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
        ),
        None => ProgressBar::new_spinner().with_style(
            ProgressStyle::with_template(
                "{spinner} {pos} snapshots  {elapsed_precise}  {msg}  (Ctrl-C stops)",
            )
            .unwrap_or_else(|_| ProgressStyle::default_spinner()),
        ),
    };
    bar.enable_steady_tick(Duration::from_millis(200));
    let say = |msg: String| {
        if bar.is_hidden() {
            eprintln!("{msg}");
        } else {
            bar.println(msg);
        }
    };

    let start = Instant::now();
    let mut recorded = 0usize;
    let mut failed = 0usize;
    let mut k: u32 = 0;
    'schedule: while let Some(offset) = args.every.checked_mul(k) {
        k += 1;
        if args.duration.is_some_and(|d| offset > d) || args.count.is_some_and(|c| recorded >= c) {
            break;
        }
        // A fetch that overran the period (e.g. ?seconds=N) skips the
        // ticks it covered rather than firing them back to back.
        if start.elapsed() > offset + args.every {
            continue;
        }
        if !sleep_until(start + offset, stop) {
            break;
        }
        let mut attempt = 0;
        let snapshot = loop {
            match fetch(&args.url, stop) {
                Fetched::Stopped => break 'schedule,
                Fetched::Ok(p, bytes) => break Some((p, bytes)),
                Fetched::Err(e) => {
                    attempt += 1;
                    if attempt > args.retries {
                        say(format!(
                            "memdiag: snapshot {seq}: fetch failed {attempt} times, skipped: {e:#}"
                        ));
                        break None;
                    }
                    say(format!(
                        "memdiag: snapshot {seq}: fetch failed (attempt {attempt} of {}), retrying: {e:#}",
                        args.retries + 1
                    ));
                    let backoff = (args.every / 4).clamp(POLL, Duration::from_secs(2));
                    if !sleep_until(Instant::now() + backoff, stop) {
                        break 'schedule;
                    }
                }
            }
        };
        let Some((profile, bytes)) = snapshot else {
            failed += 1;
            continue;
        };
        let name = format!(
            "heap-{seq:04}-{}.pb.gz",
            utc_stamp(profile.time_nanos, true)
        );
        write_atomically(&dir.join(&name), &bytes)?;
        index.push_str(&format!(
            "{}\t{}\t{name}\t{}\n",
            utc_stamp(profile.time_nanos, false),
            profile.time_nanos,
            bytes.len()
        ));
        write_atomically(&dir.join(INDEX_FILE), index.as_bytes())?;
        seq += 1;
        recorded += 1;
        bar.inc(1);
        bar.set_message(format!(
            "last: {} ({} samples)",
            kib(bytes.len()),
            profile.samples.len()
        ));
        if bar.is_hidden() {
            eprintln!(
                "memdiag: snapshot {recorded}: {name} ({}, {} samples)",
                kib(bytes.len()),
                profile.samples.len()
            );
        }
    }
    bar.finish_and_clear();
    let interrupted = if stop.load(Ordering::SeqCst) {
        " (interrupted)"
    } else {
        ""
    };
    if recorded == 0 {
        bail!("{}: no snapshot recorded{interrupted}", args.url);
    }
    eprintln!(
        "memdiag: recorded {recorded} snapshots in {} over {:.1}s{interrupted}{}; analyze with: memdiag leaks {}",
        dir.display(),
        start.elapsed().as_secs_f64(),
        if failed > 0 {
            format!(", {failed} failed")
        } else {
            String::new()
        },
        dir.display()
    );
    Ok(())
}

fn kib(bytes: usize) -> String {
    if bytes >= 1 << 20 {
        format!("{:.1} MiB", bytes as f64 / (1u64 << 20) as f64)
    } else {
        format!("{:.1} KiB", bytes as f64 / 1024.0)
    }
}

fn is_entry(line: &str) -> bool {
    !line.is_empty() && !line.starts_with('#') && !line.starts_with("time\t")
}

/// Creates DIR, or checks that it may be written into. Returns the index
/// text to continue.
fn prepare_dir(dir: &Path, append: bool) -> Result<String> {
    if dir.exists() {
        if !dir.is_dir() {
            bail!("{}: exists and is not a directory", dir.display());
        }
        let mut entries =
            std::fs::read_dir(dir).with_context(|| format!("{}: cannot list", dir.display()))?;
        if entries.next().is_some() {
            if !append {
                bail!(
                    "{}: directory is not empty; pass --append to add to the recording in it, or choose a new directory",
                    dir.display()
                );
            }
            let index = dir.join(INDEX_FILE);
            return std::fs::read_to_string(&index).with_context(|| {
                format!(
                    "{}: cannot read; --append needs a directory written by `memdiag record`",
                    index.display()
                )
            });
        }
    } else {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("{}: cannot create", dir.display()))?;
    }
    Ok(INDEX_HEADER.to_string())
}

/// Set by Ctrl-C. The handler is installed once per process, so `run` may
/// be called again (e.g. by `demo`).
fn ctrl_c_flag() -> Result<&'static AtomicBool> {
    static STOP: AtomicBool = AtomicBool::new(false);
    static INSTALLED: OnceLock<Result<(), String>> = OnceLock::new();
    INSTALLED
        .get_or_init(|| {
            ctrlc::set_handler(|| STOP.store(true, Ordering::SeqCst)).map_err(|e| e.to_string())
        })
        .clone()
        .map_err(|e| anyhow::anyhow!("cannot install the Ctrl-C handler: {e}"))?;
    Ok(&STOP)
}

/// Sleeps until `when`; false when Ctrl-C came first.
fn sleep_until(when: Instant, stop: &AtomicBool) -> bool {
    loop {
        if stop.load(Ordering::SeqCst) {
            return false;
        }
        let now = Instant::now();
        if now >= when {
            return true;
        }
        std::thread::sleep((when - now).min(POLL));
    }
}

enum Fetched {
    Ok(Box<Profile>, Vec<u8>),
    Err(anyhow::Error),
    Stopped,
}

/// Fetches and checks one profile on a worker thread, so that Ctrl-C during
/// a long fetch (`?seconds=30`) stops at once (the fetch is abandoned).
/// The bytes returned are gzipped pprof with `time_nanos` set.
fn fetch(url: &str, stop: &AtomicBool) -> Fetched {
    let (tx, rx) = mpsc::channel();
    let url_owned = url.to_string();
    std::thread::spawn(move || {
        let _ = tx.send(fetch_profile(&url_owned));
    });
    loop {
        if stop.load(Ordering::SeqCst) {
            return Fetched::Stopped;
        }
        match rx.recv_timeout(POLL) {
            Ok(Ok((p, bytes))) => return Fetched::Ok(Box::new(p), bytes),
            Ok(Err(e)) => return Fetched::Err(e),
            Err(mpsc::RecvTimeoutError::Timeout) => {}
            Err(mpsc::RecvTimeoutError::Disconnected) => {
                return Fetched::Err(anyhow::anyhow!("{url}: the fetch thread died"))
            }
        }
    }
}

fn fetch_profile(url: &str) -> Result<(Profile, Vec<u8>)> {
    let fetched_at = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as i64);
    let bytes = input::read_bytes(url)?;
    let mut profile = memdiag_profile::decode(&bytes)
        .with_context(|| format!("{url}: the response is not a profile"))?;
    let gzipped = bytes.starts_with(&[0x1f, 0x8b]);
    if profile.time_nanos == 0 || !gzipped {
        // Legacy text or a raw proto: store it as gzipped pprof, with the
        // time of the fetch when the profile has none.
        if profile.time_nanos == 0 {
            profile.time_nanos = fetched_at;
        }
        let encoded = memdiag_profile::encode_gzip(&profile);
        return Ok((profile, encoded));
    }
    Ok((profile, bytes))
}

/// Writes `path` through a temporary file in the same directory and a rename.
fn write_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    use std::io::Write;
    let name = path
        .file_name()
        .map_or_else(|| "out".into(), |n| n.to_string_lossy().into_owned());
    let tmp: PathBuf = path.with_file_name(format!(".{name}.tmp"));
    let mut file =
        std::fs::File::create(&tmp).with_context(|| format!("{}: cannot create", tmp.display()))?;
    file.write_all(bytes)
        .and_then(|()| file.sync_all())
        .with_context(|| format!("{}: cannot write", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("{}: cannot write", path.display()))
}

/// `2026-11-25T09:05:44.123Z`, or `20261125T090544.123Z` for file names.
fn utc_stamp(nanos: i64, compact: bool) -> String {
    let secs = nanos.div_euclid(1_000_000_000);
    let millis = nanos.rem_euclid(1_000_000_000) / 1_000_000;
    let (days, day_secs) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let (y, m, d) = civil_from_days(days);
    let (hh, mm, ss) = (day_secs / 3600, day_secs / 60 % 60, day_secs % 60);
    if compact {
        format!("{y:04}{m:02}{d:02}T{hh:02}{mm:02}{ss:02}.{millis:03}Z")
    } else {
        format!("{y:04}-{m:02}-{d:02}T{hh:02}:{mm:02}:{ss:02}.{millis:03}Z")
    }
}

/// Days since 1970-01-01 to a proleptic Gregorian date (Hinnant's algorithm).
fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utc_stamps() {
        assert_eq!(utc_stamp(0, false), "1970-01-01T00:00:00.000Z");
        // 2024-02-29T12:34:56.789Z = 1709210096.789 s.
        assert_eq!(
            utc_stamp(1_709_210_096_789_000_000, false),
            "2024-02-29T12:34:56.789Z"
        );
        assert_eq!(
            utc_stamp(1_709_210_096_789_000_000, true),
            "20240229T123456.789Z"
        );
    }

    #[test]
    fn a_non_empty_directory_needs_append() {
        let dir = std::env::temp_dir().join(format!("memdiag-record-unit-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        assert_eq!(prepare_dir(&dir, false).unwrap(), INDEX_HEADER);
        std::fs::write(dir.join("other"), "x").unwrap();
        let err = prepare_dir(&dir, false).unwrap_err().to_string();
        assert!(err.contains("--append"), "{err}");
        let err = format!("{:#}", prepare_dir(&dir, true).unwrap_err());
        assert!(err.contains(INDEX_FILE), "{err}");
        std::fs::write(dir.join(INDEX_FILE), "time\tx\n").unwrap();
        assert_eq!(prepare_dir(&dir, true).unwrap(), "time\tx\n");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
