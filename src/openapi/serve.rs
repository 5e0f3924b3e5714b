//! Answers GET /openapi/v2, /openapi/v3 and /openapi/v3/{api/v1, apis/GROUP/VERSION}.
//!
//! Every document is built once, on first use, and kept as bytes with its hash: the
//! documents depend only on the served kinds and the generated definitions, both fixed
//! for the life of the binary, so the hash is the same on every replica of one build.
//! Caching follows upstream's kube-openapi handlers: a quoted ETag, 304 for a matching
//! If-None-Match, and for a group-version asked with `?hash=` the current hash gets
//! `Cache-Control: public, immutable` while a stale one is redirected (301) to the
//! current URL.
//!
//! Only JSON is served. kubectl asks /openapi/v2 for protobuf
//! (`application/com.github.proto-openapi.spec.v2@v1.0+protobuf`) but needs it only to
//! validate on the client when the server does not support `fieldValidation`, which
//! keelson does and says so in /openapi/v3; an Accept naming only protobuf gets 406 as
//! upstream answers any Accept it cannot serve.

use std::collections::BTreeMap;
use std::sync::OnceLock;
use std::time::{Duration, SystemTime};

use actix_web::http::header::{self, HttpDate};
use actix_web::{HttpRequest, HttpResponse};
use bytes::Bytes;
use serde_json::{json, Value};

use crate::http::status::ApiError;

/// One encoded document and its hash (upper-case hex, unquoted).
struct Doc {
    bytes: Bytes,
    hash: String,
}

impl Doc {
    fn new(value: &Value) -> Doc {
        let bytes = Bytes::from(value.to_string());
        let hash = hash_hex(&bytes);
        Doc { bytes, hash }
    }
}

struct V3 {
    index: Doc,
    /// By index key (`api/v1`, `apis/apps/v1`).
    group_versions: BTreeMap<String, Doc>,
}

fn v2() -> &'static Doc {
    static DOC: OnceLock<Doc> = OnceLock::new();
    DOC.get_or_init(|| Doc::new(&super::v2::document(&crate::kinds::catalog())))
}

fn v3() -> &'static V3 {
    static DOCS: OnceLock<V3> = OnceLock::new();
    DOCS.get_or_init(|| {
        let group_versions: BTreeMap<String, Doc> =
            super::v3::group_versions(&crate::kinds::catalog())
                .into_iter()
                .map(|(key, resources)| (key, Doc::new(&super::v3::document(&resources))))
                .collect();
        let paths: serde_json::Map<String, Value> = group_versions
            .iter()
            .map(|(key, doc)| {
                let url = format!("/openapi/v3/{key}?hash={}", doc.hash);
                (key.clone(), json!({ "serverRelativeURL": url }))
            })
            .collect();
        V3 {
            index: Doc::new(&json!({ "paths": paths })),
            group_versions,
        }
    })
}

/// FNV-1a over the document, 64 bits as 16 upper-case hex digits: a stable name for
/// these bytes (not a security property; upstream uses SHA-512, clients treat it as
/// opaque).
fn hash_hex(bytes: &[u8]) -> String {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in bytes {
        hash ^= u64::from(*byte);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    format!("{hash:016X}")
}

/// Whether `path` is one of the documents this module serves.
pub fn is_openapi_path(path: &str) -> bool {
    path == "/openapi/v2" || path == "/openapi/v3" || path.starts_with("/openapi/v3/")
}

/// The response to a request for one of the OpenAPI documents.
pub fn respond(req: &HttpRequest, hash: Option<&str>) -> Result<HttpResponse, ApiError> {
    if !matches!(req.method().as_str(), "GET" | "HEAD") {
        return Err(ApiError::MethodNotAllowed);
    }
    let accept = req
        .headers()
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok());
    let path = req.path();
    if path == "/openapi/v2" {
        if !accepts_json(accept) {
            return Ok(not_acceptable());
        }
        return Ok(serve(req, v2(), false));
    }
    if path.trim_end_matches('/') == "/openapi/v3" {
        return Ok(serve(req, &v3().index, false));
    }
    let key = path
        .trim_start_matches("/openapi/v3/")
        .trim_end_matches('/');
    let doc = v3().group_versions.get(key).ok_or(ApiError::NoSuchPath)?;
    if !accepts_json(accept) {
        return Ok(not_acceptable());
    }
    match hash {
        Some(hash) if !hash.is_empty() && hash != doc.hash => Ok(HttpResponse::MovedPermanently()
            .insert_header((
                header::LOCATION,
                format!("/openapi/v3/{key}?hash={}", doc.hash),
            ))
            .insert_header((header::VARY, "Accept"))
            .finish()),
        Some(hash) if !hash.is_empty() => Ok(serve(req, doc, true)),
        _ => Ok(serve(req, doc, false)),
    }
}

/// Whether any media range of `accept` (absent: anything) admits `application/json`.
fn accepts_json(accept: Option<&str>) -> bool {
    let Some(accept) = accept.filter(|a| !a.trim().is_empty()) else {
        return true;
    };
    accept.split(',').any(|range| {
        let media = range
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        matches!(media.as_str(), "application/json" | "application/*" | "*/*")
    })
}

fn not_acceptable() -> HttpResponse {
    HttpResponse::NotAcceptable()
        .insert_header((header::VARY, "Accept"))
        .finish()
}

fn serve(req: &HttpRequest, doc: &Doc, immutable: bool) -> HttpResponse {
    let etag = format!("\"{}\"", doc.hash);
    let unchanged = if_none_match(req, &etag);
    let mut response = if unchanged {
        HttpResponse::NotModified()
    } else {
        HttpResponse::Ok()
    };
    response
        .content_type("application/json")
        .insert_header((header::ETAG, etag))
        .insert_header((header::VARY, "Accept"));
    if immutable {
        let year = SystemTime::now() + Duration::from_secs(365 * 24 * 3600);
        response
            .insert_header((header::CACHE_CONTROL, "public, immutable"))
            .insert_header((header::EXPIRES, HttpDate::from(year).to_string()));
    }
    if unchanged || req.method().as_str() == "HEAD" {
        return response.finish();
    }
    response.body(doc.bytes.clone())
}

fn if_none_match(req: &HttpRequest, etag: &str) -> bool {
    req.headers()
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag || t.trim() == "*"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_index_names_every_group_version_with_its_documents_hash() {
        let v3 = v3();
        let index: Value = serde_json::from_slice(&v3.index.bytes).expect("index is JSON");
        for key in [
            "api/v1",
            "apis/apps/v1",
            "apis/rbac.authorization.k8s.io/v1",
        ] {
            let doc = &v3.group_versions[key];
            assert_eq!(
                index["paths"][key]["serverRelativeURL"],
                format!("/openapi/v3/{key}?hash={}", doc.hash)
            );
            assert_eq!(doc.hash, hash_hex(&doc.bytes));
        }
        assert_eq!(hash_hex(b"a"), hash_hex(b"a"));
        assert_ne!(hash_hex(b"a"), hash_hex(b"b"));
    }

    #[test]
    fn json_is_accepted_unless_only_other_types_are_named() {
        assert!(accepts_json(None));
        assert!(accepts_json(Some("application/json")));
        assert!(accepts_json(Some(
            "application/com.github.proto-openapi.spec.v3@v1.0+protobuf, application/json;q=0.9"
        )));
        assert!(!accepts_json(Some(
            "application/com.github.proto-openapi.spec.v2@v1.0+protobuf"
        )));
    }
}
