//! The one place where errors become metav1.Status responses.
//!
//! Every failure a client can see goes through [`ApiError`], whose variants mirror
//! upstream's status reasons; the body is always a `Status` object with the matching
//! HTTP code, never plain text.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use serde_json::{json, Value};

use crate::registry::error::{FieldError, Subject};
use crate::registry::RegistryError;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error(transparent)]
    Registry(#[from] RegistryError),
    #[error("the server could not find the requested resource")]
    NoSuchPath,
    #[error("the server does not allow this method on the requested resource")]
    MethodNotAllowed,
    #[error("Request entity too large: limit is {limit}")]
    TooLarge { limit: usize },
    #[error("the body of the request was in an unknown format - accepted media types include: application/json, application/yaml, application/vnd.kubernetes.protobuf")]
    UnsupportedMediaType,
    #[error("only the following media types are accepted: application/json, application/yaml, application/json;as=Table;v=v1;g=meta.k8s.io")]
    NotAcceptable,
    #[error("{message}")]
    Forbidden { message: String, subject: Subject },
    #[error("Unauthorized")]
    Unauthorized,
}

impl ApiError {
    pub fn bad_request(message: impl Into<String>) -> Self {
        RegistryError::bad_request(message).into()
    }

    fn reason_and_code(&self) -> (&'static str, u16) {
        use RegistryError as R;
        match self {
            ApiError::Registry(e) => match e {
                R::BadRequest { .. } => ("BadRequest", 400),
                R::NotFound { .. } => ("NotFound", 404),
                R::AlreadyExists { .. } => ("AlreadyExists", 409),
                R::Conflict { .. } | R::ApplyConflict { .. } => ("Conflict", 409),
                R::Invalid { .. } => ("Invalid", 422),
                R::Forbidden { .. } => ("Forbidden", 403),
                R::MethodNotAllowed { .. } => ("MethodNotAllowed", 405),
                R::Expired { .. } => ("Expired", 410),
                R::Timeout { .. } => ("Timeout", 504),
                R::Unavailable { .. } => ("ServiceUnavailable", 503),
                R::Internal { .. } => ("InternalError", 500),
            },
            ApiError::NoSuchPath => ("NotFound", 404),
            ApiError::MethodNotAllowed => ("MethodNotAllowed", 405),
            ApiError::TooLarge { .. } => ("RequestEntityTooLarge", 413),
            ApiError::UnsupportedMediaType => ("UnsupportedMediaType", 415),
            ApiError::NotAcceptable => ("NotAcceptable", 406),
            ApiError::Forbidden { .. } => ("Forbidden", 403),
            ApiError::Unauthorized => ("Unauthorized", 401),
        }
    }

    fn details(&self) -> Option<Value> {
        use RegistryError as R;
        let subject_details = |s: &Subject| {
            let mut d = json!({"name": s.name, "kind": s.kind});
            if !s.group.is_empty() {
                d["group"] = json!(s.group);
            }
            d
        };
        match self {
            ApiError::Registry(
                R::NotFound { subject, .. }
                | R::AlreadyExists { subject, .. }
                | R::Conflict { subject, .. }
                | R::Forbidden { subject, .. },
            ) => Some(subject_details(subject)),
            ApiError::Forbidden { subject, .. } => Some(subject_details(subject)),
            ApiError::Registry(R::Invalid {
                subject, causes, ..
            }) => {
                let mut d = subject_details(subject);
                d["causes"] = Value::Array(causes.iter().map(cause).collect());
                Some(d)
            }
            ApiError::Registry(R::ApplyConflict { causes, .. }) => {
                Some(json!({"causes": Value::Array(causes.iter().map(cause).collect())}))
            }
            ApiError::Registry(
                R::Timeout {
                    retry_after_seconds,
                    ..
                }
                | R::Unavailable {
                    retry_after_seconds,
                    ..
                },
            ) => Some(json!({"retryAfterSeconds": retry_after_seconds})),
            _ => None,
        }
    }

    fn retry_after(&self) -> Option<u32> {
        match self {
            ApiError::Registry(
                RegistryError::Timeout {
                    retry_after_seconds,
                    ..
                }
                | RegistryError::Unavailable {
                    retry_after_seconds,
                    ..
                },
            ) => Some(*retry_after_seconds),
            _ => None,
        }
    }

    /// The metav1.Status object for this error.
    pub fn status(&self) -> Value {
        let (reason, code) = self.reason_and_code();
        let mut status = json!({
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.to_string(),
            "reason": reason,
            "code": code,
        });
        if let Some(details) = self.details() {
            status["details"] = details;
        }
        status
    }
}

fn cause(c: &FieldError) -> Value {
    json!({"reason": c.reason, "message": c.message, "field": c.field})
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        StatusCode::from_u16(self.reason_and_code().1).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }

    fn error_response(&self) -> HttpResponse {
        let (_, code) = self.reason_and_code();
        if code >= 500 {
            tracing::warn!(code, error = %self, "request failed");
        } else {
            tracing::debug!(code, error = %self, "request refused");
        }
        let mut response = HttpResponse::build(self.status_code());
        if let Some(seconds) = self.retry_after() {
            response.insert_header(("Retry-After", seconds.to_string()));
        }
        response
            .content_type("application/json")
            .body(self.status().to_string())
    }
}

/// A successful Status, as upstream answers some deletes.
pub fn success(name: &str, group: &str, kind: &str, uid: &str) -> Value {
    let mut details = json!({"name": name, "kind": kind, "uid": uid});
    if !group.is_empty() {
        details["group"] = json!(group);
    }
    json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "details": details})
}
