//! `heap`, `allocs` and `peak`: the collector's heap profiles, as gzipped
//! pprof, as Go's legacy text (`debug=1`), or as a delta over `seconds=N`.

use std::time::Duration;

use axum::http::StatusCode;
use axum::response::Response;
use memdiag_profile::Profile;

use super::routes::{fail, ok};
use super::{params, Config};

/// Which profile a route serves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    /// The live heap; default sample type `inuse_space`.
    Heap,
    /// The same data; default sample type `alloc_space` (as Go's `allocs`).
    Allocs,
    /// The live set at the highest estimated live heap.
    Peak,
}

impl Kind {
    fn from_name(name: &str) -> Option<Kind> {
        match name {
            "heap" => Some(Kind::Heap),
            "allocs" => Some(Kind::Allocs),
            "peak" => Some(Kind::Peak),
            _ => None,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Kind::Heap => "heap",
            Kind::Allocs => "allocs",
            Kind::Peak => "peak",
        }
    }
}

/// Builds the profile (symbolization: on a blocking thread).
pub(crate) async fn collect(kind: Kind) -> Result<Profile, String> {
    tokio::task::spawn_blocking(move || {
        let mut p = match kind {
            Kind::Peak => crate::peak_profile(),
            _ => crate::heap_profile(),
        };
        if kind == Kind::Allocs {
            p.default_sample_type = p.strings.intern("alloc_space");
        }
        p
    })
    .await
    .map_err(|e| format!("failed to collect profile: {e}"))
}

pub(crate) async fn serve(name: &str, query: &str, config: &Config) -> Response {
    let Some(kind) = Kind::from_name(name) else {
        return fail(StatusCode::NOT_FOUND, "Unknown profile");
    };
    let params = match params::parse(query, config.max_seconds) {
        Ok(p) => p,
        Err(reason) => return fail(StatusCode::BAD_REQUEST, &reason),
    };
    if let Some(seconds) = params.seconds {
        if kind == Kind::Peak {
            return fail(
                StatusCode::BAD_REQUEST,
                "\"seconds\" parameter is not supported for this profile type",
            );
        }
        if params.debug != 0 {
            return fail(
                StatusCode::BAD_REQUEST,
                "seconds and debug params are incompatible",
            );
        }
        return delta(kind, seconds).await;
    }
    let p = match collect(kind).await {
        Ok(p) => p,
        Err(reason) => return fail(StatusCode::INTERNAL_SERVER_ERROR, &reason),
    };
    let encoded = tokio::task::spawn_blocking(move || {
        if params.debug != 0 {
            memdiag_profile::codec::write_legacy_heap(&p)
                .map(|text| ok(text, None))
                .map_err(|e| format!("failed to write the legacy heap text: {e}"))
        } else {
            Ok(ok(memdiag_profile::encode_gzip(&p), Some(kind.name())))
        }
    })
    .await;
    match encoded {
        Ok(Ok(r)) => r,
        Ok(Err(reason)) => fail(StatusCode::INTERNAL_SERVER_ERROR, &reason),
        Err(e) => fail(
            StatusCode::INTERNAL_SERVER_ERROR,
            &format!("failed to encode profile: {e}"),
        ),
    }
}

/// Go's delta profile: a profile now, another `seconds` later, the second
/// minus the first (so `alloc_*` are what was allocated meanwhile and
/// `inuse_*` how the live heap changed), time and duration of the window.
async fn delta(kind: Kind, seconds: u64) -> Response {
    let p0 = match collect(kind).await {
        Ok(p) => p,
        Err(reason) => return fail(StatusCode::INTERNAL_SERVER_ERROR, &reason),
    };
    tokio::time::sleep(Duration::from_secs(seconds)).await;
    let p1 = match collect(kind).await {
        Ok(p) => p,
        Err(reason) => return fail(StatusCode::INTERNAL_SERVER_ERROR, &reason),
    };
    let encoded = tokio::task::spawn_blocking(move || {
        subtract(p1, p0).map(|d| memdiag_profile::encode_gzip(&d))
    })
    .await;
    match encoded {
        Ok(Ok(bytes)) => ok(bytes, Some(&format!("{}-delta", kind.name()))),
        Ok(Err(reason)) => fail(StatusCode::INTERNAL_SERVER_ERROR, &reason),
        Err(e) => fail(
            StatusCode::INTERNAL_SERVER_ERROR,
            &format!("failed to compute delta: {e}"),
        ),
    }
}

/// `p1 - p0`, merged as Go's pprof merges (samples netting to zero go).
pub(crate) fn subtract(p1: Profile, mut p0: Profile) -> Result<Profile, String> {
    let (t0, t1) = (p0.time_nanos, p1.time_nanos);
    let default = p1.str(p1.default_sample_type).to_string();
    memdiag_profile::ops::scale(&mut p0, -1.0);
    let mut d = memdiag_profile::ops::combine(vec![p0, p1])
        .map_err(|e| format!("failed to compute delta: {e}"))?;
    d.time_nanos = t1;
    d.duration_nanos = t1.saturating_sub(t0);
    d.default_sample_type = d.strings.intern(&default);
    Ok(d)
}

#[cfg(test)]
mod tests {
    use super::*;
    use memdiag_profile::{Function, Line, Location};

    fn profile(values: &[(&str, [i64; 4])], time: i64) -> Profile {
        let mut p = Profile::with_sample_types(&[
            ("alloc_objects", "count"),
            ("alloc_space", "bytes"),
            ("inuse_objects", "count"),
            ("inuse_space", "bytes"),
        ]);
        p.period = 512 * 1024;
        p.time_nanos = time;
        p.default_sample_type = p.strings.intern("alloc_space");
        for (name, v) in values {
            let n = p.strings.intern(name);
            p.functions.push(Function {
                name: n,
                system_name: n,
                ..Function::default()
            });
            p.locations.push(Location {
                address: 0x1000 + p.locations.len() as u64,
                lines: vec![Line {
                    function: Some(p.functions.len() as u32 - 1),
                    line: 1,
                    column: 0,
                }],
                ..Location::default()
            });
            p.samples.push(&[p.locations.len() as u32 - 1], v, &[]);
        }
        p
    }

    #[test]
    fn delta_is_the_second_minus_the_first() {
        let p0 = profile(&[("a", [1, 10, 1, 10]), ("b", [2, 20, 2, 20])], 1_000);
        let p1 = profile(&[("a", [1, 10, 1, 10]), ("b", [5, 50, 3, 30])], 3_000);
        let d = subtract(p1, p0).unwrap();
        assert_eq!(d.time_nanos, 3_000);
        assert_eq!(d.duration_nanos, 2_000);
        assert_eq!(d.str(d.default_sample_type), "alloc_space");
        // `a` nets out and goes; `b` keeps the difference.
        assert_eq!(d.samples.len(), 1);
        assert_eq!(d.samples.get(0).values, &[3, 30, 1, 10]);
    }
}
