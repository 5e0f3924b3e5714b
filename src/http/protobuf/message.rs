//! Turns one message into JSON by its field table: each field present on the wire becomes
//! a JSON member named as upstream's JSON names it; zeros Go sends only because a field is
//! not a pointer are dropped (`zero.rs`), so `replicas: 0` stays and `paused: false` goes;
//! repeated fields become arrays, maps objects. Fields the table does not list are an
//! error, so no data is dropped silently.

use base64::Engine as _;
use serde_json::{Map, Number, Value};

use super::error::ProtobufError;
use super::schema::{Field, Label, Message, Scalar, Special, Type};
use super::special;
use super::wire::{Reader, WireValue};
use super::zero;
use super::MAX_DEPTH;

/// Decodes `bytes` as `message` found `depth` messages down.
pub fn decode(
    message: &'static Message,
    bytes: &[u8],
    depth: usize,
) -> Result<Value, ProtobufError> {
    if depth > MAX_DEPTH {
        return Err(ProtobufError::TooDeep(MAX_DEPTH));
    }
    if message.special != Special::None {
        return special::decode(message, bytes, depth);
    }
    let mut object = Map::new();
    let mut reader = Reader::new(bytes);
    while let Some((tag, wire)) = reader.next_field()? {
        let field = message
            .field(tag)
            .ok_or_else(|| ProtobufError::unknown_field(message, tag))?;
        match field.label {
            Label::Optional => {
                let value = value(message, field, field.ty, wire, depth)?;
                if matches!(field.ty, Type::Scalar(_)) && zero::is_plain_zero(field.json, &value) {
                    continue;
                }
                object.insert(field.json.into(), value);
            }
            Label::Inline => match value(message, field, field.ty, wire, depth)? {
                Value::Object(members) => object.extend(members),
                _ => {
                    return Err(ProtobufError::invalid(
                        message,
                        format!("inline {} is not an object", field.json),
                    ))
                }
            },
            Label::Repeated => {
                let items = object
                    .entry(field.json)
                    .or_insert_with(|| Value::Array(Vec::new()));
                if let Value::Array(items) = items {
                    repeated(message, field, wire, depth, items)?;
                }
            }
            Label::Map(key_type) => {
                let (key, value) = map_entry(message, field, key_type, wire, depth)?;
                let entries = object
                    .entry(field.json)
                    .or_insert_with(|| Value::Object(Map::new()));
                if let Value::Object(entries) = entries {
                    entries.insert(key, value);
                }
            }
        }
    }
    Ok(Value::Object(object))
}

/// Appends one occurrence of a repeated field; numbers may also come packed.
fn repeated(
    message: &Message,
    field: &'static Field,
    wire: WireValue<'_>,
    depth: usize,
    items: &mut Vec<Value>,
) -> Result<(), ProtobufError> {
    match (field.ty, wire) {
        (
            Type::Scalar(scalar @ (Scalar::Bool | Scalar::Int32 | Scalar::Int64)),
            WireValue::Bytes(packed),
        ) => {
            let mut reader = Reader::new(packed);
            while !reader.is_empty() {
                items.push(scalar_value(
                    message,
                    field,
                    scalar,
                    WireValue::Varint(reader.varint()?),
                )?);
            }
        }
        (Type::Scalar(Scalar::Double), WireValue::Bytes(packed)) => {
            let mut reader = Reader::new(packed);
            while !reader.is_empty() {
                items.push(scalar_value(
                    message,
                    field,
                    Scalar::Double,
                    WireValue::Fixed64(reader.fixed64()?),
                )?);
            }
        }
        (ty, wire) => items.push(value(message, field, ty, wire, depth)?),
    }
    Ok(())
}

/// One map entry {1: key, 2: value}; a missing key or value is its type's zero value.
fn map_entry(
    message: &Message,
    field: &'static Field,
    key_type: Scalar,
    wire: WireValue<'_>,
    depth: usize,
) -> Result<(String, Value), ProtobufError> {
    let WireValue::Bytes(entry) = wire else {
        return Err(ProtobufError::wrong_wire_type(message, field.json));
    };
    let (mut key, mut value_wire) = (None, None);
    let mut reader = Reader::new(entry);
    while let Some((tag, wire)) = reader.next_field()? {
        match tag {
            1 => key = Some(wire),
            2 => value_wire = Some(wire),
            _ => return Err(ProtobufError::unknown_field(message, tag)),
        }
    }
    let key = match key {
        Some(wire) => match scalar_value(message, field, key_type, wire)? {
            Value::String(s) => s,
            other => other.to_string(),
        },
        None if key_type == Scalar::String => String::new(),
        None => "0".into(),
    };
    let value = match (value_wire, field.ty) {
        (Some(wire), ty) => value(message, field, ty, wire, depth)?,
        (None, Type::Message(inner)) => decode(inner, &[], depth + 1)?,
        (None, Type::Scalar(scalar)) => zero(scalar),
    };
    Ok((key, value))
}

fn zero(scalar: Scalar) -> Value {
    match scalar {
        Scalar::String | Scalar::Bytes => Value::String(String::new()),
        Scalar::Bool => Value::Bool(false),
        Scalar::Int32 | Scalar::Int64 => Value::from(0),
        Scalar::Double => Value::from(0.0),
    }
}

fn value(
    message: &Message,
    field: &'static Field,
    ty: Type,
    wire: WireValue<'_>,
    depth: usize,
) -> Result<Value, ProtobufError> {
    match (ty, wire) {
        (Type::Message(inner), WireValue::Bytes(bytes)) => decode(inner, bytes, depth + 1),
        (Type::Message(_), _) => Err(ProtobufError::wrong_wire_type(message, field.json)),
        (Type::Scalar(scalar), wire) => scalar_value(message, field, scalar, wire),
    }
}

/// A scalar's JSON form: int32 truncates a (sign-extended) varint like protobuf does.
pub fn scalar_value(
    message: &Message,
    field: &'static Field,
    scalar: Scalar,
    wire: WireValue<'_>,
) -> Result<Value, ProtobufError> {
    let value = match (scalar, wire) {
        (Scalar::String, WireValue::Bytes(b)) => Value::String(
            std::str::from_utf8(b)
                .map_err(|_| ProtobufError::invalid_utf8(message, field.json))?
                .to_owned(),
        ),
        (Scalar::Bytes, WireValue::Bytes(b)) => {
            Value::String(base64::engine::general_purpose::STANDARD.encode(b))
        }
        (Scalar::Bool, WireValue::Varint(v)) => Value::Bool(v != 0),
        (Scalar::Int32, WireValue::Varint(v)) => Value::from(v as i32),
        (Scalar::Int64, WireValue::Varint(v)) => Value::from(v as i64),
        (Scalar::Double, WireValue::Fixed64(bits)) => double(message, field, f64::from_bits(bits))?,
        _ => return Err(ProtobufError::wrong_wire_type(message, field.json)),
    };
    Ok(value)
}

/// A double as Go's JSON writes it: whole numbers without a fraction (`5`, not `5.0`), so
/// they equal what JSON clients send.
fn double(message: &Message, field: &'static Field, float: f64) -> Result<Value, ProtobufError> {
    const EXACT: f64 = 9_007_199_254_740_992.0; // 2^53
    if float.fract() == 0.0 && float.abs() < EXACT {
        return Ok(Value::from(float as i64));
    }
    let number = Number::from_f64(float).ok_or_else(|| {
        ProtobufError::invalid(
            message,
            format!("{} is {float}, which JSON cannot hold", field.json),
        )
    })?;
    Ok(Value::Number(number))
}
