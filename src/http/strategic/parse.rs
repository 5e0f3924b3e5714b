//! Decoding a strategic merge patch body with the messages upstream's Go JSON decoder
//! gives (`invalid character 'x' looking for beginning of value`, `unexpected end of
//! JSON input`, `json: cannot unmarshal array into Go value of type map[string]interface
//! {}`), because upstream answers a malformed body 400 with exactly that text.
//!
//! The syntax check walks the bytes once with the same states as Go's scanner, so the
//! first bad byte and the phrase after it match; serde_json then builds the value.

use serde_json::{Map, Value};

/// The patch object in `body`, or the message upstream would answer 400 with. A `null`
/// body is an empty patch, as upstream decodes it.
pub fn decode(body: &[u8]) -> Result<Map<String, Value>, String> {
    check_syntax(body)?;
    let value: Value = match serde_json::from_slice(body) {
        Ok(v) => v,
        // Go replaces invalid UTF-8 in strings; serde refuses it.
        Err(_) => serde_json::from_str(&String::from_utf8_lossy(body))
            .map_err(|e| format!("error decoding patch: {e}"))?,
    };
    let found = match value {
        Value::Object(map) => return Ok(map),
        Value::Null => return Ok(Map::new()),
        Value::Array(_) => "array",
        Value::String(_) => "string",
        Value::Number(_) => "number",
        Value::Bool(_) => "bool",
    };
    Err(format!(
        "json: cannot unmarshal {found} into Go value of type map[string]interface {{}}"
    ))
}

#[derive(Clone, Copy, PartialEq)]
enum Frame {
    ObjectKey,
    ObjectValue,
    Array,
}

/// Go's scanner, reduced to what decides the error message.
fn check_syntax(body: &[u8]) -> Result<(), String> {
    let mut stack: Vec<Frame> = Vec::new();
    let mut i = 0;
    loop {
        if value_start(body, &mut i, &mut stack)? {
            continue;
        }
        // After a complete value: what the enclosing frame allows next.
        loop {
            skip_space(body, &mut i);
            let Some(frame) = stack.last().copied() else {
                return match body.get(i) {
                    None => Ok(()),
                    Some(&c) => Err(invalid(c, "after top-level value")),
                };
            };
            let c = next(body, &mut i)?;
            match (frame, c) {
                (Frame::ObjectKey, b':') => {
                    stack.pop();
                    stack.push(Frame::ObjectValue);
                    break;
                }
                (Frame::ObjectKey, _) => return Err(invalid(c, "after object key")),
                (Frame::ObjectValue, b',') => {
                    stack.pop();
                    stack.push(Frame::ObjectKey);
                    key_string(body, &mut i)?;
                }
                (Frame::ObjectValue, b'}') | (Frame::Array, b']') => {
                    stack.pop();
                }
                (Frame::ObjectValue, _) => return Err(invalid(c, "after object key:value pair")),
                (Frame::Array, b',') => break,
                (Frame::Array, _) => return Err(invalid(c, "after array element")),
            }
        }
    }
}

/// Scans the start of a value. Returns true when a non-empty array was opened (a value
/// must follow), false when a value (or an object's first key) is complete.
fn value_start(body: &[u8], i: &mut usize, stack: &mut Vec<Frame>) -> Result<bool, String> {
    skip_space(body, i);
    let c = next(body, i)?;
    match c {
        b'{' => {
            skip_space(body, i);
            if body.get(*i) == Some(&b'}') {
                *i += 1;
            } else {
                stack.push(Frame::ObjectKey);
                key_string(body, i)?;
            }
        }
        b'[' => {
            skip_space(body, i);
            if body.get(*i) == Some(&b']') {
                *i += 1;
            } else {
                stack.push(Frame::Array);
                return Ok(true);
            }
        }
        b'"' => string_rest(body, i)?,
        b'-' | b'0'..=b'9' => number_rest(body, i, c)?,
        b't' => literal(body, i, b"rue", "true")?,
        b'f' => literal(body, i, b"alse", "false")?,
        b'n' => literal(body, i, b"ull", "null")?,
        other => return Err(invalid(other, "looking for beginning of value")),
    }
    Ok(false)
}

fn skip_space(body: &[u8], i: &mut usize) {
    while *i < body.len() && matches!(body[*i], b' ' | b'\t' | b'\n' | b'\r') {
        *i += 1;
    }
}

fn next(body: &[u8], i: &mut usize) -> Result<u8, String> {
    let c = *body
        .get(*i)
        .ok_or_else(|| "unexpected end of JSON input".to_string())?;
    *i += 1;
    Ok(c)
}

/// An object key: whitespace, then a string.
fn key_string(body: &[u8], i: &mut usize) -> Result<(), String> {
    skip_space(body, i);
    let c = next(body, i)?;
    if c != b'"' {
        return Err(invalid(c, "looking for beginning of object key string"));
    }
    string_rest(body, i)
}

fn string_rest(body: &[u8], i: &mut usize) -> Result<(), String> {
    loop {
        let Some(&c) = body.get(*i) else {
            return Err("unexpected end of JSON input".into());
        };
        *i += 1;
        match c {
            b'"' => return Ok(()),
            b'\\' => {
                let Some(&e) = body.get(*i) else {
                    return Err("unexpected end of JSON input".into());
                };
                *i += 1;
                match e {
                    b'b' | b'f' | b'n' | b'r' | b't' | b'\\' | b'/' | b'"' => {}
                    b'u' => {
                        for _ in 0..4 {
                            let Some(&h) = body.get(*i) else {
                                return Err("unexpected end of JSON input".into());
                            };
                            *i += 1;
                            if !h.is_ascii_hexdigit() {
                                return Err(invalid(h, "in \\u hexadecimal character escape"));
                            }
                        }
                    }
                    other => return Err(invalid(other, "in string escape code")),
                }
            }
            c if c < 0x20 => return Err(invalid(c, "in string literal")),
            _ => {}
        }
    }
}

fn number_rest(body: &[u8], i: &mut usize, first: u8) -> Result<(), String> {
    let digits = |i: &mut usize| {
        while body.get(*i).is_some_and(u8::is_ascii_digit) {
            *i += 1;
        }
    };
    let need_digit = |i: &mut usize, context: &str| -> Result<(), String> {
        match body.get(*i) {
            None => Err("unexpected end of JSON input".into()),
            Some(c) if c.is_ascii_digit() => Ok(()),
            Some(&c) => Err(invalid(c, context)),
        }
    };
    let mut lead = first;
    if first == b'-' {
        need_digit(i, "in numeric literal")?;
        lead = body[*i];
        *i += 1;
    }
    if lead != b'0' {
        digits(i);
    }
    if body.get(*i) == Some(&b'.') {
        *i += 1;
        need_digit(i, "after decimal point in numeric literal")?;
        digits(i);
    }
    if matches!(body.get(*i), Some(b'e' | b'E')) {
        *i += 1;
        if matches!(body.get(*i), Some(b'+' | b'-')) {
            *i += 1;
        }
        need_digit(i, "in exponent of numeric literal")?;
        digits(i);
    }
    Ok(())
}

fn literal(body: &[u8], i: &mut usize, rest: &[u8], name: &str) -> Result<(), String> {
    for &want in rest {
        let Some(&c) = body.get(*i) else {
            return Err("unexpected end of JSON input".into());
        };
        *i += 1;
        if c != want {
            let context = format!("in literal {name} (expecting '{}')", want as char);
            return Err(invalid(c, &context));
        }
    }
    Ok(())
}

fn invalid(c: u8, context: &str) -> String {
    format!("invalid character {} {context}", quote_char(c))
}

/// Go's quoteChar: the byte as a rune in single quotes, escaped as strconv.Quote does.
fn quote_char(c: u8) -> String {
    let inner = match c {
        b'\'' => "\\'".to_string(),
        b'"' => "\"".to_string(),
        0x07 => "\\a".into(),
        0x08 => "\\b".into(),
        0x0c => "\\f".into(),
        b'\n' => "\\n".into(),
        b'\r' => "\\r".into(),
        b'\t' => "\\t".into(),
        0x0b => "\\v".into(),
        b'\\' => "\\\\".into(),
        0x20..=0x7e => (c as char).to_string(),
        0x00..=0x1f | 0x7f => format!("\\x{c:02x}"),
        0x80..=0x9f | 0xa0 | 0xad => format!("\\u{c:04x}"),
        _ => (c as char).to_string(),
    };
    format!("'{inner}'")
}
