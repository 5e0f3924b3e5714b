//! The applied state: objects by key, the recent change history, and apply metadata.
//!
//! One sled tree so that everything one apply step changes lands in one atomic batch:
//! a crash leaves the state exactly as of some applied log entry, which Raft then replays
//! forward from its log. Values are opaque bytes; the revision of each object's last write
//! is kept beside it, as etcd keeps `mod_revision`.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashSet};

use serde::{Deserialize, Serialize};

use super::keyspace::{
    index_of, indexed, named, request_id_of, request_key, HISTORY, LEGACY_HISTORY, META, OBJECT,
    REQUEST,
};
use super::{Flusher, StorageError};

/// An object's stored bytes and the revision of its last write.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredValue {
    pub revision: u64,
    pub value: Vec<u8>,
}

impl StoredValue {
    fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(8 + self.value.len());
        out.extend_from_slice(&self.revision.to_be_bytes());
        out.extend_from_slice(&self.value);
        out
    }

    fn decode(key: &[u8], bytes: &[u8]) -> Result<Self, StorageError> {
        let (revision, value) = split_record(key, bytes)?;
        Ok(Self {
            revision,
            value: value.to_vec(),
        })
    }
}

/// An object record's revision and value, the value borrowed.
fn split_record<'a>(key: &[u8], bytes: &'a [u8]) -> Result<(u64, &'a [u8]), StorageError> {
    let (head, value) = bytes
        .split_at_checked(8)
        .ok_or_else(|| StorageError::Corrupt {
            key: String::from_utf8_lossy(key).into_owned(),
            reason: "object record shorter than its revision".into(),
        })?;
    let mut revision = [0u8; 8];
    revision.copy_from_slice(head);
    Ok((u64::from_be_bytes(revision), value))
}

/// One applied write, as watchers and the history see it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Change {
    pub revision: u64,
    pub key: String,
    /// The new value; `None` when the key was deleted.
    #[serde(with = "serde_bytes")]
    pub value: Option<Vec<u8>>,
    /// The value before this write; `None` when the key was created.
    #[serde(with = "serde_bytes")]
    pub prev: Option<Vec<u8>>,
}

/// A change as its history record keeps it: what it did to which key, and the value
/// before it. The value it wrote is left out, because it is stored elsewhere already: it
/// is the `prev` of the key's next change, or, for the key's last change, the object as
/// stored now. Keeping it too would store every written value a third time.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChangeRecord {
    pub revision: u64,
    pub key: String,
    pub deleted: bool,
    #[serde(with = "serde_bytes")]
    pub prev: Option<Vec<u8>>,
}

/// [`ChangeRecord`]'s encoding, borrowing from the change it records.
#[derive(Serialize)]
struct ChangeRecordOf<'a> {
    revision: u64,
    key: &'a str,
    deleted: bool,
    #[serde(with = "serde_bytes")]
    prev: Option<&'a [u8]>,
}

impl<'a> From<&'a Change> for ChangeRecordOf<'a> {
    fn from(change: &'a Change) -> Self {
        Self {
            revision: change.revision,
            key: &change.key,
            deleted: change.value.is_none(),
            prev: change.prev.as_deref(),
        }
    }
}

/// A history record as read at start: its revision and key, the rest still encoded
/// until a kind keeps the record (most of a long history is other kinds', or older
/// than a kind keeps).
pub struct StoredChange {
    pub revision: u64,
    pub key: String,
    encoded: sled::IVec,
}

impl StoredChange {
    pub fn decode(&self) -> Result<ChangeRecord, StorageError> {
        keelson_proto::decode(&self.encoded).map_err(|e| StorageError::Corrupt {
            key: format!("history record {}", self.revision),
            reason: e.to_string(),
        })
    }
}

/// The first fields of [`ChangeRecord`] (and of [`Change`]), in order: what reading a
/// history record's head decodes.
#[derive(Deserialize)]
struct ChangeHead {
    revision: u64,
    key: String,
}

/// What one apply step writes: object changes, their history records, and metadata.
#[derive(Default)]
pub struct StateWrite {
    batch: sled::Batch,
}

impl StateWrite {
    pub fn put_object(&mut self, key: &str, value: &StoredValue) {
        self.batch.insert(named(OBJECT, key), value.encode());
    }

    pub fn remove_object(&mut self, key: &str) {
        self.batch.remove(named(OBJECT, key));
    }

    pub fn record_history(&mut self, change: &Change) -> Result<(), StorageError> {
        let encoded = encode_record(change)?;
        self.batch
            .insert(&indexed(HISTORY, change.revision), encoded);
        Ok(())
    }

    pub fn forget_history(&mut self, revision: u64) {
        self.batch.remove(&indexed(HISTORY, revision));
    }

    pub fn put_meta(&mut self, name: &str, value: Vec<u8>) {
        self.batch.insert(named(META, name), value);
    }

    pub fn put_request(&mut self, id: u128, encoded: Vec<u8>) {
        self.batch.insert(&request_key(id), encoded);
    }

    pub fn remove_request(&mut self, id: u128) {
        self.batch.remove(&request_key(id));
    }
}

/// Object and applied-request records as sled returned them (shared buffers, not copies).
///
/// Scanned while applies go on, they mix states: each record is as some apply left it.
/// [`StoredRecords::catch_up`] with a [`Reread`] taken while no apply runs makes them
/// exactly the state of that moment.
pub struct StoredRecords {
    objects: Vec<(sled::IVec, sled::IVec)>,
    requests: Vec<(sled::IVec, sled::IVec)>,
}

/// Records read again while no apply runs: the current record of every object changed
/// since a scan began (`None`: deleted since), and of every request remembered since.
#[derive(Default)]
pub struct Reread {
    objects: BTreeMap<sled::IVec, Option<sled::IVec>>,
    requests: Vec<(sled::IVec, sled::IVec)>,
}

impl Reread {
    /// How many object and request records were read again.
    pub fn len(&self) -> usize {
        self.objects.len() + self.requests.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl StoredRecords {
    /// Brings records scanned while applies went on up to the moment `reread` was
    /// taken. Objects changed since the scan began take their reread records (or go, if
    /// deleted); request records stay only for ids `remembered` still holds, with the
    /// reread ones added. The caller guarantees every other record did not change
    /// between the scan and the reread.
    pub fn catch_up(&mut self, reread: Reread, remembered: impl Fn(u128) -> bool) {
        let scanned = std::mem::take(&mut self.objects);
        let mut changed = reread.objects.into_iter().peekable();
        let mut objects = Vec::with_capacity(scanned.len() + changed.len());
        for (key, record) in scanned {
            while changed.peek().is_some_and(|(next, _)| *next < key) {
                if let Some((next, Some(current))) = changed.next() {
                    objects.push((next, current));
                }
            }
            if changed.peek().is_some_and(|(next, _)| *next == key) {
                if let Some((next, Some(current))) = changed.next() {
                    objects.push((next, current));
                }
                continue;
            }
            objects.push((key, record));
        }
        objects.extend(changed.filter_map(|(key, current)| current.map(|c| (key, c))));
        self.objects = objects;

        let reread_ids: HashSet<&sled::IVec> = reread.requests.iter().map(|(key, _)| key).collect();
        self.requests.retain(|(key, _)| {
            !reread_ids.contains(key) && request_id_of(key).is_some_and(&remembered)
        });
        self.requests.extend(reread.requests);
        self.requests.sort_unstable_by(|a, b| a.0.cmp(&b.0));
    }

    /// How many objects the records hold.
    pub fn object_count(&self) -> usize {
        self.objects.len()
    }

    /// The objects as (key, revision of last write, value), borrowed, in key order.
    pub fn objects(
        &self,
    ) -> impl Iterator<Item = Result<(Cow<'_, str>, u64, &[u8]), StorageError>> + '_ {
        self.objects
            .iter()
            .map(|(key, bytes)| split_object(key, bytes))
    }

    /// How many request records the records hold.
    pub fn request_count(&self) -> usize {
        self.requests.len()
    }

    /// The remembered request ids with their encoded records.
    pub fn requests(&self) -> impl Iterator<Item = Result<(u128, sled::IVec), StorageError>> + '_ {
        self.requests
            .iter()
            .map(|(key, bytes)| decode_request(key, bytes.clone()))
    }
}

fn encode_record(change: &Change) -> Result<Vec<u8>, StorageError> {
    keelson_proto::encode(&ChangeRecordOf::from(change)).map_err(|source| StorageError::Encode {
        revision: change.revision,
        source,
    })
}

/// Rewrites data format 2's history records (whole changes, under
/// [`LEGACY_HISTORY`]) as [`ChangeRecord`]s, in one atomic batch, and returns how many
/// it converted. Idempotent: a second call finds nothing to convert.
pub(super) fn upgrade_legacy_history(tree: &sled::Tree) -> Result<usize, StorageError> {
    let mut batch = sled::Batch::default();
    let mut converted = 0;
    for item in tree.scan_prefix([LEGACY_HISTORY]) {
        let (key, encoded) = item?;
        let change: Change =
            keelson_proto::decode(&encoded).map_err(|e| StorageError::Corrupt {
                key: String::from_utf8_lossy(&key).into_owned(),
                reason: e.to_string(),
            })?;
        batch.insert(&indexed(HISTORY, change.revision), encode_record(&change)?);
        batch.remove(key);
        converted += 1;
    }
    if converted > 0 {
        tree.apply_batch(batch)?;
    }
    Ok(converted)
}

fn decode_object(key: &[u8], bytes: &[u8]) -> Result<(String, StoredValue), StorageError> {
    let (name, revision, value) = split_object(key, bytes)?;
    let value = value.to_vec();
    Ok((name.into_owned(), StoredValue { revision, value }))
}

/// An object record's name (its key without the key-space byte), revision and value,
/// borrowed.
fn split_object<'a>(
    key: &'a [u8],
    bytes: &'a [u8],
) -> Result<(Cow<'a, str>, u64, &'a [u8]), StorageError> {
    let (revision, value) = split_record(key, bytes)?;
    Ok((String::from_utf8_lossy(&key[1..]), revision, value))
}

fn decode_request(key: &[u8], bytes: sled::IVec) -> Result<(u128, sled::IVec), StorageError> {
    let id = request_id_of(key).ok_or_else(|| StorageError::Corrupt {
        key: String::from_utf8_lossy(key).into_owned(),
        reason: "request key without an id".into(),
    })?;
    Ok((id, bytes))
}

#[derive(Clone)]
pub struct StateTree {
    tree: sled::Tree,
    flusher: Flusher,
}

impl StateTree {
    pub(super) fn new(tree: sled::Tree, flusher: Flusher) -> Self {
        Self { tree, flusher }
    }

    pub fn object(&self, key: &str) -> Result<Option<StoredValue>, StorageError> {
        let key = named(OBJECT, key);
        match self.tree.get(&key)? {
            Some(bytes) => Ok(Some(StoredValue::decode(&key, &bytes)?)),
            None => Ok(None),
        }
    }

    /// Every object whose key starts with `prefix`, in key order.
    pub fn objects(
        &self,
        prefix: &str,
    ) -> impl Iterator<Item = Result<(String, StoredValue), StorageError>> {
        self.tree.scan_prefix(named(OBJECT, prefix)).map(|item| {
            let (key, bytes) = item?;
            decode_object(&key, &bytes)
        })
    }

    /// Every object and applied-request record as stored, not yet decoded: what a
    /// snapshot holds. Consistent only if no apply runs meanwhile (see
    /// [`StoredRecords::catch_up`]); decoding and copying the values is left to the reader.
    pub fn records(&self) -> Result<StoredRecords, StorageError> {
        Ok(StoredRecords {
            objects: self.tree.scan_prefix([OBJECT]).collect::<Result<_, _>>()?,
            requests: self.tree.scan_prefix([REQUEST]).collect::<Result<_, _>>()?,
        })
    }

    /// History records with revision > `after`, in order, with only their heads decoded.
    pub fn history_after(
        &self,
        after: u64,
    ) -> impl Iterator<Item = Result<StoredChange, StorageError>> {
        let start = indexed(HISTORY, after.saturating_add(1));
        self.tree
            .range(start..=indexed(HISTORY, u64::MAX))
            .map(|item| {
                let (key, encoded) = item?;
                let corrupt = |reason: String| StorageError::Corrupt {
                    key: String::from_utf8_lossy(&key).into_owned(),
                    reason,
                };
                let revision = index_of(&key)
                    .ok_or_else(|| corrupt("history key without a revision".into()))?;
                let head: ChangeHead =
                    keelson_proto::decode_prefix(&encoded).map_err(|e| corrupt(e.to_string()))?;
                if head.revision != revision {
                    return Err(corrupt(format!(
                        "holds the change of revision {}",
                        head.revision
                    )));
                }
                Ok(StoredChange {
                    revision,
                    key: head.key,
                    encoded,
                })
            })
    }

    /// Reads the current record of object `key` into `reread` (`None` if it is gone).
    pub fn reread_object(&self, reread: &mut Reread, key: &str) -> Result<(), StorageError> {
        let key = named(OBJECT, key);
        let current = self.tree.get(&key)?;
        reread.objects.insert(key.into(), current);
        Ok(())
    }

    /// Reads the record of request `id` into `reread`, if one is stored.
    pub fn reread_request(&self, reread: &mut Reread, id: u128) -> Result<(), StorageError> {
        let key = request_key(id);
        if let Some(record) = self.tree.get(key)? {
            reread.requests.push((sled::IVec::from(&key[..]), record));
        }
        Ok(())
    }

    /// The encoded record of an applied request id, if it is still remembered.
    pub fn request(&self, id: u128) -> Result<Option<sled::IVec>, StorageError> {
        Ok(self.tree.get(request_key(id))?)
    }

    /// Every remembered request id with its encoded record.
    pub fn requests(&self) -> impl Iterator<Item = Result<(u128, sled::IVec), StorageError>> {
        self.tree.scan_prefix([REQUEST]).map(|item| {
            let (key, bytes) = item?;
            decode_request(&key, bytes)
        })
    }

    pub fn meta(&self, name: &str) -> Result<Option<sled::IVec>, StorageError> {
        Ok(self.tree.get(named(META, name))?)
    }

    /// Applies one step atomically (durable with the next flush).
    pub fn apply(&self, write: StateWrite) -> Result<(), StorageError> {
        self.tree.apply_batch(write.batch)?;
        Ok(())
    }

    /// Drops every object and history record (before a snapshot is installed).
    pub fn clear(&self) -> Result<(), StorageError> {
        self.tree.clear()?;
        Ok(())
    }

    pub async fn flush(&self) -> Result<(), StorageError> {
        self.flusher.flush().await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::DataDir;

    fn request_ids(records: &StoredRecords) -> Vec<u128> {
        records
            .requests()
            .map(|item| item.map(|(id, _)| id))
            .collect::<Result<_, _>>()
            .expect("request records")
    }

    #[test]
    fn catching_up_keeps_the_requests_still_remembered_and_adds_the_reread_ones() {
        let dir = tempfile::tempdir().expect("temp dir");
        let data = DataDir::open(dir.path()).expect("data dir");
        let tree = data.state_tree().expect("state tree");
        let mut write = StateWrite::default();
        for id in [1, 2, 3] {
            write.put_request(id, vec![id as u8]);
        }
        tree.apply(write).expect("first write");
        let mut records = tree.records().expect("scan");

        let mut write = StateWrite::default();
        write.remove_request(1);
        write.put_request(4, vec![4]);
        tree.apply(write).expect("second write");
        let mut reread = Reread::default();
        tree.reread_request(&mut reread, 4).expect("reread");
        records.catch_up(reread, |id| (2..=4).contains(&id));

        assert_eq!(request_ids(&records), vec![2, 3, 4]);
        assert_eq!(
            request_ids(&records),
            request_ids(&tree.records().expect("now"))
        );
    }
}
