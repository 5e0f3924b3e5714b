//! Group commit: one fsync for every write that arrived while the previous one ran.
//!
//! Raft's log store hands its flush requests here and returns at once; a dedicated thread
//! takes all pending requests, syncs the database once, and completes them together. Under
//! load this turns N fsyncs into one, which is what lets throughput exceed the ~5,000
//! serial fsyncs/s a disk like ours allows.
//!
//! sled 0.34's own flush ends with `sync_file_range` on Linux, which writes the pages but
//! flushes neither the drive's cache nor the file's metadata. So after it, this thread
//! calls `fdatasync` on sled's data file: only then is a write durable.

use std::sync::mpsc;

use super::StorageError;

type Done = Box<dyn FnOnce(Result<(), StorageError>) + Send>;

/// A handle to the flusher thread; cheap to clone.
#[derive(Clone)]
pub struct Flusher {
    requests: mpsc::SyncSender<Done>,
}

impl Flusher {
    /// `data_file` is sled's data file, synced after each of sled's flushes.
    pub fn start(db: sled::Db, data_file: std::fs::File) -> Self {
        // Bounded: a burst of appends waits here rather than growing memory.
        let (requests, pending) = mpsc::sync_channel::<Done>(4096);
        let spawned = std::thread::Builder::new()
            .name("keelson-fsync".into())
            .spawn(move || run(db, data_file, pending));
        if let Err(e) = spawned {
            tracing::error!(error = %e, "cannot start the fsync thread; writes will fail");
        }
        Self { requests }
    }

    /// Calls `done` once everything written before this call is on disk.
    pub fn flush_then(&self, done: impl FnOnce(Result<(), StorageError>) + Send + 'static) {
        if let Err(mpsc::SendError(done)) = self.requests.send(Box::new(done)) {
            done(Err(StorageError::Flush("fsync thread stopped".into())));
        }
    }

    /// Waits until everything written before this call is on disk.
    pub async fn flush(&self) -> Result<(), StorageError> {
        let (tx, rx) = tokio::sync::oneshot::channel();
        self.flush_then(move |result| {
            let _ = tx.send(result);
        });
        rx.await
            .unwrap_or_else(|_| Err(StorageError::Flush("fsync thread stopped".into())))
    }
}

fn run(db: sled::Db, data_file: std::fs::File, pending: mpsc::Receiver<Done>) {
    while let Ok(first) = pending.recv() {
        let mut group = vec![first];
        while let Ok(more) = pending.try_recv() {
            group.push(more);
        }
        let span = tracing::trace_span!("fsync", writes = group.len());
        let _entered = span.enter();
        let result = sync(&db, &data_file).map_err(|e| e.to_string());
        for done in group {
            done(result.clone().map_err(StorageError::Flush));
        }
    }
}

/// Makes everything written to `db` durable: sled's flush, then `fdatasync` of its data
/// file, which sled's own flush leaves out.
pub(super) fn sync(db: &sled::Db, data_file: &std::fs::File) -> Result<(), StorageError> {
    db.flush()?;
    data_file
        .sync_data()
        .map_err(|e| StorageError::Flush(format!("fdatasync of sled's data file: {e}")))
}
