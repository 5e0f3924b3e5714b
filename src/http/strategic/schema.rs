//! Where a field's patch strategy and merge key come from: the kind's OpenAPI (swagger 2.0)
//! definition, walked one key at a time as the merge descends.
//!
//! Upstream's server reads the same facts from Go struct tags; the published definitions
//! carry them as `x-kubernetes-patch-strategy` / `x-kubernetes-patch-merge-key` on each
//! property. A part of the object the definitions do not describe has no schema: its maps
//! merge key by key and its lists are replaced, as upstream treats unstructured parts.

use serde_json::{Map, Value};

const STRATEGY: &str = "x-kubernetes-patch-strategy";
const MERGE_KEY: &str = "x-kubernetes-patch-merge-key";

/// The schema of one node of the object being patched (or none).
#[derive(Clone, Copy)]
pub struct Schema<'a> {
    defs: &'a Map<String, Value>,
    node: Option<&'a Value>,
}

/// A field's patch metadata: its strategies (`merge`, `replace`, `retainKeys`, or
/// `merge,retainKeys` split on the comma) and its merge key (empty when none).
#[derive(Debug, Default, PartialEq, Eq)]
pub struct FieldMeta {
    pub strategies: Vec<String>,
    pub merge_key: String,
}

impl<'a> Schema<'a> {
    /// The schema rooted at `root`, resolving `$ref`s against `defs`.
    pub fn new(defs: &'a Map<String, Value>, root: &'a Value) -> Self {
        Schema {
            defs,
            node: Some(root),
        }
        .resolved()
    }

    /// No schema: maps merge, lists are replaced.
    pub fn none(defs: &'a Map<String, Value>) -> Self {
        Schema { defs, node: None }
    }

    /// The schema of map field `key` and its patch metadata. A map-typed node
    /// (`additionalProperties`) gives its value schema for every key, with no metadata.
    pub fn field(&self, key: &str) -> (Schema<'a>, FieldMeta) {
        let Some(node) = self.node else {
            return (*self, FieldMeta::default());
        };
        if let Some(prop) = node.get("properties").and_then(|p| p.get(key)) {
            let meta = FieldMeta::of(prop);
            return (self.at(prop), meta);
        }
        match node.get("additionalProperties") {
            Some(inner @ Value::Object(_)) => (self.at(inner), FieldMeta::default()),
            _ => (Schema::none(self.defs), FieldMeta::default()),
        }
    }

    /// The schema of the elements of list field `key` and the list's patch metadata.
    pub fn list_field(&self, key: &str) -> (Schema<'a>, FieldMeta) {
        let (list, meta) = self.field(key);
        // A field typed as a single object but patched as a list (upstream's tests use
        // such a pointer field) takes the object's schema for its elements.
        let elements = match list.node.and_then(|n| n.get("items")) {
            Some(items) => list.at(items),
            None => list,
        };
        (elements, meta)
    }

    /// How upstream names the element type in `cannot merge lists without merge key for
    /// ...`: Go's kind of the element type.
    pub fn go_kind_name(&self) -> &'static str {
        match self.node {
            Some(n) if n.get("additionalProperties").is_some() => "map",
            _ => "struct",
        }
    }

    fn at(&self, node: &'a Value) -> Schema<'a> {
        Schema {
            defs: self.defs,
            node: Some(node),
        }
        .resolved()
    }

    /// Follows `allOf: [x]` and `$ref: "#/definitions/NAME"`, a bounded number of hops so
    /// a cyclic definition cannot loop.
    fn resolved(mut self) -> Self {
        for _ in 0..16 {
            let Some(node) = self.node else { break };
            if let Some(first) = node.get("allOf").and_then(|a| a.get(0)) {
                self.node = Some(first);
                continue;
            }
            match node.get("$ref").and_then(Value::as_str) {
                Some(reference) => {
                    let name = reference.rsplit('/').next().unwrap_or(reference);
                    self.node = self.defs.get(name);
                }
                None => break,
            }
        }
        self
    }
}

impl FieldMeta {
    fn of(prop: &Value) -> Self {
        let text = |k: &str| prop.get(k).and_then(Value::as_str).unwrap_or("");
        let strategy = text(STRATEGY);
        FieldMeta {
            strategies: if strategy.is_empty() {
                Vec::new()
            } else {
                strategy.split(',').map(str::to_string).collect()
            },
            merge_key: text(MERGE_KEY).to_string(),
        }
    }

    /// The strategy other than `retainKeys` (upstream allows at most one of each).
    pub fn strategy(&self) -> Result<&str, String> {
        let is_retain = |s: &String| s == "retainKeys";
        match self.strategies.as_slice() {
            [] => Ok(""),
            [one] if is_retain(one) => Ok(""),
            [one] => Ok(one),
            [a, b] if is_retain(a) => Ok(b),
            [a, b] if is_retain(b) => Ok(a),
            _ => Err(format!(
                "unexpected patch strategy: [{}]",
                self.strategies.join(" ")
            )),
        }
    }
}
