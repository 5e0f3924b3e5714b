//! The applied-request table: what makes a retried write safe.
//!
//! A replica that forwards a write and loses the answer (the leader died after
//! committing, a connection broke) cannot know whether it was applied, so it retries with
//! the same [`RequestId`]. The state machine remembers, for every proposal applied in the
//! last [`WINDOW`] log entries, its id and its result; a proposal whose id it remembers
//! is answered with that result and not applied again. The table lives in the state tree
//! (so it survives restarts and travels in snapshots) and is pruned by log index, so
//! every replica remembers exactly the same ids.

use std::collections::{HashMap, VecDeque};

use keelson_proto::{BatchResult, RequestId};
use serde::{Deserialize, Serialize};

use crate::storage::{StateTree, StateWrite, StorageError};

/// How many log entries an applied id is remembered for. A forward is retried for at
/// most the write timeout; at the few hundred entries per second a busy leader writes
/// (many proposals share an entry), this covers well over a minute.
pub const WINDOW: u64 = 20_000;

/// What the table stores for one id.
#[derive(Debug, Serialize, Deserialize)]
struct AppliedRequest {
    index: u64,
    result: BatchResult,
}

#[derive(Debug, thiserror::Error)]
pub enum RequestTableError {
    #[error(transparent)]
    Storage(#[from] StorageError),
    #[error("applied-request record: {0}")]
    Codec(#[from] keelson_proto::CodecError),
}

/// The ids remembered, in apply order, and the results recorded by the apply step in
/// progress (not yet in the tree).
#[derive(Default)]
pub struct RequestTable {
    index_of: HashMap<RequestId, u64>,
    order: VecDeque<(u64, RequestId)>,
    pending: HashMap<RequestId, BatchResult>,
}

impl RequestTable {
    /// Reads the remembered ids back from the tree.
    pub fn load(tree: &StateTree) -> Result<Self, RequestTableError> {
        let mut table = Self::default();
        let mut loaded = Vec::new();
        for item in tree.requests() {
            let (id, bytes) = item?;
            let record: AppliedRequest = keelson_proto::decode(&bytes)?;
            loaded.push((record.index, RequestId(id)));
        }
        loaded.sort();
        for (index, id) in loaded {
            table.index_of.insert(id, index);
            table.order.push_back((index, id));
        }
        Ok(table)
    }

    /// The result of `id` if it was already applied.
    pub fn lookup(
        &self,
        tree: &StateTree,
        id: RequestId,
    ) -> Result<Option<BatchResult>, RequestTableError> {
        if let Some(result) = self.pending.get(&id) {
            return Ok(Some(result.clone()));
        }
        if !self.index_of.contains_key(&id) {
            return Ok(None);
        }
        match tree.request(id.0)? {
            Some(bytes) => Ok(Some(
                keelson_proto::decode::<AppliedRequest>(&bytes)?.result,
            )),
            None => Ok(None),
        }
    }

    /// Remembers that `id` was applied at `index` with `result`.
    pub fn record(
        &mut self,
        write: &mut StateWrite,
        index: u64,
        id: RequestId,
        result: &BatchResult,
    ) -> Result<(), RequestTableError> {
        let record = AppliedRequest {
            index,
            result: result.clone(),
        };
        write.put_request(id.0, keelson_proto::encode(&record)?);
        self.index_of.insert(id, index);
        self.order.push_back((index, id));
        self.pending.insert(id, record.result);
        Ok(())
    }

    /// Forgets ids applied more than [`WINDOW`] entries before `index`.
    pub fn prune(&mut self, write: &mut StateWrite, index: u64) {
        while let Some(&(applied_at, id)) = self.order.front() {
            if applied_at + WINDOW > index {
                break;
            }
            self.order.pop_front();
            self.index_of.remove(&id);
            write.remove_request(id.0);
        }
    }

    /// Every remembered id with the log index it was applied at, oldest first.
    pub fn remembered(&self) -> impl DoubleEndedIterator<Item = (u64, RequestId)> + '_ {
        self.order.iter().copied()
    }

    /// Called once the apply step's write is in the tree.
    pub fn settle(&mut self) {
        self.pending.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use keelson_proto::CommandResult;

    fn result(revision: u64) -> BatchResult {
        BatchResult {
            results: vec![CommandResult::Stored { revision }],
        }
    }

    #[test]
    fn remembers_within_the_window_and_forgets_after() {
        let dir = tempfile::tempdir().unwrap();
        let data = crate::storage::DataDir::open(dir.path()).unwrap();
        let tree = data.state_tree().unwrap();
        let mut table = RequestTable::default();
        let id = RequestId(7);

        let mut write = StateWrite::default();
        table.record(&mut write, 10, id, &result(3)).unwrap();
        // Seen by a later proposal of the same apply step, before the tree has it.
        assert_eq!(table.lookup(&tree, id).unwrap(), Some(result(3)));
        tree.apply(write).unwrap();
        table.settle();
        assert_eq!(table.lookup(&tree, id).unwrap(), Some(result(3)));
        assert_eq!(table.lookup(&tree, RequestId(8)).unwrap(), None);

        // A restart reads the same table back.
        let reloaded = RequestTable::load(&tree).unwrap();
        assert_eq!(reloaded.lookup(&tree, id).unwrap(), Some(result(3)));

        let mut write = StateWrite::default();
        table.prune(&mut write, 10 + WINDOW - 1);
        assert_eq!(table.order.len(), 1);
        table.prune(&mut write, 10 + WINDOW);
        tree.apply(write).unwrap();
        assert_eq!(table.lookup(&tree, id).unwrap(), None);
        assert!(RequestTable::load(&tree).unwrap().order.is_empty());
    }
}
