//! Consensus: the Raft node that orders every write, as a library with a narrow surface.
//!
//! One file per openraft contract ([`types`], [`log_store`], [`state_machine`],
//! [`network`]); this file only wires them and offers what the registry needs: `propose`
//! a batch, read a linearizable revision, and leader information. A single node is a
//! one-member cluster: there is one code path, and high availability is adding members.

// openraft's `StorageError` is large by design and is what its storage traits return;
// boxing it at every call would only move the allocation into the hot path.
#![allow(clippy::result_large_err)]

pub mod applied;
mod batcher;
mod log_store;
mod network;
pub mod snapshot;
pub mod state_machine;
pub mod types;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use keelson_proto::{Batch, BatchResult};
use openraft::error::RaftError;
use openraft::{BasicNode, Config, SnapshotPolicy};

pub use applied::{Applied, AppliedReceiver, AppliedSender};
use log_store::LogStore;
use network::Network;
use snapshot::SnapshotFiles;
use state_machine::StateMachine;
use types::{NodeId, Raft};

use crate::storage::DataDir;

/// Errors of the consensus layer, as the registry sees them.
#[derive(Clone, Debug, thiserror::Error)]
pub enum ConsensusError {
    #[error("no Raft leader is available; retry shortly")]
    NoLeader,
    #[error("the Raft node has stopped: {0}")]
    Stopped(String),
    #[error("Raft storage failed: {0}")]
    Storage(String),
    #[error("Raft configuration is invalid: {0}")]
    Config(String),
}

/// A cloneable handle to this replica's Raft node.
#[derive(Clone)]
pub struct Consensus {
    raft: Raft,
    node_id: NodeId,
    revision: Arc<AtomicU64>,
    batcher: batcher::Batcher,
}

/// Where to put a node's Raft state and how to reach it.
pub struct ConsensusOptions {
    pub node_id: NodeId,
    pub peer_address: String,
    /// Revisions of change history kept on disk for watches that resume.
    pub history_retained: u64,
}

impl Consensus {
    /// Starts the Raft node on `data`, initialising a one-member cluster on first start.
    pub async fn start(
        opts: ConsensusOptions,
        data: &DataDir,
        sink: AppliedSender,
    ) -> Result<Self, ConsensusError> {
        let storage = |e: crate::storage::StorageError| ConsensusError::Storage(e.to_string());
        let log_store = LogStore::new(data.log_tree().map_err(storage)?);
        let state_tree = data.state_tree().map_err(storage)?;
        let state_machine = StateMachine::open(
            state_tree,
            SnapshotFiles::new(data.path()),
            sink,
            opts.history_retained,
        )
        .map_err(|e| ConsensusError::Storage(e.to_string()))?;
        let revision = state_machine.revision_handle();
        let raft = Raft::new(
            opts.node_id,
            Arc::new(raft_config()?),
            Network,
            log_store,
            state_machine,
        )
        .await
        .map_err(|e| ConsensusError::Stopped(e.to_string()))?;
        let batcher = batcher::Batcher::start(raft.clone());
        let node = Self {
            raft,
            node_id: opts.node_id,
            revision,
            batcher,
        };
        node.initialize_if_new(&opts.peer_address).await?;
        Ok(node)
    }

    async fn initialize_if_new(&self, peer_address: &str) -> Result<(), ConsensusError> {
        let initialized = self
            .raft
            .is_initialized()
            .await
            .map_err(|e| ConsensusError::Stopped(e.to_string()))?;
        if initialized {
            // A lone member need not wait out an election timeout after a restart.
            let _ = self.raft.trigger().elect().await;
            return Ok(());
        }
        let members = BTreeMap::from([(
            self.node_id,
            BasicNode {
                addr: peer_address.to_string(),
            },
        )]);
        self.raft
            .initialize(members)
            .await
            .map_err(|e| ConsensusError::Stopped(e.to_string()))
    }

    /// Appends `batch` to the log and returns each command's result once it is committed
    /// (fsynced on a quorum) and applied here.
    pub async fn propose(&self, batch: Batch) -> Result<BatchResult, ConsensusError> {
        self.batcher.propose(batch).await
    }

    /// A revision that includes every write acknowledged before this call (Raft's read
    /// index, applied locally).
    pub async fn linearizable_revision(&self) -> Result<u64, ConsensusError> {
        match self.raft.ensure_linearizable().await {
            Ok(_) => Ok(self.revision.load(Ordering::Acquire)),
            Err(RaftError::APIError(_)) => Err(ConsensusError::NoLeader),
            Err(RaftError::Fatal(e)) => Err(ConsensusError::Stopped(e.to_string())),
        }
    }

    /// Whether this replica knows a leader (for /readyz).
    pub fn has_leader(&self) -> bool {
        self.raft.metrics().borrow().current_leader.is_some()
    }

    /// Waits until this replica knows a leader, up to `limit`.
    pub async fn wait_for_leader(&self, limit: Duration) -> Result<(), ConsensusError> {
        self.raft
            .wait(Some(limit))
            .metrics(|m| m.current_leader.is_some(), "leader known")
            .await
            .map(|_| ())
            .map_err(|_| ConsensusError::NoLeader)
    }

    pub async fn shutdown(&self) {
        let _ = self.raft.shutdown().await;
    }
}

fn raft_config() -> Result<Config, ConsensusError> {
    let config = Config {
        cluster_name: "keelson".into(),
        heartbeat_interval: 100,
        election_timeout_min: 400,
        election_timeout_max: 800,
        snapshot_policy: SnapshotPolicy::LogsSinceLast(10_000),
        max_in_snapshot_log_to_keep: 1_000,
        purge_batch_size: 1_000,
        ..Default::default()
    };
    config
        .validate()
        .map_err(|e| ConsensusError::Config(e.to_string()))
}

#[cfg(test)]
mod storage_suite;
