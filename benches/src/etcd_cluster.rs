//! A three-member etcd cluster started by the run: members `e1`..`e3` on loopback
//! ports from one free block (client ports first, then peer ports), data dirs
//! `e1`..`e3` under the cluster's directory, each an [`EtcdNode`] child of this process,
//! so each is stopped or killed by its own PID and nothing else is touched.
//!
//! Members are addressed by index 0..3; the leader is found with the maintenance
//! Status call (its member id) and mapped back to an index.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{anyhow, Context, Result};
use etcd_client::KvClient;

use crate::driver::Op;
use crate::etcd_node::{connect, EtcdNode};
use crate::process::free_port_block;

/// Members in the cluster.
pub const MEMBERS: usize = 3;

pub struct EtcdCluster {
    members: Vec<EtcdNode>,
    /// Raft member ids, by index, learnt from Status once the cluster is healthy.
    ids: Vec<u64>,
}

// === impl EtcdCluster ===

impl EtcdCluster {
    /// Starts three members under `dir` and waits, at most `limit`, until each is healthy.
    pub async fn start(bin: &Path, dir: &Path, limit: Duration) -> Result<Self> {
        let base = free_port_block(2 * MEMBERS as u16)?;
        let addr = |port: u16| SocketAddr::from(([127, 0, 0, 1], port));
        let names: Vec<String> = (1..=MEMBERS).map(|i| format!("e{i}")).collect();
        let initial = names
            .iter()
            .enumerate()
            .map(|(i, n)| format!("{n}=http://{}", addr(base + (MEMBERS + i) as u16)))
            .collect::<Vec<_>>()
            .join(",");
        let mut members = Vec::new();
        for (i, name) in names.iter().enumerate() {
            let mdir = dir.join(name);
            std::fs::create_dir_all(&mdir)
                .with_context(|| format!("creating {}", mdir.display()))?;
            members.push(EtcdNode::member(
                bin,
                &mdir,
                name,
                addr(base + i as u16),
                addr(base + (MEMBERS + i) as u16),
                &initial,
            ));
        }
        let t0 = Instant::now();
        for m in &mut members {
            m.spawn()?;
        }
        for m in &mut members {
            m.wait_healthy(t0, limit).await?;
        }
        eprintln!(
            "etcd cluster healthy in {} ms (clients on 127.0.0.1:{base}..{})",
            t0.elapsed().as_millis(),
            base + MEMBERS as u16 - 1
        );
        let mut ids = Vec::new();
        for m in &members {
            ids.push(m.status().await?.0);
        }
        Ok(EtcdCluster { members, ids })
    }

    pub fn member(&self, i: usize) -> &EtcdNode {
        &self.members[i]
    }

    /// Client URL of member `i`.
    pub fn url(&self, i: usize) -> String {
        self.members[i].client_url()
    }

    /// Every member's client URL, by index.
    pub fn urls(&self) -> Vec<String> {
        self.members.iter().map(EtcdNode::client_url).collect()
    }

    /// The index of the leader as member `asked` sees it (`None`: it knows of none).
    pub async fn leader_seen_by(&self, asked: usize) -> Result<Option<usize>> {
        let (_, leader) = self.members[asked].status().await?;
        Ok(self.ids.iter().position(|&id| id == leader && leader != 0))
    }

    /// The leader's index, asking each member in turn until one names a leader, for at
    /// most `limit`.
    pub async fn leader(&self, limit: Duration) -> Result<usize> {
        let t0 = Instant::now();
        let mut last = String::from("no answer");
        while t0.elapsed() < limit {
            for i in 0..MEMBERS {
                match self.leader_seen_by(i).await {
                    Ok(Some(l)) => return Ok(l),
                    Ok(None) => last = format!("e{} knows no leader", i + 1),
                    Err(e) => last = format!("e{}: {e:#}", i + 1),
                }
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        Err(anyhow!("no etcd leader within {limit:?} ({last})"))
    }

    /// A new client (its own channel) to member `i`.
    pub async fn client_to(&self, i: usize) -> Result<KvClient> {
        self.members[i].client().await
    }

    /// Kills member `i` with SIGKILL.
    pub fn kill(&mut self, i: usize) {
        self.members[i].kill();
    }

    /// Starts member `i` again on its data dir; waits until it is healthy.
    pub async fn restart(&mut self, i: usize, limit: Duration) -> Result<Duration> {
        self.members[i].start(limit).await
    }

    /// An error if a member that should be running has exited.
    pub fn check_alive(&mut self) -> Result<()> {
        self.members.iter_mut().try_for_each(EtcdNode::check_alive)
    }

    /// CPU time used by the three running processes together.
    pub fn cpu_time(&self) -> Option<Duration> {
        self.members.iter().map(EtcdNode::cpu_time).sum()
    }

    /// Stops every member; returns the names of those that needed SIGKILL.
    pub async fn stop(&mut self, grace: Duration) -> Vec<String> {
        let mut killed = Vec::new();
        for m in &mut self.members {
            if !m.stop(grace).await {
                killed.push(m.name().to_string());
            }
        }
        killed
    }
}

/// Puts `<prefix><seq>` = `value` on one member; after an error, moves to the next
/// member (a new channel) for the following put, as etcd's client fails over between
/// its endpoints.
pub struct RotatingPut {
    urls: Vec<String>,
    at: usize,
    kv: Option<KvClient>,
    prefix: String,
    value: Arc<str>,
}

impl RotatingPut {
    /// Starts on `urls[first]`.
    pub fn new(urls: Vec<String>, first: usize, prefix: String, value: Arc<str>) -> Self {
        RotatingPut {
            urls,
            at: first,
            kv: None,
            prefix,
            value,
        }
    }

    fn next_member(&mut self) {
        self.kv = None;
        self.at = (self.at + 1) % self.urls.len();
    }
}

impl Op for RotatingPut {
    async fn run(&mut self, seq: u64) -> Result<(), String> {
        let kv = match &mut self.kv {
            Some(kv) => kv,
            None => match connect(&self.urls[self.at]).await {
                Ok(c) => self.kv.insert(c.kv_client()),
                Err(e) => {
                    self.next_member();
                    return Err(format!("{e:#}"));
                }
            },
        };
        let key = format!("{}{seq:08}", self.prefix);
        match kv.put(key, self.value.as_bytes(), None).await {
            Ok(_) => Ok(()),
            Err(e) => {
                self.next_member();
                Err(e.to_string())
            }
        }
    }
}
