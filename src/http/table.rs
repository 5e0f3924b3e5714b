//! Server-side tables (`as=Table`): the columns kubectl prints, for lists, single objects
//! and watch events.

use serde_json::{json, Value};

use crate::registry::cache::CachedObject;
use crate::registry::descriptor::ResourceDescriptor;

const NAME_DESCRIPTION: &str = "Name must be unique within a namespace. Is required when creating resources, although some resources may allow a client to request the generation of an appropriate name automatically. Name is primarily intended for creation idempotence and configuration definition. Cannot be updated. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/names#names";
const AGE_DESCRIPTION: &str = "CreationTimestamp is a timestamp representing the server time when this object was created. It is not guaranteed to be set in happens-before order across separate operations. Clients may not set this value. It is represented in RFC3339 form and is in UTC.\n\nPopulated by the system. Read-only. Null for lists. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata";

/// What each row carries besides its cells (`includeObject`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IncludeObject {
    None,
    Metadata,
    Object,
}

impl IncludeObject {
    pub fn parse(s: Option<&str>) -> Self {
        match s {
            Some("None") => Self::None,
            Some("Object") => Self::Object,
            _ => Self::Metadata,
        }
    }
}

pub fn column_definitions(desc: &ResourceDescriptor) -> Value {
    let mut columns = vec![
        json!({"name": "Name", "type": "string", "format": "name", "description": NAME_DESCRIPTION, "priority": 0}),
    ];
    for c in desc.strategy.table_columns() {
        columns.push(json!({"name": c.name, "type": c.type_, "format": c.format, "description": c.description, "priority": c.priority}));
    }
    columns.push(json!({"name": "Age", "type": "string", "format": "", "description": AGE_DESCRIPTION, "priority": 0}));
    Value::Array(columns)
}

fn row(desc: &ResourceDescriptor, object: &CachedObject, include: IncludeObject) -> Value {
    let value = object.decode();
    let mut cells = vec![Value::String(object.name.clone())];
    cells.extend(
        desc.strategy
            .table_columns()
            .iter()
            .map(|c| (c.cell)(&value)),
    );
    let created = value
        .pointer("/metadata/creationTimestamp")
        .and_then(Value::as_str)
        .unwrap_or("");
    cells.push(Value::String(age(created)));
    let mut row = json!({"cells": cells});
    match include {
        IncludeObject::None => {}
        IncludeObject::Object => row["object"] = value,
        IncludeObject::Metadata => {
            row["object"] = json!({"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": value.get("metadata").cloned().unwrap_or(Value::Null)});
        }
    }
    row
}

/// A Table of `objects`, reported at `revision` (and `continue`, for lists).
pub fn table(
    desc: &ResourceDescriptor,
    objects: &[&CachedObject],
    revision: Option<u64>,
    continue_token: Option<&str>,
    include: IncludeObject,
) -> Value {
    let mut metadata = json!({});
    if let Some(revision) = revision {
        metadata["resourceVersion"] = json!(revision.to_string());
    }
    if let Some(token) = continue_token {
        metadata["continue"] = json!(token);
    }
    json!({
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": metadata,
        "columnDefinitions": column_definitions(desc),
        "rows": objects.iter().map(|o| row(desc, o, include)).collect::<Vec<_>>(),
    })
}

/// The age of an object created at `rfc3339`, as kubectl prints it.
pub fn age(rfc3339: &str) -> String {
    let Ok(created) = humantime::parse_rfc3339(rfc3339) else {
        return "<unknown>".into();
    };
    match std::time::SystemTime::now().duration_since(created) {
        Ok(elapsed) => human_duration(elapsed.as_secs()),
        Err(e) if e.duration().as_secs() <= 1 => "0s".into(),
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

#[cfg(test)]
mod tests {
    use super::human_duration;

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
}
