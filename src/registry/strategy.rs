//! The hooks a resource kind may fill in, in the order the engine calls them.
//!
//! As upstream's registry strategies: the engine does everything common to all kinds
//! (metadata, preconditions, status/spec split, generation, finalizers); a kind supplies
//! only what is its own. Every hook is synchronous and free of I/O, so the whole hook
//! sequence is a plain function that unit tests call directly (see `hooks.rs`).

use serde_json::Value;

use super::error::FieldError;
use super::validation;

/// How a kind's names are validated.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NameRule {
    /// RFC 1123 subdomain: most kinds.
    DnsSubdomain,
    /// RFC 1123 label: namespaces and a few others.
    DnsLabel,
    /// RFC 1035 label: services.
    Dns1035Label,
    /// Any name that is a valid path segment: RBAC kinds.
    PathSegment,
}

pub trait Strategy: Send + Sync {
    /// How names of this kind are validated.
    fn name_rule(&self) -> NameRule {
        NameRule::DnsSubdomain
    }

    /// Whether `metadata.generation` starts at 1 and grows when anything but metadata and
    /// status changes.
    fn tracks_generation(&self) -> bool {
        false
    }

    /// Runs on create after metadata is filled, before validation. May mutate.
    fn prepare_for_create(&self, _obj: &mut Value) {}

    /// Runs on update of the main resource with the stored object, before validation.
    fn prepare_for_update(&self, _new: &mut Value, _old: &Value) {}

    /// The status a new object starts with, for kinds with a status subresource
    /// (`None`: no status).
    fn initial_status(&self, _obj: &Value) -> Option<Value> {
        None
    }

    /// Kind-specific validation of a new object.
    fn validate(&self, _obj: &Value) -> Vec<FieldError> {
        Vec::new()
    }

    /// Kind-specific validation of an update (immutable fields and the like).
    fn validate_update(&self, new: &Value, _old: &Value) -> Vec<FieldError> {
        self.validate(new)
    }

    /// A delete begins on `obj` (not yet terminating): mutate it as the kind requires
    /// (a namespace's Terminating phase) and return true to keep the object terminating
    /// even when no finalizer asks for it.
    fn begin_graceful_delete(&self, _obj: &mut Value) -> bool {
        false
    }

    /// Whether the kind's own finalization (beyond metadata.finalizers) is still pending.
    fn finalization_pending(&self, _obj: &Value) -> bool {
        false
    }

    /// Last normalisation before storing. May mutate.
    fn canonicalize(&self, _obj: &mut Value) {}

    /// Fields beyond metadata.name/namespace that field selectors may use, with values.
    fn selectable_fields(&self, _obj: &Value) -> Vec<(&'static str, String)> {
        Vec::new()
    }

    /// Extra table columns after NAME (before AGE): (name, type, format, description, cell).
    fn table_columns(&self) -> &'static [Column] {
        &[]
    }
}

/// One server-side table column and how to compute its cell.
pub struct Column {
    pub name: &'static str,
    pub type_: &'static str,
    pub format: &'static str,
    pub description: &'static str,
    pub priority: u32,
    pub cell: fn(&Value) -> Value,
}

/// A strategy with no kind-specific behaviour beyond its name rule and generation.
pub struct Plain {
    pub name_rule: NameRule,
    pub generation: bool,
}

impl Strategy for Plain {
    fn name_rule(&self) -> NameRule {
        self.name_rule
    }

    fn tracks_generation(&self) -> bool {
        self.generation
    }
}

/// Validates `name` by `rule`, returning upstream's messages.
pub fn check_name(rule: NameRule, name: &str) -> Vec<String> {
    match rule {
        NameRule::DnsSubdomain => validation::dns1123_subdomain(name),
        NameRule::DnsLabel => validation::dns1123_label(name),
        NameRule::Dns1035Label => validation::dns1035_label(name),
        NameRule::PathSegment => validation::path_segment(name),
    }
}
