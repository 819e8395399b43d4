//! The endpoint's answers to good and bad requests: Go's headers and
//! formats, 4xx with a one-line reason for anything wrong, the loopback
//! rule, the bearer token, one CPU profile at a time.
#![cfg(feature = "http")]

mod http_common;

use http_common::{get, request};

#[global_allocator]
static ALLOC: memdiag::Profiled<std::alloc::System> = memdiag::Profiled::new(std::alloc::System);

fn server() -> memdiag::http::Server {
    memdiag::http::serve("127.0.0.1:0").expect("serve on a free loopback port")
}

/// A 4xx answer with a one-line `text/plain` reason containing `needle`.
fn assert_refused(a: &http_common::Answer, status: u16, needle: &str, what: &str) {
    let text = a.text();
    assert_eq!(a.status, status, "{what}: {text}");
    assert!(text.contains(needle), "{what}: {text:?}");
    assert_eq!(text.trim_end().lines().count(), 1, "{what}: {text:?}");
    assert_eq!(
        a.header("content-type"),
        Some("text/plain; charset=utf-8"),
        "{what}"
    );
    assert_eq!(a.header("x-go-pprof"), Some("1"), "{what}");
}

#[test]
fn bad_requests_get_4xx_with_a_reason() {
    let s = server();
    let base = s.url();
    let cases: &[(&str, &str, u16, &str)] = &[
        ("GET", "nosuch", 404, "Unknown profile"),
        ("GET", "goroutine", 404, "Unknown profile"),
        ("GET", "heap/x/y", 404, "Unknown profile"),
        ("GET", "%ff", 404, "Unknown profile"),
        ("GET", "heap?seconds=-1", 400, "must be a positive integer"),
        ("GET", "heap?seconds=abc", 400, "must be a positive integer"),
        ("GET", "heap?seconds=0", 400, "must be a positive integer"),
        ("GET", "heap?seconds=100000", 400, "limit of 300"),
        (
            "GET",
            "allocs?seconds=-1",
            400,
            "must be a positive integer",
        ),
        (
            "GET",
            "profile?seconds=-1",
            400,
            "must be a positive integer",
        ),
        (
            "GET",
            "profile?seconds=abc",
            400,
            "must be a positive integer",
        ),
        ("GET", "profile?seconds=100000", 400, "limit of 300"),
        ("GET", "heap?debug=x", 400, "debug"),
        ("GET", "heap?seconds=1&debug=1", 400, "incompatible"),
        ("GET", "peak?seconds=1", 400, "not supported"),
        ("POST", "heap", 405, "not allowed"),
        ("DELETE", "allocs", 405, "not allowed"),
        ("PUT", "profile", 405, "not allowed"),
        ("POST", "cmdline", 405, "not allowed"),
        ("DELETE", "symbol", 405, "not allowed"),
        ("POST", "", 405, "not allowed"),
    ];
    for &(method, path, status, needle) in cases {
        let body = (method != "GET" && method != "DELETE").then_some(&b""[..]);
        let a = request(method, &format!("{base}{path}"), body, None);
        assert_refused(&a, status, needle, &format!("{method} {path}"));
    }
    let a = request("POST", &format!("{base}heap"), Some(b"x"), None);
    assert_eq!(a.header("allow"), Some("GET, HEAD"));

    // A long query gets our reason; one too long for hyper's parser (64 KiB
    // and more) gets hyper's bare 414 or 431.
    let long = format!("{base}heap?x={}", "a".repeat(16 * 1024));
    assert_refused(&get(&long), 414, "query too long", "long query");
    let huge = format!("{base}heap?x={}", "a".repeat(256 * 1024));
    let a = get(&huge);
    assert!(matches!(a.status, 414 | 431), "huge query: {}", a.status);
    // The server is still fine.
    assert_eq!(get(&format!("{base}heap")).status, 200);
    s.stop();
}

#[test]
fn good_requests_get_go_s_headers_and_formats() {
    let s = server();
    let base = s.url();
    // Something to see.
    let kept: Vec<Vec<u8>> = (0..2000).map(|i| vec![i as u8; 4096]).collect();

    for (name, default) in [
        ("heap", "inuse_space"),
        ("allocs", "alloc_space"),
        ("peak", "inuse_space"),
    ] {
        let a = get(&format!("{base}{name}"));
        assert_eq!(a.status, 200, "{name}: {}", a.text());
        assert_eq!(a.header("content-type"), Some("application/octet-stream"));
        let disposition = format!("attachment; filename=\"{name}\"");
        assert_eq!(a.header("content-disposition"), Some(disposition.as_str()));
        assert_eq!(a.header("x-content-type-options"), Some("nosniff"));
        assert_eq!(&a.body[..2], &[0x1f, 0x8b], "{name}: gzip");
        let p = memdiag_profile::decode(&a.body).expect("decodes");
        assert_eq!(p.sample_type_name(p.default_sample_index()), default);
        assert!(!p.samples.is_empty(), "{name}");

        // gc=1 is accepted.
        assert_eq!(get(&format!("{base}{name}?gc=1")).status, 200);

        let t = get(&format!("{base}{name}?debug=1"));
        assert_eq!(t.status, 200);
        assert_eq!(t.header("content-type"), Some("text/plain; charset=utf-8"));
        assert_eq!(t.header("content-disposition"), None);
        assert!(t.text().starts_with("heap profile: "), "{}", t.text());
    }

    let d = get(&format!("{base}allocs?seconds=1"));
    assert_eq!(d.status, 200, "{}", d.text());
    assert_eq!(
        d.header("content-disposition"),
        Some("attachment; filename=\"allocs-delta\"")
    );
    let p = memdiag_profile::decode(&d.body).expect("delta decodes");
    assert!(p.duration_nanos > 0);
    assert_eq!(p.sample_type_name(p.default_sample_index()), "alloc_space");

    let i = get(&base);
    assert_eq!(i.status, 200);
    assert_eq!(i.header("content-type"), Some("text/html; charset=utf-8"));
    let html = i.text();
    for name in ["allocs", "cmdline", "heap", "peak", "profile"] {
        assert!(
            html.contains(&format!("<a href='{name}?debug=1'>{name}</a>")),
            "{html}"
        );
    }
    // Go's redirect of the bare prefix.
    let r = get(base.trim_end_matches('/'));
    assert_eq!(r.status, 301);
    assert_eq!(r.header("location"), Some("/debug/pprof/"));

    let c = get(&format!("{base}cmdline"));
    assert_eq!(c.status, 200);
    assert_eq!(c.header("content-type"), Some("text/plain; charset=utf-8"));
    let args: Vec<String> = std::env::args().collect();
    assert_eq!(c.text(), args.join("\0"));

    let g = get(&format!("{base}symbol"));
    assert_eq!(g.text(), "num_symbols: 1\n");
    let pc = good_requests_get_go_s_headers_and_formats as *const () as usize + 4;
    let body = format!("{pc:#x}+0x0+junk+{:#x}", pc + 1);
    let p = request(
        "POST",
        &format!("{base}symbol"),
        Some(body.as_bytes()),
        None,
    );
    let text = p.text();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 3, "{text}");
    assert_eq!(lines[0], "num_symbols: 1");
    assert!(lines[1].starts_with(&format!("{pc:#x} ")), "{text}");
    assert!(
        lines[1].ends_with("good_requests_get_go_s_headers_and_formats"),
        "{text}"
    );
    assert!(lines[2].starts_with(&format!("{:#x} ", pc + 1)), "{text}");
    drop(kept);
    s.stop();
}

#[test]
fn one_cpu_profile_at_a_time() {
    let s = server();
    let url = format!("{}profile?seconds=2", s.url());
    let first = {
        let url = url.clone();
        std::thread::spawn(move || get(&url))
    };
    // The second request must come while the first runs: retry until the
    // first has started (a 409), bounded.
    let mut conflict = None;
    for _ in 0..40 {
        std::thread::sleep(std::time::Duration::from_millis(50));
        let a = get(&format!("{}profile?seconds=1", s.url()));
        if a.status == 409 {
            conflict = Some(a);
            break;
        }
    }
    let conflict = conflict.expect("a second CPU profile during the first gets 409");
    assert_refused(&conflict, 409, "one at a time", "second CPU profile");
    let first = first.join().expect("first request");
    assert_eq!(first.status, 200, "{}", first.text());
    assert_eq!(
        first.header("content-disposition"),
        Some("attachment; filename=\"profile\"")
    );
    let p = memdiag_profile::decode(&first.body).expect("CPU profile decodes");
    assert!(p.sample_types.len() >= 2);
    // Once done, another may run.
    let again = get(&format!("{}profile?seconds=1", s.url()));
    assert_eq!(again.status, 200, "{}", again.text());
    s.stop();
}

#[test]
fn loopback_by_default_token_when_asked() {
    let e = memdiag::http::serve("0.0.0.0:0").expect_err("non-loopback refused");
    assert!(e.to_string().contains("serve_public"), "{e}");
    let p = memdiag::http::serve_public("127.0.0.1:0").expect("serve_public");
    assert_eq!(get(&p.url()).status, 200);
    p.stop();

    let s = memdiag::http::Config::new()
        .token("s3cret")
        .max_seconds(5)
        .serve("localhost:0")
        .expect("serve with a token");
    let heap = format!("{}heap", s.url());
    let a = get(&heap);
    assert_refused(&a, 401, "bearer token", "no token");
    assert!(a.header("www-authenticate").is_some());
    let a = request("GET", &heap, None, Some("wrong"));
    assert_refused(&a, 401, "bearer token", "wrong token");
    let a = request("GET", &heap, None, Some("s3cret"));
    assert_eq!(a.status, 200);
    let a = request("GET", &format!("{heap}?seconds=6"), None, Some("s3cret"));
    assert_refused(&a, 400, "limit of 5", "max_seconds");
    let addr = s.local_addr();
    s.stop();
    // Stopped: nothing listens any more.
    assert!(std::net::TcpStream::connect(addr).is_err());
}

#[test]
fn router_merges_into_an_axum_app() {
    let app = axum::Router::new()
        .route("/hello", axum::routing::get(|| async { "hello" }))
        .merge(memdiag::http::router());
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime");
    let listener = rt
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    rt.spawn(async move { axum::serve(listener, app).await });
    assert_eq!(get(&format!("http://{addr}/hello")).text(), "hello");
    let a = get(&format!("http://{addr}/debug/pprof/heap"));
    assert_eq!(a.status, 200);
    assert!(memdiag_profile::decode(&a.body).is_ok());
    let a = get(&format!("http://{addr}/debug/pprof/nosuch"));
    assert_refused(&a, 404, "Unknown profile", "merged router");
    rt.shutdown_background();
}
