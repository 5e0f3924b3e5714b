//! The core (`v1`) group's resources.

use super::{configmap::CONFIGMAP, namespace::NAMESPACE, secret::SECRET, PLAIN, PLAIN_GENERATION};
use crate::registry::descriptor::{ResourceDescriptor as R, ALL_VERBS, VERBS_NO_COLLECTION_DELETE};
use crate::registry::strategy::{NameRule, Plain};

const SERVICE: Plain = Plain { name_rule: NameRule::Dns1035Label, generation: false };

const fn core(resource: &'static str, singular: &'static str, kind: &'static str, namespaced: bool, status: bool, storage_prefix: &'static str) -> R {
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
    }
}

pub static RESOURCES: &[&R] = &[
    &R { short_names: &["cm"], strategy: &CONFIGMAP, ..core("configmaps", "configmap", "ConfigMap", true, false, "configmaps") },
    &R { short_names: &["ep"], ..core("endpoints", "endpoints", "Endpoints", true, false, "services/endpoints") },
    &R { short_names: &["ev"], ..core("events", "event", "Event", true, false, "events") },
    &R { short_names: &["limits"], ..core("limitranges", "limitrange", "LimitRange", true, false, "limitranges") },
    &R { short_names: &["ns"], verbs: VERBS_NO_COLLECTION_DELETE, strategy: &NAMESPACE, ..core("namespaces", "namespace", "Namespace", false, true, "namespaces") },
    &R { short_names: &["no"], ..core("nodes", "node", "Node", false, true, "minions") },
    &R { short_names: &["pvc"], ..core("persistentvolumeclaims", "persistentvolumeclaim", "PersistentVolumeClaim", true, true, "persistentvolumeclaims") },
    &R { short_names: &["pv"], ..core("persistentvolumes", "persistentvolume", "PersistentVolume", false, true, "persistentvolumes") },
    &R { short_names: &["po"], categories: &["all"], ..core("pods", "pod", "Pod", true, true, "pods") },
    &R { strategy: &PLAIN_GENERATION, ..core("podtemplates", "podtemplate", "PodTemplate", true, false, "podtemplates") },
    &R { short_names: &["rc"], categories: &["all"], strategy: &PLAIN_GENERATION, ..core("replicationcontrollers", "replicationcontroller", "ReplicationController", true, true, "controllers") },
    &R { short_names: &["quota"], ..core("resourcequotas", "resourcequota", "ResourceQuota", true, true, "resourcequotas") },
    &R { strategy: &SECRET, ..core("secrets", "secret", "Secret", true, false, "secrets") },
    &R { short_names: &["sa"], ..core("serviceaccounts", "serviceaccount", "ServiceAccount", true, false, "serviceaccounts") },
    &R { short_names: &["svc"], categories: &["all"], strategy: &SERVICE, ..core("services", "service", "Service", true, true, "services/specs") },
];
