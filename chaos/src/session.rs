//! One recorded run of the workload: the watchers and clients started against a
//! cluster, then, once the faults are over, the end marker, the finished watch streams,
//! each replica's replay of the committed history and its final objects, as a
//! [`History`]. The harness drives a session around its faults; `--against` drives one
//! around whatever the operator does to their own deployment.

use std::time::{Duration, Instant};

use anyhow::{bail, Result};
use tokio::task::JoinHandle;

use crate::client::Client;
use crate::history::{History, ReplicaState, Rv, Target};
use crate::workload::{self, ClientSpec, Recorder, Watcher, END_MARKER};

/// How long the end marker, the watchers and each replay may take after the faults.
pub const CONVERGE_LIMIT: Duration = Duration::from_secs(20);
/// Clients through the load balancer; plus one client and one reader per replica.
const PROXY_CLIENTS: u32 = 5;

pub struct Session {
    pub recorder: std::sync::Arc<Recorder>,
    client: Client,
    proxy: String,
    start_rv: Rv,
    watchers: Vec<(Target, Watcher)>,
    clients: Vec<JoinHandle<()>>,
}

impl Session {
    /// Creates the namespace and starts watchers and clients: through `proxy`, and
    /// straight at each of `replicas` (node id, API URL).
    pub async fn start(
        client: &Client,
        proxy: &str,
        replicas: &[(u64, String)],
        seed: u64,
    ) -> Result<Session> {
        client.ensure_namespace(proxy).await?;
        let (existing, start_rv) = client.list(proxy, None).await?;
        if !existing.is_empty() {
            bail!(
                "namespace {} already holds {} workload objects; the checker needs it empty (use a new --namespace)",
                client.namespace(),
                existing.len()
            );
        }
        let recorder = Recorder::new();
        let mut watch_targets: Vec<(Target, String)> = replicas
            .iter()
            .map(|(n, url)| (Target::Replica(*n), url.clone()))
            .collect();
        watch_targets.push((Target::Proxy, proxy.to_string()));
        watch_targets.push((Target::Proxy, proxy.to_string()));
        let watchers = watch_targets
            .into_iter()
            .enumerate()
            .map(|(id, (target, url))| {
                let watcher = workload::spawn_watch(
                    id as u32,
                    target,
                    url,
                    start_rv,
                    client.clone(),
                    recorder.clone(),
                );
                (target, watcher)
            })
            .collect();
        let mut specs: Vec<ClientSpec> = (0..PROXY_CLIENTS)
            .map(|i| ClientSpec {
                id: i,
                target: Target::Proxy,
                base_url: proxy.to_string(),
                seed: seed * 1000 + u64::from(i),
                reads_only: false,
            })
            .collect();
        for reads_only in [false, true] {
            for (node, url) in replicas {
                let id = specs.len() as u32;
                specs.push(ClientSpec {
                    id,
                    target: Target::Replica(*node),
                    base_url: url.clone(),
                    seed: seed * 1000 + u64::from(id),
                    reads_only,
                });
            }
        }
        let clients = specs
            .into_iter()
            .map(|spec| workload::spawn_client(spec, client.clone(), recorder.clone()))
            .collect();
        Ok(Session {
            recorder,
            client: client.clone(),
            proxy: proxy.to_string(),
            start_rv,
            watchers,
            clients,
        })
    }

    /// Stops the clients (each finishes its current request).
    pub async fn stop_clients(&mut self) {
        self.recorder.stop();
        for client in self.clients.drain(..) {
            let _ = client.await;
        }
    }

    /// Completes the history once the cluster has healed: `live` are the replicas that
    /// should answer (node id, API URL). Returns it with notes and recovery failures.
    pub async fn finish(
        mut self,
        name: &str,
        live: &[(u64, String)],
    ) -> (History, Vec<String>, Vec<String>) {
        self.stop_clients().await;
        let mut notes = Vec::new();
        let mut recovery = Vec::new();
        if let Err(e) = self.write_end_marker().await {
            recovery.push(format!("{e:#}"));
        }
        let finish_at = Instant::now() + CONVERGE_LIMIT;
        let mut watches = Vec::new();
        for (target, mut watcher) in std::mem::take(&mut self.watchers) {
            // A watcher on a replica that is gone for good cannot finish; end it now.
            let reachable = match target {
                Target::Replica(n) => live.iter().any(|(id, _)| *id == n),
                Target::Proxy => true,
            };
            if let Ok(mut finish) = watcher.finish.lock() {
                *finish = Some(if reachable { finish_at } else { Instant::now() });
            }
            match (&mut watcher.handle).await {
                Ok(mut stream) => {
                    stream.must_reach_end = reachable;
                    watches.push(stream);
                }
                Err(e) => notes.push(format!("a watcher task failed: {e}")),
            }
        }
        let mut replicas = Vec::new();
        for (node, url) in live {
            let committed = workload::replay(
                &self.client,
                url,
                self.start_rv,
                &self.recorder,
                CONVERGE_LIMIT,
            )
            .await;
            let objects = self
                .client
                .list(url, None)
                .await
                .map(|(objects, _)| objects.into_iter().map(|(k, v, rv)| (k, (v, rv))).collect())
                .unwrap_or_default();
            let (committed, replay_error) = match committed {
                Ok(events) => (Some(events), None),
                Err(e) => (None, Some(e)),
            };
            replicas.push(ReplicaState {
                node: *node,
                objects,
                committed,
                replay_error,
            });
        }
        let history = History {
            scenario: name.to_string(),
            start_rv: self.start_rv,
            ops: self.recorder.take_ops(),
            watches,
            replicas,
        };
        (history, notes, recovery)
    }

    /// Writes the end marker every watcher and replay waits for (retrying: the cluster
    /// has just healed).
    async fn write_end_marker(&self) -> Result<()> {
        let deadline = Instant::now() + CONVERGE_LIMIT;
        loop {
            match self.client.create_named(&self.proxy, END_MARKER).await {
                Ok(()) => return Ok(()),
                Err(e) if Instant::now() >= deadline => {
                    bail!("could not write the end marker after healing: {e:#}")
                }
                Err(_) => tokio::time::sleep(Duration::from_millis(200)).await,
            }
        }
    }
}

impl Drop for Session {
    /// A session given up on (the harness failed mid-scenario) stops its clients and
    /// watchers instead of leaving them running against the next cluster.
    fn drop(&mut self) {
        self.recorder.stop();
        for (_, watcher) in &self.watchers {
            watcher.handle.abort();
        }
        for client in &self.clients {
            client.abort();
        }
    }
}
