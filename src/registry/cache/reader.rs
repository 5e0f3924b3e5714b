//! The read side of a kind's cache: the published view, the event broadcast, and the
//! global applied-revision progress, shared by every request handler without locks on
//! the hot path.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use arc_swap::ArcSwap;
use tokio::sync::{broadcast, watch};

use super::event::WatchEvent;
use super::retained::Retained;
use super::view::KindView;

/// Events buffered per kind for watchers; a watcher further behind is dropped.
pub const BROADCAST_CAPACITY: usize = 4096;

/// State shared by a kind's actor (the writer) and its readers.
pub struct Shared {
    view: ArcSwap<KindView>,
    pub(super) events: broadcast::Sender<Arc<WatchEvent>>,
    retained: Mutex<Retained>,
}

impl Shared {
    pub fn new(view: KindView) -> Arc<Self> {
        let (events, _) = broadcast::channel(BROADCAST_CAPACITY);
        Arc::new(Self {
            view: ArcSwap::from_pointee(view),
            events,
            retained: Mutex::new(Retained::default()),
        })
    }

    pub fn view(&self) -> Arc<KindView> {
        self.view.load_full()
    }

    /// Makes `view` the current one (writer only).
    pub(super) fn publish(&self, view: KindView) {
        let view = Arc::new(view);
        if let Ok(mut retained) = self.retained.lock() {
            retained.remember(view.clone());
        }
        self.view.store(view);
    }
}

/// A cloneable handle for reading one kind.
#[derive(Clone)]
pub struct CacheReader {
    shared: Arc<Shared>,
    progress: watch::Receiver<u64>,
}

/// Why a read at a given revision could not be served.
#[derive(Debug, PartialEq, Eq)]
pub enum ReadError {
    /// The revision is not (or no longer) retained.
    TooOld,
    /// The cache did not reach the revision in time.
    TooNew { current: u64 },
}

impl CacheReader {
    pub fn new(shared: Arc<Shared>, progress: watch::Receiver<u64>) -> Self {
        Self { shared, progress }
    }

    /// The current view and the revision a list from it reports.
    pub fn current(&self) -> (Arc<KindView>, u64) {
        // Progress first: every event up to it is already in the view loaded after.
        let applied = *self.progress.borrow();
        let view = self.shared.view();
        let revision = applied.max(view.revision);
        (view, revision)
    }

    /// The current view once the cache has applied at least `revision`, waiting up to
    /// `limit`.
    pub async fn at_least(
        &self,
        revision: u64,
        limit: Duration,
    ) -> Result<(Arc<KindView>, u64), ReadError> {
        let mut progress = self.progress.clone();
        // `wait_for` hands back a borrow of the channel. It is dropped here, before
        // `current()` borrows again: tokio's watch lock is not reentrant, and a second
        // shared borrow on this thread waits behind the router's pending send, which
        // waits for the first borrow; every reader of the kind then hangs with them.
        let reached = tokio::time::timeout(limit, async {
            progress
                .wait_for(|applied| *applied >= revision)
                .await
                .is_ok()
        })
        .await;
        match reached {
            Ok(true) => Ok(self.current()),
            _ => Err(ReadError::TooNew {
                current: *self.progress.borrow(),
            }),
        }
    }

    /// The view exact at `revision`, from pinned or recent views.
    pub fn exact(&self, revision: u64) -> Result<Arc<KindView>, ReadError> {
        let (current, applied) = self.current();
        if revision > applied {
            return Err(ReadError::TooNew { current: applied });
        }
        let retained = self.shared.retained.lock().map_err(|_| ReadError::TooOld)?;
        retained
            .view_at(revision, &current)
            .ok_or(ReadError::TooOld)
    }

    /// Keeps `view` readable at `revision` for the following pages of a list.
    pub fn pin(&self, revision: u64, view: Arc<KindView>) {
        if let Ok(mut retained) = self.shared.retained.lock() {
            retained.pin(revision, view);
        }
    }

    /// A receiver of this kind's events from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<WatchEvent>> {
        self.shared.events.subscribe()
    }

    pub fn applied_revision(&self) -> u64 {
        *self.progress.borrow()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::mpsc;
    use std::time::Duration;

    use tokio::sync::watch;

    use super::{CacheReader, KindView, Shared};

    /// Readers waiting for a revision while the router publishes progress as fast as it
    /// can: before the fix, a reader woken by `wait_for` borrowed the channel twice and
    /// the process froze (seen in the chaos runs as a replica that never became ready).
    #[test]
    fn waiting_readers_and_a_busy_writer_never_deadlock() {
        let (done_tx, done_rx) = mpsc::channel();
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(4)
                .enable_all()
                .build()
                .expect("runtime");
            runtime.block_on(async {
                let (progress_tx, progress_rx) = watch::channel(0u64);
                let reader = CacheReader::new(Shared::new(KindView::default()), progress_rx);
                let readers: Vec<_> = (0..4)
                    .map(|_| {
                        let reader = reader.clone();
                        tokio::spawn(async move {
                            for revision in 1..=2_000u64 {
                                let _ = reader.at_least(revision, Duration::from_secs(5)).await;
                                let _ = reader.current();
                            }
                        })
                    })
                    .collect();
                let writer = tokio::task::spawn_blocking(move || {
                    for revision in 1..=200_000u64 {
                        progress_tx.send_replace(revision);
                    }
                });
                for task in readers {
                    let _ = task.await;
                }
                let _ = writer.await;
            });
            let _ = done_tx.send(());
        });
        assert!(
            done_rx.recv_timeout(Duration::from_secs(60)).is_ok(),
            "readers and the writer of the progress channel deadlocked"
        );
    }
}
