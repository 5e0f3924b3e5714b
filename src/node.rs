//! The one wiring file: opens the data directory, loads the kind caches, starts Raft and
//! the peer port, bootstraps the system namespaces and serves the API. Nothing else
//! constructs these pieces.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use actix::Actor as _;
use anyhow::Context as _;
use serde_json::json;

use crate::consensus::membership::parse_initial_cluster;
use crate::consensus::state_machine::stored_revision;
use crate::consensus::{applied, peer, Consensus, ConsensusOptions, InitialCluster};
use crate::controllers::{self, manager::ControllerManager};
use crate::http::{self, AppState};
use crate::pki::{Pki, PkiOptions};
use crate::registry::list::ReadAt;
use crate::registry::{Registry, RegistryError};
use crate::storage::{DataDir, StateTree, StoredChange};

pub struct NodeOptions {
    pub data_dir: PathBuf,
    pub listen: String,
    pub peer_listen: String,
    pub advertise_address: Option<String>,
    pub tls_sans: Vec<String>,
    pub node_id: u64,
    /// `--initial-cluster`: the members of a new cluster (`1=https://host:port,...`).
    pub initial_cluster: Option<String>,
    /// `--join`: start empty and wait to be added with `keelson member add`.
    pub join: bool,
    /// How long a write or linearizable read waits for a Raft leader (`--request-timeout`).
    pub request_timeout: Duration,
    /// Log entries between snapshots (`--snapshot-count`).
    pub snapshot_count: u64,
    /// Revisions of change history kept for watches that resume (`--watch-history`).
    pub watch_history: u64,
    /// Where Services' cluster IPs and node ports come from.
    pub service_ranges: crate::registry::allocator::Ranges,
}

impl NodeOptions {
    /// How this replica forms its cluster on first start.
    fn initial_cluster(&self, advertise: &str) -> anyhow::Result<InitialCluster> {
        match (&self.initial_cluster, self.join) {
            (Some(_), true) => anyhow::bail!(
                "--join and --initial-cluster exclude each other: a joining replica is added by `keelson member add`"
            ),
            (None, true) => Ok(InitialCluster::Join),
            (Some(text), false) => parse_initial_cluster(text)
                .map(InitialCluster::Members)
                .map_err(|e| anyhow::anyhow!("--initial-cluster: {e}")),
            (None, false) => {
                let port = self.peer_listen.rsplit_once(':').map_or("6444", |(_, p)| p);
                let url = format!("https://{advertise}:{port}");
                Ok(InitialCluster::Members([(self.node_id, url)].into()))
            }
        }
    }
}

/// Namespaces that exist from the first start, as in every upstream cluster.
pub const SYSTEM_NAMESPACES: &[&str] =
    &["default", "kube-system", "kube-public", "kube-node-lease"];

/// The retained change history (heads decoded, values left for the kinds that keep
/// them) and the revision right before it.
fn load_history(
    state: &StateTree,
    revision: u64,
    retained: u64,
) -> anyhow::Result<(u64, Vec<StoredChange>)> {
    let mut history = state
        .history_after(revision.saturating_sub(retained))
        .collect::<Result<Vec<_>, _>>()
        .context("reading the change history")?;
    // Only a gap-free tail ending at `revision` can serve watches that resume.
    let mut start = revision;
    for change in history.iter().rev() {
        if change.revision != start {
            break;
        }
        start -= 1;
    }
    history.retain(|c| c.revision > start);
    Ok((start, history))
}

pub async fn run(opts: NodeOptions) -> anyhow::Result<()> {
    let started = Instant::now();
    crate::registry::allocator::configure(opts.service_ranges.clone());
    let data = DataDir::open(&opts.data_dir)?;
    tracing::info!(
        ms = started.elapsed().as_millis() as u64,
        "opened the data dir (sled recovers its own log here)"
    );
    let advertise = opts.advertise_address.clone().unwrap_or_else(|| {
        opts.listen
            .rsplit_once(':')
            .map_or("127.0.0.1", |(h, _)| h)
            .to_string()
    });
    let server_url = format!("https://{}", opts.listen);
    let mut sans = opts.tls_sans.clone();
    sans.push(advertise.clone());
    let pki = Pki::load_or_create(&PkiOptions {
        data_dir: opts.data_dir.clone(),
        extra_sans: sans,
        server_url: server_url.clone(),
    })
    .context("setting up the cluster PKI")?;

    let state = data.state_tree()?;
    let revision = stored_revision(&state)
        .map_err(|e| anyhow::anyhow!("reading the applied revision: {e}"))?;
    let (history_start, history) = load_history(&state, revision, opts.watch_history)?;
    tracing::info!(
        ms = started.elapsed().as_millis() as u64,
        changes = history.len(),
        "read the retained change history"
    );
    let history_limit = usize::try_from(opts.watch_history)
        .unwrap_or(usize::MAX)
        .min(crate::registry::cache::HISTORY_PER_KIND);
    let (readers, router) = Registry::load(
        crate::kinds::catalog(),
        &state,
        revision,
        history_start,
        &history,
        history_limit,
    )?
    .into_parts();
    drop(history);
    tracing::info!(
        ms = started.elapsed().as_millis() as u64,
        "built the kinds' caches"
    );
    let (sink, applied_changes) = applied::channel();
    actix::spawn(router.run(applied_changes));

    let consensus = Consensus::start(
        ConsensusOptions {
            node_id: opts.node_id,
            initial_cluster: opts.initial_cluster(&advertise)?,
            history_retained: opts.watch_history,
            peer_tls: pki.peer_client_tls_config()?,
            request_timeout: opts.request_timeout,
            snapshot_count: opts.snapshot_count,
        },
        &data,
        sink,
    )
    .await?;
    let peer_server = peer::server::serve(
        consensus.clone(),
        &opts.peer_listen,
        pki.peer_server_tls_config()?,
    )
    .with_context(|| format!("serving the peer port on {}", opts.peer_listen))?;
    let peer_handle = peer_server.handle();
    actix::spawn(async move {
        if let Err(e) = peer_server.await {
            tracing::error!(error = %e, "the peer port stopped");
        }
    });

    let registry = Arc::new(Registry::new(readers, consensus.clone()));
    let bootstrapped = Arc::new(AtomicBool::new(false));
    actix::spawn(bootstrap_namespaces(registry.clone(), bootstrapped.clone()));
    let api_port = opts
        .listen
        .rsplit_once(':')
        .and_then(|(_, p)| p.parse().ok())
        .unwrap_or(6443);
    let identity = controllers::Identity {
        node_id: opts.node_id,
        ip: advertise.clone(),
        port: api_port,
        ca_cert_pem: pki.ca_cert_pem.as_str().into(),
    };
    ControllerManager::new(registry.clone(), identity).start();

    let tls = pki.server_tls_config()?;
    let kubeconfig =
        std::fs::canonicalize(&pki.kubeconfig_path).unwrap_or(pki.kubeconfig_path.clone());
    // What the start read and dropped (the history, the decoded chunks, the values sled
    // read for consensus) is all freed by now; without this, the replica turns ready
    // about 100 MiB above what it keeps and sheds it over the next second.
    crate::memory::return_freed_pages();
    println!("keelson is serving the Kubernetes API on {server_url} (node {}, revision {revision}, started in {} ms)", opts.node_id, started.elapsed().as_millis());
    println!("admin kubeconfig: {}", kubeconfig.display());
    println!(
        "try: KUBECONFIG={} kubectl get namespaces",
        kubeconfig.display()
    );
    let app = AppState {
        registry,
        consensus: consensus.clone(),
        server_address: format!(
            "{advertise}:{}",
            opts.listen.rsplit_once(':').map_or("6443", |(_, p)| p)
        ),
        caches_loaded: true,
        bootstrapped,
    };
    let served = tokio::select! {
        served = http::serve(app, &opts.listen, tls) => {
            served.with_context(|| format!("serving on {}", opts.listen))
        }
        reason = consensus.stopped() => Err(anyhow::anyhow!(
            "the Raft node stopped: {reason}. Fix the cause (for a full disk, free space in {}) \
             and start keelson again on the same data dir",
            opts.data_dir.display()
        )),
    };
    peer_handle.stop(true).await;
    consensus.shutdown().await;
    served
}

/// Creates the system namespaces once a leader exists, retrying while there is none (a
/// replica may start before a quorum of its peers). /readyz waits for it.
///
/// A namespace already in this replica's cache (a restart) needs no write: asking the
/// leader would wait for an election, and for the retry pause after each attempt made
/// before it, about half a second of every restart.
async fn bootstrap_namespaces(registry: Arc<Registry>, done: Arc<AtomicBool>) {
    const PAUSE: Duration = Duration::from_millis(50);
    let Some(engine) = registry.engine("", "namespaces") else {
        tracing::error!("the namespaces kind is not registered");
        return;
    };
    let mut remaining: Vec<&str> = SYSTEM_NAMESPACES.to_vec();
    let mut last_report = Instant::now();
    while let Some(name) = remaining.first().copied() {
        if engine.get("", name, ReadAt::Any).await.is_ok() {
            remaining.remove(0);
            continue;
        }
        let namespace =
            json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}});
        match engine.create("", namespace).await {
            Ok(_) | Err(RegistryError::AlreadyExists { .. }) => {
                remaining.remove(0);
                continue;
            }
            Err(e) if last_report.elapsed() > Duration::from_secs(10) => {
                tracing::warn!(namespace = name, error = %e, "still waiting to create the system namespaces (is a quorum of replicas up?)");
                last_report = Instant::now();
            }
            Err(_) => {}
        }
        tokio::time::sleep(PAUSE).await;
    }
    done.store(true, Ordering::Release);
}
