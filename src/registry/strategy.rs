//! The hooks a resource kind may fill in, in the order the engine calls them.
//!
//! As upstream's registry strategies: the engine does everything common to all kinds
//! (metadata, preconditions, status/spec split, generation, finalizers); a kind supplies
//! only what is its own. Every hook is synchronous and free of I/O, so the whole hook
//! sequence is a plain function that unit tests call directly (see `hooks.rs`).

use std::time::SystemTime;

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

    /// The columns of this kind's server-side table (`as=Table`), Name and Age included,
    /// in upstream's order; `-o wide` columns have priority 1. Kinds without a printer
    /// upstream print Name and Age.
    fn table_columns(&self) -> &'static [Column] {
        crate::kinds::tables::NAME_AGE
    }
}

/// Computes one table cell from the object, given the time the table is made at.
pub type Cell = fn(&Value, SystemTime) -> Value;

/// One server-side table column and how to compute its cell.
pub struct Column {
    pub name: &'static str,
    pub type_: &'static str,
    pub format: &'static str,
    pub description: &'static str,
    /// 0: shown by `kubectl get`; 1: only with `-o wide`.
    pub priority: u32,
    pub cell: Cell,
}

impl Column {
    /// A `string` column shown by plain `kubectl get`.
    pub const fn new(name: &'static str, description: &'static str, cell: Cell) -> Self {
        Self {
            name,
            type_: "string",
            format: "",
            description,
            priority: 0,
            cell,
        }
    }

    /// The same column with another type (`integer`, `boolean`, `date`).
    pub const fn typed(self, type_: &'static str) -> Self {
        Self { type_, ..self }
    }

    /// The same column shown only by `-o wide`.
    pub const fn wide(self) -> Self {
        Self {
            priority: 1,
            ..self
        }
    }
}

/// A strategy with no kind-specific behaviour beyond its name rule, generation and
/// table columns.
pub struct Plain {
    pub name_rule: NameRule,
    pub generation: bool,
    pub columns: &'static [Column],
    /// The kind's selectable fields (see [`Strategy::selectable_fields`]).
    pub fields: SelectableFields,
}

/// A kind's selectable fields with their values; called with `null` for the names.
pub type SelectableFields = fn(&Value) -> Vec<(&'static str, String)>;

/// No selectable fields beyond metadata.name and metadata.namespace.
pub fn no_fields(_: &Value) -> Vec<(&'static str, String)> {
    Vec::new()
}

impl Plain {
    /// The same strategy with the given table columns.
    pub const fn with_columns(self, columns: &'static [Column]) -> Self {
        Self { columns, ..self }
    }

    /// The same strategy with the given selectable fields.
    pub const fn with_fields(self, fields: SelectableFields) -> Self {
        Self { fields, ..self }
    }
}

impl Strategy for Plain {
    fn name_rule(&self) -> NameRule {
        self.name_rule
    }

    fn tracks_generation(&self) -> bool {
        self.generation
    }

    fn table_columns(&self) -> &'static [Column] {
        self.columns
    }

    fn selectable_fields(&self, obj: &Value) -> Vec<(&'static str, String)> {
        (self.fields)(obj)
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
