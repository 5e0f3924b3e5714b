//! A loopback TCP proxy in front of a test server that the test can cut and restore, to
//! hold a client (a kube-rs watcher) off the server for as long as the test needs: while
//! it is cut, open connections are dropped and new ones are closed on accept.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

pub struct Proxy {
    addr: SocketAddr,
    open: Arc<AtomicBool>,
    connections: Arc<Mutex<Vec<JoinHandle<()>>>>,
    acceptor: JoinHandle<()>,
}

// === impl Proxy ===

impl Proxy {
    /// Listens on a free loopback port and forwards each connection to `target`.
    pub async fn start(target: SocketAddr) -> Proxy {
        assert!(
            target.ip().is_loopback(),
            "proxy target {target} is not loopback"
        );
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind proxy");
        let addr = listener.local_addr().expect("proxy address");
        let open = Arc::new(AtomicBool::new(true));
        let connections = Arc::new(Mutex::new(Vec::new()));
        let acceptor = tokio::spawn(accept(listener, target, open.clone(), connections.clone()));
        Proxy {
            addr,
            open,
            connections,
            acceptor,
        }
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Drops every forwarded connection and refuses new ones until `restore`.
    pub fn cut(&self) {
        self.open.store(false, Ordering::SeqCst);
        for conn in self.connections.lock().unwrap().drain(..) {
            conn.abort();
        }
    }

    pub fn restore(&self) {
        self.open.store(true, Ordering::SeqCst);
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.acceptor.abort();
        self.cut();
    }
}

async fn accept(
    listener: TcpListener,
    target: SocketAddr,
    open: Arc<AtomicBool>,
    connections: Arc<Mutex<Vec<JoinHandle<()>>>>,
) {
    while let Ok((mut client, _)) = listener.accept().await {
        if !open.load(Ordering::SeqCst) {
            continue; // dropping `client` closes it
        }
        let conn = tokio::spawn(async move {
            if let Ok(mut server) = TcpStream::connect(target).await {
                let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
            }
        });
        let mut conns = connections.lock().unwrap();
        // Checked again under the lock, so a `cut` racing this accept cannot miss it.
        if !open.load(Ordering::SeqCst) {
            conn.abort();
            continue;
        }
        conns.retain(|c| !c.is_finished());
        conns.push(conn);
    }
}
