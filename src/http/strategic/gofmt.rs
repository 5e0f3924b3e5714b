//! Values printed the way Go's `fmt` prints decoded JSON, because upstream's strategic
//! merge errors embed them (`map: map[image:nginx] does not contain declared merge key:
//! name`) and clients show those messages to people.

use serde_json::Value;

/// Go's `%v` of a decoded JSON value: `map[k:v ...]` with sorted keys, `[a b]`, bare
/// strings, `<nil>`.
pub fn v(value: &Value) -> String {
    let mut out = String::new();
    write(&mut out, value, false);
    out
}

/// Go's `%s` of a decoded JSON value: like `%v` for strings, maps and lists, and
/// `%!s(int64=1)` for values that are not strings.
pub fn s(value: &Value) -> String {
    let mut out = String::new();
    write(&mut out, value, true);
    out
}

/// The Go type a decoded JSON value has upstream (`reflect.TypeOf`), for
/// `expected a ..., but received a ...` messages.
pub fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "%!s(<nil>)",
        Value::Bool(_) => "bool",
        Value::Number(n) if n.is_i64() => "int64",
        Value::Number(_) => "float64",
        Value::String(_) => "string",
        Value::Array(_) => "[]interface {}",
        Value::Object(_) => "map[string]interface {}",
    }
}

fn write(out: &mut String, value: &Value, verb_s: bool) {
    match value {
        Value::Null if verb_s => out.push_str("%!s(<nil>)"),
        Value::Null => out.push_str("<nil>"),
        Value::String(text) => out.push_str(text),
        Value::Bool(b) if verb_s => out.push_str(&format!("%!s(bool={b})")),
        Value::Bool(b) => out.push_str(&b.to_string()),
        Value::Number(_) => {
            let (ty, text) = number(value);
            if verb_s {
                out.push_str(&format!("%!s({ty}={text})"));
            } else {
                out.push_str(&text);
            }
        }
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(' ');
                }
                write(out, item, verb_s);
            }
            out.push(']');
        }
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            out.push_str("map[");
            for (i, key) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(' ');
                }
                out.push_str(key);
                out.push(':');
                write(out, &map[key], verb_s);
            }
            out.push(']');
        }
    }
}

/// An integer prints as itself; a float as Go's `%v` (shortest digits, in exponent form
/// from 1e+06 up and below 1e-04).
fn number(value: &Value) -> (&'static str, String) {
    if let Some(i) = value.as_i64() {
        return ("int64", i.to_string());
    }
    let f = value.as_f64().unwrap_or(0.0);
    ("float64", go_float(f))
}

fn go_float(f: f64) -> String {
    if f == 0.0 {
        return if f.is_sign_negative() { "-0" } else { "0" }.to_string();
    }
    // Rust's `{:e}` gives the shortest round-trip digits, e.g. `1.5e6`.
    let sci = format!("{f:e}");
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    // Go's shortest %g switches to the exponent form when exp < -4 || exp >= 6.
    if !(-4..6).contains(&exp) {
        let sign = if exp < 0 { '-' } else { '+' };
        return format!("{mantissa}e{sign}{:02}", exp.abs());
    }
    format!("{f}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn prints_like_go() {
        assert_eq!(
            v(&json!({"name": "b", "image": "x", "ports": [1, 2.5], "n": null})),
            "map[image:x n:<nil> name:b ports:[1 2.5]]"
        );
        assert_eq!(s(&json!(5)), "%!s(int64=5)");
        assert_eq!(s(&json!("foo")), "foo");
        assert_eq!(v(&json!(1e21)), "1e+21");
        assert_eq!(v(&json!(0.00001)), "1e-05");
        assert_eq!(v(&json!(1000000.0)), "1e+06");
        assert_eq!(type_name(&json!([1])), "[]interface {}");
    }
}
