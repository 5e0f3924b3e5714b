//! The `dryRun` option of writes: whether a request is a dry run, checked as upstream
//! checks Create/Update/Patch/DeleteOptions.
//!
//! The answer is one flag: when set, the request is served by a dry-run engine
//! ([`crate::registry::Engine::dry_run`]), so every write path, whatever its verb or patch
//! type, runs in full and proposes nothing.

use serde_json::Value;

use super::negotiate::decode_body;
use super::query::Query;
use super::status::ApiError;
use crate::registry::error::{FieldError, Subject};
use crate::registry::RegistryError;

/// The one value upstream accepts.
const ALL: &str = "All";

/// Whether the `verb` request asks for a dry run. Deletes read `dryRun` from their
/// DeleteOptions body when they have one, and from the query otherwise (upstream).
/// A value other than `All` is upstream's 422 on the options kind.
pub fn requested(
    verb: &str,
    query: &Query,
    content_type: Option<&str>,
    body: &[u8],
) -> Result<bool, ApiError> {
    let options_kind = match verb {
        "create" => "CreateOptions",
        "update" => "UpdateOptions",
        "patch" => "PatchOptions",
        "delete" | "deletecollection" => "DeleteOptions",
        _ => return Ok(false),
    };
    let has_body = !body.iter().all(u8::is_ascii_whitespace);
    let values: Vec<String> = if options_kind == "DeleteOptions" && has_body {
        from_body(content_type, body)?
    } else {
        query.all("dryRun").map(str::to_string).collect()
    };
    check(options_kind, &values)?;
    Ok(!values.is_empty())
}

fn from_body(content_type: Option<&str>, body: &[u8]) -> Result<Vec<String>, ApiError> {
    let options = decode_body(content_type, body)?;
    Ok(options
        .get("dryRun")
        .and_then(Value::as_array)
        .map(|values| {
            values
                .iter()
                .map(|v| v.as_str().unwrap_or_default().to_string())
                .collect()
        })
        .unwrap_or_default())
}

/// Upstream's `ValidateDryRun`: every value must be `All`.
fn check(options_kind: &str, values: &[String]) -> Result<(), RegistryError> {
    if values.iter().all(|v| v == ALL) {
        return Ok(());
    }
    let shown = serde_json::to_string(values).unwrap_or_default();
    let cause = FieldError {
        reason: "FieldValueNotSupported",
        message: format!("Unsupported value: {shown}: supported values: \"{ALL}\""),
        field: "dryRun".into(),
    };
    Err(RegistryError::Invalid {
        message: format!(
            "{options_kind}.meta.k8s.io \"\" is invalid: dryRun: {}",
            cause.message
        ),
        subject: Subject {
            group: "meta.k8s.io".into(),
            kind: options_kind.into(),
            name: String::new(),
        },
        causes: vec![cause],
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dry(verb: &str, query: &str, body: &str) -> Result<bool, String> {
        let query = Query::parse(query).map_err(|e| e.to_string())?;
        requested(verb, &query, None, body.as_bytes()).map_err(|e| e.to_string())
    }

    #[test]
    fn all_is_a_dry_run() {
        assert_eq!(dry("create", "dryRun=All", ""), Ok(true));
        assert_eq!(dry("patch", "dryRun=All&dryRun=All", ""), Ok(true));
        assert_eq!(dry("update", "fieldManager=x", ""), Ok(false));
        assert_eq!(dry("get", "dryRun=bogus", ""), Ok(false));
    }

    #[test]
    fn deletes_read_their_body_first() {
        assert_eq!(dry("delete", "", r#"{"dryRun":["All"]}"#), Ok(true));
        assert_eq!(
            dry("delete", "dryRun=All", r#"{"kind":"DeleteOptions"}"#),
            Ok(false)
        );
        assert_eq!(dry("deletecollection", "dryRun=All", ""), Ok(true));
    }

    #[test]
    fn other_values_are_invalid() {
        assert_eq!(
            dry("create", "dryRun=true", ""),
            Err(r#"CreateOptions.meta.k8s.io "" is invalid: dryRun: Unsupported value: ["true"]: supported values: "All""#.into())
        );
        assert_eq!(
            dry("delete", "", r#"{"dryRun":["All","x"]}"#),
            Err(r#"DeleteOptions.meta.k8s.io "" is invalid: dryRun: Unsupported value: ["All","x"]: supported values: "All""#.into())
        );
    }
}
