//! The /openapi/v3 documents: one OpenAPI 3.0 document per served group-version, with
//! its paths and the schemas they reach, in the shape kube-apiserver serves them.
//!
//! The schemas are the swagger-2.0 definitions rewritten the way upstream's v3 differs
//! from its v2, where kubectl relies on it: refs under `#/components/schemas/`, a `$ref`
//! that carries its own description wrapped in `allOf` (so `kubectl explain` prints the
//! field's description and then the type's), IntOrString and Quantity as `oneOf`, and
//! `enum` on string fields whose description lists "Possible enum values".

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{json, Map, Value};

use super::operations::{self, In, Operation, Param};
use crate::registry::descriptor::ResourceDescriptor;

const V2_REF: &str = "#/definitions/";
const V3_REF: &str = "#/components/schemas/";

/// The index key of a group-version: `api/v1` or `apis/GROUP/VERSION`.
pub(crate) fn gv_key(group: &str, version: &str) -> String {
    operations::gv_prefix(group, version)
        .trim_start_matches('/')
        .to_string()
}

/// Served group-versions by index key, each with its resources.
pub(crate) fn group_versions(
    descriptors: &[&'static ResourceDescriptor],
) -> BTreeMap<String, Vec<&'static ResourceDescriptor>> {
    let mut out: BTreeMap<String, Vec<&'static ResourceDescriptor>> = BTreeMap::new();
    for d in descriptors {
        out.entry(gv_key(d.group, d.version)).or_default().push(d);
    }
    out
}

/// The OpenAPI 3.0 document of one group-version's resources.
pub(crate) fn document(resources: &[&'static ResourceDescriptor]) -> Value {
    let mut paths = Map::new();
    if let Some(first) = resources.first() {
        let (group, version) = (first.group, first.version);
        paths.insert(
            format!("{}/", operations::gv_prefix(group, version)),
            json!({"get": {
                "description": "get available resources",
                "operationId": format!("get{}APIResources", operations::gv_id(group, version)),
                "responses": {
                    "200": {"description": "OK", "content": content(&["application/json", "application/yaml", "application/vnd.kubernetes.protobuf"], &format!("{}APIResourceList", operations::META))},
                    "401": {"description": "Unauthorized"},
                },
                "tags": [operations::gv_tag(group, version)],
            }}),
        );
    }
    for d in resources {
        for item in operations::for_resource(d) {
            paths.insert(item.path.clone(), item.render(operation, param));
        }
    }
    let mut schemas = Map::new();
    let defs = super::definitions();
    for name in reachable(&Value::Object(paths.clone())) {
        if let Some(schema) = defs.get(&name) {
            let converted = replaced(&name).unwrap_or_else(|| schema_v3(schema));
            schemas.insert(name, converted);
        }
    }
    json!({
        "openapi": "3.0.0",
        "info": {"title": "Kubernetes", "version": super::info_version()},
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {
                "BearerToken": {
                    "description": "Bearer Token authentication",
                    "in": "header",
                    "name": "authorization",
                    "type": "apiKey"
                }
            }
        },
        "security": [{"BearerToken": []}],
    })
}

fn content(media: &[&str], def: &str) -> Value {
    let schema = json!({"schema": {"$ref": format!("{V3_REF}{def}")}});
    Value::Object(
        media
            .iter()
            .map(|m| (m.to_string(), schema.clone()))
            .collect(),
    )
}

fn operation(op: &Operation, group: &str, version: &str, kind: &str) -> Value {
    let mut out = json!({
        "description": op.description,
        "operationId": op.id,
        "tags": [operations::gv_tag(group, version)],
        "x-kubernetes-action": op.action,
        "x-kubernetes-group-version-kind": {"group": group, "kind": kind, "version": version},
    });
    if !op.params.is_empty() {
        out["parameters"] = Value::Array(op.params.iter().map(param).collect());
    }
    if let Some(body) = &op.body {
        let mut request = json!({"content": content(op.consumes, body)});
        if op.body_required {
            request["required"] = Value::Bool(true);
        }
        out["requestBody"] = request;
    }
    let mut responses = Map::new();
    for (code, def) in &op.responses {
        let description = operations::response_description(code);
        responses.insert(
            code.to_string(),
            json!({"description": description, "content": content(op.produces, def)}),
        );
    }
    responses.insert("401".into(), json!({"description": "Unauthorized"}));
    out["responses"] = Value::Object(responses);
    out
}

fn param(p: &Param) -> Value {
    let mut out = json!({
        "description": p.description,
        "in": if p.location == In::Path { "path" } else { "query" },
        "name": p.name,
        "schema": {"type": p.ty, "uniqueItems": true},
    });
    if p.location == In::Path {
        out["required"] = Value::Bool(true);
    }
    out
}

/// Names of every definition the paths reach, following refs through the definitions.
fn reachable(paths: &Value) -> BTreeSet<String> {
    let defs = super::definitions();
    let mut seen = BTreeSet::new();
    let mut todo = Vec::new();
    refs(paths, V3_REF, &mut todo);
    while let Some(name) = todo.pop() {
        if seen.insert(name.clone()) {
            if let Some(schema) = defs.get(&name) {
                refs(schema, V2_REF, &mut todo);
            }
        }
    }
    seen
}

fn refs(node: &Value, prefix: &str, out: &mut Vec<String>) {
    match node {
        Value::Object(map) => {
            for (key, value) in map {
                match (key.as_str(), value) {
                    ("$ref", Value::String(r)) => {
                        if let Some(name) = r.strip_prefix(prefix) {
                            out.push(name.to_string());
                        }
                    }
                    _ => refs(value, prefix, out),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|v| refs(v, prefix, out)),
        _ => {}
    }
}

/// Upstream's v3 forms of the two types v2 writes as strings.
fn replaced(name: &str) -> Option<Value> {
    let description = super::definitions().get(name)?.get("description")?.clone();
    match name {
        "io.k8s.apimachinery.pkg.util.intstr.IntOrString" => Some(json!({
            "description": description,
            "format": "int-or-string",
            "oneOf": [{"type": "integer"}, {"type": "string"}],
        })),
        "io.k8s.apimachinery.pkg.api.resource.Quantity" => Some(json!({
            "description": description,
            "oneOf": [{"type": "string"}, {"type": "number"}],
        })),
        _ => None,
    }
}

/// One swagger-2.0 schema as upstream's v3 writes it.
pub(crate) fn schema_v3(node: &Value) -> Value {
    let Value::Object(map) = node else {
        return node.clone();
    };
    let mut out = Map::new();
    for (key, value) in map {
        let converted = match key.as_str() {
            "$ref" => match value.as_str() {
                Some(r) => Value::String(r.replacen(V2_REF, V3_REF, 1)),
                None => value.clone(),
            },
            "properties" => match value {
                Value::Object(props) => Value::Object(
                    props
                        .iter()
                        .map(|(name, prop)| (name.clone(), schema_v3(prop)))
                        .collect(),
                ),
                _ => value.clone(),
            },
            "items" | "additionalProperties" | "not" => schema_v3(value),
            "allOf" | "oneOf" | "anyOf" => match value {
                Value::Array(list) => Value::Array(list.iter().map(schema_v3).collect()),
                _ => value.clone(),
            },
            _ => value.clone(),
        };
        out.insert(key.clone(), converted);
    }
    // A ref with siblings (its own description, extensions) becomes allOf: [ref], as
    // upstream's v3 writes it; a bare ref stays a ref.
    if out.len() > 1 {
        if let Some(reference) = out.remove("$ref") {
            out.insert("allOf".into(), json!([{ "$ref": reference }]));
        }
    }
    if out.get("type").and_then(Value::as_str) == Some("string") && !out.contains_key("enum") {
        let values = out
            .get("description")
            .and_then(Value::as_str)
            .map(enum_values)
            .unwrap_or_default();
        if !values.is_empty() {
            out.insert("enum".into(), json!(values));
        }
    }
    Value::Object(out)
}

/// The values a description lists after "Possible enum values:", each written as
/// `` - `"Value"` explanation `` on its own line.
fn enum_values(description: &str) -> Vec<String> {
    let Some((_, list)) = description.split_once("Possible enum values:") else {
        return Vec::new();
    };
    list.lines()
        .filter_map(|line| line.trim_start().strip_prefix("- `\""))
        .filter_map(|rest| rest.split_once("\"`").map(|(value, _)| value.to_string()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refs_with_descriptions_become_all_of_and_enums_come_from_descriptions() {
        let field = json!({"$ref": "#/definitions/X", "description": "d"});
        assert_eq!(
            schema_v3(&field),
            json!({"allOf": [{"$ref": "#/components/schemas/X"}], "description": "d"})
        );
        let bare = json!({"items": {"$ref": "#/definitions/X"}, "type": "array"});
        assert_eq!(
            schema_v3(&bare)["items"],
            json!({"$ref": "#/components/schemas/X"})
        );
        let policy = json!({"type": "string", "description": "Pull policy.\n\nPossible enum values:\n - `\"Always\"` always pulls.\n - `\"IfNotPresent\"` pulls when absent.\n - `\"Never\"` never pulls."});
        assert_eq!(
            schema_v3(&policy)["enum"],
            json!(["Always", "IfNotPresent", "Never"])
        );
    }

    #[test]
    fn a_group_version_document_has_its_paths_and_closed_schemas() {
        let gvs = group_versions(&crate::kinds::catalog());
        let apps = &gvs["apis/apps/v1"];
        let doc = document(apps);
        assert_eq!(doc["openapi"], "3.0.0");
        let patch =
            &doc["paths"]["/apis/apps/v1/namespaces/{namespace}/deployments/{name}"]["patch"];
        assert_eq!(
            patch["x-kubernetes-group-version-kind"]["kind"],
            "Deployment"
        );
        assert!(patch["parameters"]
            .as_array()
            .is_some_and(|ps| ps.iter().any(|p| p["name"] == "fieldValidation")));
        assert!(
            patch["requestBody"]["content"]["application/strategic-merge-patch+json"].is_object()
        );
        let schemas = &doc["components"]["schemas"];
        let strategy = &schemas["io.k8s.api.apps.v1.DeploymentSpec"]["properties"]["strategy"];
        assert_eq!(
            strategy["allOf"][0]["$ref"],
            "#/components/schemas/io.k8s.api.apps.v1.DeploymentStrategy"
        );
        assert!(schemas["io.k8s.api.core.v1.PodSpec"].is_object());
        assert!(schemas.get("io.k8s.api.core.v1.ConfigMap").is_none());
        assert!(schemas["io.k8s.apimachinery.pkg.util.intstr.IntOrString"]["oneOf"].is_array());
        let text = doc.to_string();
        assert!(!text.contains("#/definitions/"));
        for (at, _) in text.match_indices("\"$ref\":\"#/components/schemas/") {
            let rest = &text[at + "\"$ref\":\"#/components/schemas/".len()..];
            let name = &rest[..rest.find('"').unwrap_or(0)];
            assert!(schemas.get(name).is_some(), "dangling {name}");
        }
    }
}
