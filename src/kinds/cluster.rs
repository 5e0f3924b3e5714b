//! The remaining groups: coordination, events, RBAC, storage, networking, policy,
//! scheduling, discovery and admission registration.

use super::schema::typed;
use super::tables::{self, cluster as t};
use super::{PLAIN, PLAIN_GENERATION, RBAC};
use crate::registry::descriptor::{ResourceDescriptor as R, ALL_VERBS};

const fn other(
    group: &'static str,
    resource: &'static str,
    singular: &'static str,
    kind: &'static str,
    namespaced: bool,
) -> R {
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
        schema: |_| Err("no schema".into()),
    }
}

const RBAC_GROUP: &str = "rbac.authorization.k8s.io";
const ADMISSION: &str = "admissionregistration.k8s.io";

pub static RESOURCES: &[&R] = &[
    &R {
        schema: typed::<k8s_openapi::api::coordination::v1::Lease>,
        strategy: &PLAIN.with_columns(t::LEASE),
        ..other("coordination.k8s.io", "leases", "lease", "Lease", true)
    },
    // Upstream stores events.k8s.io Events beside core Events and converts between the
    // two; keelson keeps them apart until that conversion exists (docs/compatibility.md).
    &R {
        schema: typed::<k8s_openapi::api::events::v1::Event>,
        short_names: &["ev"],
        storage_prefix: "events.k8s.io/events",
        strategy: &PLAIN.with_columns(tables::event::EVENT_V1),
        ..other("events.k8s.io", "events", "event", "Event", true)
    },
    &R {
        schema: typed::<k8s_openapi::api::rbac::v1::ClusterRoleBinding>,
        strategy: &RBAC.with_columns(t::CLUSTER_ROLE_BINDING),
        ..other(
            RBAC_GROUP,
            "clusterrolebindings",
            "clusterrolebinding",
            "ClusterRoleBinding",
            false,
        )
    },
    &R {
        schema: typed::<k8s_openapi::api::rbac::v1::ClusterRole>,
        strategy: &RBAC.with_columns(tables::NAME_CREATED_AT),
        ..other(
            RBAC_GROUP,
            "clusterroles",
            "clusterrole",
            "ClusterRole",
            false,
        )
    },
    &R {
        schema: typed::<k8s_openapi::api::rbac::v1::RoleBinding>,
        strategy: &RBAC.with_columns(t::ROLE_BINDING),
        ..other(
            RBAC_GROUP,
            "rolebindings",
            "rolebinding",
            "RoleBinding",
            true,
        )
    },
    &R {
        schema: typed::<k8s_openapi::api::rbac::v1::Role>,
        strategy: &RBAC.with_columns(tables::NAME_CREATED_AT),
        ..other(RBAC_GROUP, "roles", "role", "Role", true)
    },
    &R {
        schema: typed::<k8s_openapi::api::storage::v1::StorageClass>,
        short_names: &["sc"],
        strategy: &PLAIN.with_columns(tables::storage::STORAGE_CLASS),
        ..other(
            "storage.k8s.io",
            "storageclasses",
            "storageclass",
            "StorageClass",
            false,
        )
    },
    &R {
        schema: typed::<k8s_openapi::api::networking::v1::IngressClass>,
        strategy: &PLAIN_GENERATION.with_columns(t::INGRESS_CLASS),
        ..other(
            "networking.k8s.io",
            "ingressclasses",
            "ingressclass",
            "IngressClass",
            false,
        )
    },
    &R {
        schema: typed::<k8s_openapi::api::networking::v1::Ingress>,
        short_names: &["ing"],
        status: true,
        storage_prefix: "ingress",
        strategy: &PLAIN_GENERATION.with_columns(t::INGRESS),
        ..other("networking.k8s.io", "ingresses", "ingress", "Ingress", true)
    },
    &R {
        schema: typed::<k8s_openapi::api::networking::v1::NetworkPolicy>,
        short_names: &["netpol"],
        strategy: &PLAIN_GENERATION.with_columns(t::NETWORK_POLICY),
        ..other(
            "networking.k8s.io",
            "networkpolicies",
            "networkpolicy",
            "NetworkPolicy",
            true,
        )
    },
    &R {
        schema: typed::<k8s_openapi::api::policy::v1::PodDisruptionBudget>,
        short_names: &["pdb"],
        status: true,
        strategy: &PLAIN_GENERATION.with_columns(t::POD_DISRUPTION_BUDGET),
        ..other(
            "policy",
            "poddisruptionbudgets",
            "poddisruptionbudget",
            "PodDisruptionBudget",
            true,
        )
    },
    &R {
        schema: typed::<k8s_openapi::api::scheduling::v1::PriorityClass>,
        short_names: &["pc"],
        strategy: &PLAIN.with_columns(t::PRIORITY_CLASS),
        ..other(
            "scheduling.k8s.io",
            "priorityclasses",
            "priorityclass",
            "PriorityClass",
            false,
        )
    },
    &R {
        schema: typed::<k8s_openapi::api::discovery::v1::EndpointSlice>,
        strategy: &PLAIN_GENERATION.with_columns(t::ENDPOINT_SLICE),
        ..other(
            "discovery.k8s.io",
            "endpointslices",
            "endpointslice",
            "EndpointSlice",
            true,
        )
    },
    &R {
        schema: typed::<k8s_openapi::api::admissionregistration::v1::MutatingWebhookConfiguration>,
        categories: &["api-extensions"],
        strategy: &PLAIN_GENERATION.with_columns(t::WEBHOOK_CONFIGURATION),
        ..other(
            ADMISSION,
            "mutatingwebhookconfigurations",
            "mutatingwebhookconfiguration",
            "MutatingWebhookConfiguration",
            false,
        )
    },
    &R {
        schema: typed::<k8s_openapi::api::admissionregistration::v1::ValidatingWebhookConfiguration>,
        categories: &["api-extensions"],
        strategy: &PLAIN_GENERATION.with_columns(t::WEBHOOK_CONFIGURATION),
        ..other(
            ADMISSION,
            "validatingwebhookconfigurations",
            "validatingwebhookconfiguration",
            "ValidatingWebhookConfiguration",
            false,
        )
    },
];
