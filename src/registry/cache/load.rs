//! Building a kind's first view from storage at start (or after a snapshot install).

use std::sync::Arc;

use super::actor::apply_change;
use super::object::CachedObject;
use super::view::KindView;
use crate::registry::descriptor::ResourceDescriptor;
use crate::registry::object::list_prefix;
use crate::storage::{Change, StateTree, StorageError};

/// Loads `desc`'s objects at `revision` and replays `history` (changes of all kinds with
/// revision ≤ `revision`, in order, starting right after `history_start`).
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
    // The history replays forward from `history_start`, so start from the objects as they
    // were then: take today's objects and undo the retained changes, newest first.
    let mut objects = std::collections::BTreeMap::new();
    for item in state.objects(&prefix) {
        let (key, stored) = item?;
        objects.insert(key, (stored.revision, Some(stored.value)));
    }
    let mine: Vec<&Change> = history
        .iter()
        .filter(|c| c.key.starts_with(&prefix))
        .collect();
    for change in mine.iter().rev() {
        objects.insert(change.key.clone(), (0, change.prev.clone()));
    }
    for (key, (stored_revision, value)) in objects {
        let Some(value) = value else { continue };
        match CachedObject::build(desc, &key, stored_revision, &value) {
            Ok(object) => {
                view.objects.insert(key, Arc::new(object));
            }
            Err(e) => {
                tracing::error!(%key, error = %e, "stored value does not decode; left out of the cache")
            }
        }
    }
    for change in mine {
        apply_change(desc, &mut view, change);
    }
    view.revision = revision;
    Ok(view)
}
