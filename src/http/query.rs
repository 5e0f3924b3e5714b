//! Query parameters of resource requests, parsed into registry options (400 on bad
//! values, as upstream).

use crate::registry::descriptor::ResourceDescriptor;
use crate::registry::list::ListOptions;
use crate::registry::selectors::{FieldSelector, LabelSelector};

use super::status::ApiError;

/// The query string as ordered pairs (percent-decoded).
pub struct Query(Vec<(String, String)>);

impl Query {
    pub fn parse(raw: &str) -> Result<Self, ApiError> {
        serde_urlencoded::from_str(raw)
            .map(Query)
            .map_err(|e| ApiError::bad_request(format!("invalid query string: {e}")))
    }

    pub fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    fn flag(&self, key: &str) -> Result<Option<bool>, ApiError> {
        match self.get(key) {
            None => Ok(None),
            Some("") => Ok(Some(false)),
            Some(value) => parse_bool(value).map(Some).ok_or_else(|| {
                ApiError::bad_request(format!(
                    "invalid value for {key}: {value:?}, must be true or false"
                ))
            }),
        }
    }

    /// Whether a boolean parameter is set to true (absent or unparsable: false).
    pub fn is_true(&self, key: &str) -> bool {
        self.get(key).and_then(parse_bool).unwrap_or(false)
    }

    fn number(&self, key: &str) -> Result<Option<u64>, ApiError> {
        self.get(key)
            .filter(|v| !v.is_empty())
            .map(|v| {
                v.parse().map_err(|_| {
                    ApiError::bad_request(format!(
                        "invalid value for {key}: {v:?}, must be an integer"
                    ))
                })
            })
            .transpose()
    }

    /// List/watch options for `desc`; `named` scopes a watch to one object.
    pub fn list_options(
        &self,
        desc: &ResourceDescriptor,
        named: Option<&str>,
    ) -> Result<ListOptions, ApiError> {
        let label_selector = LabelSelector::parse(self.get("labelSelector").unwrap_or(""))
            .map_err(ApiError::bad_request)?;
        let mut known = vec!["metadata.name", "metadata.namespace"];
        known.extend(
            desc.strategy
                .selectable_fields(&serde_json::Value::Null)
                .into_iter()
                .map(|(f, _)| f),
        );
        let mut fields = self.get("fieldSelector").unwrap_or("").to_string();
        if let Some(name) = named {
            fields = if fields.is_empty() {
                format!("metadata.name={name}")
            } else {
                format!("{fields},metadata.name={name}")
            };
        }
        let field_selector =
            FieldSelector::parse(&fields, &known).map_err(ApiError::bad_request)?;
        Ok(ListOptions {
            label_selector,
            field_selector,
            resource_version: self.get("resourceVersion").map(str::to_string),
            resource_version_match: self.get("resourceVersionMatch").map(str::to_string),
            limit: self.number("limit")?.map(|l| l as usize),
            continue_token: self
                .get("continue")
                .filter(|c| !c.is_empty())
                .map(str::to_string),
            allow_watch_bookmarks: self.flag("allowWatchBookmarks")?.unwrap_or(false),
            timeout_seconds: self.number("timeoutSeconds")?,
            send_initial_events: self.flag("sendInitialEvents")?,
        })
    }

    /// Every value given for `key`, in order (`?dryRun=All&dryRun=All`).
    pub fn all<'a>(&'a self, key: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.0
            .iter()
            .filter(move |(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

/// A boolean query value as upstream parses it (Go's strconv.ParseBool): clients send
/// `true`, `1` or, like the Python client, `True`.
pub fn parse_bool(value: &str) -> Option<bool> {
    match value {
        "1" | "t" | "T" | "true" | "TRUE" | "True" => Some(true),
        "0" | "f" | "F" | "false" | "FALSE" | "False" => Some(false),
        _ => None,
    }
}
