//! Workload groups: `apps/v1` and `batch/v1`.

use super::schema::typed;
use super::tables::workloads as t;
use super::{PLAIN, PLAIN_GENERATION};
use crate::registry::descriptor::{ResourceDescriptor as R, ALL_VERBS};

const fn workload(
    group: &'static str,
    resource: &'static str,
    singular: &'static str,
    kind: &'static str,
    short_names: &'static [&'static str],
) -> R {
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
        schema: |_| Err("no schema".into()),
    }
}

pub static RESOURCES: &[&R] = &[
    &R {
        schema: typed::<k8s_openapi::api::apps::v1::ControllerRevision>,
        categories: &[],
        status: false,
        strategy: &PLAIN.with_columns(t::CONTROLLER_REVISION),
        ..workload(
            "apps",
            "controllerrevisions",
            "controllerrevision",
            "ControllerRevision",
            &[],
        )
    },
    &R {
        schema: typed::<k8s_openapi::api::apps::v1::DaemonSet>,
        strategy: &PLAIN_GENERATION.with_columns(t::DAEMON_SET),
        ..workload("apps", "daemonsets", "daemonset", "DaemonSet", &["ds"])
    },
    &R {
        schema: typed::<k8s_openapi::api::apps::v1::Deployment>,
        strategy: &PLAIN_GENERATION.with_columns(t::DEPLOYMENT),
        ..workload(
            "apps",
            "deployments",
            "deployment",
            "Deployment",
            &["deploy"],
        )
    },
    &R {
        schema: typed::<k8s_openapi::api::apps::v1::ReplicaSet>,
        strategy: &PLAIN_GENERATION
            .with_columns(t::REPLICA_SET)
            .with_fields(super::fields::replicas),
        ..workload("apps", "replicasets", "replicaset", "ReplicaSet", &["rs"])
    },
    &R {
        schema: typed::<k8s_openapi::api::apps::v1::StatefulSet>,
        strategy: &PLAIN_GENERATION.with_columns(t::STATEFUL_SET),
        ..workload(
            "apps",
            "statefulsets",
            "statefulset",
            "StatefulSet",
            &["sts"],
        )
    },
    &R {
        schema: typed::<k8s_openapi::api::batch::v1::CronJob>,
        strategy: &PLAIN_GENERATION.with_columns(t::CRON_JOB),
        ..workload("batch", "cronjobs", "cronjob", "CronJob", &["cj"])
    },
    &R {
        schema: typed::<k8s_openapi::api::batch::v1::Job>,
        strategy: &PLAIN_GENERATION
            .with_columns(t::JOB)
            .with_fields(super::fields::job),
        ..workload("batch", "jobs", "job", "Job", &[])
    },
];
