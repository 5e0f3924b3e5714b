//! The `default` ServiceAccount in every active namespace, as upstream's serviceaccount
//! controller makes it, so workloads and tools that expect it find it.
//!
//! Each pass reads the caches only and writes only what is missing, so a steady cluster
//! costs no Raft proposals. (The `kube-root-ca.crt` ConfigMap, upstream's
//! root-ca-cert publisher, is [`super::root_ca`].)

use serde_json::{json, Value};

use crate::registry::list::ReadAt;
use crate::registry::{Engine, Registry, RegistryError};

pub const DEFAULT_ACCOUNT: &str = "default";

/// One pass over every active namespace.
pub async fn reconcile(registry: &Registry) -> Result<(), RegistryError> {
    let engine = |resource| {
        registry
            .engine("", resource)
            .ok_or_else(|| RegistryError::internal(format!("{resource} are not registered")))
    };
    let (namespaces, accounts) = (engine("namespaces")?, engine("serviceaccounts")?);
    let page = namespaces.list(None, &super::namespace::cached()).await?;
    for item in &page.items {
        let namespace = item.decode();
        if namespace["status"]["phase"] != "Active" {
            continue;
        }
        let name = item.name.as_str();
        ensure_default_account(accounts, name).await?;
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
