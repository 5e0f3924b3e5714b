//! Built-in controllers: the parts of the cluster's own life cycle the API server runs
//! itself, on exactly one replica at a time.
//!
//! [`manager::ControllerManager`] is an actor on every replica. It keeps this replica's
//! identity Lease fresh (`kube-system/keelson-apiserver-<node id>`, carrying the address
//! clients reach it at), and takes part in the election for the controller Lease
//! (`kube-system/keelson-controller-manager`, client-go's leader election rules). Only
//! the holder runs the controllers; when it dies another replica takes over once the
//! Lease expires. The controllers: [`kubernetes_service`] (the `default/kubernetes`
//! Service and Endpoints listing the live replicas, upstream's lease endpoint
//! reconciler), [`namespace`] (empties Terminating namespaces, then removes their
//! finalizer), [`service_account`] (the `default` ServiceAccount in every namespace),
//! [`root_ca`] (the `kube-root-ca.crt` ConfigMap in every namespace)
//! and [`gc`] (the garbage collector: ownerReferences, foreground and orphan deletion).

pub mod gc;
pub mod kubernetes_service;
pub mod lease;
pub mod manager;
pub mod namespace;
pub mod root_ca;
pub mod service_account;

/// Who this replica is, as the controllers publish it.
#[derive(Clone, Debug)]
pub struct Identity {
    pub node_id: u64,
    /// The IP address clients reach this replica's API at.
    pub ip: String,
    /// The API port.
    pub port: u16,
    /// The cluster CA certificate (PEM) that `kube-root-ca.crt` publishes.
    pub ca_cert_pem: std::sync::Arc<str>,
}

impl Identity {
    /// The holder identity this replica writes into Leases.
    pub fn holder(&self) -> String {
        format!("keelson-apiserver-{}", self.node_id)
    }
}
