//! openraft's state machine contract over [`StateTree`].
//!
//! Applying an entry runs its commands in order against the stored objects, checking each
//! precondition here, so every replica reaches the same result. Each successful write
//! takes the next revision (the resourceVersion clients see). One apply step becomes one
//! atomic storage batch: objects, history records and the applied log position together.
//! The step's changes then go to the registry, in order, over a bounded channel.
//! An entry carries proposals from any replica; a proposal whose request id was already
//! applied (a retried forward) gets its first result again, from [`RequestTable`].
//! Each step holds the [`ApplyLock`] while it runs, so a snapshot build can read the
//! state between two steps without stopping applies for its whole scan.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use keelson_proto::{
    Batch, BatchResult, Command, CommandResult, EntryData, EntryResult, Precondition,
};
use openraft::storage::{RaftStateMachine, Snapshot};
use openraft::{EntryPayload, ErrorSubject, ErrorVerb, OptionalSend};

use super::applied::{Applied, AppliedSender};
use super::log_store::io_error;
use super::requests::RequestTable;
use super::snapshot::{read_all, SnapshotFiles, SnapshotPayload};
use super::snapshot_builder::{SnapshotBuilder, SnapshotStart};
pub use super::state_position::stored_revision;
use super::state_position::{snapshot_state, write_position, Position};
use super::types::{LogId, RaftStorageError, SnapshotMeta, StoredMembership, TypeConfig};
use crate::storage::{Change, StateTree, StateWrite, StoredValue};

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
    applying: ApplyLock,
}

/// What apply steps change besides the tree, behind the lock each step holds while it
/// runs: a snapshot build takes it to read the state between two steps.
pub(super) struct Applying {
    pub requests: RequestTable,
    /// How many snapshots were installed: a build that began before one cannot catch up.
    pub installs: u64,
}

pub(super) type ApplyLock = Arc<Mutex<Applying>>;

/// Takes the apply lock. A step that panicked left the tree as its last batch did, which
/// is what a crash leaves too, so a poisoned lock is still good to use.
pub(super) fn lock(applying: &Mutex<Applying>) -> MutexGuard<'_, Applying> {
    applying.lock().unwrap_or_else(PoisonError::into_inner)
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
        let Position {
            applied,
            membership,
            revision,
        } = Position::read(&tree)?;
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
            applying: Arc::new(Mutex::new(Applying {
                requests,
                installs: 0,
            })),
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
        requests: &mut RequestTable,
        index: u64,
        data: EntryData,
        overlay: &mut Overlay,
        write: &mut StateWrite,
        changes: &mut Vec<Change>,
    ) -> Result<EntryResult, RaftStorageError> {
        let table_err = |e| io_error(ErrorSubject::StateMachine, ErrorVerb::Write, &e);
        let mut results = Vec::with_capacity(data.proposals.len());
        for proposal in data.proposals {
            if let Some(first) = requests
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
            requests
                .record(write, index, proposal.id, &result)
                .map_err(table_err)?;
            results.push(result);
        }
        requests.prune(write, index);
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

    /// The synchronous part of applying `entries`: one atomic write, under the apply lock.
    fn apply_step(
        &mut self,
        entries: impl IntoIterator<Item = Entry>,
    ) -> Result<(Vec<EntryResult>, Vec<Change>), RaftStorageError> {
        let _span = tracing::debug_span!("apply").entered();
        let applying = self.applying.clone();
        let mut applying = lock(&applying);
        let mut overlay = Overlay::new();
        let mut write = StateWrite::default();
        let mut changes = Vec::new();
        let mut responses = Vec::new();
        for entry in entries {
            self.applied = Some(entry.log_id);
            let response = match entry.payload {
                EntryPayload::Blank => EntryResult::default(),
                EntryPayload::Normal(data) => self.apply_entry(
                    &mut applying.requests,
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
        applying.requests.settle();
        Ok((responses, changes))
    }

    /// Replaces the whole state with a snapshot's, under the apply lock.
    fn replace_state(
        &mut self,
        meta: &SnapshotMeta,
        payload: &SnapshotPayload,
    ) -> Result<(), RaftStorageError> {
        let subject = || ErrorSubject::Snapshot(Some(meta.signature()));
        let applying = self.applying.clone();
        let mut applying = lock(&applying);
        applying.installs += 1;
        self.tree
            .clear()
            .map_err(|e| io_error(subject(), ErrorVerb::Write, &e))?;
        self.applied = meta.last_log_id;
        self.membership = meta.last_membership.clone();
        self.revision = payload.revision;
        let write = snapshot_state(payload, &self.applied, &self.membership)?;
        self.tree
            .apply(write)
            .map_err(|e| io_error(subject(), ErrorVerb::Write, &e))?;
        applying.requests =
            RequestTable::load(&self.tree).map_err(|e| io_error(subject(), ErrorVerb::Read, &e))?;
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
        let (responses, changes) = self.apply_step(entries)?;
        if !changes.is_empty() {
            self.publish(Applied::Changes(Arc::new(changes))).await;
        }
        Ok(responses)
    }

    async fn get_snapshot_builder(&mut self) -> SnapshotBuilder {
        SnapshotBuilder {
            files: self.files.clone(),
            tree: self.tree.clone(),
            applying: self.applying.clone(),
            start: SnapshotStart {
                applied_index: self.applied.map_or(0, |log_id| log_id.index),
                revision: self.revision,
                installs: lock(&self.applying).installs,
            },
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
        self.replace_state(meta, &payload)?;
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
