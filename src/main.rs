//! The `keelson` command line.

use std::path::PathBuf;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "keelson",
    version,
    about = "A Kubernetes API server whose replicas share state through an embedded Raft log"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the Kubernetes API (a one-member cluster unless told otherwise).
    Serve {
        /// Where state, certificates and the admin kubeconfig live.
        #[arg(long, default_value = "./keelson-data")]
        data_dir: PathBuf,
        /// Address of the Kubernetes API (HTTPS).
        #[arg(long, default_value = "127.0.0.1:6443")]
        listen: String,
        /// Address of the replica protocol (mutual TLS).
        #[arg(long, default_value = "127.0.0.1:6444")]
        peer_listen: String,
        /// Address other replicas and clients reach this one at (default: the --listen host).
        #[arg(long)]
        advertise_address: Option<String>,
        /// Extra subject alternative name for the serving certificate (repeatable).
        #[arg(long = "tls-san")]
        tls_san: Vec<String>,
        /// This replica's Raft node id.
        #[arg(long, default_value_t = 1)]
        node_id: u64,
        /// Revisions of change history kept so watches can resume from an older
        /// resourceVersion (older ones get 410 Expired); each kind keeps at most 10,000 in memory.
        #[arg(long, default_value_t = keelson::consensus::state_machine::DEFAULT_HISTORY_RETAINED, value_parser = clap::value_parser!(u64).range(1..))]
        watch_history: u64,
    },
}

#[actix_web::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,openraft=warn,sled=warn,actix_server=warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    match cli.command {
        Command::Serve {
            data_dir,
            listen,
            peer_listen,
            advertise_address,
            tls_san,
            node_id,
            watch_history,
        } => {
            let opts = keelson::node::NodeOptions {
                data_dir,
                listen,
                peer_listen,
                advertise_address,
                tls_sans: tls_san,
                node_id,
                watch_history,
            };
            keelson::node::run(opts).await
        }
    }
}
