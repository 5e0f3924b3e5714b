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
        Self::from_value(desc, key, revision, &value)
    }

    pub fn from_value(
        desc: &ResourceDescriptor,
        key: &str,
        revision: u64,
        value: &Value,
    ) -> Result<Self, serde_json::Error> {
        Ok(Self {
            key: key.to_string(),
            namespace: object::namespace(value).to_string(),
            name: object::name(value).to_string(),
            revision,
            json: Bytes::from(serde_json::to_vec(value)?),
            labels: object::string_map(value, "labels"),
            fields: desc.strategy.selectable_fields(value),
        })
    }

    /// The object as a JSON value (for updates and table conversion).
    pub fn decode(&self) -> Value {
        serde_json::from_slice(&self.json).unwrap_or(Value::Null)
    }
}
