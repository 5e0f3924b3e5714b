//! Linearizable reads on any replica, and the readiness they imply.
//!
//! A read with resourceVersion="" must see every write acknowledged before it began. The
//! replica asks the leader for its read index (the leader confirms its leadership with a
//! quorum, then names the log index a read must include), waits until it has applied that
//! far itself, and then serves from its own cache at its applied revision. On the leader
//! the same steps run locally. Concurrent readers share rounds ([`ReadRounds`]): one
//! quorum round on the leader answers every follower and local reader that was waiting
//! when it began. A replica is ready when this succeeded at its last check.

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use keelson_proto::peer::{paths, PeerError, ReadIndexReply, ReadIndexRequest};
use openraft::error::{CheckIsLeaderError, RaftError};

use super::peer::client::{CallError, PeerClient};
use super::read_rounds::ReadRounds;
use super::types::{NodeId, Raft};
use super::{member_address, Consensus, ConsensusError};

/// How often readiness is checked, and how long one check may take.
const READINESS_PERIOD: Duration = Duration::from_millis(500);
/// How soon a replica that is not ready checks again: at start the first check usually
/// comes before the election, and waiting a whole period after it added half a second
/// to every start (docs/benchmarks.md).
const NOT_READY_RETRY: Duration = Duration::from_millis(50);
const READINESS_LIMIT: Duration = Duration::from_secs(1);
const PAUSE: Duration = Duration::from_millis(50);
/// How long one round may wait for the leader's answer.
const ROUND_LIMIT: Duration = Duration::from_secs(2);

/// The read-index rounds of one replica: served here when it leads (also for followers
/// that ask), asked of the leader when it follows.
#[derive(Clone)]
pub(super) struct ReadIndexRounds {
    served: ReadRounds<ReadIndexReply>,
    asked: ReadRounds<Option<u64>>,
}

impl ReadIndexRounds {
    pub(super) fn start(source: ReadIndexSource) -> Self {
        let served = ReadRounds::start({
            let source = source.clone();
            move || {
                let source = source.clone();
                async move { source.serve().await }
            }
        });
        let asked = ReadRounds::start(move || {
            let source = source.clone();
            async move { source.ask_leader().await }
        });
        Self { served, asked }
    }
}

/// What a read-index round needs from the node.
#[derive(Clone)]
pub(super) struct ReadIndexSource {
    pub raft: Raft,
    pub node_id: NodeId,
    pub peers: PeerClient,
    /// The term and last log index when this process started: a floor for read indexes
    /// served by a leader that resumed that term after a restart (see `serve`).
    pub restart_log_position: (u64, u64),
}

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
            let round = async {
                match self.current_leader() {
                    Some(leader) if leader == self.node_id => {
                        self.read_rounds.served.next().await?.ok()
                    }
                    Some(_) => self.read_rounds.asked.next().await.flatten(),
                    None => None,
                }
            };
            let attempt = tokio::time::timeout(remaining, round).await.ok().flatten();
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

    /// Serves a read index to a follower (leader only), sharing the next local round.
    pub async fn serve_read_index(&self) -> ReadIndexReply {
        let shared = self.read_rounds.served.next().await;
        shared.unwrap_or_else(|| Err(PeerError::Unavailable("the Raft node stopped".into())))
    }
}

// === impl ReadIndexSource ===

impl ReadIndexSource {
    /// One round on the leader: confirms leadership with a quorum and returns the log
    /// index a linearizable read must have applied.
    async fn serve(&self) -> ReadIndexReply {
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

    /// One round on a follower: the leader's read index, or `None` to retry later.
    async fn ask_leader(&self) -> Option<u64> {
        let leader = self.raft.metrics().borrow().current_leader?;
        if leader == self.node_id {
            return None; // it just became leader; the caller retries on the local path
        }
        let address = member_address(&self.raft, leader)?;
        let reply: Result<ReadIndexReply, CallError> = self
            .peers
            .call(
                &address,
                paths::READ_INDEX,
                &ReadIndexRequest {},
                ROUND_LIMIT,
            )
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
        let period = if caught_up {
            READINESS_PERIOD
        } else {
            NOT_READY_RETRY
        };
        tokio::time::sleep(period.saturating_sub(started.elapsed())).await;
    }
}
