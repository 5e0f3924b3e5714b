//! Snapshot files: the whole applied state at one log position.
//!
//! Raft builds one every few thousand entries so it can purge the log behind it, and
//! sends it to members too far behind for the log. The file starts with the length of
//! its metadata, then the codec-encoded [`SnapshotMeta`], then the codec-encoded
//! [`SnapshotPayload`], so the metadata can be read without loading the objects.
//! `keelson snapshot save/restore` backups use the same format.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use tokio::io::{AsyncReadExt, AsyncSeekExt};

use super::types::SnapshotMeta;
use crate::storage::StoredRecords;

/// The state of a snapshot: the objects as (key, revision of last write, value), and the
/// applied-request table as (request id, encoded record) so retried writes stay
/// deduplicated on a member that catches up from it.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct SnapshotPayload {
    pub revision: u64,
    pub objects: Vec<(String, u64, Vec<u8>)>,
    pub requests: Vec<(u128, Vec<u8>)>,
}

/// A [`SnapshotPayload`] encoded straight from stored records, to the same bytes,
/// without copying them: a store of 300 MB took 0.7 s to copy into a payload and 2 s to
/// encode it one byte at a time, a core's work competing with watches and writes.
pub struct RecordsPayload<'a> {
    pub revision: u64,
    pub records: &'a StoredRecords,
}

impl Serialize for RecordsPayload<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::{Error, SerializeSeq, SerializeStruct};

        struct Objects<'a>(&'a StoredRecords);
        impl Serialize for Objects<'_> {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                let mut seq = serializer.serialize_seq(Some(self.0.object_count()))?;
                for item in self.0.objects() {
                    let (key, revision, value) = item.map_err(S::Error::custom)?;
                    seq.serialize_element(&(key, revision, serde_bytes::Bytes::new(value)))?;
                }
                seq.end()
            }
        }

        struct Requests<'a>(&'a StoredRecords);
        impl Serialize for Requests<'_> {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                let mut seq = serializer.serialize_seq(Some(self.0.request_count()))?;
                for item in self.0.requests() {
                    let (id, record) = item.map_err(S::Error::custom)?;
                    seq.serialize_element(&(id, serde_bytes::Bytes::new(&record)))?;
                }
                seq.end()
            }
        }

        let mut payload = serializer.serialize_struct("SnapshotPayload", 3)?;
        payload.serialize_field("revision", &self.revision)?;
        payload.serialize_field("objects", &Objects(self.records))?;
        payload.serialize_field("requests", &Requests(self.records))?;
        payload.end()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SnapshotError {
    #[error("snapshot file {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("snapshot file {path}: {source}")]
    Codec {
        path: PathBuf,
        source: keelson_proto::CodecError,
    },
}

/// Where the current snapshot and an incoming one live.
#[derive(Clone, Debug)]
pub struct SnapshotFiles {
    dir: PathBuf,
}

impl SnapshotFiles {
    pub fn new(data_dir: &Path) -> Self {
        Self {
            dir: data_dir.join("snapshots"),
        }
    }

    pub fn current(&self) -> PathBuf {
        self.dir.join("current")
    }

    pub fn incoming(&self) -> PathBuf {
        self.dir.join("incoming")
    }

    /// Writes a snapshot atomically (temp file, fsync, rename) as the current one; the
    /// payload is a [`SnapshotPayload`] or a [`RecordsPayload`]. Synchronous: encoding
    /// and syncing hundreds of megabytes is a blocking thread's work, not the async
    /// runtime's (see [`super::snapshot_builder`]).
    pub fn write(
        &self,
        meta: &SnapshotMeta,
        payload: &impl Serialize,
    ) -> Result<(), SnapshotError> {
        use std::io::Write;

        let path = self.current();
        let tmp = self.dir.join("building");
        let io = |source| SnapshotError::Io {
            path: tmp.clone(),
            source,
        };
        let codec = |source| SnapshotError::Codec {
            path: tmp.clone(),
            source,
        };
        std::fs::create_dir_all(&self.dir).map_err(io)?;
        let meta_bytes = keelson_proto::encode(meta).map_err(codec)?;
        let file = std::fs::File::create(&tmp).map_err(io)?;
        let mut out = std::io::BufWriter::with_capacity(1 << 20, file);
        out.write_all(&(meta_bytes.len() as u64).to_be_bytes())
            .map_err(io)?;
        out.write_all(&meta_bytes).map_err(io)?;
        keelson_proto::encode_to_writer(payload, &mut out).map_err(codec)?;
        let file = out.into_inner().map_err(|e| io(e.into_error()))?;
        file.sync_all().map_err(io)?;
        std::fs::rename(&tmp, &path).map_err(io)?;
        Ok(())
    }

    /// Opens the current snapshot, reading only its metadata.
    pub async fn open_current(
        &self,
    ) -> Result<Option<(SnapshotMeta, tokio::fs::File)>, SnapshotError> {
        let path = self.current();
        let mut file = match tokio::fs::File::open(&path).await {
            Ok(file) => file,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(source) => return Err(SnapshotError::Io { path, source }),
        };
        let meta = read_meta(&path, &mut file).await?;
        file.rewind().await.map_err(|source| SnapshotError::Io {
            path: path.clone(),
            source,
        })?;
        Ok(Some((meta, file)))
    }

    /// Creates the file an incoming snapshot is streamed into.
    pub async fn begin_incoming(&self) -> Result<tokio::fs::File, SnapshotError> {
        let path = self.incoming();
        let io = |source| SnapshotError::Io {
            path: path.clone(),
            source,
        };
        tokio::fs::create_dir_all(&self.dir).await.map_err(io)?;
        // Read and write: chunks are written into it, then installing reads it back.
        tokio::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(true)
            .open(&path)
            .await
            .map_err(io)
    }
}

async fn read_meta(path: &Path, file: &mut tokio::fs::File) -> Result<SnapshotMeta, SnapshotError> {
    let io = |source| SnapshotError::Io {
        path: path.to_path_buf(),
        source,
    };
    let mut len = [0u8; 8];
    file.read_exact(&mut len).await.map_err(io)?;
    let len = u64::from_be_bytes(len);
    let mut meta = vec![0u8; usize::try_from(len).unwrap_or(usize::MAX).min(1 << 20)];
    file.read_exact(&mut meta).await.map_err(io)?;
    keelson_proto::decode(&meta).map_err(|source| SnapshotError::Codec {
        path: path.to_path_buf(),
        source,
    })
}

/// Reads a whole snapshot from an open file.
pub async fn read_all(
    path: &Path,
    file: &mut tokio::fs::File,
) -> Result<(SnapshotMeta, SnapshotPayload), SnapshotError> {
    let io = |source| SnapshotError::Io {
        path: path.to_path_buf(),
        source,
    };
    file.rewind().await.map_err(io)?;
    let meta = read_meta(path, file).await?;
    let mut rest = Vec::new();
    file.read_to_end(&mut rest).await.map_err(io)?;
    let payload = keelson_proto::decode(&rest).map_err(|source| SnapshotError::Codec {
        path: path.to_path_buf(),
        source,
    })?;
    Ok((meta, payload))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::{DataDir, StateWrite, StoredValue};

    #[test]
    fn a_payload_encoded_from_records_has_the_owned_payloads_bytes() {
        let dir = tempfile::tempdir().expect("temp dir");
        let data = DataDir::open(dir.path()).expect("data dir");
        let tree = data.state_tree().expect("state tree");
        let mut write = StateWrite::default();
        // Lengths on both sides of a one-byte length prefix, and an empty value.
        for (i, len) in [0usize, 1, 250, 251, 300, 70_000].into_iter().enumerate() {
            let value = StoredValue {
                revision: 10 + i as u64,
                value: vec![b'x'; len],
            };
            write.put_object(&format!("/registry/configmaps/default/c{i}"), &value);
        }
        write.put_request(7, vec![1, 2, 3]);
        write.put_request(u128::MAX, vec![9; 300]);
        tree.apply(write).expect("write");
        let records = tree.records().expect("records");

        let owned = SnapshotPayload {
            revision: 42,
            objects: records
                .objects()
                .map(|item| item.map(|(key, rev, value)| (key.to_string(), rev, value.to_vec())))
                .collect::<Result<_, _>>()
                .expect("objects"),
            requests: records
                .requests()
                .map(|item| item.map(|(id, record)| (id, record.to_vec())))
                .collect::<Result<_, _>>()
                .expect("requests"),
        };
        let mut streamed = Vec::new();
        let borrowed = RecordsPayload {
            revision: 42,
            records: &records,
        };
        let written = keelson_proto::encode_to_writer(&borrowed, &mut streamed).expect("encode");

        assert_eq!(written, streamed.len());
        assert_eq!(
            streamed,
            keelson_proto::encode(&owned).expect("encode owned")
        );
        let decoded: SnapshotPayload = keelson_proto::decode(&streamed).expect("decode");
        assert_eq!(decoded.objects.len(), 6);
        assert_eq!(decoded.objects, owned.objects);
        assert_eq!(decoded.requests, owned.requests);
    }
}
