//! A cached object: its JSON exactly as clients receive it, serialised once, plus what
//! selectors need, so GET, LIST and every watcher reuse the same bytes.

use std::collections::BTreeMap;

use bytes::Bytes;
use serde::Serialize;
use serde_json::value::RawValue;
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
    ///
    /// A start decodes every stored object and each write decodes one, so the bulky
    /// members (a ConfigMap's or Secret's data) are copied through as stored instead
    /// of being parsed into values and serialised again: at 100,000 ConfigMaps that was
    /// a third of the start's decoding time. The rest is parsed, for the selectors and
    /// to add the resourceVersion, and the members are written in the same sorted order
    /// a `Value` would write them, so the bytes are the same either way.
    pub fn build(
        desc: &ResourceDescriptor,
        key: &str,
        revision: u64,
        stored: &[u8],
    ) -> Result<Self, serde_json::Error> {
        let members: BTreeMap<String, &RawValue> = serde_json::from_slice(stored)?;
        let mut parsed = serde_json::Map::new();
        let mut copied = Vec::new();
        for (name, raw) in members {
            if COPIED_MEMBERS.contains(&name.as_str()) {
                copied.push((name, raw));
            } else {
                parsed.insert(name, serde_json::from_str(raw.get())?);
            }
        }
        let mut value = Value::Object(parsed);
        object::set_resource_version(&mut value, revision);
        // The stored bytes plus the resourceVersion field: room enough, without the
        // doubling growth that would leave up to half of every buffer unused.
        let mut json = Vec::with_capacity(stored.len() + 48);
        write_members(&mut json, &value, &copied)?;
        Self::with_json(desc, key, revision, &value, json)
    }

    pub fn from_value(
        desc: &ResourceDescriptor,
        key: &str,
        revision: u64,
        value: &Value,
    ) -> Result<Self, serde_json::Error> {
        let mut json = Vec::with_capacity(1024);
        serde_json::to_writer(&mut json, value)?;
        Self::with_json(desc, key, revision, value, json)
    }

    /// `value` gives the selectors' fields; `json` is what clients receive.
    fn with_json(
        desc: &ResourceDescriptor,
        key: &str,
        revision: u64,
        value: &Value,
        mut json: Vec<u8>,
    ) -> Result<Self, serde_json::Error> {
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

/// Top-level members no selector reads and that hold most of an object's bytes.
const COPIED_MEMBERS: [&str; 2] = ["data", "binaryData"];

/// A top-level member as it is written: parsed (and perhaps changed) or as stored.
#[derive(Serialize)]
#[serde(untagged)]
enum Member<'a> {
    Parsed(&'a Value),
    Stored(&'a RawValue),
}

/// Writes the object whose members are `parsed`'s and `copied`'s, in key order.
fn write_members(
    out: &mut Vec<u8>,
    parsed: &Value,
    copied: &[(String, &RawValue)],
) -> Result<(), serde_json::Error> {
    let mut members: BTreeMap<&str, Member> = copied
        .iter()
        .map(|(name, raw)| (name.as_str(), Member::Stored(raw)))
        .collect();
    if let Some(parsed) = parsed.as_object() {
        members.extend(
            parsed
                .iter()
                .map(|(name, v)| (name.as_str(), Member::Parsed(v))),
        );
    }
    serde_json::to_writer(out, &members)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn kind(resource: &str) -> &'static ResourceDescriptor {
        crate::kinds::catalog()
            .into_iter()
            .find(|d| d.resource == resource)
            .expect("a built-in kind")
    }

    /// What `build` must equal: the whole stored object parsed, stamped and written.
    fn parsed_and_written(
        desc: &ResourceDescriptor,
        stored: &Value,
        revision: u64,
    ) -> CachedObject {
        let mut value = stored.clone();
        object::set_resource_version(&mut value, revision);
        CachedObject::from_value(desc, "k", revision, &value).expect("builds")
    }

    #[test]
    fn copying_bulky_members_gives_the_bytes_a_full_parse_gives() {
        let objects = [
            (
                "configmaps",
                json!({"kind": "ConfigMap", "apiVersion": "v1",
                "metadata": {"name": "a", "namespace": "n", "labels": {"app": "x"}},
                "data": {"z": "line\nwith \"quotes\" and \\u00e9 é \u{1F600}", "a": "1"},
                "binaryData": {"b": "AAEC"}, "immutable": true}),
            ),
            ("configmaps", json!({"metadata": {"name": "only-meta"}})),
            (
                "configmaps",
                json!({"data": {}, "metadata": {"name": "b", "resourceVersion": "3"}}),
            ),
            (
                "secrets",
                json!({"kind": "Secret", "apiVersion": "v1", "type": "kubernetes.io/tls",
                "metadata": {"name": "s", "namespace": "n"}, "data": {"tls.crt": "QUJD"}}),
            ),
            (
                "pods",
                json!({"kind": "Pod", "metadata": {"name": "p", "namespace": "n"},
                "spec": {"nodeName": "node-1", "containers": [{"name": "c", "image": "i"}]},
                "status": {"phase": "Running"}}),
            ),
        ];
        for (resource, stored) in objects {
            let desc = kind(resource);
            let bytes = serde_json::to_vec(&stored).expect("serialises");
            let built = CachedObject::build(desc, "k", 42, &bytes).expect("builds");
            let expected = parsed_and_written(desc, &stored, 42);
            assert_eq!(
                String::from_utf8_lossy(&built.json),
                String::from_utf8_lossy(&expected.json),
                "{resource}"
            );
            assert_eq!(
                (&built.name, &built.namespace, &built.labels, &built.fields),
                (
                    &expected.name,
                    &expected.namespace,
                    &expected.labels,
                    &expected.fields
                ),
                "{resource}"
            );
            assert_eq!(built.decode()["metadata"]["resourceVersion"], "42");
        }
    }

    #[test]
    fn a_stored_value_that_is_not_an_object_is_an_error() {
        for stored in [&b"[1,2]"[..], b"\"x\"", b"{\"data\": ", b""] {
            assert!(CachedObject::build(kind("configmaps"), "k", 1, stored).is_err());
        }
    }
}
