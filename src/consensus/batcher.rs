//! Coalesces concurrent proposals into one log entry (on the leader).
//!
//! Every write waits for one Raft append, one flush and one apply. Proposed one by one,
//! those per-entry costs bound throughput no matter how many clients write. The batcher
//! queues proposals, local and forwarded alike, and whenever a slot for an entry in
//! flight is free it takes everything queued (up to a bound) as one [`EntryData`]; the
//! results come back one per proposal and are handed to each caller. A command's
//! precondition still applies to that command only.

use std::sync::Arc;

use keelson_proto::{BatchResult, EntryData, Proposal};
use openraft::error::{ClientWriteError, RaftError};
use tokio::sync::{mpsc, oneshot, Semaphore};
use tracing::Instrument;

use super::types::{NodeId, Raft};

/// Proposals waiting for an entry; callers wait here when it is full.
const QUEUE_DEPTH: usize = 4096;
/// Bounds of one entry.
const MAX_COMMANDS: usize = 512;
const MAX_BYTES: usize = 4 * 1024 * 1024;
/// Entries proposed and not yet applied at once (Raft pipelines them).
const IN_FLIGHT: usize = 4;

/// Why a proposal got no result. Either way it may not have been applied yet, or may
/// still be: a retry must carry the same request id.
#[derive(Clone, Debug, thiserror::Error)]
pub enum ProposeError {
    #[error("this replica is not the Raft leader")]
    NotLeader { leader: Option<NodeId> },
    #[error("the Raft node failed the proposal: {0}")]
    Failed(String),
}

struct Queued {
    proposal: Proposal,
    reply: oneshot::Sender<Result<BatchResult, ProposeError>>,
}

#[derive(Clone)]
pub struct Batcher {
    queue: mpsc::Sender<Queued>,
}

impl Batcher {
    pub fn start(raft: Raft) -> Self {
        let (queue, pending) = mpsc::channel(QUEUE_DEPTH);
        tokio::spawn(run(raft, pending));
        Self { queue }
    }

    /// Proposes `proposal` in the next entry and returns its results.
    pub async fn propose(&self, proposal: Proposal) -> Result<BatchResult, ProposeError> {
        let (reply, result) = oneshot::channel();
        let stopped = || ProposeError::Failed("the proposal batcher stopped".into());
        self.queue
            .send(Queued { proposal, reply })
            .await
            .map_err(|_| stopped())?;
        result.await.map_err(|_| stopped())?
    }
}

fn size(proposal: &Proposal) -> usize {
    let commands = &proposal.batch.commands;
    commands.iter().map(|c| c.key().len() + 64).sum()
}

async fn run(raft: Raft, mut pending: mpsc::Receiver<Queued>) {
    let slots = Arc::new(Semaphore::new(IN_FLIGHT));
    while let Some(first) = pending.recv().await {
        // While every slot is busy, more proposals queue up and join this entry.
        let Ok(slot) = slots.clone().acquire_owned().await else {
            return;
        };
        let mut commands = first.proposal.batch.commands.len();
        let mut bytes = size(&first.proposal);
        let mut group = vec![first];
        while commands < MAX_COMMANDS && bytes < MAX_BYTES {
            let Ok(next) = pending.try_recv() else { break };
            commands += next.proposal.batch.commands.len();
            bytes += size(&next.proposal);
            group.push(next);
        }
        let raft = raft.clone();
        tokio::spawn(async move {
            write_group(&raft, group).await;
            drop(slot);
        });
    }
}

async fn write_group(raft: &Raft, group: Vec<Queued>) {
    let (proposals, replies): (Vec<_>, Vec<_>) =
        group.into_iter().map(|q| (q.proposal, q.reply)).unzip();
    let span = tracing::debug_span!("raft.propose", proposals = proposals.len());
    let written = raft
        .client_write(EntryData { proposals })
        .instrument(span)
        .await;
    let result = match written {
        Ok(response) => Ok(response.data),
        Err(RaftError::APIError(ClientWriteError::ForwardToLeader(forward))) => {
            Err(ProposeError::NotLeader {
                leader: forward.leader_id,
            })
        }
        Err(RaftError::APIError(ClientWriteError::ChangeMembershipError(e))) => {
            Err(ProposeError::Failed(e.to_string()))
        }
        Err(RaftError::Fatal(e)) => Err(ProposeError::Failed(e.to_string())),
    };
    match result {
        Ok(applied) => {
            let mut results = applied.results.into_iter();
            for reply in replies {
                let _ = reply.send(Ok(results.next().unwrap_or_default()));
            }
        }
        Err(e) => {
            for reply in replies {
                let _ = reply.send(Err(e.clone()));
            }
        }
    }
}
