//! Routes each applied step's changes to the actors of the kinds they belong to, in
//! order, and then advances the applied-revision progress that readers wait on.
//!
//! Progress moves only after every affected actor has handled the step, so a reader that
//! sees progress ≥ R finds every write up to R in the views it loads next.

use std::sync::Arc;

use actix::Addr;
use tokio::sync::watch;

use super::cache::{load_view, ApplyChanges, KindCache, Reload};
use super::descriptor::ResourceDescriptor;
use super::object::list_prefix;
use crate::consensus::{Applied, AppliedReceiver};
use crate::storage::{Change, StateTree};

pub struct Route {
    pub prefix: String,
    pub desc: &'static ResourceDescriptor,
    pub actor: Addr<KindCache>,
}

pub struct Router {
    routes: Vec<Route>,
    progress: watch::Sender<u64>,
    state: StateTree,
    history_limit: usize,
}

impl Router {
    pub fn new(
        mut routes: Vec<Route>,
        progress: watch::Sender<u64>,
        state: StateTree,
        history_limit: usize,
    ) -> Self {
        // Longest prefix first, so `services/specs/` wins over a shorter overlapping one.
        routes.sort_by_key(|r| std::cmp::Reverse(r.prefix.len()));
        Self {
            routes,
            progress,
            state,
            history_limit,
        }
    }

    fn route_of(&self, key: &str) -> Option<usize> {
        self.routes.iter().position(|r| key.starts_with(&r.prefix))
    }

    /// Runs until the state machine drops its sender (shutdown).
    pub async fn run(self, mut applied: AppliedReceiver) {
        while let Some(step) = applied.recv().await {
            match step {
                Applied::Changes(changes) => self.deliver(&changes).await,
                Applied::Reset { revision } => self.reload(revision).await,
            }
        }
        tracing::debug!("applied stream ended");
    }

    async fn deliver(&self, changes: &Arc<Vec<Change>>) {
        let Some(last) = changes.last().map(|c| c.revision) else {
            return;
        };
        let mut per_route: Vec<Vec<Change>> = vec![Vec::new(); self.routes.len()];
        for change in changes.iter() {
            if let Some(i) = self.route_of(&change.key) {
                per_route[i].push(change.clone());
            }
        }
        for (route, changes) in self.routes.iter().zip(per_route) {
            if changes.is_empty() {
                continue;
            }
            if let Err(e) = route
                .actor
                .send(ApplyChanges {
                    changes,
                    revision: last,
                })
                .await
            {
                tracing::error!(kind = route.desc.resource, error = %e, "kind cache stopped");
            }
        }
        self.progress.send_replace(last);
    }

    async fn reload(&self, revision: u64) {
        for route in &self.routes {
            match load_view(
                route.desc,
                &self.state,
                revision,
                revision,
                &[],
                self.history_limit,
            ) {
                Ok(view) => {
                    let _ = route.actor.send(Reload { view }).await;
                }
                Err(e) => {
                    tracing::error!(kind = route.desc.resource, error = %e, "cannot reload cache after snapshot")
                }
            }
        }
        self.progress.send_replace(revision);
    }
}

pub fn route_prefix(desc: &ResourceDescriptor) -> String {
    list_prefix(desc.storage_prefix, None)
}
