//! The recorded history of one scenario: every client operation (invoke and completion),
//! every watch stream, and what the cluster holds after healing. The workload writes it,
//! the checkers in [`crate::check`] read it; nothing else interprets it.
//!
//! Every write puts a value that no other write uses (`data.v` of the configmap), so a
//! value names the write that produced it: a read that returns it, a watch event that
//! carries it and the committed history after healing can all be matched back to one
//! client call without guessing.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// A configmap name in the scenario's namespace.
pub type Key = String;
/// A write's unique value (`data.v`); 0 is never written.
pub type Value = u64;
/// A resourceVersion (keelson's global revision).
pub type Rv = u64;
/// Nanoseconds since the scenario started.
pub type Nanos = u64;

/// Where a request was sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Target {
    /// Through HAProxy, as users reach the cluster.
    Proxy,
    /// Straight to one replica's API (node id).
    Replica(u64),
}

/// What a client asked for.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Call {
    /// A linearizable GET (resourceVersion unset).
    Get { key: Key },
    /// POST of a new configmap holding `value`.
    Create { key: Key, value: Value },
    /// PUT with `metadata.resourceVersion = expect_rv` (a precondition); `expect` is the
    /// value the client had read at that resourceVersion.
    Update {
        key: Key,
        expect: Value,
        expect_rv: Rv,
        value: Value,
    },
    /// An unconditional DELETE.
    Delete { key: Key },
}

impl Call {
    pub fn key(&self) -> &str {
        match self {
            Call::Get { key }
            | Call::Create { key, .. }
            | Call::Update { key, .. }
            | Call::Delete { key } => key,
        }
    }

    /// The value this call writes, if it writes one.
    pub fn written_value(&self) -> Option<Value> {
        match self {
            Call::Create { value, .. } | Call::Update { value, .. } => Some(*value),
            Call::Get { .. } | Call::Delete { .. } => None,
        }
    }
}

/// What the client heard back.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Outcome {
    /// GET found the object.
    Found { value: Value, rv: Rv },
    /// GET, PUT or DELETE answered 404.
    NotFound,
    /// A create or update succeeded and the object now has `rv`.
    Written { rv: Rv },
    /// A delete succeeded.
    Deleted,
    /// A create answered 409 AlreadyExists.
    AlreadyExists,
    /// An update answered 409 Conflict (the resourceVersion precondition failed).
    Conflict,
    /// The request certainly had no effect (refused before it was sent, or an answer
    /// that says nothing was proposed, such as 503 with no leader).
    Failed { reason: String },
    /// No answer, or one that leaves open whether the write was applied (timeouts, 504,
    /// a connection cut after the request was sent).
    Unknown { reason: String },
}

impl Outcome {
    /// Whether the client was told its write succeeded.
    pub fn acknowledged_write(&self) -> bool {
        matches!(self, Outcome::Written { .. } | Outcome::Deleted)
    }
}

/// One client operation.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Op {
    /// Unique within the scenario, in invoke order per client.
    pub id: u64,
    pub client: u32,
    pub target: Target,
    pub call: Call,
    pub invoked: Nanos,
    /// When the answer arrived (for `Unknown`, when the client gave up).
    pub completed: Nanos,
    pub outcome: Outcome,
}

/// A watch event's type.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum EventKind {
    Added,
    Modified,
    Deleted,
}

/// One event as a watch stream delivered it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Event {
    pub kind: EventKind,
    pub key: Key,
    /// `data.v` of the object in the event (for Deleted, its last value).
    pub value: Value,
    pub rv: Rv,
    /// When it arrived (0 for the committed history read after healing).
    pub at: Nanos,
}

/// How one connection of a watch stream began and ended.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Connection {
    /// The resourceVersion the watch was (re)started from.
    pub from_rv: Rv,
    pub opened: Nanos,
    /// Why it ended ("" while it was still open when the workload stopped).
    pub ended_because: String,
    /// True when the server answered 410 Gone (history compacted): the next connection
    /// starts from a fresh list, and a gap across this boundary is not a violation.
    pub gone: bool,
}

/// One logical watch: a client that keeps watching the namespace, reconnecting from the
/// last resourceVersion it saw whenever its connection breaks.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct WatchStream {
    pub id: u32,
    pub target: Target,
    /// The resourceVersion of the list the stream started after.
    pub start_rv: Rv,
    /// Every event delivered, in arrival order, across all connections.
    pub events: Vec<Event>,
    pub connections: Vec<Connection>,
    /// Whether it reached the end marker written after the workload: then it must have
    /// delivered every committed event after its start.
    #[serde(default)]
    pub reached_end: bool,
    /// Whether its replica was still a live member at the end, so it should have.
    #[serde(default)]
    pub must_reach_end: bool,
}

/// One replica's view after healing.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ReplicaState {
    pub node: u64,
    /// Every object in the namespace: key → (value, resourceVersion).
    pub objects: BTreeMap<Key, (Value, Rv)>,
    /// The namespace's committed history from the scenario's start, replayed by a watch
    /// from `History::start_rv` on this replica after healing. `None` when the replica
    /// could not replay it (the error is in `replay_error`).
    pub committed: Option<Vec<Event>>,
    pub replay_error: Option<String>,
}

/// Everything one scenario recorded.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct History {
    pub scenario: String,
    /// The namespace's list resourceVersion before the workload started: every event of
    /// the scenario comes after it.
    pub start_rv: Rv,
    pub ops: Vec<Op>,
    pub watches: Vec<WatchStream>,
    /// After healing, one entry per live replica.
    pub replicas: Vec<ReplicaState>,
}
