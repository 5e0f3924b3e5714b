//! Coalesces concurrent proposals into one log entry.
//!
//! Every write waits for one Raft append, one flush and one apply. Proposed one by one,
//! those per-entry costs bound throughput no matter how many clients write. The batcher
//! queues proposals, and whenever a slot for an entry in flight is free it takes
//! everything queued (up to a bound) as one `Batch`; the results come back in order and
//! are handed to each caller. A command's precondition still applies to that command only.

use std::sync::Arc;

use keelson_proto::{Batch, BatchResult};
use openraft::error::{ClientWriteError, RaftError};
use tokio::sync::{mpsc, oneshot, Semaphore};
use tracing::Instrument;

use super::types::Raft;
use super::ConsensusError;

/// Proposals waiting for an entry; callers wait here when it is full.
const QUEUE_DEPTH: usize = 4096;
/// Bounds of one entry.
const MAX_COMMANDS: usize = 512;
const MAX_BYTES: usize = 4 * 1024 * 1024;
/// Entries proposed and not yet applied at once (Raft pipelines them).
const IN_FLIGHT: usize = 4;

struct Proposal {
    batch: Batch,
    reply: oneshot::Sender<Result<BatchResult, ConsensusError>>,
}

#[derive(Clone)]
pub struct Batcher {
    queue: mpsc::Sender<Proposal>,
}

impl Batcher {
    pub fn start(raft: Raft) -> Self {
        let (queue, pending) = mpsc::channel(QUEUE_DEPTH);
        tokio::spawn(run(raft, pending));
        Self { queue }
    }

    /// Proposes `batch` in the next entry and returns its results.
    pub async fn propose(&self, batch: Batch) -> Result<BatchResult, ConsensusError> {
        let (reply, result) = oneshot::channel();
        let stopped = || ConsensusError::Stopped("the proposal batcher stopped".into());
        self.queue
            .send(Proposal { batch, reply })
            .await
            .map_err(|_| stopped())?;
        result.await.map_err(|_| stopped())?
    }
}

fn size(batch: &Batch) -> usize {
    batch.commands.iter().map(|c| c.key().len() + 64).sum()
}

async fn run(raft: Raft, mut pending: mpsc::Receiver<Proposal>) {
    let slots = Arc::new(Semaphore::new(IN_FLIGHT));
    while let Some(first) = pending.recv().await {
        // While every slot is busy, more proposals queue up and join this entry.
        let Ok(slot) = slots.clone().acquire_owned().await else {
            return;
        };
        let (mut commands, mut bytes) = (first.batch.commands.len(), size(&first.batch));
        let mut group = vec![first];
        while commands < MAX_COMMANDS && bytes < MAX_BYTES {
            let Ok(next) = pending.try_recv() else { break };
            commands += next.batch.commands.len();
            bytes += size(&next.batch);
            group.push(next);
        }
        let raft = raft.clone();
        tokio::spawn(async move {
            write_group(&raft, group).await;
            drop(slot);
        });
    }
}

async fn write_group(raft: &Raft, mut group: Vec<Proposal>) {
    let counts: Vec<usize> = group.iter().map(|p| p.batch.commands.len()).collect();
    let commands = group
        .iter_mut()
        .flat_map(|p| std::mem::take(&mut p.batch.commands))
        .collect();
    let span = tracing::debug_span!("raft.propose", proposals = group.len());
    let written = raft.client_write(Batch { commands }).instrument(span).await;
    let result = match written {
        Ok(response) => Ok(response.data),
        Err(RaftError::APIError(ClientWriteError::ForwardToLeader(_))) => {
            Err(ConsensusError::NoLeader)
        }
        Err(RaftError::APIError(ClientWriteError::ChangeMembershipError(e))) => {
            Err(ConsensusError::Stopped(e.to_string()))
        }
        Err(RaftError::Fatal(e)) => Err(ConsensusError::Stopped(e.to_string())),
    };
    match result {
        Ok(applied) => {
            let mut results = applied.results.into_iter();
            for (proposal, count) in group.into_iter().zip(counts) {
                let mine = BatchResult {
                    results: results.by_ref().take(count).collect(),
                };
                let _ = proposal.reply.send(Ok(mine));
            }
        }
        Err(e) => {
            for proposal in group {
                let _ = proposal.reply.send(Err(e.clone()));
            }
        }
    }
}
