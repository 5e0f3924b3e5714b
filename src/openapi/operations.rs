//! The API operations of one served resource, in a form both documents render: the
//! paths upstream serves for it (collection, item, status, the all-namespaces list and
//! the watch paths), with upstream's operation ids, actions, query parameters, body and
//! response types.
//!
//! Operation ids and actions are what clients key on (kubectl finds a kind's PATCH by its
//! x-kubernetes-group-version-kind and looks for `fieldValidation` among its parameters);
//! the wording of descriptions is ours.

use super::params::{
    path_param, queries, query, DELETE_COLLECTION_PARAMS, DELETE_PARAMS, LIST_PARAMS, PATCH_PARAMS,
    WRITE_PARAMS,
};
pub(crate) use super::params::{In, Param};
use crate::registry::descriptor::ResourceDescriptor;
use serde_json::Value;

pub(crate) const META: &str = "io.k8s.apimachinery.pkg.apis.meta.v1.";

#[derive(Clone, Debug)]
pub(crate) struct Operation {
    /// Lower-case HTTP method as OpenAPI names it: get, post, put, patch, delete.
    pub method: &'static str,
    pub id: String,
    pub description: String,
    /// x-kubernetes-action: get, list, post, put, patch, delete, deletecollection,
    /// watch, watchlist.
    pub action: &'static str,
    pub params: Vec<Param>,
    /// Definition name of the request body, if the operation takes one.
    pub body: Option<String>,
    /// Whether the body is required (DELETE bodies are optional).
    pub body_required: bool,
    pub consumes: &'static [&'static str],
    pub produces: &'static [&'static str],
    /// (HTTP code, definition name of the response body).
    pub responses: Vec<(&'static str, String)>,
}

#[derive(Clone, Debug)]
pub(crate) struct PathItem {
    pub path: String,
    /// Parameters shared by every operation of the path (name, namespace, pretty).
    pub params: Vec<Param>,
    pub ops: Vec<Operation>,
    /// The kind every operation is about: (group, version, kind).
    pub gvk: (&'static str, &'static str, &'static str),
}

impl PathItem {
    /// The path's OpenAPI object: each operation and the shared parameters, written by
    /// the document format's own `operation` and `param` (v2 and v3 differ in both).
    pub fn render(
        &self,
        operation: impl Fn(&Operation, &str, &str, &str) -> Value,
        param: impl Fn(&Param) -> Value,
    ) -> Value {
        let mut out = serde_json::Map::new();
        let (group, version, kind) = self.gvk;
        for op in &self.ops {
            out.insert(op.method.to_string(), operation(op, group, version, kind));
        }
        out.insert(
            "parameters".into(),
            Value::Array(self.params.iter().map(param).collect()),
        );
        Value::Object(out)
    }
}

/// The description upstream gives a success response with this status code.
pub(crate) fn response_description(code: &str) -> &'static str {
    match code {
        "201" => "Created",
        "202" => "Accepted",
        _ => "OK",
    }
}

const PRODUCES: &[&str] = &[
    "application/json",
    "application/yaml",
    "application/vnd.kubernetes.protobuf",
];
const PRODUCES_STREAM: &[&str] = &[
    "application/json",
    "application/yaml",
    "application/vnd.kubernetes.protobuf",
    "application/json;stream=watch",
    "application/vnd.kubernetes.protobuf;stream=watch",
];
const CONSUMES_ANY: &[&str] = &["*/*"];
/// The patch types upstream accepts for built-in kinds.
pub(crate) const PATCH_TYPES: &[&str] = &[
    "application/json-patch+json",
    "application/merge-patch+json",
    "application/strategic-merge-patch+json",
    "application/apply-patch+yaml",
];

/// `CoreV1`, `AppsV1`, `RbacAuthorizationV1`: the group-version part of operation ids.
pub(crate) fn gv_id(group: &str, version: &str) -> String {
    let group = if group.is_empty() { "core" } else { group };
    let mut out: String = group
        .trim_end_matches(".k8s.io")
        .split('.')
        .map(capitalize)
        .collect();
    out.push_str(&capitalize(version));
    out
}

/// `core_v1`, `apps_v1`, `rbacAuthorization_v1`: the tag upstream gives a group-version.
pub(crate) fn gv_tag(group: &str, version: &str) -> String {
    let group = if group.is_empty() { "core" } else { group };
    let mut parts = group.trim_end_matches(".k8s.io").split('.');
    let mut out = parts.next().unwrap_or_default().to_string();
    out.extend(parts.map(capitalize));
    format!("{out}_{version}")
}

fn capitalize(s: &str) -> String {
    let mut chars = s.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// `/api/v1` or `/apis/GROUP/VERSION`.
pub(crate) fn gv_prefix(group: &str, version: &str) -> String {
    if group.is_empty() {
        format!("/api/{version}")
    } else {
        format!("/apis/{group}/{version}")
    }
}

/// What the builders below share for one resource.
struct Ctx<'a> {
    d: &'a ResourceDescriptor,
    gv: String,
    kind_def: String,
    list_def: String,
}

impl Ctx<'_> {
    fn op(
        &self,
        method: &'static str,
        action: &'static str,
        id: String,
        description: String,
    ) -> Operation {
        Operation {
            method,
            id,
            description,
            action,
            params: Vec::new(),
            body: None,
            body_required: false,
            consumes: CONSUMES_ANY,
            produces: PRODUCES,
            responses: Vec::new(),
        }
    }

    fn ok(&self, codes: &[&'static str], def: &str) -> Vec<(&'static str, String)> {
        codes.iter().map(|c| (*c, def.to_string())).collect()
    }
}

/// Every path upstream serves for `d`, in the order upstream lists them.
pub(crate) fn for_resource(d: &'static ResourceDescriptor) -> Vec<PathItem> {
    let Some((kind_def, _)) = super::definition_for(d.group, d.version, d.kind) else {
        return Vec::new();
    };
    let list_def = super::definition_for(d.group, d.version, &d.list_kind())
        .map(|(name, _)| name.to_string())
        .unwrap_or_else(|| format!("{kind_def}List"));
    let cx = Ctx {
        d,
        gv: gv_id(d.group, d.version),
        kind_def: kind_def.to_string(),
        list_def,
    };
    let prefix = gv_prefix(d.group, d.version);
    let ns = if d.namespaced {
        "/namespaces/{namespace}"
    } else {
        ""
    };
    let scoped = if d.namespaced { "Namespaced" } else { "" };
    let mut items = vec![
        collection(&cx, format!("{prefix}{ns}/{}", d.resource), scoped),
        item(&cx, format!("{prefix}{ns}/{}/{{name}}", d.resource), scoped),
    ];
    if d.status {
        items.push(status(
            &cx,
            format!("{prefix}{ns}/{}/{{name}}/status", d.resource),
            scoped,
        ));
    }
    if d.namespaced && d.supports("list") {
        items.push(all_namespaces(&cx, format!("{prefix}/{}", d.resource)));
    }
    if d.supports("watch") {
        items.extend(watches(&cx, &prefix, ns, scoped));
    }
    items.retain(|item| !item.ops.is_empty());
    items
}

fn shared_params(cx: &Ctx, named: bool) -> Vec<Param> {
    let mut params = Vec::new();
    if named {
        params.push(path_param("name", format!("name of the {}", cx.d.kind)));
    }
    if cx.d.namespaced {
        params.push(path_param(
            "namespace",
            "object name and auth scope, such as for teams and projects".to_string(),
        ));
    }
    params.push(query("pretty"));
    params
}

fn path_item(cx: &Ctx, path: String, named: bool, ops: Vec<Operation>) -> PathItem {
    PathItem {
        path,
        params: shared_params(cx, named),
        ops,
        gvk: (cx.d.group, cx.d.version, cx.d.kind),
    }
}

fn collection(cx: &Ctx, path: String, scoped: &str) -> PathItem {
    let (d, gv, kind) = (cx.d, &cx.gv, cx.d.kind);
    let mut ops = Vec::new();
    if d.supports("list") {
        let mut op = cx.op(
            "get",
            "list",
            format!("list{gv}{scoped}{kind}"),
            format!("list or watch objects of kind {kind}"),
        );
        op.params = queries(LIST_PARAMS);
        op.produces = PRODUCES_STREAM;
        op.responses = cx.ok(&["200"], &cx.list_def);
        ops.push(op);
    }
    if d.supports("create") {
        let mut op = cx.op(
            "post",
            "post",
            format!("create{gv}{scoped}{kind}"),
            format!("create a {kind}"),
        );
        op.params = queries(WRITE_PARAMS);
        op.body = Some(cx.kind_def.clone());
        op.body_required = true;
        op.responses = cx.ok(&["200", "201", "202"], &cx.kind_def);
        ops.push(op);
    }
    if d.supports("deletecollection") {
        let mut op = cx.op(
            "delete",
            "deletecollection",
            format!("delete{gv}Collection{scoped}{kind}"),
            format!("delete collection of {kind}"),
        );
        op.params = queries(DELETE_COLLECTION_PARAMS);
        op.body = Some(format!("{META}DeleteOptions"));
        op.responses = cx.ok(&["200"], &format!("{META}Status"));
        ops.push(op);
    }
    path_item(cx, path, false, ops)
}

fn item(cx: &Ctx, path: String, scoped: &str) -> PathItem {
    let (d, gv, kind) = (cx.d, &cx.gv, cx.d.kind);
    let mut ops = Vec::new();
    if d.supports("get") {
        let mut op = cx.op(
            "get",
            "get",
            format!("read{gv}{scoped}{kind}"),
            format!("read the specified {kind}"),
        );
        op.responses = cx.ok(&["200"], &cx.kind_def);
        ops.push(op);
    }
    ops.extend(writes(cx, scoped, "", "the specified"));
    if d.supports("delete") {
        let mut op = cx.op(
            "delete",
            "delete",
            format!("delete{gv}{scoped}{kind}"),
            format!("delete a {kind}"),
        );
        op.params = queries(DELETE_PARAMS);
        op.body = Some(format!("{META}DeleteOptions"));
        op.responses = cx.ok(&["200", "202"], &format!("{META}Status"));
        ops.push(op);
    }
    path_item(cx, path, true, ops)
}

/// PUT and PATCH of the object (`suffix` "") or of its status (`suffix` "Status").
fn writes(cx: &Ctx, scoped: &str, suffix: &str, what: &str) -> Vec<Operation> {
    let (d, gv, kind) = (cx.d, &cx.gv, cx.d.kind);
    let mut ops = Vec::new();
    if d.supports("update") {
        let mut op = cx.op(
            "put",
            "put",
            format!("replace{gv}{scoped}{kind}{suffix}"),
            format!("replace {what} {kind}"),
        );
        op.params = queries(WRITE_PARAMS);
        op.body = Some(cx.kind_def.clone());
        op.body_required = true;
        op.responses = cx.ok(&["200", "201"], &cx.kind_def);
        ops.push(op);
    }
    if d.supports("patch") {
        let mut op = cx.op(
            "patch",
            "patch",
            format!("patch{gv}{scoped}{kind}{suffix}"),
            format!("partially update {what} {kind}"),
        );
        op.params = queries(PATCH_PARAMS);
        op.body = Some(format!("{META}Patch"));
        op.body_required = true;
        op.consumes = PATCH_TYPES;
        op.responses = cx.ok(&["200", "201"], &cx.kind_def);
        ops.push(op);
    }
    ops
}

fn status(cx: &Ctx, path: String, scoped: &str) -> PathItem {
    let (gv, kind) = (&cx.gv, cx.d.kind);
    let mut read = cx.op(
        "get",
        "get",
        format!("read{gv}{scoped}{kind}Status"),
        format!("read status of the specified {kind}"),
    );
    read.responses = cx.ok(&["200"], &cx.kind_def);
    let mut ops = vec![read];
    ops.extend(writes(cx, scoped, "Status", "status of the specified"));
    path_item(cx, path, true, ops)
}

fn all_namespaces(cx: &Ctx, path: String) -> PathItem {
    let (gv, kind) = (&cx.gv, cx.d.kind);
    let mut op = cx.op(
        "get",
        "list",
        format!("list{gv}{kind}ForAllNamespaces"),
        format!("list or watch objects of kind {kind}"),
    );
    op.produces = PRODUCES_STREAM;
    op.responses = cx.ok(&["200"], &cx.list_def);
    let mut params = queries(LIST_PARAMS);
    params.push(query("pretty"));
    PathItem {
        path,
        params,
        ops: vec![op],
        gvk: (cx.d.group, cx.d.version, cx.d.kind),
    }
}

/// The deprecated `/watch/` paths, which keelson serves like upstream.
fn watches(cx: &Ctx, prefix: &str, ns: &str, scoped: &str) -> Vec<PathItem> {
    let (d, gv, kind) = (cx.d, &cx.gv, cx.d.kind);
    let watch_op = |action, id: String, description: String| {
        let mut op = cx.op("get", action, id, description);
        op.produces = PRODUCES_STREAM;
        op.responses = cx.ok(&["200"], &format!("{META}WatchEvent"));
        op
    };
    let with_list_params = |mut item: PathItem| {
        item.params.extend(queries(LIST_PARAMS));
        item
    };
    let mut items = vec![
        with_list_params(path_item(
            cx,
            format!("{prefix}/watch{ns}/{}", d.resource),
            false,
            vec![watch_op("watchlist", format!("watch{gv}{scoped}{kind}List"), format!("watch individual changes to a list of {kind}. deprecated: use the 'watch' parameter with a list operation instead."))],
        )),
        with_list_params(path_item(
            cx,
            format!("{prefix}/watch{ns}/{}/{{name}}", d.resource),
            true,
            vec![watch_op("watch", format!("watch{gv}{scoped}{kind}"), format!("watch changes to an object of kind {kind}. deprecated: use the 'watch' parameter with a list operation instead, filtered to a single item with the 'fieldSelector' parameter."))],
        )),
    ];
    if d.namespaced {
        let mut params = queries(LIST_PARAMS);
        params.push(query("pretty"));
        items.push(PathItem {
            path: format!("{prefix}/watch/{}", d.resource),
            params,
            ops: vec![watch_op("watchlist", format!("watch{gv}{kind}ListForAllNamespaces"), format!("watch individual changes to a list of {kind}. deprecated: use the 'watch' parameter with a list operation instead."))],
            gvk: (d.group, d.version, d.kind),
        });
    }
    items
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_and_tags_follow_upstream_naming() {
        assert_eq!(gv_id("", "v1"), "CoreV1");
        assert_eq!(
            gv_id("rbac.authorization.k8s.io", "v1"),
            "RbacAuthorizationV1"
        );
        assert_eq!(
            gv_id("admissionregistration.k8s.io", "v1"),
            "AdmissionregistrationV1"
        );
        assert_eq!(
            gv_tag("rbac.authorization.k8s.io", "v1"),
            "rbacAuthorization_v1"
        );
        assert_eq!(gv_tag("", "v1"), "core_v1");
        assert_eq!(gv_tag("apps", "v1"), "apps_v1");
    }

    #[test]
    fn a_namespaced_kind_with_status_has_upstreams_operations() {
        let pods = crate::kinds::catalog()
            .into_iter()
            .find(|d| d.group.is_empty() && d.resource == "pods")
            .expect("pods are served");
        let items = for_resource(pods);
        let ids: Vec<(&str, &str, &str)> = items
            .iter()
            .flat_map(|i| {
                i.ops
                    .iter()
                    .map(move |o| (i.path.as_str(), o.method, o.id.as_str()))
            })
            .collect();
        for want in [
            (
                "/api/v1/namespaces/{namespace}/pods",
                "get",
                "listCoreV1NamespacedPod",
            ),
            (
                "/api/v1/namespaces/{namespace}/pods",
                "post",
                "createCoreV1NamespacedPod",
            ),
            (
                "/api/v1/namespaces/{namespace}/pods",
                "delete",
                "deleteCoreV1CollectionNamespacedPod",
            ),
            (
                "/api/v1/namespaces/{namespace}/pods/{name}",
                "patch",
                "patchCoreV1NamespacedPod",
            ),
            (
                "/api/v1/namespaces/{namespace}/pods/{name}/status",
                "put",
                "replaceCoreV1NamespacedPodStatus",
            ),
            ("/api/v1/pods", "get", "listCoreV1PodForAllNamespaces"),
            (
                "/api/v1/watch/namespaces/{namespace}/pods",
                "get",
                "watchCoreV1NamespacedPodList",
            ),
        ] {
            assert!(ids.contains(&want), "{want:?} missing from {ids:#?}");
        }
        let patch = items[1]
            .ops
            .iter()
            .find(|o| o.method == "patch")
            .expect("patch");
        assert!(patch.params.iter().any(|p| p.name == "fieldValidation"));
        assert_eq!(patch.consumes, PATCH_TYPES);
    }
}
