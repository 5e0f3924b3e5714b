//! Assertions on upstream-shaped `metav1.Status` error bodies.

use reqwest::StatusCode;
use serde_json::Value;

/// Asserts an error response: the HTTP code, and a body that is a `metav1.Status` with
/// `status: Failure`, the same `code`, and `reason`. Returns the body for further checks.
pub fn assert_status(what: &str, got: (StatusCode, Value), code: u16, reason: &str) -> Value {
    let (status, body) = got;
    assert_eq!(status.as_u16(), code, "{what}: HTTP status; body: {body}");
    assert_eq!(
        body["kind"], "Status",
        "{what}: body is not a Status: {body}"
    );
    assert_eq!(
        body["apiVersion"], "v1",
        "{what}: Status apiVersion: {body}"
    );
    assert_eq!(body["status"], "Failure", "{what}: Status.status: {body}");
    assert_eq!(
        body["code"].as_u64(),
        Some(u64::from(code)),
        "{what}: Status.code: {body}"
    );
    assert_eq!(body["reason"], reason, "{what}: Status.reason: {body}");
    assert!(
        body["message"].as_str().is_some_and(|m| !m.is_empty()),
        "{what}: Status.message is empty: {body}"
    );
    body
}
