//! The core (`v1`) group's resources.

use super::schema::typed;
use super::service::SERVICE;
use super::tables::{self, core as t};
use super::{configmap::CONFIGMAP, namespace::NAMESPACE, secret::SECRET, PLAIN, PLAIN_GENERATION};
use crate::registry::descriptor::{ResourceDescriptor as R, ALL_VERBS, VERBS_NO_COLLECTION_DELETE};

const fn core(
    resource: &'static str,
    singular: &'static str,
    kind: &'static str,
    namespaced: bool,
    status: bool,
    storage_prefix: &'static str,
) -> R {
    R {
        group: "",
        version: "v1",
        resource,
        singular,
        kind,
        namespaced,
        short_names: &[],
        categories: &[],
        verbs: ALL_VERBS,
        status,
        storage_prefix,
        strategy: &PLAIN,
        schema: |_| Err("no schema".into()),
    }
}

pub static RESOURCES: &[&R] = &[
    &R {
        schema: typed::<k8s_openapi::api::core::v1::ConfigMap>,
        short_names: &["cm"],
        strategy: &CONFIGMAP,
        ..core(
            "configmaps",
            "configmap",
            "ConfigMap",
            true,
            false,
            "configmaps",
        )
    },
    &R {
        schema: typed::<k8s_openapi::api::core::v1::Endpoints>,
        short_names: &["ep"],
        strategy: &PLAIN.with_columns(t::ENDPOINTS),
        ..core(
            "endpoints",
            "endpoints",
            "Endpoints",
            true,
            false,
            "services/endpoints",
        )
    },
    &R {
        schema: typed::<k8s_openapi::api::core::v1::Event>,
        short_names: &["ev"],
        strategy: &PLAIN
            .with_columns(tables::event::EVENT)
            .with_fields(super::fields::event),
        ..core("events", "event", "Event", true, false, "events")
    },
    &R {
        schema: typed::<k8s_openapi::api::core::v1::LimitRange>,
        short_names: &["limits"],
        strategy: &PLAIN.with_columns(tables::NAME_CREATED_AT),
        ..core(
            "limitranges",
            "limitrange",
            "LimitRange",
            true,
            false,
            "limitranges",
        )
    },
    &R {
        schema: typed::<k8s_openapi::api::core::v1::Namespace>,
        short_names: &["ns"],
        verbs: VERBS_NO_COLLECTION_DELETE,
        strategy: &NAMESPACE,
        ..core(
            "namespaces",
            "namespace",
            "Namespace",
            false,
            true,
            "namespaces",
        )
    },
    &R {
        schema: typed::<k8s_openapi::api::core::v1::Node>,
        short_names: &["no"],
        strategy: &PLAIN.with_columns(t::NODE).with_fields(super::fields::node),
        ..core("nodes", "node", "Node", false, true, "minions")
    },
    &R {
        schema: typed::<k8s_openapi::api::core::v1::PersistentVolumeClaim>,
        short_names: &["pvc"],
        strategy: &PLAIN.with_columns(tables::storage::PERSISTENT_VOLUME_CLAIM),
        ..core(
            "persistentvolumeclaims",
            "persistentvolumeclaim",
            "PersistentVolumeClaim",
            true,
            true,
            "persistentvolumeclaims",
        )
    },
    &R {
        schema: typed::<k8s_openapi::api::core::v1::PersistentVolume>,
        short_names: &["pv"],
        strategy: &PLAIN.with_columns(tables::storage::PERSISTENT_VOLUME),
        ..core(
            "persistentvolumes",
            "persistentvolume",
            "PersistentVolume",
            false,
            true,
            "persistentvolumes",
        )
    },
    &R {
        schema: typed::<k8s_openapi::api::core::v1::Pod>,
        short_names: &["po"],
        categories: &["all"],
        strategy: &PLAIN
            .with_columns(tables::pod::POD)
            .with_fields(super::fields::pod),
        ..core("pods", "pod", "Pod", true, true, "pods")
    },
    &R {
        schema: typed::<k8s_openapi::api::core::v1::PodTemplate>,
        strategy: &PLAIN_GENERATION.with_columns(t::POD_TEMPLATE),
        ..core(
            "podtemplates",
            "podtemplate",
            "PodTemplate",
            true,
            false,
            "podtemplates",
        )
    },
    &R {
        schema: typed::<k8s_openapi::api::core::v1::ReplicationController>,
        short_names: &["rc"],
        categories: &["all"],
        strategy: &PLAIN_GENERATION
            .with_columns(t::REPLICATION_CONTROLLER)
            .with_fields(super::fields::replicas),
        ..core(
            "replicationcontrollers",
            "replicationcontroller",
            "ReplicationController",
            true,
            true,
            "controllers",
        )
    },
    &R {
        schema: typed::<k8s_openapi::api::core::v1::ResourceQuota>,
        short_names: &["quota"],
        strategy: &PLAIN.with_columns(t::RESOURCE_QUOTA),
        ..core(
            "resourcequotas",
            "resourcequota",
            "ResourceQuota",
            true,
            true,
            "resourcequotas",
        )
    },
    &R {
        schema: typed::<k8s_openapi::api::core::v1::Secret>,
        strategy: &SECRET,
        ..core("secrets", "secret", "Secret", true, false, "secrets")
    },
    &R {
        schema: typed::<k8s_openapi::api::core::v1::ServiceAccount>,
        short_names: &["sa"],
        strategy: &PLAIN.with_columns(t::SERVICE_ACCOUNT),
        ..core(
            "serviceaccounts",
            "serviceaccount",
            "ServiceAccount",
            true,
            false,
            "serviceaccounts",
        )
    },
    &R {
        schema: typed::<k8s_openapi::api::core::v1::Service>,
        short_names: &["svc"],
        categories: &["all"],
        strategy: &SERVICE,
        ..core(
            "services",
            "service",
            "Service",
            true,
            true,
            "services/specs",
        )
    },
];
