//! How table cells read objects and write values, shared by every kind's columns.
//!
//! Upstream's printers work on typed Go structs whose absent fields are zero values; the
//! readers here give the same zero values (`""`, `0`, empty lists) for absent or mistyped
//! JSON, so a cell never fails. Times, label maps and selectors are written as upstream's
//! helpers write them (`HumanDuration`, `labels.FormatLabels`, `FormatLabelSelector`).

use std::time::{Duration, SystemTime};

use serde_json::{Map, Value};

// === JSON readers ===

/// The string at `pointer` (`""` if absent or not a string).
pub fn text<'a>(obj: &'a Value, pointer: &str) -> &'a str {
    obj.pointer(pointer).and_then(Value::as_str).unwrap_or("")
}

/// The string at `pointer`, if present.
pub fn opt_text<'a>(obj: &'a Value, pointer: &str) -> Option<&'a str> {
    obj.pointer(pointer).and_then(Value::as_str)
}

/// The integer at `pointer` (0 if absent).
pub fn int(obj: &Value, pointer: &str) -> i64 {
    obj.pointer(pointer).and_then(Value::as_i64).unwrap_or(0)
}

/// The integer at `pointer`, or upstream's default when the field is absent.
pub fn int_or(obj: &Value, pointer: &str, default: i64) -> i64 {
    obj.pointer(pointer)
        .and_then(Value::as_i64)
        .unwrap_or(default)
}

/// The list at `pointer` (empty if absent).
pub fn list<'a>(obj: &'a Value, pointer: &str) -> &'a [Value] {
    obj.pointer(pointer)
        .and_then(Value::as_array)
        .map_or(&[], Vec::as_slice)
}

/// The map at `pointer`, if present.
pub fn map<'a>(obj: &'a Value, pointer: &str) -> Option<&'a Map<String, Value>> {
    obj.pointer(pointer).and_then(Value::as_object)
}

/// Whether the object is being deleted (`metadata.deletionTimestamp` set).
pub fn deleting(obj: &Value) -> bool {
    obj.pointer("/metadata/deletionTimestamp")
        .is_some_and(|t| !t.is_null())
}

/// An int-or-string value as Go's `IntOrString.String()` writes it.
pub fn int_or_string(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        _ => String::new(),
    }
}

/// `s`, or `<none>` when empty.
pub fn or_none(s: &str) -> String {
    if s.is_empty() {
        "<none>".into()
    } else {
        s.to_string()
    }
}

/// "True" / "False", as upstream prints booleans in string cells.
pub fn bool_word(value: bool) -> &'static str {
    if value {
        "True"
    } else {
        "False"
    }
}

// === times ===

/// An RFC 3339 timestamp (`Time` or `MicroTime`), if present and well-formed.
pub fn time(obj: &Value, pointer: &str) -> Option<SystemTime> {
    humantime::parse_rfc3339(opt_text(obj, pointer)?).ok()
}

/// Upstream's `translateTimestampSince`: how long ago `pointer`'s time was, or
/// `<unknown>` when it is absent.
pub fn since(obj: &Value, pointer: &str, now: SystemTime) -> String {
    match time(obj, pointer) {
        Some(t) => between(t, now),
        None => "<unknown>".into(),
    }
}

/// Upstream's `HumanDuration` of `to - from`: up to a second of clock skew reads as
/// "0s", more as `<invalid>`.
pub fn between(from: SystemTime, to: SystemTime) -> String {
    match to.duration_since(from) {
        Ok(elapsed) => human_duration(elapsed.as_secs()),
        Err(e) if e.duration() < Duration::from_secs(2) => "0s".into(),
        Err(_) => "<invalid>".into(),
    }
}

/// Upstream's `HumanDuration`: more precision for shorter durations.
pub fn human_duration(seconds: u64) -> String {
    let (minutes, hours, days) = (seconds / 60, seconds / 3600, seconds / 86400);
    match () {
        _ if seconds < 120 => format!("{seconds}s"),
        _ if minutes < 10 && seconds.is_multiple_of(60) => format!("{minutes}m"),
        _ if minutes < 10 => format!("{minutes}m{}s", seconds % 60),
        _ if minutes < 180 => format!("{minutes}m"),
        _ if hours < 8 && minutes.is_multiple_of(60) => format!("{hours}h"),
        _ if hours < 8 => format!("{hours}h{}m", minutes % 60),
        _ if hours < 48 => format!("{hours}h"),
        _ if hours < 192 && hours.is_multiple_of(24) => format!("{days}d"),
        _ if hours < 192 => format!("{days}d{}h", hours % 24),
        _ if days < 730 => format!("{days}d"),
        _ if days < 2920 && days.is_multiple_of(365) => format!("{}y", days / 365),
        _ if days < 2920 => format!("{}y{}d", days / 365, days % 365),
        _ => format!("{}y", days / 365),
    }
}

// === labels and selectors ===

/// `labels.FormatLabels`: `k=v` pairs sorted by key, or `<none>`.
pub fn format_labels(labels: Option<&Map<String, Value>>) -> String {
    let mut pairs: Vec<(&String, &Value)> = labels.into_iter().flatten().collect();
    pairs.sort_by(|a, b| a.0.cmp(b.0));
    let written: Vec<String> = pairs
        .into_iter()
        .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or("")))
        .collect();
    or_none(&written.join(","))
}

/// `LabelSelectorAsSelector(...).String()`: requirements sorted by key; `None` for an
/// operator upstream refuses. An absent selector selects nothing and prints as "".
pub fn selector_string(selector: Option<&Value>) -> Option<String> {
    let Some(selector) = selector.filter(|s| !s.is_null()) else {
        return Some(String::new());
    };
    let mut requirements: Vec<(String, String)> = Vec::new();
    for (key, value) in map(selector, "/matchLabels").into_iter().flatten() {
        let value = value.as_str().unwrap_or("");
        requirements.push((key.clone(), format!("{key}={value}")));
    }
    for expr in list(selector, "/matchExpressions") {
        let key = text(expr, "/key");
        let mut values: Vec<&str> = list(expr, "/values")
            .iter()
            .filter_map(Value::as_str)
            .collect();
        values.sort_unstable();
        let written = match text(expr, "/operator") {
            "In" => format!("{key} in ({})", values.join(",")),
            "NotIn" => format!("{key} notin ({})", values.join(",")),
            "Exists" => key.to_string(),
            "DoesNotExist" => format!("!{key}"),
            _ => return None,
        };
        requirements.push((key.to_string(), written));
    }
    // A stable sort by key, as upstream's selector keeps requirements.
    requirements.sort_by(|a, b| a.0.cmp(&b.0));
    let written: Vec<String> = requirements.into_iter().map(|(_, r)| r).collect();
    Some(written.join(","))
}

/// `metav1.FormatLabelSelector`: the selector, `<none>` when it selects by nothing,
/// `<error>` when it is invalid.
pub fn format_selector(selector: Option<&Value>) -> String {
    match selector_string(selector) {
        Some(s) => or_none(&s),
        None => "<error>".into(),
    }
}

// === containers ===

/// Container names and images of a pod spec at `pointer`, each joined with ",".
pub fn containers(obj: &Value, pointer: &str) -> (String, String) {
    let containers = list(obj, &format!("{pointer}/containers"));
    let names: Vec<&str> = containers.iter().map(|c| text(c, "/name")).collect();
    let images: Vec<&str> = containers.iter().map(|c| text(c, "/image")).collect();
    (names.join(","), images.join(","))
}

/// Names and images as two cells.
pub fn container_names(obj: &Value, pointer: &str) -> Value {
    Value::String(containers(obj, pointer).0)
}

pub fn container_images(obj: &Value, pointer: &str) -> Value {
    Value::String(containers(obj, pointer).1)
}

/// Up to three items joined with ",", then " + N more..."; `<unset>` when there are none
/// (upstream's `listWithMoreString`).
pub fn list_with_more(items: &[String]) -> String {
    const MAX: usize = 3;
    if items.len() > MAX {
        return format!("{} + {} more...", items[..MAX].join(","), items.len() - MAX);
    }
    if items.is_empty() {
        return "<unset>".into();
    }
    items.join(",")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn durations_like_kubectl() {
        assert_eq!(human_duration(5), "5s");
        assert_eq!(human_duration(119), "119s");
        assert_eq!(human_duration(150), "2m30s");
        assert_eq!(human_duration(600), "10m");
        assert_eq!(human_duration(4 * 3600 + 60), "4h1m");
        assert_eq!(human_duration(30 * 3600), "30h");
        assert_eq!(human_duration(3 * 86400 + 3600), "3d1h");
        assert_eq!(human_duration(400 * 86400), "400d");
    }

    #[test]
    fn clock_skew() {
        let now = SystemTime::now();
        assert_eq!(between(now + Duration::from_millis(1500), now), "0s");
        assert_eq!(between(now + Duration::from_secs(5), now), "<invalid>");
        assert_eq!(since(&json!({}), "/x", now), "<unknown>");
    }

    #[test]
    fn selectors_like_upstream() {
        let sel = json!({"matchLabels": {"b": "2", "a": "1"},
            "matchExpressions": [{"key": "c", "operator": "In", "values": ["y", "x"]},
                                 {"key": "d", "operator": "DoesNotExist"}]});
        assert_eq!(format_selector(Some(&sel)), "a=1,b=2,c in (x,y),!d");
        assert_eq!(format_selector(Some(&json!({}))), "<none>");
        assert_eq!(format_selector(None), "<none>");
        let bad = json!({"matchExpressions": [{"key": "c", "operator": "Near"}]});
        assert_eq!(format_selector(Some(&bad)), "<error>");
        assert_eq!(
            format_labels(json!({"z": "1", "a": "2"}).as_object()),
            "a=2,z=1"
        );
        assert_eq!(format_labels(None), "<none>");
    }
}
