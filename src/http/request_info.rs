//! Request info: what a request is about, parsed once from method, path and query at the
//! edge and carried as a typed value (upstream's `RequestInfoFactory`).

/// The parsed target of a request.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RequestInfo {
    pub is_resource_request: bool,
    pub path: String,
    /// get, list, watch, create, update, patch, delete, deletecollection (resource
    /// requests), or the lower-case HTTP method (non-resource requests).
    pub verb: String,
    pub api_prefix: String,
    pub group: String,
    pub version: String,
    pub namespace: String,
    pub resource: String,
    pub subresource: String,
    pub name: String,
}

/// Subresources addressed as `namespaces/<name>/<subresource>`.
const NAMESPACE_SUBRESOURCES: &[&str] = &["status", "finalize"];

fn non_resource(method: &str, path: &str) -> RequestInfo {
    RequestInfo {
        is_resource_request: false,
        path: path.to_string(),
        verb: method.to_lowercase(),
        ..Default::default()
    }
}

/// Parses `method path?query`; `watch_param` is the value of `?watch=`.
pub fn parse(method: &str, path: &str, watch_param: Option<&str>) -> RequestInfo {
    let parts: Vec<&str> = path
        .trim_matches('/')
        .split('/')
        .filter(|p| !p.is_empty())
        .collect();
    let (api_prefix, rest) = match parts.split_first() {
        Some((&"api", rest)) => ("api", rest),
        Some((&"apis", rest)) => ("apis", rest),
        _ => return non_resource(method, path),
    };
    let (group, version, mut rest) = match (api_prefix, rest) {
        ("api", [version, rest @ ..]) => ("", *version, rest),
        ("apis", [group, version, rest @ ..]) => (*group, *version, rest),
        _ => return non_resource(method, path),
    };
    let mut info = RequestInfo {
        is_resource_request: true,
        path: path.to_string(),
        api_prefix: api_prefix.into(),
        group: group.into(),
        version: version.into(),
        ..Default::default()
    };
    let mut legacy_watch = false;
    if rest.first() == Some(&"watch") {
        legacy_watch = true;
        rest = &rest[1..];
    }
    if rest.first() == Some(&"namespaces") {
        if let Some(namespace) = rest.get(1) {
            info.namespace = namespace.to_string();
            if rest.len() > 2 && !NAMESPACE_SUBRESOURCES.contains(&rest[2]) {
                rest = &rest[2..];
            }
        }
    }
    if rest.is_empty() {
        return non_resource(method, path);
    }
    info.resource = rest[0].to_string();
    info.name = rest.get(1).map(|s| s.to_string()).unwrap_or_default();
    info.subresource = rest.get(2).map(|s| s.to_string()).unwrap_or_default();
    if rest.len() > 3 {
        // Deeper paths are subresource paths upstream serves only for proxies.
        info.subresource = rest[2..].join("/");
    }
    let watching = legacy_watch || watch_param.and_then(super::query::parse_bool) == Some(true);
    info.verb = match (method, info.name.is_empty()) {
        ("GET" | "HEAD", _) if watching => "watch",
        ("GET" | "HEAD", true) => "list",
        ("GET" | "HEAD", false) => "get",
        ("POST", _) => "create",
        ("PUT", _) => "update",
        ("PATCH", _) => "patch",
        ("DELETE", true) => "deletecollection",
        ("DELETE", false) => "delete",
        (other, _) => {
            return RequestInfo {
                verb: other.to_lowercase(),
                ..info
            }
        }
    }
    .to_string();
    info
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resource_paths() {
        let i = parse("GET", "/api/v1/namespaces/default/configmaps/x", None);
        assert_eq!(
            (
                i.verb.as_str(),
                i.namespace.as_str(),
                i.resource.as_str(),
                i.name.as_str()
            ),
            ("get", "default", "configmaps", "x")
        );
        let i = parse("GET", "/apis/apps/v1/deployments", Some("true"));
        assert_eq!(
            (i.verb.as_str(), i.group.as_str(), i.resource.as_str()),
            ("watch", "apps", "deployments")
        );
        let i = parse("PUT", "/api/v1/namespaces/ns1/status", None);
        assert_eq!(
            (i.resource.as_str(), i.name.as_str(), i.subresource.as_str()),
            ("namespaces", "ns1", "status")
        );
        let i = parse("DELETE", "/api/v1/namespaces/a/pods", None);
        assert_eq!(i.verb, "deletecollection");
        let i = parse("GET", "/api/v1/watch/namespaces/a/pods", None);
        assert_eq!((i.verb.as_str(), i.resource.as_str()), ("watch", "pods"));
    }

    #[test]
    fn non_resource_paths() {
        for p in [
            "/healthz",
            "/api",
            "/apis",
            "/apis/apps",
            "/api/v1",
            "/openapi/v2",
            "/openapi/v3",
            "/openapi/v3/apis/apps/v1",
            "/openapi/v3/api/v1",
            "/",
        ] {
            assert!(!parse("GET", p, None).is_resource_request, "{p}");
        }
    }
}
