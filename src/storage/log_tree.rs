//! Raft's log and its small metadata (vote, purge point, commit point), as bytes.
//!
//! Entries live under `l ++ index`; metadata under `m ++ name`. Appends become durable
//! through the group-commit [`Flusher`]; the vote is synced before its call returns, as
//! Raft requires.

use std::ops::{Bound, RangeBounds};

use super::keyspace::{index_of, indexed, named, LOG, META};
use super::{Flusher, StorageError};

#[derive(Clone)]
pub struct LogTree {
    tree: sled::Tree,
    flusher: Flusher,
}

impl LogTree {
    pub(super) fn new(tree: sled::Tree, flusher: Flusher) -> Self {
        Self { tree, flusher }
    }

    /// The encoded entries whose index falls in `range`, in order.
    pub fn entries(
        &self,
        range: impl RangeBounds<u64>,
    ) -> Result<Vec<(u64, sled::IVec)>, StorageError> {
        let start = match range.start_bound() {
            Bound::Included(&i) => i,
            Bound::Excluded(&i) => i.saturating_add(1),
            Bound::Unbounded => 0,
        };
        let mut out = Vec::new();
        for item in self
            .tree
            .range(indexed(LOG, start)..=indexed(LOG, u64::MAX))
        {
            let (key, value) = item?;
            let index = index_of(&key).ok_or_else(|| corrupt(&key))?;
            if !range.contains(&index) {
                break;
            }
            out.push((index, value));
        }
        Ok(out)
    }

    /// The last entry, if any.
    pub fn last(&self) -> Result<Option<sled::IVec>, StorageError> {
        let last = self
            .tree
            .range(indexed(LOG, 0)..=indexed(LOG, u64::MAX))
            .next_back()
            .transpose()?;
        Ok(last.map(|(_, value)| value))
    }

    /// Writes entries (not yet durable: call [`LogTree::flush_then`]).
    pub fn append(
        &self,
        entries: impl IntoIterator<Item = (u64, Vec<u8>)>,
    ) -> Result<(), StorageError> {
        let mut batch = sled::Batch::default();
        for (index, bytes) in entries {
            batch.insert(&indexed(LOG, index), bytes);
        }
        self.tree.apply_batch(batch)?;
        Ok(())
    }

    /// Removes every entry at or after `index`, durably.
    pub async fn truncate_from(&self, index: u64) -> Result<(), StorageError> {
        self.remove_range(index, u64::MAX)?;
        self.flusher.flush().await
    }

    /// Removes every entry up to and including `index`.
    pub fn purge_upto(&self, index: u64) -> Result<(), StorageError> {
        self.remove_range(0, index)
    }

    fn remove_range(&self, from: u64, to_inclusive: u64) -> Result<(), StorageError> {
        let mut batch = sled::Batch::default();
        for item in self
            .tree
            .range(indexed(LOG, from)..=indexed(LOG, to_inclusive))
        {
            let (key, _) = item?;
            batch.remove(key);
        }
        self.tree.apply_batch(batch)?;
        Ok(())
    }

    pub fn meta(&self, name: &str) -> Result<Option<sled::IVec>, StorageError> {
        Ok(self.tree.get(named(META, name))?)
    }

    /// Writes a metadata value (not yet durable).
    pub fn put_meta(&self, name: &str, value: Vec<u8>) -> Result<(), StorageError> {
        self.tree.insert(named(META, name), value)?;
        Ok(())
    }

    /// Calls `done` once everything written so far is on disk.
    pub fn flush_then(&self, done: impl FnOnce(Result<(), StorageError>) + Send + 'static) {
        self.flusher.flush_then(done)
    }

    pub async fn flush(&self) -> Result<(), StorageError> {
        self.flusher.flush().await
    }
}

fn corrupt(key: &[u8]) -> StorageError {
    StorageError::Corrupt {
        key: String::from_utf8_lossy(key).into_owned(),
        reason: "log key without an index".into(),
    }
}
