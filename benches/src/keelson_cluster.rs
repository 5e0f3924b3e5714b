//! A three-replica keelson cluster behind HAProxy, started and stopped exactly as a
//! human does it: `cluster/local-up.sh DIR BASE` and `cluster/local-down.sh DIR`.
//! HAProxy listens on 127.0.0.1:BASE, replica i (index i-1 here) serves the API on
//! BASE+i; BASE starts a block of seven free loopback ports.
//!
//! The script's replicas are not children of this process: they are signalled only by
//! the PID in DIR/nI.pid, after checking that this PID runs with `DIR/nI` as an
//! argument. A killed replica is restarted from DIR/nI.args by this process (output
//! appended to DIR/nI.log, DIR/nI.pid updated), and is then its child. Stopping, and
//! dropping the handle, run local-down.sh (every PID in the pid files, restarted
//! replicas included) and then reap those children.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context, Result};

use crate::keelson_api::{Api, Protocol};
use crate::kubeconfig::{self, Identity};
use crate::process::{self, free_port_block, pid_runs_with_arg, signal_pid, Child};

/// Replicas in the cluster.
pub const REPLICAS: usize = 3;
/// How long local-down.sh may take (it escalates to SIGKILL after 10 s by itself).
const DOWN_LIMIT: Duration = Duration::from_secs(30);

pub struct KeelsonCluster {
    // Field order matters on drop: local-down.sh first, then the restarted children.
    down: Down,
    own: Vec<Option<Child>>,
    bin: PathBuf,
    dir: PathBuf,
    base: u16,
    identity: Identity,
    /// One client per replica for status and readiness.
    probes: Vec<Api>,
}

/// Runs local-down.sh on drop unless the cluster was stopped already.
struct Down {
    script: PathBuf,
    dir: PathBuf,
    armed: bool,
}

impl Drop for Down {
    fn drop(&mut self) {
        if self.armed {
            eprintln!("stopping the keelson cluster in {}", self.dir.display());
            let _ = Command::new("bash")
                .arg(&self.script)
                .arg(&self.dir)
                .stdin(std::process::Stdio::null())
                .output();
        }
    }
}

// === impl KeelsonCluster ===

impl KeelsonCluster {
    /// Runs `scripts`/local-up.sh on `dir` with keelson binary `bin`, for at most `limit`.
    pub async fn start(bin: &Path, scripts: &Path, dir: &Path, limit: Duration) -> Result<Self> {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        let dir = dir.canonicalize()?;
        let base = free_port_block(7)?;
        let down = Down {
            script: scripts.join("local-down.sh"),
            dir: dir.clone(),
            armed: true,
        };
        let mut cmd = Command::new("bash");
        cmd.arg(scripts.join("local-up.sh"))
            .arg(&dir)
            .arg(base.to_string())
            .env("KEELSON", bin);
        let t0 = Instant::now();
        let log = dir.join("local-up.log");
        let mut up = Child::spawn("cluster/local-up.sh", &mut cmd, &log)?;
        let status = loop {
            if let Some(s) = up.exited() {
                break s;
            }
            if t0.elapsed() > limit {
                up.kill();
                bail!(
                    "cluster/local-up.sh did not finish within {limit:?}; end of {}:\n{}",
                    log.display(),
                    up.log_tail(20)
                );
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        };
        if !status.success() {
            bail!(
                "cluster/local-up.sh failed ({status}); end of {}:\n{}",
                log.display(),
                up.log_tail(30)
            );
        }
        eprintln!(
            "keelson cluster ready in {} ms (HAProxy 127.0.0.1:{base}, replicas {}..{})",
            t0.elapsed().as_millis(),
            base + 1,
            base + REPLICAS as u16
        );
        let identity = kubeconfig::load(&dir.join("admin.kubeconfig"))?;
        let probes = (0..REPLICAS)
            .map(|i| Api::new(&identity, &replica_url(base, i)))
            .collect::<Result<Vec<_>>>()?;
        Ok(KeelsonCluster {
            down,
            own: (0..REPLICAS).map(|_| None).collect(),
            bin: bin.to_path_buf(),
            dir,
            base,
            identity,
            probes,
        })
    }

    /// A new client (its own connection) through HAProxy.
    pub fn client(&self) -> Result<Api> {
        self.client_with(Protocol::Http1)
    }

    /// A new client speaking `protocol` through the load balancer.
    pub fn client_with(&self, protocol: Protocol) -> Result<Api> {
        Api::with_protocol(
            &self.identity,
            &format!("https://127.0.0.1:{}", self.base),
            protocol,
        )
    }

    /// A new client (its own connection) straight to replica `i`.
    pub fn replica_client(&self, i: usize) -> Result<Api> {
        Api::new(&self.identity, &replica_url(self.base, i))
    }

    /// A new client speaking `protocol` straight to replica `i`.
    pub fn replica_client_with(&self, i: usize, protocol: Protocol) -> Result<Api> {
        Api::with_protocol(&self.identity, &replica_url(self.base, i), protocol)
    }

    /// Replica `i`'s resident memory in bytes.
    pub fn rss_bytes(&self, i: usize) -> Option<u64> {
        process::rss_bytes(self.pid(i).ok()?)
    }

    /// Replica `i`'s data dir (DIR/nI).
    pub fn data_dir(&self, i: usize) -> PathBuf {
        self.dir.join(format!("n{}", i + 1))
    }

    /// CPU time used by replica `i`.
    pub fn replica_cpu_time(&self, i: usize) -> Option<Duration> {
        process::cpu_time(&self.pid(i).ok()?.to_string())
    }

    /// The index of the leader as replica `i` reports it (`None`: it knows of none).
    pub async fn leader_seen_by(&self, i: usize) -> Result<Option<usize>, String> {
        let list = self.probes[i].members().await?;
        Ok(list["leader"]
            .as_u64()
            .and_then(|id| usize::try_from(id).ok())
            .filter(|id| (1..=REPLICAS).contains(id))
            .map(|id| id - 1))
    }

    /// The leader's index, asking each replica in turn until one names a leader, for at
    /// most `limit`.
    pub async fn leader(&self, limit: Duration) -> Result<usize> {
        let t0 = Instant::now();
        let mut last = String::from("no answer");
        while t0.elapsed() < limit {
            for i in 0..REPLICAS {
                match self.leader_seen_by(i).await {
                    Ok(Some(l)) => return Ok(l),
                    Ok(None) => last = format!("n{} knows no leader", i + 1),
                    Err(e) => last = format!("n{}: {e}", i + 1),
                }
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        Err(anyhow!("no keelson leader within {limit:?} ({last})"))
    }

    /// Whether replica `i` answers GET /readyz with 200.
    pub async fn ready(&self, i: usize) -> bool {
        self.probes[i].ready().await
    }

    /// Kills replica `i` with SIGKILL and waits (at most 5 s) until it is gone.
    pub async fn kill(&mut self, i: usize) -> Result<()> {
        if let Some(mut c) = self.own[i].take() {
            c.kill();
            return Ok(());
        }
        let pid = self.pid(i)?;
        let marker = self.marker(i);
        if !pid_runs_with_arg(pid, &marker) {
            bail!("replica n{} (pid {pid}) is not running", i + 1);
        }
        signal_pid(pid, libc::SIGKILL);
        for _ in 0..500 {
            if !pid_runs_with_arg(pid, &marker) {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        bail!(
            "replica n{} (pid {pid}) still runs 5 s after SIGKILL",
            i + 1
        )
    }

    /// Starts replica `i` again from DIR/nI.args, appending to DIR/nI.log and writing
    /// DIR/nI.pid; waits until its /readyz answers 200, for at most `limit`. Returns the
    /// time from spawn to ready.
    pub async fn restart(&mut self, i: usize, limit: Duration) -> Result<Duration> {
        let n = i + 1;
        let args_file = self.dir.join(format!("n{n}.args"));
        let args: Vec<String> = std::fs::read_to_string(&args_file)
            .with_context(|| format!("reading {}", args_file.display()))?
            .lines()
            .map(str::to_string)
            .collect();
        let log = self.dir.join(format!("n{n}.log"));
        if let Ok(mut f) = std::fs::File::options().append(true).open(&log) {
            let now = humantime::format_rfc3339_seconds(std::time::SystemTime::now());
            let _ = writeln!(f, "=== keelson-bench restart after SIGKILL {now} ===");
        }
        let mut cmd = Command::new(&self.bin);
        cmd.args(&args);
        let t0 = Instant::now();
        let child = Child::spawn(&format!("keelson n{n}"), &mut cmd, &log)?;
        let pid_file = self.dir.join(format!("n{n}.pid"));
        std::fs::write(&pid_file, format!("{}\n", child.pid()))
            .with_context(|| format!("writing {}", pid_file.display()))?;
        self.own[i] = Some(child);
        while t0.elapsed() < limit {
            if let Some(e) = self.own[i].as_mut().and_then(Child::exit_error) {
                self.own[i] = None;
                return Err(e);
            }
            if self.ready(i).await {
                return Ok(t0.elapsed());
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        Err(anyhow!(
            "replica n{n} was not ready within {limit:?} of its restart; see {}",
            log.display()
        ))
    }

    /// An error naming the first replica that is not running.
    pub fn check_alive(&self) -> Result<()> {
        for i in 0..REPLICAS {
            let running = self
                .pid(i)
                .is_ok_and(|pid| pid_runs_with_arg(pid, &self.marker(i)));
            if !running {
                bail!(
                    "keelson replica n{} is not running; see {}",
                    i + 1,
                    self.dir.join(format!("n{}.log", i + 1)).display()
                );
            }
        }
        Ok(())
    }

    /// CPU time used by the three replica processes together.
    pub fn cpu_time(&self) -> Option<Duration> {
        (0..REPLICAS)
            .map(|i| process::cpu_time(&self.pid(i).ok()?.to_string()))
            .sum()
    }

    /// CPU time used by HAProxy.
    pub fn haproxy_cpu_time(&self) -> Option<Duration> {
        process::cpu_time(&self.haproxy_pid()?.to_string())
    }

    /// HAProxy's established connections to each replica's API (its health checks
    /// included, which last a few ms every 500 ms): the smallest count per replica over
    /// three looks 50 ms apart. `None` when /proc does not tell.
    pub async fn backend_connections(&self) -> Option<[usize; REPLICAS]> {
        let mut best: Option<[usize; REPLICAS]> = None;
        for _ in 0..3 {
            let now = self.backend_connections_now()?;
            best = Some(match best {
                None => now,
                Some(b) => std::array::from_fn(|i| b[i].min(now[i])),
            });
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        best
    }

    fn backend_connections_now(&self) -> Option<[usize; REPLICAS]> {
        let pid = self.haproxy_pid()?;
        let inodes: std::collections::HashSet<String> =
            std::fs::read_dir(format!("/proc/{pid}/fd"))
                .ok()?
                .flatten()
                .filter_map(|e| {
                    let link = std::fs::read_link(e.path()).ok()?;
                    let link = link.to_string_lossy();
                    Some(
                        link.strip_prefix("socket:[")?
                            .strip_suffix(']')?
                            .to_string(),
                    )
                })
                .collect();
        let table = std::fs::read_to_string("/proc/net/tcp").ok()?;
        let mut counts = [0; REPLICAS];
        for line in table.lines().skip(1) {
            let f: Vec<&str> = line.split_whitespace().collect();
            // sl local_address rem_address st ... inode (field 9); 01 is ESTABLISHED.
            let (Some(rem), Some(&"01"), Some(inode)) = (f.get(2), f.get(3), f.get(9)) else {
                continue;
            };
            let Some(port) = rem
                .split_once(':')
                .and_then(|(_, p)| u16::from_str_radix(p, 16).ok())
            else {
                continue;
            };
            let replica = usize::from(port.wrapping_sub(self.base + 1));
            if replica < REPLICAS && inodes.contains(*inode) {
                counts[replica] += 1;
            }
        }
        Some(counts)
    }

    /// Runs local-down.sh (bounded), then reaps the replicas this run restarted.
    /// Returns a complaint when something did not stop cleanly.
    pub async fn stop(&mut self, grace: Duration) -> Option<String> {
        let log = self.dir.join("local-down.log");
        let mut cmd = Command::new("bash");
        cmd.arg(&self.down.script).arg(&self.dir);
        self.down.armed = false;
        let mut complaint = None;
        match Child::spawn("cluster/local-down.sh", &mut cmd, &log) {
            Ok(mut script) => {
                let t0 = Instant::now();
                while script.exited().is_none() && t0.elapsed() < DOWN_LIMIT {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                let text = std::fs::read_to_string(&log).unwrap_or_default();
                if script.exited().is_none_or(|s| !s.success()) || text.contains("killed") {
                    complaint = Some(format!(
                        "cluster/local-down.sh: {}",
                        text.lines().collect::<Vec<_>>().join("; ")
                    ));
                }
            }
            Err(e) => complaint = Some(format!("{e:#}")),
        }
        for c in self.own.iter_mut().flatten() {
            c.stop(grace).await;
        }
        complaint
    }

    fn pid(&self, i: usize) -> Result<u32> {
        let f = self.dir.join(format!("n{}.pid", i + 1));
        let text =
            std::fs::read_to_string(&f).with_context(|| format!("reading {}", f.display()))?;
        text.trim()
            .parse()
            .with_context(|| format!("{} holds no pid", f.display()))
    }

    fn haproxy_pid(&self) -> Option<u32> {
        let pid: u32 = std::fs::read_to_string(self.dir.join("haproxy.pid"))
            .ok()?
            .trim()
            .parse()
            .ok()?;
        let cfg = self.dir.join("haproxy.cfg");
        pid_runs_with_arg(pid, &cfg.to_string_lossy()).then_some(pid)
    }

    /// The argument that names replica `i`'s process: its data dir.
    fn marker(&self, i: usize) -> String {
        self.dir
            .join(format!("n{}", i + 1))
            .to_string_lossy()
            .into_owned()
    }
}

fn replica_url(base: u16, i: usize) -> String {
    format!("https://127.0.0.1:{}", base + 1 + i as u16)
}
