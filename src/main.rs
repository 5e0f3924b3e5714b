//! The `keelson` command line.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};

// jemalloc keeps each size class on its own pages and hands freed pages back to the
// system: with glibc's heap, the object cache's long-lived buffers pinned pages full of
// freed start-up temporaries (at 100,000 objects, 480 MiB resident for 320 MiB live;
// docs/benchmarks.md). Watch fan-out measures the same under both (docs/benchmarks.md).
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// Freed pages go back to the system after about a second, from jemalloc's own thread,
/// instead of after ten seconds and only when some allocation happens to notice.
#[allow(non_upper_case_globals)]
#[export_name = "_rjem_malloc_conf"]
pub static malloc_conf: &[u8] = b"background_thread:true,dirty_decay_ms:1000,muzzy_decay_ms:0\0";

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
    Serve(ServeArgs),
    /// Manage the cluster PKI (shared CA, kubeconfigs).
    #[command(subcommand)]
    Pki(keelson::cli::pki::PkiCommand),
    /// List, add and remove cluster members (through the API, as a cluster admin).
    #[command(subcommand)]
    Member(keelson::cli::member::MemberCommand),
    /// Save a backup of a running cluster, or restore one into a new data dir.
    #[command(subcommand)]
    Snapshot(keelson::cli::snapshot::SnapshotCommand),
}

#[derive(Args)]
struct ServeArgs {
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
    /// Extra subject alternative name for the serving and peer certificates (repeatable).
    #[arg(long = "tls-san")]
    tls_san: Vec<String>,
    /// This replica's Raft node id.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u64).range(1..))]
    node_id: u64,
    /// The members of a new cluster, e.g. 1=https://10.0.0.1:6444,2=https://10.0.0.2:6444,3=...
    /// (used on first start only; default: a one-member cluster of this replica).
    #[arg(long)]
    initial_cluster: Option<String>,
    /// Start with an empty data dir and wait to be added with `keelson member add`.
    #[arg(long)]
    join: bool,
    /// How long a write or a consistent read waits for a Raft leader before it fails.
    #[arg(long, default_value = "30s", value_parser = humantime::parse_duration)]
    request_timeout: Duration,
    /// Log entries between snapshots of the state (which let Raft purge its log and
    /// bring new or lagging members up to date).
    #[arg(long, default_value_t = keelson::consensus::DEFAULT_SNAPSHOT_COUNT, value_parser = clap::value_parser!(u64).range(1..))]
    snapshot_count: u64,
    /// Revisions of change history kept so watches can resume from an older
    /// resourceVersion (older ones get 410 Expired); each kind keeps at most 10,000 in memory.
    #[arg(long, default_value_t = keelson::consensus::state_machine::DEFAULT_HISTORY_RETAINED, value_parser = clap::value_parser!(u64).range(1..))]
    watch_history: u64,
    /// The range Services' cluster IPs come from (IPv4 CIDR, /12 to /30); the first
    /// address goes to `default/kubernetes`.
    #[arg(long, default_value = "10.0.0.0/24", value_parser = keelson::registry::allocator::parse_cidr)]
    service_cluster_ip_range: (std::net::Ipv4Addr, u8),
    /// The range NodePort and LoadBalancer Services' node ports come from.
    #[arg(long, default_value = "30000-32767", value_parser = keelson::registry::allocator::parse_port_range)]
    service_node_port_range: (u16, u16),
}

#[actix_web::main]
async fn main() -> std::process::ExitCode {
    match run().await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            // The whole cause chain on one line; a backtrace helps no operator here.
            eprintln!("keelson: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,openraft=warn,sled=warn,actix_server=warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    match Cli::parse().command {
        Command::Serve(args) => {
            let opts = keelson::node::NodeOptions {
                data_dir: args.data_dir,
                listen: args.listen,
                peer_listen: args.peer_listen,
                advertise_address: args.advertise_address,
                tls_sans: args.tls_san,
                node_id: args.node_id,
                initial_cluster: args.initial_cluster,
                join: args.join,
                request_timeout: args.request_timeout,
                snapshot_count: args.snapshot_count,
                watch_history: args.watch_history,
                service_ranges: keelson::registry::allocator::Ranges {
                    network: args.service_cluster_ip_range.0,
                    prefix: args.service_cluster_ip_range.1,
                    node_ports: args.service_node_port_range,
                },
            };
            keelson::node::run(opts).await
        }
        Command::Pki(command) => command.run(),
        Command::Member(command) => command.run().await,
        Command::Snapshot(command) => command.run().await,
    }
}
