//! Messages of the replica protocol: what one replica asks another over the peer port.
//!
//! Each request is one HTTPS POST of a codec-encoded body to the path named here, and
//! the answer is one codec-encoded reply. Raft's own RPCs carry openraft's messages as
//! they are; the rest are keelson's: forwarded writes, read-index requests and membership
//! changes, all of which only the leader can serve, and member status, which any replica
//! answers about itself.

use serde::{Deserialize, Serialize};

use crate::command::{BatchResult, Proposal};
use crate::raft::NodeId;

/// URL paths on the peer port.
pub mod paths {
    pub const APPEND_ENTRIES: &str = "/raft/append-entries";
    pub const VOTE: &str = "/raft/vote";
    pub const INSTALL_SNAPSHOT: &str = "/raft/install-snapshot";
    pub const FORWARD: &str = "/forward";
    pub const READ_INDEX: &str = "/read-index";
    pub const MEMBERSHIP: &str = "/membership";
    pub const STATUS: &str = "/status";
}

/// Why the asked replica could not serve a leader-only request.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum PeerError {
    /// This replica is not the leader; `leader` is who it believes leads, if anyone.
    #[error("not the Raft leader (leader: {leader:?})")]
    NotLeader { leader: Option<NodeId> },
    /// The leader could not finish the request; the outcome of a write is unknown and it
    /// may be retried with the same request id.
    #[error("the leader could not complete the request: {0}")]
    Unavailable(String),
    /// The request is invalid and retrying will not help.
    #[error("request refused: {0}")]
    Refused(String),
}

/// A write that passed the whole API pipeline on another replica, for the leader to
/// propose. The reply is [`ForwardReply`].
pub type ForwardRequest = Proposal;
pub type ForwardReply = Result<BatchResult, PeerError>;

/// Asks the leader for a read index: the log index a replica must have applied before a
/// read it serves is linearizable. The reply is [`ReadIndexReply`].
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReadIndexRequest {}
pub type ReadIndexReply = Result<u64, PeerError>;

/// A membership change, made by the leader through joint consensus.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum MembershipChange {
    /// Add a voter reachable at `address` (the peer URL); it first catches up as a learner.
    Add { id: NodeId, address: String },
    /// Remove a voter (or learner).
    Remove { id: NodeId },
}
pub type MembershipReply = Result<(), PeerError>;

/// Asks a replica about itself; the reply is its [`MemberStatus`].
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusRequest {}

/// One replica's view of itself, for `keelson member list`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberStatus {
    pub id: NodeId,
    pub address: String,
    pub state: String,
    pub term: u64,
    pub leader: Option<NodeId>,
    pub last_log_index: Option<u64>,
    pub committed: Option<u64>,
    pub applied: Option<u64>,
    pub revision: u64,
}
