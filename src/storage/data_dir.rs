//! The data directory: an exclusive lock, a format version header, and the sled database.
//!
//! The lock makes a second `keelson serve` on the same directory fail at once with a clear
//! message instead of corrupting it; the header makes a build refuse data written in a
//! format it does not read, and names the one older format it upgrades in place.
//!
//! Two locks guard the directory: ours on `LOCK`, and sled's own on `db/db`. A process
//! that is exiting lets go of them one file at a time, and a multithreaded one can take a
//! moment to do so after its main thread is gone; a supervisor that restarts keelson in
//! that moment finds `LOCK` free and `db/db` still held. Since holding `LOCK` means no
//! other live keelson can be starting, opening waits a bounded time for sled's lock
//! instead of failing a restart on a race with the old process's exit.

use std::fs::{File, OpenOptions};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::flusher::sync;
use super::keyspace::{RAFT_TREE, STATE_TREE};
use super::state_tree::upgrade_legacy_history;
use super::{Flusher, LogTree, StateTree, StorageError};

/// The on-disk format this build reads and writes.
///
/// Version 3 keeps history records without the value each change wrote
/// ([`super::ChangeRecord`]); version 2's are converted when such a directory opens.
pub const DATA_FORMAT_VERSION: u32 = 3;
/// The older format this build upgrades in place.
const UPGRADED_FORMAT_VERSION: u32 = 2;
/// How long opening waits for an exiting process to let go of sled's lock on `db/db`.
const ENGINE_LOCK_WAIT: Duration = Duration::from_secs(10);

/// An open, locked data directory.
pub struct DataDir {
    path: PathBuf,
    db: sled::Db,
    flusher: Flusher,
    // Held for the life of the process; dropping it releases the lock.
    _lock: File,
}

/// sled's own page cache. Reads are served from the kinds' caches, which hold every
/// object; sled is read by the write path (a key's current value) and at start, where
/// its cache only duplicates what the kinds' caches keep. Restarted on 100,000
/// ConfigMaps, a replica settled at 344 MiB with 16 MiB here and 327 MiB with 4 MiB (1 MiB
/// saved nothing more), and creates per second did not change.
const SLED_CACHE_BYTES: u64 = 4 * 1024 * 1024;

impl DataDir {
    /// Creates the directory if needed, takes its lock, checks the format header and opens
    /// the database.
    pub fn open(path: &Path) -> Result<Self, StorageError> {
        Self::open_waiting(path, ENGINE_LOCK_WAIT)
    }

    fn open_waiting(path: &Path, engine_lock_wait: Duration) -> Result<Self, StorageError> {
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
        let found = read_format_header(path)?;
        wait_for_engine_lock(path, engine_lock_wait)?;
        let db = sled::Config::new()
            .path(path.join("db"))
            .cache_capacity(SLED_CACHE_BYTES)
            .flush_every_ms(None)
            .open()?;
        // The flusher syncs sled's data file after sled's own flush.
        let data_file = File::open(engine_file(path)).map_err(io)?;
        if found == Some(UPGRADED_FORMAT_VERSION) {
            upgrade_from_format_2(&db, &data_file)?;
        }
        if found != Some(DATA_FORMAT_VERSION) {
            let header = path.join("VERSION");
            std::fs::write(&header, format!("{DATA_FORMAT_VERSION}\n")).map_err(|source| {
                StorageError::Io {
                    path: header,
                    source,
                }
            })?;
        }
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

/// Returns once no other open file holds sled's lock on `db/db`, or `Locked` after `limit`.
///
/// The probe takes the same kind of lock sled takes (flock) and lets go of it at once, so
/// sled's own attempt right after finds it free: no new holder can appear in between while
/// this process holds `LOCK`.
fn wait_for_engine_lock(dir: &Path, limit: Duration) -> Result<(), StorageError> {
    let engine_file = engine_file(dir);
    let probe = match File::open(&engine_file) {
        Ok(probe) => probe,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(source) => {
            return Err(StorageError::Io {
                path: engine_file,
                source,
            })
        }
    };
    let started = Instant::now();
    let mut reported = false;
    loop {
        match probe.try_lock() {
            Ok(()) => {
                if reported {
                    tracing::info!(
                        waited_ms = started.elapsed().as_millis() as u64,
                        "the previous process let go of the data dir"
                    );
                }
                return Ok(());
            }
            Err(std::fs::TryLockError::WouldBlock) if started.elapsed() < limit => {
                if !reported {
                    tracing::info!(
                        file = %engine_file.display(),
                        "waiting for an exiting process to let go of the storage engine's lock"
                    );
                    reported = true;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            Err(std::fs::TryLockError::WouldBlock) => {
                return Err(StorageError::Locked {
                    path: dir.to_path_buf(),
                })
            }
            Err(std::fs::TryLockError::Error(source)) => {
                return Err(StorageError::Io {
                    path: engine_file,
                    source,
                })
            }
        }
    }
}

/// The directory's format version: `None` for a new directory, an error for a format
/// this build neither reads nor upgrades.
fn read_format_header(dir: &Path) -> Result<Option<u32>, StorageError> {
    let header = dir.join("VERSION");
    let found = match std::fs::read_to_string(&header) {
        Ok(found) => found.trim().to_string(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => {
            return Err(StorageError::Io {
                path: header,
                source,
            })
        }
    };
    match found.parse::<u32>() {
        Ok(v) if v == DATA_FORMAT_VERSION || v == UPGRADED_FORMAT_VERSION => Ok(Some(v)),
        _ => Err(StorageError::FormatVersion {
            path: dir.to_path_buf(),
            found,
            expected: DATA_FORMAT_VERSION,
        }),
    }
}

/// Converts format 2's history records and makes the result durable before the header
/// says 3; a crash in between leaves format 2's header over records a rerun skips.
fn upgrade_from_format_2(db: &sled::Db, data_file: &File) -> Result<(), StorageError> {
    let converted = upgrade_legacy_history(&db.open_tree(STATE_TREE)?)?;
    sync(db, data_file)?;
    tracing::info!(
        converted,
        "upgraded the data dir from format 2 to 3 (history records without their values)"
    );
    Ok(())
}

/// sled's data file in `dir`: its pages, and the file its lock is taken on.
fn engine_file(dir: &Path) -> PathBuf {
    dir.join("db").join("db")
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

    /// An exiting process that still holds sled's lock on `db/db` after letting go of
    /// `LOCK`: opening waits for it instead of failing, and gives up after its limit.
    #[test]
    fn open_waits_for_the_storage_engines_lock_and_then_gives_up() {
        let dir = tempfile::tempdir().unwrap();
        drop(DataDir::open(dir.path()).unwrap());
        wait_for_engine_lock(dir.path(), Duration::from_secs(5)).unwrap();

        let exiting = File::open(engine_file(dir.path())).unwrap();
        exiting.lock().unwrap();
        let refused = DataDir::open_waiting(dir.path(), Duration::from_millis(100));
        assert!(
            matches!(refused, Err(StorageError::Locked { .. })),
            "{:?}",
            refused.err()
        );

        let started = Instant::now();
        let release = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(300));
            drop(exiting);
        });
        let opened = DataDir::open(dir.path());
        release.join().unwrap();
        assert!(opened.is_ok(), "{:?}", opened.err());
        assert!(started.elapsed() >= Duration::from_millis(300));
    }

    #[test]
    fn unknown_format_version_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("VERSION"), "99\n").unwrap();
        let opened = DataDir::open(dir.path());
        assert!(matches!(opened, Err(StorageError::FormatVersion { .. })));
    }

    #[test]
    fn format_2_history_records_are_converted_once_on_open() {
        use crate::storage::keyspace::{indexed, LEGACY_HISTORY};
        use crate::storage::{Change, ChangeRecord};

        let dir = tempfile::tempdir().unwrap();
        let changes = [
            Change {
                revision: 1,
                key: "/registry/configmaps/ns/a".into(),
                value: Some(b"{\"v\":1}".to_vec()),
                prev: None,
            },
            Change {
                revision: 2,
                key: "/registry/configmaps/ns/a".into(),
                value: None,
                prev: Some(b"{\"v\":1}".to_vec()),
            },
        ];
        {
            let data = DataDir::open(dir.path()).unwrap();
            let tree = data.db.open_tree(STATE_TREE).unwrap();
            for change in &changes {
                let encoded = keelson_proto::encode(change).unwrap();
                tree.insert(indexed(LEGACY_HISTORY, change.revision), encoded)
                    .unwrap();
            }
            data.db.flush().unwrap();
        }
        std::fs::write(dir.path().join("VERSION"), "2\n").unwrap();

        {
            let data = DataDir::open(dir.path()).unwrap();
            let version = std::fs::read_to_string(dir.path().join("VERSION")).unwrap();
            assert_eq!(version.trim(), DATA_FORMAT_VERSION.to_string());
            let records: Vec<ChangeRecord> = data
                .state_tree()
                .unwrap()
                .history_after(0)
                .map(|stored| stored.and_then(|s| s.decode()))
                .collect::<Result<_, _>>()
                .unwrap();
            let expected: Vec<ChangeRecord> = changes
                .iter()
                .map(|c| ChangeRecord {
                    revision: c.revision,
                    key: c.key.clone(),
                    deleted: c.value.is_none(),
                    prev: c.prev.clone(),
                })
                .collect();
            assert_eq!(records, expected);
            let tree = data.db.open_tree(STATE_TREE).unwrap();
            assert_eq!(tree.scan_prefix([LEGACY_HISTORY]).count(), 0);
            assert_eq!(
                upgrade_legacy_history(&tree).unwrap(),
                0,
                "nothing left to convert"
            );
        }
    }
}
