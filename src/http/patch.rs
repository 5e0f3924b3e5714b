//! Patch bodies: JSON patch (RFC 6902), JSON merge patch (RFC 7386) and, for built-in
//! kinds, strategic merge patch (`strategic`), applied to the stored object. Server-side
//! apply is served apart (`apply`).

use serde_json::{json, Map, Value};

use super::status::ApiError;
use super::strategic::{self, Schema, SmpError};
use crate::registry::descriptor::ResourceDescriptor;
use crate::registry::RegistryError;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PatchType {
    Json,
    Merge,
    Strategic,
}

impl PatchType {
    pub fn from_content_type(content_type: Option<&str>) -> Result<Self, ApiError> {
        let media = content_type
            .unwrap_or("")
            .split(';')
            .next()
            .unwrap_or("")
            .trim();
        match media {
            "application/json-patch+json" => Ok(Self::Json),
            "application/merge-patch+json" => Ok(Self::Merge),
            "application/strategic-merge-patch+json" => Ok(Self::Strategic),
            _ => Err(ApiError::UnsupportedMediaType),
        }
    }
}

/// A parsed patch, ready to apply to any current state.
pub enum Patch {
    Json(json_patch::Patch),
    Merge(Value),
    Strategic(Map<String, Value>, Schema<'static>),
}

/// Why a patch could not be applied.
pub enum PatchError {
    Registry(RegistryError),
    /// Upstream returns a plain Go error here (a strategic merge directive it cannot
    /// follow), which its handler answers 500 with no reason: see [`unreasoned_status`].
    Unreasoned(String),
}

impl From<RegistryError> for PatchError {
    fn from(e: RegistryError) -> Self {
        PatchError::Registry(e)
    }
}

impl Patch {
    pub fn parse(
        kind: PatchType,
        body: &[u8],
        desc: &ResourceDescriptor,
    ) -> Result<Self, ApiError> {
        match kind {
            PatchType::Json => serde_json::from_slice(body).map(Patch::Json).map_err(|e| {
                ApiError::bad_request(format!(
                    "the server rejected our request due to an error in our request: {e}"
                ))
            }),
            PatchType::Merge => serde_json::from_slice(body)
                .map(Patch::Merge)
                .map_err(|e| ApiError::bad_request(format!("error decoding patch: {e}"))),
            PatchType::Strategic => {
                // Upstream serves strategic merge only for kinds with a typed schema.
                let schema = strategic_schema(desc).ok_or(ApiError::UnsupportedMediaType)?;
                let patch = strategic::decode(body).map_err(ApiError::bad_request)?;
                Ok(Patch::Strategic(patch, schema))
            }
        }
    }

    pub fn apply(&self, current: &Value) -> Result<Value, PatchError> {
        let mut patched = current.clone();
        match self {
            Patch::Json(ops) => {
                json_patch::patch(&mut patched, ops).map_err(|e| RegistryError::Invalid {
                    subject: Default::default(),
                    message: format!(
                        "the server rejected our request due to an error in our request: {e}"
                    ),
                    causes: vec![],
                })?
            }
            Patch::Merge(merge) => json_patch::merge(&mut patched, merge),
            Patch::Strategic(patch, schema) => {
                patched =
                    strategic::apply(current, patch.clone(), *schema).map_err(|e| match e {
                        SmpError::BadRequest(m) => {
                            PatchError::Registry(RegistryError::bad_request(m))
                        }
                        // Upstream's generic 422 drops the detail.
                        SmpError::Invalid(_) => PatchError::Registry(RegistryError::Invalid {
                            subject: Default::default(),
                            message:
                                "the server rejected our request due to an error in our request"
                                    .into(),
                            causes: vec![],
                        }),
                        SmpError::Other(m) => PatchError::Unreasoned(m),
                    })?
            }
        }
        if !patched.is_object() {
            return Err(RegistryError::bad_request(
                "the patch made the object something other than a JSON object",
            )
            .into());
        }
        Ok(patched)
    }
}

/// The Status upstream answers for a plain (non-API) error: 500, no reason, its text.
pub fn unreasoned_status(message: &str) -> Value {
    json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
           "message": message, "code": 500})
}

/// The kind's schema for strategic merge: its definition among upstream's OpenAPI
/// definitions (`openapi`), found by group, version and kind.
fn strategic_schema(desc: &ResourceDescriptor) -> Option<Schema<'static>> {
    let (_, definition) = crate::openapi::definition_for(desc.group, desc.version, desc.kind)?;
    Some(Schema::new(crate::openapi::definitions(), definition))
}
