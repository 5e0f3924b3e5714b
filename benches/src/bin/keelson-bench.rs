//! `keelson-bench`: runs keelson and a single-node etcd side by side and prints the
//! table of figures (keelson | etcd | ratio); a full run also appends it to
//! docs/benchmarks.md. Usually started by `benches/run.sh`, which builds and installs
//! what this needs. Exits non-zero only when the harness itself fails (a process that
//! will not start, a crash); slow or failing requests are figures and notes.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::Parser;
use keelson_bench::machine;
use keelson_bench::report::{append_section, Report};
use keelson_bench::scenario::{self, Binaries, Settings};

#[derive(Parser, Debug)]
#[command(about = "Benchmark keelson against a single-node etcd on this machine")]
struct Args {
    /// Short runs (3 s points, 10,000-object footprint), print only; finishes in under 3 minutes.
    #[arg(long)]
    quick: bool,
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
    let settings = Settings::new(args.quick);
    let bins = Binaries {
        keelson: absolute(&args.keelson)?,
        etcd: which(&args.etcd)?,
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
    let mut report = Report::default();
    let outcome = scenario::run(&settings, &bins, work.path(), &mut report).await;
    if args.keep {
        eprintln!("keeping {}", work.keep().display());
    }
    outcome?;

    let command = args
        .command
        .unwrap_or_else(|| std::env::args().collect::<Vec<_>>().join(" "));
    let mut section = format!(
        "## Run of {}\n\n{}- command: `{command}`\n- settings: {}\n\n",
        facts.date,
        facts.markdown(),
        settings.describe()
    );
    section.push_str(&report.table());
    if !report.notes.is_empty() {
        section.push_str("\nNotes from the run:\n\n");
        section.push_str(&report.notes_markdown());
    }
    println!("{section}");
    if !args.quick {
        append_section(&args.out, &section)?;
        eprintln!("appended to {}", args.out.display());
    }
    Ok(())
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
