//! A TCP proxy the test controls, to put between gov and PostgreSQL: `cut` drops every
//! connection and refuses new ones (the database is unreachable), `restore` lets them through.

use std::io;
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream, ToSocketAddrs};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

pub struct TcpProxy {
    pub addr: SocketAddr,
    shared: Arc<Shared>,
}

struct Shared {
    upstream: SocketAddr,
    up: AtomicBool,
    stopped: AtomicBool,
    open: Mutex<Vec<TcpStream>>,
}

impl TcpProxy {
    /// A proxy to the host and port of the PostgreSQL URL `url`.
    pub fn to_postgres(url: &str) -> TcpProxy {
        let (_, rest) = url.split_once("://").expect("a URL");
        let authority = rest.split(['/', '?']).next().unwrap();
        let host_port = authority.rsplit('@').next().unwrap();
        let host_port =
            if host_port.contains(':') { host_port.to_owned() } else { format!("{host_port}:5432") };
        let upstream = host_port.to_socket_addrs().expect("resolve").next().expect("an address");
        TcpProxy::start(upstream)
    }

    pub fn start(upstream: SocketAddr) -> TcpProxy {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind proxy");
        let addr = listener.local_addr().unwrap();
        let shared = Arc::new(Shared {
            upstream,
            up: AtomicBool::new(true),
            stopped: AtomicBool::new(false),
            open: Mutex::new(Vec::new()),
        });
        let accepting = shared.clone();
        std::thread::spawn(move || {
            for client in listener.incoming() {
                if accepting.stopped.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(client) = client else { continue };
                if accepting.up.load(Ordering::SeqCst) {
                    let _ = accepting.pipe(client);
                }
                // Otherwise the connection is dropped at once: the database is unreachable.
            }
        });
        TcpProxy { addr, shared }
    }

    /// `url` (a PostgreSQL URL) with its host and port replaced by the proxy's.
    pub fn rewrite(&self, url: &str) -> String {
        let (scheme, rest) = url.split_once("://").expect("a URL");
        let end = rest.find(['/', '?']).unwrap_or(rest.len());
        let (authority, tail) = rest.split_at(end);
        let user = authority.rsplit_once('@').map(|(u, _)| format!("{u}@")).unwrap_or_default();
        format!("{scheme}://{user}{}{tail}", self.addr)
    }

    /// Closes every proxied connection and refuses new ones until [`TcpProxy::restore`].
    pub fn cut(&self) {
        self.shared.up.store(false, Ordering::SeqCst);
        for stream in self.shared.open.lock().unwrap().drain(..) {
            let _ = stream.shutdown(Shutdown::Both);
        }
    }

    pub fn restore(&self) {
        self.shared.up.store(true, Ordering::SeqCst);
    }
}

impl Shared {
    fn pipe(&self, client: TcpStream) -> io::Result<()> {
        let server = TcpStream::connect(self.upstream)?;
        let mut open = self.open.lock().unwrap();
        open.push(client.try_clone()?);
        open.push(server.try_clone()?);
        for (mut from, mut to) in [(client.try_clone()?, server.try_clone()?), (server, client)] {
            std::thread::spawn(move || {
                let _ = io::copy(&mut from, &mut to);
                let _ = to.shutdown(Shutdown::Both);
                let _ = from.shutdown(Shutdown::Both);
            });
        }
        Ok(())
    }
}

impl Drop for TcpProxy {
    fn drop(&mut self) {
        self.shared.stopped.store(true, Ordering::SeqCst);
        self.cut();
        // Wake the accept loop so it sees `stopped`.
        let _ = TcpStream::connect(self.addr);
    }
}
