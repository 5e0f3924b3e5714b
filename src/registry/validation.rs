//! Validation every kind shares: name formats and object metadata, with upstream's
//! messages (clients and people read them, so they match kube-apiserver's wording).

use serde_json::Value;

use super::error::FieldError;
use super::object;
use super::strategy::{check_name, NameRule};

const SUBDOMAIN_MSG: &str = "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";
const LABEL_MSG: &str = "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')";
const DNS1035_MSG: &str = "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')";
const QUALIFIED_NAME_MSG: &str = "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')";
const LABEL_VALUE_MSG: &str = "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')";

const MAX_ANNOTATIONS_BYTES: usize = 256 * 1024;

fn lower_alnum(c: char) -> bool {
    c.is_ascii_lowercase() || c.is_ascii_digit()
}

fn is_label(s: &str, first: fn(char) -> bool) -> bool {
    let mut chars = s.chars();
    let starts = chars.next().is_some_and(first);
    starts && s.chars().all(|c| lower_alnum(c) || c == '-') && s.ends_with(lower_alnum)
}

pub fn dns1123_label(s: &str) -> Vec<String> {
    let mut errs = Vec::new();
    if s.len() > 63 {
        errs.push("must be no more than 63 characters".to_string());
    }
    if !is_label(s, lower_alnum) {
        errs.push(LABEL_MSG.to_string());
    }
    errs
}

pub fn dns1123_subdomain(s: &str) -> Vec<String> {
    let mut errs = Vec::new();
    if s.len() > 253 {
        errs.push("must be no more than 253 characters".to_string());
    }
    if s.is_empty() || !s.split('.').all(|part| is_label(part, lower_alnum)) {
        errs.push(SUBDOMAIN_MSG.to_string());
    }
    errs
}

pub fn dns1035_label(s: &str) -> Vec<String> {
    let mut errs = Vec::new();
    if s.len() > 63 {
        errs.push("must be no more than 63 characters".to_string());
    }
    if !is_label(s, |c| c.is_ascii_lowercase()) {
        errs.push(DNS1035_MSG.to_string());
    }
    errs
}

pub fn path_segment(s: &str) -> Vec<String> {
    match s {
        "." => vec!["may not be '.'".into()],
        ".." => vec!["may not be '..'".into()],
        _ if s.contains('/') => vec!["may not contain '/'".into()],
        _ if s.contains('%') => vec!["may not contain '%'".into()],
        _ => Vec::new(),
    }
}

fn alnum(c: char) -> bool {
    c.is_ascii_alphanumeric()
}

fn is_label_value_chars(s: &str) -> bool {
    s.starts_with(alnum)
        && s.ends_with(alnum)
        && s.chars().all(|c| alnum(c) || matches!(c, '-' | '_' | '.'))
}

/// A label or annotation key: `[prefix/]name`.
pub fn qualified_name(key: &str) -> Vec<String> {
    let (prefix, name) = match key.split_once('/') {
        Some((prefix, name)) => (Some(prefix), name),
        None => (None, key),
    };
    let mut errs = Vec::new();
    if let Some(prefix) = prefix {
        if prefix.is_empty() {
            errs.push("prefix part must be non-empty".to_string());
        } else {
            errs.extend(
                dns1123_subdomain(prefix)
                    .into_iter()
                    .map(|m| format!("prefix part {m}")),
            );
        }
    }
    if name.is_empty() {
        errs.push("name part must be non-empty".to_string());
    } else {
        if name.len() > 63 {
            errs.push("name part must be no more than 63 characters".to_string());
        }
        if !is_label_value_chars(name) {
            errs.push(QUALIFIED_NAME_MSG.to_string());
        }
    }
    errs
}

pub fn label_value(value: &str) -> Vec<String> {
    let mut errs = Vec::new();
    if value.len() > 63 {
        errs.push("must be no more than 63 characters".to_string());
    }
    if !value.is_empty() && !is_label_value_chars(value) {
        errs.push(LABEL_VALUE_MSG.to_string());
    }
    errs
}

/// Metadata checks shared by every kind: name, namespace, labels, annotations.
pub fn object_meta(obj: &Value, rule: NameRule, namespaced: bool) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let name = object::name(obj);
    if name.is_empty() {
        errs.push(FieldError::required(
            "metadata.name",
            "name or generateName is required",
        ));
    } else {
        errs.extend(
            check_name(rule, name)
                .into_iter()
                .map(|m| FieldError::invalid("metadata.name", name, m)),
        );
    }
    let namespace = object::namespace(obj);
    if namespaced && namespace.is_empty() {
        errs.push(FieldError::required("metadata.namespace", ""));
    } else if namespaced {
        errs.extend(
            dns1123_label(namespace)
                .into_iter()
                .map(|m| FieldError::invalid("metadata.namespace", namespace, m)),
        );
    } else if !namespace.is_empty() {
        errs.push(FieldError::forbidden(
            "metadata.namespace",
            "not allowed on this type",
        ));
    }
    errs.extend(labels(obj));
    errs.extend(annotations(obj));
    errs
}

fn labels(obj: &Value) -> Vec<FieldError> {
    let mut errs = Vec::new();
    for (key, value) in object::string_map(obj, "labels") {
        errs.extend(
            qualified_name(&key)
                .into_iter()
                .map(|m| FieldError::invalid("metadata.labels", &key, m)),
        );
        errs.extend(
            label_value(&value)
                .into_iter()
                .map(|m| FieldError::invalid("metadata.labels", &value, m)),
        );
    }
    errs.extend(non_string_values(obj, "labels"));
    errs
}

fn annotations(obj: &Value) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let mut total = 0;
    for (key, value) in object::string_map(obj, "annotations") {
        total += key.len() + value.len();
        errs.extend(
            qualified_name(&key.to_lowercase())
                .into_iter()
                .map(|m| FieldError::invalid("metadata.annotations", &key, m)),
        );
    }
    if total > MAX_ANNOTATIONS_BYTES {
        errs.push(FieldError::too_long(
            "metadata.annotations",
            MAX_ANNOTATIONS_BYTES,
        ));
    }
    errs.extend(non_string_values(obj, "annotations"));
    errs
}

/// Labels and annotations are string maps; anything else is a decode error upstream.
fn non_string_values(obj: &Value, field: &str) -> Vec<FieldError> {
    let Some(map) = object::meta(obj).and_then(|m| m.get(field)) else {
        return Vec::new();
    };
    match map {
        Value::Null => Vec::new(),
        Value::Object(m) => m
            .iter()
            .filter(|(_, v)| !v.is_string())
            .map(|(k, _)| {
                FieldError::invalid(format!("metadata.{field}.{k}"), "", "must be a string")
            })
            .collect(),
        _ => vec![FieldError::invalid(
            format!("metadata.{field}"),
            "",
            "must be a map of strings",
        )],
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn names() {
        assert!(dns1123_subdomain("my-config.v1").is_empty());
        assert!(!dns1123_subdomain("Upper").is_empty());
        assert!(!dns1123_subdomain("-lead").is_empty());
        assert!(!dns1123_subdomain("a..b").is_empty());
        assert!(!dns1123_subdomain(&"a".repeat(254)).is_empty());
        assert!(dns1123_label("kube-system").is_empty());
        assert!(!dns1123_label("a.b").is_empty());
        assert!(!dns1035_label("1abc").is_empty());
        assert!(dns1035_label("abc1").is_empty());
        assert!(path_segment("system:masters").is_empty());
        assert!(!path_segment("a/b").is_empty());
    }

    #[test]
    fn label_keys_and_values() {
        assert!(qualified_name("app.kubernetes.io/name").is_empty());
        assert!(qualified_name("Name_1").is_empty());
        assert!(!qualified_name("/x").is_empty());
        assert!(!qualified_name("bad key").is_empty());
        assert!(label_value("").is_empty());
        assert!(!label_value("-x").is_empty());
        assert!(!label_value(&"v".repeat(64)).is_empty());
    }

    #[test]
    fn metadata_causes_name_fields() {
        let obj = json!({"metadata": {"name": "Bad_Name", "namespace": "default", "labels": {"ok": "-bad"}}});
        let errs = object_meta(&obj, NameRule::DnsSubdomain, true);
        let fields: Vec<_> = errs.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, vec!["metadata.name", "metadata.labels"]);
        let cluster = json!({"metadata": {"name": "x", "namespace": "default"}});
        assert_eq!(
            object_meta(&cluster, NameRule::DnsLabel, false)[0].reason,
            "FieldValueForbidden"
        );
    }
}
