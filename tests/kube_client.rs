//! kube-rs against keelson: typed create, every patch kube-rs offers (JSON patch, merge,
//! strategic merge, server-side apply), an apply conflict that names the owning manager
//! and its forced retry, and deletes, with the errors kube-rs surfaces as
//! `kube::Error::Api` carrying upstream's code and reason.

mod support;

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, DeleteParams, Patch, PatchParams, PostParams};
use serde_json::json;
use support::Server;

const NS: &str = "rs";

fn api_error(result: Result<impl std::fmt::Debug, kube::Error>) -> kube::core::ErrorResponse {
    match result {
        Err(kube::Error::Api(status)) => status,
        other => panic!("expected an API error, got {other:?}"),
    }
}

fn data(cm: &ConfigMap) -> BTreeMap<String, String> {
    cm.data.clone().unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kube_rs_creates_patches_applies_and_deletes() {
    let server = Server::start().await;
    server.create_namespace(NS).await;
    let client = server.kube_client().await;
    let cms: Api<ConfigMap> = Api::namespaced(client.clone(), NS);

    let cm: ConfigMap = serde_json::from_value(json!({
        "metadata": {"name": "app"}, "data": {"color": "blue", "size": "large"}
    }))
    .expect("configmap");
    let created = cms
        .create(&PostParams::default(), &cm)
        .await
        .expect("create");
    assert!(created.metadata.uid.is_some() && created.metadata.resource_version.is_some());
    let err = api_error(cms.create(&PostParams::default(), &cm).await);
    assert_eq!(
        (err.code, err.reason.as_str()),
        (409, "AlreadyExists"),
        "{err:?}"
    );

    // kube-rs's own json-patch version: the variant's type decides what to decode into.
    let operations = serde_json::from_value(json!([
        {"op": "replace", "path": "/data/color", "value": "green"},
        {"op": "remove", "path": "/data/size"}
    ]))
    .expect("json patch");
    let json_patch = Patch::Json::<()>(operations);
    let cm = cms
        .patch("app", &PatchParams::default(), &json_patch)
        .await
        .expect("json patch");
    assert_eq!(
        data(&cm),
        BTreeMap::from([("color".into(), "green".into())])
    );

    let merge = Patch::Merge(json!({"data": {"shape": "round"}}));
    let cm = cms
        .patch("app", &PatchParams::default(), &merge)
        .await
        .expect("merge patch");
    assert_eq!(data(&cm).get("shape").map(String::as_str), Some("round"));

    let deployments: Api<Deployment> = Api::namespaced(client.clone(), NS);
    let web: Deployment = serde_json::from_value(json!({
        "metadata": {"name": "web"},
        "spec": {"selector": {"matchLabels": {"app": "web"}},
                 "template": {"metadata": {"labels": {"app": "web"}},
                              "spec": {"containers": [{"name": "web", "image": "nginx:1",
                                  "env": [{"name": "A", "value": "1"}]}]}}}
    }))
    .expect("deployment");
    deployments
        .create(&PostParams::default(), &web)
        .await
        .expect("create deployment");
    let strategic = Patch::Strategic(json!({"spec": {"template": {"spec": {"containers": [
        {"name": "web", "env": [{"name": "B", "value": "2"}]}]}}}}));
    let web = deployments
        .patch("web", &PatchParams::default(), &strategic)
        .await
        .expect("strategic patch");
    let env: Vec<String> = web
        .spec
        .and_then(|s| s.template.spec)
        .map(|p| p.containers[0].env.clone().unwrap_or_default())
        .unwrap_or_default()
        .into_iter()
        .map(|e| e.name)
        .collect();
    // Upstream puts items only the patch names first when it has no $setElementOrder.
    assert_eq!(env, ["B", "A"], "strategic merge by name");

    let mine = Patch::Apply(json!({"apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "limits"}, "data": {"max": "10"}}));
    let cm = cms
        .patch("limits", &PatchParams::apply("rs-ops"), &mine)
        .await
        .expect("apply creates");
    assert_eq!(data(&cm).get("max").map(String::as_str), Some("10"));
    let managers: Vec<(String, String)> = cm
        .metadata
        .managed_fields
        .unwrap_or_default()
        .into_iter()
        .map(|m| {
            (
                m.manager.unwrap_or_default(),
                m.operation.unwrap_or_default(),
            )
        })
        .collect();
    assert!(
        managers.contains(&("rs-ops".into(), "Apply".into())),
        "{managers:?}"
    );

    let theirs = Patch::Apply(json!({"apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "limits"}, "data": {"max": "99"}}));
    let err = api_error(
        cms.patch("limits", &PatchParams::apply("rs-intruder"), &theirs)
            .await,
    );
    assert_eq!(
        (err.code, err.reason.as_str()),
        (409, "Conflict"),
        "{err:?}"
    );
    assert!(
        err.message.contains("conflict with \"rs-ops\"") && err.message.contains(".data.max"),
        "{}",
        err.message
    );
    let cm = cms
        .patch(
            "limits",
            &PatchParams::apply("rs-intruder").force(),
            &theirs,
        )
        .await
        .expect("forced apply");
    assert_eq!(data(&cm).get("max").map(String::as_str), Some("99"));

    cms.delete("app", &DeleteParams::default())
        .await
        .expect("delete");
    let err = api_error(cms.get("app").await);
    assert_eq!(
        (err.code, err.reason.as_str()),
        (404, "NotFound"),
        "{err:?}"
    );
    deployments
        .delete("web", &DeleteParams::default())
        .await
        .expect("delete deployment");
}
