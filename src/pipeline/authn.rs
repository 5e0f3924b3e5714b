//! Authentication: who is calling.
//!
//! A client certificate verified by TLS against the cluster CA names the user (CN) and
//! groups (O), as upstream's x509 authenticator does; a request without one is
//! `system:anonymous`. Bearer tokens come with service accounts and RBAC.

use crate::pki::CertSubject;

/// The authenticated user, carried in request extensions.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UserInfo {
    pub name: String,
    pub groups: Vec<String>,
}

pub const ANONYMOUS: &str = "system:anonymous";

impl UserInfo {
    pub fn anonymous() -> Self {
        Self {
            name: ANONYMOUS.into(),
            groups: vec!["system:unauthenticated".into()],
        }
    }

    pub fn is_anonymous(&self) -> bool {
        self.name == ANONYMOUS
    }

    pub fn in_group(&self, group: &str) -> bool {
        self.groups.iter().any(|g| g == group)
    }
}

/// The user a verified client certificate stands for.
pub fn authenticate(certificate: Option<&CertSubject>) -> UserInfo {
    let span = tracing::trace_span!("authentication");
    let _entered = span.enter();
    match certificate {
        Some(subject) => {
            let mut groups = subject.organizations.clone();
            groups.push("system:authenticated".into());
            UserInfo {
                name: subject.common_name.clone(),
                groups,
            }
        }
        None => UserInfo::anonymous(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn certificate_subject_becomes_user_and_groups() {
        let subject = CertSubject {
            common_name: "kubernetes-admin".into(),
            organizations: vec!["system:masters".into()],
        };
        let user = authenticate(Some(&subject));
        assert_eq!(user.name, "kubernetes-admin");
        assert!(user.in_group("system:masters") && user.in_group("system:authenticated"));
        assert!(authenticate(None).is_anonymous());
    }
}
