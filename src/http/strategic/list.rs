//! Merging one list field: lists of maps with a merge key merge element by element (with
//! `$patch: delete` / `$patch: replace` elements), lists of primitives merge as ordered
//! sets, and `$deleteFromPrimitiveList` removes values. Lists whose field has no `merge`
//! strategy are replaced by the patch's list.

use serde_json::Value;

use super::map::merge_map;
use super::order::{normalize, Identity};
use super::schema::Schema;
use super::{gofmt, SmpError};

/// The Go type of a decoded JSON value, which upstream compares to decide whether two
/// values can merge (`1` and `1.0` differ: int64 and float64).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Null,
    Bool,
    Int,
    Float,
    Str,
    Map,
    List,
}

pub fn kind(value: &Value) -> Kind {
    match value {
        Value::Null => Kind::Null,
        Value::Bool(_) => Kind::Bool,
        Value::Number(n) if n.is_i64() => Kind::Int,
        Value::Number(_) => Kind::Float,
        Value::String(_) => Kind::Str,
        Value::Array(_) => Kind::List,
        Value::Object(_) => Kind::Map,
    }
}

/// The one element kind of all `lists`; lists of lists and mixed lists are refused.
pub fn element_kind(lists: &[&[Value]]) -> Result<Kind, SmpError> {
    let mut seen: Option<Kind> = None;
    for item in lists.iter().flat_map(|l| l.iter()) {
        let k = kind(item);
        match seen {
            None if k == Kind::List => return Err(SmpError::Invalid(super::ERR_LIST_OF_LISTS)),
            None => seen = Some(k),
            Some(prev) if prev != k => {
                let printed: Vec<String> = lists
                    .iter()
                    .map(|l| gofmt::v(&Value::Array(l.to_vec())))
                    .collect();
                return Err(SmpError::Other(format!(
                    "list element types are not identical: [{}]",
                    printed.join(" ")
                )));
            }
            Some(_) => {}
        }
    }
    seen.ok_or_else(|| SmpError::Other("no elements in any of the given slices".into()))
}

/// A list field whose both sides are lists: merged when the field's strategy is `merge`
/// (or this is a `$deleteFromPrimitiveList`), otherwise the patch's list as sent.
pub fn merge_list_field(
    original: Vec<Value>,
    patch: Vec<Value>,
    elements: Schema<'_>,
    strategy: &str,
    merge_key: &str,
    delete_list: bool,
) -> Result<Vec<Value>, SmpError> {
    if strategy == "merge" || delete_list {
        merge_list(original, patch, elements, merge_key, delete_list)
    } else {
        Ok(patch)
    }
}

fn merge_list(
    original: Vec<Value>,
    patch: Vec<Value>,
    elements: Schema<'_>,
    merge_key: &str,
    delete_list: bool,
) -> Result<Vec<Value>, SmpError> {
    if original.is_empty() && patch.is_empty() {
        return Ok(original);
    }
    let kind = element_kind(&[&original, &patch])?;
    if kind != Kind::Map {
        if delete_list {
            return Ok(without(original, &patch));
        }
        let identity = Identity(None);
        let mut merged = Vec::with_capacity(original.len() + patch.len());
        let mut seen = std::collections::HashSet::new();
        for item in original.iter().chain(patch.iter()) {
            if seen.insert(identity.of(item)) {
                merged.push(item.clone());
            }
        }
        let (in_patch, server_only) = partition_primitives(merged, &patch);
        return normalize(in_patch, server_only, &patch, &original, "", kind);
    }
    if merge_key.is_empty() {
        return Err(SmpError::Other(format!(
            "cannot merge lists without merge key for {}",
            elements.go_kind_name()
        )));
    }
    let (original, patch) = apply_element_directives(original, patch, merge_key)?;
    let merged = merge_elements(original.clone(), &patch, merge_key, elements)?;
    let (in_patch, server_only) = partition_maps(merged, &patch, merge_key)?;
    normalize(in_patch, server_only, &patch, &original, merge_key, kind)
}

/// `$patch: delete` elements remove every element with their merge key value;
/// `$patch: replace` makes the patch's other elements the whole list.
fn apply_element_directives(
    mut original: Vec<Value>,
    patch: Vec<Value>,
    merge_key: &str,
) -> Result<(Vec<Value>, Vec<Value>), SmpError> {
    let mut plain = Vec::with_capacity(patch.len());
    let mut replace = false;
    for item in patch {
        let Some(directive) = item.get("$patch") else {
            plain.push(item);
            continue;
        };
        match directive.as_str() {
            Some("delete") => {
                let Some(value) = item.get(merge_key) else {
                    return Err(no_merge_key(&item, merge_key));
                };
                original.retain(|o| o.get(merge_key) != Some(value));
            }
            Some("replace") => replace = true,
            Some("merge") => {
                return Err(SmpError::Other(
                    "merging lists cannot yet be specified in the patch".into(),
                ))
            }
            _ => return Err(bad_patch_type(directive, &item)),
        }
    }
    if replace {
        Ok((plain, Vec::new()))
    } else {
        Ok((original, plain))
    }
}

/// Each patch element merges into the first element with its merge key value, or is
/// appended as sent.
fn merge_elements(
    mut original: Vec<Value>,
    patch: &[Value],
    merge_key: &str,
    elements: Schema<'_>,
) -> Result<Vec<Value>, SmpError> {
    for item in patch {
        let Some(value) = item.get(merge_key) else {
            return Err(no_merge_key(item, merge_key));
        };
        match original
            .iter()
            .position(|o| o.get(merge_key) == Some(value))
        {
            Some(i) => {
                let (Value::Object(current), Value::Object(change)) =
                    (std::mem::take(&mut original[i]), item.clone())
                else {
                    return Err(bad_arg_type("map[string]interface {}", item));
                };
                original[i] = Value::Object(merge_map(current, change, elements)?);
            }
            None => original.push(item.clone()),
        }
    }
    Ok(original)
}

/// Removes every value listed in `remove` (`$deleteFromPrimitiveList`).
fn without(current: Vec<Value>, remove: &[Value]) -> Vec<Value> {
    let identity = Identity(None);
    let gone: std::collections::HashSet<String> = remove.iter().map(|v| identity.of(v)).collect();
    current
        .into_iter()
        .filter(|v| !gone.contains(&identity.of(v)))
        .collect()
}

/// Splits `list` into the items present in `by` and the others, keeping their order.
pub fn partition_primitives(list: Vec<Value>, by: &[Value]) -> (Vec<Value>, Vec<Value>) {
    let identity = Identity(None);
    let named: std::collections::HashSet<String> = by.iter().map(|v| identity.of(v)).collect();
    list.into_iter()
        .partition(|v| named.contains(&identity.of(v)))
}

/// Like [`partition_primitives`] for maps, by merge key; every item must carry it. As
/// upstream scans `by` per item, a non-map in `by` before any match is an error.
pub fn partition_maps(
    list: Vec<Value>,
    by: &[Value],
    merge_key: &str,
) -> Result<(Vec<Value>, Vec<Value>), SmpError> {
    let first_non_map = by.iter().position(|v| !v.is_object());
    let mut first_match = std::collections::HashMap::new();
    for (i, item) in by.iter().enumerate() {
        if let Some(v) = item.get(merge_key) {
            first_match.entry(v.to_string()).or_insert(i);
        }
    }
    let (mut inside, mut outside) = (Vec::new(), Vec::new());
    for item in list {
        if !item.is_object() {
            return Err(bad_arg_type("map[string]interface {}", &item));
        }
        let Some(value) = item.get(merge_key) else {
            return Err(no_merge_key(&item, merge_key));
        };
        match (first_match.get(&value.to_string()), first_non_map) {
            (Some(found), bad) if bad.is_none_or(|b| *found < b) => inside.push(item),
            (_, Some(bad)) => {
                return Err(SmpError::Other(format!("value for key {bad} is not a map")))
            }
            _ => outside.push(item),
        }
    }
    Ok((inside, outside))
}

/// Every item of every list is a map carrying the merge key.
pub fn validate_merge_key_in_lists(merge_key: &str, lists: &[&[Value]]) -> Result<(), SmpError> {
    for item in lists.iter().flat_map(|l| l.iter()) {
        if !item.is_object() {
            return Err(bad_arg_type("map[string]interface {}", item));
        }
        if item.get(merge_key).is_none() {
            return Err(no_merge_key(item, merge_key));
        }
    }
    Ok(())
}

pub fn no_merge_key(item: &Value, merge_key: &str) -> SmpError {
    SmpError::Other(format!(
        "map: {} does not contain declared merge key: {merge_key}",
        gofmt::v(item)
    ))
}

pub fn bad_arg_type(expected: &str, actual: &Value) -> SmpError {
    SmpError::Other(format!(
        "expected a {expected}, but received a {}",
        gofmt::type_name(actual)
    ))
}

pub fn bad_patch_type(directive: &Value, map: &Value) -> SmpError {
    SmpError::Other(format!(
        "unknown patch type: {} in map: {}",
        gofmt::s(directive),
        gofmt::v(map)
    ))
}

/// Whether two items name the same element: by merge key (both must be maps carrying
/// it), or as whole values when there is none.
pub fn validate_merge_key_equal(
    left: &Value,
    right: &Value,
    merge_key: &str,
) -> Result<bool, SmpError> {
    if merge_key.is_empty() {
        return Ok(left == right);
    }
    let key_of = |v: &Value| match v {
        Value::Object(m) => m
            .get(merge_key)
            .cloned()
            .ok_or_else(|| no_merge_key(v, merge_key)),
        other => Err(bad_arg_type("map[string]interface {}", other)),
    };
    if !left.is_object() {
        return Err(bad_arg_type("map[string]interface {}", left));
    }
    if !right.is_object() {
        return Err(bad_arg_type("map[string]interface {}", right));
    }
    Ok(key_of(left)? == key_of(right)?)
}

/// The list upstream orders a `$setElementOrder` merge against. Upstream deletes
/// `$patch: delete` elements and appends new ones with Go slice operations that write
/// into the live list's backing array, and then reads that array as "the live order":
/// deleted slots are shifted over and new elements show through the freed tail.
/// Reproduced because it decides where server-only items land.
pub fn order_seen_after_merge(current: &[Value], change: &[Value], merge_key: &str) -> Vec<Value> {
    let mut backing = current.to_vec();
    let mut len = backing.len();
    let mut replace = false;
    for item in change {
        match item.get("$patch").map(Value::as_str) {
            None => {}
            Some(Some("delete")) => {
                let Some(value) = item.get(merge_key) else {
                    return backing;
                };
                while let Some(i) = backing[..len]
                    .iter()
                    .position(|o| o.get(merge_key) == Some(value))
                {
                    // Go's append(s[:i], s[i+1:]...): shift left, the last slot keeps its value.
                    for j in i..len - 1 {
                        backing[j] = backing[j + 1].clone();
                    }
                    len -= 1;
                }
            }
            Some(Some("replace")) => replace = true,
            Some(_) => return backing,
        }
    }
    if replace {
        return backing;
    }
    let mut live: Vec<Value> = backing[..len].to_vec();
    for item in change.iter().filter(|i| i.get("$patch").is_none()) {
        let Some(value) = item.get(merge_key) else {
            break;
        };
        if !live.iter().any(|o| o.get(merge_key) == Some(value)) {
            if live.len() < backing.len() {
                backing[live.len()] = item.clone();
            }
            live.push(item.clone());
        }
    }
    backing
}
