//! The integration-test harness: starts a real `keelson serve` process on loopback ports
//! with a fresh data directory, waits until it is ready, and gives tests the ways a user
//! reaches it — kubectl with the admin kubeconfig, raw HTTPS with the admin client
//! certificate, and kube-rs. It can kill the process with SIGKILL and restart it on the
//! same ports and data directory, which is what the durability and watch tests need.
//!
//! Only 127.0.0.1 is ever contacted: the ports are picked on loopback and the kubeconfig
//! the server writes is checked to point there before anything uses it. Every wait is a
//! poll with a deadline. When a test panics, the server log's tail is printed and the data
//! directory is kept (its path is printed) so the failure can be read afterwards.
#![allow(dead_code)]

pub mod cluster;
mod credentials;
mod http;
mod kubectl;
pub mod proxy;
pub mod run;
pub mod status;

use std::fs::OpenOptions;
use std::future::Future;
use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::Value;
use tempfile::TempDir;

use credentials::AdminCredentials;

#[allow(unused_imports)]
pub use kubectl::PROXY_VARS;
#[allow(unused_imports)]
pub use run::{run_with_timeout, ChildGuard, TimedOutput};

/// The ConfigMap the root CA publisher keeps in every namespace (upstream's
/// `kube-root-ca.crt`); tests about their own objects leave it out.
pub const ROOT_CA_CONFIGMAP: &str = "kube-root-ca.crt";

/// How long a server gets to answer /readyz with 200 after it is spawned.
pub const READY_TIMEOUT: Duration = Duration::from_secs(30);
/// How often readiness (and every other `eventually`) is polled.
pub const POLL_INTERVAL: Duration = Duration::from_millis(50);
/// How long one kubectl invocation may take.
pub const KUBECTL_TIMEOUT: Duration = Duration::from_secs(60);
/// kubectl as installed on the machine (/usr/bin/kubectl), else the one on PATH.
pub fn kubectl_program() -> &'static str {
    if std::path::Path::new("/usr/bin/kubectl").exists() {
        "/usr/bin/kubectl"
    } else {
        "kubectl"
    }
}

/// A running (or killed, awaiting restart) keelson process and its data directory.
pub struct Server {
    /// The temporary directory holding `data/` and `keelson.log`; `None` once kept.
    dir: Option<TempDir>,
    root: PathBuf,
    listen: SocketAddr,
    peer: SocketAddr,
    child: Option<Child>,
    http: Option<reqwest::Client>,
    /// Flags added to every `keelson serve` of this server.
    extra_args: Vec<String>,
}

// === impl Server ===

impl Server {
    /// Starts a fresh server on free loopback ports and waits until /readyz says "ok".
    ///
    /// Picking a port by binding port 0 and dropping the socket leaves a short window in
    /// which another process could take it; if the server exits complaining that its
    /// address is in use, start again with new ports (a bounded number of times).
    pub async fn start() -> Server {
        Self::start_with(&[]).await
    }

    /// Like [`Server::start`], with extra `keelson serve` flags.
    pub async fn start_with(extra_args: &[&str]) -> Server {
        const ATTEMPTS: usize = 3;
        for attempt in 1..=ATTEMPTS {
            let dir = tempfile::Builder::new()
                .prefix("keelson-test-")
                .tempdir_in(env!("CARGO_TARGET_TMPDIR"))
                .expect("create a temporary directory for the server");
            let root = dir.path().to_path_buf();
            let mut server = Server {
                dir: Some(dir),
                root,
                listen: free_loopback_addr(),
                peer: free_loopback_addr(),
                child: None,
                http: None,
                extra_args: extra_args.iter().map(|a| a.to_string()).collect(),
            };
            match server.spawn_and_wait_ready().await {
                Ok(()) => return server,
                Err(e) if attempt < ATTEMPTS && e.to_lowercase().contains("in use") => {
                    eprintln!("keelson could not bind (attempt {attempt}), retrying: {e}");
                    continue;
                }
                Err(e) => panic!("keelson did not become ready: {e}\n{}", server.describe()),
            }
        }
        unreachable!("the loop above returns or panics")
    }

    /// The data directory given to `--data-dir`.
    pub fn data_dir(&self) -> PathBuf {
        self.root.join("data")
    }

    /// The file that receives the server's stdout and stderr (all runs, appended).
    pub fn log_path(&self) -> PathBuf {
        self.root.join("keelson.log")
    }

    /// Writes `contents` to a file in the test's directory (beside the data dir) and
    /// returns its path, e.g. for `kubectl create -f`.
    pub fn scratch_file(&self, name: &str, contents: &str) -> PathBuf {
        let path = self.root.join(name);
        std::fs::write(&path, contents).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
        path
    }

    /// The admin kubeconfig the server wrote on first start.
    pub fn kubeconfig(&self) -> PathBuf {
        self.data_dir().join("admin.kubeconfig")
    }

    pub fn listen_addr(&self) -> SocketAddr {
        self.listen
    }

    pub fn peer_addr(&self) -> SocketAddr {
        self.peer
    }

    /// `https://127.0.0.1:PORT` followed by `path` (which starts with `/`).
    pub fn url(&self, path: &str) -> String {
        format!("https://{}{}", self.listen, path)
    }

    /// An HTTPS client that trusts only the cluster CA and presents the admin client
    /// certificate. Rebuilt on each (re)start, so take a fresh one after `restart()`.
    pub fn http(&self) -> reqwest::Client {
        self.http.clone().expect("the server has been started")
    }

    /// The PID of the running keelson process, if one is running.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// The arguments `keelson serve` is started with.
    pub fn serve_args(&self) -> Vec<String> {
        let mut args = serve_args(&self.data_dir(), self.listen, self.peer);
        args.extend(self.extra_args.iter().cloned());
        args
    }

    /// A `keelson` command (stdin closed) for running other instances or subcommands.
    pub fn keelson_command() -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_keelson"));
        cmd.stdin(Stdio::null());
        cmd
    }

    /// SIGKILL the process this harness spawned (by its PID) and reap it.
    pub fn kill9(&mut self) {
        if let Some(mut child) = self.child.take() {
            // `Child::kill` is SIGKILL on Unix, sent to exactly this PID.
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts the server again on the same ports and data directory (killing it first if
    /// it still runs) and waits until it is ready.
    pub async fn restart(&mut self) {
        self.kill9();
        if let Err(e) = self.spawn_and_wait_ready().await {
            panic!(
                "keelson did not become ready after restart: {e}\n{}",
                self.describe()
            );
        }
    }

    /// Whether the spawned process is still running.
    pub fn is_running(&mut self) -> bool {
        match self.child.as_mut() {
            Some(child) => matches!(child.try_wait(), Ok(None)),
            None => false,
        }
    }

    /// The last `lines` lines of the server log.
    pub fn log_tail(&self, lines: usize) -> String {
        let text = std::fs::read_to_string(self.log_path()).unwrap_or_default();
        let all: Vec<&str> = text.lines().collect();
        all[all.len().saturating_sub(lines)..].join("\n")
    }

    /// Where to look when something went wrong; put it in assertion messages.
    pub fn describe(&self) -> String {
        format!(
            "server {} (data dir {}, log {}); last log lines:\n{}",
            self.listen,
            self.data_dir().display(),
            self.log_path().display(),
            self.log_tail(40)
        )
    }

    async fn spawn_and_wait_ready(&mut self) -> Result<(), String> {
        let log = OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.log_path())
            .map_err(|e| format!("open log: {e}"))?;
        let log_err = log
            .try_clone()
            .map_err(|e| format!("clone log handle: {e}"))?;
        let child = Self::keelson_command()
            .args(self.serve_args())
            .stdout(Stdio::from(log))
            .stderr(Stdio::from(log_err))
            .spawn()
            .map_err(|e| format!("spawn {}: {e}", env!("CARGO_BIN_EXE_keelson")))?;
        self.child = Some(child);
        self.http = None;
        self.wait_ready().await
    }

    /// Polls /readyz with the admin identity until it answers 200 "ok", the process
    /// exits, or `READY_TIMEOUT` passes.
    async fn wait_ready(&mut self) -> Result<(), String> {
        let deadline = Instant::now() + READY_TIMEOUT;
        let mut last = String::from("no attempt yet");
        loop {
            if let Some(child) = self.child.as_mut() {
                if let Ok(Some(status)) = child.try_wait() {
                    self.child = None;
                    return Err(format!(
                        "keelson exited with {status}: {}",
                        self.log_tail(20)
                    ));
                }
            }
            if Instant::now() >= deadline {
                return Err(format!("not ready after {READY_TIMEOUT:?}; last: {last}"));
            }
            if self.http.is_none() && self.kubeconfig().exists() {
                match AdminCredentials::read(&self.kubeconfig(), self.listen) {
                    Ok(creds) => self.http = Some(creds.client()?),
                    // The file may be half written: try again on the next tick.
                    Err(e) => last = format!("kubeconfig not usable yet: {e}"),
                }
            }
            if let Some(http) = &self.http {
                match http
                    .get(self.url("/readyz"))
                    .timeout(Duration::from_secs(2))
                    .send()
                    .await
                {
                    Ok(resp) => {
                        let status = resp.status();
                        let body = resp.text().await.unwrap_or_default();
                        if status == StatusCode::OK && body.trim() == "ok" {
                            return Ok(());
                        }
                        last = format!("/readyz answered {status}: {body}");
                    }
                    Err(e) => last = format!("/readyz: {e}"),
                }
            }
            tokio::time::sleep(POLL_INTERVAL).await;
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill9();
        if std::thread::panicking() {
            if let Some(dir) = self.dir.take() {
                let kept = dir.keep();
                eprintln!("--- keelson test failed; data kept in {}", kept.display());
            }
            eprintln!(
                "--- last lines of {}:\n{}",
                self.log_path().display(),
                self.log_tail(100)
            );
        }
    }
}

/// The `keelson serve` arguments for a data dir and pair of addresses.
pub fn serve_args(data_dir: &Path, listen: SocketAddr, peer: SocketAddr) -> Vec<String> {
    vec![
        "serve".into(),
        "--data-dir".into(),
        data_dir.display().to_string(),
        "--listen".into(),
        listen.to_string(),
        "--peer-listen".into(),
        peer.to_string(),
    ]
}

/// A loopback address whose port was free a moment ago.
pub fn free_loopback_addr() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
    listener.local_addr().expect("local address")
}

/// Polls `check` every `POLL_INTERVAL` until it yields `Some`, panicking with `what` after
/// `timeout`.
pub async fn eventually<T, F, Fut>(what: &str, timeout: Duration, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(v) = check().await {
            return v;
        }
        assert!(
            Instant::now() < deadline,
            "timed out after {timeout:?} waiting for {what}"
        );
        tokio::time::sleep(POLL_INTERVAL).await;
    }
}

/// Reads a response body as JSON, or wraps the text in a JSON string.
pub async fn read_json(resp: reqwest::Response) -> (StatusCode, Value) {
    let status = resp.status();
    let text = resp
        .text()
        .await
        .unwrap_or_else(|e| format!("<body unreadable: {e}>"));
    let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
    (status, body)
}

/// The `metadata.resourceVersion` of an object as a number (keelson's revisions are u64).
pub fn rv_of(obj: &Value) -> u64 {
    let rv = obj["metadata"]["resourceVersion"]
        .as_str()
        .unwrap_or_else(|| panic!("no metadata.resourceVersion in {obj}"));
    rv.parse()
        .unwrap_or_else(|e| panic!("resourceVersion {rv:?} is not a number: {e}"))
}
