//! `web FILE|DIR|URL [--port N]`: the report page served on 127.0.0.1, with
//! controls. The inputs are loaded once; each API request applies its sample
//! type, focus, ignore and base to the profile kept in memory and answers
//! with the aggregated view only (see `view`), so the page stays light
//! whatever the number of samples.
//!
//! Routes: `GET /` the page; `GET /api/view?sample_index=&focus=&ignore=&base=`
//! the view as JSON; `GET /api/list?name=FUNCTION&...` the `list` report of
//! one function as text. A bad parameter gets 400 and a one-line reason.

use std::collections::VecDeque;
use std::io::Write;
use std::sync::{Arc, Mutex};

use anyhow::{Context, Result};
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use memdiag_profile::report;
use regex::Regex;

use crate::args::{SelectArgs, WebArgs};
use crate::pipeline::{prepare_loaded, Base};
use crate::view::{self, Loaded};

/// Longest query accepted: a few parameters and regexes.
const MAX_QUERY: usize = 4096;

/// Views kept ready: a large profile takes a second or two per view, and
/// the page often switches back to one it showed.
const CACHED_VIEWS: usize = 8;

struct App {
    loaded: Loaded,
    /// The command line's selection; a request's parameters override it.
    select: SelectArgs,
    /// The last base picked in the page, so that changing another control
    /// does not read it again.
    base_cache: Mutex<Option<(String, Arc<Base>)>>,
    /// The latest views as JSON, newest first, by their parameters.
    views: Mutex<VecDeque<(Params, Arc<String>)>>,
}

pub fn run(args: &WebArgs) -> Result<()> {
    let loaded = view::load(&args.inputs, &args.select)?;
    let app = Arc::new(App {
        loaded,
        select: args.select.clone(),
        base_cache: Mutex::new(None),
        views: Mutex::new(VecDeque::new()),
    });
    // The command line's selection must work before anything is served:
    // a bad -sample_index or -focus is a usage error, exit 2. The page's
    // first request then finds its view ready.
    app.view_json(&Params::default())
        .map_err(|e| anyhow::anyhow!("{e}"))
        .with_context(|| args.inputs.join(" "))?;

    // Ctrl-C ends the server at once; nothing is left to flush.
    ctrlc::set_handler(|| std::process::exit(0)).context("installing the Ctrl-C handler")?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("starting the server runtime")?;
    runtime.block_on(async move {
        let addr = ("127.0.0.1", args.port);
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .with_context(|| format!("127.0.0.1:{}: cannot listen", args.port))?;
        let local = listener.local_addr().context("reading the bound address")?;
        let mut out = std::io::stdout().lock();
        writeln!(out, "memdiag web: serving on http://{local}/")
            .and_then(|()| out.flush())
            .context("writing to stdout")?;
        drop(out);
        let router = Router::new()
            .route("/", get(page))
            .route("/api/view", get(api_view))
            .route("/api/list", get(api_list))
            // Browsers ask for it; a 404 would be a console error.
            .route("/favicon.ico", get(|| async { StatusCode::NO_CONTENT }))
            .fallback(|| async { fail(StatusCode::NOT_FOUND, "no such page") })
            .with_state(app);
        axum::serve(listener, router).await.context("serving")
    })
}

/// A one-line plain-text answer.
fn fail(status: StatusCode, reason: &str) -> Response {
    let line = reason.replace('\n', " ");
    (status, format!("{line}\n")).into_response()
}

/// Refuses requests whose Host is not this machine's loopback: a page of
/// another site reaching us through DNS rebinding must not read profiles.
fn check_host(headers: &HeaderMap) -> Option<Response> {
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("");
    let name = host.rsplit_once(':').map_or(host, |(name, _)| name);
    if matches!(name, "127.0.0.1" | "localhost" | "[::1]") {
        None
    } else {
        Some(fail(
            StatusCode::FORBIDDEN,
            &format!("host {host:?} is not served: use http://127.0.0.1"),
        ))
    }
}

async fn page(headers: HeaderMap) -> Response {
    if let Some(r) = check_host(&headers) {
        return r;
    }
    (
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        view::web_page(),
    )
        .into_response()
}

async fn api_view(State(app): State<Arc<App>>, headers: HeaderMap, uri: Uri) -> Response {
    answer(&headers, &uri, move |params| {
        let json = app.view_json(&params)?;
        Ok((
            [(header::CONTENT_TYPE, "application/json")],
            json.to_string(),
        )
            .into_response())
    })
    .await
}

async fn api_list(State(app): State<Arc<App>>, headers: HeaderMap, uri: Uri) -> Response {
    answer(&headers, &uri, move |params| {
        let text = app.list(&params)?;
        Ok(([(header::CONTENT_TYPE, "text/plain; charset=utf-8")], text).into_response())
    })
    .await
}

/// Checks the request, parses its parameters and runs `work` on a blocking
/// thread (the work takes CPU time); an `Err` becomes a 400.
async fn answer(
    headers: &HeaderMap,
    uri: &Uri,
    work: impl FnOnce(Params) -> Result<Response, String> + Send + 'static,
) -> Response {
    if let Some(r) = check_host(headers) {
        return r;
    }
    let params = match Params::parse(uri.query().unwrap_or("")) {
        Ok(p) => p,
        Err(reason) => return fail(StatusCode::BAD_REQUEST, &reason),
    };
    match tokio::task::spawn_blocking(move || work(params)).await {
        Ok(Ok(response)) => response,
        Ok(Err(reason)) => fail(StatusCode::BAD_REQUEST, &reason),
        Err(_) => fail(StatusCode::INTERNAL_SERVER_ERROR, "the request failed"),
    }
}

/// A request's parameters; `None` keeps the command line's choice and an
/// empty string clears it.
#[derive(Default, Debug, Clone, PartialEq)]
struct Params {
    sample_index: Option<String>,
    focus: Option<String>,
    ignore: Option<String>,
    base: Option<String>,
    /// `list`: the function to list.
    name: Option<String>,
}

impl Params {
    fn parse(query: &str) -> Result<Params, String> {
        if query.len() > MAX_QUERY {
            return Err(format!(
                "query too long: {} bytes, at most {MAX_QUERY}",
                query.len()
            ));
        }
        let mut p = Params::default();
        for pair in query.split('&').filter(|s| !s.is_empty()) {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            let value = percent_decode(value).map_err(|e| format!("parameter {key}: {e}"))?;
            let slot = match key {
                "sample_index" => &mut p.sample_index,
                "focus" => &mut p.focus,
                "ignore" => &mut p.ignore,
                "base" => &mut p.base,
                "name" => &mut p.name,
                _ => return Err(format!("unknown parameter {key:?}")),
            };
            *slot = Some(value);
        }
        Ok(p)
    }
}

/// Decodes a query value (`+` is a space, `%XX` a byte; UTF-8 expected).
fn percent_decode(s: &str) -> Result<String, String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = s
                    .get(i + 1..i + 3)
                    .and_then(|h| u8::from_str_radix(h, 16).ok())
                    .ok_or_else(|| format!("bad percent escape at byte {i}"))?;
                out.push(hex);
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out).map_err(|_| "not UTF-8".to_string())
}

/// An optional filter: empty means none.
fn non_empty(s: &str) -> Option<String> {
    (!s.is_empty()).then(|| s.to_string())
}

impl App {
    /// The command line's selection with the request's changes.
    fn select(&self, params: &Params) -> SelectArgs {
        let mut select = self.select.clone();
        if let Some(si) = &params.sample_index {
            select.sample_index = non_empty(si);
            select.alloc_space = false;
            select.alloc_objects = false;
            select.inuse_space = false;
            select.inuse_objects = false;
        }
        if let Some(f) = &params.focus {
            select.focus = non_empty(f);
        }
        if let Some(i) = &params.ignore {
            select.ignore = non_empty(i);
        }
        select
    }

    /// The profiles the page may compare against: the command line's base,
    /// then a recording's snapshots. Only these: the page cannot make the
    /// server read any file it likes.
    fn bases(&self) -> Vec<String> {
        let first = self.loaded.base.as_ref().map(|b| b.name.clone());
        first
            .into_iter()
            .chain(self.loaded.snapshots.iter().cloned())
            .collect()
    }

    fn base(&self, params: &Params) -> Result<Option<Base>, String> {
        let name = match &params.base {
            None => return Ok(self.loaded.base.as_ref().map(copy_base)),
            Some(name) if name.is_empty() => return Ok(None),
            Some(name) => name,
        };
        if let Some(b) = self.loaded.base.as_ref().filter(|b| &b.name == name) {
            return Ok(Some(copy_base(b)));
        }
        if !self.loaded.snapshots.contains(name) {
            return Err(format!("base {name:?}: not one of the profiles offered"));
        }
        let mut cache = self.base_cache.lock().map_err(|_| "base cache poisoned")?;
        if let Some((_, b)) = cache.as_ref().filter(|(n, _)| n == name) {
            return Ok(Some(copy_base(b)));
        }
        // A snapshot picked in the page is compared against, as `diff` does.
        let b = Arc::new(view::load_base(name, true).map_err(|e| format!("{e:#}"))?);
        *cache = Some((name.clone(), Arc::clone(&b)));
        Ok(Some(copy_base(&b)))
    }

    /// The view as JSON, from the cache when it was asked for lately.
    fn view_json(&self, params: &Params) -> Result<Arc<String>, String> {
        let key = Params {
            name: None,
            ..params.clone()
        };
        let cached = |views: &VecDeque<(Params, Arc<String>)>| {
            views
                .iter()
                .find(|(k, _)| *k == key)
                .map(|(_, v)| v.clone())
        };
        if let Some(json) = self.views.lock().ok().and_then(|v| cached(&v)) {
            return Ok(json);
        }
        let v = self.view(params)?;
        let json = Arc::new(serde_json::to_string(&v).map_err(|e| format!("encoding JSON: {e}"))?);
        if let Ok(mut views) = self.views.lock() {
            views.push_front((key, json.clone()));
            views.truncate(CACHED_VIEWS);
        }
        Ok(json)
    }

    fn view(&self, params: &Params) -> Result<view::View, String> {
        let select = self.select(params);
        let base = self.base(params)?;
        let profile = self.loaded.profile.clone();
        let mut v = view::compute(profile, base, &select, &self.loaded.source)
            .map_err(|e| format!("{e:#}"))?;
        v.timeline = self.loaded.timeline.clone();
        v.controls.bases = self.bases();
        Ok(v)
    }

    fn list(&self, params: &Params) -> Result<String, String> {
        let name = params.name.as_deref().unwrap_or("");
        if name.is_empty() {
            return Err("list needs name=FUNCTION".to_string());
        }
        let select = self.select(params);
        let base = self.base(params)?;
        let prepared = prepare_loaded(
            self.loaded.profile.clone(),
            base,
            &select,
            self.loaded.source.clone(),
        )
        .map_err(|e| format!("{e:#}"))?;
        let re = Regex::new(&format!("^{}$", regex::escape(name))).map_err(|e| e.to_string())?;
        report::list::list(&prepared.profile, &prepared.options, &re)
            .map(|r| r.to_text())
            .map_err(|e| format!("{name}: {e}"))
    }
}

fn copy_base(b: &Base) -> Base {
    Base {
        profile: b.profile.clone(),
        diff: b.diff,
        name: b.name.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queries_decode_like_forms() {
        let p = Params::parse("focus=a%2Bb+c&ignore=&sample_index=alloc_space").unwrap();
        assert_eq!(p.focus.as_deref(), Some("a+b c"));
        assert_eq!(p.ignore.as_deref(), Some(""));
        assert_eq!(p.sample_index.as_deref(), Some("alloc_space"));
        assert_eq!(p.base, None);
        assert!(Params::parse("focus=%zz").is_err());
        assert!(Params::parse("focus=%e2%82").is_err());
        assert!(Params::parse("colour=red").is_err());
    }
}
