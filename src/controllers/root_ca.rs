//! The `kube-root-ca.crt` ConfigMap in every active namespace, as upstream's
//! root-ca-cert-publisher keeps it: `data["ca.crt"]` holds the cluster CA certificate, so
//! workloads can verify the API server at its in-cluster addresses.
//!
//! Each pass reads the caches only and writes only what is missing or differs: a deleted
//! ConfigMap is created again, an edited one gets its data and description back (other
//! labels and annotations a user added are kept, as upstream).

use serde_json::{json, Map, Value};

use crate::registry::list::ReadAt;
use crate::registry::{Engine, Registry, RegistryError};

pub const NAME: &str = "kube-root-ca.crt";
pub const DESCRIPTION_ANNOTATION: &str = "kubernetes.io/description";
/// Upstream's wording of the annotation, which clients may show.
pub const DESCRIPTION: &str = "Contains a CA bundle that can be used to verify the kube-apiserver when using internal endpoints such as the internal service IP or kubernetes.default.svc. No other usage is guaranteed across distributions of Kubernetes clusters.";

/// One pass over every active namespace.
pub async fn reconcile(registry: &Registry, ca_cert_pem: &str) -> Result<(), RegistryError> {
    let engine = |resource| {
        registry
            .engine("", resource)
            .ok_or_else(|| RegistryError::internal(format!("{resource} are not registered")))
    };
    let (namespaces, configmaps) = (engine("namespaces")?, engine("configmaps")?);
    let page = namespaces.list(None, &super::namespace::cached()).await?;
    for item in &page.items {
        if item.decode()["status"]["phase"] != "Active" {
            continue;
        }
        if let Err(e) = publish(configmaps, &item.name, ca_cert_pem).await {
            tracing::debug!(namespace = %item.name, error = %e, "publishing kube-root-ca.crt");
        }
    }
    Ok(())
}

fn wanted_data(ca_cert_pem: &str) -> Value {
    json!({ "ca.crt": ca_cert_pem })
}

/// Whether `configmap` already says what the publisher wants it to.
fn is_current(configmap: &Value, ca_cert_pem: &str) -> bool {
    configmap.get("data") == Some(&wanted_data(ca_cert_pem))
        && configmap["metadata"]["annotations"][DESCRIPTION_ANNOTATION]
            .as_str()
            .is_some_and(|d| !d.is_empty())
}

async fn publish(
    configmaps: &Engine,
    namespace: &str,
    ca_cert_pem: &str,
) -> Result<(), RegistryError> {
    match configmaps.get(namespace, NAME, ReadAt::Any).await {
        Ok(current) => {
            let mut configmap = current.decode();
            if is_current(&configmap, ca_cert_pem) {
                return Ok(());
            }
            correct(&mut configmap, ca_cert_pem);
            tracing::info!(namespace, "correcting kube-root-ca.crt");
            // The resourceVersion read is the precondition: a concurrent edit wins and the
            // next pass looks again.
            configmaps.update(namespace, NAME, configmap, false).await?;
        }
        Err(RegistryError::NotFound { .. }) => {
            let configmap = json!({
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": {
                    "name": NAME,
                    "namespace": namespace,
                    "annotations": { DESCRIPTION_ANNOTATION: DESCRIPTION },
                },
                "data": wanted_data(ca_cert_pem),
            });
            match configmaps.create(namespace, configmap).await {
                Ok(_) | Err(RegistryError::AlreadyExists { .. }) => {}
                // The namespace went away or began terminating meanwhile.
                Err(RegistryError::NotFound { .. } | RegistryError::Forbidden { .. }) => {}
                Err(e) => return Err(e),
            }
        }
        Err(e) => return Err(e),
    }
    Ok(())
}

/// Puts back the data and the description, keeping everything else.
fn correct(configmap: &mut Value, ca_cert_pem: &str) {
    let Some(map) = configmap.as_object_mut() else {
        return;
    };
    map.insert("data".into(), wanted_data(ca_cert_pem));
    let meta = crate::registry::object::meta_mut(configmap);
    let annotations = meta
        .entry("annotations")
        .or_insert_with(|| Value::Object(Map::new()));
    if !annotations.is_object() {
        *annotations = Value::Object(Map::new());
    }
    if let Some(annotations) = annotations.as_object_mut() {
        annotations.insert(DESCRIPTION_ANNOTATION.into(), Value::from(DESCRIPTION));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_edited_configmap_is_corrected_and_keeps_user_metadata() {
        let mut cm = json!({
            "metadata": {"name": NAME, "labels": {"a": "b"}, "annotations": {"x": "y"}},
            "data": {"ca.crt": "tampered", "extra": "1"},
        });
        assert!(!is_current(&cm, "PEM"));
        correct(&mut cm, "PEM");
        assert!(is_current(&cm, "PEM"));
        assert_eq!(cm["data"], json!({"ca.crt": "PEM"}));
        assert_eq!(cm["metadata"]["labels"], json!({"a": "b"}));
        assert_eq!(cm["metadata"]["annotations"]["x"], "y");
    }
}
