//! Log entry payloads: batches of key/value commands, grouped into entries, and the
//! result of applying each.
//!
//! Commands know nothing of Kubernetes kinds: a key is an opaque path
//! (`/registry/configmaps/default/x`) and a value is the encoded object. Every
//! non-deterministic part of a write (uid, timestamps) is fixed by the proposing replica,
//! so applying a batch gives the same result on every replica. Preconditions are checked
//! inside apply, so a lost race becomes a `Conflict` result, never a divergence.

use serde::{Deserialize, Serialize};

/// What a write expects of the stored value before it runs.
///
/// Only the revision: a uid precondition is checked by the proposing replica against the
/// object it read, and that read's revision then stands for the uid too.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Precondition {
    /// The revision at which the key was last written.
    pub revision: Option<u64>,
}

impl Precondition {
    pub fn none() -> Self {
        Self::default()
    }

    pub fn at_revision(revision: u64) -> Self {
        Self {
            revision: Some(revision),
        }
    }
}

/// One write to one key.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Command {
    /// Store `value` under `key`, which must not exist.
    Create {
        key: String,
        #[serde(with = "serde_bytes")]
        value: Vec<u8>,
    },
    /// Replace the value under `key`, which must exist and meet the precondition.
    Update {
        key: String,
        #[serde(with = "serde_bytes")]
        value: Vec<u8>,
        precondition: Precondition,
    },
    /// Remove `key`, which must exist and meet the precondition.
    Delete {
        key: String,
        precondition: Precondition,
    },
    /// Remove `key` if it exists; never fails (releasing an allocation record that an
    /// object older than the record keeping may not have).
    Release { key: String },
}

impl Command {
    pub fn key(&self) -> &str {
        match self {
            Command::Create { key, .. }
            | Command::Update { key, .. }
            | Command::Delete { key, .. }
            | Command::Release { key } => key,
        }
    }
}

/// The commands of one API request, applied all or nothing: when any command would fail
/// (a create finding its key, an update or delete missing its key or its precondition),
/// none is applied, the failing ones get their result and the others `Aborted`. Keys
/// within one batch must be distinct (each is checked against the state before the
/// batch). A service and its address allocation records are one such batch.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Batch {
    pub commands: Vec<Command>,
}

impl Batch {
    pub fn single(command: Command) -> Self {
        Self {
            commands: vec![command],
        }
    }
}

/// The outcome of one command, in the order of the batch.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum CommandResult {
    /// The value was stored at this revision.
    Stored { revision: u64 },
    /// The key was removed at this revision; `value` is what it held.
    Deleted {
        revision: u64,
        #[serde(with = "serde_bytes")]
        value: Vec<u8>,
    },
    /// A create found the key present.
    AlreadyExists,
    /// An update or delete found no such key.
    NotFound,
    /// The precondition did not hold; `revision` is the key's current revision.
    Conflict { revision: u64 },
    /// Not applied because another command of its batch failed.
    Aborted,
}

/// The results of a batch, one per command.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BatchResult {
    pub results: Vec<CommandResult>,
}

/// Names one proposal for its whole life, across forwarding retries and leader changes.
///
/// The proposing replica draws it at random once; every retry of the same write carries
/// the same id, and the state machine applies an id at most once (see [`Proposal`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct RequestId(pub u128);

/// One request's batch, tagged with the id that makes retrying it safe.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Proposal {
    pub id: RequestId,
    pub batch: Batch,
}

/// What one Raft log entry carries: the proposals the leader grouped into it, from any
/// replica. A proposal whose id was already applied (a retried forward) is answered with
/// its first result and not applied again.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EntryData {
    pub proposals: Vec<Proposal>,
}

/// The results of an entry, one [`BatchResult`] per proposal, in order.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EntryResult {
    pub results: Vec<BatchResult>,
}
