//! The message tables the decoder walks: for every Kubernetes protobuf message, its fields'
//! numbers, JSON names and types. `build.rs` generates the tables from k8s-pb's prost
//! code and k8s-openapi's serde names; this file declares their shape and looks kinds up.

use std::cmp::Ordering;
use std::fmt;

/// A protobuf scalar type used by Kubernetes messages.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scalar {
    String,
    /// JSON: base64 (Go's `[]byte`).
    Bytes,
    Bool,
    Int32,
    Int64,
    Double,
}

/// A field's value type.
#[derive(Clone, Copy, Debug)]
pub enum Type {
    Scalar(Scalar),
    Message(&'static Message),
}

/// How often a field occurs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Label {
    /// proto2 `optional`: present on the wire means present in JSON.
    Optional,
    Repeated,
    /// `map<key, ty>`, sent as repeated entries {1: key, 2: value}.
    Map(Scalar),
    /// A Go struct embedded with `json:",inline"`: its members join the parent's.
    Inline,
}

#[derive(Debug)]
pub struct Field {
    pub tag: u32,
    pub json: &'static str,
    pub ty: Type,
    pub label: Label,
}

/// Messages whose JSON form is not an object of their fields.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Special {
    None,
    /// meta.v1.Time: RFC 3339, whole seconds.
    Time,
    /// meta.v1.MicroTime: RFC 3339 with microseconds.
    MicroTime,
    /// meta.v1.Duration: Go's duration string.
    Duration,
    /// api.resource.Quantity: its string.
    Quantity,
    /// util.intstr.IntOrString: a number or a string.
    IntOrString,
    /// meta.v1.FieldsV1, apiextensions JSON: raw bytes holding JSON.
    RawJson,
    /// runtime.RawExtension: raw JSON, or a nested protobuf envelope.
    RawExtension,
    /// A Go string slice wrapped in a message (`ExtraValue`, `Verbs`): an array.
    StringList,
    /// apiextensions JSONSchemaPropsOrBool: a schema or a bool.
    SchemaOrBool,
    /// apiextensions JSONSchemaPropsOrArray: a schema or an array of schemas.
    SchemaOrArray,
    /// apiextensions JSONSchemaPropsOrStringArray: a schema or an array of strings.
    SchemaOrStringArray,
}

pub struct Message {
    /// The proto package, e.g. `k8s.io.api.core.v1`.
    pub package: &'static str,
    /// The Go type name, e.g. `ConfigMap`.
    pub name: &'static str,
    pub special: Special,
    /// Sorted by tag.
    pub fields: &'static [Field],
}

// === impl Message ===

impl Message {
    pub fn field(&self, tag: u32) -> Option<&'static Field> {
        let fields = self.fields;
        fields
            .binary_search_by_key(&tag, |f| f.tag)
            .ok()
            .map(|i| &fields[i])
    }
}

impl fmt::Display for Message {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.package, self.name)
    }
}

/// Messages refer to each other, so Debug names the message instead of recursing.
impl fmt::Debug for Message {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

include!(concat!(env!("OUT_DIR"), "/proto_schema.rs"));

/// Where kinds that every group version registers (DeleteOptions, Status, ...) live.
const META_V1: &str = "k8s.io.apimachinery.pkg.apis.meta.v1";

fn cmp_lowercase(a: &str, b: &str) -> Ordering {
    a.bytes()
        .map(|c| c.to_ascii_lowercase())
        .cmp(b.bytes().map(|c| c.to_ascii_lowercase()))
}

fn find(package: &str, kind: &str) -> Option<&'static Message> {
    let i = MESSAGES
        .binary_search_by(|m| {
            m.package
                .cmp(package)
                .then_with(|| cmp_lowercase(m.name, kind))
        })
        .ok()?;
    MESSAGES.get(i).copied()
}

/// The message of `kind` in `api_version` (kinds compare case-insensitively, since prost
/// and Go spell acronyms differently).
pub fn find_kind(api_version: &str, kind: &str) -> Option<&'static Message> {
    let i = GROUP_VERSIONS
        .binary_search_by(|(v, _)| (*v).cmp(api_version))
        .ok()?;
    let package = GROUP_VERSIONS.get(i)?.1;
    find(package, kind).or_else(|| find(META_V1, kind))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_resolve_to_their_messages() {
        let cases = [
            ("v1", "ConfigMap", "k8s.io.api.core.v1.ConfigMap"),
            ("apps/v1", "Deployment", "k8s.io.api.apps.v1.Deployment"),
            (
                "rbac.authorization.k8s.io/v1",
                "ClusterRole",
                "k8s.io.api.rbac.v1.ClusterRole",
            ),
            (
                "networking.k8s.io/v1",
                "Ingress",
                "k8s.io.api.networking.v1.Ingress",
            ),
            (
                "storage.k8s.io/v1",
                "CSIDriver",
                "k8s.io.api.storage.v1.CSIDriver",
            ),
            (
                "apiextensions.k8s.io/v1",
                "CustomResourceDefinition",
                "k8s.io.apiextensions_apiserver.pkg.apis.apiextensions.v1.CustomResourceDefinition",
            ),
            (
                "apps/v1",
                "DeleteOptions",
                "k8s.io.apimachinery.pkg.apis.meta.v1.DeleteOptions",
            ),
            (
                "meta.k8s.io/v1",
                "Status",
                "k8s.io.apimachinery.pkg.apis.meta.v1.Status",
            ),
        ];
        for (api_version, kind, full) in cases {
            let message =
                find_kind(api_version, kind).unwrap_or_else(|| panic!("{api_version} {kind}"));
            assert_eq!(message.to_string(), full);
        }
        assert!(find_kind("v1", "NoSuchKind").is_none());
        assert!(find_kind("nope/v1", "ConfigMap").is_none());
    }

    #[test]
    fn json_names_come_from_k8s_openapi() {
        let status = find_kind("v1", "Pod")
            .and_then(|p| p.fields.iter().find(|f| f.json == "status"))
            .expect("Pod.status");
        let Type::Message(status) = status.ty else {
            panic!("PodStatus is a message")
        };
        assert!(status.fields.iter().any(|f| f.json == "podIP"));
        assert!(status.fields.iter().any(|f| f.json == "hostIPs"));
        let volume_source = find("k8s.io.api.core.v1", "VolumeSource").expect("VolumeSource");
        for name in ["hostPath", "storageos", "cephfs", "persistentVolumeClaim"] {
            assert!(
                volume_source.fields.iter().any(|f| f.json == name),
                "names of inlined types come from their host: {name}"
            );
        }
        let crd = find_kind("apiextensions.k8s.io/v1", "JSONSchemaProps").expect("JSONSchemaProps");
        for name in ["$ref", "$schema", "x-kubernetes-list-type", "type"] {
            assert!(crd.fields.iter().any(|f| f.json == name), "{name}");
        }
    }
}
