//! Events' columns, for core `v1` Events and `events.k8s.io/v1` Events alike.
//!
//! Upstream serves both from one storage and prints the internal Event, so both kinds
//! show the same columns; only the field names differ (`involvedObject`/`regarding`,
//! `message`/`note`, `count`/`deprecatedCount`, ...). [`Fields`] names them per kind.

use std::time::SystemTime;

use serde_json::Value;

use super::format::{int, opt_text, since, text};
use super::NAME;
use crate::registry::strategy::Column;

/// Where each field the columns read lives in one of the two Event kinds.
pub struct Fields {
    first_timestamp: &'static str,
    last_timestamp: &'static str,
    count: &'static str,
    object: &'static str,
    message: &'static str,
    source: &'static str,
    reporting_controller: &'static str,
}

pub const CORE: Fields = Fields {
    first_timestamp: "/firstTimestamp",
    last_timestamp: "/lastTimestamp",
    count: "/count",
    object: "/involvedObject",
    message: "/message",
    source: "/source",
    reporting_controller: "/reportingComponent",
};

pub const EVENTS_V1: Fields = Fields {
    first_timestamp: "/deprecatedFirstTimestamp",
    last_timestamp: "/deprecatedLastTimestamp",
    count: "/deprecatedCount",
    object: "/regarding",
    message: "/note",
    source: "/deprecatedSource",
    reporting_controller: "/reportingController",
};

fn present(obj: &Value, pointer: &str) -> bool {
    opt_text(obj, pointer).is_some_and(|t| !t.is_empty())
}

/// FIRST SEEN: firstTimestamp, else eventTime.
pub fn first_seen(e: &Value, f: &Fields, now: SystemTime) -> String {
    if present(e, f.first_timestamp) {
        since(e, f.first_timestamp, now)
    } else {
        since(e, "/eventTime", now)
    }
}

/// LAST SEEN: the series' last observation, else lastTimestamp, else FIRST SEEN.
pub fn last_seen(e: &Value, f: &Fields, now: SystemTime) -> String {
    if e.get("series").is_some_and(Value::is_object) {
        since(e, "/series/lastObservedTime", now)
    } else if present(e, f.last_timestamp) {
        since(e, f.last_timestamp, now)
    } else {
        first_seen(e, f, now)
    }
}

/// COUNT: the series' count, else count, where 0 (a singleton) counts as 1.
pub fn count(e: &Value, f: &Fields) -> i64 {
    if e.get("series").is_some_and(Value::is_object) {
        return int(e, "/series/count");
    }
    match int(e, f.count) {
        0 => 1,
        n => n,
    }
}

/// OBJECT: `kind/name` of the regarded object, kind lowercased.
pub fn object(e: &Value, f: &Fields) -> String {
    let kind = text(e, &format!("{}/kind", f.object)).to_lowercase();
    match text(e, &format!("{}/name", f.object)) {
        "" => kind,
        name => format!("{kind}/{name}"),
    }
}

/// SOURCE: component (or reporting controller), then ", host" (or reporting instance).
pub fn source(e: &Value, f: &Fields) -> String {
    let first = |a: &str, b: &str| {
        let a = text(e, a);
        if a.is_empty() {
            text(e, b).to_string()
        } else {
            a.to_string()
        }
    };
    let component = first(&format!("{}/component", f.source), f.reporting_controller);
    let instance = first(&format!("{}/host", f.source), "/reportingInstance");
    if instance.is_empty() {
        component
    } else {
        format!("{component}, {instance}")
    }
}

/// The columns of an Event kind whose fields are at `$fields`.
macro_rules! event_columns {
    ($fields:expr) => {
        &[
            Column::new("Last Seen", "The time at which the most recent occurrence of this event was recorded.", |o, now| last_seen(o, &$fields, now).into()),
            Column::new("Type", "Type of this event (Normal, Warning), new types could be added in the future", |o, _| text(o, "/type").into()),
            Column::new("Reason", "This should be a short, machine understandable string that gives the reason for the transition into the object's current status.", |o, _| text(o, "/reason").into()),
            Column::new("Object", "The object that this event is about.", |o, _| object(o, &$fields).into()),
            Column::new("Subobject", "If referring to a piece of an object instead of an entire object, this string should contain a valid JSON/Go field access statement, such as desiredState.manifest.containers[2]. For example, if the object reference is to a container within a pod, this would take on a value like: \"spec.containers{name}\" (where \"name\" refers to the name of the container that triggered the event) or if no container name is specified \"spec.containers[2]\" (container with index 2 in this pod). This syntax is chosen only to have some well-defined way of referencing a part of an object.", |o, _| text(o, &format!("{}/fieldPath", $fields.object)).into()).wide(),
            Column::new("Source", "The component reporting this event. Should be a short machine understandable string.", |o, _| source(o, &$fields).into()).wide(),
            Column::new("Message", "A human-readable description of the status of this operation.", |o, _| text(o, $fields.message).trim().into()),
            Column::new("First Seen", "The time at which the event was first recorded. (Time of server receipt is in TypeMeta.)", |o, now| first_seen(o, &$fields, now).into()).wide(),
            Column::new("Count", "The number of times this event has occurred.", |o, _| count(o, &$fields).into()).wide(),
            NAME.wide(),
        ]
    };
}

/// Core `v1` Events: LAST SEEN, TYPE, REASON, OBJECT, MESSAGE; the rest with `-o wide`.
pub const EVENT: &[Column] = event_columns!(CORE);

/// `events.k8s.io/v1` Events: the same columns over that kind's field names.
pub const EVENT_V1: &[Column] = event_columns!(EVENTS_V1);

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::super::testing::{ago, cell, header};
    use super::*;

    #[test]
    fn header_like_upstream() {
        assert_eq!(
            header(EVENT),
            [
                "Last Seen",
                "Type",
                "Reason",
                "Object",
                "Subobject*",
                "Source*",
                "Message",
                "First Seen*",
                "Count*",
                "Name*"
            ]
        );
    }

    #[test]
    fn core_event_cells() {
        let e = json!({"metadata": {"name": "web.17"}, "type": "Warning", "reason": "BackOff",
            "involvedObject": {"kind": "Pod", "name": "web", "fieldPath": "spec.containers{app}"},
            "source": {"component": "kubelet", "host": "node-1"}, "message": " Back-off restarting \n",
            "firstTimestamp": ago(600), "lastTimestamp": ago(30), "count": 7});
        assert_eq!(cell(EVENT, &e, "Last Seen"), json!("30s"));
        assert_eq!(cell(EVENT, &e, "First Seen"), json!("10m"));
        assert_eq!(cell(EVENT, &e, "Object"), json!("pod/web"));
        assert_eq!(cell(EVENT, &e, "Source"), json!("kubelet, node-1"));
        assert_eq!(cell(EVENT, &e, "Message"), json!("Back-off restarting"));
        assert_eq!(cell(EVENT, &e, "Count"), json!(7));
        assert_eq!(cell(EVENT, &e, "Subobject"), json!("spec.containers{app}"));
        assert_eq!(cell(EVENT, &e, "Name"), json!("web.17"));
    }

    #[test]
    fn new_style_events() {
        let single = json!({"eventTime": ago(120), "reportingComponent": "ctrl", "involvedObject": {"kind": "Node"}});
        assert_eq!(cell(EVENT, &single, "Last Seen"), json!("2m"));
        assert_eq!(cell(EVENT, &single, "Count"), json!(1));
        assert_eq!(cell(EVENT, &single, "Object"), json!("node"));
        assert_eq!(cell(EVENT, &single, "Source"), json!("ctrl"));
        let series = json!({"eventTime": ago(3600), "series": {"count": 4, "lastObservedTime": ago(10)},
            "regarding": {"kind": "Deployment", "name": "api"}, "note": "scaled",
            "reportingController": "deployment-controller", "reportingInstance": "cm-1"});
        assert_eq!(cell(EVENT_V1, &series, "Last Seen"), json!("10s"));
        assert_eq!(cell(EVENT_V1, &series, "First Seen"), json!("60m"));
        assert_eq!(cell(EVENT_V1, &series, "Count"), json!(4));
        assert_eq!(cell(EVENT_V1, &series, "Object"), json!("deployment/api"));
        assert_eq!(cell(EVENT_V1, &series, "Message"), json!("scaled"));
        assert_eq!(
            cell(EVENT_V1, &series, "Source"),
            json!("deployment-controller, cm-1")
        );
        assert_eq!(cell(EVENT, &json!({}), "Last Seen"), json!("<unknown>"));
    }
}
