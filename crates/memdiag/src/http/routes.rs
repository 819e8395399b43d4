//! The routes under `/debug/pprof/`, and how every answer is shaped: Go's
//! headers, and errors as one `text/plain` line.

use axum::body::Bytes;
use axum::extract::rejection::PathRejection;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use axum::Router;

use super::{cmdline, cpu, heap, index, security, symbol, Config};

/// Largest request body read (a `symbol` POST: addresses).
const MAX_BODY: usize = 1 << 20;

pub(crate) fn router(config: Config) -> Router {
    Router::new()
        .route("/debug/pprof", any(redirect))
        .route("/debug/pprof/", any(root))
        .route("/debug/pprof/{name}", any(named))
        .route("/debug/pprof/{name}/{*rest}", any(unknown))
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .with_state(config)
}

/// `/debug/pprof` → `/debug/pprof/`, as Go's ServeMux does.
async fn redirect(uri: Uri) -> Response {
    let to = match uri.query() {
        Some(q) if q.len() <= security::MAX_QUERY => format!("/debug/pprof/?{q}"),
        _ => "/debug/pprof/".to_string(),
    };
    let mut r = StatusCode::MOVED_PERMANENTLY.into_response();
    if let Ok(v) = HeaderValue::from_str(&to) {
        r.headers_mut().insert(header::LOCATION, v);
    }
    r
}

async fn root(
    State(config): State<Config>,
    method: Method,
    headers: HeaderMap,
    uri: Uri,
) -> Response {
    if let Some(r) = security::check(&config, &headers, &uri) {
        return r;
    }
    if let Some(r) = refuse_method(&method, &[Method::GET, Method::HEAD]) {
        return r;
    }
    index::page().await
}

async fn named(
    State(config): State<Config>,
    name: Result<Path<String>, PathRejection>,
    method: Method,
    headers: HeaderMap,
    uri: Uri,
    body: Bytes,
) -> Response {
    if let Some(r) = security::check(&config, &headers, &uri) {
        return r;
    }
    // A name that does not decode (bad percent-encoding) names no profile.
    let name = name.map(|Path(n)| n).unwrap_or_default();
    let query = uri.query().unwrap_or("");
    let read_only = [Method::GET, Method::HEAD];
    let allowed: &[Method] = match name.as_str() {
        "symbol" => &[Method::GET, Method::HEAD, Method::POST],
        _ => &read_only,
    };
    let result = match refuse_method(&method, allowed) {
        Some(r) if is_route(&name) => r,
        _ => match name.as_str() {
            "heap" | "allocs" | "peak" => heap::serve(&name, query, &config).await,
            "profile" => cpu::serve(query, &config).await,
            "cmdline" => cmdline::serve(),
            "symbol" if method == Method::POST => symbol::serve(&body).await,
            "symbol" => symbol::serve(query.as_bytes()).await,
            _ => fail(StatusCode::NOT_FOUND, "Unknown profile"),
        },
    };
    nosniff(result)
}

fn is_route(name: &str) -> bool {
    matches!(
        name,
        "heap" | "allocs" | "peak" | "profile" | "cmdline" | "symbol"
    )
}

/// Deeper paths: no profile lives there (a fallback would not do: axum
/// cannot merge two routers that both have one).
async fn unknown() -> Response {
    fail(StatusCode::NOT_FOUND, "Unknown profile")
}

/// 405 with an `Allow` header unless `method` is one of `allowed`.
fn refuse_method(method: &Method, allowed: &[Method]) -> Option<Response> {
    if allowed.contains(method) {
        return None;
    }
    let list: Vec<&str> = allowed.iter().map(Method::as_str).collect();
    let list = list.join(", ");
    let mut r = fail(
        StatusCode::METHOD_NOT_ALLOWED,
        &format!("method {method} not allowed here; use {list}"),
    );
    if let Ok(v) = HeaderValue::from_str(&list) {
        r.headers_mut().insert(header::ALLOW, v);
    }
    Some(r)
}

/// Adds `X-Content-Type-Options: nosniff`, which Go sends on every answer.
pub(crate) fn nosniff(mut r: Response) -> Response {
    r.headers_mut().insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    r
}

/// An error answer as Go's pprof handlers give it: the reason on one line,
/// `text/plain`, and `X-Go-Pprof: 1` (which tells `go tool pprof` to print
/// the reason).
pub(crate) fn fail(status: StatusCode, reason: &str) -> Response {
    let line: String = reason.lines().next().unwrap_or("").to_string() + "\n";
    let mut r = (status, line).into_response();
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    h.insert("x-go-pprof", HeaderValue::from_static("1"));
    nosniff(r)
}

/// A successful answer with Go's headers: `text/plain`, or a binary profile
/// as an attachment named `filename`.
pub(crate) fn ok(body: impl Into<axum::body::Body>, attachment: Option<&str>) -> Response {
    let mut r = Response::new(body.into());
    let h = r.headers_mut();
    match attachment {
        Some(name) => {
            h.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/octet-stream"),
            );
            if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{name}\"")) {
                h.insert(header::CONTENT_DISPOSITION, v);
            }
        }
        None => {
            h.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/plain; charset=utf-8"),
            );
        }
    }
    nosniff(r)
}
