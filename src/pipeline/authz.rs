//! Authorization: may this user do this.
//!
//! Until RBAC enforcement arrives, every authenticated user is allowed (upstream's
//! AlwaysAllow for them) and anonymous users may read only the public health and version
//! endpoints (upstream's `system:public-info-viewer`). keelson's own cluster
//! administration paths (`/keelson/...`: members) are for `system:masters` only. Deny by
//! default.

use super::authn::UserInfo;
use crate::http::request_info::RequestInfo;

#[derive(Debug, PartialEq, Eq)]
pub enum Decision {
    Allow,
    Deny(String),
}

const PUBLIC_PATHS: &[&str] = &["/healthz", "/livez", "/readyz", "/version"];
/// Non-resource paths that change or reveal the cluster's membership.
const ADMIN_PREFIX: &str = "/keelson/";
const ADMIN_GROUP: &str = "system:masters";

fn is_public(path: &str) -> bool {
    PUBLIC_PATHS.iter().any(|p| {
        path == *p
            || path
                .strip_prefix(p)
                .is_some_and(|rest| rest.starts_with('/'))
    })
}

pub fn authorize(user: &UserInfo, info: &RequestInfo) -> Decision {
    let span = tracing::trace_span!("authorization", user = %user.name, verb = %info.verb);
    let _entered = span.enter();
    if !info.is_resource_request && info.path.starts_with(ADMIN_PREFIX) {
        return if user.in_group(ADMIN_GROUP) {
            Decision::Allow
        } else {
            Decision::Deny(forbidden_message(user, info))
        };
    }
    if !user.is_anonymous() {
        return Decision::Allow;
    }
    if !info.is_resource_request && info.verb == "get" && is_public(&info.path) {
        return Decision::Allow;
    }
    Decision::Deny(forbidden_message(user, info))
}

/// Upstream's wording of a denial.
pub fn forbidden_message(user: &UserInfo, info: &RequestInfo) -> String {
    if !info.is_resource_request {
        return format!(
            "forbidden: User \"{}\" cannot {} path \"{}\"",
            user.name, info.verb, info.path
        );
    }
    let resource = if info.subresource.is_empty() {
        info.resource.clone()
    } else {
        format!("{}/{}", info.resource, info.subresource)
    };
    let scope = if info.namespace.is_empty() {
        "at the cluster scope".to_string()
    } else {
        format!("in the namespace \"{}\"", info.namespace)
    };
    let target = if info.name.is_empty() {
        resource.clone()
    } else {
        format!("{resource} \"{}\"", info.name)
    };
    format!("{target} is forbidden: User \"{}\" cannot {} resource \"{resource}\" in API group \"{}\" {scope}", user.name, info.verb, info.group)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::request_info::parse;

    #[test]
    fn anonymous_reads_only_public_paths() {
        let anonymous = UserInfo::anonymous();
        assert_eq!(
            authorize(&anonymous, &parse("GET", "/readyz", None)),
            Decision::Allow
        );
        assert_eq!(
            authorize(&anonymous, &parse("GET", "/livez/ping", None)),
            Decision::Allow
        );
        let Decision::Deny(message) = authorize(
            &anonymous,
            &parse("GET", "/api/v1/namespaces/default/configmaps", None),
        ) else {
            panic!("allowed")
        };
        assert_eq!(message, "configmaps is forbidden: User \"system:anonymous\" cannot list resource \"configmaps\" in API group \"\" in the namespace \"default\"");
        let admin = UserInfo {
            name: "kubernetes-admin".into(),
            groups: vec!["system:masters".into()],
        };
        assert_eq!(
            authorize(&admin, &parse("DELETE", "/api/v1/namespaces/x", None)),
            Decision::Allow
        );
    }

    #[test]
    fn membership_is_for_cluster_admins_only() {
        let members = parse("GET", "/keelson/v1/members", None);
        let admin = UserInfo {
            name: "kubernetes-admin".into(),
            groups: vec!["system:masters".into(), "system:authenticated".into()],
        };
        let developer = UserInfo {
            name: "dev".into(),
            groups: vec!["system:authenticated".into()],
        };
        assert_eq!(authorize(&admin, &members), Decision::Allow);
        assert!(matches!(authorize(&developer, &members), Decision::Deny(_)));
        assert!(matches!(
            authorize(&UserInfo::anonymous(), &members),
            Decision::Deny(_)
        ));
    }
}
