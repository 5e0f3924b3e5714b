//! openraft's log storage contract over [`LogTree`].
//!
//! `append` writes the entries and returns at once; the group-commit flusher reports them
//! durable to Raft, which only then counts them toward the commit index. A client hears
//! success after commit, so every acknowledged write is fsynced on a quorum.

use std::fmt::Debug;
use std::ops::RangeBounds;

use openraft::storage::{LogFlushed, LogState, RaftLogStorage};
use openraft::{ErrorSubject, ErrorVerb, OptionalSend, RaftLogReader, StorageIOError, Vote};

use super::types::{LogId, NodeId, RaftStorageError, TypeConfig};
use crate::storage::keyspace::{META_PURGED, META_VOTE};
use crate::storage::LogTree;

type Entry = openraft::Entry<TypeConfig>;

#[derive(Clone)]
pub struct LogStore {
    tree: LogTree,
}

impl LogStore {
    pub fn new(tree: LogTree) -> Self {
        Self { tree }
    }

    fn meta<T: serde::de::DeserializeOwned>(
        &self,
        name: &str,
        subject: ErrorSubject<NodeId>,
    ) -> Result<Option<T>, RaftStorageError> {
        let bytes = self
            .tree
            .meta(name)
            .map_err(|e| io_error(subject.clone(), ErrorVerb::Read, &e))?;
        bytes
            .map(|b| keelson_proto::decode(&b).map_err(|e| io_error(subject, ErrorVerb::Read, &e)))
            .transpose()
    }

    fn put_meta<T: serde::Serialize>(
        &self,
        name: &str,
        value: &T,
        subject: ErrorSubject<NodeId>,
    ) -> Result<(), RaftStorageError> {
        let bytes = keelson_proto::encode(value)
            .map_err(|e| io_error(subject.clone(), ErrorVerb::Write, &e))?;
        self.tree
            .put_meta(name, bytes)
            .map_err(|e| io_error(subject, ErrorVerb::Write, &e))
    }
}

pub(super) fn io_error<E: std::error::Error + 'static>(
    subject: ErrorSubject<NodeId>,
    verb: ErrorVerb,
    e: &E,
) -> RaftStorageError {
    StorageIOError::new(subject, verb, openraft::AnyError::new(e)).into()
}

impl RaftLogReader<TypeConfig> for LogStore {
    async fn try_get_log_entries<RB: RangeBounds<u64> + Clone + Debug + OptionalSend>(
        &mut self,
        range: RB,
    ) -> Result<Vec<Entry>, RaftStorageError> {
        let raw = self
            .tree
            .entries(range)
            .map_err(|e| io_error(ErrorSubject::Logs, ErrorVerb::Read, &e))?;
        raw.iter()
            .map(|(_, bytes)| {
                keelson_proto::decode(bytes)
                    .map_err(|e| io_error(ErrorSubject::Logs, ErrorVerb::Read, &e))
            })
            .collect()
    }
}

impl RaftLogStorage<TypeConfig> for LogStore {
    type LogReader = Self;

    async fn get_log_state(&mut self) -> Result<LogState<TypeConfig>, RaftStorageError> {
        let last = self
            .tree
            .last()
            .map_err(|e| io_error(ErrorSubject::Logs, ErrorVerb::Read, &e))?;
        let last_log_id = match last {
            Some(bytes) => {
                let entry: Entry = keelson_proto::decode(&bytes)
                    .map_err(|e| io_error(ErrorSubject::Logs, ErrorVerb::Read, &e))?;
                Some(entry.log_id)
            }
            None => None,
        };
        let last_purged_log_id: Option<LogId> = self.meta(META_PURGED, ErrorSubject::Store)?;
        Ok(LogState {
            last_purged_log_id,
            last_log_id: last_log_id.or(last_purged_log_id),
        })
    }

    async fn get_log_reader(&mut self) -> Self::LogReader {
        self.clone()
    }

    async fn save_vote(&mut self, vote: &Vote<NodeId>) -> Result<(), RaftStorageError> {
        self.put_meta(META_VOTE, vote, ErrorSubject::Vote)?;
        self.tree
            .flush()
            .await
            .map_err(|e| io_error(ErrorSubject::Vote, ErrorVerb::Write, &e))
    }

    async fn read_vote(&mut self) -> Result<Option<Vote<NodeId>>, RaftStorageError> {
        self.meta(META_VOTE, ErrorSubject::Vote)
    }

    async fn append<I>(
        &mut self,
        entries: I,
        callback: LogFlushed<TypeConfig>,
    ) -> Result<(), RaftStorageError>
    where
        I: IntoIterator<Item = Entry> + OptionalSend,
        I::IntoIter: OptionalSend,
    {
        let mut encoded = Vec::new();
        for entry in entries {
            let bytes = keelson_proto::encode(&entry)
                .map_err(|e| io_error(ErrorSubject::Logs, ErrorVerb::Write, &e))?;
            encoded.push((entry.log_id.index, bytes));
        }
        self.tree
            .append(encoded)
            .map_err(|e| io_error(ErrorSubject::Logs, ErrorVerb::Write, &e))?;
        self.tree.flush_then(move |result| {
            callback.log_io_completed(result.map_err(std::io::Error::other))
        });
        Ok(())
    }

    async fn truncate(&mut self, log_id: LogId) -> Result<(), RaftStorageError> {
        self.tree
            .truncate_from(log_id.index)
            .await
            .map_err(|e| io_error(ErrorSubject::Logs, ErrorVerb::Delete, &e))
    }

    async fn purge(&mut self, log_id: LogId) -> Result<(), RaftStorageError> {
        // The purge point is written first: entries at or before it are ignored even if
        // removing them is cut short.
        self.put_meta(META_PURGED, &log_id, ErrorSubject::Store)?;
        self.tree
            .purge_upto(log_id.index)
            .map_err(|e| io_error(ErrorSubject::Logs, ErrorVerb::Delete, &e))
    }
}
