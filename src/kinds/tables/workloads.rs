//! Workload kinds' columns: deployments, replica sets, stateful sets, daemon sets,
//! controller revisions (`apps/v1`), jobs and cron jobs (`batch/v1`).

use std::time::SystemTime;

use serde_json::Value;

use super::format::{
    between, bool_word, container_images, container_names, format_labels, format_selector, int,
    int_or, list, map, opt_text, selector_string, since, text, time,
};
use super::{AGE, CONTAINERS_DESCRIPTION, IMAGES_DESCRIPTION, NAME};
use crate::registry::strategy::Column;

const TEMPLATE: &str = "/spec/template/spec";

/// READY of a deployment or stateful set: `ready/desired`, desired defaulting to 1.
fn ready_of_desired(obj: &Value) -> Value {
    format!(
        "{}/{}",
        int(obj, "/status/readyReplicas"),
        int_or(obj, "/spec/replicas", 1)
    )
    .into()
}

/// A deployment's wide SELECTOR: the selector, `<invalid>` when it cannot be parsed.
fn deployment_selector(obj: &Value) -> Value {
    selector_string(obj.pointer("/spec/selector"))
        .unwrap_or_else(|| "<invalid>".into())
        .into()
}

pub const DEPLOYMENT: &[Column] = &[
    NAME,
    Column::new("Ready", "Number of the pod with ready state", |o, _| ready_of_desired(o)),
    Column::new("Up-to-date", "Total number of non-terminated pods targeted by this deployment that have the desired template spec.", |o, _| int(o, "/status/updatedReplicas").into()),
    Column::new("Available", "Total number of available pods (ready for at least minReadySeconds) targeted by this deployment.", |o, _| int(o, "/status/availableReplicas").into()),
    AGE,
    Column::new("Containers", CONTAINERS_DESCRIPTION, |o, _| container_names(o, TEMPLATE)).wide(),
    Column::new("Images", IMAGES_DESCRIPTION, |o, _| container_images(o, TEMPLATE)).wide(),
    Column::new("Selector", "Label selector for pods. Existing ReplicaSets whose pods are selected by this will be the ones affected by this deployment. It must match the pod template's labels.", |o, _| deployment_selector(o)).wide(),
];

pub const REPLICA_SET: &[Column] = &[
    NAME,
    Column::new("Desired", "Replicas is the number of desired replicas. This is a pointer to distinguish between explicit zero and unspecified. Defaults to 1. More info: https://kubernetes.io/docs/concepts/workloads/controllers/replicationcontroller/#what-is-a-replicationcontroller", |o, _| int_or(o, "/spec/replicas", 1).into()).typed("integer"),
    Column::new("Current", "Replicas is the most recently observed number of replicas. More info: https://kubernetes.io/docs/concepts/workloads/controllers/replicationcontroller/#what-is-a-replicationcontroller", |o, _| int(o, "/status/replicas").into()).typed("integer"),
    Column::new("Ready", "readyReplicas is the number of pods targeted by this ReplicaSet with a Ready Condition.", |o, _| int(o, "/status/readyReplicas").into()).typed("integer"),
    AGE,
    Column::new("Containers", CONTAINERS_DESCRIPTION, |o, _| container_names(o, TEMPLATE)).wide(),
    Column::new("Images", IMAGES_DESCRIPTION, |o, _| container_images(o, TEMPLATE)).wide(),
    Column::new("Selector", "Selector is a label query over pods that should match the replica count. Label keys and values that must match in order to be controlled by this replica set. It must match the pod template's labels. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/labels/#label-selectors", |o, _| format_selector(o.pointer("/spec/selector")).into()).wide(),
];

pub const STATEFUL_SET: &[Column] = &[
    NAME,
    Column::new("Ready", "Number of the pod with ready state", |o, _| {
        ready_of_desired(o)
    }),
    AGE,
    Column::new("Containers", CONTAINERS_DESCRIPTION, |o, _| {
        container_names(o, TEMPLATE)
    })
    .wide(),
    Column::new("Images", IMAGES_DESCRIPTION, |o, _| {
        container_images(o, TEMPLATE)
    })
    .wide(),
];

pub const DAEMON_SET: &[Column] = &[
    NAME,
    Column::new("Desired", "The total number of nodes that should be running the daemon pod (including nodes correctly running the daemon pod). More info: https://kubernetes.io/docs/concepts/workloads/controllers/daemonset/", |o, _| int(o, "/status/desiredNumberScheduled").into()).typed("integer"),
    Column::new("Current", "The number of nodes that are running at least 1 daemon pod and are supposed to run the daemon pod. More info: https://kubernetes.io/docs/concepts/workloads/controllers/daemonset/", |o, _| int(o, "/status/currentNumberScheduled").into()).typed("integer"),
    Column::new("Ready", "numberReady is the number of nodes that should be running the daemon pod and have one or more of the daemon pod running with a Ready Condition.", |o, _| int(o, "/status/numberReady").into()).typed("integer"),
    Column::new("Up-to-date", "The total number of nodes that are running updated daemon pod", |o, _| int(o, "/status/updatedNumberScheduled").into()).typed("integer"),
    Column::new("Available", "The number of nodes that should be running the daemon pod and have one or more of the daemon pod running and available (ready for at least spec.minReadySeconds)", |o, _| int(o, "/status/numberAvailable").into()).typed("integer"),
    Column::new("Node Selector", "NodeSelector is a selector which must be true for the pod to fit on a node. Selector which must match a node's labels for the pod to be scheduled on that node. More info: https://kubernetes.io/docs/concepts/configuration/assign-pod-node/", |o, _| format_labels(map(o, "/spec/template/spec/nodeSelector")).into()),
    AGE,
    Column::new("Containers", CONTAINERS_DESCRIPTION, |o, _| container_names(o, TEMPLATE)).wide(),
    Column::new("Images", IMAGES_DESCRIPTION, |o, _| container_images(o, TEMPLATE)).wide(),
    Column::new("Selector", "A label query over pods that are managed by the daemon set. Must match in order to be controlled. It must match the pod template's labels. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/labels/#label-selectors", |o, _| format_selector(o.pointer("/spec/selector")).into()).wide(),
];

/// CONTROLLER: `kind.group/name` of the controlling owner, lowercased, or `<none>`.
fn controller(obj: &Value) -> Value {
    let owner = list(obj, "/metadata/ownerReferences")
        .iter()
        .find(|r| r.get("controller").and_then(Value::as_bool) == Some(true));
    let Some(owner) = owner else {
        return "<none>".into();
    };
    let group = text(owner, "/apiVersion")
        .rsplit_once('/')
        .map_or("", |(g, _)| g);
    let (kind, name) = (text(owner, "/kind"), text(owner, "/name"));
    match (kind, group) {
        ("", _) => name.into(),
        (kind, "") => format!("{}/{name}", kind.to_lowercase()).into(),
        (kind, group) => format!("{}/{name}", format!("{kind}.{group}").to_lowercase()).into(),
    }
}

pub const CONTROLLER_REVISION: &[Column] = &[
    NAME,
    Column::new("Controller", "Controller of the object", |o, _| {
        controller(o)
    }),
    Column::new(
        "Revision",
        "Revision indicates the revision of the state represented by Data.",
        |o, _| int(o, "/revision").into(),
    ),
    AGE,
];

// === jobs ===

/// Whether the job's first condition of `type_` is True.
fn job_condition(job: &Value, type_: &str) -> bool {
    list(job, "/status/conditions")
        .iter()
        .find(|c| text(c, "/type") == type_)
        .is_some_and(|c| text(c, "/status") == "True")
}

/// STATUS: Complete, Failed, Terminating, Suspended, FailureTarget or Running.
pub fn job_status(job: &Value) -> &'static str {
    if job_condition(job, "Complete") {
        "Complete"
    } else if job_condition(job, "Failed") {
        "Failed"
    } else if super::format::deleting(job) {
        "Terminating"
    } else if job_condition(job, "Suspended") {
        "Suspended"
    } else if job_condition(job, "FailureTarget") {
        "FailureTarget"
    } else {
        "Running"
    }
}

/// COMPLETIONS: `succeeded/completions`, or `succeeded/1 of parallelism` for work queues.
pub fn completions(job: &Value) -> String {
    let succeeded = int(job, "/status/succeeded");
    if let Some(completions) = job.pointer("/spec/completions").and_then(Value::as_i64) {
        return format!("{succeeded}/{completions}");
    }
    match int(job, "/spec/parallelism") {
        p if p > 1 => format!("{succeeded}/1 of {p}"),
        _ => format!("{succeeded}/1"),
    }
}

/// DURATION: from start to completion, or to now while running; empty before start.
pub fn duration(job: &Value, now: SystemTime) -> String {
    let Some(start) = time(job, "/status/startTime") else {
        return String::new();
    };
    between(start, time(job, "/status/completionTime").unwrap_or(now))
}

const JOB_TEMPLATE: &str = "/spec/jobTemplate/spec/template/spec";
const JOB_SELECTOR_DESCRIPTION: &str = "A label query over pods that should match the pod count. Normally, the system sets this field for you. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/labels/#label-selectors";

pub const JOB: &[Column] = &[
    NAME,
    Column::new("Status", "Status of the job.", |o, _| job_status(o).into()),
    Column::new("Completions", "The number of pods which reached phase Succeeded. The value increases monotonically for a given spec. However, it may decrease in reaction to scale down of elastic indexed jobs.", |o, _| completions(o).into()),
    Column::new("Duration", "Time required to complete the job.", |o, now| duration(o, now).into()),
    AGE,
    Column::new("Containers", CONTAINERS_DESCRIPTION, |o, _| container_names(o, TEMPLATE)).wide(),
    Column::new("Images", IMAGES_DESCRIPTION, |o, _| container_images(o, TEMPLATE)).wide(),
    Column::new("Selector", JOB_SELECTOR_DESCRIPTION, |o, _| format_selector(o.pointer("/spec/selector")).into()).wide(),
];

/// LAST SCHEDULE: how long ago, or `<none>` before the first run.
fn last_schedule(cj: &Value, now: SystemTime) -> Value {
    match opt_text(cj, "/status/lastScheduleTime") {
        Some(_) => since(cj, "/status/lastScheduleTime", now).into(),
        None => "<none>".into(),
    }
}

pub const CRON_JOB: &[Column] = &[
    NAME,
    Column::new("Schedule", "The schedule in Cron format, see https://en.wikipedia.org/wiki/Cron.", |o, _| text(o, "/spec/schedule").into()),
    Column::new("Timezone", "The time zone name for the given schedule, see https://en.wikipedia.org/wiki/List_of_tz_database_time_zones. If not specified, this will default to the time zone of the kube-controller-manager process. The set of valid time zone names and the time zone offset is loaded from the system-wide time zone database by the API server during CronJob validation and the controller manager during execution. If no system-wide time zone database can be found a bundled version of the database is used instead. If the time zone name becomes invalid during the lifetime of a CronJob or due to a change in host configuration, the controller will stop creating new new Jobs and will create a system event with the reason UnknownTimeZone. More information can be found in https://kubernetes.io/docs/concepts/workloads/controllers/cron-jobs/#time-zones", |o, _| opt_text(o, "/spec/timeZone").unwrap_or("<none>").into()),
    // Upstream defaults `suspend` to false, so "<unset>" never shows there.
    Column::new("Suspend", "This flag tells the controller to suspend subsequent executions, it does not apply to already started executions.  Defaults to false.", |o, _| bool_word(o.pointer("/spec/suspend").and_then(Value::as_bool).unwrap_or(false)).into()).typed("boolean"),
    Column::new("Active", "A list of pointers to currently running jobs.", |o, _| list(o, "/status/active").len().into()).typed("integer"),
    Column::new("Last Schedule", "Information when was the last time the job was successfully scheduled.", last_schedule),
    AGE,
    Column::new("Containers", CONTAINERS_DESCRIPTION, |o, _| container_names(o, JOB_TEMPLATE)).wide(),
    Column::new("Images", IMAGES_DESCRIPTION, |o, _| container_images(o, JOB_TEMPLATE)).wide(),
    Column::new("Selector", JOB_SELECTOR_DESCRIPTION, |o, _| format_selector(o.pointer("/spec/jobTemplate/spec/selector")).into()).wide(),
];

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::super::testing::{ago, cell, header, now};
    use super::*;

    #[test]
    fn deployment_cells() {
        let d = json!({"spec": {"replicas": 3, "selector": {"matchLabels": {"app": "web"}},
                "template": {"spec": {"containers": [{"name": "web", "image": "nginx:1"}, {"name": "log", "image": "busybox"}]}}},
            "status": {"readyReplicas": 2, "updatedReplicas": 3, "availableReplicas": 2}});
        assert_eq!(cell(DEPLOYMENT, &d, "Ready"), json!("2/3"));
        assert_eq!(cell(DEPLOYMENT, &d, "Up-to-date"), json!(3));
        assert_eq!(cell(DEPLOYMENT, &d, "Available"), json!(2));
        assert_eq!(cell(DEPLOYMENT, &d, "Containers"), json!("web,log"));
        assert_eq!(cell(DEPLOYMENT, &d, "Images"), json!("nginx:1,busybox"));
        assert_eq!(cell(DEPLOYMENT, &d, "Selector"), json!("app=web"));
        assert_eq!(cell(DEPLOYMENT, &json!({}), "Ready"), json!("0/1"));
        assert_eq!(
            header(DEPLOYMENT),
            [
                "Name",
                "Ready",
                "Up-to-date",
                "Available",
                "Age",
                "Containers*",
                "Images*",
                "Selector*"
            ]
        );
    }

    #[test]
    fn job_cells() {
        let running =
            json!({"spec": {"completions": 3}, "status": {"succeeded": 1, "startTime": ago(150)}});
        assert_eq!(cell(JOB, &running, "Completions"), json!("1/3"));
        assert_eq!(cell(JOB, &running, "Duration"), json!("2m30s"));
        assert_eq!(cell(JOB, &running, "Status"), json!("Running"));
        let done = json!({"spec": {"parallelism": 2}, "status": {"succeeded": 1, "startTime": ago(100), "completionTime": ago(40),
            "conditions": [{"type": "Complete", "status": "True"}]}});
        assert_eq!(cell(JOB, &done, "Completions"), json!("1/1 of 2"));
        assert_eq!(cell(JOB, &done, "Duration"), json!("60s"));
        assert_eq!(cell(JOB, &done, "Status"), json!("Complete"));
        let fresh = json!({"spec": {}});
        assert_eq!(cell(JOB, &fresh, "Completions"), json!("0/1"));
        assert_eq!(cell(JOB, &fresh, "Duration"), json!(""));
        let suspended =
            json!({"status": {"conditions": [{"type": "Suspended", "status": "True"}]}});
        assert_eq!(cell(JOB, &suspended, "Status"), json!("Suspended"));
        assert_eq!(duration(&running, now()), "2m30s");
    }

    #[test]
    fn cron_job_cells() {
        let cj = json!({"spec": {"schedule": "*/5 * * * *", "jobTemplate": {"spec": {"template": {"spec": {"containers": [{"name": "c", "image": "busybox"}]}}}}},
            "status": {"active": [{"name": "j1"}], "lastScheduleTime": ago(240)}});
        assert_eq!(cell(CRON_JOB, &cj, "Last Schedule"), json!("4m"));
        assert_eq!(cell(CRON_JOB, &cj, "Timezone"), json!("<none>"));
        assert_eq!(cell(CRON_JOB, &cj, "Suspend"), json!("False"));
        assert_eq!(cell(CRON_JOB, &cj, "Active"), json!(1));
        assert_eq!(cell(CRON_JOB, &cj, "Images"), json!("busybox"));
        assert_eq!(cell(CRON_JOB, &json!({}), "Last Schedule"), json!("<none>"));
    }

    #[test]
    fn controller_revision_cells() {
        let cr = json!({"revision": 2, "metadata": {"ownerReferences": [
            {"apiVersion": "apps/v1", "kind": "DaemonSet", "name": "agent", "controller": true}]}});
        assert_eq!(
            cell(CONTROLLER_REVISION, &cr, "Controller"),
            json!("daemonset.apps/agent")
        );
        assert_eq!(
            cell(CONTROLLER_REVISION, &json!({}), "Controller"),
            json!("<none>")
        );
    }
}
