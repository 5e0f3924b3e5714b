//! Building a kind's first view from storage at start (or after a snapshot install).
//!
//! Start-up time and the memory left behind both grow with the object count, so each
//! stored object is decoded once, straight into its cached form, and only the retained
//! tail of this kind's history is rebuilt as events (sharing the objects they end at).

use std::sync::{mpsc, Arc, Mutex};

use super::event::{EventType, WatchEvent};
use super::object::CachedObject;
use super::view::KindView;
use crate::registry::descriptor::ResourceDescriptor;
use crate::registry::object::list_prefix;
use crate::storage::{Change, StateTree, StorageError, StoredChange, StoredValue};

/// Loads `desc`'s objects at `revision` and rebuilds the events of `history` (changes of
/// all kinds with revision ≤ `revision`, in order, starting right after `history_start`)
/// that this kind keeps: its last `history_limit`.
pub fn load_view(
    desc: &'static ResourceDescriptor,
    state: &StateTree,
    revision: u64,
    history_start: u64,
    history: &[StoredChange],
    history_limit: usize,
) -> Result<KindView, StorageError> {
    let prefix = list_prefix(desc.storage_prefix, None);
    let mut view = KindView {
        revision,
        history_start,
        history_limit,
        ..KindView::default()
    };
    let workers = std::thread::available_parallelism().map_or(1, |n| n.get().min(8));
    for (key, built) in build_all(desc, state.objects(&prefix), workers)? {
        match built {
            Ok(object) => {
                view.objects.insert(key, Arc::new(object));
            }
            Err(e) => {
                tracing::error!(%key, error = %e, "stored value does not decode; left out of the cache")
            }
        }
    }
    let mine: Vec<&StoredChange> = history
        .iter()
        .filter(|c| c.key.starts_with(&prefix))
        .collect();
    let first_kept = mine.len().saturating_sub(history_limit.max(1));
    if let Some(last_dropped) = first_kept.checked_sub(1).and_then(|i| mine.get(i)) {
        view.history_start = last_dropped.revision;
    }
    for stored in &mine[first_kept..] {
        let change = stored.decode()?;
        if let Some(event) = replayed_event(desc, &view, &change) {
            view.history.push_back(event);
        }
    }
    Ok(view)
}

/// Stored objects handed to a decoding thread at a time: few enough that the raw values
/// in flight cost little memory, many enough that the hand-over is noise.
const LOAD_CHUNK: usize = 4096;

/// A chunk's keys with their cached objects, or why one did not decode.
type Built = Vec<(String, Result<CachedObject, String>)>;

/// Decodes every stored object of `stored` into its cached form. Reading sled is one
/// thread's work and decoding is most of a start with many objects, so this thread reads
/// while `workers` threads decode the chunks it has read (at most two chunks wait).
fn build_all(
    desc: &'static ResourceDescriptor,
    stored: impl Iterator<Item = Result<(String, StoredValue), StorageError>>,
    workers: usize,
) -> Result<Built, StorageError> {
    let build = |chunk: Vec<(String, StoredValue)>| -> Built {
        chunk
            .into_iter()
            .map(|(key, stored)| {
                let built = CachedObject::build(desc, &key, stored.revision, &stored.value)
                    .map_err(|e| e.to_string());
                (key, built)
            })
            .collect()
    };
    let (chunks_tx, chunks_rx) = mpsc::sync_channel::<Vec<(String, StoredValue)>>(2);
    let chunks_rx = Mutex::new(chunks_rx);
    let (built_tx, built_rx) = mpsc::channel::<Built>();
    let read = std::thread::scope(|scope| {
        for _ in 0..workers.max(1) {
            let (chunks_rx, built_tx) = (&chunks_rx, built_tx.clone());
            scope.spawn(move || {
                while let Ok(Ok(chunk)) = chunks_rx.lock().map(|rx| rx.recv()) {
                    if built_tx.send(build(chunk)).is_err() {
                        break;
                    }
                }
            });
        }
        // Closing the chunk channel, after the last chunk or a read error, lets the
        // threads finish.
        send_chunks(stored, chunks_tx)
    });
    drop(built_tx);
    read?;
    Ok(built_rx.iter().flatten().collect())
}

/// Reads `stored` in chunks of [`LOAD_CHUNK`] and sends them until the end or an error.
fn send_chunks(
    mut stored: impl Iterator<Item = Result<(String, StoredValue), StorageError>>,
    chunks: mpsc::SyncSender<Vec<(String, StoredValue)>>,
) -> Result<(), StorageError> {
    loop {
        let chunk = stored
            .by_ref()
            .take(LOAD_CHUNK)
            .collect::<Result<Vec<_>, _>>()?;
        if chunk.is_empty() || chunks.send(chunk).is_err() {
            return Ok(());
        }
    }
}

/// The event `change` made, its object shared with the view when it is still current.
fn replayed_event(
    desc: &ResourceDescriptor,
    view: &KindView,
    change: &Change,
) -> Option<Arc<WatchEvent>> {
    let build = |revision: u64, bytes: &[u8]| match CachedObject::build(
        desc,
        &change.key,
        revision,
        bytes,
    ) {
        Ok(object) => Some(Arc::new(object)),
        Err(e) => {
            tracing::error!(key = %change.key, revision, error = %e, "stored history value does not decode; skipped");
            None
        }
    };
    let current = view
        .objects
        .get(&change.key)
        .filter(|o| change.value.is_some() && o.revision == change.revision)
        .cloned();
    // A delete's object is the last state, stamped with the delete's revision.
    let object = match current {
        Some(object) => object,
        None => build(
            change.revision,
            change.value.as_deref().or(change.prev.as_deref())?,
        )?,
    };
    let prev = change.prev.as_deref().and_then(|prev| build(0, prev));
    let event_type = EventType::of_write(change.value.is_none(), prev.is_some());
    Some(Arc::new(WatchEvent::new(event_type, object, prev)))
}
