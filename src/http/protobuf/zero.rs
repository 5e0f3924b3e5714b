//! Which zero values a protobuf body carries only because Go sent a plain field.
//!
//! Go's protobuf encoder writes every non-pointer field, empty or not, while Go's JSON
//! encoder omits empty `omitempty` fields. kube-apiserver decodes into Go structs and
//! answers in JSON, so a client sees no `generateName: ""` or `paused: false` there;
//! keelson keeps objects as JSON, so it drops such zeros when decoding. Pointer fields
//! (and required ones) are sent only when set, and their zero means something
//! (`replicas: 0`, `storageClassName: ""`): those are listed here and kept.

use serde_json::Value;

/// JSON names of scalar fields whose zero value is meaningful wherever they occur.
const KEEP_ZERO: &[&str] = &[
    // apps, batch, autoscaling, policy
    "replicas",
    "parallelism",
    "completions",
    "backoffLimit",
    "backoffLimitPerIndex",
    "maxFailedIndexes",
    "activeDeadlineSeconds",
    "ttlSecondsAfterFinished",
    "suspend",
    "successfulJobsHistoryLimit",
    "failedJobsHistoryLimit",
    "startingDeadlineSeconds",
    "revisionHistoryLimit",
    "progressDeadlineSeconds",
    "minReplicas",
    "partition",
    "manualSelector",
    "podReplacementPolicy",
    // pods and containers
    "terminationGracePeriodSeconds",
    "automountServiceAccountToken",
    "runAsUser",
    "runAsGroup",
    "runAsNonRoot",
    "privileged",
    "readOnlyRootFilesystem",
    "allowPrivilegeEscalation",
    "shareProcessNamespace",
    "enableServiceLinks",
    "hostUsers",
    "setHostnameAsFQDN",
    "fsGroup",
    "priority",
    "optional",
    "defaultMode",
    "mode",
    "sizeLimit",
    "runtimeClassName",
    "preemptionPolicy",
    "storageClassName",
    "volumeAttributesClassName",
    "procMount",
    "seccompProfile",
    // metadata and the rest
    "deletionGracePeriodSeconds",
    "immutable",
    "value",
    "allocateLoadBalancerNodePorts",
    "ipFamilyPolicy",
    "internalTrafficPolicy",
    "loadBalancerClass",
    "appProtocol",
    "trafficDistribution",
    "timeoutSeconds",
    "expirationSeconds",
    "port",
    "containerPort",
    "weight",
    "reinvocationPolicy",
    "matchPolicy",
    "sideEffects",
    "failurePolicy",
    "leaseDurationSeconds",
    "leaseTransitions",
    "holderIdentity",
    "count",
    "minAvailable",
    "maxUnavailable",
    "maxSurge",
];

/// Whether a decoded scalar `value` of field `json` is a zero Go sent only because the
/// field is not a pointer.
pub fn is_plain_zero(json: &str, value: &Value) -> bool {
    let zero = match value {
        Value::String(s) => s.is_empty(),
        Value::Bool(b) => !b,
        Value::Number(n) => n.as_f64() == Some(0.0),
        _ => false,
    };
    zero && !KEEP_ZERO.contains(&json)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn plain_zeros_go_and_meaningful_ones_stay() {
        assert!(is_plain_zero("generateName", &json!("")));
        assert!(is_plain_zero("paused", &json!(false)));
        assert!(is_plain_zero("minReadySeconds", &json!(0)));
        assert!(!is_plain_zero("replicas", &json!(0)));
        assert!(!is_plain_zero("storageClassName", &json!("")));
        assert!(!is_plain_zero("paused", &json!(true)));
        assert!(!is_plain_zero("name", &json!("x")));
    }
}
