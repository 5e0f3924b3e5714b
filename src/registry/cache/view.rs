//! The immutable view of one kind that readers share: objects by key, recent events, and
//! the revision it reflects. The kind's actor publishes a new view after each step;
//! persistent maps make that a cheap clone.

use std::sync::Arc;

use imbl::{OrdMap, Vector};

use super::event::WatchEvent;
use super::object::CachedObject;

/// Upper bound of retained events per kind (`--watch-history` may lower it).
pub const HISTORY_PER_KIND: usize = 10_000;

#[derive(Clone, Debug, Default)]
pub struct KindView {
    /// The global revision this view is exact at (its kind's state at that revision).
    pub revision: u64,
    pub objects: OrdMap<String, Arc<CachedObject>>,
    /// Events with revision > `history_start`, in order: all of this kind's events
    /// after that point.
    pub history: Vector<Arc<WatchEvent>>,
    pub history_start: u64,
    /// How many events `history` keeps.
    pub history_limit: usize,
}

impl KindView {
    /// Objects whose key starts with `prefix` and sorts after `after`, in key order.
    pub fn range<'a>(
        &'a self,
        prefix: &'a str,
        after: Option<&'a str>,
    ) -> impl Iterator<Item = &'a Arc<CachedObject>> + 'a {
        let start = match after {
            Some(after) if after >= prefix => after.to_string(),
            _ => prefix.to_string(),
        };
        self.objects
            .range(start..)
            .skip_while(move |(k, _)| after.is_some_and(|a| k.as_str() <= a))
            .take_while(move |(k, _)| k.starts_with(prefix))
            .map(|(_, v)| v)
    }

    /// Events after `revision`, or `None` if some of them are no longer retained.
    pub fn events_after(&self, revision: u64) -> Option<Vec<Arc<WatchEvent>>> {
        if revision < self.history_start {
            return None;
        }
        Some(
            self.history
                .iter()
                .filter(|e| e.revision > revision)
                .cloned()
                .collect(),
        )
    }
}
