//! `keelson pki`: the shared cluster CA and admin kubeconfigs.

use std::path::PathBuf;

use anyhow::Context as _;
use clap::Subcommand;

#[derive(Subcommand)]
pub enum PkiCommand {
    /// Create the cluster CA (<data-dir>/pki/ca.crt and ca.key) if it does not exist yet.
    /// Copy both files into every other replica's <data-dir>/pki/ before its first start.
    Init {
        #[arg(long, default_value = "./keelson-data")]
        data_dir: PathBuf,
    },
    /// Write an admin kubeconfig for SERVER (e.g. the load balancer) signed by the CA in
    /// <data-dir>.
    Kubeconfig {
        #[arg(long, default_value = "./keelson-data")]
        data_dir: PathBuf,
        /// The API URL the kubeconfig points at, e.g. https://127.0.0.1:6443.
        #[arg(long)]
        server: String,
        /// Where to write it.
        #[arg(long)]
        out: PathBuf,
    },
}

impl PkiCommand {
    pub fn run(self) -> anyhow::Result<()> {
        match self {
            PkiCommand::Init { data_dir } => {
                let ca = crate::pki::init_authority(&data_dir).with_context(|| {
                    format!("creating the cluster CA in {}", data_dir.display())
                })?;
                println!("cluster CA: {}", ca.display());
                println!(
                    "copy {} and its ca.key into each other replica's <data-dir>/pki/ (mode 0600 for the key) before its first start",
                    ca.display()
                );
                Ok(())
            }
            PkiCommand::Kubeconfig {
                data_dir,
                server,
                out,
            } => {
                if !server.starts_with("https://") {
                    anyhow::bail!("--server must be an https:// URL, got {server:?}");
                }
                crate::pki::write_admin_kubeconfig(&data_dir, &server, &out)
                    .with_context(|| format!("writing {}", out.display()))?;
                println!("admin kubeconfig for {server}: {}", out.display());
                Ok(())
            }
        }
    }
}
