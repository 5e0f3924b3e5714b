//! Merging one map: the `$patch` directive on the map, `$retainKeys`, `$setElementOrder`
//! lists, then each key of the patch in turn (`null` deletes, maps recurse, lists go to
//! `list`, anything else replaces).

use serde_json::{Map, Value};

use super::list::{
    bad_arg_type, bad_patch_type, element_kind, kind, merge_list_field, order_seen_after_merge,
    partition_maps, partition_primitives, validate_merge_key_equal, Kind,
};
use super::order::normalize;
use super::schema::Schema;
use super::{SmpError, ERR_PRIMITIVE_LIST, ERR_RETAIN_KEYS, ERR_SET_ORDER};

const DIRECTIVE: &str = "$patch";
const RETAIN_KEYS: &str = "$retainKeys";
const DELETE_PREFIX: &str = "$deleteFromPrimitiveList";
const ORDER_PREFIX: &str = "$setElementOrder";

/// Merges `patch` into `original`, whose schema is `schema`.
pub fn merge_map(
    mut original: Map<String, Value>,
    mut patch: Map<String, Value>,
    schema: Schema<'_>,
) -> Result<Map<String, Value>, SmpError> {
    if let Some(directive) = patch.get(DIRECTIVE) {
        return match directive.as_str() {
            Some("replace") => {
                patch.remove(DIRECTIVE);
                Ok(patch)
            }
            Some("delete") => Ok(Map::new()),
            _ => Err(bad_patch_type(directive, &Value::Object(patch.clone()))),
        };
    }
    retain_keys(&mut original, &mut patch)?;
    ordered_lists(&mut original, &mut patch, schema)?;
    for (key, change) in patch {
        let (key, delete_list) = match key.strip_prefix(DELETE_PREFIX) {
            Some(_) => {
                let field = field_after(&key, DELETE_PREFIX, ERR_PRIMITIVE_LIST)?;
                (if field.is_empty() { key } else { field }, true)
            }
            None => (key, false),
        };
        if change.is_null() {
            original.remove(&key);
            continue;
        }
        let same_kind = original.get(&key).is_some_and(|o| kind(o) == kind(&change));
        if !same_kind {
            // Absent, or of another type: the patch's value, cleaned of nulls and
            // directives (a delete list for a field that is not there does nothing).
            if !delete_list {
                set_cleaned(&mut original, key, change);
            }
            continue;
        }
        let current = original.remove(&key).unwrap_or(Value::Null);
        let merged = match (current, change) {
            (Value::Object(current), Value::Object(change)) => {
                let (sub, meta) = schema.field(&key);
                if meta.strategy().map_err(SmpError::Other)? == "replace" {
                    Value::Object(change)
                } else {
                    Value::Object(merge_map(current, change, sub)?)
                }
            }
            (Value::Array(current), Value::Array(change)) => {
                let (elements, meta) = schema.list_field(&key);
                let strategy = meta.strategy().map_err(SmpError::Other)?;
                Value::Array(merge_list_field(
                    current,
                    change,
                    elements,
                    strategy,
                    &meta.merge_key,
                    delete_list,
                )?)
            }
            (_, change) => change,
        };
        original.insert(key, merged);
    }
    Ok(original)
}

/// `$retainKeys`: every key the patch sets must be listed, and keys of the original
/// not listed are cleared.
fn retain_keys(
    original: &mut Map<String, Value>,
    patch: &mut Map<String, Value>,
) -> Result<(), SmpError> {
    let Some(list) = patch.remove(RETAIN_KEYS) else {
        return Ok(());
    };
    let Value::Array(list) = list else {
        return Err(SmpError::BadRequest(ERR_RETAIN_KEYS));
    };
    let listed = |k: &str| list.iter().any(|v| v.as_str() == Some(k));
    for (k, v) in patch.iter() {
        if v.is_null() || k.starts_with(DELETE_PREFIX) || k.starts_with(ORDER_PREFIX) {
            continue;
        }
        if !listed(k) {
            return Err(SmpError::BadRequest(ERR_RETAIN_KEYS));
        }
    }
    original.retain(|k, _| listed(k));
    Ok(())
}

/// Each `$setElementOrder/FIELD` merges FIELD's list now (so the main loop skips it) and
/// orders the result: the listed items in the listed order, the server's other items
/// where they were.
fn ordered_lists(
    original: &mut Map<String, Value>,
    patch: &mut Map<String, Value>,
    schema: Schema<'_>,
) -> Result<(), SmpError> {
    let keys: Vec<String> = patch
        .keys()
        .filter(|k| k.starts_with(ORDER_PREFIX))
        .cloned()
        .collect();
    for key in keys {
        let order = patch.remove(&key).unwrap_or(Value::Null);
        let Value::Array(order) = order else {
            return Err(bad_arg_type("[]interface {}", &order));
        };
        let field = field_after(&key, ORDER_PREFIX, ERR_SET_ORDER)?;
        let as_list = |v: Option<&Value>| match v {
            None => Ok(None),
            Some(Value::Array(items)) => Ok(Some(items.clone())),
            Some(other) => Err(bad_arg_type("[]interface {}", other)),
        };
        let current = as_list(original.get(&field))?;
        let change = as_list(patch.get(&field))?;
        let (elements, meta) = schema.list_field(&field);
        let strategy = meta.strategy().map_err(SmpError::Other)?;
        let merge_key = meta.merge_key.as_str();
        check_order(change.as_deref().unwrap_or(&[]), &order, merge_key)?;
        let merged = match (&current, &change) {
            (Some(current), None) => current.clone(),
            (None, Some(change)) => without_directives_list(change.clone()),
            (Some(current), Some(change)) => merge_list_field(
                current.clone(),
                change.clone(),
                elements,
                strategy,
                merge_key,
                false,
            )?,
            (None, None) => continue,
        };
        let (listed, server_only) = if merge_key.is_empty() {
            partition_primitives(merged, &order)
        } else {
            partition_maps(merged, &order, merge_key)?
        };
        let current = current.unwrap_or_default();
        let change = change.unwrap_or_default();
        let kind = element_kind(&[&current, &change])?;
        let server_order = if kind == Kind::Map && strategy == "merge" {
            order_seen_after_merge(&current, &change, merge_key)
        } else {
            current
        };
        let ordered = normalize(listed, server_only, &order, &server_order, merge_key, kind)?;
        original.insert(field.clone(), Value::Array(ordered));
        patch.remove(&field);
    }
    Ok(())
}

/// The patch's list must name its items in the `$setElementOrder` list's relative order
/// (deleted and directive items aside).
fn check_order(change: &[Value], order: &[Value], merge_key: &str) -> Result<(), SmpError> {
    if order.is_empty() || change.is_empty() {
        return Ok(());
    }
    let mut items = Vec::with_capacity(change.len());
    for item in change {
        if !merge_key.is_empty() {
            if !item.is_object() {
                return Err(bad_arg_type("map[string]interface {}", item));
            }
            if item.get(DIRECTIVE).and_then(Value::as_str) == Some("delete") {
                continue;
            }
        }
        items.push(item);
    }
    let (mut at_item, mut at_order) = (0, 0);
    while at_item < items.len() && at_order < order.len() {
        if items[at_item].get(DIRECTIVE).is_some() {
            at_item += 1;
            continue;
        }
        if validate_merge_key_equal(items[at_item], &order[at_order], merge_key)? {
            at_item += 1;
        }
        at_order += 1;
    }
    if at_item < items.len() && at_order >= order.len() {
        return Err(SmpError::Other(format!(
            "The order in patch list:\n{}\n doesn't match {ORDER_PREFIX} list:\n{}\n",
            super::gofmt::v(&Value::Array(change.to_vec())),
            super::gofmt::v(&Value::Array(order.to_vec()))
        )));
    }
    Ok(())
}

/// `PREFIX/FIELD` → `FIELD`; anything else is the directive's format error.
fn field_after(key: &str, prefix: &str, error: &'static str) -> Result<String, SmpError> {
    match key.split_once('/') {
        Some((head, field)) if head == prefix => Ok(field.to_string()),
        _ => Err(SmpError::BadRequest(error)),
    }
}

fn set_cleaned(original: &mut Map<String, Value>, key: String, mut value: Value) {
    discard_nulls(&mut value);
    match without_directives(value) {
        Some(value) => {
            original.insert(key, value);
        }
        None => {
            original.remove(&key);
        }
    }
}

/// Drops `null` map values at any depth (a null has nothing to delete in new content).
fn discard_nulls(value: &mut Value) {
    match value {
        Value::Object(map) => {
            map.retain(|_, v| !v.is_null());
            map.values_mut().for_each(discard_nulls);
        }
        Value::Array(items) => items.iter_mut().for_each(discard_nulls),
        _ => {}
    }
}

/// New content as stored: maps carrying a `$patch` directive are dropped.
fn without_directives(value: Value) -> Option<Value> {
    match value {
        Value::Object(map) if map.contains_key(DIRECTIVE) => None,
        Value::Object(map) => Some(Value::Object(
            map.into_iter()
                .filter_map(|(k, v)| without_directives(v).map(|v| (k, v)))
                .collect(),
        )),
        Value::Array(items) => Some(Value::Array(without_directives_list(items))),
        other => Some(other),
    }
}

fn without_directives_list(items: Vec<Value>) -> Vec<Value> {
    items.into_iter().filter_map(without_directives).collect()
}
