//! Deletion propagation: what a delete asks the garbage collector to do with the
//! object's dependents (DeleteOptions `propagationPolicy` and the legacy
//! `orphanDependents`), and the finalizers that carry that request until it is done.
//!
//! As upstream's store, a delete that orphans or deletes dependents in the foreground
//! does not remove the object: it marks it terminating with the `orphan` or
//! `foregroundDeletion` finalizer, which the garbage collector removes once it has done
//! its part. Background deletion (upstream's default for every kind keelson serves: only
//! the old extensions/v1beta1 and apps/v1beta* versions default to orphaning) removes the
//! object at once and leaves the dependents to the collector.

use serde_json::Value;

use super::error::{FieldError, RegistryError, Subject};
use super::object;

pub const ORPHAN_FINALIZER: &str = "orphan";
pub const FOREGROUND_FINALIZER: &str = "foregroundDeletion";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Propagation {
    Background,
    Foreground,
    Orphan,
}

impl Propagation {
    /// Reads `propagationPolicy` and `orphanDependents` as a client sent them (body or
    /// query); `None` when neither was given. Both at once, or an unknown policy, is
    /// upstream's 422 on DeleteOptions.
    pub fn from_options(
        policy: Option<&str>,
        orphan_dependents: Option<bool>,
    ) -> Result<Option<Self>, RegistryError> {
        let invalid = |cause: FieldError| {
            let message = format!(
                "DeleteOptions.meta.k8s.io \"\" is invalid: {}: {}",
                cause.field, cause.message
            );
            RegistryError::Invalid {
                subject: Subject {
                    group: "meta.k8s.io".into(),
                    kind: "DeleteOptions".into(),
                    name: String::new(),
                },
                message,
                causes: vec![cause],
            }
        };
        if let (Some(policy), Some(_)) = (policy, orphan_dependents) {
            return Err(invalid(FieldError::invalid(
                "propagationPolicy",
                policy,
                "orphanDependents and deletionPropagation cannot be both set",
            )));
        }
        match (policy, orphan_dependents) {
            (Some("Background"), _) => Ok(Some(Self::Background)),
            (Some("Foreground"), _) => Ok(Some(Self::Foreground)),
            (Some("Orphan"), _) => Ok(Some(Self::Orphan)),
            (Some(other), _) => Err(invalid(FieldError {
                reason: "FieldValueNotSupported",
                message: format!(
                    "Unsupported value: {}: supported values: \"Foreground\", \"Background\", \"Orphan\", \"nil\"",
                    Value::from(other)
                ),
                field: "propagationPolicy".into(),
            })),
            (None, Some(true)) => Ok(Some(Self::Orphan)),
            (None, Some(false)) => Ok(Some(Self::Background)),
            (None, None) => Ok(None),
        }
    }

    /// Sets the garbage collector's finalizers on `obj` for this policy (the one it asks
    /// for present, the other absent). Returns whether anything changed.
    pub fn apply_finalizers(self, obj: &mut Value) -> bool {
        let before = object::finalizers(obj);
        let mut after: Vec<String> = before
            .iter()
            .filter(|f| *f != ORPHAN_FINALIZER && *f != FOREGROUND_FINALIZER)
            .cloned()
            .collect();
        match self {
            Self::Orphan => after.push(ORPHAN_FINALIZER.into()),
            Self::Foreground => after.push(FOREGROUND_FINALIZER.into()),
            Self::Background => {}
        }
        // Keep the client's order when the set is the same.
        let same = before.len() == after.len() && after.iter().all(|f| before.contains(f));
        if same {
            return false;
        }
        if after.is_empty() {
            object::remove_meta(obj, "finalizers");
        } else {
            object::set_meta(obj, "finalizers", Value::from(after));
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn options_parse_as_upstream() {
        let parse = Propagation::from_options;
        assert_eq!(parse(None, None).unwrap(), None);
        assert_eq!(
            parse(Some("Foreground"), None).unwrap(),
            Some(Propagation::Foreground)
        );
        assert_eq!(parse(None, Some(true)).unwrap(), Some(Propagation::Orphan));
        assert_eq!(
            parse(None, Some(false)).unwrap(),
            Some(Propagation::Background)
        );
        let both = parse(Some("Orphan"), Some(true)).unwrap_err();
        assert!(both.to_string().contains("cannot be both set"), "{both}");
        let bad = parse(Some("Sideways"), None).unwrap_err();
        assert!(bad.to_string().contains("Unsupported value: \"Sideways\""));
    }

    #[test]
    fn finalizers_follow_the_policy() {
        let mut obj = json!({"metadata": {"finalizers": ["a", "orphan"]}});
        assert!(!Propagation::Orphan.apply_finalizers(&mut obj));
        assert!(Propagation::Foreground.apply_finalizers(&mut obj));
        assert_eq!(
            obj["metadata"]["finalizers"],
            json!(["a", "foregroundDeletion"])
        );
        assert!(Propagation::Background.apply_finalizers(&mut obj));
        assert_eq!(obj["metadata"]["finalizers"], json!(["a"]));
        let mut bare = json!({"metadata": {}});
        assert!(!Propagation::Background.apply_finalizers(&mut bare));
    }
}
