//! Every key space keelson stores, in one place (databend's typed key spaces).
//!
//! Two sled trees, each with one-byte prefixes so that one atomic batch can touch several
//! spaces of the same tree:
//!
//! | tree      | prefix | key                      | value                                  |
//! |-----------|--------|--------------------------|----------------------------------------|
//! | `raft`    | `l`    | log index, u64 big-endian | codec-encoded openraft entry          |
//! | `raft`    | `m`    | name (`vote`, `purged`) | codec-encoded openraft value |
//! | `state`   | `o`    | object key (`/registry/...`) | revision u64 BE ++ object JSON     |
//! | `state`   | `c`    | revision u64 big-endian   | codec-encoded [`ChangeRecord`](super::ChangeRecord) |
//! | `state`   | `m`    | name (`applied`, `membership`, `revision`) | codec-encoded value   |
//! | `state`   | `r`    | request id, u128 big-endian | codec-encoded applied request (log index, result) |
//!
//! Data format 2 kept each change whole (value and prev) under `h`; [`super::DataDir`]
//! converts those records to `c` when it opens such a directory.

pub const RAFT_TREE: &str = "raft";
pub const STATE_TREE: &str = "state";

pub const LOG: u8 = b'l';
pub const OBJECT: u8 = b'o';
pub const HISTORY: u8 = b'c';
/// Data format 2's history records: whole [`super::Change`]s.
pub const LEGACY_HISTORY: u8 = b'h';
pub const META: u8 = b'm';
pub const REQUEST: u8 = b'r';

pub const META_VOTE: &str = "vote";
pub const META_PURGED: &str = "purged";
pub const META_APPLIED: &str = "applied";
pub const META_MEMBERSHIP: &str = "membership";
pub const META_REVISION: &str = "revision";

/// `prefix ++ index` with the index big-endian, so keys sort by index.
pub fn indexed(prefix: u8, index: u64) -> [u8; 9] {
    let mut key = [0u8; 9];
    key[0] = prefix;
    key[1..].copy_from_slice(&index.to_be_bytes());
    key
}

/// The index of a key made by [`indexed`].
pub fn index_of(key: &[u8]) -> Option<u64> {
    let bytes: [u8; 8] = key.get(1..9)?.try_into().ok()?;
    Some(u64::from_be_bytes(bytes))
}

/// `prefix ++ id` with the id big-endian.
pub fn request_key(id: u128) -> [u8; 17] {
    let mut key = [0u8; 17];
    key[0] = REQUEST;
    key[1..].copy_from_slice(&id.to_be_bytes());
    key
}

/// The id of a key made by [`request_key`].
pub fn request_id_of(key: &[u8]) -> Option<u128> {
    let bytes: [u8; 16] = key.get(1..17)?.try_into().ok()?;
    Some(u128::from_be_bytes(bytes))
}

/// `prefix ++ name`.
pub fn named(prefix: u8, name: &str) -> Vec<u8> {
    let mut key = Vec::with_capacity(1 + name.len());
    key.push(prefix);
    key.extend_from_slice(name.as_bytes());
    key
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn indexed_keys_sort_by_index() {
        assert!(indexed(LOG, 9) < indexed(LOG, 10));
        assert!(indexed(LOG, 255) < indexed(LOG, 256));
        assert_eq!(index_of(&indexed(LOG, 42)), Some(42));
        assert_eq!(index_of(b"l"), None);
    }
}
