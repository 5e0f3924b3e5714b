//! Server-side table columns (`as=Table`) of the built-in kinds, as upstream's printers
//! (pkg/printers/internalversion) define them: the column definitions, their order
//! around Name and Age, the `-o wide` columns (priority 1) and how each cell is
//! computed from the object alone.
//!
//! The generic engine (`http::table`) only walks a kind's columns; everything kind-
//! specific lives here, one file per group of kinds. No column reads another object.
//!
//! Upstream prints objects after its defaulting. Where keelson stores a field upstream
//! would have defaulted (a Service's type, a port's protocol, a workload's replicas, ...),
//! the cell uses upstream's default, so the same input prints the same row.

pub mod cluster;
pub mod core;
pub mod event;
pub mod format;
pub mod pod;
pub mod storage;
pub mod workloads;

use serde_json::Value;

use crate::registry::strategy::Column;

pub const NAME_DESCRIPTION: &str = "Name must be unique within a namespace. Is required when creating resources, although some resources may allow a client to request the generation of an appropriate name automatically. Name is primarily intended for creation idempotence and configuration definition. Cannot be updated. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/names#names";
pub const AGE_DESCRIPTION: &str = "CreationTimestamp is a timestamp representing the server time when this object was created. It is not guaranteed to be set in happens-before order across separate operations. Clients may not set this value. It is represented in RFC3339 form and is in UTC.\n\nPopulated by the system. Read-only. Null for lists. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata";

/// Descriptions upstream shares between many kinds' columns.
pub const CONTAINERS_DESCRIPTION: &str = "Names of each container in the template.";
pub const IMAGES_DESCRIPTION: &str = "Images referenced by each container in the template.";

fn name_cell(obj: &Value, _: std::time::SystemTime) -> Value {
    Value::String(format::text(obj, "/metadata/name").to_string())
}

fn age_cell(obj: &Value, now: std::time::SystemTime) -> Value {
    Value::String(format::since(obj, "/metadata/creationTimestamp", now))
}

/// The default table convertor's second column: the creation time in RFC 3339.
fn created_at_cell(obj: &Value, _: std::time::SystemTime) -> Value {
    let written = format::time(obj, "/metadata/creationTimestamp")
        .map(|t| humantime::format_rfc3339_seconds(t).to_string())
        .unwrap_or_else(|| "0001-01-01T00:00:00Z".into());
    Value::String(written)
}

/// The object's name: the first column of almost every kind.
pub const NAME: Column = Column {
    format: "name",
    ..Column::new("Name", NAME_DESCRIPTION, name_cell)
};

/// How long ago the object was created.
pub const AGE: Column = Column::new("Age", AGE_DESCRIPTION, age_cell);

/// What upstream prints for a kind with no printer of its own: its default table
/// convertor's Name and "Created At" (limitranges, roles, clusterroles).
pub const NAME_CREATED_AT: &[Column] = &[
    NAME,
    Column::new("Created At", AGE_DESCRIPTION, created_at_cell).typed("date"),
];

/// Name and Age: kinds whose printer shows nothing else.
pub const NAME_AGE: &[Column] = &[NAME, AGE];

#[cfg(test)]
pub(crate) mod testing {
    use std::time::{Duration, SystemTime};

    use serde_json::Value;

    use crate::registry::strategy::Column;

    /// A fixed "now" for tests, and RFC 3339 times relative to it.
    pub fn now() -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000)
    }

    pub fn ago(seconds: u64) -> String {
        humantime::format_rfc3339_seconds(now() - Duration::from_secs(seconds)).to_string()
    }

    /// The row of `obj` as (column name, cell) pairs.
    pub fn row(columns: &[Column], obj: &Value) -> Vec<(&'static str, Value)> {
        columns
            .iter()
            .map(|c| (c.name, (c.cell)(obj, now())))
            .collect()
    }

    /// The cell of the column named `name`.
    pub fn cell(columns: &[Column], obj: &Value, name: &str) -> Value {
        let column = columns.iter().find(|c| c.name == name);
        column.map_or(Value::Null, |c| (c.cell)(obj, now()))
    }

    /// Column names in order, with `*` after the wide ones.
    pub fn header(columns: &[Column]) -> Vec<String> {
        columns
            .iter()
            .map(|c| format!("{}{}", c.name, if c.priority > 0 { "*" } else { "" }))
            .collect()
    }
}
