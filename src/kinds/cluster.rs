//! The remaining groups: coordination, events, RBAC, storage, networking, policy,
//! scheduling, discovery and admission registration.

use super::{PLAIN, PLAIN_GENERATION, RBAC};
use crate::registry::descriptor::{ResourceDescriptor as R, ALL_VERBS};

const fn other(group: &'static str, resource: &'static str, singular: &'static str, kind: &'static str, namespaced: bool) -> R {
    R {
        group,
        version: "v1",
        resource,
        singular,
        kind,
        namespaced,
        short_names: &[],
        categories: &[],
        verbs: ALL_VERBS,
        status: false,
        storage_prefix: resource,
        strategy: &PLAIN,
    }
}

const RBAC_GROUP: &str = "rbac.authorization.k8s.io";
const ADMISSION: &str = "admissionregistration.k8s.io";

pub static RESOURCES: &[&R] = &[
    &other("coordination.k8s.io", "leases", "lease", "Lease", true),
    // Upstream stores events.k8s.io Events beside core Events and converts between the
    // two; keelson keeps them apart until that conversion exists (docs/compatibility.md).
    &R { short_names: &["ev"], storage_prefix: "events.k8s.io/events", ..other("events.k8s.io", "events", "event", "Event", true) },
    &R { strategy: &RBAC, ..other(RBAC_GROUP, "clusterrolebindings", "clusterrolebinding", "ClusterRoleBinding", false) },
    &R { strategy: &RBAC, ..other(RBAC_GROUP, "clusterroles", "clusterrole", "ClusterRole", false) },
    &R { strategy: &RBAC, ..other(RBAC_GROUP, "rolebindings", "rolebinding", "RoleBinding", true) },
    &R { strategy: &RBAC, ..other(RBAC_GROUP, "roles", "role", "Role", true) },
    &R { short_names: &["sc"], ..other("storage.k8s.io", "storageclasses", "storageclass", "StorageClass", false) },
    &R { strategy: &PLAIN_GENERATION, ..other("networking.k8s.io", "ingressclasses", "ingressclass", "IngressClass", false) },
    &R { short_names: &["ing"], status: true, storage_prefix: "ingress", strategy: &PLAIN_GENERATION, ..other("networking.k8s.io", "ingresses", "ingress", "Ingress", true) },
    &R { short_names: &["netpol"], strategy: &PLAIN_GENERATION, ..other("networking.k8s.io", "networkpolicies", "networkpolicy", "NetworkPolicy", true) },
    &R { short_names: &["pdb"], status: true, strategy: &PLAIN_GENERATION, ..other("policy", "poddisruptionbudgets", "poddisruptionbudget", "PodDisruptionBudget", true) },
    &R { short_names: &["pc"], ..other("scheduling.k8s.io", "priorityclasses", "priorityclass", "PriorityClass", false) },
    &R { strategy: &PLAIN_GENERATION, ..other("discovery.k8s.io", "endpointslices", "endpointslice", "EndpointSlice", true) },
    &R { categories: &["api-extensions"], strategy: &PLAIN_GENERATION, ..other(ADMISSION, "mutatingwebhookconfigurations", "mutatingwebhookconfiguration", "MutatingWebhookConfiguration", false) },
    &R { categories: &["api-extensions"], strategy: &PLAIN_GENERATION, ..other(ADMISSION, "validatingwebhookconfigurations", "validatingwebhookconfiguration", "ValidatingWebhookConfiguration", false) },
];
