//! `keelson snapshot`: backups of a running cluster, and new data dirs restored from them.

use std::collections::BTreeMap;
use std::path::PathBuf;

use anyhow::Context as _;
use clap::Subcommand;

use super::api::{kubeconfig_path, ApiClient};
use crate::consensus::membership::parse_initial_cluster;

#[derive(Subcommand)]
pub enum SnapshotCommand {
    /// Take a snapshot on the replica the kubeconfig points at and write it to FILE.
    Save {
        file: PathBuf,
        #[arg(long)]
        kubeconfig: Option<PathBuf>,
    },
    /// Create a new data dir from a snapshot FILE. Restore every member of the new
    /// cluster from the same file with the same --initial-cluster, then start each with
    /// `keelson serve` on its data dir.
    Restore {
        file: PathBuf,
        /// The new, empty data dir.
        #[arg(long)]
        data_dir: PathBuf,
        /// The restored cluster's members (1=https://host:port,...); default: a one-member
        /// cluster of --node-id at --peer-listen.
        #[arg(long)]
        initial_cluster: Option<String>,
        #[arg(long, default_value_t = 1)]
        node_id: u64,
        #[arg(long, default_value = "127.0.0.1:6444")]
        peer_listen: String,
    },
}

impl SnapshotCommand {
    pub async fn run(self) -> anyhow::Result<()> {
        match self {
            SnapshotCommand::Save { file, kubeconfig } => {
                let api = ApiClient::from_kubeconfig(&kubeconfig_path(kubeconfig))?;
                println!("taking a snapshot...");
                let bytes = api.download("/keelson/v1/snapshot").await?;
                let tmp = file.with_extension("partial");
                std::fs::write(&tmp, &bytes)
                    .and_then(|()| std::fs::File::open(&tmp)?.sync_all())
                    .and_then(|()| std::fs::rename(&tmp, &file))
                    .with_context(|| format!("writing {}", file.display()))?;
                println!("saved {} bytes to {}", bytes.len(), file.display());
            }
            SnapshotCommand::Restore {
                file,
                data_dir,
                initial_cluster,
                node_id,
                peer_listen,
            } => {
                let members: BTreeMap<u64, String> = match initial_cluster {
                    Some(text) => parse_initial_cluster(&text)
                        .map_err(|e| anyhow::anyhow!("--initial-cluster: {e}"))?,
                    None => [(node_id, format!("https://{peer_listen}"))].into(),
                };
                let data = crate::storage::DataDir::open(&data_dir)?;
                let restored = crate::consensus::backup::restore(&file, &data, &members).await?;
                println!(
                    "restored {} objects at revision {} (log index {}) into {}",
                    restored.objects,
                    restored.revision,
                    restored.log_index,
                    data_dir.display()
                );
                println!("start it with: keelson serve --data-dir {} --node-id <id> ... (the same members on every restored replica)", data_dir.display());
            }
        }
        Ok(())
    }
}
