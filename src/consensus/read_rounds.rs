//! Read-index rounds shared by concurrent readers.
//!
//! Every linearizable read needs a read index, and obtaining one costs a quorum round
//! (on the leader) or a round trip to the leader (on a follower). Readers that arrive
//! while a round is in flight cannot use its answer — it may predate a write they must
//! see — but they can all share the next one: a round started after a reader arrived
//! covers every write acknowledged before that reader began. So at most one round is in
//! flight and one batch waits behind it, however many readers there are, as etcd's
//! read-index loop does.

use std::future::Future;

use tokio::sync::{mpsc, oneshot};

/// Readers that may queue for the next round; more wait on the channel's capacity.
const QUEUE: usize = 4096;

/// A handle to one round-running task; cloning shares the task.
#[derive(Clone)]
pub(super) struct ReadRounds<T> {
    readers: mpsc::Sender<oneshot::Sender<T>>,
}

impl<T: Clone + Send + 'static> ReadRounds<T> {
    /// Spawns the task that runs `round` once per batch of waiting readers.
    pub(super) fn start<F, Fut>(round: F) -> Self
    where
        F: Fn() -> Fut + Send + 'static,
        Fut: Future<Output = T> + Send,
    {
        let (readers, mut waiting) = mpsc::channel::<oneshot::Sender<T>>(QUEUE);
        tokio::spawn(async move {
            while let Some(first) = waiting.recv().await {
                let mut batch = vec![first];
                while let Ok(next) = waiting.try_recv() {
                    batch.push(next);
                }
                let answer = round().await;
                for reader in batch {
                    // A reader that gave up has dropped its receiver; nothing to tell it.
                    let _ = reader.send(answer.clone());
                }
            }
        });
        Self { readers }
    }

    /// The answer of a round that starts after this call; `None` if the task is gone.
    pub(super) async fn next(&self) -> Option<T> {
        let (tx, rx) = oneshot::channel();
        self.readers.send(tx).await.ok()?;
        rx.await.ok()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::sync::Arc;
    use std::time::Duration;

    use super::*;

    #[tokio::test]
    async fn concurrent_readers_share_rounds_and_each_round_starts_after_its_readers() {
        // The "write counter" stands in for the log: a round answers what it saw when
        // it started, so a reader must get at least the value it saw when it arrived.
        let writes = Arc::new(AtomicU64::new(0));
        let rounds_run = Arc::new(AtomicU64::new(0));
        let rounds = ReadRounds::start({
            let (writes, rounds_run) = (writes.clone(), rounds_run.clone());
            move || {
                let seen = writes.load(Ordering::SeqCst);
                rounds_run.fetch_add(1, Ordering::SeqCst);
                async move {
                    tokio::time::sleep(Duration::from_millis(5)).await;
                    seen
                }
            }
        });
        let mut readers = Vec::new();
        for _ in 0..200 {
            let arrived_at = writes.fetch_add(1, Ordering::SeqCst) + 1;
            let rounds = rounds.clone();
            readers.push(tokio::spawn(async move {
                let answer = rounds.next().await.unwrap_or(0);
                assert!(
                    answer >= arrived_at,
                    "answer {answer} predates {arrived_at}"
                );
            }));
            tokio::task::yield_now().await;
        }
        for reader in readers {
            reader
                .await
                .unwrap_or_else(|e| panic!("reader failed: {e}"));
        }
        let run = rounds_run.load(Ordering::SeqCst);
        assert!((1..200).contains(&run), "200 readers took {run} rounds");
    }
}
