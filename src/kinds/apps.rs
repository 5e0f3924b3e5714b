//! Workload groups: `apps/v1` and `batch/v1`.

use super::{PLAIN, PLAIN_GENERATION};
use crate::registry::descriptor::{ResourceDescriptor as R, ALL_VERBS};

const fn workload(group: &'static str, resource: &'static str, singular: &'static str, kind: &'static str, short_names: &'static [&'static str]) -> R {
    R {
        group,
        version: "v1",
        resource,
        singular,
        kind,
        namespaced: true,
        short_names,
        categories: &["all"],
        verbs: ALL_VERBS,
        status: true,
        storage_prefix: resource,
        strategy: &PLAIN_GENERATION,
    }
}

pub static RESOURCES: &[&R] = &[
    &R { categories: &[], status: false, strategy: &PLAIN, ..workload("apps", "controllerrevisions", "controllerrevision", "ControllerRevision", &[]) },
    &workload("apps", "daemonsets", "daemonset", "DaemonSet", &["ds"]),
    &workload("apps", "deployments", "deployment", "Deployment", &["deploy"]),
    &workload("apps", "replicasets", "replicaset", "ReplicaSet", &["rs"]),
    &workload("apps", "statefulsets", "statefulset", "StatefulSet", &["sts"]),
    &workload("batch", "cronjobs", "cronjob", "CronJob", &["cj"]),
    &workload("batch", "jobs", "job", "Job", &[]),
];
