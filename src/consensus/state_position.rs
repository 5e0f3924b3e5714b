//! Where the state machine keeps its position in the state tree: the applied log id, the
//! membership and the revision (key space `m`), read at start and written with every apply
//! step; and the whole state a snapshot describes, written at once when a snapshot is
//! installed or a backup restored.

use openraft::{ErrorSubject, ErrorVerb};

use super::log_store::io_error;
use super::snapshot::SnapshotPayload;
use super::types::{LogId, RaftStorageError, StoredMembership};
use crate::storage::keyspace::{META_APPLIED, META_MEMBERSHIP, META_REVISION};
use crate::storage::{StateTree, StateWrite, StoredValue};

pub(super) fn write_position(
    write: &mut StateWrite,
    applied: &Option<LogId>,
    membership: &StoredMembership,
    revision: u64,
) -> Result<(), RaftStorageError> {
    let encode_err =
        |e: keelson_proto::CodecError| io_error(ErrorSubject::StateMachine, ErrorVerb::Write, &e);
    write.put_meta(
        META_APPLIED,
        keelson_proto::encode(applied).map_err(encode_err)?,
    );
    write.put_meta(
        META_MEMBERSHIP,
        keelson_proto::encode(membership).map_err(encode_err)?,
    );
    write.put_meta(
        META_REVISION,
        keelson_proto::encode(&revision).map_err(encode_err)?,
    );
    Ok(())
}

/// The whole state a snapshot describes, as one write into an empty state tree: its
/// objects and applied-request table, at `applied` under `membership`. Used to install a
/// snapshot from the leader and to restore a backup.
pub(super) fn snapshot_state(
    payload: &SnapshotPayload,
    applied: &Option<LogId>,
    membership: &StoredMembership,
) -> Result<StateWrite, RaftStorageError> {
    let mut write = StateWrite::default();
    for (key, revision, value) in &payload.objects {
        write.put_object(
            key,
            &StoredValue {
                revision: *revision,
                value: value.clone(),
            },
        );
    }
    for (id, record) in &payload.requests {
        write.put_request(*id, record.clone());
    }
    write_position(&mut write, applied, membership, payload.revision)?;
    Ok(write)
}

/// Where the applied state stands: the last applied log id, the membership in force there
/// and the revision of the last applied write.
pub(super) struct Position {
    pub applied: Option<LogId>,
    pub membership: StoredMembership,
    pub revision: u64,
}

impl Position {
    /// The position as the last apply step stored it.
    pub fn read(tree: &StateTree) -> Result<Self, RaftStorageError> {
        Ok(Self {
            applied: read_meta(tree, META_APPLIED)?.flatten(),
            membership: read_meta(tree, META_MEMBERSHIP)?.unwrap_or_default(),
            revision: read_meta(tree, META_REVISION)?.unwrap_or(0),
        })
    }

    /// The index of the last applied log entry, 0 before the first.
    pub fn applied_index(&self) -> u64 {
        self.applied.map_or(0, |log_id| log_id.index)
    }
}

/// The revision of the last applied write, as stored (read before the node starts).
pub fn stored_revision(tree: &StateTree) -> Result<u64, RaftStorageError> {
    Ok(read_meta(tree, META_REVISION)?.unwrap_or(0))
}

pub(super) fn read_meta<T: serde::de::DeserializeOwned>(
    tree: &StateTree,
    name: &str,
) -> Result<Option<T>, RaftStorageError> {
    let bytes = tree
        .meta(name)
        .map_err(|e| io_error(ErrorSubject::StateMachine, ErrorVerb::Read, &e))?;
    bytes
        .map(|b| {
            keelson_proto::decode(&b)
                .map_err(|e| io_error(ErrorSubject::StateMachine, ErrorVerb::Read, &e))
        })
        .transpose()
}
