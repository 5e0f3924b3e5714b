//! One keelson node started by the run: `keelson serve` on loopback with its own data
//! dir, ready when GET /readyz answers 200. It can be stopped and started again on the
//! same data dir and ports, which is how start-up time with stored objects is measured.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Result};

use crate::keelson_api::{Api, Protocol};
use crate::kubeconfig::{self, Identity};
use crate::process::{free_addr, Child};

pub struct KeelsonNode {
    bin: PathBuf,
    data_dir: PathBuf,
    log: PathBuf,
    listen: SocketAddr,
    peer: SocketAddr,
    identity: Option<Identity>,
    child: Option<Child>,
}

// === impl KeelsonNode ===

impl KeelsonNode {
    /// A node with data in `dir`/data and its log in `dir`/keelson.log; not started.
    pub fn new(bin: &Path, dir: &Path) -> Result<Self> {
        Ok(KeelsonNode {
            bin: bin.to_path_buf(),
            data_dir: dir.join("data"),
            log: dir.join("keelson.log"),
            listen: free_addr()?,
            peer: free_addr()?,
            identity: None,
            child: None,
        })
    }

    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    /// Starts the node and waits until /readyz answers 200, for at most `limit`.
    /// Returns the time from spawn to ready.
    pub async fn start(&mut self, limit: Duration) -> Result<Duration> {
        if self.child.is_some() {
            bail!("keelson is already running");
        }
        let mut cmd = Command::new(&self.bin);
        cmd.arg("serve").arg("--data-dir").arg(&self.data_dir);
        cmd.arg("--listen").arg(self.listen.to_string());
        cmd.arg("--peer-listen").arg(self.peer.to_string());
        let base = self.base();
        let t0 = Instant::now();
        let child = self
            .child
            .insert(Child::spawn("keelson", &mut cmd, &self.log)?);
        let kubeconfig = self.data_dir.join("admin.kubeconfig");
        let mut probe: Option<Api> = None;
        while t0.elapsed() < limit {
            if let Some(e) = child.exit_error() {
                self.child = None;
                return Err(e);
            }
            if probe.is_none() {
                // The file may be absent or half written for a moment on first start.
                if let Ok(id) = kubeconfig::load(&kubeconfig) {
                    probe = Some(Api::new(&id, &base)?);
                    self.identity = Some(id);
                }
            }
            if let Some(api) = &probe {
                if api.ready().await {
                    return Ok(t0.elapsed());
                }
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        Err(anyhow!(
            "keelson was not ready within {limit:?}; end of its log:\n{}",
            child.log_tail(20)
        ))
    }

    /// Stops the node (SIGTERM, SIGKILL after `grace`); returns whether it exited by itself.
    pub async fn stop(&mut self, grace: Duration) -> bool {
        match self.child.take() {
            Some(mut c) => c.stop(grace).await,
            None => true,
        }
    }

    /// A new client, with its own connection, using the admin identity.
    pub fn client(&self) -> Result<Api> {
        self.client_with(Protocol::Http1)
    }

    /// A new client speaking `protocol`, with its own connection.
    pub fn client_with(&self, protocol: Protocol) -> Result<Api> {
        let id = self
            .identity
            .as_ref()
            .ok_or_else(|| anyhow!("keelson has not been started"))?;
        Api::with_protocol(id, &self.base(), protocol)
    }

    pub fn rss_bytes(&self) -> Option<u64> {
        self.child.as_ref()?.rss_bytes()
    }

    /// CPU time the running process has used.
    pub fn cpu_time(&self) -> Option<std::time::Duration> {
        self.child.as_ref()?.cpu_time()
    }

    /// An error if the process has exited, with the end of its log.
    pub fn check_alive(&mut self) -> Result<()> {
        match self.child.as_mut().and_then(|c| c.exit_error()) {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    fn base(&self) -> String {
        format!("https://{}", self.listen)
    }
}
