//! The one wiring file: opens the data directory, loads the kind caches, starts Raft,
//! bootstraps the system namespaces and serves the API. Nothing else constructs these
//! pieces.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use serde_json::json;

use crate::consensus::state_machine::stored_revision;
use crate::consensus::{applied, Consensus, ConsensusOptions};
use crate::http::{self, AppState};
use crate::pki::{Pki, PkiOptions};
use crate::registry::{Registry, RegistryError};
use crate::storage::{Change, DataDir, StateTree};

pub struct NodeOptions {
    pub data_dir: PathBuf,
    pub listen: String,
    pub peer_listen: String,
    pub advertise_address: Option<String>,
    pub tls_sans: Vec<String>,
    pub node_id: u64,
    /// Revisions of change history kept for watches that resume (`--watch-history`).
    pub watch_history: u64,
}

/// Namespaces that exist from the first start, as in every upstream cluster.
pub const SYSTEM_NAMESPACES: &[&str] =
    &["default", "kube-system", "kube-public", "kube-node-lease"];

/// The retained change history and the revision right before it.
fn load_history(
    state: &StateTree,
    revision: u64,
    retained: u64,
) -> anyhow::Result<(u64, Vec<Change>)> {
    let mut history = Vec::new();
    for item in state.history_after(revision.saturating_sub(retained)) {
        let (_, bytes) = item?;
        history
            .push(keelson_proto::decode::<Change>(&bytes).context("decoding the change history")?);
    }
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
    let data = DataDir::open(&opts.data_dir)?;
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
    let (sink, applied_changes) = applied::channel();
    actix::spawn(router.run(applied_changes));

    let consensus = Consensus::start(
        ConsensusOptions {
            node_id: opts.node_id,
            peer_address: opts.peer_listen.clone(),
            history_retained: opts.watch_history,
        },
        &data,
        sink,
    )
    .await?;
    consensus
        .wait_for_leader(Duration::from_secs(30))
        .await
        .context("waiting for a Raft leader")?;
    let registry = Arc::new(Registry::new(readers, consensus.clone()));
    bootstrap_namespaces(&registry).await?;

    let tls = pki.server_tls_config()?;
    let kubeconfig =
        std::fs::canonicalize(&pki.kubeconfig_path).unwrap_or(pki.kubeconfig_path.clone());
    println!("keelson is serving the Kubernetes API on {server_url} (revision {revision}, ready in {} ms)", started.elapsed().as_millis());
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
    };
    let served = http::serve(app, &opts.listen, tls)
        .await
        .with_context(|| format!("serving on {}", opts.listen));
    consensus.shutdown().await;
    served
}

async fn bootstrap_namespaces(registry: &Registry) -> anyhow::Result<()> {
    let engine = registry
        .engine("", "namespaces")
        .context("the namespaces kind is not registered")?;
    for name in SYSTEM_NAMESPACES {
        let namespace =
            json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}});
        match engine.create("", namespace).await {
            Ok(_) | Err(RegistryError::AlreadyExists { .. }) => {}
            Err(e) => return Err(anyhow::anyhow!("creating namespace {name}: {e}")),
        }
    }
    Ok(())
}
