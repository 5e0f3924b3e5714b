//! The faults, one named scenario each: what is broken, for how long, and how it is
//! healed. A scenario only acts on the cluster; the workload runs beside it and the
//! checkers judge the history afterwards. Each returns the moments it broke something,
//! so the report can give the unavailability that followed each fault.

use std::io::Write as _;
use std::time::Duration;

use anyhow::{bail, Context, Result};

use crate::cluster::{Cluster, READY_TIMEOUT};
use crate::workload::Recorder;

/// Every scenario, in the order `--quick` runs them.
pub const ALL: &[&str] = &[
    "kill-leader",
    "kill-follower",
    "kill-two",
    "kill-all",
    "pause-leader",
    "partition-leader",
    "partition-follower",
    "one-way-loss",
    "lossy-slow-link",
    "disk-full",
    "rolling-restart",
    "member-replace",
];

/// One injected fault: its kind (for the unavailability table) and when it began.
#[derive(Clone, Debug)]
pub struct Injection {
    pub kind: &'static str,
    pub at: u64,
    /// What exactly was done, for the summary line.
    pub detail: String,
}

/// Runs scenario `name` against `cluster`, holding each fault for `hold`.
pub async fn run(
    name: &str,
    cluster: &mut Cluster,
    recorder: &Recorder,
    hold: Duration,
    injections: &mut Vec<Injection>,
) -> Result<()> {
    let mut note = |kind: &'static str, detail: String| {
        injections.push(Injection {
            kind,
            at: recorder.now(),
            detail,
        });
    };
    let kind = ALL
        .iter()
        .copied()
        .find(|known| *known == name)
        .with_context(|| format!("unknown scenario {name:?}; known: {}", ALL.join(", ")))?;
    let leader = cluster.leader(Duration::from_secs(20)).await?;
    let follower = cluster
        .live()
        .into_iter()
        .find(|&n| n != leader)
        .context("no follower")?;
    match name {
        "kill-leader" | "kill-follower" => {
            let node = if name == "kill-leader" {
                leader
            } else {
                follower
            };
            cluster.kill9(node)?;
            note(kind, format!("kill -9 n{node}"));
            tokio::time::sleep(hold).await;
            cluster.restart(node)?;
            cluster.wait_ready(node, READY_TIMEOUT).await?;
        }
        "kill-two" => {
            cluster.kill9_all(&[leader, follower])?;
            note(
                kind,
                format!("kill -9 n{leader} and n{follower} (quorum lost)"),
            );
            tokio::time::sleep(hold).await;
            cluster.restart(leader)?;
            cluster.restart(follower)?;
            for node in [leader, follower] {
                cluster.wait_ready(node, READY_TIMEOUT).await?;
            }
        }
        "kill-all" => {
            let all = cluster.live();
            cluster.kill9_all(&all)?;
            note(kind, format!("kill -9 every replica {all:?}"));
            tokio::time::sleep(hold.min(Duration::from_secs(1))).await;
            for &node in &all {
                cluster.restart(node)?;
            }
            for &node in &all {
                cluster.wait_ready(node, READY_TIMEOUT).await?;
            }
        }
        "pause-leader" => {
            // Longer than the election timeout (400-800 ms), so the others elect a new
            // leader while the old one still believes it leads.
            cluster.signal(leader, libc::SIGSTOP)?;
            note(kind, format!("SIGSTOP n{leader} for {hold:?}"));
            tokio::time::sleep(hold.max(Duration::from_secs(2))).await;
            cluster.signal(leader, libc::SIGCONT)?;
            cluster.wait_ready(leader, READY_TIMEOUT).await?;
        }
        "partition-leader" | "partition-follower" => {
            let isolated = if name == "partition-leader" {
                leader
            } else {
                follower
            };
            for other in cluster.live() {
                if other != isolated {
                    cluster.net.partition(isolated, other)?;
                }
            }
            note(
                kind,
                format!("n{isolated} cut off from the other replicas (clients still reach it)"),
            );
            tokio::time::sleep(hold).await;
            cluster.net.heal()?;
            cluster.wait_ready(isolated, READY_TIMEOUT).await?;
        }
        "one-way-loss" => {
            cluster.net.drop_one_way(leader, follower)?;
            note(
                kind,
                format!("every packet n{leader} sends to n{follower} dropped"),
            );
            tokio::time::sleep(hold).await;
            cluster.net.heal()?;
            cluster.wait_ready(follower, READY_TIMEOUT).await?;
        }
        "lossy-slow-link" => {
            cluster.net.lossy(leader, 30)?;
            let how = cluster.net.slow(leader)?;
            note(
                kind,
                format!("n{leader}: 30% packet loss to and from its peers, {how}"),
            );
            tokio::time::sleep(hold).await;
            cluster.net.heal()?;
        }
        "disk-full" => {
            let filler = fill_disk(&cluster.data_dir(leader))?;
            note(
                kind,
                format!(
                    "n{leader}'s data dir filled ({} MiB filler)",
                    filler.1 >> 20
                ),
            );
            tokio::time::sleep(hold).await;
            std::fs::remove_file(&filler.0)?;
            // A replica that stopped on the full disk is started again, as systemd's
            // Restart=on-failure would.
            if cluster.exited(leader) {
                cluster.restart(leader)?;
            }
            cluster.wait_ready(leader, READY_TIMEOUT).await?;
        }
        "rolling-restart" => {
            for node in cluster.live() {
                cluster.stop(node)?;
                note(kind, format!("restart n{node}"));
                cluster.restart(node)?;
                cluster.wait_ready(node, READY_TIMEOUT).await?;
            }
        }
        "member-replace" => {
            let fresh = crate::net::SLOTS;
            cluster.member_remove(follower)?;
            cluster.kill9(follower)?;
            note(kind, format!("n{follower} removed, fresh n{fresh} added"));
            cluster.add_fresh_member(fresh)?;
            cluster.wait_ready(fresh, READY_TIMEOUT).await?;
        }
        other => bail!("scenario {other} is listed but has no fault (a harness bug)"),
    }
    Ok(())
}

/// Fills the filesystem holding `dir` to the last byte with a filler file; returns its
/// path and size.
fn fill_disk(dir: &std::path::Path) -> Result<(std::path::PathBuf, u64)> {
    let path = dir.join("chaos-filler");
    let mut file = std::fs::File::create(&path)?;
    let block = vec![0u8; 1 << 20];
    let mut written = 0u64;
    // Bounded by the tmpfs size; ends at the first ENOSPC.
    for _ in 0..100_000 {
        match file.write(&block) {
            Ok(0) => break,
            Ok(n) => written += n as u64,
            Err(e) if e.raw_os_error() == Some(libc::ENOSPC) => break,
            Err(e) => return Err(e.into()),
        }
    }
    // Then the last partial megabyte, page by page.
    for _ in 0..256 {
        match file.write(&block[..4096]) {
            Ok(n) if n > 0 => written += n as u64,
            _ => break,
        }
    }
    Ok((path, written))
}
