//! Server-side apply (`application/apply-patch+yaml`) and the field manager of every
//! other write: the HTTP side of `registry::managed`.
//!
//! An apply runs through the engine's update step like any patch (so hooks, validation
//! and preconditions are the same), and creates the object when it does not exist yet.
//! Creates, updates and patches record their manager's `Update` entry the same way.

use actix_web::HttpResponse;
use serde_json::{json, Value};

use super::patch::unreasoned_status;
use super::resource::ResourceRequest;
use super::status::ApiError;
use crate::registry::error::{FieldError, Subject};
use crate::registry::managed::{self, Conflicts, Shape, Writer};
use crate::registry::{object, RegistryError};

/// The apply patch's media type.
pub const APPLY_PATCH: &str = "application/apply-patch+yaml";

/// Whether a request body is an apply configuration.
pub fn is_apply(content_type: Option<&str>) -> bool {
    content_type
        .and_then(|c| c.split(';').next())
        .is_some_and(|m| m.trim() == APPLY_PATCH)
}

/// Upstream's 422 for bad write options: `PatchOptions.meta.k8s.io "" is invalid: ...`.
fn options_invalid(options: &str, cause: FieldError) -> ApiError {
    RegistryError::Invalid {
        subject: Subject {
            group: "meta.k8s.io".into(),
            kind: options.into(),
            name: String::new(),
        },
        message: format!(
            "{options}.meta.k8s.io \"\" is invalid: {}: {}",
            cause.field, cause.message
        ),
        causes: vec![cause],
    }
    .into()
}

/// Upstream's 409 for apply conflicts, one `FieldManagerConflict` cause per field.
fn conflict_error(conflicts: Conflicts) -> RegistryError {
    let causes = conflicts
        .0
        .iter()
        .map(|(manager, path)| FieldError {
            reason: "FieldManagerConflict",
            message: format!("conflict with {manager}"),
            field: path.clone(),
        })
        .collect();
    RegistryError::ApplyConflict {
        message: conflicts.message(),
        causes,
    }
}

impl ResourceRequest<'_> {
    /// This write's manager: `?fieldManager=`, else the User-Agent's product, checked as
    /// upstream checks it (422 naming the request's `options` kind).
    pub(super) fn field_manager(&self, options: &str) -> Result<String, ApiError> {
        let given = self.query.get("fieldManager").unwrap_or("");
        if let Err(message) = managed::check_manager(given) {
            let reason = if given.len() > managed::MAX_MANAGER_LENGTH {
                "FieldValueTooLong"
            } else {
                "FieldValueInvalid"
            };
            let field = "fieldManager".to_string();
            return Err(options_invalid(
                options,
                FieldError {
                    reason,
                    message,
                    field,
                },
            ));
        }
        if given.is_empty() {
            return Ok(managed::manager_from_user_agent(&self.user_agent));
        }
        Ok(given.to_string())
    }

    pub(super) fn writer<'a>(&'a self, manager: &'a str) -> Writer<'a> {
        let desc = self.engine.desc;
        Writer {
            manager,
            api_version: desc.api_version(),
            subresource: &self.info.subresource,
            has_status: desc.status,
            shape: Shape::of_kind(desc.group, desc.version, desc.kind),
        }
    }

    /// `new` with its managedFields brought up to date for this write's manager.
    pub(super) fn track(&self, old: Option<&Value>, new: Value, manager: &str) -> Value {
        managed::record_update(old, new, &self.writer(manager))
    }

    pub async fn apply(&self) -> Result<HttpResponse, ApiError> {
        if self.query.get("fieldManager").unwrap_or("").is_empty() {
            let cause = FieldError::required("fieldManager", "is required for apply patch");
            return Err(options_invalid("PatchOptions", cause));
        }
        let manager = self.field_manager("PatchOptions")?;
        let force = self.query.is_true("force");
        let config = self.apply_config()?;
        let writer = self.writer(&manager);
        let namespace = self.namespace();
        let applied = |live: Option<&Value>| -> Result<Value, RegistryError> {
            let merged = managed::apply(live, &config, &writer, force).map_err(conflict_error)?;
            self.typed_apply(merged)
        };
        let updated = self
            .engine
            .update_with(
                namespace,
                &self.info.name,
                self.status_only(),
                false,
                |live| applied(Some(live)),
            )
            .await;
        let result = match updated {
            Err(RegistryError::NotFound { .. }) if !self.status_only() => match applied(None) {
                Ok(obj) => self.engine.create(namespace, obj).await.map(|c| (201, c)),
                Err(e) => Err(e),
            },
            other => other.map(|updated| (200, updated)),
        };
        match result {
            Ok((code, obj)) => Ok(self.respond_value(code, &obj)),
            Err(RegistryError::Internal { message }) if message.starts_with(TYPED_PATCH) => {
                Ok(self.respond(500, unreasoned_status(&message).to_string().into_bytes()))
            }
            Err(e) => Err(e.into()),
        }
    }

    /// The apply body: YAML (or JSON) of this kind and version, naming this object,
    /// without managedFields; errors worded as upstream's.
    fn apply_config(&self) -> Result<Value, ApiError> {
        let text = std::str::from_utf8(&self.body)
            .map_err(|e| ApiError::bad_request(format!("error decoding YAML: {e}")))?;
        let mut config: Value = serde_yaml_ng::from_str(text)
            .map_err(|e| ApiError::bad_request(format!("error decoding YAML: {e}")))?;
        if !config.is_object() {
            return Err(ApiError::bad_request(
                "error decoding YAML: the apply configuration is not an object",
            ));
        }
        let desc = self.engine.desc;
        let expected = desc.api_version();
        let text_of =
            |v: &Value, k: &str| v.get(k).and_then(Value::as_str).unwrap_or("").to_string();
        let version = text_of(&config, "apiVersion");
        if version != expected {
            return Err(ApiError::bad_request(format!("Incorrect version specified in apply patch. Specified patch version: {version}, expected: {expected}")));
        }
        let kind = text_of(&config, "kind");
        if kind != desc.kind {
            return Err(ApiError::bad_request(format!(
                "the kind in the data ({kind}) does not match the expected kind ({})",
                desc.kind
            )));
        }
        if object::meta(&config)
            .and_then(|m| m.get("managedFields"))
            .is_some_and(|f| !f.is_null())
        {
            return Err(ApiError::bad_request("metadata.managedFields must be nil"));
        }
        match object::name(&config) {
            "" => object::set_meta(&mut config, "name", json!(self.info.name)),
            name if name != self.info.name => {
                return Err(ApiError::bad_request(format!(
                    "the name of the object ({name}) does not match the name on the URL ({})",
                    self.info.name
                )))
            }
            _ => {}
        }
        Ok(config)
    }

    /// The merged object through the kind's types. A field the schema does not declare
    /// fails the apply whatever `fieldValidation` says, as upstream's typed conversion
    /// of the configuration does (a 500 with this message, upstream issue #122480).
    fn typed_apply(&self, merged: Value) -> Result<Value, RegistryError> {
        let desc = self.engine.desc;
        let decoded = (desc.schema)(&merged).map_err(|e| {
            RegistryError::bad_request(format!(
                "{} in version \"{}\" cannot be handled as a {}: {e}",
                desc.kind, desc.version, desc.kind
            ))
        })?;
        let unknown = crate::kinds::schema::unknown_fields(&merged, &decoded);
        if let Some(field) = unknown.first() {
            let (group, version) = (desc.group, desc.version);
            return Err(RegistryError::internal(format!(
                "{TYPED_PATCH} ({}/{}; {group}/{version}, Kind={}): .{field}: field not declared in schema",
                self.namespace(),
                self.info.name,
                desc.kind
            )));
        }
        Ok(decoded)
    }
}

const TYPED_PATCH: &str = "failed to create typed patch object";
