//! The data directory: an exclusive lock, a format version header, and the sled database.
//!
//! The lock makes a second `keelson serve` on the same directory fail at once with a clear
//! message instead of corrupting it; the header makes a build refuse data written in a
//! format it does not read.

use std::fs::{File, OpenOptions};
use std::path::{Path, PathBuf};

use super::keyspace::{RAFT_TREE, STATE_TREE};
use super::{Flusher, LogTree, StateTree, StorageError};

/// The on-disk format this build reads and writes.
pub const DATA_FORMAT_VERSION: u32 = 2;

/// An open, locked data directory.
pub struct DataDir {
    path: PathBuf,
    db: sled::Db,
    flusher: Flusher,
    // Held for the life of the process; dropping it releases the lock.
    _lock: File,
}

impl DataDir {
    /// Creates the directory if needed, takes its lock, checks the format header and opens
    /// the database.
    pub fn open(path: &Path) -> Result<Self, StorageError> {
        let io = |source| StorageError::Io {
            path: path.to_path_buf(),
            source,
        };
        std::fs::create_dir_all(path).map_err(io)?;
        let lock = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(path.join("LOCK"))
            .map_err(io)?;
        if lock.try_lock().is_err() {
            return Err(StorageError::Locked {
                path: path.to_path_buf(),
            });
        }
        check_format_header(path)?;
        let db = sled::Config::new()
            .path(path.join("db"))
            .cache_capacity(16 * 1024 * 1024)
            .flush_every_ms(None)
            .open()?;
        // sled keeps its pages in `db/db`; the flusher syncs it after sled's own flush.
        let data_file = File::open(path.join("db").join("db")).map_err(io)?;
        let flusher = Flusher::start(db.clone(), data_file);
        Ok(Self {
            path: path.to_path_buf(),
            db,
            flusher,
            _lock: lock,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn log_tree(&self) -> Result<LogTree, StorageError> {
        Ok(LogTree::new(
            self.db.open_tree(RAFT_TREE)?,
            self.flusher.clone(),
        ))
    }

    pub fn state_tree(&self) -> Result<StateTree, StorageError> {
        Ok(StateTree::new(
            self.db.open_tree(STATE_TREE)?,
            self.flusher.clone(),
        ))
    }
}

fn check_format_header(dir: &Path) -> Result<(), StorageError> {
    let header = dir.join("VERSION");
    let io = |source| StorageError::Io {
        path: header.clone(),
        source,
    };
    match std::fs::read_to_string(&header) {
        Ok(found) => {
            if found.trim() != DATA_FORMAT_VERSION.to_string() {
                return Err(StorageError::FormatVersion {
                    path: dir.to_path_buf(),
                    found: found.trim().to_string(),
                    expected: DATA_FORMAT_VERSION,
                });
            }
            Ok(())
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            std::fs::write(&header, format!("{DATA_FORMAT_VERSION}\n")).map_err(io)
        }
        Err(e) => Err(io(e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn second_open_is_refused_while_locked() {
        let dir = tempfile::tempdir().unwrap();
        let first = DataDir::open(dir.path()).unwrap();
        let second = DataDir::open(dir.path());
        assert!(matches!(second, Err(StorageError::Locked { .. })));
        drop(first);
    }

    #[test]
    fn unknown_format_version_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("VERSION"), "99\n").unwrap();
        let opened = DataDir::open(dir.path());
        assert!(matches!(opened, Err(StorageError::FormatVersion { .. })));
    }
}
