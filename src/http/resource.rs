//! Resource requests: from request info to the kind's engine and back to the wire.
//!
//! One handler per verb, each short: decode, call the engine, encode (JSON, YAML, Table
//! or PartialObjectMetadata). Objects already serialised by the cache are written as they are.

use std::cell::RefCell;
use std::sync::Arc;

use actix_web::body::SizedStream;
use actix_web::{HttpResponse, HttpResponseBuilder};
use bytes::Bytes;
use futures::StreamExt;
use serde_json::{json, Value};

use super::list_body::ListBody;
use super::negotiate::{decode_body, render, Format};
use super::patch::{unreasoned_status, Patch, PatchError, PatchType};
use super::query::Query;
use super::request_info::RequestInfo;
use super::status::{success, ApiError};
use super::table::{partial_object_metadata, partial_object_metadata_list, table, IncludeObject};
use crate::registry::cache::{encode_line, CachedObject};
use crate::registry::engine::{DeleteOptions, Deleted};
use crate::registry::list::ReadAt;
use crate::registry::propagation::Propagation;
use crate::registry::watch::{Encoder, WatchItem};
use crate::registry::{Engine, RegistryError};

/// One resource request, with everything the verb handlers need.
pub struct ResourceRequest<'a> {
    pub info: &'a RequestInfo,
    pub engine: &'a Arc<Engine>,
    pub query: Query,
    pub format: Format,
    pub content_type: Option<String>,
    /// Names the field manager of a write that gives none (`registry::managed`).
    pub user_agent: String,
    pub body: Bytes,
    /// `Warning` headers for the response (unknown fields under fieldValidation=Warn).
    pub warnings: RefCell<Vec<String>>,
}

/// What to do with fields the kind's schema does not declare (`?fieldValidation=`).
#[derive(Clone, Copy, PartialEq, Eq)]
enum FieldValidation {
    Ignore,
    Warn,
    Strict,
}

impl ResourceRequest<'_> {
    pub(super) fn namespace(&self) -> &str {
        if self.engine.desc.namespaced {
            &self.info.namespace
        } else {
            ""
        }
    }

    pub(super) fn status_only(&self) -> bool {
        self.info.subresource == "status"
    }

    fn include(&self) -> IncludeObject {
        IncludeObject::parse(self.query.get("includeObject"))
    }

    pub(super) fn respond(&self, code: u16, json: Vec<u8>) -> HttpResponse {
        let (body, content_type) = render(self.format, json);
        let status =
            actix_web::http::StatusCode::from_u16(code).unwrap_or(actix_web::http::StatusCode::OK);
        self.response(status).content_type(content_type).body(body)
    }

    /// A response builder with this request's warnings.
    fn response(&self, status: actix_web::http::StatusCode) -> HttpResponseBuilder {
        let mut response = HttpResponse::build(status);
        for warning in self.warnings.borrow().iter() {
            response.append_header((
                "Warning",
                format!("299 - {}", serde_json::Value::from(warning.as_str())),
            ));
        }
        response
    }

    fn field_validation(&self) -> Result<FieldValidation, ApiError> {
        match self.query.get("fieldValidation") {
            None | Some("" | "Warn") => Ok(FieldValidation::Warn),
            Some("Ignore") => Ok(FieldValidation::Ignore),
            Some("Strict") => Ok(FieldValidation::Strict),
            Some(other) => Err(ApiError::bad_request(format!("fieldValidation: Unsupported value: \"{other}\": supported values: \"Ignore\", \"Strict\", \"Warn\""))),
        }
    }

    /// Decodes `obj` through the kind's schema (upstream decodes into its Go types):
    /// wrong types are a 400; undeclared fields are refused, warned about or dropped.
    /// `body` says `obj` is the request body as sent (create, update), whose strict
    /// decoding errors upstream prefixes with the kind it could not be handled as.
    fn decode_typed(&self, obj: &Value, body: bool) -> Result<Value, RegistryError> {
        let desc = self.engine.desc;
        let decoded = (desc.schema)(obj).map_err(|e| {
            RegistryError::bad_request(format!(
                "{} in version \"{}\" cannot be handled as a {}: {e}",
                desc.kind, desc.version, desc.kind
            ))
        })?;
        let unknown = crate::kinds::schema::unknown_fields(obj, &decoded);
        if unknown.is_empty() {
            return Ok(decoded);
        }
        let described: Vec<String> = unknown
            .iter()
            .map(|f| format!("unknown field \"{f}\""))
            .collect();
        match self
            .field_validation()
            .map_err(|_| RegistryError::bad_request("invalid fieldValidation"))?
        {
            FieldValidation::Strict => {
                let strict = format!("strict decoding error: {}", described.join(", "));
                Err(RegistryError::bad_request(if body {
                    format!(
                        "{} in version \"{}\" cannot be handled as a {}: {strict}",
                        desc.kind, desc.version, desc.kind
                    )
                } else {
                    strict
                }))
            }
            FieldValidation::Warn => {
                self.warnings.borrow_mut().extend(described);
                Ok(decoded)
            }
            FieldValidation::Ignore => Ok(decoded),
        }
    }

    /// One object as a `meta.k8s.io` view (Table, PartialObjectMetadata), or `None` when
    /// the format is the object itself. A list view of one object is not acceptable.
    fn one_view(&self, object: &CachedObject) -> Result<Option<Value>, ApiError> {
        let desc = self.engine.desc;
        match self.format {
            Format::Table => Ok(Some(table(
                desc,
                &[object],
                Some(object.revision),
                None,
                self.include(),
            ))),
            Format::PartialObjectMetadata => Ok(Some(partial_object_metadata(&object.decode()))),
            Format::PartialObjectMetadataList => Err(ApiError::NotAcceptable),
            _ => Ok(None),
        }
    }

    pub(super) fn respond_value(&self, code: u16, value: &Value) -> HttpResponse {
        if self.format == Format::PartialObjectMetadata {
            return self.respond(
                code,
                partial_object_metadata(value).to_string().into_bytes(),
            );
        }
        if self.format == Format::Table {
            if let Ok(object) = CachedObject::from_value(self.engine.desc, "", 0, value) {
                let revision = value
                    .pointer("/metadata/resourceVersion")
                    .and_then(Value::as_str)
                    .and_then(|r| r.parse().ok());
                return self.respond(
                    code,
                    table(self.engine.desc, &[&object], revision, None, self.include())
                        .to_string()
                        .into_bytes(),
                );
            }
        }
        self.respond(code, value.to_string().into_bytes())
    }

    /// The body as an object of this kind, with apiVersion/kind checked against the URL.
    fn object(&self) -> Result<Value, ApiError> {
        let mut obj = decode_body(self.content_type.as_deref(), &self.body)?;
        let desc = self.engine.desc;
        let api_version = desc.api_version();
        let found = |f: &str| {
            obj.get(f)
                .and_then(Value::as_str)
                .filter(|s| !s.is_empty())
                .map(str::to_string)
        };
        if let Some(v) = found("apiVersion").filter(|v| *v != api_version) {
            return Err(ApiError::bad_request(format!("the API version in the data ({v}) does not match the expected API version ({api_version})")));
        }
        if let Some(k) = found("kind").filter(|k| k != desc.kind) {
            return Err(ApiError::bad_request(format!(
                "the kind in the data ({k}) does not match the expected kind ({})",
                desc.kind
            )));
        }
        obj["apiVersion"] = json!(api_version);
        obj["kind"] = json!(desc.kind);
        self.field_validation()?;
        Ok(self.decode_typed(&obj, true)?)
    }

    pub async fn get(&self) -> Result<HttpResponse, ApiError> {
        let at = match self
            .query
            .get("resourceVersion")
            .filter(|rv| !rv.is_empty())
        {
            None => ReadAt::Latest,
            Some("0") => ReadAt::Any,
            Some(rv) => ReadAt::NotOlderThan(crate::registry::list::parse_revision(rv)?),
        };
        let object = self
            .engine
            .get(self.namespace(), &self.info.name, at)
            .await?;
        if let Some(body) = self.one_view(&object)? {
            return Ok(self.respond(200, body.to_string().into_bytes()));
        }
        Ok(self.respond(200, object.json.to_vec()))
    }

    fn namespace_filter(&self) -> Option<&str> {
        Some(self.namespace()).filter(|ns| !ns.is_empty())
    }

    pub async fn list(&self) -> Result<HttpResponse, ApiError> {
        let opts = self.query.list_options(self.engine.desc, None)?;
        if self.format == Format::PartialObjectMetadata {
            return Err(ApiError::NotAcceptable);
        }
        let page = self.engine.list(self.namespace_filter(), &opts).await?;
        if self.format == Format::PartialObjectMetadataList {
            let items: Vec<&CachedObject> = page.items.iter().map(|o| o.as_ref()).collect();
            let body = partial_object_metadata_list(
                &items,
                page.revision,
                page.continue_token.as_deref(),
                page.remaining,
            );
            return Ok(self.respond(200, body.to_string().into_bytes()));
        }
        if self.format == Format::Table {
            let items: Vec<&CachedObject> = page.items.iter().map(|o| o.as_ref()).collect();
            let body = table(
                self.engine.desc,
                &items,
                Some(page.revision),
                page.continue_token.as_deref(),
                self.include(),
            );
            return Ok(self.respond(200, body.to_string().into_bytes()));
        }
        let body = ListBody::new(self.engine.desc, page);
        if self.format != Format::Json {
            return Ok(self.respond(200, body.into_vec()));
        }
        let len = body.len();
        Ok(self
            .response(actix_web::http::StatusCode::OK)
            .content_type("application/json")
            .body(SizedStream::new(len, body.into_stream())))
    }

    pub async fn watch(&self) -> Result<HttpResponse, ApiError> {
        let named = Some(self.info.name.as_str()).filter(|n| !n.is_empty());
        let opts = self.query.list_options(self.engine.desc, named)?;
        let desc = self.engine.desc;
        let include = self.include();
        let encoder: Option<Encoder> = match self.format {
            Format::Table => Some(Arc::new(move |event_type: &str, object: &CachedObject| {
                // A bookmark carries only its resourceVersion: a Table with no rows.
                let objects: &[&CachedObject] = if event_type == "BOOKMARK" {
                    &[]
                } else {
                    &[object]
                };
                let row = table(desc, objects, Some(object.revision), None, include);
                encode_line(event_type, row.to_string().as_bytes())
            })),
            Format::PartialObjectMetadata => {
                Some(Arc::new(|event_type: &str, object: &CachedObject| {
                    let partial = partial_object_metadata(&object.decode());
                    encode_line(event_type, partial.to_string().as_bytes())
                }))
            }
            Format::PartialObjectMetadataList => return Err(ApiError::NotAcceptable),
            _ => None,
        };
        let events = self
            .engine
            .watch(self.namespace_filter(), opts, encoder)
            .await?;
        // Events already waiting go out in one chunk, as upstream flushes a watch only
        // when nothing more is pending: a watcher that fell behind catches up with one
        // write (one TLS record, one HTTP/2 frame) for many events instead of one each.
        let body = events
            .ready_chunks(WATCH_CHUNK_EVENTS)
            .map(|items| Ok::<_, actix_web::Error>(watch_chunk(items)));
        Ok(HttpResponse::Ok()
            .content_type("application/json")
            .insert_header(("Cache-Control", "no-cache, private"))
            .streaming(body))
    }

    pub async fn create(&self) -> Result<HttpResponse, ApiError> {
        let manager = self.field_manager("CreateOptions")?;
        let obj = self.track(None, self.object()?, &manager);
        let created = self.engine.create(self.namespace(), obj).await?;
        Ok(self.respond_value(201, &created))
    }

    pub async fn update(&self) -> Result<HttpResponse, ApiError> {
        let obj = self.object()?;
        let body_name = obj
            .pointer("/metadata/name")
            .and_then(Value::as_str)
            .unwrap_or("");
        if !body_name.is_empty() && body_name != self.info.name {
            return Err(ApiError::bad_request(format!(
                "the name of the object ({body_name}) does not match the name on the URL ({})",
                self.info.name
            )));
        }
        let mut obj = obj;
        crate::registry::object::set_meta(&mut obj, "name", json!(self.info.name));
        let manager = self.field_manager("UpdateOptions")?;
        let pinned = crate::registry::object::meta_str(&obj, "resourceVersion")
            .is_some_and(|rv| !rv.is_empty());
        let updated = self
            .engine
            .update_with(
                self.namespace(),
                &self.info.name,
                self.status_only(),
                pinned,
                |old| Ok(self.track(Some(old), obj.clone(), &manager)),
            )
            .await?;
        Ok(self.respond_value(200, &updated))
    }

    pub async fn patch(&self) -> Result<HttpResponse, ApiError> {
        if super::apply::is_apply(self.content_type.as_deref()) {
            return self.apply().await;
        }
        let manager = self.field_manager("PatchOptions")?;
        let patch = Patch::parse(
            PatchType::from_content_type(self.content_type.as_deref())?,
            &self.body,
            self.engine.desc,
        )?;
        let name = self.info.name.clone();
        // An error upstream answers without a reason has no RegistryError variant: it is
        // kept here and answered after the engine gives up.
        let unreasoned: RefCell<Option<String>> = RefCell::new(None);
        let result = self
            .engine
            .update_with(
                self.namespace(),
                &self.info.name,
                self.status_only(),
                false,
                |current| {
                    unreasoned.replace(None);
                    let applied = patch.apply(current).map_err(|e| match e {
                        PatchError::Registry(e) => e,
                        PatchError::Unreasoned(message) => {
                            let e = RegistryError::internal(&message);
                            unreasoned.replace(Some(message));
                            e
                        }
                    })?;
                    let mut patched = self.decode_typed(&applied, false)?;
                    if crate::registry::object::name(&patched) != name {
                        return Err(crate::registry::RegistryError::bad_request(
                            "metadata.name cannot be changed by a patch",
                        ));
                    }
                    // The patch applies to the current state; a stale resourceVersion is no precondition here.
                    crate::registry::object::remove_meta(&mut patched, "resourceVersion");
                    Ok(self.track(Some(current), patched, &manager))
                },
            )
            .await;
        match (result, unreasoned.take()) {
            (Ok(updated), _) => Ok(self.respond_value(200, &updated)),
            (Err(_), Some(message)) => {
                tracing::debug!(error = %message, "strategic merge patch refused");
                let body = unreasoned_status(&message).to_string().into_bytes();
                Ok(self.respond(500, body))
            }
            (Err(e), None) => Err(e.into()),
        }
    }

    fn delete_options(&self) -> Result<DeleteOptions, ApiError> {
        if self.body.iter().all(u8::is_ascii_whitespace) {
            // Upstream reads DeleteOptions from the query when there is no body.
            let orphan = self
                .query
                .get("orphanDependents")
                .map(|v| super::query::parse_bool(v) == Some(true));
            let propagation =
                Propagation::from_options(self.query.get("propagationPolicy"), orphan)?;
            return Ok(DeleteOptions {
                propagation,
                ..DeleteOptions::default()
            });
        }
        let body = decode_body(self.content_type.as_deref(), &self.body)?;
        let precondition = |f: &str| {
            body.pointer(&format!("/preconditions/{f}"))
                .and_then(Value::as_str)
                .map(str::to_string)
        };
        let propagation = Propagation::from_options(
            body.get("propagationPolicy").and_then(Value::as_str),
            body.get("orphanDependents").and_then(Value::as_bool),
        )?;
        Ok(DeleteOptions {
            uid: precondition("uid"),
            resource_version: precondition("resourceVersion"),
            propagation,
        })
    }

    pub async fn delete(&self) -> Result<HttpResponse, ApiError> {
        let opts = self.delete_options()?;
        match self
            .engine
            .delete(self.namespace(), &self.info.name, &opts)
            .await?
        {
            Deleted::Pending(obj) => Ok(self.respond_value(200, &obj)),
            Deleted::Now(obj) => {
                let desc = self.engine.desc;
                let uid = crate::registry::object::uid(&obj);
                Ok(self.respond(
                    200,
                    success(&self.info.name, desc.group, desc.resource, uid)
                        .to_string()
                        .into_bytes(),
                ))
            }
        }
    }

    pub async fn delete_collection(&self) -> Result<HttpResponse, ApiError> {
        let opts = self.query.list_options(self.engine.desc, None)?;
        let deleted = self
            .engine
            .delete_collection(self.namespace_filter(), &opts)
            .await?;
        let desc = self.engine.desc;
        let list = json!({"kind": desc.list_kind(), "apiVersion": desc.api_version(), "metadata": {}, "items": deleted});
        Ok(self.respond(200, list.to_string().into_bytes()))
    }
}

/// The most events one watch chunk carries.
const WATCH_CHUNK_EVENTS: usize = 128;

/// The bytes of consecutive watch items: their lines, an error as an ERROR event.
fn watch_chunk(items: Vec<WatchItem>) -> Bytes {
    let mut lines: Vec<Bytes> = items
        .into_iter()
        .map(|item| match item {
            WatchItem::Line(line) => line,
            WatchItem::Error(e) => {
                encode_line("ERROR", ApiError::from(e).status().to_string().as_bytes())
            }
        })
        .collect();
    if lines.len() == 1 {
        return lines.pop().unwrap_or_default();
    }
    lines.concat().into()
}
