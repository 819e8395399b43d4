//! A Go-compatible `/debug/pprof/` endpoint (feature `http`): what
//! `import _ "net/http/pprof"` gives a Go service, for a Rust program that
//! installed [`Profiled`](crate::Profiled) as its global allocator.
//!
//! ```no_run
//! # fn main() -> Result<(), memdiag::http::Error> {
//! // A background thread serving http://127.0.0.1:6060/debug/pprof/
//! let server = memdiag::http::serve("127.0.0.1:6060")?;
//! println!("profiles at http://{}/debug/pprof/", server.local_addr());
//! # Ok(()) }
//! ```
//!
//! or, inside an axum application, `app.merge(memdiag::http::router())`.
//! Then `go tool pprof http://localhost:6060/debug/pprof/heap` and
//! `memdiag top http://localhost:6060/debug/pprof/heap` both work.
//!
//! # Routes
//! With Go's names, parameters, content types and `Content-Disposition`:
//!
//! | path | serves |
//! |---|---|
//! | `/debug/pprof/` | HTML index: the profiles, their record counts, links |
//! | `heap` | the heap profile (gzipped pprof; default sample type `inuse_space`) |
//! | `allocs` | the same data, default sample type `alloc_space` |
//! | `peak` | the heap at the highest estimated live heap ([`peak_profile`](crate::peak_profile)) |
//! | `profile` | a CPU profile over `seconds` (default 30), via pprof-rs |
//! | `symbol` | GET: `num_symbols: 1`; POST `0xPC+0xPC...`: `0xPC name` lines |
//! | `cmdline` | the program's arguments, NUL-separated |
//!
//! `heap`, `allocs` and `peak` take `debug=1` (Go's legacy heap text, with
//! *sampled* counts, see [`write_legacy_heap`](memdiag_profile::codec::write_legacy_heap));
//! `heap` and `allocs` take `seconds=N` for a delta profile over N seconds
//! (as Go ≥ 1.16: the second profile minus the first, `-delta` in the file
//! name). `gc=1` is accepted and does nothing: Rust has no collector to run,
//! the sampled live set is always current.
//!
//! # Security
//! Profiles show code paths and the command line. [`serve`] binds loopback
//! addresses only and fails on any other; [`serve_public`] is the explicit
//! opt-in for a non-loopback address, best with a bearer token
//! ([`Config::token`]). `seconds` is validated and capped
//! ([`Config::max_seconds`], default 300); one CPU profile runs at a time
//! (another request meanwhile gets 409 with the reason); a bad parameter gets
//! 400, an unknown profile 404, a wrong method 405, a query over 2 KiB 414,
//! each with a one-line reason in `text/plain` (and Go's `X-Go-Pprof: 1`
//! header, which makes `go tool pprof` print that reason).
//!
//! # The server's own allocations
//! The server runs on its own thread with a small tokio runtime (two workers,
//! at most four blocking threads for building profiles). Every one of those
//! threads is marked at start (`on_thread_start`) so that its allocations
//! are never sampled: serving profiles does not show in them. Allocations
//! the app's threads made remain, and blocks the server frees that were
//! sampled elsewhere are still accounted for.

mod cmdline;
mod cpu;
mod heap;
mod index;
mod params;
mod routes;
mod security;
mod serve;
mod symbol;

use std::sync::Arc;

pub use serve::Server;

/// The default and largest accepted `seconds` (CPU and delta profiles).
pub const DEFAULT_MAX_SECONDS: u64 = 300;
/// A CPU profile's duration when the request gives none (as Go).
pub const DEFAULT_CPU_SECONDS: u64 = 30;

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("cannot resolve the address {addr:?}: {source}")]
    Resolve {
        addr: String,
        source: std::io::Error,
    },
    #[error("the address {addr:?} resolves to nothing")]
    NoAddress { addr: String },
    #[error(
        "{addr} is not a loopback address: memdiag::http::serve binds loopback addresses only; \
         use serve_public to expose the profiles beyond this machine"
    )]
    NotLoopback { addr: std::net::SocketAddr },
    #[error("cannot bind {addr}: {source}")]
    Bind {
        addr: std::net::SocketAddr,
        source: std::io::Error,
    },
    #[error("cannot start the server: {0}")]
    Start(std::io::Error),
}

/// Server options, a builder: `Config::new().token("s3cret").serve(addr)`.
#[derive(Clone, Debug)]
pub struct Config {
    pub(crate) token: Option<Arc<str>>,
    pub(crate) max_seconds: u64,
    pub(crate) cpu_frequency: i32,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            token: None,
            max_seconds: DEFAULT_MAX_SECONDS,
            cpu_frequency: 100,
        }
    }
}

impl Config {
    pub fn new() -> Self {
        Self::default()
    }

    /// Requires `Authorization: Bearer <token>` on every request (401
    /// otherwise). `go tool pprof` cannot send it; `curl -H` or a proxy can.
    pub fn token(mut self, token: impl Into<String>) -> Self {
        self.token = Some(Arc::from(token.into()));
        self
    }

    /// The largest accepted `seconds` (default 300; at least 1).
    pub fn max_seconds(mut self, seconds: u64) -> Self {
        self.max_seconds = seconds.max(1);
        self
    }

    /// CPU samples per second (default 100, as Go; clamped to 1..=1000).
    pub fn cpu_frequency(mut self, hz: i32) -> Self {
        self.cpu_frequency = hz.clamp(1, 1000);
        self
    }

    /// The routes, to merge into an axum application. They run on the
    /// application's runtime: its threads' allocations are its own business
    /// (only [`Config::serve`]'s threads are left unsampled).
    pub fn router(&self) -> axum::Router {
        routes::router(self.clone())
    }

    /// Serves on a background thread; `addr` must be a loopback address
    /// (`127.0.0.1:6060`, `[::1]:0`, `localhost:6060`).
    pub fn serve(self, addr: &str) -> Result<Server, Error> {
        serve::start(self, addr, false)
    }

    /// Serves on a background thread on any address, loopback or not: the
    /// explicit opt-in to expose profiles to the network.
    pub fn serve_public(self, addr: &str) -> Result<Server, Error> {
        serve::start(self, addr, true)
    }
}

/// Serves `/debug/pprof/` on a loopback `addr` from a background thread,
/// with the default [`Config`]. Port 0 picks a free port
/// ([`Server::local_addr`] tells which).
pub fn serve(addr: &str) -> Result<Server, Error> {
    Config::new().serve(addr)
}

/// Like [`serve`], for any address: the opt-in for a non-loopback one.
pub fn serve_public(addr: &str) -> Result<Server, Error> {
    Config::new().serve_public(addr)
}

/// The `/debug/pprof/` routes with the default [`Config`], to merge into an
/// axum application.
pub fn router() -> axum::Router {
    Config::new().router()
}
