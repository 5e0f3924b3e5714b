//! Every built-in resource keelson serves: one descriptor each, grouped by API group.
//!
//! A descriptor names the resource and points at its strategy; the generic engine in
//! `registry` does the rest. Kinds with behaviour of their own (defaults, validation,
//! table columns) have a strategy file; the others use [`Plain`] with their columns from
//! [`tables`].

mod apps;
mod cluster;
mod configmap;
mod core;
mod fields;
mod namespace;
pub mod scale;
pub mod schema;
mod secret;
pub mod service;
pub mod tables;

use crate::registry::descriptor::ResourceDescriptor;
use crate::registry::strategy::{no_fields, NameRule, Plain};

pub(crate) const PLAIN: Plain = Plain {
    name_rule: NameRule::DnsSubdomain,
    generation: false,
    columns: tables::NAME_AGE,
    fields: no_fields,
};
pub(crate) const PLAIN_GENERATION: Plain = Plain {
    name_rule: NameRule::DnsSubdomain,
    generation: true,
    columns: tables::NAME_AGE,
    fields: no_fields,
};
pub(crate) const RBAC: Plain = Plain {
    name_rule: NameRule::PathSegment,
    generation: false,
    columns: tables::NAME_AGE,
    fields: no_fields,
};

/// All served resources, in discovery order.
pub fn catalog() -> Vec<&'static ResourceDescriptor> {
    let mut all: Vec<&'static ResourceDescriptor> = Vec::new();
    all.extend(core::RESOURCES);
    all.extend(apps::RESOURCES);
    all.extend(cluster::RESOURCES);
    all
}

/// The preferred-order list of API groups with their versions (core group excluded).
pub fn groups() -> Vec<(&'static str, &'static str)> {
    let mut seen = Vec::new();
    for d in catalog() {
        if !d.group.is_empty() && !seen.iter().any(|(g, _)| *g == d.group) {
            seen.push((d.group, d.version));
        }
    }
    seen
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resources_are_unique_and_keys_distinct() {
        let all = catalog();
        for (i, a) in all.iter().enumerate() {
            for b in &all[i + 1..] {
                assert!(
                    !(a.group == b.group && a.resource == b.resource),
                    "{a:?} twice"
                );
                assert_ne!(
                    a.storage_prefix, b.storage_prefix,
                    "{a:?} and {b:?} share a storage prefix"
                );
            }
        }
        assert!(all.len() >= 37);
    }

    #[test]
    fn every_kind_decodes_a_minimal_object_through_its_schema() {
        for d in catalog() {
            let obj = serde_json::json!({"apiVersion": d.api_version(), "kind": d.kind, "metadata": {"name": "x"}});
            let decoded = (d.schema)(&obj).unwrap_or_else(|e| panic!("{d:?}: {e}"));
            assert_eq!(decoded["kind"], d.kind, "{d:?}");
        }
    }

    #[test]
    fn every_kind_has_a_name_column_and_cells_for_a_minimal_object() {
        let now = std::time::SystemTime::now();
        for d in catalog() {
            let columns = d.strategy.table_columns();
            let names: Vec<_> = columns.iter().filter(|c| c.format == "name").collect();
            assert_eq!(names.len(), 1, "{d:?}: one Name column");
            let obj = serde_json::json!({"metadata": {"name": "x", "creationTimestamp": "2024-01-01T00:00:00Z"}});
            for c in columns {
                assert!(
                    !(c.cell)(&obj, now).is_null(),
                    "{d:?}: {} has no cell",
                    c.name
                );
            }
        }
        let pods = catalog().into_iter().find(|d| d.resource == "pods");
        let pods = pods.map(|d| d.strategy.table_columns().len());
        assert_eq!(pods, Some(9), "pods print upstream's nine columns");
    }
}
