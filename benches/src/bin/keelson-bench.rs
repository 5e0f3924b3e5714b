//! `keelson-bench`: runs keelson and a single-node etcd side by side, then three keelson
//! replicas behind HAProxy and a three-member etcd (`--topology` picks), and prints the
//! tables of figures (keelson | etcd | ratio); a full run also appends them to
//! docs/benchmarks.md. Usually started by `benches/run.sh`, which builds and installs
//! what this needs. Exits non-zero only when the harness itself fails (a process that
//! will not start, a crash); slow or failing requests are figures and notes.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::{Parser, ValueEnum};
use keelson_bench::report::{append_section, Report};
use keelson_bench::scenario::{self, Binaries, Settings};
use keelson_bench::{cost, machine};

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum Topology {
    /// One keelson node against a one-member etcd.
    Single,
    /// Three keelson replicas behind HAProxy against a three-member etcd.
    Three,
    /// Both, single first.
    Both,
}

#[derive(Parser, Debug)]
#[command(about = "Benchmark keelson against etcd on this machine: one node each, then three")]
struct Args {
    /// Short runs (2 s points, fewer concurrencies, 20,000-object footprint, 3 leader
    /// kills), print only; finishes in about 3 minutes on an idle 2-core machine.
    #[arg(long)]
    quick: bool,
    /// Which clusters to measure.
    #[arg(long, value_enum, default_value = "both")]
    topology: Topology,
    /// Leader kills in the three-replica failover figure (default: 20, quick: 3).
    #[arg(long)]
    kills: Option<usize>,
    /// Only these groups of figures, comma-separated: writes, reads, updates, watch,
    /// deployments, list (LIST, footprint, start to ready), replicas (footprint per
    /// replica), failover. Default: all.
    #[arg(long, value_delimiter = ',')]
    only: Vec<String>,
    /// Watch fan-out: keelson's watchers over HTTP/1.1, one connection each, instead
    /// of 100 HTTP/2 streams per connection.
    #[arg(long)]
    watch_http1: bool,
    /// Skip killing etcd's leader (the failover figure then has keelson's side only).
    #[arg(long)]
    no_etcd_failover: bool,
    /// The keelson binary.
    #[arg(long, default_value = "target/release/keelson")]
    keelson: PathBuf,
    /// The etcd binary (Debian etcd-server 3.4).
    #[arg(long, default_value = "etcd")]
    etcd: PathBuf,
    /// Data dirs and logs go in a fresh directory under this one (keep it on the data disk).
    #[arg(long, default_value = "target")]
    work_dir: PathBuf,
    /// Keep the run's directory (data and logs) instead of removing it.
    #[arg(long)]
    keep: bool,
    /// Where a full run appends its section.
    #[arg(long, default_value = "docs/benchmarks.md")]
    out: PathBuf,
    /// The keelson checkout whose commit is recorded.
    #[arg(long, default_value = ".")]
    repo: PathBuf,
    /// Where cluster/local-up.sh and cluster/local-down.sh are (default: REPO/cluster).
    #[arg(long)]
    cluster_scripts: Option<PathBuf>,
    /// The command line recorded with the run.
    #[arg(long)]
    command: Option<String>,
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("keelson-bench: {e}");
            return ExitCode::FAILURE;
        }
    };
    // Dropping `run` on a signal drops its children, which kills them.
    tokio::select! {
        r = run(args) => match r {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("keelson-bench: error: {e:#}");
                ExitCode::FAILURE
            }
        },
        _ = tokio::signal::ctrl_c() => { eprintln!("keelson-bench: interrupted"); ExitCode::from(130) }
        _ = term.recv() => { eprintln!("keelson-bench: terminated"); ExitCode::from(143) }
    }
}

async fn run(args: Args) -> Result<()> {
    let mut settings = Settings::new(args.quick);
    if let Some(k) = args.kills {
        settings.kills = k;
    }
    settings.etcd_failover = !args.no_etcd_failover;
    settings.only = args.only.clone();
    settings.watch_http1 = args.watch_http1;
    let (single, three) = match args.topology {
        Topology::Single => (true, false),
        Topology::Three => (false, true),
        Topology::Both => (true, true),
    };
    let bins = Binaries {
        keelson: absolute(&args.keelson)?,
        etcd: which(&args.etcd)?,
        cluster_scripts: absolute(
            &args
                .cluster_scripts
                .clone()
                .unwrap_or_else(|| args.repo.join("cluster")),
        )?,
    };
    std::fs::create_dir_all(&args.work_dir)
        .with_context(|| format!("creating {}", args.work_dir.display()))?;
    let work = tempfile::Builder::new()
        .prefix("keelson-bench-")
        .tempdir_in(&args.work_dir)?;
    eprintln!(
        "keelson-bench: {} run in {}",
        if args.quick { "quick" } else { "full" },
        work.path().display()
    );
    let facts = machine::gather(&args.repo, &bins.etcd);
    let command = args
        .command
        .clone()
        .unwrap_or_else(|| std::env::args().collect::<Vec<_>>().join(" "));
    let mut section = format!(
        "## Run of {}\n\n{}- command: `{command}`\n",
        facts.date,
        facts.markdown(),
    );
    let mut cost_points = Vec::new();
    if single {
        let mut report = Report::default();
        let outcome = scenario::run(&settings, &bins, work.path(), &mut report).await;
        if let Err(e) = outcome {
            keep_if_asked(&args, work);
            return Err(e);
        }
        section.push_str(&format!("- settings: {}\n\n", settings.describe()));
        push_report(&mut section, &report);
        cost_points.extend(report.cost.iter().cloned());
    }
    if three {
        // The load average over the last minute, just before this part: how busy the
        // machine was (the single-node part, when it ran, is most of it).
        let load = machine::loadavg();
        let mut report = Report::default();
        let outcome =
            scenario::three::run(&settings, &bins, &work.path().join("three"), &mut report).await;
        if let Err(e) = outcome {
            if single {
                println!("{section}");
                eprintln!("keelson-bench: the single-node section above was not appended");
            }
            keep_if_asked(&args, work);
            return Err(e.context("three replicas"));
        }
        if single {
            section.push('\n');
        }
        section.push_str(&format!(
            "### Three replicas: keelson ×3 behind HAProxy vs etcd ×3\n\n\
             - settings: {}\n- load average before this part: {load}\n\n",
            settings.describe_three()
        ));
        push_report(&mut section, &report);
        cost_points.extend(report.cost.iter().cloned());
    }
    let costs = cost::table(&cost_points);
    if !costs.is_empty() {
        section
            .push_str("\n### Cost model: how the figures grow (see \"Cost model\" at the top)\n\n");
        section.push_str(&costs);
    }
    keep_if_asked(&args, work);
    println!("{section}");
    if !args.quick {
        append_section(&args.out, &section)?;
        eprintln!("appended to {}", args.out.display());
    }
    Ok(())
}

/// The table and its notes.
fn push_report(section: &mut String, report: &Report) {
    section.push_str(&report.table());
    let solo = report.solo_table();
    if !solo.is_empty() {
        section.push('\n');
        section.push_str(&solo);
    }
    if !report.notes.is_empty() {
        section.push_str("\nNotes from the run:\n\n");
        section.push_str(&report.notes_markdown());
    }
}

fn keep_if_asked(args: &Args, work: tempfile::TempDir) {
    if args.keep {
        eprintln!("keeping {}", work.keep().display());
    }
}

fn absolute(p: &std::path::Path) -> Result<PathBuf> {
    std::fs::canonicalize(p).with_context(|| {
        format!(
            "{} not found (build it: cargo build --release -p keelson)",
            p.display()
        )
    })
}

/// `p` if it names a file, otherwise its place on PATH.
fn which(p: &std::path::Path) -> Result<PathBuf> {
    if p.components().count() > 1 {
        return absolute(p);
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .map(|d| d.join(p))
        .find(|c| c.is_file())
        .with_context(|| format!("{} not on PATH (install Debian's etcd-server)", p.display()))
}
