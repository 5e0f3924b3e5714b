//! The well-known messages whose JSON form is not an object of their fields: times,
//! durations, quantities, int-or-strings, embedded raw JSON and objects, wrapped string
//! slices and the apiextensions schema unions. Each follows the Go type's `MarshalJSON`
//! applied to what its protobuf `Unmarshal` produces.

use serde_json::Value;

use super::error::ProtobufError;
use super::message;
use super::schema::{Field, Message, Scalar, Special, Type};
use super::text;
use super::wire::{Reader, WireValue};
use super::MAGIC;

type Entry<'a> = (&'static Field, WireValue<'a>);

/// `time.Time{}` (January 1, year 1, UTC), which Go's JSON writes as null.
const GO_ZERO_TIME_SECONDS: i64 = -62_135_596_800;

pub fn decode(
    message: &'static Message,
    bytes: &[u8],
    depth: usize,
) -> Result<Value, ProtobufError> {
    let mut fields = Vec::new();
    let mut reader = Reader::new(bytes);
    while let Some((tag, wire)) = reader.next_field()? {
        fields.push((
            message
                .field(tag)
                .ok_or_else(|| ProtobufError::unknown_field(message, tag))?,
            wire,
        ));
    }
    let fields = fields.as_slice();
    match message.special {
        Special::Time => time(message, fields, false),
        Special::MicroTime => time(message, fields, true),
        Special::Duration => Ok(Value::String(text::go_duration(
            int(message, fields, 1)?.unwrap_or(0),
        ))),
        Special::Quantity => {
            Ok(scalar(message, fields, 1)?.unwrap_or_else(|| Value::String("0".into())))
        }
        Special::IntOrString => int_or_string(message, fields),
        Special::RawJson => raw(message, fields).and_then(|raw| json(message, raw)),
        Special::RawExtension => match raw(message, fields)? {
            Some(raw) if raw.starts_with(MAGIC) => super::decode_envelope(raw, depth),
            raw => json(message, raw),
        },
        Special::StringList => all(fields, 1)
            .map(|(f, wire)| message::scalar_value(message, f, Scalar::String, wire))
            .collect::<Result<_, _>>()
            .map(Value::Array),
        Special::SchemaOrBool => match last(fields, 2) {
            Some(schema) => nested(message, schema, depth),
            None => Ok(scalar(message, fields, 1)?.unwrap_or(Value::Bool(false))),
        },
        Special::SchemaOrArray => match (all(fields, 2).next(), last(fields, 1)) {
            (Some(_), _) => all(fields, 2)
                .map(|entry| nested(message, entry, depth))
                .collect::<Result<_, _>>()
                .map(Value::Array),
            (None, Some(schema)) => nested(message, schema, depth),
            (None, None) => Ok(Value::Null),
        },
        Special::SchemaOrStringArray => match (all(fields, 2).next(), last(fields, 1)) {
            (Some(_), _) => all(fields, 2)
                .map(|(f, wire)| message::scalar_value(message, f, Scalar::String, wire))
                .collect::<Result<_, _>>()
                .map(Value::Array),
            (None, Some(schema)) => nested(message, schema, depth),
            (None, None) => Ok(Value::Null),
        },
        Special::None => message::decode(message, bytes, depth),
    }
}

fn last<'a>(fields: &[Entry<'a>], tag: u32) -> Option<Entry<'a>> {
    fields.iter().rev().find(|(f, _)| f.tag == tag).copied()
}

fn all<'s, 'a>(fields: &'s [Entry<'a>], tag: u32) -> impl Iterator<Item = Entry<'a>> + 's {
    fields.iter().filter(move |(f, _)| f.tag == tag).copied()
}

/// The last value of scalar field `tag`, as JSON.
fn scalar(
    message: &Message,
    fields: &[Entry<'_>],
    tag: u32,
) -> Result<Option<Value>, ProtobufError> {
    let Some((field, wire)) = last(fields, tag) else {
        return Ok(None);
    };
    match field.ty {
        Type::Scalar(scalar) => message::scalar_value(message, field, scalar, wire).map(Some),
        Type::Message(_) => Err(ProtobufError::invalid(
            message,
            format!("{} is not a scalar", field.json),
        )),
    }
}

fn int(message: &Message, fields: &[Entry<'_>], tag: u32) -> Result<Option<i64>, ProtobufError> {
    Ok(scalar(message, fields, tag)?.and_then(|v| v.as_i64()))
}

fn nested(
    message: &Message,
    (field, wire): Entry<'_>,
    depth: usize,
) -> Result<Value, ProtobufError> {
    match (field.ty, wire) {
        (Type::Message(inner), WireValue::Bytes(bytes)) => message::decode(inner, bytes, depth + 1),
        _ => Err(ProtobufError::wrong_wire_type(message, field.json)),
    }
}

fn time(message: &Message, fields: &[Entry<'_>], micro: bool) -> Result<Value, ProtobufError> {
    if fields.is_empty() {
        return Ok(Value::Null);
    }
    let seconds = int(message, fields, 1)?.unwrap_or(0);
    // metav1.Time's Unmarshal keeps whole seconds only; MicroTime keeps the nanoseconds.
    let nanos = if micro {
        int(message, fields, 2)?.unwrap_or(0)
    } else {
        0
    };
    if seconds == GO_ZERO_TIME_SECONDS && nanos == 0 {
        return Ok(Value::Null);
    }
    let formatted = text::rfc3339(seconds, nanos, micro).ok_or_else(|| {
        ProtobufError::invalid(
            message,
            format!("{seconds}s {nanos}ns is outside the years 0 to 9999"),
        )
    })?;
    Ok(Value::String(formatted))
}

fn int_or_string(message: &Message, fields: &[Entry<'_>]) -> Result<Value, ProtobufError> {
    match int(message, fields, 1)?.unwrap_or(0) {
        0 => Ok(scalar(message, fields, 2)?.unwrap_or(Value::from(0))),
        1 => Ok(scalar(message, fields, 3)?.unwrap_or(Value::String(String::new()))),
        other => Err(ProtobufError::invalid(
            message,
            format!("type {other} is neither 0 (int) nor 1 (string)"),
        )),
    }
}

/// The bytes of field 1 (`raw`).
fn raw<'a>(message: &Message, fields: &[Entry<'a>]) -> Result<Option<&'a [u8]>, ProtobufError> {
    match last(fields, 1) {
        None => Ok(None),
        Some((_, WireValue::Bytes(bytes))) => Ok(Some(bytes)),
        Some((field, _)) => Err(ProtobufError::wrong_wire_type(message, field.json)),
    }
}

/// Raw JSON bytes; none (or empty) is JSON null, as Go's `RawExtension` writes it.
fn json(message: &Message, raw: Option<&[u8]>) -> Result<Value, ProtobufError> {
    match raw {
        None | Some([]) => Ok(Value::Null),
        Some(raw) => serde_json::from_slice(raw)
            .map_err(|e| ProtobufError::invalid(message, format!("raw is not JSON: {e}"))),
    }
}
