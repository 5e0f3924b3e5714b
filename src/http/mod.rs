//! The HTTP edge: TLS termination, request info, and dispatch into the pipeline.
//!
//! Every request is stamped once (request info, user) and then runs the stages in
//! upstream's order: authentication → authorization → body limit and decode → admission
//! → the kind's engine (validation, storage) → encoding. Errors leave through
//! [`status::ApiError`], the only place that builds metav1.Status bodies.

mod admin;
mod apply;
pub mod discovery;
mod dry_run;
pub mod health;
mod kubelet;
mod list_body;
pub mod negotiate;
mod patch;
mod protobuf;
mod query;
pub mod request_info;
mod resource;
pub mod status;
mod strategic;
mod subresource;
pub mod table;

use std::sync::Arc;

use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};
use bytes::{Bytes, BytesMut};
use futures::StreamExt;
use tracing::Instrument;

use crate::consensus::Consensus;
use crate::pipeline::{admission, authn, authz};
use crate::pki::CertSubject;
use crate::registry::Registry;
use negotiate::{response_format, Format};
use query::Query;
use request_info::RequestInfo;
use resource::ResourceRequest;
use status::ApiError;

/// Upstream's limit on request bodies (3 MiB).
pub const MAX_BODY_BYTES: usize = 3 * 1024 * 1024;

/// What every handler shares.
pub struct AppState {
    pub registry: Arc<Registry>,
    pub consensus: Consensus,
    pub server_address: String,
    pub caches_loaded: bool,
    /// Set once the system namespaces exist (a post-start hook, as upstream's).
    pub bootstrapped: Arc<std::sync::atomic::AtomicBool>,
}

/// Serves the API on `listen` until the process is asked to stop.
pub async fn serve(
    state: AppState,
    listen: &str,
    tls: rustls::ServerConfig,
) -> std::io::Result<()> {
    let state = web::Data::new(state);
    HttpServer::new(move || {
        App::new()
            .app_data(state.clone())
            .default_service(web::to(dispatch))
    })
    .on_connect(crate::pki::record_client_subject)
    // A response written in several pieces (a streamed LIST, a watch) must not wait
    // for the client's delayed ACK before its last piece: without this, Nagle held
    // one page in four of a paginated LIST back by 40 ms.
    .tcp_nodelay(true)
    .shutdown_timeout(2)
    .bind_rustls_0_23(listen, tls)?
    .run()
    .await
}

async fn read_body(mut payload: web::Payload) -> Result<Bytes, ApiError> {
    let mut body = BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk
            .map_err(|e| ApiError::bad_request(format!("cannot read the request body: {e}")))?;
        if body.len() + chunk.len() > MAX_BODY_BYTES {
            return Err(ApiError::TooLarge {
                limit: MAX_BODY_BYTES,
            });
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body.freeze())
}

/// Stamps the request (request info, span) and runs the pipeline inside its span.
async fn dispatch(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let query = Query::parse(req.query_string())?;
    let info = request_info::parse(req.method().as_str(), req.path(), query.get("watch"));
    let span = tracing::info_span!("request", verb = %info.verb, path = %info.path);
    pipeline(req, payload, state, query, info)
        .instrument(span)
        .await
}

async fn pipeline(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
    query: Query,
    info: RequestInfo,
) -> Result<HttpResponse, ApiError> {
    let user = authn::authenticate(req.conn_data::<CertSubject>());
    if let authz::Decision::Deny(message) = authz::authorize(&user, &info) {
        let subject = crate::registry::error::Subject {
            group: info.group.clone(),
            kind: info.resource.clone(),
            name: info.name.clone(),
        };
        return Err(ApiError::Forbidden { message, subject });
    }
    // An upgrade request (exec, attach, portforward) has no body to read: what follows
    // its headers is the upgraded stream, which would never end.
    let body = if req.headers().contains_key("upgrade") {
        Bytes::new()
    } else {
        read_body(payload).await?
    };
    // Before content negotiation: the OpenAPI documents negotiate their own media types.
    if !info.is_resource_request && crate::openapi::serve::is_openapi_path(&info.path) {
        return crate::openapi::serve::respond(&req, query.get("hash"));
    }
    let format = response_format(req.headers().get("accept").and_then(|v| v.to_str().ok()))?;
    if !info.is_resource_request {
        if info.path.starts_with("/keelson/") {
            return admin::serve(&info.verb, &info.path, &body, &state).await;
        }
        return non_resource(&info, &query, format, &state);
    }
    let content_type = req
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let user_agent = req
        .headers()
        .get("user-agent")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    resource(
        &info,
        query,
        format,
        (content_type, user_agent),
        body,
        &state,
    )
    .await
}

async fn resource(
    info: &RequestInfo,
    query: Query,
    format: Format,
    (content_type, user_agent): (Option<String>, String),
    body: Bytes,
    state: &AppState,
) -> Result<HttpResponse, ApiError> {
    let engine = state
        .registry
        .engine(&info.group, &info.resource)
        .filter(|e| e.desc.version == info.version)
        .ok_or(ApiError::NoSuchPath)?;
    let desc = engine.desc;
    // scale and the kubelet's subresources check their own verbs.
    let special = subresource::find(desc, &info.subresource).filter(|_| !info.name.is_empty());
    let subresource_ok = info.subresource.is_empty()
        || (info.subresource == "status" && desc.status && !info.name.is_empty())
        || special.is_some();
    let scope_ok = desc.namespaced || info.namespace.is_empty() || desc.resource == "namespaces";
    if !subresource_ok || !scope_ok {
        return Err(ApiError::NoSuchPath);
    }
    let collection_verb = matches!(
        info.verb.as_str(),
        "list" | "watch" | "create" | "deletecollection"
    );
    let needs_namespace = desc.namespaced
        && info.namespace.is_empty()
        && !matches!(info.verb.as_str(), "list" | "watch");
    let status_verb =
        info.subresource.is_empty() || matches!(info.verb.as_str(), "get" | "update" | "patch");
    let object_verb_on_collection =
        matches!(info.verb.as_str(), "update" | "patch") && info.name.is_empty();
    let plain_verb_ok = desc.supports(&info.verb)
        && !(collection_verb && !info.name.is_empty() && info.verb != "watch")
        && !object_verb_on_collection
        && status_verb;
    if needs_namespace || (special.is_none() && !plain_verb_ok) {
        return Err(ApiError::MethodNotAllowed);
    }
    // A dry run is served by an engine that proposes nothing; everything else is the same.
    let dry = dry_run::requested(&info.verb, &query, content_type.as_deref(), &body)?;
    admit(info, desc.namespaced, state).await?;
    let dry_engine;
    let engine = if dry {
        dry_engine = Arc::new(engine.dry_run());
        &dry_engine
    } else {
        engine
    };
    let request = ResourceRequest {
        info,
        engine,
        query,
        format,
        content_type,
        user_agent,
        body,
        warnings: Default::default(),
    };
    if let Some(sub) = special {
        return subresource::serve(sub, &request, &state.registry).await;
    }
    match info.verb.as_str() {
        "get" => request.get().await,
        "list" => request.list().await,
        "watch" => request.watch().await,
        "create" => request.create().await,
        "update" => request.update().await,
        "patch" => request.patch().await,
        "delete" => request.delete().await,
        "deletecollection" => request.delete_collection().await,
        _ => Err(ApiError::MethodNotAllowed),
    }
}

/// Runs admission against the namespaces view. The view trails an acknowledged write by
/// one hop (apply → kind actor), so a refusal is confirmed at Raft's read index first:
/// a namespace created just before must be found.
async fn admit(info: &RequestInfo, namespaced: bool, state: &AppState) -> Result<(), ApiError> {
    let Some(namespaces) = state.registry.engine("", "namespaces") else {
        return Ok(());
    };
    let current = namespaces.reader().current().0;
    if admission::namespace_lifecycle(info, namespaced, &current).is_ok() {
        return Ok(());
    }
    let revision = state
        .consensus
        .linearizable_revision()
        .await
        .map_err(crate::registry::RegistryError::from)?;
    let (latest, _) = namespaces
        .reader()
        .at_least(revision, crate::registry::engine::READ_WAIT)
        .await
        .map_err(|_| crate::registry::RegistryError::Timeout {
            message: "the namespaces cache did not catch up in time; retry".into(),
            retry_after_seconds: 1,
        })?;
    Ok(admission::namespace_lifecycle(info, namespaced, &latest)?)
}

fn json_response(value: serde_json::Value) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/json")
        .body(value.to_string())
}

fn non_resource(
    info: &RequestInfo,
    query: &Query,
    format: Format,
    state: &AppState,
) -> Result<HttpResponse, ApiError> {
    let parts: Vec<&str> = info
        .path
        .trim_matches('/')
        .split('/')
        .filter(|p| !p.is_empty())
        .collect();
    let descs = state.registry.descriptors();
    let groups = crate::kinds::groups();
    let aggregated = |legacy| {
        HttpResponse::Ok()
            .content_type(discovery::AGGREGATED_CONTENT_TYPE)
            .insert_header(("Vary", "Accept"))
            .body(discovery::aggregated(descs, &groups, legacy).to_string())
    };
    match parts.as_slice() {
        [endpoint @ ("healthz" | "livez" | "readyz"), rest @ ..] => {
            let check = (!rest.is_empty()).then(|| rest.join("/"));
            Ok(health_response(endpoint, check.as_deref(), query, state))
        }
        ["version"] => Ok(json_response(health::version())),
        ["api"] if format == Format::AggregatedDiscovery => Ok(aggregated(true)),
        ["apis"] if format == Format::AggregatedDiscovery => Ok(aggregated(false)),
        ["api"] => Ok(json_response(discovery::api_versions(
            &state.server_address,
        ))),
        ["apis"] => Ok(json_response(discovery::api_group_list(&groups))),
        ["api", "v1"] => Ok(json_response(discovery::resource_list(
            "v1",
            &descs
                .iter()
                .filter(|d| d.group.is_empty())
                .copied()
                .collect::<Vec<_>>(),
        ))),
        ["apis", group] => groups
            .iter()
            .find(|(g, _)| g == group)
            .map(|(g, v)| json_response(discovery::api_group(g, v)))
            .ok_or(ApiError::NoSuchPath),
        ["apis", group, version] => {
            let in_group: Vec<_> = descs
                .iter()
                .filter(|d| d.group == *group && d.version == *version)
                .copied()
                .collect();
            if in_group.is_empty() {
                return Err(ApiError::NoSuchPath);
            }
            Ok(json_response(discovery::resource_list(
                &format!("{group}/{version}"),
                &in_group,
            )))
        }
        _ => Err(ApiError::NoSuchPath),
    }
}

fn health_response(
    endpoint: &str,
    check: Option<&str>,
    query: &Query,
    state: &AppState,
) -> HttpResponse {
    let checks = [
        health::Check {
            name: "ping",
            ok: true,
        },
        health::Check {
            name: "log",
            ok: true,
        },
        // Alive while the process runs; ready only while a leader is known, this replica
        // had applied up to the leader's read index at its last check, and its caches
        // (which serve reads and watches) have caught up to that revision too.
        health::Check {
            name: "raft",
            ok: endpoint == "livez"
                || state
                    .consensus
                    .caught_up_at()
                    .is_some_and(|revision| state.registry.applied_revision() >= revision),
        },
        health::Check {
            name: "informer-sync",
            ok: state.caches_loaded,
        },
        health::Check {
            name: "poststarthook/start-system-namespaces-controller",
            ok: endpoint == "livez"
                || state
                    .bootstrapped
                    .load(std::sync::atomic::Ordering::Acquire),
        },
    ];
    let excluded: Vec<&str> = query.get("exclude").into_iter().collect();
    let (code, body) = health::report(
        endpoint,
        check,
        &checks,
        query.get("verbose").is_some(),
        &excluded,
    );
    let status = actix_web::http::StatusCode::from_u16(code)
        .unwrap_or(actix_web::http::StatusCode::INTERNAL_SERVER_ERROR);
    HttpResponse::build(status)
        .content_type("text/plain; charset=utf-8")
        .insert_header(("X-Content-Type-Options", "nosniff"))
        .body(body)
}

#[cfg(test)]
mod fuzz_tests;
