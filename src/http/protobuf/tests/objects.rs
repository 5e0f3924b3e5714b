//! Well-formed objects: what each kind's body decodes to, field by field.

use serde_json::{json, Value};

use super::super::decode;
use super::{envelope, meta, Pb};

#[test]
fn config_map() {
    // generateName (2) sent empty, as Go sends plain fields: dropped, as upstream's JSON omits it.
    let metadata = meta("c")
        .str(2, "")
        .entry(11, "app", b"web")
        .entry(11, "tier", b"front")
        .msg(8, Pb::default());
    let object = Pb::default()
        .msg(1, metadata)
        .entry(2, "a", b"b")
        .entry(2, "empty", b"")
        .entry(3, "bin", &[0, 1, 0xff]);
    let decoded = decode(&envelope("v1", "ConfigMap", object)).unwrap();
    let expected = json!({
        "apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "c", "namespace": "demo", "labels": {"app": "web", "tier": "front"}, "creationTimestamp": null},
        "data": {"a": "b", "empty": ""},
        "binaryData": {"bin": "AAH/"},
    });
    assert_eq!(decoded, expected);
}

#[test]
fn secret_bytes_become_base64() {
    let object = Pb::default()
        .msg(1, meta("s"))
        .entry(2, "p", b"q")
        .entry(2, "blob", &[0xde, 0xad, 0xbe, 0xef])
        .str(3, "Opaque");
    let decoded = decode(&envelope("v1", "Secret", object)).unwrap();
    assert_eq!(decoded["data"], json!({"p": "cQ==", "blob": "3q2+7w=="}));
    assert_eq!(decoded["type"], "Opaque");
    assert!(
        decoded.get("stringData").is_none(),
        "absent on the wire means absent in JSON"
    );
}

#[test]
fn deployment_keeps_zero_replicas() {
    let labels = Pb::default().entry(1, "app", b"d");
    let container = Pb::default().str(1, "nginx").str(2, "nginx");
    let template = Pb::default()
        .msg(1, Pb::default().entry(11, "app", b"d"))
        .msg(2, Pb::default().msg(2, container));
    let spec = Pb::default()
        .int(1, 0)
        .msg(2, labels)
        .msg(3, template)
        .msg(4, Pb::default())
        .int(6, -1);
    let decoded = decode(&envelope(
        "apps/v1",
        "Deployment",
        Pb::default().msg(1, meta("d")).msg(2, spec),
    ))
    .unwrap();
    let spec = &decoded["spec"];
    assert_eq!(spec["replicas"], json!(0), "a zero that was sent is kept");
    assert_eq!(
        spec["revisionHistoryLimit"],
        json!(-1),
        "negative int32 are ten-byte varints"
    );
    assert_eq!(spec["selector"], json!({"matchLabels": {"app": "d"}}));
    assert_eq!(
        spec["template"]["spec"]["containers"],
        json!([{"name": "nginx", "image": "nginx"}])
    );
    assert_eq!(spec["strategy"], json!({}));
    assert!(spec.get("paused").is_none());
}

#[test]
fn service_ports_and_int_or_string() {
    let by_number = Pb::default()
        .str(1, "http")
        .str(2, "TCP")
        .int(3, 80)
        .msg(4, Pb::default().int(1, 0).int(2, 8080));
    let by_name = Pb::default()
        .str(1, "web")
        .int(3, 443)
        .msg(4, Pb::default().int(1, 1).str(3, "https"));
    let spec = Pb::default()
        .msg(1, by_number)
        .msg(1, by_name)
        .entry(2, "app", b"svc")
        .str(4, "ClusterIP");
    let decoded = decode(&envelope(
        "v1",
        "Service",
        Pb::default().msg(1, meta("svc")).msg(2, spec),
    ))
    .unwrap();
    let expected = json!({
        "ports": [
            {"name": "http", "protocol": "TCP", "port": 80, "targetPort": 8080},
            {"name": "web", "port": 443, "targetPort": "https"},
        ],
        "selector": {"app": "svc"},
        "type": "ClusterIP",
    });
    assert_eq!(decoded["spec"], expected);
}

#[test]
fn times_durations_and_quantities() {
    let metadata = meta("l")
        .msg(8, Pb::default().int(1, 1_704_164_645).int(2, 5))
        .msg(9, Pb::default());
    let spec = Pb::default()
        .str(1, "me")
        .msg(4, Pb::default().int(1, 1_704_164_645).int(2, 123_456_789));
    let decoded = decode(&envelope(
        "coordination.k8s.io/v1",
        "Lease",
        Pb::default().msg(1, metadata).msg(2, spec),
    ))
    .unwrap();
    assert_eq!(
        decoded["metadata"]["creationTimestamp"],
        "2024-01-02T03:04:05Z"
    );
    assert_eq!(
        decoded["metadata"]["deletionTimestamp"],
        Value::Null,
        "an empty Time is Go's zero time"
    );
    assert_eq!(decoded["spec"]["renewTime"], "2024-01-02T03:04:05.123456Z");

    let limits = Pb::default().msg(
        1,
        Pb::default()
            .str(1, "cpu")
            .msg(2, Pb::default().str(1, "500m")),
    );
    let container = Pb::default().str(1, "c").msg(8, limits);
    let pod = Pb::default()
        .msg(1, meta("p"))
        .msg(2, Pb::default().msg(2, container));
    let decoded = decode(&envelope("v1", "Pod", pod)).unwrap();
    assert_eq!(
        decoded["spec"]["containers"][0]["resources"],
        json!({"limits": {"cpu": "500m"}})
    );
}

#[test]
fn inline_structs_join_their_parent() {
    let volume = Pb::default().str(1, "cfg").msg(
        2,
        Pb::default().msg(
            19,
            Pb::default().msg(1, Pb::default().str(1, "c")).int(3, 420),
        ),
    );
    let probe = Pb::default()
        .msg(
            1,
            Pb::default().msg(
                2,
                Pb::default()
                    .str(1, "/healthz")
                    .msg(2, Pb::default().int(2, 8080)),
            ),
        )
        .int(2, 5);
    let env_from = Pb::default().msg(3, Pb::default().msg(1, Pb::default().str(1, "s")).int(2, 1));
    let container = Pb::default().str(1, "c").msg(10, probe).msg(19, env_from);
    let pod = Pb::default()
        .msg(1, meta("p"))
        .msg(2, Pb::default().msg(1, volume).msg(2, container));
    let spec = &decode(&envelope("v1", "Pod", pod)).unwrap()["spec"];
    assert_eq!(
        spec["volumes"],
        json!([{"name": "cfg", "configMap": {"name": "c", "defaultMode": 420}}])
    );
    let container = &spec["containers"][0];
    assert_eq!(
        container["livenessProbe"],
        json!({"httpGet": {"path": "/healthz", "port": 8080}, "initialDelaySeconds": 5})
    );
    assert_eq!(
        container["envFrom"],
        json!([{"secretRef": {"name": "s", "optional": true}}])
    );

    let http = Pb::default().msg(1, Pb::default().str(1, "/").str(3, "Prefix"));
    let ingress = Pb::default().msg(
        2,
        Pb::default().msg(
            3,
            Pb::default()
                .str(1, "foo.com")
                .msg(2, Pb::default().msg(1, http)),
        ),
    );
    let decoded = decode(&envelope("networking.k8s.io/v1", "Ingress", ingress)).unwrap();
    assert_eq!(
        decoded["spec"]["rules"],
        json!([{"host": "foo.com", "http": {"paths": [{"path": "/", "pathType": "Prefix"}]}}])
    );
}

#[test]
fn doubles_are_json_numbers() {
    let schema = Pb::default()
        .str(5, "integer")
        .key(9, 1)
        .0
        .into_iter()
        .chain(5.0f64.to_le_bytes())
        .collect::<Vec<u8>>();
    let schema = Pb(schema)
        .key(19, 1)
        .0
        .into_iter()
        .chain(0.5f64.to_le_bytes())
        .collect::<Vec<u8>>();
    let version = Pb::default()
        .str(1, "v1")
        .msg(4, Pb::default().msg(1, Pb(schema)));
    let crd = Pb::default()
        .msg(1, meta("x"))
        .msg(2, Pb::default().msg(7, version));
    let decoded = decode(&envelope(
        "apiextensions.k8s.io/v1",
        "CustomResourceDefinition",
        crd,
    ))
    .unwrap();
    let schema = &decoded["spec"]["versions"][0]["schema"]["openAPIV3Schema"];
    assert_eq!(
        schema,
        &json!({"type": "integer", "maximum": 5, "multipleOf": 0.5})
    );
    assert_eq!(
        schema["maximum"].to_string(),
        "5",
        "whole numbers have no fraction, as in Go"
    );
}

#[test]
fn raw_extensions_hold_json_or_nested_objects() {
    let revision = Pb::default()
        .msg(1, meta("r"))
        .msg(2, Pb::default().str(1, r#"{"spec":{"x":1}}"#))
        .int(3, 2);
    let decoded = decode(&envelope("apps/v1", "ControllerRevision", revision)).unwrap();
    assert_eq!(decoded["data"], json!({"spec": {"x": 1}}));
    assert_eq!(decoded["revision"], 2);

    let inner = envelope("v1", "ConfigMap", Pb::default().msg(1, meta("n")));
    let outer = Pb::default()
        .msg(1, meta("r"))
        .msg(2, Pb::default().bytes(1, &inner));
    let decoded = decode(&envelope("apps/v1", "ControllerRevision", outer)).unwrap();
    assert_eq!(
        decoded["data"],
        json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "n", "namespace": "demo"}})
    );
}

#[test]
fn rbac_and_options_kinds() {
    let rule = Pb::default().str(1, "get").str(2, "").str(3, "pods");
    let decoded = decode(&envelope(
        "rbac.authorization.k8s.io/v1",
        "ClusterRole",
        Pb::default().msg(1, Pb::default().str(1, "r")).msg(2, rule),
    ))
    .unwrap();
    assert_eq!(
        decoded["rules"],
        json!([{"verbs": ["get"], "apiGroups": [""], "resources": ["pods"]}])
    );
    let delete = Pb::default().int(1, 30).str(4, "Foreground");
    let decoded = decode(&envelope("apps/v1", "DeleteOptions", delete)).unwrap();
    assert_eq!(
        decoded,
        json!({"apiVersion": "apps/v1", "kind": "DeleteOptions", "gracePeriodSeconds": 30, "propagationPolicy": "Foreground"})
    );
}
