//! The openraft type configuration, shared by every replica: what a log entry carries
//! ([`EntryData`]), what applying it answers ([`EntryResult`]), and how nodes are named.
//! It lives here because Raft's RPC messages, which cross between replicas, are generic
//! over it.

use crate::command::{EntryData, EntryResult};

openraft::declare_raft_types!(
    /// keelson's Raft: entries of grouped proposals, snapshots kept as files.
    pub TypeConfig:
        D = EntryData,
        R = EntryResult,
        NodeId = u64,
        Node = openraft::BasicNode,
        Entry = openraft::Entry<TypeConfig>,
        SnapshotData = tokio::fs::File,
        AsyncRuntime = openraft::TokioRuntime,
);

pub type NodeId = u64;
pub type Node = openraft::BasicNode;
