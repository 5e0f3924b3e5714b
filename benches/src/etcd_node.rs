//! One etcd member started by the run, on loopback with its own data dir, ready when
//! GET /health says `"health":"true"`: a single-member cluster, or one of the three
//! members of [`crate::etcd_cluster`]. Its gRPC client (one channel per client, the
//! `etcd-client` crate) and the operations the driver runs with it.

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
    name: String,
    data_dir: PathBuf,
    log: PathBuf,
    client_addr: SocketAddr,
    peer_addr: SocketAddr,
    /// `--initial-cluster`; `None` for a single-member cluster of this node.
    initial_cluster: Option<String>,
    child: Option<Child>,
}

// === impl EtcdNode ===

impl EtcdNode {
    /// A single-member cluster with data in `dir`/data and its log in `dir`/etcd.log;
    /// not started.
    pub fn new(bin: &Path, dir: &Path) -> Result<Self> {
        Ok(EtcdNode {
            bin: bin.to_path_buf(),
            name: "default".into(),
            data_dir: dir.join("data"),
            log: dir.join("etcd.log"),
            client_addr: free_addr()?,
            peer_addr: free_addr()?,
            initial_cluster: None,
            child: None,
        })
    }

    /// Member `name` of the cluster `initial_cluster` (`name=http://peer,...`), serving
    /// clients on `client_addr` and peers on `peer_addr`; data in `dir`/data, log in
    /// `dir`/etcd.log; not started.
    pub fn member(
        bin: &Path,
        dir: &Path,
        name: &str,
        client_addr: SocketAddr,
        peer_addr: SocketAddr,
        initial_cluster: &str,
    ) -> Self {
        EtcdNode {
            bin: bin.to_path_buf(),
            name: name.to_string(),
            data_dir: dir.join("data"),
            log: dir.join("etcd.log"),
            client_addr,
            peer_addr,
            initial_cluster: Some(initial_cluster.to_string()),
            child: None,
        }
    }

    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// `http://address` of the client API.
    pub fn client_url(&self) -> String {
        format!("http://{}", self.client_addr)
    }

    /// Starts the member and waits until /health is true, for at most `limit`.
    /// Returns the time from spawn to healthy.
    pub async fn start(&mut self, limit: Duration) -> Result<Duration> {
        let t0 = Instant::now();
        self.spawn()?;
        self.wait_healthy(t0, limit).await
    }

    /// Starts the process without waiting (a cluster member is healthy only once a
    /// quorum is up); on an existing data dir it rejoins with the state it has.
    pub fn spawn(&mut self) -> Result<()> {
        if self.child.is_some() {
            bail!("etcd {} is already running", self.name);
        }
        let client_url = self.client_url();
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
            &self.name,
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
        let initial = match &self.initial_cluster {
            Some(c) => c.clone(),
            None => format!("{}={peer_url}", self.name),
        };
        cmd.args(["--initial-cluster", &initial]);
        if self.initial_cluster.is_some() {
            cmd.args(["--initial-cluster-token", "keelson-bench"]);
        }
        self.child = Some(Child::spawn(
            &format!("etcd {}", self.name),
            &mut cmd,
            &self.log,
        )?);
        Ok(())
    }

    /// Waits until /health is true, until `limit` after `t0`; returns the time since `t0`.
    pub async fn wait_healthy(&mut self, t0: Instant, limit: Duration) -> Result<Duration> {
        let url = format!("{}/health", self.client_url());
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(2))
            .build()?;
        while t0.elapsed() < limit {
            let Some(child) = self.child.as_mut() else {
                bail!("etcd {} is not running", self.name);
            };
            if let Some(e) = child.exit_error() {
                self.child = None;
                return Err(e);
            }
            if let Ok(r) = http.get(&url).send().await {
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
        let tail = self.child.as_ref().map(|c| c.log_tail(20));
        Err(anyhow!(
            "etcd {} was not healthy within {limit:?}; end of its log:\n{}",
            self.name,
            tail.unwrap_or_default()
        ))
    }

    /// Stops the member (SIGTERM, SIGKILL after `grace`); returns whether it exited by itself.
    pub async fn stop(&mut self, grace: Duration) -> bool {
        match self.child.take() {
            Some(mut c) => c.stop(grace).await,
            None => true,
        }
    }

    /// Kills the member at once (SIGKILL), as a crash would; its data dir stays.
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            c.kill();
        }
    }

    /// An error if the process has exited, with the end of its log.
    pub fn check_alive(&mut self) -> Result<()> {
        match self.child.as_mut().and_then(|c| c.exit_error()) {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    /// A new client with its own gRPC channel.
    pub async fn client(&self) -> Result<KvClient> {
        Ok(connect(&self.client_url())
            .await?
            .kv_client()
            .max_decoding_message_size(MAX_RESPONSE))
    }

    /// `n` clients, each with its own channel.
    pub async fn clients(&self, n: usize) -> Result<Vec<KvClient>> {
        let mut all = Vec::with_capacity(n);
        for _ in 0..n {
            all.push(self.client().await?);
        }
        Ok(all)
    }

    /// This member's id and the leader's id as it sees them (0: no leader).
    pub async fn status(&self) -> Result<(u64, u64)> {
        let mut c = connect(&self.client_url()).await?;
        let s = tokio::time::timeout(Duration::from_secs(2), c.status())
            .await
            .context("etcd status: no answer within 2 s")??;
        let id = s.header().map(|h| h.member_id()).unwrap_or_default();
        Ok((id, s.leader()))
    }

    pub fn rss_bytes(&self) -> Option<u64> {
        self.child.as_ref()?.rss_bytes()
    }

    /// CPU time the running process has used.
    pub fn cpu_time(&self) -> Option<std::time::Duration> {
        self.child.as_ref()?.cpu_time()
    }
}

/// A client with its own plain gRPC channel to `url` (`http://host:port`).
pub async fn connect(url: &str) -> Result<Client> {
    // A plain channel: `Client::connect` puts a load balancer in front even of one endpoint.
    let channel = Endpoint::from_shared(url.to_string())?
        .connect_timeout(Duration::from_secs(5))
        .timeout(Duration::from_secs(60))
        .tcp_nodelay(true)
        .connect()
        .await
        .with_context(|| format!("connecting to etcd at {url}"))?;
    Client::from_channel(Channel::Tonic(channel), None)
        .await
        .with_context(|| format!("connecting to etcd at {url}"))
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
