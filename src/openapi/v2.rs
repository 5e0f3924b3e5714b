//! The /openapi/v2 document: swagger 2.0 with every served resource's paths and the
//! generated definitions, in the shape kube-apiserver serves it.

use serde_json::{json, Map, Value};

use super::operations::{self, In, Operation, Param};

/// The whole swagger document for the served resources.
pub(crate) fn document(
    descriptors: &[&'static crate::registry::descriptor::ResourceDescriptor],
) -> Value {
    let mut paths = Map::new();
    for d in descriptors {
        for item in operations::for_resource(d) {
            paths.insert(item.path.clone(), item.render(operation, param));
        }
    }
    json!({
        "swagger": "2.0",
        "info": {"title": "Kubernetes", "version": super::info_version()},
        "paths": paths,
        "definitions": super::definitions(),
        "securityDefinitions": {
            "BearerToken": {
                "description": "Bearer Token authentication",
                "in": "header",
                "name": "authorization",
                "type": "apiKey"
            }
        },
        "security": [{"BearerToken": []}],
    })
}

fn operation(op: &Operation, group: &str, version: &str, kind: &str) -> Value {
    let mut params: Vec<Value> = Vec::new();
    if let Some(body) = &op.body {
        params.push(json!({
            "in": "body",
            "name": "body",
            "required": op.body_required,
            "schema": {"$ref": format!("#/definitions/{body}")},
        }));
    }
    params.extend(op.params.iter().map(param));
    let mut responses = Map::new();
    for (code, def) in &op.responses {
        let description = operations::response_description(code);
        responses.insert(
            code.to_string(),
            json!({"description": description, "schema": {"$ref": format!("#/definitions/{def}")}}),
        );
    }
    responses.insert("401".into(), json!({"description": "Unauthorized"}));
    json!({
        "consumes": op.consumes,
        "description": op.description,
        "operationId": op.id,
        "parameters": params,
        "produces": op.produces,
        "responses": responses,
        "schemes": ["https"],
        "tags": [operations::gv_tag(group, version)],
        "x-kubernetes-action": op.action,
        "x-kubernetes-group-version-kind": {"group": group, "kind": kind, "version": version},
    })
}

fn param(p: &Param) -> Value {
    let mut out = json!({
        "description": p.description,
        "in": if p.location == In::Path { "path" } else { "query" },
        "name": p.name,
        "type": p.ty,
        "uniqueItems": true,
    });
    if p.location == In::Path {
        out["required"] = Value::Bool(true);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_swagger_document_has_paths_operations_and_definitions() {
        let doc = document(&crate::kinds::catalog());
        assert_eq!(doc["swagger"], "2.0");
        assert_eq!(doc["info"]["title"], "Kubernetes");
        let patch =
            &doc["paths"]["/apis/apps/v1/namespaces/{namespace}/deployments/{name}"]["patch"];
        assert_eq!(patch["operationId"], "patchAppsV1NamespacedDeployment");
        assert_eq!(patch["x-kubernetes-action"], "patch");
        assert_eq!(
            patch["x-kubernetes-group-version-kind"],
            json!({"group": "apps", "kind": "Deployment", "version": "v1"})
        );
        assert!(patch["consumes"]
            .as_array()
            .is_some_and(|c| c.contains(&json!("application/merge-patch+json"))));
        let names: Vec<&str> = patch["parameters"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|p| p["name"].as_str())
            .collect();
        for want in ["body", "dryRun", "fieldManager", "fieldValidation", "force"] {
            assert!(names.contains(&want), "{want} in {names:?}");
        }
        let create = &doc["paths"]["/api/v1/namespaces/{namespace}/configmaps"]["post"];
        assert_eq!(
            create["parameters"][0]["schema"]["$ref"],
            "#/definitions/io.k8s.api.core.v1.ConfigMap"
        );
        assert!(doc["definitions"]["io.k8s.api.core.v1.PodSpec"].is_object());
        // Every ref resolves inside the document.
        let text = doc.to_string();
        for (at, _) in text.match_indices("\"$ref\":\"#/definitions/") {
            let rest = &text[at + "\"$ref\":\"#/definitions/".len()..];
            let name = &rest[..rest.find('"').unwrap_or(0)];
            assert!(doc["definitions"].get(name).is_some(), "dangling {name}");
        }
    }
}
