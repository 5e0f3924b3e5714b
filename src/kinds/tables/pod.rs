//! Pods' columns: READY, STATUS and RESTARTS summarise the container statuses the way
//! upstream's `printPod` does (init containers first, sidecars counted as containers,
//! the last waiting/terminated reason winning, Terminating while being deleted).

use std::time::SystemTime;

use serde_json::Value;

use super::format::{between, deleting, int, list, or_none, text, time};
use super::{AGE, NAME};
use crate::registry::strategy::{Cell, Column};

/// What READY, STATUS and RESTARTS show.
#[derive(Debug, PartialEq)]
pub struct Summary {
    pub ready: usize,
    pub total: usize,
    pub reason: String,
    pub restarts: i64,
    pub last_restart: Option<SystemTime>,
}

/// An init container with `restartPolicy: Always` is a sidecar: it counts as a container.
fn is_sidecar(pod: &Value, name: &str) -> bool {
    list(pod, "/spec/initContainers")
        .iter()
        .any(|c| text(c, "/name") == name && text(c, "/restartPolicy") == "Always")
}

fn condition_true(pod: &Value, type_: &str) -> bool {
    list(pod, "/status/conditions")
        .iter()
        .any(|c| text(c, "/type") == type_ && text(c, "/status") == "True")
}

fn later(a: Option<SystemTime>, b: Option<SystemTime>) -> Option<SystemTime> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.max(b)),
        (a, b) => a.or(b),
    }
}

/// The reason a terminated container gives: its reason, else its signal or exit code.
fn terminated_reason(terminated: &Value, prefix: &str) -> String {
    match text(terminated, "/reason") {
        "" if int(terminated, "/signal") != 0 => {
            format!("{prefix}Signal:{}", int(terminated, "/signal"))
        }
        "" => format!("{prefix}ExitCode:{}", int(terminated, "/exitCode")),
        reason => format!("{prefix}{reason}"),
    }
}

fn finished_at(status: &Value) -> Option<SystemTime> {
    time(status, "/lastState/terminated/finishedAt")
}

/// Walks the init container statuses; returns whether the pod is still initialising.
fn init_containers(pod: &Value, s: &mut Summary, sidecar_restarts: &mut Summary) -> bool {
    let count = list(pod, "/spec/initContainers").len();
    for (i, status) in list(pod, "/status/initContainerStatuses")
        .iter()
        .enumerate()
    {
        let restarts = int(status, "/restartCount");
        s.restarts += restarts;
        s.last_restart = later(s.last_restart, finished_at(status));
        let sidecar = is_sidecar(pod, text(status, "/name"));
        if sidecar {
            sidecar_restarts.restarts += restarts;
            sidecar_restarts.last_restart =
                later(sidecar_restarts.last_restart, finished_at(status));
        }
        let terminated = status
            .pointer("/state/terminated")
            .filter(|t| t.is_object());
        let waiting = text(status, "/state/waiting/reason");
        if terminated.is_some_and(|t| int(t, "/exitCode") == 0) {
            continue;
        }
        if sidecar && status.get("started").and_then(Value::as_bool) == Some(true) {
            if status.get("ready").and_then(Value::as_bool) == Some(true) {
                s.ready += 1;
            }
            continue;
        }
        s.reason = match terminated {
            Some(t) => terminated_reason(t, "Init:"),
            None if !waiting.is_empty() && waiting != "PodInitializing" => {
                format!("Init:{waiting}")
            }
            None => format!("Init:{i}/{count}"),
        };
        return true;
    }
    false
}

/// Walks the app container statuses from the last to the first.
fn app_containers(pod: &Value, s: &mut Summary) {
    let mut has_running = false;
    for status in list(pod, "/status/containerStatuses").iter().rev() {
        s.restarts += int(status, "/restartCount");
        s.last_restart = later(s.last_restart, finished_at(status));
        let waiting = text(status, "/state/waiting/reason");
        let terminated = status
            .pointer("/state/terminated")
            .filter(|t| t.is_object());
        let running = status
            .pointer("/state/running")
            .is_some_and(Value::is_object);
        if !waiting.is_empty() {
            s.reason = waiting.to_string();
        } else if let Some(t) = terminated {
            s.reason = terminated_reason(t, "");
        } else if running && status.get("ready").and_then(Value::as_bool) == Some(true) {
            has_running = true;
            s.ready += 1;
        }
    }
    // A pod whose last container completed while another still runs is not Completed.
    if s.reason == "Completed" && has_running {
        s.reason = if condition_true(pod, "Ready") {
            "Running".into()
        } else {
            "NotReady".into()
        };
    }
}

/// READY, STATUS and RESTARTS of `pod`.
pub fn summary(pod: &Value) -> Summary {
    let phase = text(pod, "/status/phase");
    let mut s = Summary {
        ready: 0,
        total: list(pod, "/spec/containers").len()
            + list(pod, "/spec/initContainers")
                .iter()
                .filter(|c| text(c, "/restartPolicy") == "Always")
                .count(),
        reason: match text(pod, "/status/reason") {
            "" => phase.to_string(),
            reason => reason.to_string(),
        },
        restarts: 0,
        last_restart: None,
    };
    let gated = list(pod, "/status/conditions")
        .iter()
        .any(|c| text(c, "/type") == "PodScheduled" && text(c, "/reason") == "SchedulingGated");
    if gated {
        s.reason = "SchedulingGated".into();
    }
    let mut sidecars = Summary {
        ready: 0,
        total: 0,
        reason: String::new(),
        restarts: 0,
        last_restart: None,
    };
    let initializing = init_containers(pod, &mut s, &mut sidecars);
    if !initializing || condition_true(pod, "Initialized") {
        s.restarts = sidecars.restarts;
        s.last_restart = sidecars.last_restart;
        app_containers(pod, &mut s);
    }
    if deleting(pod) && text(pod, "/status/reason") == "NodeLost" {
        s.reason = "Unknown".into();
    } else if deleting(pod) && phase != "Succeeded" && phase != "Failed" {
        s.reason = "Terminating".into();
    }
    s
}

fn ready(pod: &Value, _: SystemTime) -> Value {
    let s = summary(pod);
    Value::String(format!("{}/{}", s.ready, s.total))
}

fn status(pod: &Value, _: SystemTime) -> Value {
    Value::String(summary(pod).reason)
}

fn restarts(pod: &Value, now: SystemTime) -> Value {
    let s = summary(pod);
    Value::String(match s.last_restart {
        Some(last) if s.restarts != 0 => format!("{} ({} ago)", s.restarts, between(last, now)),
        _ => s.restarts.to_string(),
    })
}

fn ip(pod: &Value, _: SystemTime) -> Value {
    let first = list(pod, "/status/podIPs")
        .first()
        .map_or("", |ip| text(ip, "/ip"));
    Value::String(or_none(first))
}

fn node(pod: &Value, _: SystemTime) -> Value {
    Value::String(or_none(text(pod, "/spec/nodeName")))
}

fn nominated_node(pod: &Value, _: SystemTime) -> Value {
    Value::String(or_none(text(pod, "/status/nominatedNodeName")))
}

/// How many readiness gates have a True condition, of how many.
fn readiness_gates(pod: &Value, _: SystemTime) -> Value {
    let gates = list(pod, "/spec/readinessGates");
    if gates.is_empty() {
        return Value::String("<none>".into());
    }
    let conditions = list(pod, "/status/conditions");
    let passed = gates
        .iter()
        .filter(|g| {
            let type_ = text(g, "/conditionType");
            conditions
                .iter()
                .find(|c| text(c, "/type") == type_)
                .is_some_and(|c| text(c, "/status") == "True")
        })
        .count();
    Value::String(format!("{passed}/{}", gates.len()))
}

const fn string(name: &'static str, description: &'static str, cell: Cell) -> Column {
    Column::new(name, description, cell)
}

pub const POD: &[Column] = &[
    NAME,
    string("Ready", "The aggregate readiness state of this pod for accepting traffic.", ready),
    string("Status", "The aggregate status of the containers in this pod.", status),
    string("Restarts", "The number of times the containers in this pod have been restarted and when the last container in this pod has restarted.", restarts),
    AGE,
    string("IP", "podIP address allocated to the pod. Routable at least within the cluster. Empty if not yet allocated.", ip).wide(),
    string("Node", "NodeName indicates in which node this pod is scheduled. If empty, this pod is a candidate for scheduling by the scheduler defined in schedulerName. Once this field is set, the kubelet for this node becomes responsible for the lifecycle of this pod. This field should not be used to express a desire for the pod to be scheduled on a specific node. https://kubernetes.io/docs/concepts/scheduling-eviction/assign-pod-node/#nodename", node).wide(),
    string("Nominated Node", "nominatedNodeName is set only when this pod preempts other pods on the node, but it cannot be scheduled right away as preemption victims receive their graceful termination periods. This field does not guarantee that the pod will be scheduled on this node. Scheduler may decide to place the pod elsewhere if other nodes become available sooner. Scheduler may also decide to give the resources on this node to a higher priority pod that is created after preemption. As a result, this field may be different than PodSpec.nodeName when the pod is scheduled.", nominated_node).wide(),
    string("Readiness Gates", "If specified, all readiness gates will be evaluated for pod readiness. A pod is ready when all its containers are ready AND all conditions specified in the readiness gates have status equal to \"True\" More info: https://git.k8s.io/enhancements/keps/sig-network/580-pod-readiness-gates", readiness_gates).wide(),
];

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::super::testing::{ago, cell, header, row};
    use super::*;

    fn running(name: &str, ready: bool, restarts: i64) -> Value {
        json!({"name": name, "ready": ready, "restartCount": restarts, "state": {"running": {}}})
    }

    #[test]
    fn header_like_upstream() {
        assert_eq!(
            header(POD),
            [
                "Name",
                "Ready",
                "Status",
                "Restarts",
                "Age",
                "IP*",
                "Node*",
                "Nominated Node*",
                "Readiness Gates*"
            ]
        );
    }

    #[test]
    fn running_pod_with_one_of_two_ready() {
        let pod = json!({
            "metadata": {"name": "web", "creationTimestamp": ago(90)},
            "spec": {"containers": [{"name": "a"}, {"name": "b"}], "nodeName": "n1"},
            "status": {"phase": "Running", "podIPs": [{"ip": "10.0.0.5"}],
                "containerStatuses": [running("a", true, 0), running("b", false, 0)]}
        });
        let cells: Vec<Value> = row(POD, &pod).into_iter().map(|(_, v)| v).collect();
        assert_eq!(
            cells,
            [
                json!("web"),
                json!("1/2"),
                json!("Running"),
                json!("0"),
                json!("90s"),
                json!("10.0.0.5"),
                json!("n1"),
                json!("<none>"),
                json!("<none>")
            ]
        );
    }

    #[test]
    fn waiting_and_terminated_reasons() {
        let waiting = json!({"spec": {"containers": [{"name": "a"}]}, "status": {"phase": "Pending",
            "containerStatuses": [{"name": "a", "restartCount": 0, "state": {"waiting": {"reason": "ImagePullBackOff"}}}]}});
        assert_eq!(cell(POD, &waiting, "Status"), json!("ImagePullBackOff"));
        let killed = json!({"spec": {"containers": [{"name": "a"}]}, "status": {"phase": "Failed",
            "containerStatuses": [{"name": "a", "state": {"terminated": {"exitCode": 137, "signal": 9}}}]}});
        assert_eq!(cell(POD, &killed, "Status"), json!("Signal:9"));
        let exited = json!({"spec": {"containers": [{"name": "a"}]}, "status": {"phase": "Failed",
            "containerStatuses": [{"name": "a", "state": {"terminated": {"exitCode": 2}}}]}});
        assert_eq!(cell(POD, &exited, "Status"), json!("ExitCode:2"));
        let evicted = json!({"spec": {"containers": [{"name": "a"}]}, "status": {"phase": "Failed", "reason": "Evicted"}});
        assert_eq!(cell(POD, &evicted, "Status"), json!("Evicted"));
    }

    #[test]
    fn init_containers_and_sidecars() {
        let pod = json!({"spec": {"initContainers": [{"name": "i1"}, {"name": "i2"}], "containers": [{"name": "a"}]},
            "status": {"phase": "Pending", "initContainerStatuses": [
                {"name": "i1", "state": {"terminated": {"exitCode": 0}}},
                {"name": "i2", "state": {"running": {}}}]}});
        assert_eq!(cell(POD, &pod, "Status"), json!("Init:1/2"));
        let crashing = json!({"spec": {"initContainers": [{"name": "i1"}], "containers": [{"name": "a"}]},
            "status": {"phase": "Pending", "initContainerStatuses": [
                {"name": "i1", "restartCount": 3, "state": {"waiting": {"reason": "CrashLoopBackOff"}}}]}});
        assert_eq!(
            cell(POD, &crashing, "Status"),
            json!("Init:CrashLoopBackOff")
        );
        assert_eq!(cell(POD, &crashing, "Restarts"), json!("3"));
        let sidecar = json!({"spec": {"initContainers": [{"name": "s", "restartPolicy": "Always"}], "containers": [{"name": "a"}]},
            "status": {"phase": "Running", "conditions": [{"type": "Initialized", "status": "True"}],
                "initContainerStatuses": [{"name": "s", "started": true, "ready": true, "restartCount": 1, "state": {"running": {}}}],
                "containerStatuses": [running("a", true, 0)]}});
        assert_eq!(cell(POD, &sidecar, "Ready"), json!("2/2"));
        assert_eq!(cell(POD, &sidecar, "Status"), json!("Running"));
        assert_eq!(cell(POD, &sidecar, "Restarts"), json!("1"));
    }

    #[test]
    fn restarts_say_when() {
        let pod = json!({"spec": {"containers": [{"name": "a"}]}, "status": {"phase": "Running",
            "containerStatuses": [{"name": "a", "ready": true, "restartCount": 5, "state": {"running": {}},
                "lastState": {"terminated": {"exitCode": 1, "finishedAt": ago(300)}}}]}});
        assert_eq!(cell(POD, &pod, "Restarts"), json!("5 (5m ago)"));
    }

    #[test]
    fn terminating_and_completed() {
        let pod = json!({"metadata": {"deletionTimestamp": ago(1)}, "spec": {"containers": [{"name": "a"}]},
            "status": {"phase": "Running", "containerStatuses": [running("a", true, 0)]}});
        assert_eq!(cell(POD, &pod, "Status"), json!("Terminating"));
        let lost = json!({"metadata": {"deletionTimestamp": ago(1)}, "status": {"phase": "Running", "reason": "NodeLost"}});
        assert_eq!(cell(POD, &lost, "Status"), json!("Unknown"));
        let half_done = json!({"spec": {"containers": [{"name": "a"}, {"name": "b"}]},
            "status": {"phase": "Running", "conditions": [{"type": "Ready", "status": "False"}], "containerStatuses": [
                running("a", true, 0),
                {"name": "b", "state": {"terminated": {"exitCode": 0, "reason": "Completed"}}}]}});
        assert_eq!(cell(POD, &half_done, "Status"), json!("NotReady"));
        let gated = json!({"status": {"phase": "Pending", "conditions": [{"type": "PodScheduled", "status": "False", "reason": "SchedulingGated"}]}});
        assert_eq!(cell(POD, &gated, "Status"), json!("SchedulingGated"));
    }

    #[test]
    fn readiness_gates_count_true_conditions() {
        let pod = json!({"spec": {"readinessGates": [{"conditionType": "x"}, {"conditionType": "y"}]},
            "status": {"conditions": [{"type": "x", "status": "True"}, {"type": "y", "status": "False"}]}});
        assert_eq!(cell(POD, &pod, "Readiness Gates"), json!("1/2"));
    }
}
