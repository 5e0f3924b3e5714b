//! List and watch options, continue tokens, and serving one page of a list from a view.

use std::sync::Arc;

use base64::Engine as _;
use serde::{Deserialize, Serialize};

use super::cache::{CachedObject, KindView};
use super::error::RegistryError;
use super::selectors::{FieldSelector, LabelSelector};

/// The query parameters of list and watch, parsed and checked.
#[derive(Clone, Debug, Default)]
pub struct ListOptions {
    pub label_selector: LabelSelector,
    pub field_selector: FieldSelector,
    pub resource_version: Option<String>,
    pub resource_version_match: Option<String>,
    pub limit: Option<usize>,
    pub continue_token: Option<String>,
    pub allow_watch_bookmarks: bool,
    pub timeout_seconds: Option<u64>,
    pub send_initial_events: Option<bool>,
}

/// What a list read must reflect.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ReadAt {
    /// Linearizable: everything acknowledged before the request (`resourceVersion=""`).
    Latest,
    /// Whatever the cache has (`resourceVersion="0"`).
    Any,
    /// At least this revision (`NotOlderThan`, the default for a given resourceVersion).
    NotOlderThan(u64),
    /// Exactly this revision (`Exact`, or a continue token).
    Exact(u64),
}

pub fn parse_revision(rv: &str) -> Result<u64, RegistryError> {
    rv.parse()
        .map_err(|_| RegistryError::bad_request(format!("invalid resource version \"{rv}\"")))
}

impl ListOptions {
    /// Which revision a list reads, checking upstream's combination rules.
    pub fn read_at(&self) -> Result<ReadAt, RegistryError> {
        let rv = self.resource_version.as_deref().filter(|rv| !rv.is_empty());
        let rv_match = self
            .resource_version_match
            .as_deref()
            .filter(|m| !m.is_empty());
        if self.continue_token.is_some() && rv.is_some_and(|rv| rv != "0") {
            return Err(RegistryError::bad_request(
                "specifying resource version is not allowed when using continue",
            ));
        }
        match (rv, rv_match) {
            (None, Some(_)) => Err(invalid_options("resourceVersionMatch is forbidden unless resourceVersion is provided")),
            (None, None) => Ok(ReadAt::Latest),
            (Some("0"), Some("Exact")) => Err(invalid_options("resourceVersionMatch \"exact\" is forbidden for resourceVersion \"0\"")),
            (Some("0"), _) => Ok(ReadAt::Any),
            (Some(rv), Some("Exact")) => Ok(ReadAt::Exact(parse_revision(rv)?)),
            (Some(rv), None | Some("NotOlderThan")) => Ok(ReadAt::NotOlderThan(parse_revision(rv)?)),
            (Some(_), Some(other)) => Err(invalid_options(&format!("resourceVersionMatch: Unsupported value: \"{other}\": supported values: \"Exact\", \"NotOlderThan\", \"\""))),
        }
    }
}

fn invalid_options(message: &str) -> RegistryError {
    RegistryError::Invalid {
        subject: super::error::Subject {
            group: "meta.k8s.io".into(),
            kind: "ListOptions".into(),
            name: String::new(),
        },
        message: format!("ListOptions.meta.k8s.io \"\" is invalid: {message}"),
        causes: vec![],
    }
}

/// The opaque `continue` value: the revision of the first page and the last key served.
#[derive(Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContinueToken {
    pub v: String,
    pub rv: u64,
    pub start: String,
}

const TOKEN_VERSION: &str = "meta.k8s.io/v1";
const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::URL_SAFE_NO_PAD;

impl ContinueToken {
    pub fn encode(rv: u64, last_key: &str) -> String {
        let token = ContinueToken {
            v: TOKEN_VERSION.into(),
            rv,
            start: last_key.to_string(),
        };
        B64.encode(serde_json::to_vec(&token).unwrap_or_default())
    }

    pub fn decode(s: &str) -> Result<Self, RegistryError> {
        let bad = || {
            RegistryError::bad_request("continue key is not valid: incorrect encoded start resourceVersion (version meta.k8s.io/v1)")
        };
        let bytes = B64.decode(s.trim_end_matches('=')).map_err(|_| bad())?;
        let token: ContinueToken = serde_json::from_slice(&bytes).map_err(|_| bad())?;
        if token.v != TOKEN_VERSION || token.rv == 0 {
            return Err(bad());
        }
        Ok(token)
    }
}

/// Upstream's 410 message when a continue token's revision is gone.
pub const CONTINUE_EXPIRED: &str = "The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter, or use the continue token in this response to retrieve the remainder of the results. Continuing with the provided token results in an inconsistent list - objects that were created, modified, or deleted between the time the first chunk was returned and now may show up in the list.";

/// One page of a list.
pub struct Page {
    pub revision: u64,
    pub items: Vec<Arc<CachedObject>>,
    pub continue_token: Option<String>,
    pub remaining: Option<u64>,
}

/// Filters `view` under `prefix` after `after`, up to `limit` items.
pub fn page(
    view: &KindView,
    revision: u64,
    prefix: &str,
    after: Option<&str>,
    opts: &ListOptions,
) -> Page {
    let matches = |o: &CachedObject| {
        opts.label_selector.matches(&o.labels)
            && opts
                .field_selector
                .matches(&o.fields, &o.name, &o.namespace)
    };
    let limit = opts.limit.filter(|l| *l > 0).unwrap_or(usize::MAX);
    let mut items = Vec::new();
    let mut rest = view.range(prefix, after);
    for object in rest.by_ref() {
        if matches(object) {
            items.push(object.clone());
            if items.len() == limit {
                break;
            }
        }
    }
    // With selectors the count of what is left is unknown without filtering it, so only
    // whether anything is left is reported (as upstream).
    let unfiltered = opts.label_selector.is_empty() && opts.field_selector.is_empty();
    let remaining = if unfiltered {
        rest.count() as u64
    } else {
        u64::from(rest.next().is_some())
    };
    let continue_token = match items.last() {
        Some(last) if remaining > 0 => Some(ContinueToken::encode(revision, &last.key)),
        _ => None,
    };
    Page {
        revision,
        items,
        remaining: (continue_token.is_some() && unfiltered).then_some(remaining),
        continue_token,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn continue_tokens_round_trip_and_reject_garbage() {
        let token = ContinueToken::encode(42, "/registry/configmaps/default/x");
        let back = ContinueToken::decode(&token).unwrap();
        assert_eq!(
            (back.rv, back.start.as_str()),
            (42, "/registry/configmaps/default/x")
        );
        assert!(ContinueToken::decode("garbage!").is_err());
        assert!(ContinueToken::decode(&B64.encode(b"{}")).is_err());
    }

    #[test]
    fn resource_version_rules() {
        let opts = |rv: Option<&str>, m: Option<&str>| ListOptions {
            resource_version: rv.map(Into::into),
            resource_version_match: m.map(Into::into),
            ..Default::default()
        };
        assert_eq!(opts(None, None).read_at().unwrap(), ReadAt::Latest);
        assert_eq!(opts(Some("0"), None).read_at().unwrap(), ReadAt::Any);
        assert_eq!(
            opts(Some("7"), None).read_at().unwrap(),
            ReadAt::NotOlderThan(7)
        );
        assert_eq!(
            opts(Some("7"), Some("Exact")).read_at().unwrap(),
            ReadAt::Exact(7)
        );
        assert!(opts(None, Some("Exact")).read_at().is_err());
        assert!(opts(Some("x"), None).read_at().is_err());
        assert!(opts(Some("7"), Some("Sometimes")).read_at().is_err());
    }
}
