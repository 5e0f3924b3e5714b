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
        let reached =
            tokio::time::timeout(limit, progress.wait_for(|applied| *applied >= revision)).await;
        match reached {
            Ok(Ok(_)) => Ok(self.current()),
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
