//! The background server: a thread running a small tokio runtime that
//! serves the routes, and the handle to learn its address and stop it.

use std::net::{SocketAddr, TcpListener, ToSocketAddrs};
use std::thread::JoinHandle;
use std::time::Duration;

use tokio::sync::watch;

use super::{routes, security, Config, Error};

/// A running server. Dropping the handle leaves the server running for the
/// life of the process (as Go's); [`Server::stop`] ends it.
#[derive(Debug)]
pub struct Server {
    addr: SocketAddr,
    stop: Option<watch::Sender<bool>>,
    thread: Option<JoinHandle<()>>,
}

impl Server {
    /// The address the server is bound to (with the port picked for port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://ADDR/debug/pprof/`.
    pub fn url(&self) -> String {
        format!("http://{}/debug/pprof/", self.addr)
    }

    /// Stops accepting connections, lets requests in progress finish for up
    /// to 2 seconds (a CPU profile in progress is cut short), and joins the
    /// thread.
    pub fn stop(mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(true);
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        // Keep the server running: a dropped sender would read as "stop".
        if let Some(tx) = self.stop.take() {
            std::mem::forget(tx);
        }
    }
}

pub(crate) fn start(config: Config, addr: &str, public: bool) -> Result<Server, Error> {
    let addrs: Vec<SocketAddr> = addr
        .to_socket_addrs()
        .map_err(|source| Error::Resolve {
            addr: addr.to_string(),
            source,
        })?
        .collect();
    if addrs.is_empty() {
        return Err(Error::NoAddress {
            addr: addr.to_string(),
        });
    }
    if !public {
        if let Some(a) = addrs.iter().find(|a| !security::is_loopback(a)) {
            return Err(Error::NotLoopback { addr: *a });
        }
    }
    let mut last = None;
    let mut bound = None;
    for a in &addrs {
        match TcpListener::bind(a) {
            Ok(l) => {
                bound = Some(l);
                break;
            }
            Err(e) => last = Some((*a, e)),
        }
    }
    let listener = match (bound, last) {
        (Some(l), _) => l,
        (None, Some((addr, source))) => return Err(Error::Bind { addr, source }),
        (None, None) => {
            return Err(Error::NoAddress {
                addr: addr.to_string(),
            })
        }
    };
    let local = listener.local_addr().map_err(Error::Start)?;
    listener.set_nonblocking(true).map_err(Error::Start)?;

    // The runtime, the router and the stop channel are made on the server
    // thread, after it stopped sampling itself, so none of their
    // allocations lands in the caller's (the app's) profile.
    let (started_tx, started_rx) = std::sync::mpsc::channel();
    let thread = std::thread::Builder::new()
        .name("memdiag-http".to_string())
        .spawn(move || {
            crate::sampler::suppress_current_thread();
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .max_blocking_threads(4)
                .thread_name("memdiag-http")
                .on_thread_start(crate::sampler::suppress_current_thread)
                .enable_io()
                .enable_time()
                .build();
            let runtime = match runtime {
                Ok(r) => r,
                Err(e) => {
                    let _ = started_tx.send(Err(e));
                    return;
                }
            };
            let app = routes::router(config);
            let (tx, rx) = watch::channel(false);
            let _ = started_tx.send(Ok(tx));
            runtime.block_on(run(listener, app, rx));
            runtime.shutdown_timeout(Duration::from_secs(1));
        })
        .map_err(Error::Start)?;
    let tx = match started_rx.recv() {
        Ok(Ok(tx)) => tx,
        Ok(Err(e)) => return Err(Error::Start(e)),
        Err(_) => {
            return Err(Error::Start(std::io::Error::other(
                "the server thread ended while starting",
            )))
        }
    };
    Ok(Server {
        addr: local,
        stop: Some(tx),
        thread: Some(thread),
    })
}

async fn run(listener: TcpListener, app: axum::Router, rx: watch::Receiver<bool>) {
    let listener = match tokio::net::TcpListener::from_std(listener) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("memdiag: /debug/pprof server cannot start: {e}");
            return;
        }
    };
    let stopped = |mut rx: watch::Receiver<bool>| async move {
        while !*rx.borrow_and_update() {
            if rx.changed().await.is_err() {
                // The handle was dropped without stopping: run forever.
                std::future::pending::<()>().await;
            }
        }
    };
    let graceful = axum::serve(listener, app).with_graceful_shutdown(stopped(rx.clone()));
    tokio::select! {
        r = graceful => {
            if let Err(e) = r {
                eprintln!("memdiag: /debug/pprof server stopped: {e}");
            }
        }
        _ = async {
            stopped(rx).await;
            tokio::time::sleep(Duration::from_secs(2)).await;
        } => {}
    }
}
