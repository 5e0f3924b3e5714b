//! What the kind's OpenAPI schema says about how a node merges: whether a map is a
//! struct, a granular map or atomic, and whether a list is atomic, a set or a map keyed
//! by some of its elements' fields.
//!
//! Upstream's server builds the same facts from its OpenAPI models
//! (`x-kubernetes-list-type`, `x-kubernetes-list-map-keys`, `x-kubernetes-map-type`,
//! falling back to the patch strategy and merge key where no list type is given). A part
//! the schema does not describe is "deduced": its maps are granular, its lists atomic.

use serde_json::{Map, Value};

/// The schema of one node (or none: deduced).
#[derive(Clone, Copy)]
pub struct Shape {
    defs: Option<&'static Map<String, Value>>,
    node: Option<&'static Value>,
}

/// How a list's elements are told apart.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ListKind {
    Atomic,
    Set,
    Map(Vec<String>),
}

impl Shape {
    /// The schema of a served kind, from upstream's definitions.
    pub fn of_kind(group: &str, version: &str, kind: &str) -> Shape {
        match crate::openapi::definition_for(group, version, kind) {
            Some((_, node)) => Shape::at(crate::openapi::definitions(), node),
            None => Shape::none(),
        }
    }

    pub fn none() -> Shape {
        Shape {
            defs: None,
            node: None,
        }
    }

    fn at(defs: &'static Map<String, Value>, node: &'static Value) -> Shape {
        let mut node = Some(node);
        // Follow `allOf: [x]` and `$ref`s, a bounded number of hops.
        for _ in 0..16 {
            let Some(n) = node else { break };
            if let Some(first) = n.get("allOf").and_then(|a| a.get(0)) {
                node = Some(first);
                continue;
            }
            match n.get("$ref").and_then(Value::as_str) {
                Some(r) => node = defs.get(r.rsplit('/').next().unwrap_or(r)),
                None => break,
            }
        }
        Shape {
            defs: Some(defs),
            node,
        }
    }

    fn child(&self, node: &'static Value) -> Shape {
        match self.defs {
            Some(defs) => Shape::at(defs, node),
            None => Shape::none(),
        }
    }

    fn text(&self, key: &str) -> Option<&'static str> {
        self.node?.get(key)?.as_str()
    }

    /// Whether the node is a struct (declares its fields).
    pub fn is_struct(&self) -> bool {
        self.node.is_some_and(|n| n.get("properties").is_some())
    }

    /// Whether a map node is owned as a whole (`x-kubernetes-map-type: atomic`).
    pub fn atomic_map(&self) -> bool {
        self.text("x-kubernetes-map-type") == Some("atomic")
    }

    /// The schema of map entry `key`, and whether `key` is a declared struct field.
    pub fn field(&self, key: &str) -> (Shape, bool) {
        let Some(node) = self.node else {
            return (Shape::none(), false);
        };
        if let Some(prop) = node.get("properties").and_then(|p| p.get(key)) {
            return (self.child(prop), true);
        }
        match node.get("additionalProperties") {
            Some(inner @ Value::Object(_)) => (self.child(inner), false),
            _ => (Shape::none(), false),
        }
    }

    /// The elements' schema of a list node.
    pub fn items(&self) -> Shape {
        match self.node.and_then(|n| n.get("items")) {
            Some(items) => self.child(items),
            None => Shape::none(),
        }
    }

    /// How this list node merges.
    pub fn list_kind(&self) -> ListKind {
        let Some(node) = self.node else {
            return ListKind::Atomic;
        };
        let keys = |field: &str| -> Vec<String> {
            node.get(field)
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(|k| k.as_str().map(str::to_string))
                        .collect()
                })
                .unwrap_or_default()
        };
        match self.text("x-kubernetes-list-type") {
            Some("set") => return ListKind::Set,
            Some("map") => return ListKind::Map(keys("x-kubernetes-list-map-keys")),
            Some(_) => return ListKind::Atomic,
            None => {}
        }
        let merges = self
            .text("x-kubernetes-patch-strategy")
            .is_some_and(|s| s.split(',').any(|s| s == "merge"));
        match self.text("x-kubernetes-patch-merge-key") {
            Some(key) if merges => ListKind::Map(vec![key.to_string()]),
            None if merges => ListKind::Set,
            _ => ListKind::Atomic,
        }
    }
}

impl ListKind {
    /// The path element naming list element `item` at `position`.
    pub fn element(&self, position: usize, item: &Value) -> super::path::Element {
        use super::path::Element;
        match self {
            ListKind::Set if !item.is_object() && !item.is_array() => {
                Element::Value(item.to_string())
            }
            ListKind::Map(keys) if item.is_object() && !keys.is_empty() => {
                let mut fields = Map::new();
                for key in keys {
                    if let Some(v) = item.get(key) {
                        fields.insert(key.clone(), v.clone());
                    }
                }
                Element::Key(Value::Object(fields).to_string())
            }
            _ => Element::Index(position),
        }
    }
}
