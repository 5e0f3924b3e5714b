//! Subresources beyond `status`: `scale` (through the parent's engine) and the ones a
//! kubelet serves (log, exec, attach, portforward, proxy), which keelson answers with
//! upstream's error for a target no node can serve.
//!
//! Which resources have which subresource, with the kind and verbs discovery lists, is
//! one table ([`SUBRESOURCES`]); routing and discovery both read it.

use actix_web::HttpResponse;
use serde_json::Value;

use super::patch::{Patch, PatchError, PatchType};
use super::resource::ResourceRequest;
use super::status::ApiError;
use crate::kinds::scale::{apply_scale, scale_of};
use crate::registry::descriptor::ResourceDescriptor;
use crate::registry::list::ReadAt;
use crate::registry::{object, Registry, RegistryError};

/// One subresource: where it hangs, what discovery says of it.
pub struct Subresource {
    pub group: &'static str,
    pub resource: &'static str,
    pub name: &'static str,
    /// The response kind's group and version when they differ from the parent's.
    pub kind_group_version: Option<(&'static str, &'static str)>,
    pub kind: &'static str,
    pub verbs: &'static [&'static str],
}

const SCALE_VERBS: &[&str] = &["get", "patch", "update"];
const STREAM_VERBS: &[&str] = &["create", "get"];
const PROXY_VERBS: &[&str] = &["create", "delete", "get", "patch", "update"];

const fn scale(group: &'static str, resource: &'static str) -> Subresource {
    Subresource {
        group,
        resource,
        name: "scale",
        kind_group_version: Some(("autoscaling", "v1")),
        kind: "Scale",
        verbs: SCALE_VERBS,
    }
}

const fn core(
    resource: &'static str,
    name: &'static str,
    kind: &'static str,
    verbs: &'static [&'static str],
) -> Subresource {
    Subresource {
        group: "",
        resource,
        name,
        kind_group_version: None,
        kind,
        verbs,
    }
}

/// Every subresource served besides `status`, in upstream's discovery order.
pub static SUBRESOURCES: &[Subresource] = &[
    core("nodes", "proxy", "NodeProxyOptions", PROXY_VERBS),
    core("pods", "attach", "PodAttachOptions", STREAM_VERBS),
    core("pods", "exec", "PodExecOptions", STREAM_VERBS),
    core("pods", "log", "Pod", &["get"]),
    core("pods", "portforward", "PodPortForwardOptions", STREAM_VERBS),
    core("pods", "proxy", "PodProxyOptions", PROXY_VERBS),
    scale("", "replicationcontrollers"),
    core("services", "proxy", "ServiceProxyOptions", PROXY_VERBS),
    scale("apps", "deployments"),
    scale("apps", "replicasets"),
    scale("apps", "statefulsets"),
];

/// The subresources of `desc`, in discovery order.
pub fn of(desc: &ResourceDescriptor) -> impl Iterator<Item = &'static Subresource> + '_ {
    SUBRESOURCES
        .iter()
        .filter(move |s| s.group == desc.group && s.resource == desc.resource)
}

/// The subresource a request names (`proxy/some/path` is `proxy`), if `desc` has it.
pub fn find(desc: &ResourceDescriptor, subresource: &str) -> Option<&'static Subresource> {
    let first = subresource.split('/').next().unwrap_or_default();
    of(desc).find(|s| s.name == first)
}

/// Serves a request for `sub` of the object the request names.
pub async fn serve(
    sub: &Subresource,
    request: &ResourceRequest<'_>,
    registry: &Registry,
) -> Result<HttpResponse, ApiError> {
    if !sub.verbs.contains(&request.info.verb.as_str()) {
        return Err(ApiError::MethodNotAllowed);
    }
    if sub.name == "scale" {
        return scale_request(request).await;
    }
    super::kubelet::serve(sub, request, registry).await
}

async fn scale_request(request: &ResourceRequest<'_>) -> Result<HttpResponse, ApiError> {
    let engine = request.engine;
    let namespace = request.namespace();
    let name = request.info.name.as_str();
    if request.info.verb == "get" {
        let parent = engine.get(namespace, name, ReadAt::Latest).await?;
        return Ok(request.respond(200, scale_of(&parent.decode()).to_string().into_bytes()));
    }
    let change = ScaleChange::parse(request)?;
    let client_pinned = matches!(&change, ScaleChange::Replace(s)
        if object::meta_str(s, "resourceVersion").is_some_and(|rv| !rv.is_empty()));
    let updated = engine
        .update_with(namespace, name, false, client_pinned, |current| {
            let scale = change.new_scale(&scale_of(current))?;
            apply_scale(current, &scale)
        })
        .await?;
    Ok(request.respond(200, scale_of(&updated).to_string().into_bytes()))
}

/// What a write to `scale` asks for: a whole Scale (PUT) or a patch of the current one.
enum ScaleChange {
    Replace(Value),
    Patch(Patch),
}

impl ScaleChange {
    fn parse(request: &ResourceRequest<'_>) -> Result<Self, ApiError> {
        let content_type = request.content_type.as_deref();
        if request.info.verb == "update" {
            let scale = super::negotiate::decode_body(content_type, &request.body)?;
            if let Some(kind) = scale.get("kind").and_then(Value::as_str) {
                if !kind.is_empty() && kind != "Scale" {
                    return Err(ApiError::bad_request(format!(
                        "the kind in the data ({kind}) does not match the expected kind (Scale)"
                    )));
                }
            }
            return Ok(Self::Replace(scale));
        }
        // A Scale has no lists to merge by key: a strategic merge is a merge patch.
        let kind = match PatchType::from_content_type(content_type)? {
            PatchType::Strategic => PatchType::Merge,
            other => other,
        };
        Ok(Self::Patch(Patch::parse(
            kind,
            &request.body,
            request.engine.desc,
        )?))
    }

    fn new_scale(&self, current: &Value) -> Result<Value, RegistryError> {
        match self {
            Self::Replace(scale) => Ok(scale.clone()),
            Self::Patch(patch) => {
                let mut patched = patch.apply(current).map_err(|e| match e {
                    PatchError::Registry(e) => e,
                    PatchError::Unreasoned(m) => RegistryError::bad_request(m),
                })?;
                // The patch applies to the current Scale: its resourceVersion is no
                // precondition unless the patch itself changed it.
                if patched.pointer("/metadata/resourceVersion")
                    == current.pointer("/metadata/resourceVersion")
                {
                    object::remove_meta(&mut patched, "resourceVersion");
                }
                Ok(patched)
            }
        }
    }
}
