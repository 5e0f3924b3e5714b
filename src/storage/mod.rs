//! The storage engine: sled, behind two narrow types that store bytes under keys.
//!
//! [`LogTree`] holds Raft's log and vote; [`StateTree`] holds the applied state (objects,
//! watch history and apply metadata). Neither knows Raft's types or Kubernetes kinds:
//! the consensus layer encodes what it stores (the state tree encodes its own history
//! records, which it reads back), the registry decodes what it reads. sled is
//! the engine the design card names, with known growth problems, so nothing above this
//! module touches sled directly: swapping the engine means rewriting this folder only.

mod data_dir;
mod flusher;
pub mod keyspace;
mod log_tree;
mod state_tree;

pub use data_dir::{DataDir, DATA_FORMAT_VERSION};
pub use flusher::Flusher;
pub use log_tree::LogTree;
pub use state_tree::{
    Change, ChangeRecord, Reread, StateTree, StateWrite, StoredChange, StoredRecords, StoredValue,
};

/// Errors of the storage engine.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    // Not marked as the source: the message already carries sled's, and a cause chain
    // printed whole would say it twice.
    #[error("storage engine: {0}")]
    Engine(sled::Error),
    #[error("data directory {path}: {source}")]
    Io {
        path: std::path::PathBuf,
        source: std::io::Error,
    },
    #[error("data directory {path} is in use by another keelson process (it holds the lock on {path}/LOCK or on the storage engine's {path}/db/db); stop that process or pass another --data-dir")]
    Locked { path: std::path::PathBuf },
    #[error("data directory {path} has format version {found}, this build reads version {expected}; use a matching keelson build or restore from a snapshot")]
    FormatVersion {
        path: std::path::PathBuf,
        found: String,
        expected: u32,
    },
    #[error("corrupt record under key {key:?}: {reason}")]
    Corrupt { key: String, reason: String },
    #[error("cannot encode the history record of revision {revision}: {source}")]
    Encode {
        revision: u64,
        source: keelson_proto::CodecError,
    },
    #[error("fsync failed: {0}")]
    Flush(String),
}

impl From<sled::Error> for StorageError {
    fn from(e: sled::Error) -> Self {
        Self::Engine(e)
    }
}
