//! Storage kinds' columns: persistent volumes, their claims and storage classes.

use serde_json::Value;

use super::format::{deleting, list, opt_text, text};
use super::{AGE, NAME, NAME_DESCRIPTION};
use crate::registry::strategy::Column;

/// Access modes abbreviated in upstream's fixed order (RWO, ROX, RWX, RWOP).
pub fn access_modes(obj: &Value, pointer: &str) -> String {
    let modes: Vec<&str> = list(obj, pointer)
        .iter()
        .filter_map(Value::as_str)
        .collect();
    [
        ("ReadWriteOnce", "RWO"),
        ("ReadOnlyMany", "ROX"),
        ("ReadWriteMany", "RWX"),
        ("ReadWriteOncePod", "RWOP"),
    ]
    .iter()
    .filter(|(mode, _)| modes.contains(mode))
    .map(|(_, short)| *short)
    .collect::<Vec<_>>()
    .join(",")
}

/// The storage class: the beta annotation wins over `spec.storageClassName`.
fn storage_class(obj: &Value) -> Value {
    let annotation = obj
        .pointer("/metadata/annotations")
        .and_then(|a| a.get("volume.beta.kubernetes.io/storage-class"))
        .and_then(Value::as_str);
    annotation
        .unwrap_or_else(|| text(obj, "/spec/storageClassName"))
        .into()
}

/// A resource quantity at `pointer`, "0" when absent (a zero `Quantity`).
fn quantity(obj: &Value, pointer: &str) -> String {
    opt_text(obj, pointer).unwrap_or("0").to_string()
}

/// The phase, Terminating while deleted; upstream starts volumes and claims Pending.
fn phase(obj: &Value) -> Value {
    if deleting(obj) {
        return "Terminating".into();
    }
    match text(obj, "/status/phase") {
        "" => "Pending".into(),
        phase => phase.into(),
    }
}

fn or_unset(obj: &Value, pointer: &str) -> Value {
    opt_text(obj, pointer).unwrap_or("<unset>").into()
}

/// Upstream defaults `volumeMode` to Filesystem.
fn volume_mode(obj: &Value) -> Value {
    opt_text(obj, "/spec/volumeMode")
        .unwrap_or("Filesystem")
        .into()
}

fn claim(pv: &Value) -> Value {
    match pv.pointer("/spec/claimRef").filter(|c| c.is_object()) {
        Some(c) => format!("{}/{}", text(c, "/namespace"), text(c, "/name")).into(),
        None => "".into(),
    }
}

pub const PERSISTENT_VOLUME: &[Column] = &[
    NAME,
    Column::new("Capacity", "capacity is the description of the persistent volume's resources and capacity. More info: https://kubernetes.io/docs/concepts/storage/persistent-volumes#capacity", |o, _| quantity(o, "/spec/capacity/storage").into()),
    Column::new("Access Modes", "accessModes contains all ways the volume can be mounted. More info: https://kubernetes.io/docs/concepts/storage/persistent-volumes#access-modes", |o, _| access_modes(o, "/spec/accessModes").into()),
    Column::new("Reclaim Policy", "persistentVolumeReclaimPolicy defines what happens to a persistent volume when released from its claim. Valid options are Retain (default for manually created PersistentVolumes), Delete (default for dynamically provisioned PersistentVolumes), and Recycle (deprecated). Recycle must be supported by the volume plugin underlying this PersistentVolume. More info: https://kubernetes.io/docs/concepts/storage/persistent-volumes#reclaiming", |o, _| opt_text(o, "/spec/persistentVolumeReclaimPolicy").unwrap_or("Retain").into()),
    Column::new("Status", "phase indicates if a volume is available, bound to a claim, or released by a claim. More info: https://kubernetes.io/docs/concepts/storage/persistent-volumes#phase", |o, _| phase(o)),
    Column::new("Claim", "claimRef is part of a bi-directional binding between PersistentVolume and PersistentVolumeClaim. Expected to be non-nil when bound. claim.VolumeName is the authoritative bind between PV and PVC. More info: https://kubernetes.io/docs/concepts/storage/persistent-volumes#binding", |o, _| claim(o)),
    Column::new("StorageClass", "StorageClass of the pv", |o, _| storage_class(o)),
    Column::new("VolumeAttributesClass", "VolumeAttributesClass of the pv", |o, _| or_unset(o, "/spec/volumeAttributesClassName")),
    Column::new("Reason", "reason is a brief CamelCase string that describes any failure and is meant for machine parsing and tidy display in the CLI.", |o, _| text(o, "/status/reason").into()),
    AGE,
    Column::new("VolumeMode", "volumeMode defines if a volume is intended to be used with a formatted filesystem or to remain in raw block state. Value of Filesystem is implied when not included in spec.", |o, _| volume_mode(o)).wide(),
];

/// Capacity and access modes of a claim show only once it is bound to a volume.
fn bound(pvc: &Value, cell: fn(&Value) -> String) -> Value {
    if text(pvc, "/spec/volumeName").is_empty() {
        return "".into();
    }
    cell(pvc).into()
}

pub const PERSISTENT_VOLUME_CLAIM: &[Column] = &[
    NAME,
    Column::new("Status", "phase represents the current phase of PersistentVolumeClaim.", |o, _| phase(o)),
    Column::new("Volume", "volumeName is the binding reference to the PersistentVolume backing this claim.", |o, _| text(o, "/spec/volumeName").into()),
    Column::new("Capacity", "capacity represents the actual resources of the underlying volume.", |o, _| bound(o, |o| quantity(o, "/status/capacity/storage"))),
    Column::new("Access Modes", "accessModes contains the actual access modes the volume backing the PVC has. More info: https://kubernetes.io/docs/concepts/storage/persistent-volumes#access-modes-1", |o, _| bound(o, |o| access_modes(o, "/status/accessModes"))),
    Column::new("StorageClass", "StorageClass of the pvc", |o, _| storage_class(o)),
    Column::new("VolumeAttributesClass", "VolumeAttributesClass of the pvc", |o, _| or_unset(o, "/spec/volumeAttributesClassName")),
    AGE,
    Column::new("VolumeMode", "volumeMode defines what type of volume is required by the claim. Value of Filesystem is implied when not included in claim spec.", |o, _| volume_mode(o)).wide(),
];

/// A default class is marked in its name, by either the GA or the beta annotation.
fn storage_class_name(obj: &Value) -> Value {
    let name = text(obj, "/metadata/name");
    let annotations = obj.pointer("/metadata/annotations");
    let is_default = [
        "storageclass.kubernetes.io/is-default-class",
        "storageclass.beta.kubernetes.io/is-default-class",
    ]
    .iter()
    .any(|k| annotations.and_then(|a| a.get(*k)).and_then(Value::as_str) == Some("true"));
    if is_default {
        format!("{name} (default)").into()
    } else {
        name.into()
    }
}

pub const STORAGE_CLASS: &[Column] = &[
    Column {
        format: "name",
        ..Column::new("Name", NAME_DESCRIPTION, |o, _| storage_class_name(o))
    },
    Column::new("Provisioner", "provisioner indicates the type of the provisioner.", |o, _| text(o, "/provisioner").into()),
    Column::new("ReclaimPolicy", "reclaimPolicy controls the reclaimPolicy for dynamically provisioned PersistentVolumes of this storage class. Defaults to Delete.", |o, _| opt_text(o, "/reclaimPolicy").unwrap_or("Delete").into()),
    Column::new("VolumeBindingMode", "volumeBindingMode indicates how PersistentVolumeClaims should be provisioned and bound.  When unset, VolumeBindingImmediate is used. This field is only honored by servers that enable the VolumeScheduling feature.", |o, _| opt_text(o, "/volumeBindingMode").unwrap_or("Immediate").into()),
    Column::new("AllowVolumeExpansion", "allowVolumeExpansion shows whether the storage class allow volume expand.", |o, _| o.get("allowVolumeExpansion").and_then(Value::as_bool).unwrap_or(false).into()),
    AGE,
];

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::super::testing::cell;
    use super::*;

    #[test]
    fn volume_cells() {
        let pv = json!({"spec": {"capacity": {"storage": "5Gi"}, "accessModes": ["ReadWriteMany", "ReadWriteOnce"],
            "claimRef": {"namespace": "ns", "name": "data"}, "storageClassName": "fast"}});
        assert_eq!(
            cell(PERSISTENT_VOLUME, &pv, "Access Modes"),
            json!("RWO,RWX")
        );
        assert_eq!(cell(PERSISTENT_VOLUME, &pv, "Claim"), json!("ns/data"));
        assert_eq!(
            cell(PERSISTENT_VOLUME, &pv, "Reclaim Policy"),
            json!("Retain")
        );
        assert_eq!(
            cell(PERSISTENT_VOLUME, &pv, "VolumeAttributesClass"),
            json!("<unset>")
        );
        let pvc = json!({"spec": {"resources": {"requests": {"storage": "1Gi"}}}});
        assert_eq!(cell(PERSISTENT_VOLUME_CLAIM, &pvc, "Capacity"), json!(""));
        assert_eq!(
            cell(PERSISTENT_VOLUME_CLAIM, &pvc, "Status"),
            json!("Pending")
        );
        let sc = json!({"metadata": {"name": "std", "annotations": {"storageclass.kubernetes.io/is-default-class": "true"}}, "provisioner": "x"});
        assert_eq!(cell(STORAGE_CLASS, &sc, "Name"), json!("std (default)"));
        assert_eq!(
            cell(STORAGE_CLASS, &sc, "AllowVolumeExpansion"),
            json!(false)
        );
    }
}
