//! What the API says about one resource: its names, scope, verbs and strategy.
//!
//! A built-in kind is one [`ResourceDescriptor`] in `kinds/`; discovery, routing, storage
//! keys and the engine all read it, so adding a kind is adding a descriptor.

use super::strategy::Strategy;

/// The standard verbs of a resource served by the generic engine.
pub const ALL_VERBS: &[&str] = &[
    "create",
    "delete",
    "deletecollection",
    "get",
    "list",
    "patch",
    "update",
    "watch",
];
/// Namespaces cannot be deleted as a collection.
pub const VERBS_NO_COLLECTION_DELETE: &[&str] = &[
    "create", "delete", "get", "list", "patch", "update", "watch",
];

pub struct ResourceDescriptor {
    pub group: &'static str,
    pub version: &'static str,
    /// Plural, lower case: `configmaps`.
    pub resource: &'static str,
    pub singular: &'static str,
    pub kind: &'static str,
    pub namespaced: bool,
    pub short_names: &'static [&'static str],
    pub categories: &'static [&'static str],
    pub verbs: &'static [&'static str],
    /// Whether a `status` subresource exists.
    pub status: bool,
    /// The segment after `/registry/` in storage keys, as upstream lays them out.
    pub storage_prefix: &'static str,
    pub strategy: &'static dyn Strategy,
    /// Decodes an object through the kind's typed schema: type errors are refused and
    /// fields the schema does not declare are dropped (the caller compares to find them).
    pub schema: fn(&serde_json::Value) -> Result<serde_json::Value, String>,
}

impl ResourceDescriptor {
    /// `v1` for the core group, `group/version` otherwise.
    pub fn api_version(&self) -> String {
        if self.group.is_empty() {
            self.version.to_string()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }

    pub fn list_kind(&self) -> String {
        format!("{}List", self.kind)
    }

    pub fn supports(&self, verb: &str) -> bool {
        self.verbs.contains(&verb)
    }

    /// `configmaps` or `deployments.apps`, as upstream names a resource in messages.
    pub fn qualified_resource(&self) -> String {
        if self.group.is_empty() {
            self.resource.to_string()
        } else {
            format!("{}.{}", self.resource, self.group)
        }
    }
}

impl std::fmt::Debug for ResourceDescriptor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.api_version(), self.resource)
    }
}
