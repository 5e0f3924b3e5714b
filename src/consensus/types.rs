//! The openraft type configuration: what a log entry carries and what applying it returns.

use keelson_proto::{Batch, BatchResult};

openraft::declare_raft_types!(
    /// keelson's Raft: batches of key/value commands, snapshots kept as files.
    pub TypeConfig:
        D = Batch,
        R = BatchResult,
        NodeId = u64,
        Node = openraft::BasicNode,
        Entry = openraft::Entry<TypeConfig>,
        SnapshotData = tokio::fs::File,
        AsyncRuntime = openraft::TokioRuntime,
);

pub type NodeId = u64;
pub type Node = openraft::BasicNode;
pub type Raft = openraft::Raft<TypeConfig>;
pub type LogId = openraft::LogId<NodeId>;
pub type StoredMembership = openraft::StoredMembership<NodeId, Node>;
pub type SnapshotMeta = openraft::SnapshotMeta<NodeId, Node>;
pub type RaftStorageError = openraft::StorageError<NodeId>;
