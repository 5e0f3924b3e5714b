//! What every active namespace holds from the start, as upstream's controllers make it:
//! the `default` ServiceAccount (serviceaccount controller) and the `kube-root-ca.crt`
//! ConfigMap with the cluster CA (root-ca-cert publisher), so workloads and tools that
//! expect them find them.
//!
//! Each pass reads the caches only; it writes when something is missing or the CA bundle
//! differs, so a steady cluster costs no Raft proposals.

use serde_json::{json, Value};

use crate::registry::list::{ListOptions, ReadAt};
use crate::registry::{Engine, Registry, RegistryError};

pub const DEFAULT_ACCOUNT: &str = "default";
pub const ROOT_CA_CONFIGMAP: &str = "kube-root-ca.crt";
const ROOT_CA_DESCRIPTION: &str = "Contains a CA bundle that can be used to verify the kube-apiserver when using internal endpoints such as the internal service IP or kubernetes.default.svc. No other usage is guaranteed across distributions of Kubernetes clusters.";

/// One pass over every active namespace.
pub async fn reconcile(registry: &Registry, ca_cert_pem: &str) -> Result<(), RegistryError> {
    let engine = |resource| {
        registry
            .engine("", resource)
            .ok_or_else(|| RegistryError::internal(format!("{resource} are not registered")))
    };
    let (namespaces, accounts, configmaps) = (
        engine("namespaces")?,
        engine("serviceaccounts")?,
        engine("configmaps")?,
    );
    let page = namespaces.list(None, &ListOptions::default()).await?;
    for item in &page.items {
        let namespace = item.decode();
        if namespace["status"]["phase"] != "Active" {
            continue;
        }
        let name = item.name.as_str();
        ensure_default_account(accounts, name).await?;
        ensure_root_ca(configmaps, name, ca_cert_pem).await?;
    }
    Ok(())
}

/// Creates `object` unless it exists; a create racing another writer is fine.
async fn create_missing(
    engine: &Engine,
    namespace: &str,
    object: Value,
) -> Result<(), RegistryError> {
    match engine.create(namespace, object).await {
        Ok(_) | Err(RegistryError::AlreadyExists { .. }) => Ok(()),
        // The namespace began terminating since the list: nothing to add to it.
        Err(RegistryError::Forbidden { .. } | RegistryError::NotFound { .. }) => Ok(()),
        Err(e) => Err(e),
    }
}

async fn ensure_default_account(accounts: &Engine, namespace: &str) -> Result<(), RegistryError> {
    match accounts.get(namespace, DEFAULT_ACCOUNT, ReadAt::Any).await {
        Ok(_) => Ok(()),
        Err(RegistryError::NotFound { .. }) => {
            let account = json!({
                "apiVersion": "v1",
                "kind": "ServiceAccount",
                "metadata": {"name": DEFAULT_ACCOUNT, "namespace": namespace},
            });
            create_missing(accounts, namespace, account).await
        }
        Err(e) => Err(e),
    }
}

fn root_ca_configmap(namespace: &str, ca_cert_pem: &str) -> Value {
    json!({
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": ROOT_CA_CONFIGMAP,
            "namespace": namespace,
            "annotations": {"kubernetes.io/description": ROOT_CA_DESCRIPTION},
        },
        "data": {"ca.crt": ca_cert_pem},
    })
}

async fn ensure_root_ca(
    configmaps: &Engine,
    namespace: &str,
    ca_cert_pem: &str,
) -> Result<(), RegistryError> {
    match configmaps
        .get(namespace, ROOT_CA_CONFIGMAP, ReadAt::Any)
        .await
    {
        Ok(current) => {
            let mut current = current.decode();
            if current["data"]["ca.crt"] == ca_cert_pem {
                return Ok(());
            }
            // Someone changed or emptied it: upstream's publisher puts the bundle back.
            current["data"] = json!({"ca.crt": ca_cert_pem});
            match configmaps
                .update(namespace, ROOT_CA_CONFIGMAP, current, false)
                .await
            {
                Ok(_) | Err(RegistryError::NotFound { .. } | RegistryError::Conflict { .. }) => {
                    Ok(())
                }
                Err(e) => Err(e),
            }
        }
        Err(RegistryError::NotFound { .. }) => {
            create_missing(
                configmaps,
                namespace,
                root_ca_configmap(namespace, ca_cert_pem),
            )
            .await
        }
        Err(e) => Err(e),
    }
}
