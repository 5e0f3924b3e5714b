//! The child processes a run starts, and the measurements taken from outside them.
//!
//! Every process is spawned by us, remembered by PID and stopped by that PID: SIGTERM,
//! then SIGKILL if it has not exited in time. Dropping a [`Child`] kills it, so an
//! error or an interrupt anywhere in a run leaves nothing behind. Output goes to a log
//! file in the run's directory, whose tail is quoted when a process misbehaves.

use std::fs::File;
use std::net::{SocketAddr, TcpListener};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};

/// A process this run started.
pub struct Child {
    name: String,
    child: std::process::Child,
    log: PathBuf,
    exited: Option<ExitStatus>,
}

// === impl Child ===

impl Child {
    /// Spawns `cmd` with stdout and stderr appended to `log`.
    pub fn spawn(name: &str, cmd: &mut Command, log: &Path) -> Result<Self> {
        let out = File::options()
            .create(true)
            .append(true)
            .open(log)
            .with_context(|| format!("opening {}", log.display()))?;
        let child = cmd
            .stdin(Stdio::null())
            .stdout(out.try_clone()?)
            .stderr(out)
            .spawn()
            .with_context(|| format!("starting {name} ({:?})", cmd.get_program()))?;
        Ok(Child {
            name: name.to_string(),
            child,
            log: log.to_path_buf(),
            exited: None,
        })
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The exit status, if the process has exited.
    pub fn exited(&mut self) -> Option<ExitStatus> {
        if self.exited.is_none() {
            self.exited = self.child.try_wait().ok().flatten();
        }
        self.exited
    }

    /// Resident memory in bytes, from VmRSS in /proc/PID/status.
    pub fn rss_bytes(&self) -> Option<u64> {
        rss_bytes(self.pid())
    }

    /// CPU time used so far (user + system), from /proc/PID/stat.
    pub fn cpu_time(&self) -> Option<Duration> {
        cpu_time(&self.pid().to_string())
    }

    /// The last `n` lines of the process's log.
    pub fn log_tail(&self, n: usize) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(n)..].join("\n")
    }

    /// An error saying the process exited, with the end of its log.
    pub fn exit_error(&mut self) -> Option<anyhow::Error> {
        let status = self.exited()?;
        Some(anyhow::anyhow!(
            "{} exited ({status}); end of {}:\n{}",
            self.name,
            self.log.display(),
            self.log_tail(20)
        ))
    }

    /// Stops the process: SIGTERM, then SIGKILL after `grace`. Returns whether it
    /// exited by itself within `grace`.
    pub async fn stop(&mut self, grace: Duration) -> bool {
        if self.exited().is_some() {
            return true;
        }
        self.signal(libc::SIGTERM);
        let deadline = Instant::now() + grace;
        while Instant::now() < deadline {
            if self.exited().is_some() {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        eprintln!(
            "{} (pid {}) did not exit within {:?} of SIGTERM; sending SIGKILL",
            self.name,
            self.pid(),
            grace
        );
        self.kill();
        false
    }

    /// Sends SIGKILL (unless it has exited already) and reaps the process.
    pub fn kill(&mut self) {
        if self.exited().is_none() {
            self.signal(libc::SIGKILL);
            self.exited = self.child.wait().ok();
        }
    }

    fn signal(&self, sig: libc::c_int) {
        if let Ok(pid) = libc::pid_t::try_from(self.pid()) {
            // SAFETY: kill(2) on the PID of our own child, which we have not reaped yet.
            unsafe { libc::kill(pid, sig) };
        }
    }
}

impl Drop for Child {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Resident memory of process `pid` in bytes, from VmRSS in /proc/PID/status.
pub fn rss_bytes(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

/// CPU time (user + system) process `pid` ("self" for this one) has used.
pub fn cpu_time(pid: &str) -> Option<Duration> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name, which is in parentheses and may hold spaces.
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    // SAFETY: sysconf only reads a configuration value.
    let hz = u64::try_from(unsafe { libc::sysconf(libc::_SC_CLK_TCK) })
        .ok()
        .filter(|&h| h > 0)?;
    Some(Duration::from_micros(ticks * 1_000_000 / hz))
}

/// A loopback address with a port that was free a moment ago.
pub fn free_addr() -> Result<SocketAddr> {
    let l = TcpListener::bind("127.0.0.1:0").context("finding a free port")?;
    Ok(l.local_addr()?)
}

/// The first of `count` consecutive loopback ports that were all free a moment ago,
/// from a start in 10000..20000: below the kernel's ephemeral range (so outgoing client
/// connections do not take them while a process is down) and apart from the 20000..40000
/// the high-availability tests use. Needed where a server must come back on its port.
pub fn free_port_block(count: u16) -> Result<u16> {
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
        .subsec_nanos()
        ^ std::process::id().wrapping_mul(0x9e37_79b9);
    for attempt in 0..50u32 {
        let spread = u32::from(10_000 - count);
        let base = 10_000 + (seed.wrapping_add(attempt.wrapping_mul(7919)) % spread) as u16;
        let held: Vec<TcpListener> = (base..base + count)
            .map_while(|p| TcpListener::bind(("127.0.0.1", p)).ok())
            .collect();
        if held.len() == usize::from(count) {
            return Ok(base);
        }
    }
    anyhow::bail!("found no {count} consecutive free loopback ports in 10000..20000 in 50 tries")
}

/// Whether `pid` is a live process (not a zombie) with `arg` as one of its arguments:
/// how a process started by a script is recognised before it is signalled, so that a
/// PID reused by another program is never touched.
pub fn pid_runs_with_arg(pid: u32, arg: &str) -> bool {
    let state = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let zombie = state
        .rsplit_once(')')
        .and_then(|(_, rest)| rest.split_whitespace().next())
        .is_none_or(|s| s == "Z" || s == "X");
    if zombie {
        return false;
    }
    std::fs::read(format!("/proc/{pid}/cmdline"))
        .is_ok_and(|c| c.split(|&b| b == 0).any(|a| a == arg.as_bytes()))
}

/// Sends `sig` to `pid`.
pub fn signal_pid(pid: u32, sig: libc::c_int) {
    if let Ok(pid) = libc::pid_t::try_from(pid) {
        // SAFETY: kill(2) has no memory effects; callers pass only PIDs of processes
        // this run started (checked with `pid_runs_with_arg` or owned as a `Child`).
        unsafe { libc::kill(pid, sig) };
    }
}

/// Disk space a directory takes, as `du` counts it (allocated blocks), in bytes.
pub fn dir_size(path: &Path) -> u64 {
    let mut total = 0;
    let mut stack = vec![path.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let Ok(meta) = entry.path().symlink_metadata() else {
                continue;
            };
            total += meta.blocks() * 512;
            if meta.is_dir() {
                stack.push(entry.path());
            }
        }
    }
    total
}
