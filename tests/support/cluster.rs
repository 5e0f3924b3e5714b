//! A three-replica keelson cluster behind HAProxy for the high-availability tests, started
//! exactly as a human starts one: `cluster/local-up.sh DIR BASE_PORT` (and stopped with
//! `cluster/local-down.sh DIR`), so the tests also cover those scripts and the HAProxy
//! configuration they install.
//!
//! The harness owns one temporary DIR per cluster. Replicas started by the script are
//! signalled only by the PID in their DIR/nI.pid file, after checking that PID's command
//! line names DIR/nI; replicas the harness starts itself (a restart from DIR/nI.args, a
//! fresh member joining) are its own children, killed by their PID. Dropping the handle
//! kills its own children and runs local-down.sh. When a test panics, DIR is kept and its
//! path and the tail of every replica log are printed.
//!
//! Besides process control it gives tests the ways they reach a replica or HAProxy: an
//! HTTPS client with the admin certificate (one CA signs every replica's certificate, so
//! one client serves every address), listing and creating configmaps, raw streaming
//! watches that record every event, the member list, kubectl, `keelson member`, and
//! kube-rs clients for a given address.

use std::collections::{BTreeMap, BTreeSet};
use std::fs::OpenOptions;
use std::hash::{BuildHasher, Hasher};
use std::io::Write as _;
use std::net::{SocketAddr, TcpListener};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{json, Value};
use tempfile::TempDir;
use tokio::task::JoinHandle;

use super::credentials::{assert_loopback_url, AdminCredentials};
use super::kubectl::{kubectl_with, PROXY_VARS};
use super::{
    free_loopback_addr, read_json, run_with_timeout, Server, TimedOutput, KUBECTL_TIMEOUT,
};

/// The namespace every helper here lists, creates and watches configmaps in.
pub const NS: &str = "default";
/// The configmap collection in [`NS`].
pub const CONFIGMAPS: &str = "/api/v1/namespaces/default/configmaps";
/// How long local-up.sh may take (it gives up by itself after 60 s of waiting).
const UP_TIMEOUT: Duration = Duration::from_secs(120);
/// How long a replica the harness (re)starts gets to answer /readyz with 200.
pub const REPLICA_READY_TIMEOUT: Duration = Duration::from_secs(60);
/// How long the replicas get to agree on a leader.
pub const LEADER_TIMEOUT: Duration = Duration::from_secs(30);

/// A configmap named `name` in [`NS`] with one data key.
pub fn configmap(name: &str) -> Value {
    json!({
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": name, "namespace": NS},
        "data": {"v": name}
    })
}

/// A running (or partly killed) three-replica cluster and its directory.
pub struct Cluster {
    /// The temporary DIR; `None` once kept after a failure.
    dir: Option<TempDir>,
    /// DIR with symlinks resolved, as the scripts see it (`pwd -P`).
    root: PathBuf,
    /// HAProxy's port; replica i serves the API on base+i and Raft on base+3+i.
    base: u16,
    /// `KEELSON_SERVE_ARGS`, word-split, for members the harness starts itself.
    serve_args: Vec<String>,
    http: reqwest::Client,
    /// Replicas the harness spawned itself (restarts and joined members), by node id.
    own: BTreeMap<u64, Child>,
    /// API and peer addresses of members started with `--join` (ids above 3).
    joined: BTreeMap<u64, (SocketAddr, SocketAddr)>,
    /// Replicas killed and not restarted since.
    down: BTreeSet<u64>,
}

// === impl Cluster ===

impl Cluster {
    /// Starts a cluster with local-up.sh on free loopback ports.
    pub async fn start() -> Cluster {
        Self::start_with("").await
    }

    /// Like [`Cluster::start`], with `KEELSON_SERVE_ARGS` (extra `keelson serve` flags).
    ///
    /// Seven consecutive loopback ports are picked by binding each; another process may
    /// still take one before the cluster binds it, so when local-up.sh fails saying an
    /// address is in use, the cluster is stopped and started again on other ports (a
    /// bounded number of times).
    pub async fn start_with(serve_args: &str) -> Cluster {
        const ATTEMPTS: usize = 3;
        for attempt in 1..=ATTEMPTS {
            let dir = tempfile::Builder::new()
                .prefix("keelson-ha-")
                .tempdir_in(env!("CARGO_TARGET_TMPDIR"))
                .expect("create a temporary directory for the cluster");
            let root = std::fs::canonicalize(dir.path()).expect("canonical cluster directory");
            let base = free_port_block(7);
            let up = {
                let cmd = local_up_command(&root, base, serve_args);
                tokio::task::spawn_blocking(move || run_with_timeout(cmd, UP_TIMEOUT))
                    .await
                    .expect("local-up.sh runner")
            };
            let text = up.text();
            if up.status.is_some_and(|s| s.success()) {
                let haproxy = SocketAddr::from(([127, 0, 0, 1], base));
                let creds = AdminCredentials::read(&root.join("admin.kubeconfig"), haproxy)
                    .unwrap_or_else(|e| panic!("admin kubeconfig of {}: {e}", root.display()));
                let http = creds.client().expect("admin HTTPS client");
                println!(
                    "cluster in {} (HAProxy 127.0.0.1:{base}, replicas {}..{})",
                    root.display(),
                    base + 1,
                    base + 3
                );
                return Cluster {
                    dir: Some(dir),
                    root,
                    base,
                    serve_args: serve_args.split_whitespace().map(String::from).collect(),
                    http,
                    own: BTreeMap::new(),
                    joined: BTreeMap::new(),
                    down: BTreeSet::new(),
                };
            }
            // Stop whatever did start before retrying or failing.
            let down = run_with_timeout(local_down_command(&root), Duration::from_secs(60));
            if attempt < ATTEMPTS && text.to_lowercase().contains("in use") {
                eprintln!("local-up.sh could not bind (attempt {attempt}), retrying:\n{text}");
                continue;
            }
            let kept = dir.keep();
            panic!(
                "cluster/local-up.sh {} {base} failed ({:?}):\n{text}\nlocal-down.sh: {}\nkept {}\n{}",
                root.display(),
                up.status,
                down.text(),
                kept.display(),
                logs_tail(&root, 40)
            );
        }
        unreachable!("the loop above returns or panics")
    }

    /// The cluster's directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The admin kubeconfig local-up.sh wrote (it points at HAProxy).
    pub fn kubeconfig(&self) -> PathBuf {
        self.root.join("admin.kubeconfig")
    }

    pub fn haproxy_addr(&self) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], self.base))
    }

    /// The API address of member `id` (1..=3 from local-up.sh, or a joined member).
    pub fn replica_addr(&self, id: u64) -> SocketAddr {
        match id {
            1..=3 => SocketAddr::from(([127, 0, 0, 1], self.base + id as u16)),
            _ => {
                self.joined
                    .get(&id)
                    .unwrap_or_else(|| panic!("no member {id}"))
                    .0
            }
        }
    }

    /// The Raft peer address of member `id`.
    pub fn peer_addr(&self, id: u64) -> SocketAddr {
        match id {
            1..=3 => SocketAddr::from(([127, 0, 0, 1], self.base + 3 + id as u16)),
            _ => {
                self.joined
                    .get(&id)
                    .unwrap_or_else(|| panic!("no member {id}"))
                    .1
            }
        }
    }

    /// Members started and not killed since: 1..=3 and joined ones.
    pub fn live_ids(&self) -> Vec<u64> {
        (1..=3)
            .chain(self.joined.keys().copied())
            .filter(|id| !self.down.contains(id))
            .collect()
    }

    /// The log file of member `id` (stdout and stderr of every run, appended).
    pub fn log_path(&self, id: u64) -> PathBuf {
        self.root.join(format!("n{id}.log"))
    }

    pub fn log(&self, id: u64) -> String {
        std::fs::read_to_string(self.log_path(id)).unwrap_or_default()
    }

    /// `https://ADDR` followed by `path` (which starts with `/`).
    pub fn url(addr: SocketAddr, path: &str) -> String {
        format!("https://{addr}{path}")
    }

    /// The HTTPS client with the admin identity; trusts only the cluster CA.
    pub fn http(&self) -> reqwest::Client {
        self.http.clone()
    }

    /// A fresh admin HTTPS client with its own connection pool.
    pub fn new_http(&self) -> reqwest::Client {
        AdminCredentials::read(&self.kubeconfig(), self.haproxy_addr())
            .and_then(|c| c.client())
            .expect("admin HTTPS client")
    }

    /// The member list as `addr` reports it (`GET /keelson/v1/members`).
    pub async fn members(&self, addr: SocketAddr) -> Result<Value, String> {
        let resp = self
            .http
            .get(Self::url(addr, "/keelson/v1/members"))
            .timeout(Duration::from_secs(3))
            .send()
            .await
            .map_err(|e| format!("GET members from {addr}: {e}"))?;
        match read_json(resp).await {
            (StatusCode::OK, body) => Ok(body),
            (status, body) => Err(format!("GET members from {addr}: {status} {body}")),
        }
    }

    /// The leader every live member agrees on, once that member calls itself Leader.
    pub async fn leader_id(&self) -> u64 {
        let ids = self.live_ids();
        let mut last = String::new();
        let last = &mut last;
        let found = tokio::time::timeout(LEADER_TIMEOUT, async {
            loop {
                match self.agreed_leader(&ids).await {
                    Ok(id) => return id,
                    Err(e) => *last = e,
                }
                tokio::time::sleep(super::POLL_INTERVAL).await;
            }
        })
        .await;
        found.unwrap_or_else(|_| {
            panic!("the members {ids:?} did not agree on a leader within {LEADER_TIMEOUT:?}; last: {last}")
        })
    }

    async fn agreed_leader(&self, ids: &[u64]) -> Result<u64, String> {
        let mut leader = None;
        for &id in ids {
            let list = self.members(self.replica_addr(id)).await?;
            let said = list["leader"]
                .as_u64()
                .ok_or_else(|| format!("member {id} knows no leader: {list}"))?;
            if *leader.get_or_insert(said) != said {
                return Err(format!("members disagree on the leader: {list}"));
            }
            if said == id {
                let me = list["members"]
                    .as_array()
                    .and_then(|ms| ms.iter().find(|m| m["id"] == id))
                    .cloned()
                    .unwrap_or_default();
                if me["state"] != "Leader" {
                    return Err(format!("member {id} is named leader but says {me}"));
                }
            }
        }
        let leader = leader.ok_or("no live member")?;
        if !ids.contains(&leader) {
            return Err(format!("the leader {leader} is not a live member"));
        }
        Ok(leader)
    }

    /// SIGKILLs member `id`: the harness's own child by its PID, or the PID in DIR/nI.pid
    /// once its command line is checked to be that replica's; waits until it is gone.
    pub fn kill9(&mut self, id: u64) {
        if let Some(mut child) = self.own.remove(&id) {
            let _ = child.kill();
            let _ = child.wait();
        } else {
            let pid_file = self.root.join(format!("n{id}.pid"));
            let pid: u32 = std::fs::read_to_string(&pid_file)
                .unwrap_or_else(|e| panic!("read {}: {e}", pid_file.display()))
                .trim()
                .parse()
                .unwrap_or_else(|e| panic!("{} holds no pid: {e}", pid_file.display()));
            let marker = self.root.join(format!("n{id}"));
            let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
            let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
            assert!(
                cmdline.contains(&marker.display().to_string()),
                "pid {pid} from {} is not replica n{id} (command line {cmdline:?})",
                pid_file.display()
            );
            let status = Command::new("kill")
                .args(["-9", &pid.to_string()])
                .status()
                .expect("run kill");
            assert!(status.success(), "kill -9 {pid} failed: {status}");
            wait_gone(pid);
        }
        self.down.insert(id);
    }

    /// Starts member `id` again alone, with the arguments local-up.sh recorded in
    /// DIR/nI.args, appending to its log and writing its new PID to DIR/nI.pid. Does not
    /// wait for readiness (see [`Cluster::wait_ready`]).
    pub fn restart(&mut self, id: u64) {
        assert!(
            self.down.contains(&id),
            "restart of member {id}, which is running"
        );
        let args_file = self.root.join(format!("n{id}.args"));
        let args: Vec<String> = std::fs::read_to_string(&args_file)
            .unwrap_or_else(|e| panic!("read {}: {e}", args_file.display()))
            .lines()
            .map(String::from)
            .collect();
        self.spawn_member(id, &args, "restarted alone by tests/ha.rs");
    }

    /// Starts a fresh member `id` with `--join`: a new data dir DIR/nI holding a copy of
    /// the cluster CA, new loopback ports, and `KEELSON_SERVE_ARGS`. Returns its API and
    /// peer addresses; add it with `keelson member add`.
    pub fn start_joining_member(&mut self, id: u64) -> (SocketAddr, SocketAddr) {
        assert!(
            id > 3 && !self.joined.contains_key(&id),
            "member {id} exists"
        );
        let data = self.root.join(format!("n{id}"));
        let pki = data.join("pki");
        std::fs::create_dir_all(&pki).expect("create the new member's pki dir");
        std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o700))
            .expect("chmod data dir");
        std::fs::set_permissions(&pki, std::fs::Permissions::from_mode(0o700))
            .expect("chmod pki dir");
        for file in ["ca.crt", "ca.key"] {
            let to = pki.join(file);
            std::fs::copy(self.root.join("n1/pki").join(file), &to)
                .unwrap_or_else(|e| panic!("copy {file} to {}: {e}", to.display()));
            std::fs::set_permissions(&to, std::fs::Permissions::from_mode(0o600))
                .expect("chmod CA file");
        }
        let (api, peer) = (free_loopback_addr(), free_loopback_addr());
        let mut args: Vec<String> = [
            "serve",
            "--data-dir",
            &data.display().to_string(),
            "--listen",
            &api.to_string(),
            "--peer-listen",
            &peer.to_string(),
            "--node-id",
            &id.to_string(),
            "--join",
        ]
        .iter()
        .map(|a| a.to_string())
        .collect();
        args.extend(self.serve_args.iter().cloned());
        std::fs::write(
            self.root.join(format!("n{id}.args")),
            args.join("\n") + "\n",
        )
        .expect("write the new member's args file");
        self.joined.insert(id, (api, peer));
        self.spawn_member(id, &args, "started with --join by tests/ha.rs");
        (api, peer)
    }

    fn spawn_member(&mut self, id: u64, args: &[String], why: &str) {
        let mut log = OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.log_path(id))
            .expect("open the replica log");
        let _ = writeln!(log, "=== {why} ===");
        let log_err = log.try_clone().expect("clone the log handle");
        let child = Server::keelson_command()
            .args(args)
            .stdout(Stdio::from(log))
            .stderr(Stdio::from(log_err))
            .spawn()
            .unwrap_or_else(|e| panic!("spawn keelson {args:?}: {e}"));
        // local-down.sh stops what the pid files name, so it covers this one too.
        std::fs::write(
            self.root.join(format!("n{id}.pid")),
            format!("{}\n", child.id()),
        )
        .expect("write the pid file");
        self.own.insert(id, child);
        self.down.remove(&id);
    }

    /// Whether member `id` answers /readyz with 200 "ok" right now.
    pub async fn ready(&self, id: u64) -> Result<(), String> {
        let addr = self.replica_addr(id);
        let resp = self
            .http
            .get(Self::url(addr, "/readyz"))
            .timeout(Duration::from_secs(2))
            .send()
            .await
            .map_err(|e| format!("/readyz of {id}: {e}"))?;
        let status = resp.status();
        let body = resp.text().await.unwrap_or_default();
        if status == StatusCode::OK && body.trim() == "ok" {
            Ok(())
        } else {
            Err(format!("/readyz of {id} answered {status}: {body}"))
        }
    }

    /// Polls member `id`'s /readyz until 200, failing if a child the harness started
    /// exits first.
    pub async fn wait_ready(&mut self, id: u64) {
        let deadline = Instant::now() + REPLICA_READY_TIMEOUT;
        loop {
            if let Some(child) = self.own.get_mut(&id) {
                if let Ok(Some(status)) = child.try_wait() {
                    panic!("member {id} exited with {status}");
                }
            }
            let last = match self.ready(id).await {
                Ok(()) => return,
                Err(e) => e,
            };
            assert!(
                Instant::now() < deadline,
                "member {id} not ready after {REPLICA_READY_TIMEOUT:?}: {last}"
            );
            tokio::time::sleep(super::POLL_INTERVAL).await;
        }
    }

    /// Lists the configmaps of [`NS`] on `addr`; `rv` is the resourceVersion parameter
    /// (`None` for a linearizable list, `Some("0")` for the replica's cache as it is).
    pub async fn list(&self, addr: SocketAddr, rv: Option<&str>) -> Result<Listing, String> {
        let path = match rv {
            Some(rv) => format!("{CONFIGMAPS}?resourceVersion={rv}"),
            None => CONFIGMAPS.to_string(),
        };
        let resp = self
            .http
            .get(Self::url(addr, &path))
            .timeout(Duration::from_secs(30))
            .send()
            .await
            .map_err(|e| format!("list on {addr}: {e}"))?;
        let (status, body) = read_json(resp).await;
        if status != StatusCode::OK {
            return Err(format!("list on {addr}: {status} {body}"));
        }
        let rv = number(&body["metadata"]["resourceVersion"])
            .ok_or_else(|| format!("list on {addr} has no resourceVersion: {body}"))?;
        let items = body["items"]
            .as_array()
            .ok_or_else(|| format!("list on {addr} has no items: {body}"))?
            .iter()
            .filter(|item| item["metadata"]["name"] != super::ROOT_CA_CONFIGMAP)
            .map(|item| {
                let name = item["metadata"]["name"].as_str().unwrap_or("").to_string();
                let rv = number(&item["metadata"]["resourceVersion"]).unwrap_or(0);
                (name, rv)
            })
            .collect();
        Ok(Listing { rv, items })
    }

    /// Like [`Cluster::list`], retried until it succeeds (at most 30 s).
    pub async fn list_eventually(&self, addr: SocketAddr, rv: Option<&str>) -> Listing {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let last = match self.list(addr, rv).await {
                Ok(listing) => return listing,
                Err(e) => e,
            };
            assert!(Instant::now() < deadline, "no list within 30 s: {last}");
            tokio::time::sleep(super::POLL_INTERVAL).await;
        }
    }

    /// Creates configmap `name` in [`NS`] through `addr`; the status and body as answered.
    pub async fn create(
        &self,
        addr: SocketAddr,
        name: &str,
    ) -> Result<(StatusCode, Value), String> {
        let resp = self
            .http
            .post(Self::url(addr, CONFIGMAPS))
            .json(&configmap(name))
            .timeout(Duration::from_secs(30))
            .send()
            .await
            .map_err(|e| format!("create {name} through {addr}: {e}"))?;
        Ok(read_json(resp).await)
    }

    /// Creates configmap `name` through `addr`, which must answer 201; returns its rv.
    pub async fn create_ok(&self, addr: SocketAddr, name: &str) -> u64 {
        match self.create(addr, name).await {
            Ok((StatusCode::CREATED, body)) => super::rv_of(&body),
            Ok((status, body)) => panic!("create {name} through {addr}: {status} {body}"),
            Err(e) => panic!("{e}"),
        }
    }

    /// Opens a watch on the configmaps of [`NS`] on `addr` from resourceVersion `from`
    /// (raw HTTPS streaming, its own connection) and records every event. If the stream
    /// ends, it reconnects from the last resourceVersion it saw, as a client would.
    pub fn watch(&self, addr: SocketAddr, from: u64) -> RawWatch {
        let log = Arc::new(Mutex::new(WatchLog::default()));
        let task = tokio::spawn(run_watch(self.new_http(), addr, from, log.clone()));
        RawWatch { log, task }
    }

    /// A kube-rs client with the admin identity for `addr` (HAProxy or one replica).
    pub async fn kube_client(&self, addr: SocketAddr) -> kube::Client {
        assert!(addr.ip().is_loopback(), "{addr} is not a loopback address");
        let kubeconfig =
            kube::config::Kubeconfig::read_from(self.kubeconfig()).expect("read admin kubeconfig");
        let mut config = kube::Config::from_custom_kubeconfig(
            kubeconfig,
            &kube::config::KubeConfigOptions::default(),
        )
        .await
        .expect("kube config from the admin kubeconfig");
        config.cluster_url = format!("https://{addr}").parse().expect("cluster URL");
        assert_loopback_url(&config.cluster_url.to_string()).expect("loopback cluster URL");
        kube::Client::try_from(config).expect("build kube client")
    }

    /// A kubectl command with the admin kubeconfig (through HAProxy), HOME and the
    /// discovery cache inside DIR, and no proxy settings inherited.
    pub fn kubectl_command(&self, args: &[&str]) -> Command {
        kubectl_with(&self.kubeconfig(), &self.root, args)
    }

    /// Runs kubectl (at most `KUBECTL_TIMEOUT`) off the async threads.
    pub async fn kubectl(&self, args: &[&str]) -> TimedOutput {
        let cmd = self.kubectl_command(args);
        tokio::task::spawn_blocking(move || run_with_timeout(cmd, KUBECTL_TIMEOUT))
            .await
            .expect("kubectl runner")
    }

    /// Runs `keelson member ARGS --kubeconfig DIR/admin.kubeconfig` (at most 120 s).
    pub async fn keelson_member(&self, args: &[&str]) -> TimedOutput {
        let mut cmd = Server::keelson_command();
        cmd.arg("member")
            .args(args)
            .arg("--kubeconfig")
            .arg(self.kubeconfig());
        for var in PROXY_VARS {
            cmd.env_remove(var);
        }
        tokio::task::spawn_blocking(move || run_with_timeout(cmd, Duration::from_secs(120)))
            .await
            .expect("keelson member runner")
    }

    /// The tail of every replica log, for failure messages.
    pub fn describe(&self) -> String {
        format!(
            "cluster in {}\n{}",
            self.root.display(),
            logs_tail(&self.root, 40)
        )
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        for (_, mut child) in std::mem::take(&mut self.own) {
            let _ = child.kill();
            let _ = child.wait();
        }
        let down = run_with_timeout(local_down_command(&self.root), Duration::from_secs(60));
        if !down.status.is_some_and(|s| s.success()) {
            eprintln!(
                "--- cluster/local-down.sh {} failed ({:?}):\n{}",
                self.root.display(),
                down.status,
                down.text()
            );
        }
        if std::thread::panicking() {
            if let Some(dir) = self.dir.take() {
                let kept = dir.keep();
                eprintln!("--- HA test failed; cluster dir kept in {}", kept.display());
            }
            eprintln!("{}", logs_tail(&self.root, 80));
        }
    }
}

fn script(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("cluster")
        .join(name)
}

fn local_up_command(root: &Path, base: u16, serve_args: &str) -> Command {
    let mut cmd = Command::new("bash");
    cmd.arg(script("local-up.sh"))
        .arg(root)
        .arg(base.to_string())
        .env("KEELSON", env!("CARGO_BIN_EXE_keelson"))
        .env("KEELSON_SERVE_ARGS", serve_args)
        // kubectl (used by the script's readiness check) caches discovery under HOME.
        .env("HOME", root)
        .stdin(Stdio::null());
    if Path::new("/usr/sbin/haproxy").exists() {
        cmd.env("HAPROXY", "/usr/sbin/haproxy");
    }
    for var in PROXY_VARS {
        cmd.env_remove(var);
    }
    cmd
}

fn local_down_command(root: &Path) -> Command {
    let mut cmd = Command::new("bash");
    cmd.arg(script("local-down.sh"))
        .arg(root)
        .stdin(Stdio::null());
    cmd
}

/// The last `lines` lines of every DIR/n*.log.
fn logs_tail(root: &Path, lines: usize) -> String {
    let mut logs: Vec<PathBuf> = std::fs::read_dir(root)
        .map(|d| {
            d.filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| {
                    let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
                    name.starts_with('n') && name.ends_with(".log")
                })
                .collect()
        })
        .unwrap_or_default();
    logs.sort();
    let mut out = String::new();
    for log in logs {
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        let all: Vec<&str> = text.lines().collect();
        out.push_str(&format!("--- last lines of {}:\n", log.display()));
        out.push_str(&all[all.len().saturating_sub(lines)..].join("\n"));
        out.push('\n');
    }
    out
}

/// The first of `count` consecutive loopback ports that were all free a moment ago,
/// from a random start in 20000..40000.
fn free_port_block(count: u16) -> u16 {
    for _ in 0..50 {
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_u128(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap_or_default()
                .as_nanos(),
        );
        let base = 20000 + (h.finish() % 20000) as u16;
        let listeners: Vec<TcpListener> = (base..base + count)
            .map_while(|p| TcpListener::bind(("127.0.0.1", p)).ok())
            .collect();
        if listeners.len() == usize::from(count) {
            return base;
        }
    }
    panic!("found no {count} consecutive free loopback ports in 50 tries");
}

/// Waits (at most 10 s) until process `pid` has exited (gone, or a zombie).
fn wait_gone(pid: u32) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        // The state is the field after the parenthesised command name.
        let state = stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().next())
            .unwrap_or("");
        if stat.is_empty() || state == "Z" || state == "X" {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "pid {pid} still runs 10 s after kill -9"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A resourceVersion (a JSON string holding a number) as a number.
fn number(v: &Value) -> Option<u64> {
    v.as_str().and_then(|s| s.parse().ok())
}

// === Listing ===

/// A list of configmaps: the list's resourceVersion and each item's name and rv, in the
/// order answered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Listing {
    pub rv: u64,
    pub items: Vec<(String, u64)>,
}

impl Listing {
    pub fn by_name(&self) -> BTreeMap<String, u64> {
        self.items.iter().cloned().collect()
    }

    /// Names that appear more than once.
    pub fn duplicate_names(&self) -> Vec<String> {
        let mut seen = BTreeSet::new();
        self.items
            .iter()
            .filter(|(name, _)| !seen.insert(name.clone()))
            .map(|(name, _)| name.clone())
            .collect()
    }
}

// === RawWatch ===

/// One watch event: its type, and the object's name and resourceVersion.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WatchEvent {
    pub kind: String,
    pub name: String,
    pub rv: u64,
}

/// Everything a raw watch saw.
#[derive(Clone, Debug, Default)]
pub struct WatchLog {
    /// Every event but BOOKMARK, in arrival order.
    pub events: Vec<WatchEvent>,
    /// How many times the watch was answered 200 (1 unless it had to reconnect).
    pub connects: usize,
    /// Why each connection ended or failed.
    pub ends: Vec<String>,
}

/// A raw streaming watch running in a task; aborted when dropped.
pub struct RawWatch {
    log: Arc<Mutex<WatchLog>>,
    task: JoinHandle<()>,
}

impl RawWatch {
    pub fn snapshot(&self) -> WatchLog {
        self.log.lock().unwrap().clone()
    }

    /// Waits (at most `timeout`) until the watch has seen every `(name, rv)` in `want`.
    pub async fn wait_for(&self, want: &BTreeMap<String, u64>, timeout: Duration, what: &str) {
        let deadline = Instant::now() + timeout;
        loop {
            let log = self.snapshot();
            let seen: BTreeSet<(&str, u64)> =
                log.events.iter().map(|e| (e.name.as_str(), e.rv)).collect();
            let missing: Vec<_> = want
                .iter()
                .filter(|(n, rv)| !seen.contains(&(n.as_str(), **rv)))
                .collect();
            if missing.is_empty() {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "{what}: after {timeout:?} the watch still misses {} events, first {:?}; connects {}, ends {:?}",
                missing.len(),
                &missing[..missing.len().min(5)],
                log.connects,
                log.ends
            );
            tokio::time::sleep(super::POLL_INTERVAL).await;
        }
    }
}

impl Drop for RawWatch {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn run_watch(http: reqwest::Client, addr: SocketAddr, from: u64, log: Arc<Mutex<WatchLog>>) {
    let mut rv = from;
    loop {
        let url = Cluster::url(addr, &format!("{CONFIGMAPS}?watch=1&resourceVersion={rv}"));
        match http.get(&url).send().await {
            Ok(resp) if resp.status() == StatusCode::OK => {
                log.lock().unwrap().connects += 1;
                let end = read_stream(resp, &mut rv, &log).await;
                log.lock().unwrap().ends.push(end);
            }
            Ok(resp) => {
                let status = resp.status();
                let body = resp.text().await.unwrap_or_default();
                log.lock().unwrap().ends.push(format!("{status}: {body}"));
            }
            Err(e) => log.lock().unwrap().ends.push(format!("connect: {e}")),
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Reads watch events until the stream ends; returns why it ended.
async fn read_stream(
    mut resp: reqwest::Response,
    rv: &mut u64,
    log: &Arc<Mutex<WatchLog>>,
) -> String {
    let mut buf: Vec<u8> = Vec::new();
    loop {
        match resp.chunk().await {
            Ok(Some(chunk)) => buf.extend_from_slice(&chunk),
            Ok(None) => return "stream ended".into(),
            Err(e) => return format!("stream error: {e}"),
        }
        while let Some(nl) = buf.iter().position(|&b| b == b'\n') {
            let line: Vec<u8> = buf.drain(..=nl).collect();
            if line.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            let event: Value = match serde_json::from_slice(&line) {
                Ok(v) => v,
                Err(e) => {
                    return format!(
                        "undecodable event ({e}): {}",
                        String::from_utf8_lossy(&line)
                    )
                }
            };
            let kind = event["type"].as_str().unwrap_or("").to_string();
            if kind == "ERROR" {
                return format!("ERROR event: {}", event["object"]);
            }
            let meta = &event["object"]["metadata"];
            let event_rv = number(&meta["resourceVersion"]).unwrap_or(0);
            if event_rv > *rv {
                *rv = event_rv;
            }
            // The root CA publisher's ConfigMap comes and goes on the controller's
            // schedule; these watches check the tests' own writes.
            if kind == "BOOKMARK" || meta["name"] == super::ROOT_CA_CONFIGMAP {
                continue;
            }
            log.lock().unwrap().events.push(WatchEvent {
                kind,
                name: meta["name"].as_str().unwrap_or("").to_string(),
                rv: event_rv,
            });
        }
    }
}
