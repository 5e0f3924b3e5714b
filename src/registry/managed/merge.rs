//! Merging an applied configuration into the live object, and removing the fields an
//! applier stopped applying.
//!
//! The merge follows the schema (upstream's `Merge`): granular maps merge key by key,
//! keyed lists and sets merge element by element (live order first, new elements after),
//! and atomic maps, atomic lists and scalars take the configuration's value.

use serde_json::Value;

use super::path::{Element, FieldSet, Path};
use super::shape::{ListKind, Shape};

/// `live` with `config` merged in; neither is changed.
pub fn merge(live: &Value, config: &Value, shape: Shape) -> Value {
    match (live, config) {
        (Value::Object(live_map), Value::Object(config_map)) if !shape.atomic_map() => {
            let mut out = live_map.clone();
            for (key, value) in config_map {
                let merged = match live_map.get(key) {
                    Some(current) => merge(current, value, shape.field(key).0),
                    None => value.clone(),
                };
                out.insert(key.clone(), merged);
            }
            Value::Object(out)
        }
        (Value::Array(live_items), Value::Array(config_items)) => {
            let kind = shape.list_kind();
            if kind == ListKind::Atomic {
                return config.clone();
            }
            let mut out = live_items.clone();
            for (i, item) in config_items.iter().enumerate() {
                let element = kind.element(i, item);
                let at = out
                    .iter()
                    .enumerate()
                    .position(|(j, current)| kind.element(j, current) == element);
                match at {
                    Some(j) => out[j] = merge(&out[j], item, shape.items()),
                    None => out.push(item.clone()),
                }
            }
            Value::Array(out)
        }
        _ => config.clone(),
    }
}

/// Removes from `obj` every path of `remove` that nobody keeps: not in `keep` and with
/// nothing in `keep` below it. A map or list emptied that way goes too, unless kept.
pub fn prune(obj: &mut Value, remove: &FieldSet, keep: &FieldSet) {
    // Deepest first, so a parent emptied by its children's removal is seen empty.
    for path in remove.iter().rev() {
        if keep.contains(path) || keep.has_descendant(path) {
            continue;
        }
        remove_at(obj, path);
        let mut parent: Path = path.clone();
        while parent.len() > 1 {
            parent.pop();
            let emptied = get(obj, &parent).is_some_and(|v| match v {
                Value::Object(m) => m.is_empty(),
                Value::Array(a) => a.is_empty(),
                _ => false,
            });
            if !emptied || keep.contains(&parent) || keep.has_descendant(&parent) {
                break;
            }
            remove_at(obj, &parent);
        }
    }
}

fn step<'a>(value: &'a Value, element: &Element) -> Option<&'a Value> {
    match (value, element) {
        (Value::Object(map), Element::Field(name)) => map.get(name),
        (Value::Array(items), element) => items
            .iter()
            .enumerate()
            .find(|(i, item)| element.matches(*i, item))
            .map(|(_, item)| item),
        _ => None,
    }
}

fn get<'a>(obj: &'a Value, path: &[Element]) -> Option<&'a Value> {
    path.iter().try_fold(obj, step)
}

fn get_mut<'a>(obj: &'a mut Value, path: &[Element]) -> Option<&'a mut Value> {
    let mut node = obj;
    for element in path {
        node = match (node, element) {
            (Value::Object(map), Element::Field(name)) => map.get_mut(name)?,
            (Value::Array(items), element) => items
                .iter_mut()
                .enumerate()
                .find(|(i, item)| element.matches(*i, item))
                .map(|(_, item)| item)?,
            _ => return None,
        };
    }
    Some(node)
}

fn remove_at(obj: &mut Value, path: &[Element]) {
    let Some((last, parent)) = path.split_last() else {
        return;
    };
    match (get_mut(obj, parent), last) {
        (Some(Value::Object(map)), Element::Field(name)) => {
            map.remove(name);
        }
        (Some(Value::Array(items)), element) => {
            let mut position = 0;
            items.retain(|item| {
                let gone = element.matches(position, item);
                position += 1;
                !gone
            });
        }
        _ => {}
    }
}
