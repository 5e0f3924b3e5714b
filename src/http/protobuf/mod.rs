//! Decodes `application/vnd.kubernetes.protobuf` request bodies into the JSON object the
//! engine works on, so kubectl's typed generators and client-go typed clients can write.
//!
//! A body is upstream's envelope: the magic `k8s\0`, then a `runtime.Unknown` whose type
//! meta names the kind and whose `raw` holds the object's own message. The steps, in order:
//! [`wire`] splits bytes into fields, this file opens the envelope and finds the kind's
//! message in [`schema`] (generated at build time from k8s-pb and k8s-openapi by
//! `build.rs`), [`message`] turns the message into JSON by its field table, and
//! [`special`] gives the well-known messages (Time, Quantity, IntOrString, RawExtension,
//! ...) their JSON forms. Data that the schema cannot place is an error, never dropped.

mod error;
mod message;
mod schema;
mod special;
mod text;
mod wire;
mod zero;

#[cfg(test)]
mod tests;

use serde_json::{Map, Value};

pub use error::ProtobufError;
use wire::{Reader, WireValue};

/// The four bytes every Kubernetes protobuf body starts with.
pub const MAGIC: &[u8; 4] = b"k8s\0";

/// How deeply messages may nest (a CRD schema nests about one level per property level).
pub const MAX_DEPTH: usize = 100;

/// Decodes a `application/vnd.kubernetes.protobuf` request body into the object's JSON,
/// with `apiVersion` and `kind` taken from the envelope.
pub fn decode(body: &[u8]) -> Result<Value, ProtobufError> {
    decode_envelope(body, 0)
}

/// Decodes an envelope found at `depth` (the top, or inside a RawExtension).
pub(crate) fn decode_envelope(body: &[u8], depth: usize) -> Result<Value, ProtobufError> {
    let inner = body.strip_prefix(MAGIC).ok_or(ProtobufError::BadMagic)?;
    let unknown = Unknown::read(inner)?;
    if !unknown.content_encoding.is_empty() {
        return Err(ProtobufError::UnsupportedEncoding(unknown.content_encoding));
    }
    if !matches!(
        unknown.content_type.as_str(),
        "" | "application/vnd.kubernetes.protobuf"
    ) {
        return Err(ProtobufError::UnsupportedContentType(unknown.content_type));
    }
    if unknown.api_version.is_empty() || unknown.kind.is_empty() {
        return Err(ProtobufError::MissingTypeMeta);
    }
    let message = schema::find_kind(&unknown.api_version, &unknown.kind).ok_or_else(|| {
        ProtobufError::UnknownKind {
            api_version: unknown.api_version.clone(),
            kind: unknown.kind.clone(),
        }
    })?;
    let fields = match message::decode(message, unknown.raw, depth + 1)? {
        Value::Object(fields) => fields,
        other => {
            return Err(ProtobufError::invalid(
                message,
                format!("decodes to {other}, not an object"),
            ))
        }
    };
    let mut object = Map::new();
    object.insert("apiVersion".into(), Value::String(unknown.api_version));
    object.insert("kind".into(), Value::String(unknown.kind));
    object.extend(fields);
    Ok(Value::Object(object))
}

/// `runtime.Unknown`: {1: TypeMeta{1: apiVersion, 2: kind}, 2: raw, 3: contentEncoding,
/// 4: contentType}.
#[derive(Default)]
struct Unknown<'a> {
    api_version: String,
    kind: String,
    raw: &'a [u8],
    content_encoding: String,
    content_type: String,
}

impl<'a> Unknown<'a> {
    fn read(bytes: &'a [u8]) -> Result<Self, ProtobufError> {
        let mut unknown = Unknown::default();
        let mut reader = Reader::new(bytes);
        while let Some((tag, value)) = reader.next_field()? {
            match (tag, value) {
                (1, WireValue::Bytes(type_meta)) => {
                    let mut reader = Reader::new(type_meta);
                    while let Some((tag, value)) = reader.next_field()? {
                        match (tag, value) {
                            (1, WireValue::Bytes(b)) => unknown.api_version = envelope_string(b)?,
                            (2, WireValue::Bytes(b)) => unknown.kind = envelope_string(b)?,
                            (tag, _) => {
                                return Err(ProtobufError::BadEnvelope(format!(
                                    "TypeMeta field {tag}"
                                )))
                            }
                        }
                    }
                }
                (2, WireValue::Bytes(raw)) => unknown.raw = raw,
                (3, WireValue::Bytes(b)) => unknown.content_encoding = envelope_string(b)?,
                (4, WireValue::Bytes(b)) => unknown.content_type = envelope_string(b)?,
                (tag, _) => {
                    return Err(ProtobufError::BadEnvelope(format!(
                        "runtime.Unknown field {tag}"
                    )))
                }
            }
        }
        Ok(unknown)
    }
}

fn envelope_string(bytes: &[u8]) -> Result<String, ProtobufError> {
    String::from_utf8(bytes.to_vec())
        .map_err(|_| ProtobufError::BadEnvelope("a string that is not UTF-8".into()))
}
