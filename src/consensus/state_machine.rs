//! openraft's state machine contract over [`StateTree`].
//!
//! Applying an entry runs its commands in order against the stored objects, checking each
//! precondition here, so every replica reaches the same result. Each successful write
//! takes the next revision (the resourceVersion clients see). One apply step becomes one
//! atomic storage batch: objects, history records and the applied log position together.
//! The step's changes then go to the registry, in order, over a bounded channel.
//! An entry carries proposals from any replica; a proposal whose request id was already
//! applied (a retried forward) gets its first result again, from [`RequestTable`].

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use keelson_proto::{
    Batch, BatchResult, Command, CommandResult, EntryData, EntryResult, Precondition,
};
use openraft::storage::{RaftStateMachine, Snapshot};
use openraft::{EntryPayload, ErrorSubject, ErrorVerb, OptionalSend};

use super::applied::{Applied, AppliedSender};
use super::log_store::io_error;
use super::requests::RequestTable;
use super::snapshot::{read_all, SnapshotFiles};
use super::snapshot_builder::SnapshotBuilder;
pub use super::state_position::stored_revision;
use super::state_position::{read_meta, snapshot_state, write_position};
use super::types::{LogId, RaftStorageError, SnapshotMeta, StoredMembership, TypeConfig};
use crate::storage::keyspace::{META_APPLIED, META_MEMBERSHIP, META_REVISION};
use crate::storage::{Change, StateTree, StateWrite, StoredRecords, StoredValue};

/// How many revisions of change history are kept for watches that resume, by default.
pub const DEFAULT_HISTORY_RETAINED: u64 = 50_000;

type Entry = openraft::Entry<TypeConfig>;

pub struct StateMachine {
    tree: StateTree,
    files: SnapshotFiles,
    applied: Option<LogId>,
    membership: StoredMembership,
    revision: u64,
    shared_revision: Arc<AtomicU64>,
    sink: AppliedSender,
    history_retained: u64,
    requests: RequestTable,
}

/// Values one apply step has written but not yet stored, so later commands see them.
type Overlay = HashMap<String, Option<StoredValue>>;

impl StateMachine {
    /// Opens the state machine where it last stopped.
    pub fn open(
        tree: StateTree,
        files: SnapshotFiles,
        sink: AppliedSender,
        history_retained: u64,
    ) -> Result<Self, RaftStorageError> {
        let applied = read_meta(&tree, META_APPLIED)?.flatten();
        let membership = read_meta(&tree, META_MEMBERSHIP)?.unwrap_or_default();
        let revision = read_meta(&tree, META_REVISION)?.unwrap_or(0);
        let requests = RequestTable::load(&tree)
            .map_err(|e| io_error(ErrorSubject::StateMachine, ErrorVerb::Read, &e))?;
        Ok(Self {
            tree,
            files,
            applied,
            membership,
            revision,
            shared_revision: Arc::new(AtomicU64::new(revision)),
            sink,
            history_retained: history_retained.max(1),
            requests,
        })
    }

    /// The revision of the last applied write, readable from anywhere.
    pub fn revision_handle(&self) -> Arc<AtomicU64> {
        self.shared_revision.clone()
    }

    fn current(
        &self,
        overlay: &Overlay,
        key: &str,
    ) -> Result<Option<StoredValue>, RaftStorageError> {
        if let Some(value) = overlay.get(key) {
            return Ok(value.clone());
        }
        self.tree
            .object(key)
            .map_err(|e| io_error(ErrorSubject::StateMachine, ErrorVerb::Read, &e))
    }

    /// Applies an entry's proposals in order, each at most once per request id.
    fn apply_entry(
        &mut self,
        index: u64,
        data: EntryData,
        overlay: &mut Overlay,
        write: &mut StateWrite,
        changes: &mut Vec<Change>,
    ) -> Result<EntryResult, RaftStorageError> {
        let table_err = |e| io_error(ErrorSubject::StateMachine, ErrorVerb::Write, &e);
        let mut results = Vec::with_capacity(data.proposals.len());
        for proposal in data.proposals {
            if let Some(first) = self
                .requests
                .lookup(&self.tree, proposal.id)
                .map_err(table_err)?
            {
                tracing::debug!(
                    request = proposal.id.0,
                    "request already applied; answering with its result"
                );
                results.push(first);
                continue;
            }
            let result = self.apply_batch(proposal.batch, overlay, write, changes)?;
            self.requests
                .record(write, index, proposal.id, &result)
                .map_err(table_err)?;
            results.push(result);
        }
        self.requests.prune(write, index);
        Ok(EntryResult { results })
    }

    fn apply_batch(
        &mut self,
        batch: Batch,
        overlay: &mut Overlay,
        write: &mut StateWrite,
        changes: &mut Vec<Change>,
    ) -> Result<BatchResult, RaftStorageError> {
        if batch.commands.len() > 1 {
            let mut current = Vec::with_capacity(batch.commands.len());
            for command in &batch.commands {
                current.push(self.current(overlay, command.key())?);
            }
            if let Some(results) = super::batch_check::refusal(&batch.commands, &current) {
                return Ok(BatchResult { results });
            }
        }
        let mut results = Vec::with_capacity(batch.commands.len());
        for command in batch.commands {
            let current = self.current(overlay, command.key())?;
            let (result, change) = self.decide(command, current);
            if let Some(change) = change {
                self.record(&change, overlay, write)?;
                changes.push(change);
            }
            results.push(result);
        }
        Ok(BatchResult { results })
    }

    /// The pure part of applying one command: its result and the change it makes.
    fn decide(
        &mut self,
        command: Command,
        current: Option<StoredValue>,
    ) -> (CommandResult, Option<Change>) {
        match (command, current) {
            (Command::Create { .. }, Some(_)) => (CommandResult::AlreadyExists, None),
            (Command::Create { key, value }, None) => {
                let revision = self.next_revision();
                let change = Change {
                    revision,
                    key,
                    value: Some(value),
                    prev: None,
                };
                (CommandResult::Stored { revision }, Some(change))
            }
            (Command::Update { .. } | Command::Delete { .. } | Command::Release { .. }, None) => {
                (CommandResult::NotFound, None)
            }
            (
                Command::Update { precondition, .. } | Command::Delete { precondition, .. },
                Some(current),
            ) if !holds(&precondition, &current) => (
                CommandResult::Conflict {
                    revision: current.revision,
                },
                None,
            ),
            (Command::Update { key, value, .. }, Some(current)) => {
                let revision = self.next_revision();
                let change = Change {
                    revision,
                    key,
                    value: Some(value),
                    prev: Some(current.value),
                };
                (CommandResult::Stored { revision }, Some(change))
            }
            (Command::Delete { key, .. } | Command::Release { key }, Some(current)) => {
                let revision = self.next_revision();
                let result = CommandResult::Deleted {
                    revision,
                    value: current.value.clone(),
                };
                (
                    result,
                    Some(Change {
                        revision,
                        key,
                        value: None,
                        prev: Some(current.value),
                    }),
                )
            }
        }
    }

    fn next_revision(&mut self) -> u64 {
        self.revision += 1;
        self.revision
    }

    fn record(
        &self,
        change: &Change,
        overlay: &mut Overlay,
        write: &mut StateWrite,
    ) -> Result<(), RaftStorageError> {
        let stored = change.value.as_ref().map(|value| StoredValue {
            revision: change.revision,
            value: value.clone(),
        });
        match &stored {
            Some(stored) => write.put_object(&change.key, stored),
            None => write.remove_object(&change.key),
        }
        overlay.insert(change.key.clone(), stored);
        write
            .record_history(change)
            .map_err(|e| io_error(ErrorSubject::StateMachine, ErrorVerb::Write, &e))?;
        if change.revision > self.history_retained {
            write.forget_history(change.revision - self.history_retained);
        }
        Ok(())
    }

    fn write_position(&self, write: &mut StateWrite) -> Result<(), RaftStorageError> {
        write_position(write, &self.applied, &self.membership, self.revision)
    }

    async fn publish(&self, applied: Applied) {
        self.shared_revision.store(self.revision, Ordering::Release);
        if self.sink.send(applied).await.is_err() {
            tracing::warn!("the registry stopped listening to applied changes");
        }
    }

    /// Every stored record, read while no apply runs, so it matches `self.applied`.
    fn collect_records(&self) -> Result<StoredRecords, RaftStorageError> {
        self.tree
            .records()
            .map_err(|e| io_error(ErrorSubject::StateMachine, ErrorVerb::Read, &e))
    }
}

pub(super) fn holds(precondition: &Precondition, current: &StoredValue) -> bool {
    precondition
        .revision
        .is_none_or(|expected| expected == current.revision)
}

impl RaftStateMachine<TypeConfig> for StateMachine {
    type SnapshotBuilder = SnapshotBuilder;

    async fn applied_state(
        &mut self,
    ) -> Result<(Option<LogId>, StoredMembership), RaftStorageError> {
        Ok((self.applied, self.membership.clone()))
    }

    async fn apply<I>(&mut self, entries: I) -> Result<Vec<EntryResult>, RaftStorageError>
    where
        I: IntoIterator<Item = Entry> + OptionalSend,
        I::IntoIter: OptionalSend,
    {
        let span = tracing::debug_span!("apply");
        let entered = span.enter();
        let mut overlay = Overlay::new();
        let mut write = StateWrite::default();
        let mut changes = Vec::new();
        let mut responses = Vec::new();
        for entry in entries {
            self.applied = Some(entry.log_id);
            let response = match entry.payload {
                EntryPayload::Blank => EntryResult::default(),
                EntryPayload::Normal(data) => self.apply_entry(
                    entry.log_id.index,
                    data,
                    &mut overlay,
                    &mut write,
                    &mut changes,
                )?,
                EntryPayload::Membership(membership) => {
                    self.membership = StoredMembership::new(Some(entry.log_id), membership);
                    EntryResult::default()
                }
            };
            responses.push(response);
        }
        self.write_position(&mut write)?;
        self.tree
            .apply(write)
            .map_err(|e| io_error(ErrorSubject::StateMachine, ErrorVerb::Write, &e))?;
        self.requests.settle();
        // The span covers the synchronous part only; publishing awaits the registry.
        drop(entered);
        if !changes.is_empty() {
            self.publish(Applied::Changes(Arc::new(changes))).await;
        }
        Ok(responses)
    }

    async fn get_snapshot_builder(&mut self) -> SnapshotBuilder {
        let meta = SnapshotMeta {
            last_log_id: self.applied,
            last_membership: self.membership.clone(),
            snapshot_id: format!(
                "{}-{}",
                self.applied.map(|l| l.index).unwrap_or(0),
                self.revision
            ),
        };
        SnapshotBuilder {
            files: self.files.clone(),
            meta,
            state: Some(
                self.collect_records()
                    .map(|records| (self.revision, records)),
            ),
        }
    }

    async fn begin_receiving_snapshot(&mut self) -> Result<Box<tokio::fs::File>, RaftStorageError> {
        let file = self
            .files
            .begin_incoming()
            .await
            .map_err(|e| io_error(ErrorSubject::Snapshot(None), ErrorVerb::Write, &e))?;
        Ok(Box::new(file))
    }

    async fn install_snapshot(
        &mut self,
        meta: &SnapshotMeta,
        mut snapshot: Box<tokio::fs::File>,
    ) -> Result<(), RaftStorageError> {
        let subject = || ErrorSubject::Snapshot(Some(meta.signature()));
        let (_, payload) = read_all(&self.files.incoming(), &mut snapshot)
            .await
            .map_err(|e| io_error(subject(), ErrorVerb::Read, &e))?;
        self.tree
            .clear()
            .map_err(|e| io_error(subject(), ErrorVerb::Write, &e))?;
        self.applied = meta.last_log_id;
        self.membership = meta.last_membership.clone();
        self.revision = payload.revision;
        let write = snapshot_state(&payload, &self.applied, &self.membership)?;
        self.tree
            .apply(write)
            .map_err(|e| io_error(subject(), ErrorVerb::Write, &e))?;
        self.requests =
            RequestTable::load(&self.tree).map_err(|e| io_error(subject(), ErrorVerb::Read, &e))?;
        self.tree
            .flush()
            .await
            .map_err(|e| io_error(subject(), ErrorVerb::Write, &e))?;
        self.files
            .write(meta, &payload)
            .map_err(|e| io_error(subject(), ErrorVerb::Write, &e))?;
        tracing::info!(snapshot = %meta.snapshot_id, objects = payload.objects.len(), revision = self.revision, "installed a snapshot from the leader");
        self.publish(Applied::Reset {
            revision: self.revision,
        })
        .await;
        Ok(())
    }

    async fn get_current_snapshot(
        &mut self,
    ) -> Result<Option<Snapshot<TypeConfig>>, RaftStorageError> {
        let current = self
            .files
            .open_current()
            .await
            .map_err(|e| io_error(ErrorSubject::Snapshot(None), ErrorVerb::Read, &e))?;
        Ok(current.map(|(meta, file)| Snapshot {
            meta,
            snapshot: Box::new(file),
        }))
    }
}
