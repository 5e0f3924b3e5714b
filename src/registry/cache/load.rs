//! Building a kind's first view from storage at start (or after a snapshot install).
//!
//! Start-up time and the memory left behind both grow with the object count, so each
//! stored object is decoded once, straight into its cached form, and only the retained
//! tail of this kind's history is rebuilt as events (sharing the objects they end at).
//! History records do not keep the value each change wrote (see
//! [`ChangeRecord`]): walking the tail back from its newest record finds it.

use std::collections::HashMap;
use std::sync::{mpsc, Arc, Mutex};

use super::event::{EventType, WatchEvent};
use super::object::CachedObject;
use super::view::KindView;
use crate::registry::descriptor::ResourceDescriptor;
use crate::registry::object::list_prefix;
use crate::storage::{ChangeRecord, StateTree, StorageError, StoredChange, StoredValue};

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
    let records = mine[first_kept..]
        .iter()
        .map(|stored| stored.decode())
        .collect::<Result<Vec<_>, _>>()?;
    view.history = replayed_events(desc, &view, &records).into();
    Ok(view)
}

/// Stored objects handed to a decoding thread at a time: few enough that the raw values
/// in flight cost little memory, many enough that the hand-over is noise.
const LOAD_CHUNK: usize = 4096;

/// A chunk's keys with their cached objects, or why one did not decode.
type Built = Vec<(String, Result<CachedObject, String>)>;

/// A chunk's stored values once decoded, going back to the reading thread to be freed.
type Spent = Vec<Vec<u8>>;

/// Decodes every stored object of `stored` into its cached form. Reading sled is one
/// thread's work and decoding is most of a start with many objects, so this thread reads
/// while `workers` threads decode the chunks it has read (at most two chunks wait).
///
/// The read values go back to this thread to be freed. A stored value and the cached
/// object made of it are about the same size, so were a decoding thread to free the
/// value, its allocator would hand that slot to a later cached object, and the objects
/// that stay would be spread over memory the freed values half fill. Freed by the thread
/// that allocated them, the values vacate its memory whole: a replica restarted on
/// 100,000 ConfigMaps settles 50–65 MiB lower (docs/benchmarks.md).
fn build_all(
    desc: &'static ResourceDescriptor,
    stored: impl Iterator<Item = Result<(String, StoredValue), StorageError>>,
    workers: usize,
) -> Result<Built, StorageError> {
    let build = |chunk: Vec<(String, StoredValue)>| -> (Built, Spent) {
        let mut spent = Vec::with_capacity(chunk.len());
        let built = chunk
            .into_iter()
            .map(|(key, stored)| {
                let built = CachedObject::build(desc, &key, stored.revision, &stored.value)
                    .map_err(|e| e.to_string());
                spent.push(stored.value);
                (key, built)
            })
            .collect();
        (built, spent)
    };
    let (chunks_tx, chunks_rx) = mpsc::sync_channel::<Vec<(String, StoredValue)>>(2);
    let chunks_rx = Mutex::new(chunks_rx);
    let (built_tx, built_rx) = mpsc::channel::<Built>();
    let (spent_tx, spent_rx) = mpsc::channel::<Spent>();
    let read = std::thread::scope(|scope| {
        for _ in 0..workers.max(1) {
            let (chunks_rx, built_tx, spent_tx) = (&chunks_rx, built_tx.clone(), spent_tx.clone());
            scope.spawn(move || {
                while let Ok(Ok(chunk)) = chunks_rx.lock().map(|rx| rx.recv()) {
                    let (built, spent) = build(chunk);
                    if built_tx.send(built).is_err() || spent_tx.send(spent).is_err() {
                        break;
                    }
                }
            });
        }
        drop(spent_tx);
        // Closing the chunk channel, after the last chunk or a read error, lets the
        // threads finish.
        send_chunks(stored, chunks_tx, &spent_rx)
    });
    // What is still spent is freed here, on the reading thread, as `spent_rx` drops.
    drop(spent_rx);
    drop(built_tx);
    read?;
    Ok(built_rx.iter().flatten().collect())
}

/// Reads `stored` in chunks of [`LOAD_CHUNK`] and sends them until the end or an error,
/// freeing the values the decoding threads are done with before reading more.
fn send_chunks(
    mut stored: impl Iterator<Item = Result<(String, StoredValue), StorageError>>,
    chunks: mpsc::SyncSender<Vec<(String, StoredValue)>>,
    spent: &mpsc::Receiver<Spent>,
) -> Result<(), StorageError> {
    loop {
        spent.try_iter().for_each(drop);
        let chunk = stored
            .by_ref()
            .take(LOAD_CHUNK)
            .collect::<Result<Vec<_>, _>>()?;
        if chunk.is_empty() || chunks.send(chunk).is_err() {
            return Ok(());
        }
    }
}

/// Where the value a recorded change wrote is found.
enum Written<'a> {
    /// The key changed again later: that change's `prev`.
    BeforeNext(Option<&'a [u8]>),
    /// The key's last change: the object as stored now.
    Current,
}

/// The events `records` (one kind's retained tail, in order) made. Walking back from the
/// newest, each change's value is the `prev` of the next change of its key, or the stored
/// object for a key's last change.
fn replayed_events(
    desc: &ResourceDescriptor,
    view: &KindView,
    records: &[ChangeRecord],
) -> Vec<Arc<WatchEvent>> {
    let mut next_prev: HashMap<&str, Option<&[u8]>> = HashMap::new();
    let mut events = Vec::with_capacity(records.len());
    for record in records.iter().rev() {
        let written = match next_prev.insert(&record.key, record.prev.as_deref()) {
            Some(prev) => Written::BeforeNext(prev),
            None => Written::Current,
        };
        events.extend(replayed_event(desc, view, record, written));
    }
    events.reverse();
    events
}

/// The event `record` made, its object shared with the view when it is still current.
fn replayed_event(
    desc: &ResourceDescriptor,
    view: &KindView,
    record: &ChangeRecord,
    written: Written<'_>,
) -> Option<Arc<WatchEvent>> {
    let build = |revision: u64, bytes: &[u8]| match CachedObject::build(
        desc,
        &record.key,
        revision,
        bytes,
    ) {
        Ok(object) => Some(Arc::new(object)),
        Err(e) => {
            tracing::error!(key = %record.key, revision, error = %e, "stored history value does not decode; skipped");
            None
        }
    };
    let missing = |what: &str| {
        tracing::error!(key = %record.key, revision = record.revision, "history record without {what}; its event is skipped");
        None
    };
    let object = match written {
        // A delete's object is the last state, stamped with the delete's revision.
        _ if record.deleted => match record.prev.as_deref() {
            Some(prev) => build(record.revision, prev)?,
            None => return missing("the deleted value"),
        },
        Written::BeforeNext(Some(value)) => build(record.revision, value)?,
        Written::BeforeNext(None) => {
            return missing("the value it wrote (the next change created the key)")
        }
        Written::Current => match view.objects.get(&record.key) {
            Some(object) if object.revision == record.revision => object.clone(),
            _ => return missing("the value it wrote (the stored object is of another revision)"),
        },
    };
    let prev = record.prev.as_deref().and_then(|prev| build(0, prev));
    let event_type = EventType::of_write(record.deleted, prev.is_some());
    Some(Arc::new(WatchEvent::new(event_type, object, prev)))
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use serde_json::json;

    use super::*;
    use crate::storage::{Change, DataDir, StateWrite};

    fn configmaps() -> &'static ResourceDescriptor {
        crate::kinds::catalog()
            .into_iter()
            .find(|d| d.resource == "configmaps")
            .expect("a built-in kind")
    }

    fn key(name: &str) -> String {
        format!("/registry/configmaps/ns/{name}")
    }

    /// Applies `writes` (name, value written or `None` for a delete) as revisions 1, 2, ...
    /// the way the state machine stores them, and returns the retained history.
    fn store(state: &StateTree, writes: &[(&str, Option<&str>)]) -> Vec<StoredChange> {
        let mut current: HashMap<String, Vec<u8>> = HashMap::new();
        for (revision, (name, v)) in (1..).zip(writes) {
            let value = v.map(|v| {
                let object = json!({"apiVersion": "v1", "kind": "ConfigMap",
                    "metadata": {"name": name, "namespace": "ns"}, "data": {"v": v}});
                serde_json::to_vec(&object).expect("serialises")
            });
            let change = Change {
                revision,
                key: key(name),
                prev: current.get(&key(name)).cloned(),
                value: value.clone(),
            };
            let mut write = StateWrite::default();
            match value {
                Some(value) => {
                    write.put_object(
                        &change.key,
                        &StoredValue {
                            revision,
                            value: value.clone(),
                        },
                    );
                    current.insert(change.key.clone(), value);
                }
                None => {
                    write.remove_object(&change.key);
                    current.remove(&change.key);
                }
            }
            write.record_history(&change).expect("encodes");
            state.apply(write).expect("applies");
        }
        state
            .history_after(0)
            .collect::<Result<_, _>>()
            .expect("reads the history")
    }

    /// (revision, type, the object's `data.v`, the previous object's `data.v`)
    fn seen(view: &KindView) -> Vec<(u64, &'static str, String, Option<String>)> {
        let v = |o: &CachedObject| o.decode()["data"]["v"].as_str().unwrap_or("?").to_string();
        view.history
            .iter()
            .map(|e| {
                let prev = e.prev.as_deref().map(v);
                (e.revision, e.event_type.as_str(), v(&e.object), prev)
            })
            .collect()
    }

    const WRITES: &[(&str, Option<&str>)] = &[
        ("a", Some("1")),
        ("b", Some("1")),
        ("a", Some("2")),
        ("b", None),
        ("b", Some("3")),
        ("a", Some("4")),
        ("c", Some("1")),
        ("c", None),
    ];

    /// The configmaps view loaded after [`WRITES`], keeping at most `history_limit` events.
    fn loaded_after_writes(history_limit: usize) -> KindView {
        let dir = tempfile::tempdir().expect("temp dir");
        let data = DataDir::open(dir.path()).expect("opens");
        let state = data.state_tree().expect("state tree");
        let history = store(&state, WRITES);
        load_view(configmaps(), &state, 8, 0, &history, history_limit).expect("loads")
    }

    #[test]
    fn events_carry_the_values_their_changes_wrote_though_records_do_not() {
        let view = loaded_after_writes(100);
        let s = |v: &str| v.to_string();
        assert_eq!(
            seen(&view),
            vec![
                (1, "ADDED", s("1"), None),
                (2, "ADDED", s("1"), None),
                (3, "MODIFIED", s("2"), Some(s("1"))),
                (4, "DELETED", s("1"), Some(s("1"))),
                (5, "ADDED", s("3"), None),
                (6, "MODIFIED", s("4"), Some(s("2"))),
                (7, "ADDED", s("1"), None),
                (8, "DELETED", s("1"), Some(s("1"))),
            ]
        );
        // A key's last change shares the cached object instead of building it again.
        assert!(Arc::ptr_eq(
            &view.history[5].object,
            &view.objects[&key("a")]
        ));
        assert_eq!(
            view.history[3].object.revision, 4,
            "a delete is stamped with its revision"
        );
    }

    #[test]
    fn only_the_kept_tail_is_rebuilt_and_the_window_starts_before_it() {
        let view = loaded_after_writes(3);
        let revisions: Vec<u64> = seen(&view).iter().map(|e| e.0).collect();
        assert_eq!(revisions, vec![6, 7, 8]);
        assert_eq!(view.history_start, 5);
        assert_eq!(view.objects.len(), 2, "a and b are stored, c was deleted");
    }
}
