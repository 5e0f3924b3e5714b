//! Building a snapshot file from the state the state machine collected while no apply
//! ran (openraft's `RaftSnapshotBuilder` contract).

use openraft::storage::Snapshot;
use openraft::{ErrorSubject, ErrorVerb, RaftSnapshotBuilder};

use super::log_store::io_error;
use super::snapshot::{SnapshotFiles, SnapshotPayload};
use super::types::{RaftStorageError, SnapshotMeta, TypeConfig};

/// Writes a snapshot collected by [`StateMachine::get_snapshot_builder`] to its file.
pub struct SnapshotBuilder {
    pub(super) files: SnapshotFiles,
    pub(super) meta: SnapshotMeta,
    pub(super) payload: Result<SnapshotPayload, RaftStorageError>,
}

impl RaftSnapshotBuilder<TypeConfig> for SnapshotBuilder {
    async fn build_snapshot(&mut self) -> Result<Snapshot<TypeConfig>, RaftStorageError> {
        let payload = std::mem::replace(&mut self.payload, Ok(SnapshotPayload::default()))?;
        let subject = || ErrorSubject::Snapshot(Some(self.meta.signature()));
        self.files
            .write(&self.meta, &payload)
            .await
            .map_err(|e| io_error(subject(), ErrorVerb::Write, &e))?;
        let (meta, file) = self
            .files
            .open_current()
            .await
            .map_err(|e| io_error(subject(), ErrorVerb::Read, &e))?
            .ok_or_else(|| {
                io_error(
                    subject(),
                    ErrorVerb::Read,
                    &std::io::Error::other("snapshot vanished after writing"),
                )
            })?;
        tracing::info!(snapshot = %meta.snapshot_id, objects = payload.objects.len(), "built snapshot");
        Ok(Snapshot {
            meta,
            snapshot: Box::new(file),
        })
    }
}
