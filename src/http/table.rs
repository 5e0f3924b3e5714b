//! Server-side tables (`as=Table`): the columns kubectl prints, for lists, single objects
//! and watch events.
//!
//! The engine is generic: a kind's strategy lists its columns (Name and Age included, in
//! upstream's order, see `kinds::tables`) and each column computes its cell from the
//! object; this module only lays them out as a `meta.k8s.io/v1` Table.
//!
//! The other `meta.k8s.io` views of objects, `PartialObjectMetadata` and its list, are
//! made here too: a Table row's `object` is one.

use std::time::SystemTime;

use serde_json::{json, Value};

use crate::registry::cache::CachedObject;
use crate::registry::descriptor::ResourceDescriptor;

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
    let columns = desc.strategy.table_columns().iter().map(|c| {
        json!({"name": c.name, "type": c.type_, "format": c.format, "description": c.description, "priority": c.priority})
    });
    Value::Array(columns.collect())
}

/// One row: every column's cell (the server always includes the `-o wide` ones, as
/// upstream does; kubectl hides them) and the object as `include` asks.
fn row(
    desc: &ResourceDescriptor,
    object: &CachedObject,
    include: IncludeObject,
    now: SystemTime,
) -> Value {
    let value = object.decode();
    let cells: Vec<Value> = desc
        .strategy
        .table_columns()
        .iter()
        .map(|c| (c.cell)(&value, now))
        .collect();
    let mut row = json!({"cells": cells});
    match include {
        IncludeObject::None => {}
        IncludeObject::Object => row["object"] = value,
        IncludeObject::Metadata => row["object"] = partial_object_metadata(&value),
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
    let now = SystemTime::now();
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
        "rows": objects.iter().map(|o| row(desc, o, include, now)).collect::<Vec<_>>(),
    })
}

/// `as=PartialObjectMetadata`: an object reduced to its metadata.
pub fn partial_object_metadata(value: &Value) -> Value {
    let metadata = value.get("metadata").cloned().unwrap_or_else(|| json!({}));
    json!({"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": metadata})
}

/// `as=PartialObjectMetadataList`: a list page reduced to its items' metadata, each item
/// a `PartialObjectMetadata` with its kind set, as upstream returns it.
pub fn partial_object_metadata_list(
    objects: &[&CachedObject],
    revision: u64,
    continue_token: Option<&str>,
    remaining: Option<u64>,
) -> Value {
    let mut metadata = json!({"resourceVersion": revision.to_string()});
    if let Some(token) = continue_token {
        metadata["continue"] = json!(token);
    }
    if let Some(remaining) = remaining {
        metadata["remainingItemCount"] = json!(remaining);
    }
    let items: Vec<Value> = objects
        .iter()
        .map(|o| partial_object_metadata(&o.decode()))
        .collect();
    json!({"kind": "PartialObjectMetadataList", "apiVersion": "meta.k8s.io/v1", "metadata": metadata, "items": items})
}
