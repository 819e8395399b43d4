//! `profile?seconds=N`: a CPU profile of the whole process over N seconds
//! (default 30), taken with pprof-rs (`SIGPROF` at 100 Hz, every thread),
//! served as gzipped pprof like Go's.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use axum::http::StatusCode;
use axum::response::Response;
use pprof::protos::Message;

use super::routes::{fail, ok};
use super::{params, Config, DEFAULT_CPU_SECONDS};

/// Set while a CPU profile runs: the process has one profiling timer.
static RUNNING: AtomicBool = AtomicBool::new(false);

/// Clears [`RUNNING`] however the request ends (a client that goes away
/// drops the request's future, and with it the profiler).
struct Running;

impl Drop for Running {
    fn drop(&mut self) {
        RUNNING.store(false, Ordering::Release);
    }
}

pub(crate) async fn serve(query: &str, config: &Config) -> Response {
    let params = match params::parse(query, config.max_seconds) {
        Ok(p) => p,
        Err(reason) => return fail(StatusCode::BAD_REQUEST, &reason),
    };
    let seconds = params
        .seconds
        .unwrap_or(DEFAULT_CPU_SECONDS.min(config.max_seconds));
    if RUNNING.swap(true, Ordering::AcqRel) {
        return fail(
            StatusCode::CONFLICT,
            "a CPU profile is already being taken: one at a time; retry when it is done",
        );
    }
    let running = Running;
    let guard = match pprof::ProfilerGuardBuilder::default()
        .frequency(config.cpu_frequency)
        .blocklist(&["libc", "libgcc", "pthread", "vdso"])
        .build()
    {
        Ok(g) => g,
        Err(e) => {
            return fail(
                StatusCode::INTERNAL_SERVER_ERROR,
                &format!("Could not enable CPU profiling: {e}"),
            )
        }
    };
    tokio::time::sleep(Duration::from_secs(seconds)).await;
    let encoded = tokio::task::spawn_blocking(move || {
        let report = guard
            .report()
            .frames_post_processor(drop_profiler_frames)
            .build();
        drop(guard);
        let report = report.map_err(|e| format!("failed to build the CPU profile: {e}"))?;
        let pb = report
            .pprof()
            .map_err(|e| format!("failed to convert the CPU profile: {e}"))?;
        to_pprof(&pb.encode_to_vec())
    })
    .await;
    drop(running);
    match encoded {
        Ok(Ok(bytes)) => ok(bytes, Some("profile")),
        Ok(Err(reason)) => fail(StatusCode::INTERNAL_SERVER_ERROR, &reason),
        Err(e) => fail(
            StatusCode::INTERNAL_SERVER_ERROR,
            &format!("failed to build the CPU profile: {e}"),
        ),
    }
}

/// Drops the profiler's own frames from the leaf end of a sample: pprof-rs
/// removes its signal handler's frame, but not the unwinder's frames called
/// from it when they are not inlined (debug builds).
fn drop_profiler_frames(frames: &mut pprof::Frames) {
    let own = |name: &str| {
        let name = name.trim_start_matches('<');
        name.starts_with("backtrace::") || name.starts_with("pprof::")
    };
    let skip = frames
        .frames
        .iter()
        .take_while(|symbols| !symbols.is_empty() && symbols.iter().all(|s| own(&s.name())))
        .count();
    if skip < frames.frames.len() {
        frames.frames.drain(..skip);
    }
}

/// pprof-rs's protobuf, read back and written out by memdiag's codec as
/// `go tool pprof` expects it: gzipped, the string table and ids in order.
fn to_pprof(raw: &[u8]) -> Result<Vec<u8>, String> {
    if raw.is_empty() {
        return Err("the CPU profiler produced nothing".to_string());
    }
    let p = memdiag_profile::decode(raw)
        .map_err(|e| format!("the CPU profile does not decode: {e}"))?;
    Ok(memdiag_profile::encode_gzip(&p))
}
