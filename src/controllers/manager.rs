//! The controller manager actor: one per replica, ticking every two seconds.
//!
//! Every fifth tick renews this replica's identity Lease; every tick tries to take or
//! renew the controller Lease, and while it holds that Lease it runs each controller's
//! reconcile step.
//! A tick's work runs as one future owned by the actor; a tick that finds the previous one
//! still running is skipped, so a slow cluster never piles up work. The controllers' pass
//! is a future of its own, so a long one (emptying a large namespace) never delays the
//! Lease renewals; a tick that finds it still running starts no other.

use std::sync::Arc;
use std::time::Duration;

use actix::{Actor, ActorFutureExt, AsyncContext, Context, WrapFuture};
use serde_json::json;

use super::gc::graph::Graph;
use super::kubernetes_service::{self, ENDPOINT_ANNOTATION};
use super::lease::{self, Observed};
use super::{gc, namespace, root_ca, service_account, Identity};
use crate::registry::{Registry, RegistryError};

/// The Lease the controller-running replica holds.
pub const CONTROLLER_LEASE: &str = "keelson-controller-manager";
const TICK: Duration = Duration::from_secs(2);
/// How long the controller Lease is honoured without renewal (client-go's default).
const LEASE_DURATION: Duration = Duration::from_secs(15);
/// Identity Leases are renewed every this many ticks (10 s, as upstream's), and a replica
/// whose Lease is older than `IDENTITY_TTL` leaves the `default/kubernetes` Endpoints.
const IDENTITY_EVERY: u32 = 5;
const IDENTITY_TTL: Duration = Duration::from_secs(25);

pub struct ControllerManager {
    registry: Arc<Registry>,
    identity: Identity,
    busy: bool,
    /// A controllers' pass is running. It runs apart from the Lease renewals, so a long
    /// pass (emptying a large namespace) never lets the Leases lapse.
    reconciling: bool,
    ticks: u32,
    leading: bool,
    controller_lease: Option<Observed>,
    /// The garbage collector's dependency graph, kept between passes (only one pass
    /// runs at a time, so the lock is never contended).
    gc_graph: Arc<tokio::sync::Mutex<Graph>>,
}

impl ControllerManager {
    pub fn new(registry: Arc<Registry>, identity: Identity) -> Self {
        Self {
            registry,
            identity,
            busy: false,
            reconciling: false,
            ticks: 0,
            leading: false,
            controller_lease: Some(Observed::default()),
            gc_graph: Arc::default(),
        }
    }

    fn tick(&mut self, ctx: &mut Context<Self>) {
        if self.busy {
            return;
        }
        let Some(mut observed) = self.controller_lease.take() else {
            return;
        };
        self.busy = true;
        let renew_identity = self.ticks.is_multiple_of(IDENTITY_EVERY);
        self.ticks = self.ticks.wrapping_add(1);
        let registry = self.registry.clone();
        let identity = self.identity.clone();
        let work = async move {
            let leading = run_tick(&registry, &identity, renew_identity, &mut observed).await;
            (leading, observed)
        };
        ctx.spawn(
            work.into_actor(self)
                .map(|(leading, observed), actor, ctx| {
                    if leading != actor.leading {
                        tracing::info!(leading, "controller leadership changed");
                    }
                    actor.leading = leading;
                    actor.controller_lease = Some(observed);
                    actor.busy = false;
                    if leading {
                        actor.reconcile(ctx);
                    }
                }),
        );
    }

    /// Starts a controllers' pass unless one is still running.
    fn reconcile(&mut self, ctx: &mut Context<Self>) {
        if self.reconciling {
            return;
        }
        self.reconciling = true;
        let registry = self.registry.clone();
        let identity = self.identity.clone();
        let graph = self.gc_graph.clone();
        let pass = async move { run_controllers(&registry, &identity, &graph).await };
        ctx.spawn(
            pass.into_actor(self)
                .map(|(), actor, _| actor.reconciling = false),
        );
    }
}

impl Actor for ControllerManager {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        self.tick(ctx);
        ctx.run_interval(TICK, |actor, ctx| actor.tick(ctx));
    }
}

/// One tick; returns whether this replica holds the controller Lease.
async fn run_tick(
    registry: &Registry,
    identity: &Identity,
    renew_identity: bool,
    observed: &mut Observed,
) -> bool {
    let Some(leases) = registry.engine("coordination.k8s.io", "leases") else {
        return false;
    };
    let holder = identity.holder();
    let annotations = json!({ ENDPOINT_ANNOTATION: format!("{}:{}", identity.ip, identity.port) });
    // The identity Lease is this replica's alone: renew it unconditionally.
    if renew_identity {
        let mut own = Observed::default();
        let renewed = lease::acquire(
            leases,
            &holder,
            &holder,
            IDENTITY_TTL,
            &mut own,
            &annotations,
        )
        .await;
        if let Err(e) = renewed {
            log_unavailable("renewing this replica's identity Lease", &e);
        }
    }
    let leading = match lease::acquire(
        leases,
        CONTROLLER_LEASE,
        &holder,
        LEASE_DURATION,
        observed,
        &json!({}),
    )
    .await
    {
        Ok(leading) => leading,
        Err(e) => {
            log_unavailable("renewing the controller Lease", &e);
            false
        }
    };
    leading
}

/// Each controller's pass, on the replica that holds the controller Lease. One failing
/// does not keep the others from running; the next tick retries it.
async fn run_controllers(
    registry: &Registry,
    identity: &Identity,
    gc_graph: &tokio::sync::Mutex<Graph>,
) {
    if let Err(e) = kubernetes_service::reconcile(registry, identity, IDENTITY_TTL).await {
        log_unavailable("reconciling default/kubernetes", &e);
    }
    if let Err(e) = namespace::reconcile(registry).await {
        log_unavailable("finishing terminating namespaces", &e);
    }
    if let Err(e) = service_account::reconcile(registry).await {
        log_unavailable("creating default service accounts", &e);
    }
    if let Err(e) = root_ca::reconcile(registry, &identity.ca_cert_pem).await {
        log_unavailable("publishing kube-root-ca.crt", &e);
    }
    if let Err(e) = gc::reconcile(registry, &mut *gc_graph.lock().await).await {
        log_unavailable("collecting garbage", &e);
    }
}

fn log_unavailable(what: &str, error: &RegistryError) {
    match error {
        // Expected while the cluster has no leader; the next tick retries.
        RegistryError::Unavailable { .. } | RegistryError::Timeout { .. } => {
            tracing::debug!(%error, "{what}")
        }
        _ => tracing::warn!(%error, "{what}"),
    }
}
