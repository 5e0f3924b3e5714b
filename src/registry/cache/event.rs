//! Watch events, encoded once per event and shared by every watcher.

use std::sync::Arc;

use bytes::Bytes;

use super::object::CachedObject;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EventType {
    Added,
    Modified,
    Deleted,
}

impl EventType {
    /// The event a write makes: DELETED when it removed the key, ADDED when nothing was
    /// there before, MODIFIED otherwise.
    pub fn of_write(removed: bool, had_prev: bool) -> Self {
        match (removed, had_prev) {
            (true, _) => EventType::Deleted,
            (false, true) => EventType::Modified,
            (false, false) => EventType::Added,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            EventType::Added => "ADDED",
            EventType::Modified => "MODIFIED",
            EventType::Deleted => "DELETED",
        }
    }
}

#[derive(Debug)]
pub struct WatchEvent {
    pub revision: u64,
    pub event_type: EventType,
    /// The object after the write; for a delete, its last state at the delete's revision.
    pub object: Arc<CachedObject>,
    /// The object before the write (none for a create).
    pub prev: Option<Arc<CachedObject>>,
    /// `{"type":...,"object":...}\n`, ready for the wire.
    pub line: Bytes,
}

/// One watch stream line: `{"type":"ADDED","object":<json>}` and a newline.
pub fn encode_line(event_type: &str, object_json: &[u8]) -> Bytes {
    let mut line = Vec::with_capacity(object_json.len() + 32);
    line.extend_from_slice(b"{\"type\":\"");
    line.extend_from_slice(event_type.as_bytes());
    line.extend_from_slice(b"\",\"object\":");
    line.extend_from_slice(object_json);
    line.extend_from_slice(b"}\n");
    Bytes::from(line)
}

impl WatchEvent {
    pub fn new(
        event_type: EventType,
        object: Arc<CachedObject>,
        prev: Option<Arc<CachedObject>>,
    ) -> Self {
        let line = encode_line(event_type.as_str(), &object.json);
        Self {
            revision: object.revision,
            event_type,
            object,
            prev,
            line,
        }
    }
}
