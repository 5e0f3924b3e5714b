//! Writes from any replica: propose on the leader, forward from everywhere else.
//!
//! The replica that received a request has already run the whole API pipeline; only its
//! commands travel. Each write gets a [`RequestId`] once and keeps it through every
//! retry, so a forward whose answer was lost (leader killed after commit, connection cut)
//! can be sent again, to whichever replica leads by then, without being applied twice:
//! the state machine answers a known id with its first result. While no leader is known
//! the write waits, up to the request timeout.

use std::time::{Duration, Instant};

use keelson_proto::peer::{paths, ForwardReply, PeerError};
use keelson_proto::{Batch, BatchResult, Proposal, RequestId};
use tracing::Instrument;

use super::batcher::ProposeError;
use super::peer::client::CallError;
use super::types::NodeId;
use super::{Consensus, ConsensusError};

/// The longest one forward may wait for the leader's answer before it is retried (with
/// the same id) against whoever leads then; a paused leader must not hold writes for the
/// whole request timeout.
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(3);
/// Pauses between attempts while leadership settles.
const FIRST_PAUSE: Duration = Duration::from_millis(20);
const LONGEST_PAUSE: Duration = Duration::from_millis(200);

/// The outcome of one attempt that did not produce a result.
pub(super) enum Retry {
    /// Nothing was proposed: no leader, or the target was not the leader.
    NotSent,
    /// The proposal may have reached the log; only a retry with the same id is safe.
    MaybeApplied,
    /// Retrying cannot help.
    Fatal(ConsensusError),
}

impl Consensus {
    /// Appends `batch` to the log (through the leader) and returns each command's result
    /// once it is committed (fsynced on a quorum) and applied.
    pub async fn propose(&self, batch: Batch) -> Result<BatchResult, ConsensusError> {
        let proposal = Proposal {
            id: RequestId(uuid::Uuid::new_v4().as_u128()),
            batch,
        };
        let deadline = Instant::now() + self.request_timeout;
        let mut pause = FIRST_PAUSE;
        let mut maybe_applied = false;
        loop {
            let remaining = deadline.saturating_duration_since(Instant::now());
            let attempt = match self.current_leader() {
                Some(leader) if leader == self.node_id => self.propose_here(proposal.clone()).await,
                Some(leader) => {
                    let limit = remaining.min(ATTEMPT_TIMEOUT);
                    self.forward(leader, &proposal, limit).await
                }
                None => Err(Retry::NotSent),
            };
            match attempt {
                Ok(result) => return Ok(result),
                Err(Retry::Fatal(e)) => return Err(e),
                Err(Retry::MaybeApplied) => maybe_applied = true,
                Err(Retry::NotSent) => {}
            }
            if Instant::now() + pause >= deadline {
                return Err(if maybe_applied {
                    ConsensusError::Timeout(self.request_timeout)
                } else {
                    ConsensusError::NoLeader
                });
            }
            tokio::time::sleep(pause).await;
            pause = (pause * 2).min(LONGEST_PAUSE);
        }
    }

    async fn propose_here(&self, proposal: Proposal) -> Result<BatchResult, Retry> {
        self.batcher.propose(proposal).await.map_err(|e| match e {
            ProposeError::NotLeader { .. } => Retry::MaybeApplied,
            ProposeError::Failed(reason) => Retry::Fatal(ConsensusError::Stopped(reason)),
        })
    }

    async fn forward(
        &self,
        leader: NodeId,
        proposal: &Proposal,
        limit: Duration,
    ) -> Result<BatchResult, Retry> {
        let Some(address) = self.address_of(leader) else {
            return Err(Retry::NotSent);
        };
        let span = tracing::debug_span!("forward", leader, request = proposal.id.0);
        let reply: Result<ForwardReply, CallError> = self
            .peers
            .call(&address, paths::FORWARD, proposal, limit)
            .instrument(span)
            .await;
        match reply {
            Ok(Ok(result)) => Ok(result),
            Ok(Err(PeerError::NotLeader { .. })) => Err(Retry::NotSent),
            Ok(Err(PeerError::Unavailable(reason))) => {
                tracing::debug!(%reason, "leader could not complete a forwarded write; retrying");
                Err(Retry::MaybeApplied)
            }
            Ok(Err(PeerError::Refused(reason))) => {
                Err(Retry::Fatal(ConsensusError::Refused(reason)))
            }
            Err(CallError::Unreachable { .. }) => Err(Retry::NotSent),
            Err(e @ CallError::NoReply { .. }) => {
                tracing::debug!(error = %e, "no answer to a forwarded write; retrying with the same id");
                Err(Retry::MaybeApplied)
            }
        }
    }

    /// Serves a write forwarded by another replica (leader only).
    pub async fn serve_forward(&self, proposal: Proposal) -> ForwardReply {
        let leader = self.current_leader();
        if leader != Some(self.node_id) {
            return Err(PeerError::NotLeader { leader });
        }
        self.batcher.propose(proposal).await.map_err(|e| match e {
            ProposeError::NotLeader { leader } => PeerError::NotLeader { leader },
            ProposeError::Failed(reason) => PeerError::Unavailable(reason),
        })
    }
}
