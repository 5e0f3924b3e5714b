//! openraft's own storage test suite, run against the sled log store and state machine.

use openraft::testing::{StoreBuilder, Suite};

use super::log_store::LogStore;
use super::snapshot::SnapshotFiles;
use super::state_machine::StateMachine;
use super::types::{RaftStorageError, TypeConfig};
use crate::storage::DataDir;

struct SledBuilder;

impl
    StoreBuilder<
        TypeConfig,
        LogStore,
        StateMachine,
        (tempfile::TempDir, DataDir, super::AppliedReceiver),
    > for SledBuilder
{
    async fn build(
        &self,
    ) -> Result<
        (
            (tempfile::TempDir, DataDir, super::AppliedReceiver),
            LogStore,
            StateMachine,
        ),
        RaftStorageError,
    > {
        let dir = tempfile::tempdir().expect("temp dir");
        let data = DataDir::open(dir.path()).expect("open data dir");
        let log = LogStore::new(data.log_tree().expect("log tree"));
        let (sink, applied) = super::applied::channel();
        let state_machine = StateMachine::open(
            data.state_tree().expect("state tree"),
            SnapshotFiles::new(dir.path()),
            sink,
            100,
        )?;
        Ok(((dir, data, applied), log, state_machine))
    }
}

#[test]
fn sled_stores_pass_the_openraft_suite() -> Result<(), RaftStorageError> {
    Suite::test_all(SledBuilder)?;
    Ok(())
}
