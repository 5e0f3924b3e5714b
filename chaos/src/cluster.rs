//! One three-replica cluster behind HAProxy for one scenario, started by
//! `cluster/local-up.sh` with each replica in its own network namespace (see [`crate::net`])
//! and its data dir on its own small tmpfs (so a scenario can fill a disk).
//!
//! Processes are signalled only by PID: the ones local-up.sh started by the PID in their
//! `DIR/nI.pid` file after checking that the command line names `DIR/nI`, the ones the
//! harness starts itself (restarts, a joining member) as its own children. Teardown runs
//! `cluster/local-down.sh DIR`, kills the harness's children, unmounts the tmpfs mounts
//! and deletes the network.

use std::collections::BTreeMap;
use std::fs::OpenOptions;
use std::io::Write as _;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context, Result};
use serde_json::Value;

use crate::client::Client;
use crate::net::Network;

/// Size of each replica's data-dir tmpfs.
const DISK_MIB: u64 = 256;
/// How long a replica gets to answer /readyz after a (re)start.
pub const READY_TIMEOUT: Duration = Duration::from_secs(30);

pub struct Cluster {
    pub dir: PathBuf,
    repo: PathBuf,
    keelson: PathBuf,
    base: u16,
    pub net: Network,
    /// Node ids that are members now, in order.
    pub members: Vec<u64>,
    /// The harness's own children, by node id.
    own: BTreeMap<u64, Child>,
    /// Replicas whose process the harness stopped and has not started since.
    down: Vec<u64>,
    mounts: Vec<PathBuf>,
    pub client: Client,
}

impl Cluster {
    /// Starts the cluster in `dir` (which must not exist) and waits until it is ready.
    pub fn start(repo: &Path, keelson: &Path, dir: &Path, tag: u32) -> Result<Cluster> {
        let net = Network::create(tag)?;
        std::fs::create_dir_all(dir)?;
        let dir = dir.canonicalize()?;
        let mut mounts = Vec::new();
        for slot in 1..=crate::net::SLOTS {
            let data = dir.join(format!("n{slot}"));
            std::fs::create_dir_all(&data)?;
            let mounted = Command::new("mount")
                .args([
                    "-t",
                    "tmpfs",
                    "-o",
                    &format!("size={DISK_MIB}m,mode=0700"),
                    "tmpfs",
                ])
                .arg(&data)
                .status();
            if !mounted.as_ref().is_ok_and(|s| s.success()) {
                unmount(&mut mounts);
                bail!(
                    "mount -t tmpfs on {} failed ({mounted:?}); the harness needs root",
                    data.display()
                );
            }
            mounts.push(data);
        }
        let base = match free_base_port() {
            Ok(base) => base,
            Err(e) => {
                unmount(&mut mounts);
                return Err(e);
            }
        };
        let hosts: Vec<String> = (1..=3).map(|s| net.replica_ip(s)).collect();
        let namespaces: Vec<String> = (1..=3).map(|s| net.namespace(s)).collect();
        let out = Command::new(repo.join("cluster/local-up.sh"))
            .arg(&dir)
            .arg(base.to_string())
            .env("KEELSON", keelson)
            .env("KEELSON_HOSTS", hosts.join(" "))
            .env("KEELSON_NETNS", namespaces.join(" "))
            .env("KEELSON_SERVE_ARGS", "--request-timeout 10s")
            .output()
            .context("run cluster/local-up.sh")?;
        if !out.status.success() {
            stop_scripted(repo, &dir);
            unmount(&mut mounts);
            bail!(
                "cluster/local-up.sh failed:\n{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        let client = match Client::from_kubeconfig(&dir.join("admin.kubeconfig")) {
            Ok(client) => client,
            Err(e) => {
                stop_scripted(repo, &dir);
                unmount(&mut mounts);
                return Err(e);
            }
        };
        let cluster = Cluster {
            dir,
            repo: repo.to_path_buf(),
            keelson: keelson.to_path_buf(),
            base,
            net,
            members: vec![1, 2, 3],
            own: BTreeMap::new(),
            down: Vec::new(),
            mounts,
            client,
        };
        Ok(cluster)
    }

    pub fn proxy_url(&self) -> String {
        format!("https://127.0.0.1:{}", self.base)
    }

    /// The API URL of replica `node` (slot = node id).
    pub fn api_url(&self, node: u64) -> String {
        format!(
            "https://{}:{}",
            self.net.replica_ip(node),
            self.api_port(node)
        )
    }

    fn api_port(&self, node: u64) -> u16 {
        match node {
            1..=3 => self.base + node as u16,
            _ => self.base + 7,
        }
    }

    fn peer_port(&self, node: u64) -> u16 {
        match node {
            1..=3 => self.base + 3 + node as u16,
            _ => self.base + 8,
        }
    }

    pub fn live(&self) -> Vec<u64> {
        self.members
            .iter()
            .copied()
            .filter(|n| !self.down.contains(n))
            .collect()
    }

    /// The leader the live members agree on, waiting up to `limit`.
    pub async fn leader(&self, limit: Duration) -> Result<u64> {
        let deadline = Instant::now() + limit;
        let mut last = String::from("no answer yet");
        while Instant::now() < deadline {
            match self.agreed_leader().await {
                Ok(id) => return Ok(id),
                Err(e) => last = e.to_string(),
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        bail!("no agreed leader within {limit:?}: {last}")
    }

    async fn agreed_leader(&self) -> Result<u64> {
        let mut leader = None;
        for node in self.live() {
            let list: Value = self
                .client
                .get_json(&self.api_url(node), "/keelson/v1/members")
                .await?;
            let said = list["leader"]
                .as_u64()
                .ok_or_else(|| anyhow!("member {node} knows no leader"))?;
            if *leader.get_or_insert(said) != said {
                bail!("members disagree on the leader");
            }
        }
        leader.ok_or_else(|| anyhow!("no live member"))
    }

    /// The PID of replica `node`, checked against its command line.
    fn pid(&self, node: u64) -> Result<u32> {
        if let Some(child) = self.own.get(&node) {
            return Ok(child.id());
        }
        let file = self.dir.join(format!("n{node}.pid"));
        let pid: u32 = std::fs::read_to_string(&file)?.trim().parse()?;
        let marker = self.dir.join(format!("n{node}"));
        let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
        let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
        if !cmdline.contains(&marker.display().to_string()) {
            bail!("pid {pid} in {} is not replica n{node}", file.display());
        }
        Ok(pid)
    }

    /// Sends `signal` to replica `node`.
    pub fn signal(&self, node: u64, signal: i32) -> Result<()> {
        let pid = self.pid(node)?;
        // SAFETY: kill(2) with a PID this harness started and checked above.
        if unsafe { libc::kill(pid as i32, signal) } != 0 {
            bail!("kill({pid}, {signal}): {}", std::io::Error::last_os_error());
        }
        Ok(())
    }

    /// SIGKILLs replica `node` and waits until it is gone.
    pub fn kill9(&mut self, node: u64) -> Result<()> {
        let pid = self.pid(node)?;
        self.signal(node, libc::SIGKILL)?;
        self.reap(node, pid, Duration::from_secs(10));
        self.down.push(node);
        Ok(())
    }

    /// SIGKILLs every replica in `nodes` at once (no survivor gets to react), then waits
    /// until they are all gone.
    pub fn kill9_all(&mut self, nodes: &[u64]) -> Result<()> {
        let mut pids = Vec::new();
        for &node in nodes {
            pids.push((node, self.pid(node)?));
        }
        for &(node, _) in &pids {
            self.signal(node, libc::SIGKILL)?;
        }
        for (node, pid) in pids {
            self.reap(node, pid, Duration::from_secs(10));
            self.down.push(node);
        }
        Ok(())
    }

    /// SIGTERMs replica `node` and waits (up to 15 s, then SIGKILL) until it is gone.
    pub fn stop(&mut self, node: u64) -> Result<()> {
        let pid = self.pid(node)?;
        self.signal(node, libc::SIGTERM)?;
        if !self.reap(node, pid, Duration::from_secs(15)) {
            self.signal(node, libc::SIGKILL)?;
            self.reap(node, pid, Duration::from_secs(10));
        }
        self.down.push(node);
        Ok(())
    }

    /// Waits until `pid` has exited; true when it did within `limit`.
    fn reap(&mut self, node: u64, pid: u32, limit: Duration) -> bool {
        let deadline = Instant::now() + limit;
        loop {
            let gone = match self.own.get_mut(&node) {
                Some(child) => child.try_wait().map(|s| s.is_some()).unwrap_or(true),
                None => exited_elsewhere(pid),
            };
            if gone {
                self.own.remove(&node);
                return true;
            }
            if Instant::now() >= deadline {
                return false;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Whether replica `node`'s process has exited by itself (it is then marked down).
    pub fn exited(&mut self, node: u64) -> bool {
        let gone = match self.pid(node) {
            Err(_) => true,
            Ok(pid) => self.reap(node, pid, Duration::ZERO),
        };
        if gone && !self.down.contains(&node) {
            self.down.push(node);
        }
        gone
    }

    /// Starts replica `node` again with the arguments in `DIR/nI.args`, inside its namespace.
    pub fn restart(&mut self, node: u64) -> Result<()> {
        let args: Vec<String> = std::fs::read_to_string(self.dir.join(format!("n{node}.args")))?
            .lines()
            .map(String::from)
            .collect();
        self.spawn(node, &args, "restarted by the chaos harness")?;
        self.down.retain(|&n| n != node);
        Ok(())
    }

    fn spawn(&mut self, node: u64, args: &[String], why: &str) -> Result<()> {
        let mut log = OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.join(format!("n{node}.log")))?;
        writeln!(log, "=== {why} ===")?;
        let child = Command::new("ip")
            .args(["netns", "exec", &self.net.namespace(node)])
            .arg(&self.keelson)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::from(log.try_clone()?))
            .stderr(Stdio::from(log))
            .spawn()
            .context("start keelson")?;
        std::fs::write(
            self.dir.join(format!("n{node}.pid")),
            format!("{}\n", child.id()),
        )?;
        self.own.insert(node, child);
        Ok(())
    }

    /// Waits until replica `node` answers /readyz with 200.
    pub async fn wait_ready(&self, node: u64, limit: Duration) -> Result<()> {
        let deadline = Instant::now() + limit;
        loop {
            if self.client.ready(&self.api_url(node)).await {
                return Ok(());
            }
            if Instant::now() >= deadline {
                bail!(
                    "replica {node} not ready within {limit:?} (log: {}/n{node}.log)",
                    self.dir.display()
                );
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// `keelson member remove`, through HAProxy.
    pub fn member_remove(&mut self, node: u64) -> Result<()> {
        self.keelson_member(&["remove", &node.to_string()])?;
        self.members.retain(|&n| n != node);
        Ok(())
    }

    /// Starts a fresh member `node` with `--join` in its own namespace and data dir, and
    /// adds it with `keelson member add` (which returns once it has caught up).
    pub fn add_fresh_member(&mut self, node: u64) -> Result<()> {
        let data = self.dir.join(format!("n{node}"));
        let pki = data.join("pki");
        std::fs::create_dir_all(&pki)?;
        std::fs::set_permissions(&pki, std::fs::Permissions::from_mode(0o700))?;
        for file in ["ca.crt", "ca.key"] {
            let to = pki.join(file);
            std::fs::copy(self.dir.join("n1/pki").join(file), &to)?;
            std::fs::set_permissions(&to, std::fs::Permissions::from_mode(0o600))?;
        }
        let ip = self.net.replica_ip(node);
        let args: Vec<String> = [
            "serve".to_string(),
            "--data-dir".into(),
            data.display().to_string(),
            "--listen".into(),
            format!("{ip}:{}", self.api_port(node)),
            "--peer-listen".into(),
            format!("{ip}:{}", self.peer_port(node)),
            "--node-id".into(),
            node.to_string(),
            "--join".into(),
            "--request-timeout".into(),
            "10s".into(),
        ]
        .to_vec();
        std::fs::write(
            self.dir.join(format!("n{node}.args")),
            args.join("\n") + "\n",
        )?;
        self.spawn(node, &args, "started with --join by the chaos harness")?;
        let url = format!("https://{ip}:{}", self.peer_port(node));
        self.keelson_member(&["add", &node.to_string(), &url])?;
        self.members.push(node);
        Ok(())
    }

    /// `keelson member ARGS` through HAProxy, retried (5 times, 1 s apart) when the
    /// request never reached a replica: HAProxy may still route to a replica that was
    /// just killed.
    fn keelson_member(&self, args: &[&str]) -> Result<()> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            let out = Command::new(&self.keelson)
                .arg("member")
                .args(args)
                .arg("--kubeconfig")
                .arg(self.dir.join("admin.kubeconfig"))
                .output()?;
            if out.status.success() {
                return Ok(());
            }
            let stderr = String::from_utf8_lossy(&out.stderr).trim().to_string();
            if attempt >= 5 || !stderr.contains("error sending request") {
                bail!("keelson member {}: {stderr}", args.join(" "));
            }
            std::thread::sleep(Duration::from_secs(1));
        }
    }

    /// The data-dir mount of replica `node` (for filling its disk).
    pub fn data_dir(&self, node: u64) -> PathBuf {
        self.dir.join(format!("n{node}"))
    }

    /// The last `lines` lines of every replica log, for a failure report.
    pub fn logs_tail(&self, lines: usize) -> String {
        let mut out = String::new();
        for node in 1..=crate::net::SLOTS {
            let Ok(text) = std::fs::read_to_string(self.dir.join(format!("n{node}.log"))) else {
                continue;
            };
            let all: Vec<&str> = text.lines().collect();
            out += &format!("--- n{node}.log (last {lines} lines) ---\n");
            for line in &all[all.len().saturating_sub(lines)..] {
                out += &without_colours(line);
                out.push('\n');
            }
        }
        out
    }

    /// Stops everything this cluster started and removes its mounts and network.
    pub fn teardown(&mut self) {
        self.net.heal().ok();
        for (_, child) in self.own.iter_mut() {
            let _ = child.kill();
            let _ = child.wait();
        }
        self.own.clear();
        stop_scripted(&self.repo, &self.dir);
        unmount(&mut self.mounts);
    }
}

/// Whether `pid`, started by cluster/local-up.sh rather than by this harness, has exited
/// with all its threads.
///
/// Its main thread turns zombie as soon as it exits, but the process's files (the data
/// dir's locks among them) stay open until its last thread is gone, which on a busy
/// machine can be a moment later: a restart in that moment would find them held. So a
/// zombie counts as gone only once /proc lists no thread of it besides the main one.
fn exited_elsewhere(pid: u32) -> bool {
    match zombie(pid) {
        None => return true,
        Some(false) => return false,
        Some(true) => {}
    }
    let main_thread = pid.to_string();
    match std::fs::read_dir(format!("/proc/{pid}/task")) {
        Ok(threads) => !threads
            .filter_map(|t| t.ok())
            .any(|t| t.file_name().to_str() != Some(main_thread.as_str())),
        Err(_) => true,
    }
}

/// Whether `pid`'s main thread is a zombie; `None` when /proc has no such process.
fn zombie(pid: u32) -> Option<bool> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    Some(stat.contains(") Z "))
}

/// `cluster/local-down.sh DIR`: stops exactly the processes DIR's pid files name.
fn stop_scripted(repo: &Path, dir: &Path) {
    let _ = Command::new(repo.join("cluster/local-down.sh"))
        .arg(dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
}

fn unmount(mounts: &mut Vec<PathBuf>) {
    for mount in mounts.drain(..) {
        let _ = Command::new("umount").arg(&mount).status();
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        self.teardown();
    }
}

/// A port for HAProxy on 127.0.0.1 that is free now; the replicas listen on their own
/// addresses, so only this one can collide.
fn free_base_port() -> Result<u16> {
    for _ in 0..50 {
        let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
        let port = listener.local_addr()?.port();
        if port < 65_000 {
            return Ok(port);
        }
    }
    bail!("no free loopback port below 65000")
}

/// `line` without the terminal colour codes (ESC [ ... m) the replicas' log lines carry.
fn without_colours(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            for code in chars.by_ref() {
                if code.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A process whose main thread has exited while another thread runs on is not gone:
    /// it still holds its files. Python's main thread leaves through pthread_exit here.
    #[test]
    fn a_process_is_gone_only_when_its_last_thread_is() {
        let script = "import ctypes, threading, time\n\
                      threading.Thread(target=time.sleep, args=(2.0,)).start()\n\
                      ctypes.CDLL(None).pthread_exit(None)\n";
        let mut child = Command::new("python3")
            .args(["-c", script])
            .spawn()
            .expect("python3 runs");
        let pid = child.id();
        let started = Instant::now();
        while zombie(pid) != Some(true) {
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "main thread never exited"
            );
            std::thread::sleep(Duration::from_millis(10));
        }
        let main_thread_gone = Instant::now();
        assert!(
            !exited_elsewhere(pid),
            "the sleeping thread is still running"
        );
        while !exited_elsewhere(pid) {
            assert!(started.elapsed() < Duration::from_secs(20), "never gone");
            std::thread::sleep(Duration::from_millis(10));
        }
        // The sleeper started before the main thread left, and sleeps 2 s.
        assert!(main_thread_gone.elapsed() >= Duration::from_millis(1500));
        child.wait().unwrap();
        assert!(exited_elsewhere(pid), "reaped");
    }

    #[test]
    fn colour_codes_are_removed_from_log_lines() {
        let line = "\u{1b}[2m2026-11-22T15:16:36Z\u{1b}[0m \u{1b}[32m INFO\u{1b}[0m ready";
        assert_eq!(
            super::without_colours(line),
            "2026-11-22T15:16:36Z  INFO ready"
        );
    }
}
