//! One single-member etcd started by the run, on loopback with its own data dir, ready
//! when GET /health says `"health":"true"`; its gRPC client (one channel per client,
//! the `etcd-client` crate); and the operations the driver runs with it.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context, Result};
use etcd_client::{Channel, Client, GetOptions, KvClient};
use tonic::transport::Endpoint;

use crate::driver::Op;
use crate::process::{free_addr, Child};

/// Large enough for a range read of 10,000 1 KiB values (tonic's default is 4 MiB).
const MAX_RESPONSE: usize = 256 * 1024 * 1024;

pub struct EtcdNode {
    bin: PathBuf,
    data_dir: PathBuf,
    log: PathBuf,
    client_addr: SocketAddr,
    peer_addr: SocketAddr,
    child: Option<Child>,
}

// === impl EtcdNode ===

impl EtcdNode {
    /// A member with data in `dir`/data and its log in `dir`/etcd.log; not started.
    pub fn new(bin: &Path, dir: &Path) -> Result<Self> {
        Ok(EtcdNode {
            bin: bin.to_path_buf(),
            data_dir: dir.join("data"),
            log: dir.join("etcd.log"),
            client_addr: free_addr()?,
            peer_addr: free_addr()?,
            child: None,
        })
    }

    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    /// Starts the member and waits until /health is true, for at most `limit`.
    /// Returns the time from spawn to healthy.
    pub async fn start(&mut self, limit: Duration) -> Result<Duration> {
        if self.child.is_some() {
            bail!("etcd is already running");
        }
        let client_url = format!("http://{}", self.client_addr);
        let peer_url = format!("http://{}", self.peer_addr);
        let mut cmd = Command::new(&self.bin);
        // ETCD_* variables would override the flags; this member is configured by flags only.
        for (k, _) in std::env::vars_os() {
            if k.to_string_lossy().starts_with("ETCD_") {
                cmd.env_remove(k);
            }
        }
        cmd.args([
            "--name",
            "default",
            "--logger",
            "zap",
            "--log-outputs",
            "stderr",
        ]);
        cmd.arg("--data-dir").arg(&self.data_dir);
        cmd.args([
            "--listen-client-urls",
            &client_url,
            "--advertise-client-urls",
            &client_url,
        ]);
        cmd.args([
            "--listen-peer-urls",
            &peer_url,
            "--initial-advertise-peer-urls",
            &peer_url,
        ]);
        cmd.args(["--initial-cluster", &format!("default={peer_url}")]);
        let t0 = Instant::now();
        let child = self
            .child
            .insert(Child::spawn("etcd", &mut cmd, &self.log)?);
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(2))
            .build()?;
        while t0.elapsed() < limit {
            if let Some(e) = child.exit_error() {
                self.child = None;
                return Err(e);
            }
            if let Ok(r) = http.get(format!("{client_url}/health")).send().await {
                if r.status().is_success()
                    && r.text()
                        .await
                        .is_ok_and(|b| b.contains(r#""health":"true""#))
                {
                    return Ok(t0.elapsed());
                }
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        Err(anyhow!(
            "etcd was not healthy within {limit:?}; end of its log:\n{}",
            child.log_tail(20)
        ))
    }

    /// Stops the member (SIGTERM, SIGKILL after `grace`); returns whether it exited by itself.
    pub async fn stop(&mut self, grace: Duration) -> bool {
        match self.child.take() {
            Some(mut c) => c.stop(grace).await,
            None => true,
        }
    }

    /// A new client with its own gRPC channel.
    pub async fn client(&self) -> Result<KvClient> {
        // A plain channel: `Client::connect` puts a load balancer in front even of one endpoint.
        let channel = Endpoint::from_shared(format!("http://{}", self.client_addr))?
            .connect_timeout(Duration::from_secs(5))
            .timeout(Duration::from_secs(60))
            .tcp_nodelay(true)
            .connect()
            .await
            .context("connecting to etcd")?;
        let client = Client::from_channel(Channel::Tonic(channel), None)
            .await
            .context("connecting to etcd")?;
        Ok(client.kv_client().max_decoding_message_size(MAX_RESPONSE))
    }

    /// `n` clients, each with its own channel.
    pub async fn clients(&self, n: usize) -> Result<Vec<KvClient>> {
        let mut all = Vec::with_capacity(n);
        for _ in 0..n {
            all.push(self.client().await?);
        }
        Ok(all)
    }

    pub fn rss_bytes(&self) -> Option<u64> {
        self.child.as_ref()?.rss_bytes()
    }

    /// CPU time the running process has used.
    pub fn cpu_time(&self) -> Option<std::time::Duration> {
        self.child.as_ref()?.cpu_time()
    }
}

/// Puts `<prefix><seq>` = `value`.
pub struct Put {
    pub kv: KvClient,
    pub prefix: String,
    pub value: Arc<str>,
}

impl Op for Put {
    async fn run(&mut self, seq: u64) -> Result<(), String> {
        let key = format!("{}{seq:06}", self.prefix);
        self.kv
            .put(key, self.value.as_bytes(), None)
            .await
            .map(drop)
            .map_err(|e| e.to_string())
    }
}

/// Reads one key again and again (a linearizable range of one key, etcd's default).
pub struct Get {
    pub kv: KvClient,
    pub key: String,
}

impl Op for Get {
    async fn run(&mut self, _seq: u64) -> Result<(), String> {
        match self.kv.get(self.key.as_str(), None).await {
            Ok(r) if r.kvs().len() == 1 => Ok(()),
            Ok(r) => Err(format!("expected 1 key, got {}", r.kvs().len())),
            Err(e) => Err(e.to_string()),
        }
    }
}

/// Reads every key under `prefix` in one range request; returns how many came back.
pub async fn range_prefix(kv: &mut KvClient, prefix: &str) -> Result<usize, String> {
    let r = kv
        .get(prefix, Some(GetOptions::new().with_prefix()))
        .await
        .map_err(|e| e.to_string())?;
    Ok(r.kvs().len())
}
