//! `cmdline`: the program's arguments separated by NUL bytes, as Go's.

use std::os::unix::ffi::OsStrExt;

use axum::response::Response;

use super::routes::ok;

pub(crate) fn serve() -> Response {
    let mut out = Vec::new();
    for (i, arg) in std::env::args_os().enumerate() {
        if i > 0 {
            out.push(0);
        }
        out.extend_from_slice(arg.as_bytes());
    }
    ok(out, None)
}
