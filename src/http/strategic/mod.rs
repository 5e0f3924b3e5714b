//! Strategic merge patch (`application/strategic-merge-patch+json`) for built-in kinds,
//! with upstream's semantics (k8s.io/apimachinery/pkg/util/strategicpatch, Kubernetes
//! 1.32): maps merge key by key and `null` deletes; lists whose field has patch strategy
//! `merge` merge by their merge key (or as ordered sets of primitives); other lists are
//! replaced; and the directives `$patch`, `$retainKeys`, `$deleteFromPrimitiveList/F` and
//! `$setElementOrder/F` do what kubectl's computed patches expect.
//!
//! kubectl sends this patch type for built-in kinds from `apply` (its three-way patch),
//! `patch` (the default `--type`) and `edit`. The merge is a pure function of the current
//! object, the patch and the kind's OpenAPI definition ([`Schema`]); the HTTP layer turns
//! [`SmpError`] into upstream's status codes.

mod gofmt;
mod list;
mod map;
mod order;
mod parse;
mod schema;
#[cfg(test)]
mod tests;

use serde_json::{Map, Value};

pub use parse::decode;
pub use schema::Schema;

pub(crate) const ERR_PRIMITIVE_LIST: &str = "invalid patch format of primitive list";
pub(crate) const ERR_RETAIN_KEYS: &str = "invalid patch format of retainKeys";
pub(crate) const ERR_SET_ORDER: &str = "invalid patch format of setElementOrder list";
pub(crate) const ERR_LIST_OF_LISTS: &str = "lists of lists are not supported";

/// Why a strategic merge failed, grouped the way upstream answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SmpError {
    /// A directive in the wrong format: 400 BadRequest with this message.
    BadRequest(&'static str),
    /// 422 Invalid with upstream's generic message (the detail is not sent).
    Invalid(&'static str),
    /// Anything else (a missing merge key, an unknown `$patch` value): upstream returns
    /// a plain error, which its handler answers 500 with no reason and this message.
    Other(String),
}

impl std::fmt::Display for SmpError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SmpError::BadRequest(m) | SmpError::Invalid(m) => f.write_str(m),
            SmpError::Other(m) => f.write_str(m),
        }
    }
}

/// Applies `patch` to `current` (an object) under `schema`; `current` is not changed.
pub fn apply(
    current: &Value,
    patch: Map<String, Value>,
    schema: Schema<'_>,
) -> Result<Value, SmpError> {
    let original = current.as_object().cloned().unwrap_or_default();
    map::merge_map(original, patch, schema).map(Value::Object)
}
