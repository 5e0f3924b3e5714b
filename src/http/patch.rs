//! Patch bodies: JSON patch (RFC 6902) and JSON merge patch (RFC 7386) applied to the
//! stored object. Strategic merge and server-side apply need the kinds' schemas and are
//! refused with 415 until they arrive (docs/compatibility.md).

use serde_json::Value;

use super::status::ApiError;
use crate::registry::RegistryError;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PatchType {
    Json,
    Merge,
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
            _ => Err(ApiError::UnsupportedMediaType),
        }
    }
}

/// A parsed patch, ready to apply to any current state.
pub enum Patch {
    Json(json_patch::Patch),
    Merge(Value),
}

impl Patch {
    pub fn parse(kind: PatchType, body: &[u8]) -> Result<Self, ApiError> {
        match kind {
            PatchType::Json => serde_json::from_slice(body).map(Patch::Json).map_err(|e| {
                ApiError::bad_request(format!(
                    "the server rejected our request due to an error in our request: {e}"
                ))
            }),
            PatchType::Merge => serde_json::from_slice(body)
                .map(Patch::Merge)
                .map_err(|e| ApiError::bad_request(format!("error decoding patch: {e}"))),
        }
    }

    pub fn apply(&self, current: &Value) -> Result<Value, RegistryError> {
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
        }
        if !patched.is_object() {
            return Err(RegistryError::bad_request(
                "the patch made the object something other than a JSON object",
            ));
        }
        Ok(patched)
    }
}
