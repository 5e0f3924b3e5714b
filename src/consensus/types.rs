//! The openraft type configuration (declared in `keelson-proto`, because Raft's messages
//! cross between replicas) and short names for the generic openraft types used here.

pub use keelson_proto::raft::{Node, NodeId, TypeConfig};

pub type Raft = openraft::Raft<TypeConfig>;
pub type LogId = openraft::LogId<NodeId>;
pub type StoredMembership = openraft::StoredMembership<NodeId, Node>;
pub type SnapshotMeta = openraft::SnapshotMeta<NodeId, Node>;
pub type RaftStorageError = openraft::StorageError<NodeId>;
