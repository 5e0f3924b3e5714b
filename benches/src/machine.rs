//! The facts recorded with each run: date, machine (cores, memory, CPU, kernel), the
//! keelson commit, the etcd version and the load average at the start, so that runs in
//! docs/benchmarks.md compare.

use std::path::Path;
use std::process::Command;

pub struct Facts {
    pub date: String,
    pub cores: String,
    pub memory: String,
    pub cpu: String,
    pub kernel: String,
    pub commit: String,
    pub etcd: String,
    /// The load averages when the run started (other work on the machine shows here).
    pub load: String,
}

/// Gathers the facts; anything unreadable is "unknown".
pub fn gather(repo: &Path, etcd_bin: &Path) -> Facts {
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    Facts {
        date: humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string(),
        cores: output("nproc", &[]).unwrap_or_else(unknown),
        memory: field(&meminfo, "MemTotal").unwrap_or_else(unknown),
        cpu: field(&cpuinfo, "model name").unwrap_or_else(unknown),
        kernel: std::fs::read_to_string("/proc/sys/kernel/osrelease")
            .map(|s| s.trim().to_string())
            .unwrap_or_else(|_| unknown()),
        commit: commit(repo),
        etcd: output(&etcd_bin.to_string_lossy(), &["--version"])
            .and_then(|v| v.lines().next().map(str::to_string))
            .unwrap_or_else(unknown),
        load: loadavg(),
    }
}

impl Facts {
    pub fn markdown(&self) -> String {
        format!(
            "- machine: {} cores (nproc), MemTotal {}, {}, Linux {}\n- keelson commit: {}\n- etcd: {}\n\
             - load average (1, 5, 15 min) at the start: {}\n",
            self.cores, self.memory, self.cpu, self.kernel, self.commit, self.etcd, self.load
        )
    }
}

fn commit(repo: &Path) -> String {
    let dir = repo.to_string_lossy();
    let Some(head) = output("git", &["-C", &dir, "rev-parse", "--short=12", "HEAD"]) else {
        return "none (no commit yet)".into();
    };
    let dirty = output(
        "git",
        &["-C", &dir, "status", "--porcelain", "--untracked-files=no"],
    )
    .is_some_and(|s| !s.is_empty());
    if dirty {
        format!("{head} with uncommitted changes")
    } else {
        head
    }
}

fn field(text: &str, name: &str) -> Option<String> {
    let line = text.lines().find(|l| l.starts_with(name))?;
    Some(line.split_once(':')?.1.trim().to_string())
}

fn output(program: &str, args: &[&str]) -> Option<String> {
    let out = Command::new(program).args(args).output().ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}

fn unknown() -> String {
    "unknown".into()
}

/// The 1, 5 and 15 minute load averages from /proc/loadavg, e.g. "1.93 1.90 1.83".
pub fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(unknown)
}
