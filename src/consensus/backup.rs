//! Backups: `keelson snapshot save` and `keelson snapshot restore`, in the format Raft's
//! own snapshots use (see [`super::snapshot`]).
//!
//! Saving asks the replica for a snapshot taken now and hands out its file. Restoring
//! builds a new data dir from such a file, as etcd's `snapshot restore` does: the state at
//! the snapshot's log position, under a new membership given by the operator. Every member
//! of the restored cluster is restored from the same file with the same membership, so
//! all start at the same log position and elect a leader among themselves; watches from
//! before the restore get 410 Expired, as no change history is restored.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::time::Duration;

use openraft::storage::RaftLogStorage;
use openraft::{Membership, Vote};

use super::log_store::LogStore;
use super::membership::nodes_of;
use super::snapshot::{read_all, SnapshotFiles};
use super::state_position::snapshot_state;
use super::types::{NodeId, SnapshotMeta, StoredMembership};
use super::{Consensus, ConsensusError};
use crate::storage::keyspace::META_APPLIED;
use crate::storage::DataDir;

/// How long `snapshot save` waits for the snapshot to be written.
const SAVE_TIMEOUT: Duration = Duration::from_secs(120);

/// What a restore produced, for the operator.
pub struct Restored {
    pub objects: usize,
    pub revision: u64,
    pub log_index: u64,
}

impl Consensus {
    /// Takes a snapshot of everything applied so far and opens its file.
    pub async fn fresh_snapshot(&self) -> Result<(SnapshotMeta, tokio::fs::File), ConsensusError> {
        let applied = self.raft.metrics().borrow().last_applied;
        let stopped = |e: &dyn std::fmt::Display| ConsensusError::Stopped(e.to_string());
        self.raft
            .trigger()
            .snapshot()
            .await
            .map_err(|e| stopped(&e))?;
        self.raft
            .wait(Some(SAVE_TIMEOUT))
            .metrics(|m| m.snapshot >= applied, "snapshot taken")
            .await
            .map_err(|e| stopped(&e))?;
        self.snapshots
            .open_current()
            .await
            .map_err(|e| ConsensusError::Storage(e.to_string()))?
            .ok_or_else(|| ConsensusError::Storage("no snapshot file after taking one".into()))
    }
}

/// Builds a fresh data dir at `data` from the snapshot file `file`, with `members` (node
/// id → peer URL) as the cluster's membership.
pub async fn restore(
    file: &Path,
    data: &DataDir,
    members: &BTreeMap<NodeId, String>,
) -> Result<Restored, ConsensusError> {
    let storage = |e: &dyn std::fmt::Display| ConsensusError::Storage(e.to_string());
    let state = data.state_tree().map_err(|e| storage(&e))?;
    let log = data.log_tree().map_err(|e| storage(&e))?;
    let used = state.meta(META_APPLIED).map_err(|e| storage(&e))?.is_some()
        || log.last().map_err(|e| storage(&e))?.is_some();
    if used {
        return Err(ConsensusError::Refused(format!(
            "{} already holds a cluster's state; restore into a new, empty --data-dir",
            data.path().display()
        )));
    }
    let mut opened = tokio::fs::File::open(file)
        .await
        .map_err(|e| ConsensusError::Refused(format!("cannot open {}: {e}", file.display())))?;
    let (meta, payload) = read_all(file, &mut opened).await.map_err(|e| {
        ConsensusError::Refused(format!("{} is not a keelson snapshot: {e}", file.display()))
    })?;
    let voters: BTreeSet<NodeId> = members.keys().copied().collect();
    let nodes = nodes_of(members);
    let membership = StoredMembership::new(meta.last_log_id, Membership::new(vec![voters], nodes));
    let write =
        snapshot_state(&payload, &meta.last_log_id, &membership).map_err(|e| storage(&e))?;
    state.apply(write).map_err(|e| storage(&e))?;
    state.flush().await.map_err(|e| storage(&e))?;
    let restored_meta = SnapshotMeta {
        last_log_id: meta.last_log_id,
        last_membership: membership,
        snapshot_id: format!("{}-restored", meta.snapshot_id),
    };
    SnapshotFiles::new(data.path())
        .write(&restored_meta, &payload)
        .map_err(|e| storage(&e))?;
    // Raft compares log positions by (term, leader) before index: the restored cluster's
    // first election must be in a later term than the snapshot's last entry, or its new
    // entries would sort before the entries already applied.
    if let Some(last) = meta.last_log_id {
        let vote = Vote::new(last.leader_id.term, last.leader_id.node_id);
        LogStore::new(log)
            .save_vote(&vote)
            .await
            .map_err(|e| storage(&e))?;
    }
    Ok(Restored {
        objects: payload.objects.len(),
        revision: payload.revision,
        log_index: meta.last_log_id.map_or(0, |l| l.index),
    })
}
