//! Reading field sets off objects: the fields a configuration sets (what an applier
//! owns), and what changed between two states of an object (what an updater takes).
//!
//! Both follow structured-merge-diff's walkers: scalars, atomic maps and atomic lists
//! are leaves; granular maps and keyed or set lists are walked into, and their entries
//! (map keys that are not struct fields, list elements) are members themselves.

use serde_json::Value;

use super::path::{Element, FieldSet, Path};
use super::shape::{ListKind, Shape};

/// The fields `config` sets (upstream's `ToFieldSet`).
pub fn field_set(config: &Value, shape: Shape) -> FieldSet {
    let mut set = FieldSet::default();
    set_of(config, shape, &mut Vec::new(), &mut set);
    set
}

fn set_of(value: &Value, shape: Shape, path: &mut Path, set: &mut FieldSet) {
    match value {
        Value::Object(map) if !shape.atomic_map() => {
            for (key, child) in map {
                let (child_shape, declared) = shape.field(key);
                path.push(Element::Field(key.clone()));
                set_of(child, child_shape, path, set);
                let empty = child.is_null() || child.as_object().is_some_and(|m| m.is_empty());
                if empty || !declared {
                    set.insert(path.clone());
                }
                path.pop();
            }
        }
        Value::Array(items) => match shape.list_kind() {
            ListKind::Atomic => set.insert(path.clone()),
            kind => {
                for (i, item) in items.iter().enumerate() {
                    path.push(kind.element(i, item));
                    set_of(item, shape.items(), path, set);
                    set.insert(path.clone());
                    path.pop();
                }
            }
        },
        _ if path.is_empty() => {}
        _ => set.insert(path.clone()),
    }
}

/// What an update changed: fields added or given another value, and fields removed.
#[derive(Debug, Default)]
pub struct Changes {
    pub changed: FieldSet,
    pub removed: FieldSet,
}

/// Compares two states of an object (upstream's `Compare`). `old` is `None` for a create.
pub fn compare(old: Option<&Value>, new: &Value, shape: Shape) -> Changes {
    let mut changes = Changes::default();
    diff(old, Some(new), shape, false, &mut Vec::new(), &mut changes);
    changes
}

fn diff(
    old: Option<&Value>,
    new: Option<&Value>,
    shape: Shape,
    item: bool,
    path: &mut Path,
    out: &mut Changes,
) {
    match (old, new) {
        (None | Some(Value::Object(_)), None | Some(Value::Object(_))) if !shape.atomic_map() => {
            diff_maps(old, new, shape, item, path, out)
        }
        (None | Some(Value::Array(_)), None | Some(Value::Array(_)))
            if shape.list_kind() != ListKind::Atomic =>
        {
            diff_lists(old, new, shape, path, out)
        }
        _ => leaf(old, new, path, out),
    }
}

fn leaf(old: Option<&Value>, new: Option<&Value>, path: &Path, out: &mut Changes) {
    if path.is_empty() {
        return;
    }
    match (old, new) {
        (Some(_), None) => out.removed.insert(path.clone()),
        (None, Some(_)) => out.changed.insert(path.clone()),
        (Some(a), Some(b)) if a != b => out.changed.insert(path.clone()),
        _ => {}
    }
}

/// Compares two maps. A map node counts as present of itself only when it is a list
/// element or a free-form map (labels, annotations): upstream's typed objects always
/// carry their struct fields, so those are reached through their leaves.
fn diff_maps(
    old: Option<&Value>,
    new: Option<&Value>,
    shape: Shape,
    item: bool,
    path: &mut Path,
    out: &mut Changes,
) {
    let empty = |v: Option<&Value>| v.and_then(Value::as_object).is_none_or(|m| m.is_empty());
    if empty(old) && empty(new) {
        return leaf(old, new, path, out);
    }
    let struct_like = shape.is_struct();
    if !path.is_empty() && (item || !struct_like) {
        match (old, new) {
            (None, Some(_)) => out.changed.insert(path.clone()),
            (Some(_), None) => out.removed.insert(path.clone()),
            _ => {}
        }
    }
    let none = serde_json::Map::new();
    let old_map = old.and_then(Value::as_object).unwrap_or(&none);
    let new_map = new.and_then(Value::as_object).unwrap_or(&none);
    let keys: std::collections::BTreeSet<&String> = old_map.keys().chain(new_map.keys()).collect();
    for key in keys {
        let (child_shape, _) = shape.field(key);
        path.push(Element::Field(key.clone()));
        diff(
            old_map.get(key),
            new_map.get(key),
            child_shape,
            false,
            path,
            out,
        );
        path.pop();
    }
}

fn diff_lists(
    old: Option<&Value>,
    new: Option<&Value>,
    shape: Shape,
    path: &mut Path,
    out: &mut Changes,
) {
    let kind = shape.list_kind();
    let (old_items, new_items) = (keyed(&kind, old), keyed(&kind, new));
    if old_items.is_empty() && new_items.is_empty() {
        return leaf(old, new, path, out);
    }
    let mut seen = std::collections::BTreeSet::new();
    for (element, _) in old_items.iter().chain(new_items.iter()) {
        if !seen.insert(element.clone()) {
            continue;
        }
        let (before, after) = (find(&old_items, element), find(&new_items, element));
        path.push(element.clone());
        match (before, after) {
            (None, Some(_)) => out.changed.insert(path.clone()),
            (Some(_), None) => out.removed.insert(path.clone()),
            _ => {}
        }
        diff(before, after, shape.items(), true, path, out);
        path.pop();
    }
}

/// A list's elements with the path element naming each.
fn keyed<'v>(kind: &ListKind, list: Option<&'v Value>) -> Vec<(Element, &'v Value)> {
    list.and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .enumerate()
                .map(|(i, item)| (kind.element(i, item), item))
                .collect()
        })
        .unwrap_or_default()
}

fn find<'v>(items: &[(Element, &'v Value)], element: &Element) -> Option<&'v Value> {
    items.iter().find(|(k, _)| k == element).map(|(_, v)| *v)
}
