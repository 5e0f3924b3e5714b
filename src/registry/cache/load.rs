//! Building a kind's first view from storage at start (or after a snapshot install).
//!
//! Start-up time and the memory left behind both grow with the object count, so each
//! stored object is decoded once, straight into its cached form, and only the retained
//! tail of this kind's history is rebuilt as events (sharing the objects they end at).

use std::sync::Arc;

use super::event::{EventType, WatchEvent};
use super::object::CachedObject;
use super::view::KindView;
use crate::registry::descriptor::ResourceDescriptor;
use crate::registry::object::list_prefix;
use crate::storage::{Change, StateTree, StorageError, StoredValue};

/// Loads `desc`'s objects at `revision` and rebuilds the events of `history` (changes of
/// all kinds with revision ≤ `revision`, in order, starting right after `history_start`)
/// that this kind keeps: its last `history_limit`.
pub fn load_view(
    desc: &'static ResourceDescriptor,
    state: &StateTree,
    revision: u64,
    history_start: u64,
    history: &[Change],
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
    let mut stored = state.objects(&prefix);
    loop {
        let chunk = stored
            .by_ref()
            .take(LOAD_CHUNK)
            .collect::<Result<Vec<_>, _>>()?;
        if chunk.is_empty() {
            break;
        }
        for (key, built) in build_chunk(desc, chunk, workers) {
            match built {
                Ok(object) => {
                    view.objects.insert(key, Arc::new(object));
                }
                Err(e) => {
                    tracing::error!(%key, error = %e, "stored value does not decode; left out of the cache")
                }
            }
        }
    }
    let mine: Vec<&Change> = history
        .iter()
        .filter(|c| c.key.starts_with(&prefix))
        .collect();
    let first_kept = mine.len().saturating_sub(history_limit.max(1));
    if let Some(last_dropped) = first_kept.checked_sub(1).and_then(|i| mine.get(i)) {
        view.history_start = last_dropped.revision;
    }
    for change in &mine[first_kept..] {
        if let Some(event) = replayed_event(desc, &view, change) {
            view.history.push_back(event);
        }
    }
    Ok(view)
}

/// Stored objects read and decoded per round: few enough that the raw values of a round
/// cost little memory, many enough that starting the decoding threads is noise.
const LOAD_CHUNK: usize = 4096;

/// Decodes `chunk` into cached objects on `workers` threads: this decode is most of a
/// start with many objects, and nothing else runs while it does.
fn build_chunk(
    desc: &'static ResourceDescriptor,
    chunk: Vec<(String, StoredValue)>,
    workers: usize,
) -> Vec<(String, Result<CachedObject, String>)> {
    let build = |part: &[(String, StoredValue)]| -> Vec<(String, Result<CachedObject, String>)> {
        part.iter()
            .map(|(key, stored)| {
                let built = CachedObject::build(desc, key, stored.revision, &stored.value)
                    .map_err(|e| e.to_string());
                (key.clone(), built)
            })
            .collect()
    };
    if workers < 2 || chunk.len() < 2 * workers {
        return build(&chunk);
    }
    let per_worker = chunk.len().div_ceil(workers);
    std::thread::scope(|scope| {
        let handles: Vec<_> = chunk
            .chunks(per_worker)
            .map(|part| (part, scope.spawn(move || build(part))))
            .collect();
        handles
            .into_iter()
            .flat_map(|(part, handle)| {
                handle.join().unwrap_or_else(|_| {
                    part.iter()
                        .map(|(key, _)| (key.clone(), Err("decoding thread panicked".into())))
                        .collect()
                })
            })
            .collect()
    })
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
