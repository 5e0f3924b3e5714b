//! The registry: one generic engine serving every resource kind through its strategy,
//! over per-kind caches fed by the Raft apply loop.
//!
//! [`Registry::load`] builds each kind's cache from storage and starts its actor;
//! [`Router`] keeps them current; [`Engine`] serves requests for one kind.

pub mod allocator;
pub mod cache;
pub mod descriptor;
mod dry_run;
pub mod engine;
pub mod error;
pub mod hooks;
pub mod list;
pub mod managed;
pub mod object;
pub mod propagation;
mod router;
pub mod selectors;
pub mod strategy;
pub mod validation;
pub mod watch;

use std::collections::HashMap;
use std::sync::Arc;

use actix::Actor;
use tokio::sync::watch as progress;

use crate::consensus::Consensus;
use crate::storage::{StateTree, StorageError, StoredChange};
use cache::{load_view, CacheReader, KindCache, Shared};
use descriptor::ResourceDescriptor;
pub use engine::Engine;
pub use error::RegistryError;
pub use router::Router;
use router::{route_prefix, Route};

/// Every served kind's engine, by (group, resource).
pub struct Registry {
    /// group → resource → engine (nested so lookups borrow the request's strs).
    engines: HashMap<&'static str, HashMap<&'static str, Arc<Engine>>>,
    descriptors: Vec<&'static ResourceDescriptor>,
}

/// Kind caches loaded from storage, waiting for consensus to start.
pub struct LoadedCaches {
    readers: Vec<(&'static ResourceDescriptor, CacheReader)>,
    pub router: Router,
}

impl Registry {
    /// Loads every kind's cache at the stored `revision` (with `history` replayed) and
    /// starts the kind actors; call on the actix system's thread.
    pub fn load(
        catalog: Vec<&'static ResourceDescriptor>,
        state: &StateTree,
        revision: u64,
        history_start: u64,
        history: &[StoredChange],
        history_limit: usize,
    ) -> Result<LoadedCaches, StorageError> {
        let (progress_tx, progress_rx) = progress::channel(revision);
        let mut routes = Vec::new();
        let mut readers = Vec::new();
        for desc in catalog {
            let view = load_view(desc, state, revision, history_start, history, history_limit)?;
            let shared = Shared::new(view);
            let actor = KindCache::new(desc, shared.clone()).start();
            routes.push(Route {
                prefix: route_prefix(desc),
                desc,
                actor,
            });
            readers.push((desc, CacheReader::new(shared, progress_rx.clone())));
        }
        Ok(LoadedCaches {
            readers,
            router: Router::new(routes, progress_tx, state.clone(), history_limit),
        })
    }

    /// Connects the loaded caches to consensus.
    pub fn new(
        caches: Vec<(&'static ResourceDescriptor, CacheReader)>,
        consensus: Consensus,
    ) -> Self {
        let descriptors = caches.iter().map(|(d, _)| *d).collect();
        let mut engines: HashMap<_, HashMap<_, _>> = HashMap::new();
        for (desc, reader) in caches {
            let engine = Arc::new(Engine::new(desc, reader, consensus.clone()));
            engines
                .entry(desc.group)
                .or_default()
                .insert(desc.resource, engine);
        }
        Self {
            engines,
            descriptors,
        }
    }

    pub fn engine(&self, group: &str, resource: &str) -> Option<&Arc<Engine>> {
        self.engines.get(group)?.get(resource)
    }

    /// The revision every kind's cache has reached (the router's progress).
    pub fn applied_revision(&self) -> u64 {
        // All readers share the router's one progress signal; any of them tells it.
        self.engines
            .values()
            .flat_map(HashMap::values)
            .next()
            .map_or(0, |engine| engine.reader().applied_revision())
    }

    pub fn descriptors(&self) -> &[&'static ResourceDescriptor] {
        &self.descriptors
    }
}

impl LoadedCaches {
    pub fn into_parts(self) -> (Vec<(&'static ResourceDescriptor, CacheReader)>, Router) {
        (self.readers, self.router)
    }
}
