//! A cached object: its JSON exactly as clients receive it, serialised once, plus what
//! selectors need, so GET, LIST and every watcher reuse the same bytes.

use bytes::Bytes;
use serde_json::Value;

use crate::registry::descriptor::ResourceDescriptor;
use crate::registry::object;

#[derive(Debug)]
pub struct CachedObject {
    pub key: String,
    pub namespace: String,
    pub name: String,
    pub revision: u64,
    pub json: Bytes,
    pub labels: Vec<(String, String)>,
    pub fields: Vec<(&'static str, String)>,
}

impl CachedObject {
    /// Builds the cached form of a stored value written at `revision`.
    pub fn build(
        desc: &ResourceDescriptor,
        key: &str,
        revision: u64,
        stored: &[u8],
    ) -> Result<Self, serde_json::Error> {
        let mut value: Value = serde_json::from_slice(stored)?;
        object::set_resource_version(&mut value, revision);
        // The stored bytes plus the resourceVersion field: room enough, without the
        // doubling growth that would leave up to half of every buffer unused.
        Self::with_json_capacity(desc, key, revision, &value, stored.len() + 48)
    }

    pub fn from_value(
        desc: &ResourceDescriptor,
        key: &str,
        revision: u64,
        value: &Value,
    ) -> Result<Self, serde_json::Error> {
        Self::with_json_capacity(desc, key, revision, value, 1024)
    }

    fn with_json_capacity(
        desc: &ResourceDescriptor,
        key: &str,
        revision: u64,
        value: &Value,
        capacity: usize,
    ) -> Result<Self, serde_json::Error> {
        let mut json = Vec::with_capacity(capacity);
        serde_json::to_writer(&mut json, value)?;
        // Cached objects live as long as the object: keep exactly their bytes.
        json.shrink_to_fit();
        Ok(Self {
            key: key.to_string(),
            namespace: object::namespace(value).to_string(),
            name: object::name(value).to_string(),
            revision,
            json: Bytes::from(json),
            labels: object::string_map(value, "labels"),
            fields: desc.strategy.selectable_fields(value),
        })
    }

    /// The object as a JSON value (for updates and table conversion).
    pub fn decode(&self) -> Value {
        serde_json::from_slice(&self.json).unwrap_or(Value::Null)
    }
}
