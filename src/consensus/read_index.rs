//! Linearizable reads on any replica, and the readiness they imply.
//!
//! A read with resourceVersion="" must see every write acknowledged before it began. The
//! replica asks the leader for its read index (the leader confirms its leadership with a
//! quorum, then names the log index a read must include), waits until it has applied that
//! far itself, and then serves from its own cache at its applied revision. On the leader
//! the same steps run locally. A replica is ready when this succeeded at its last check.

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use keelson_proto::peer::{paths, PeerError, ReadIndexReply, ReadIndexRequest};
use openraft::error::{CheckIsLeaderError, RaftError};

use super::peer::client::CallError;
use super::types::NodeId;
use super::{Consensus, ConsensusError};

/// How often readiness is checked, and how long one check may take.
const READINESS_PERIOD: Duration = Duration::from_millis(500);
const READINESS_LIMIT: Duration = Duration::from_secs(1);
const PAUSE: Duration = Duration::from_millis(50);

impl Consensus {
    /// A revision that includes every write acknowledged before this call (the leader's
    /// read index, applied here), waiting up to the request timeout for a leader.
    pub async fn linearizable_revision(&self) -> Result<u64, ConsensusError> {
        if crate::planted::active(crate::planted::Bug::SkipReadIndex) {
            return Ok(self.applied_revision());
        }
        self.linearizable_revision_within(self.request_timeout)
            .await
    }

    async fn linearizable_revision_within(&self, limit: Duration) -> Result<u64, ConsensusError> {
        let deadline = Instant::now() + limit;
        let index = loop {
            let remaining = deadline.saturating_duration_since(Instant::now());
            let attempt = match self.current_leader() {
                Some(leader) if leader == self.node_id => self.serve_read_index().await.ok(),
                Some(leader) => self.ask_read_index(leader, remaining).await,
                None => None,
            };
            if let Some(index) = attempt {
                break index;
            }
            if Instant::now() + PAUSE >= deadline {
                return Err(ConsensusError::NoLeader);
            }
            tokio::time::sleep(PAUSE).await;
        };
        let remaining = deadline.saturating_duration_since(Instant::now());
        self.raft
            .wait(Some(remaining))
            .applied_index_at_least(Some(index), "read index applied")
            .await
            .map_err(|_| ConsensusError::NoLeader)?;
        Ok(self.applied_revision())
    }

    async fn ask_read_index(&self, leader: NodeId, limit: Duration) -> Option<u64> {
        let address = self.address_of(leader)?;
        let reply: Result<ReadIndexReply, CallError> = self
            .peers
            .call(&address, paths::READ_INDEX, &ReadIndexRequest {}, limit)
            .await;
        match reply {
            Ok(Ok(index)) => Some(index),
            Ok(Err(e)) => {
                tracing::debug!(error = %e, "leader refused a read index");
                None
            }
            Err(e) => {
                tracing::debug!(error = %e, "no read index from the leader");
                None
            }
        }
    }

    /// Serves a read index (leader only): confirms leadership with a quorum and returns
    /// the log index a linearizable read must have applied.
    pub async fn serve_read_index(&self) -> ReadIndexReply {
        match self.raft.get_read_log_id().await {
            // openraft's read index is max(committed, the first entry of this leader's
            // term). A leader that restarts keeps its term and its vote, but its commit
            // index starts from what it had applied, so entries acknowledged just before
            // the crash may lie above both. Everything ever committed is in the leader's
            // log, so reads also wait for the log it restarted with.
            Ok((read, _applied)) => {
                let index = read.map_or(0, |id| id.index);
                // Only for the term it resumed: a later term's first entry covers it.
                let (term, floor) = self.restart_log_position;
                let resumed = self.raft.metrics().borrow().current_term == term;
                Ok(if resumed { index.max(floor) } else { index })
            }
            Err(RaftError::APIError(CheckIsLeaderError::ForwardToLeader(f))) => {
                Err(PeerError::NotLeader {
                    leader: f.leader_id,
                })
            }
            Err(RaftError::APIError(e)) => Err(PeerError::Unavailable(e.to_string())),
            Err(RaftError::Fatal(e)) => Err(PeerError::Unavailable(e.to_string())),
        }
    }
}

/// Re-checks readiness for as long as the Raft node runs.
pub(super) async fn watch_readiness(node: Consensus) {
    loop {
        let started = Instant::now();
        let checked = node.linearizable_revision_within(READINESS_LIMIT).await;
        if let Ok(revision) = checked {
            node.ready_revision.store(revision, Ordering::Release);
        }
        let caught_up = checked.is_ok();
        if node.ready.swap(caught_up, Ordering::AcqRel) != caught_up {
            tracing::info!(ready = caught_up, "replica readiness changed");
        }
        if node.raft.metrics().borrow().running_state.is_err() {
            node.ready.store(false, Ordering::Release);
            return;
        }
        tokio::time::sleep(READINESS_PERIOD.saturating_sub(started.elapsed())).await;
    }
}
