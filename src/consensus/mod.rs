//! Consensus: the Raft node that orders every write, as a library with a narrow surface.
//!
//! One file per openraft contract ([`types`], [`log_store`], [`state_machine`],
//! [`network`]), the replica protocol's transport in [`peer`], and what the registry
//! needs in one file each: [`forward`] (propose a write from any replica), [`read_index`]
//! (a linearizable revision on any replica, and readiness), [`membership`] (forming and
//! changing the cluster). This file only wires them. A single node is a one-member
//! cluster: there is one code path, and high availability is adding members.

// openraft's `StorageError` is large by design and is what its storage traits return;
// boxing it at every call would only move the allocation into the hot path.
#![allow(clippy::result_large_err)]

pub mod applied;
mod background;
pub mod backup;
mod batch_check;
mod batcher;
mod forward;
mod log_store;
pub mod membership;
mod network;
pub mod peer;
mod read_index;
mod read_rounds;
mod requests;
pub mod snapshot;
mod snapshot_builder;
pub mod state_machine;
mod state_position;
pub mod types;

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use openraft::{Config, SnapshotPolicy};

pub use applied::{Applied, AppliedReceiver, AppliedSender};
use log_store::LogStore;
pub use membership::InitialCluster;
use network::Network;
use peer::client::PeerClient;
use snapshot::SnapshotFiles;
use state_machine::StateMachine;
use types::{NodeId, Raft};

use crate::storage::DataDir;

/// Errors of the consensus layer, as the registry sees them.
#[derive(Clone, Debug, thiserror::Error)]
pub enum ConsensusError {
    #[error("no Raft leader is available; retry shortly")]
    NoLeader,
    #[error("the write was sent to the Raft leader but no result came back within {0:?}; it may or may not have been applied")]
    Timeout(Duration),
    #[error("the Raft node has stopped: {0}")]
    Stopped(String),
    #[error("Raft storage failed: {0}")]
    Storage(String),
    #[error("Raft configuration is invalid: {0}")]
    Config(String),
    #[error("{0}")]
    Refused(String),
}

/// A cloneable handle to this replica's Raft node.
#[derive(Clone)]
pub struct Consensus {
    raft: Raft,
    node_id: NodeId,
    revision: Arc<AtomicU64>,
    batcher: batcher::Batcher,
    peers: PeerClient,
    /// Whether the last readiness check succeeded, and the revision it reached.
    ready: Arc<AtomicBool>,
    ready_revision: Arc<AtomicU64>,
    request_timeout: Duration,
    snapshots: SnapshotFiles,
    read_rounds: read_index::ReadIndexRounds,
}

/// Where to put a node's Raft state and how to reach it.
pub struct ConsensusOptions {
    pub node_id: NodeId,
    /// How the cluster is formed on first start.
    pub initial_cluster: InitialCluster,
    /// Revisions of change history kept on disk for watches that resume.
    pub history_retained: u64,
    /// TLS for calls to other replicas (the peer certificate and the cluster CA).
    pub peer_tls: rustls::ClientConfig,
    /// How long a write or a linearizable read waits for a leader before it fails.
    pub request_timeout: Duration,
    /// Log entries between snapshots (etcd's `--snapshot-count`).
    pub snapshot_count: u64,
}

impl Consensus {
    /// Starts the Raft node on `data`, forming the cluster on first start as
    /// `opts.initial_cluster` says.
    pub async fn start(
        opts: ConsensusOptions,
        data: &DataDir,
        sink: AppliedSender,
    ) -> Result<Self, ConsensusError> {
        let storage = |e: crate::storage::StorageError| ConsensusError::Storage(e.to_string());
        let mut log_store = LogStore::new(data.log_tree().map_err(storage)?);
        let restart_log_position = restart_position(&mut log_store).await?;
        let state_tree = data.state_tree().map_err(storage)?;
        let snapshots = SnapshotFiles::new(data.path());
        let state_machine =
            StateMachine::open(state_tree, snapshots.clone(), sink, opts.history_retained)
                .map_err(|e| ConsensusError::Storage(e.to_string()))?;
        let revision = state_machine.revision_handle();
        let peers = PeerClient::new(opts.peer_tls)
            .map_err(|e| ConsensusError::Config(format!("peer client: {e}")))?;
        let raft = Raft::new(
            opts.node_id,
            Arc::new(raft_config(opts.node_id, opts.snapshot_count)?),
            Network::new(peers.clone()),
            log_store,
            state_machine,
        )
        .await
        .map_err(|e| ConsensusError::Stopped(e.to_string()))?;
        let batcher = batcher::Batcher::start(raft.clone());
        let read_rounds = read_index::ReadIndexRounds::start(read_index::ReadIndexSource {
            raft: raft.clone(),
            node_id: opts.node_id,
            peers: peers.clone(),
            restart_log_position,
        });
        let node = Self {
            raft,
            node_id: opts.node_id,
            revision,
            batcher,
            peers,
            ready: Arc::new(AtomicBool::new(false)),
            ready_revision: Arc::new(AtomicU64::new(0)),
            request_timeout: opts.request_timeout,
            snapshots,
            read_rounds,
        };
        node.initialize_if_new(&opts.initial_cluster).await?;
        tokio::spawn(read_index::watch_readiness(node.clone()));
        Ok(node)
    }

    pub(crate) fn raft(&self) -> &Raft {
        &self.raft
    }

    pub fn node_id(&self) -> NodeId {
        self.node_id
    }

    /// The revision of the last write applied on this replica (no read index).
    pub fn applied_revision(&self) -> u64 {
        self.revision.load(Ordering::Acquire)
    }

    /// When this replica had a leader and had applied up to the leader's read index at its
    /// last check (for /readyz): the revision it had reached then. The caches serve reads,
    /// so readiness also needs them at that revision (see the raft health check).
    pub fn caught_up_at(&self) -> Option<u64> {
        self.ready
            .load(Ordering::Acquire)
            .then(|| self.ready_revision.load(Ordering::Acquire))
    }

    /// Resolves when the Raft node has stopped by itself, with the reason: a storage
    /// failure (a full disk, an I/O error) ends openraft's core, and a replica in that
    /// state can neither vote nor serve, so the process must end and be restarted.
    pub async fn stopped(&self) -> String {
        let mut metrics = self.raft.metrics();
        loop {
            if let Err(fatal) = &metrics.borrow_and_update().running_state {
                return fatal.to_string();
            }
            if metrics.changed().await.is_err() {
                return "the Raft node shut down".into();
            }
        }
    }

    pub async fn shutdown(&self) {
        let _ = self.raft.shutdown().await;
    }

    fn current_leader(&self) -> Option<NodeId> {
        self.raft.metrics().borrow().current_leader
    }

    /// The peer address of member `id`, from the membership this replica knows.
    fn address_of(&self, id: NodeId) -> Option<String> {
        member_address(&self.raft, id)
    }
}

/// The peer address of member `id` in the membership `raft` knows.
fn member_address(raft: &Raft, id: NodeId) -> Option<String> {
    let metrics = raft.metrics();
    let metrics = metrics.borrow();
    metrics
        .membership_config
        .membership()
        .get_node(&id)
        .map(|node| node.addr.clone())
}

/// The term of the stored vote and the last log index, read from storage before Raft
/// starts (its metrics are published only later).
async fn restart_position(log_store: &mut LogStore) -> Result<(u64, u64), ConsensusError> {
    use openraft::storage::RaftLogStorage;
    let storage = |e: types::RaftStorageError| ConsensusError::Storage(e.to_string());
    let last = log_store
        .get_log_state()
        .await
        .map_err(storage)?
        .last_log_id;
    let vote = log_store.read_vote().await.map_err(storage)?;
    Ok((
        vote.map_or(0, |v| v.leader_id.term),
        last.map_or(0, |id| id.index),
    ))
}

/// Log entries between snapshots by default.
pub const DEFAULT_SNAPSHOT_COUNT: u64 = 10_000;

/// The entries between snapshots on replica `node_id`: `snapshot_count`, stretched by an
/// eighth per id modulo five, so that replicas which applied the same log do not all
/// stop to build a snapshot at the same index (at 64 clients, three replicas snapshotting
/// at once halved the cluster's write rate; docs/benchmarks.md).
fn snapshot_period(node_id: NodeId, snapshot_count: u64) -> u64 {
    let count = snapshot_count.max(1);
    count + count * (node_id.saturating_sub(1) % 5) / 8
}

fn raft_config(node_id: NodeId, snapshot_count: u64) -> Result<Config, ConsensusError> {
    let config = Config {
        cluster_name: "keelson".into(),
        heartbeat_interval: 100,
        election_timeout_min: 400,
        election_timeout_max: 800,
        // Bounds one append-entries message (see the peer server's body limit).
        max_payload_entries: 32,
        snapshot_policy: SnapshotPolicy::LogsSinceLast(snapshot_period(node_id, snapshot_count)),
        // Entries kept behind a snapshot, so a member a little behind still catches up
        // from the log instead of a whole snapshot.
        max_in_snapshot_log_to_keep: (snapshot_count / 10).min(1_000),
        purge_batch_size: (snapshot_count / 10).clamp(1, 1_000),
        ..Default::default()
    };
    config
        .validate()
        .map_err(|e| ConsensusError::Config(e.to_string()))
}

#[cfg(test)]
mod storage_suite;

#[cfg(test)]
mod tests {
    use super::snapshot_period;

    #[test]
    fn replicas_snapshot_at_different_periods() {
        let periods: Vec<u64> = (1..=3).map(|id| snapshot_period(id, 10_000)).collect();
        assert_eq!(periods, [10_000, 11_250, 12_500]);
        assert_eq!(snapshot_period(1, 0), 1, "a zero count still snapshots");
    }
}
