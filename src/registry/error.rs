//! The registry's error type. Variants mirror upstream's metav1.Status reasons; the HTTP
//! layer turns each into a Status body in one place (`http::status`).

/// One invalid field, as upstream's `details.causes` entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldError {
    /// `FieldValueRequired`, `FieldValueInvalid`, `FieldValueForbidden`, ...
    pub reason: &'static str,
    /// The message after the field path, e.g. `Invalid value: "A": a lowercase RFC 1123 ...`.
    pub message: String,
    /// JSON path, e.g. `metadata.name`.
    pub field: String,
}

impl FieldError {
    pub fn invalid(field: impl Into<String>, value: &str, detail: impl std::fmt::Display) -> Self {
        Self {
            reason: "FieldValueInvalid",
            message: format!(
                "Invalid value: {}: {detail}",
                serde_json::Value::from(value)
            ),
            field: field.into(),
        }
    }

    pub fn required(field: impl Into<String>, detail: &str) -> Self {
        let message = if detail.is_empty() {
            "Required value".to_string()
        } else {
            format!("Required value: {detail}")
        };
        Self {
            reason: "FieldValueRequired",
            message,
            field: field.into(),
        }
    }

    pub fn forbidden(field: impl Into<String>, detail: impl std::fmt::Display) -> Self {
        Self {
            reason: "FieldValueForbidden",
            message: format!("Forbidden: {detail}"),
            field: field.into(),
        }
    }

    /// A field whose total size is over `max` bytes.
    pub fn too_long(field: impl Into<String>, max: usize) -> Self {
        Self {
            reason: "FieldValueTooLong",
            message: format!("Too long: must have at most {max} bytes"),
            field: field.into(),
        }
    }
}

/// Identifies the object an error is about, for `details`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Subject {
    pub group: String,
    /// The resource (plural) for NotFound/AlreadyExists/Conflict, the Kind for Invalid.
    pub kind: String,
    pub name: String,
}

#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    #[error("{message}")]
    BadRequest { message: String },
    #[error("{message}")]
    NotFound { subject: Subject, message: String },
    #[error("{message}")]
    AlreadyExists { subject: Subject, message: String },
    #[error("{message}")]
    Conflict { subject: Subject, message: String },
    /// A server-side apply changing fields other managers own (409 Conflict whose
    /// details carry only the causes, as upstream's).
    #[error("{message}")]
    ApplyConflict {
        message: String,
        causes: Vec<FieldError>,
    },
    #[error("{message}")]
    Invalid {
        subject: Subject,
        message: String,
        causes: Vec<FieldError>,
    },
    #[error("{message}")]
    Forbidden { subject: Subject, message: String },
    #[error("{message}")]
    MethodNotAllowed { message: String },
    /// The requested revision is no longer retained (410, reason Expired).
    #[error("{message}")]
    Expired { message: String },
    #[error("{message}")]
    Timeout {
        message: String,
        retry_after_seconds: u32,
    },
    #[error("{message}")]
    Unavailable {
        message: String,
        retry_after_seconds: u32,
    },
    #[error("{message}")]
    Internal { message: String },
}

impl RegistryError {
    /// Whether a replica whose cache is behind could have answered this wrongly (the
    /// object not there yet, or at an older resourceVersion): such an answer is checked
    /// again at the linearizable revision before the client hears it.
    pub fn may_be_stale(&self) -> bool {
        matches!(self, Self::NotFound { .. } | Self::Conflict { .. })
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::BadRequest {
            message: message.into(),
        }
    }

    pub fn internal(message: impl std::fmt::Display) -> Self {
        Self::Internal {
            message: message.to_string(),
        }
    }

    pub fn expired(message: impl Into<String>) -> Self {
        Self::Expired {
            message: message.into(),
        }
    }
}

impl From<crate::consensus::ConsensusError> for RegistryError {
    fn from(e: crate::consensus::ConsensusError) -> Self {
        use crate::consensus::ConsensusError as C;
        match e {
            C::NoLeader => Self::Unavailable {
                message: e.to_string(),
                retry_after_seconds: 1,
            },
            other => Self::Internal {
                message: other.to_string(),
            },
        }
    }
}
