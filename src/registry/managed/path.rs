//! Field paths and field sets, and their wire form `FieldsV1`.
//!
//! A path names one node of an object the way structured-merge-diff does: a map field
//! (`f:name`), an element of an associative list by its key fields (`k:{"name":"a"}`),
//! an element of a set by its value (`v:"x"`), or a list position (`i:0`). A [`FieldSet`]
//! is the set of paths one manager owns. Kept as a sorted set of whole paths so that
//! union, difference and "is anything under this path owned" stay one-liners.

use std::collections::BTreeSet;
use std::fmt;
use std::ops::Bound;

use serde_json::{Map, Value};

/// One step of a path.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Element {
    Field(String),
    /// The key fields of an associative-list element, as compact JSON with sorted keys.
    Key(String),
    /// A set member, as compact JSON.
    Value(String),
    Index(usize),
}

pub type Path = Vec<Element>;

/// The set of paths a manager owns.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FieldSet(BTreeSet<Path>);

impl FieldSet {
    pub fn insert(&mut self, path: Path) {
        self.0.insert(path);
    }

    pub fn contains(&self, path: &[Element]) -> bool {
        self.0.contains(path)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn iter(&self) -> impl DoubleEndedIterator<Item = &Path> {
        self.0.iter()
    }

    pub fn union(&self, other: &FieldSet) -> FieldSet {
        FieldSet(self.0.union(&other.0).cloned().collect())
    }

    pub fn difference(&self, other: &FieldSet) -> FieldSet {
        FieldSet(self.0.difference(&other.0).cloned().collect())
    }

    pub fn intersection(&self, other: &FieldSet) -> FieldSet {
        FieldSet(self.0.intersection(&other.0).cloned().collect())
    }

    /// Whether some member lies strictly below `path`. Descendants sort right after
    /// their ancestor, so the next member decides.
    pub fn has_descendant(&self, path: &[Element]) -> bool {
        let start: Path = path.to_vec();
        self.0
            .range((Bound::Excluded(start), Bound::Unbounded))
            .next()
            .is_some_and(|next| next.len() > path.len() && next.starts_with(path))
    }

    /// The set without the members for which `drop` says so.
    pub fn without(&self, drop: impl Fn(&Path) -> bool) -> FieldSet {
        FieldSet(self.0.iter().filter(|p| !drop(p)).cloned().collect())
    }

    /// The `fieldsV1` JSON: nested `{"f:a":{"f:b":{}}}`, with `".": {}` marking a member
    /// that also has members below it.
    pub fn to_fields_v1(&self) -> Value {
        let mut root = Map::new();
        for path in &self.0 {
            let mut node = &mut root;
            for (depth, element) in path.iter().enumerate() {
                let child = node
                    .entry(element.to_string())
                    .or_insert_with(|| Value::Object(Map::new()));
                if !child.is_object() {
                    *child = Value::Object(Map::new());
                }
                let Value::Object(child) = child else { break };
                let inner = depth + 1 < path.len();
                if inner && self.contains(&path[..=depth]) {
                    child.insert(".".into(), Value::Object(Map::new()));
                }
                node = child;
            }
        }
        Value::Object(root)
    }

    /// Parses `fieldsV1` JSON; a malformed one is an error (upstream then ignores it).
    pub fn from_fields_v1(value: &Value) -> Result<FieldSet, String> {
        let mut set = FieldSet::default();
        let mut path = Vec::new();
        read_node(value, &mut path, &mut set)?;
        Ok(set)
    }
}

fn read_node(value: &Value, path: &mut Path, set: &mut FieldSet) -> Result<(), String> {
    let map = value
        .as_object()
        .ok_or_else(|| "fieldsV1 nodes must be objects".to_string())?;
    if map.is_empty() && !path.is_empty() {
        set.insert(path.clone());
    }
    for (key, child) in map {
        if key == "." {
            if !path.is_empty() {
                set.insert(path.clone());
            }
            continue;
        }
        path.push(Element::parse(key)?);
        read_node(child, path, set)?;
        path.pop();
    }
    Ok(())
}

impl Element {
    fn parse(text: &str) -> Result<Element, String> {
        let bad = || format!("invalid field path element {text:?}");
        let (prefix, rest) = text.split_once(':').ok_or_else(bad)?;
        let compact = |json: &str| {
            serde_json::from_str::<Value>(json)
                .map(|v| v.to_string())
                .map_err(|_| bad())
        };
        match prefix {
            "f" => Ok(Element::Field(rest.to_string())),
            "k" => Ok(Element::Key(compact(rest)?)),
            "v" => Ok(Element::Value(compact(rest)?)),
            "i" => rest.parse().map(Element::Index).map_err(|_| bad()),
            _ => Err(bad()),
        }
    }

    /// Whether `item` (a list element) is the one this element names.
    pub fn matches(&self, position: usize, item: &Value) -> bool {
        match self {
            Element::Index(i) => *i == position,
            Element::Value(v) => serde_json::from_str::<Value>(v).is_ok_and(|m| m == *item),
            Element::Key(k) => {
                let Ok(Value::Object(fields)) = serde_json::from_str::<Value>(k) else {
                    return false;
                };
                fields.iter().all(|(f, v)| item.get(f) == Some(v))
            }
            Element::Field(_) => false,
        }
    }
}

/// The FieldsV1 spelling (`f:`, `k:`, `v:`, `i:`).
impl fmt::Display for Element {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Element::Field(name) => write!(f, "f:{name}"),
            Element::Key(key) => write!(f, "k:{key}"),
            Element::Value(value) => write!(f, "v:{value}"),
            Element::Index(i) => write!(f, "i:{i}"),
        }
    }
}

/// A path as upstream prints it in conflicts: `.spec.containers[name="a"].image`.
pub fn display(path: &[Element]) -> String {
    let mut out = String::new();
    for element in path {
        match element {
            Element::Field(name) => {
                out.push('.');
                out.push_str(name);
            }
            Element::Key(key) => {
                let fields: Vec<String> = match serde_json::from_str::<Value>(key) {
                    Ok(Value::Object(m)) => m.iter().map(|(k, v)| format!("{k}={v}")).collect(),
                    _ => vec![key.clone()],
                };
                out.push_str(&format!("[{}]", fields.join(",")));
            }
            Element::Value(value) => out.push_str(&format!("[={value}]")),
            Element::Index(i) => out.push_str(&format!("[{i}]")),
        }
    }
    out
}

/// A path from FieldsV1-style strings, for tests and fixed paths.
#[cfg(test)]
pub fn parse_path(elements: &[&str]) -> Path {
    elements
        .iter()
        .map(|e| Element::parse(e).unwrap_or(Element::Field(e.to_string())))
        .collect()
}
