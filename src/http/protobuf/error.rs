//! Why a protobuf body could not be decoded. Every message names what was wrong and,
//! where known, the message and field; the HTTP edge turns all of them into 400.

use super::schema::Message;

#[derive(Debug, thiserror::Error)]
pub enum ProtobufError {
    #[error("the body does not start with the Kubernetes protobuf prefix \"k8s\\x00\"")]
    BadMagic,
    #[error("the data ends inside a {0}")]
    Truncated(&'static str),
    #[error("a varint is longer than 64 bits")]
    VarintOverflow,
    #[error("a length of {length} bytes runs past the end of the data ({remaining} bytes left)")]
    LengthPastEnd { length: u64, remaining: usize },
    #[error("field number {0} is out of range")]
    InvalidTag(u64),
    #[error("wire type {0} is not supported (groups are not used by Kubernetes)")]
    UnsupportedWireType(u8),
    #[error("the envelope (runtime.Unknown) has an unexpected {0}")]
    BadEnvelope(String),
    #[error("the envelope has no apiVersion or kind")]
    MissingTypeMeta,
    #[error("content encoding {0:?} is not supported")]
    UnsupportedEncoding(String),
    #[error("embedded content type {0:?} is not supported")]
    UnsupportedContentType(String),
    #[error("no protobuf schema is known for apiVersion {api_version:?}, kind {kind:?}")]
    UnknownKind { api_version: String, kind: String },
    #[error("{message} has no field number {tag}")]
    UnknownField { message: String, tag: u32 },
    #[error("{message}.{field} has the wrong wire type")]
    WrongWireType {
        message: String,
        field: &'static str,
    },
    #[error("{message}.{field} is not valid UTF-8")]
    InvalidUtf8 {
        message: String,
        field: &'static str,
    },
    #[error("{message}: {reason}")]
    InvalidValue { message: String, reason: String },
    #[error("messages nest deeper than {0} levels")]
    TooDeep(usize),
}

impl ProtobufError {
    pub(super) fn invalid(message: &Message, reason: impl Into<String>) -> Self {
        ProtobufError::InvalidValue {
            message: message.to_string(),
            reason: reason.into(),
        }
    }

    pub(super) fn unknown_field(message: &Message, tag: u32) -> Self {
        ProtobufError::UnknownField {
            message: message.to_string(),
            tag,
        }
    }

    pub(super) fn wrong_wire_type(message: &Message, field: &'static str) -> Self {
        ProtobufError::WrongWireType {
            message: message.to_string(),
            field,
        }
    }

    pub(super) fn invalid_utf8(message: &Message, field: &'static str) -> Self {
        ProtobufError::InvalidUtf8 {
            message: message.to_string(),
            field,
        }
    }
}
