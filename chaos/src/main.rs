//! keelson-chaos: starts a three-replica cluster behind HAProxy per scenario, runs a
//! recorded client workload while injecting one fault, heals, and checks the history
//! (lost and duplicated writes, linearizability per key, watch streams, convergence).
//!
//! `chaos/run.sh` builds it and runs it; see docs/chaos.md.

mod check;
mod client;
mod cluster;
mod history;
mod net;
mod report;
mod scenario;
mod session;
mod workload;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use clap::Parser;
use rand::{Rng, SeedableRng};

use crate::check::Report;
use crate::client::Client;
use crate::cluster::Cluster;
use crate::history::History;
use crate::report::{ScenarioResult, Totals};
use crate::session::{Session, CONVERGE_LIMIT};

#[derive(Parser)]
#[command(
    about = "Fault injection against a three-replica keelson cluster, with a history checker"
)]
struct Args {
    /// The keelson binary to test.
    #[arg(long, default_value = "target/release/keelson")]
    keelson: PathBuf,
    /// The repository (for cluster/local-up.sh).
    #[arg(long, default_value = ".")]
    repo: PathBuf,
    /// Where clusters, logs and recorded histories go (kept after the run).
    #[arg(long, default_value = "target/chaos")]
    work_dir: PathBuf,
    /// Comma-separated scenarios (default: all of them).
    #[arg(long, value_delimiter = ',')]
    scenarios: Vec<String>,
    /// How long each fault is held.
    #[arg(long, default_value = "4s", value_parser = humantime_secs)]
    hold: Duration,
    /// Load before the first fault.
    #[arg(long, default_value = "2s", value_parser = humantime_secs)]
    warmup: Duration,
    /// Run random scenarios, with longer holds, for this many minutes.
    #[arg(long)]
    soak_minutes: Option<u64>,
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// For planted-bug runs: succeed only if the checker reports this kind of violation
    /// (lost, duplicated, linearizability, watch, divergence).
    #[arg(long)]
    expect_violation: Option<String>,
    /// Check a recorded history.json again instead of running anything.
    #[arg(long)]
    check: Option<PathBuf>,
    /// Record and check a workload against an existing deployment instead of starting
    /// clusters: the admin kubeconfig of its load balancer. Inject faults yourself while
    /// it runs.
    #[arg(long, value_name = "KUBECONFIG")]
    against: Option<PathBuf>,
    /// With --against: each replica's own API URL (comma-separated), for direct clients,
    /// per-replica watches and the convergence check.
    #[arg(long, value_delimiter = ',')]
    replicas: Vec<String>,
    /// With --against: how long the workload runs.
    #[arg(long, default_value = "60s", value_parser = humantime_secs)]
    duration: Duration,
    /// With --against: the namespace to work in; it must hold no workload objects
    /// (default: a new one named after the current time).
    #[arg(long)]
    namespace: Option<String>,
}

fn humantime_secs(text: &str) -> Result<Duration, String> {
    let secs = text.trim_end_matches('s');
    secs.parse::<f64>()
        .map(Duration::from_secs_f64)
        .map_err(|e| format!("{text}: {e} (write e.g. 4s)"))
}

#[tokio::main]
async fn main() {
    let args = Args::parse();
    match run(args).await {
        Ok(code) => std::process::exit(code),
        Err(e) => {
            eprintln!("chaos: error: {e:#}");
            std::process::exit(2);
        }
    }
}

async fn run(args: Args) -> Result<i32> {
    if let Some(path) = &args.check {
        let history: History = serde_json::from_slice(&std::fs::read(path)?)
            .with_context(|| format!("parse {}", path.display()))?;
        let report = check::check(&history);
        println!("{}", serde_json::to_string(&(report.ops, report.acked))?);
        println!(
            "{}",
            if report.passed() {
                "history passes every check".to_string()
            } else {
                report.failure_text()
            }
        );
        return Ok(i32::from(!report.passed()));
    }
    if let Some(kubeconfig) = &args.against {
        return against(&args, kubeconfig).await;
    }
    let repo = args.repo.canonicalize().context("--repo")?;
    let keelson = args.keelson.canonicalize().with_context(|| {
        format!(
            "keelson binary {} (build it with cargo build --release)",
            args.keelson.display()
        )
    })?;
    let run_dir = args.work_dir.join(format!("run-{}", std::process::id()));
    std::fs::create_dir_all(&run_dir)?;
    let run_dir = run_dir.canonicalize()?;
    println!(
        "chaos: keelson {} ; work dir {}",
        keelson.display(),
        run_dir.display()
    );

    let plan: Vec<(String, Duration)> = match args.soak_minutes {
        None => {
            let names: Vec<String> = if args.scenarios.is_empty() {
                scenario::ALL.iter().map(|s| s.to_string()).collect()
            } else {
                args.scenarios.clone()
            };
            names.into_iter().map(|n| (n, args.hold)).collect()
        }
        Some(_) => Vec::new(),
    };
    for name in args.scenarios.iter().flat_map(|n| n.split('+')) {
        if !scenario::ALL.contains(&name) {
            bail!(
                "unknown scenario {name:?}; known: {}",
                scenario::ALL.join(", ")
            );
        }
    }
    let soak_until = args
        .soak_minutes
        .map(|m| Instant::now() + Duration::from_secs(m * 60));
    let mut rng = rand::rngs::StdRng::seed_from_u64(args.seed);

    let mut results = Vec::new();
    let mut index = 0u32;
    loop {
        let (name, hold) = match soak_until {
            None => match plan.get(index as usize) {
                Some(entry) => entry.clone(),
                None => break,
            },
            Some(until) => {
                if Instant::now() >= until {
                    break;
                }
                let pool: Vec<String> = if args.scenarios.is_empty() {
                    scenario::ALL.iter().map(|s| s.to_string()).collect()
                } else {
                    args.scenarios.clone()
                };
                let mut name = pool[rng.gen_range(0..pool.len())].clone();
                // A third of the time, a second fault right after the first.
                if rng.gen_range(0..3) == 0 {
                    name = format!("{name}+{}", pool[rng.gen_range(0..pool.len())]);
                }
                (name, Duration::from_secs(rng.gen_range(5..20)))
            }
        };
        index += 1;
        let tag = std::process::id().wrapping_mul(31).wrapping_add(index);
        let dir = run_dir.join(format!("{index:02}-{name}"));
        println!(
            "chaos: [{index}] {name}: starting a cluster in {}",
            dir.display()
        );
        let seed = args.seed + u64::from(index);
        let timing = Timing {
            warmup: args.warmup,
            hold,
        };
        let mut result = run_scenario(&repo, &keelson, &dir, &name, timing, tag, seed).await;
        if let Err(e) = &result {
            // Only the harness failed (no fault had been injected, so nothing was
            // judged): say why, and try once more on a fresh cluster.
            println!("chaos: [{index}] {name}: could not run, retrying once: {e:#}");
            let retry_dir = run_dir.join(format!("{index:02}-{name}-retry"));
            let retry_tag = tag.wrapping_add(1_000);
            result =
                run_scenario(&repo, &keelson, &retry_dir, &name, timing, retry_tag, seed).await;
        }
        match result {
            Ok(result) => {
                println!("{}", result.summary_line());
                if !result.report.passed() {
                    println!("{}", result.report.failure_text());
                    println!("  logs and history: {}", dir.display());
                }
                results.push(result);
            }
            Err(e) => {
                println!("chaos: [{index}] {name}: could not run: {e:#}");
                println!("  logs: {}", dir.display());
                results.push(ScenarioResult::broken(&name, format!("{e:#}")));
            }
        }
    }
    if results.is_empty() {
        bail!("no scenario ran");
    }
    let totals = Totals::of(&results);
    println!("{}", totals.closing_line());
    for line in totals.window_lines() {
        println!("{line}");
    }
    std::fs::write(run_dir.join("results.md"), report::markdown_table(&results))?;
    println!(
        "chaos: results table in {}",
        run_dir.join("results.md").display()
    );

    Ok(match &args.expect_violation {
        None => i32::from(!totals.passed()),
        Some(kind) => {
            let caught = results
                .iter()
                .any(|r| report::has_violation(&r.report, kind));
            if caught {
                println!("chaos: expected violation '{kind}' was reported: the checker caught the planted bug");
                0
            } else {
                println!("chaos: expected violation '{kind}' was NOT reported: the checker missed the planted bug");
                1
            }
        }
    })
}

/// Load after healing.
const COOLDOWN: Duration = Duration::from_secs(3);

async fn run_scenario(
    repo: &std::path::Path,
    keelson: &std::path::Path,
    dir: &std::path::Path,
    name: &str,
    timing: Timing,
    tag: u32,
    seed: u64,
) -> Result<ScenarioResult> {
    let started = Instant::now();
    let mut cluster = Cluster::start(repo, keelson, dir, tag)?;
    let outcome = drive(&mut cluster, name, timing, seed).await;
    let tail = cluster.logs_tail(15);
    cluster.teardown();
    let (history, injections, notes, recovery) = match outcome {
        Ok(parts) => parts,
        Err(e) => bail!("{e:#}\nlast lines of the replica logs:\n{tail}"),
    };
    std::fs::write(
        dir.join("history.json"),
        serde_json::to_vec_pretty(&history)?,
    )?;
    let report: Report = check::check(&history);
    let mut result =
        ScenarioResult::new(name, &history, report, injections, notes, started.elapsed());
    let mut recovery = recovery;
    if let Some(last) = recovery.last_mut() {
        // CI keeps only what is printed: the tails make a failed recovery readable there.
        last.push_str(&format!("\nlast lines of the replica logs:\n{tail}"));
    }
    result.recovery = recovery;
    Ok(result)
}

/// The history, the faults injected, notes, and recovery failures.
type Driven = (History, Vec<scenario::Injection>, Vec<String>, Vec<String>);

/// Runs the faults of `name` (one scenario, or several joined by `+`, one after another)
/// inside one recorded session.
/// How long a scenario loads the cluster before its first fault, and holds each fault.
#[derive(Clone, Copy)]
struct Timing {
    warmup: Duration,
    hold: Duration,
}

async fn drive(cluster: &mut Cluster, name: &str, timing: Timing, seed: u64) -> Result<Driven> {
    let proxy = cluster.proxy_url();
    let replicas: Vec<(u64, String)> = cluster
        .live()
        .into_iter()
        .map(|n| (n, cluster.api_url(n)))
        .collect();
    let mut session = Session::start(&cluster.client, &proxy, &replicas, seed).await?;

    tokio::time::sleep(timing.warmup).await;
    let mut injections = Vec::new();
    // A cluster that does not recover is a finding, not a reason to stop: the history
    // is still completed and checked against the replicas that do answer.
    let mut recovery = Vec::new();
    for (i, part) in name.split('+').enumerate() {
        if i > 0 {
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
        if let Err(e) = scenario::run(
            part,
            cluster,
            &session.recorder,
            timing.hold,
            &mut injections,
        )
        .await
        {
            if injections.is_empty() {
                // Nothing was broken yet: the harness itself failed.
                session.stop_clients().await;
                return Err(e.context(format!("scenario {part}")));
            }
            recovery.push(format!("{part} did not recover: {e:#}"));
            break;
        }
    }
    cluster.net.heal()?;
    tokio::time::sleep(COOLDOWN).await;
    session.stop_clients().await;
    for node in cluster.live() {
        if let Err(e) = cluster.wait_ready(node, CONVERGE_LIMIT).await {
            recovery.push(format!("after healing: {e:#}"));
        }
    }
    let live: Vec<(u64, String)> = cluster
        .live()
        .into_iter()
        .map(|n| (n, cluster.api_url(n)))
        .collect();
    let (history, notes, more) = session.finish(name, &live).await;
    recovery.extend(more);
    Ok((history, injections, notes, recovery))
}

/// `--against`: one recorded session on an existing deployment, checked afterwards.
async fn against(args: &Args, kubeconfig: &std::path::Path) -> Result<i32> {
    let started = Instant::now();
    let namespace = args.namespace.clone().unwrap_or_else(|| {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        format!("keelson-chaos-{now}")
    });
    let client = Client::from_kubeconfig(kubeconfig)?.in_namespace(&namespace);
    let proxy = Client::server_of(kubeconfig)?;
    let replicas: Vec<(u64, String)> = args
        .replicas
        .iter()
        .enumerate()
        .map(|(i, url)| (i as u64 + 1, url.trim_end_matches('/').to_string()))
        .collect();
    println!(
        "chaos: recording against {proxy} and {} replica URLs in namespace {namespace} for {:?}; inject your faults now",
        replicas.len(),
        args.duration
    );
    let mut session = Session::start(&client, &proxy, &replicas, args.seed).await?;
    let end = Instant::now() + args.duration;
    while Instant::now() < end {
        let step = end
            .saturating_duration_since(Instant::now())
            .min(Duration::from_secs(10));
        tokio::time::sleep(step).await;
        println!(
            "chaos: {:.0}s left, {} operations so far",
            end.saturating_duration_since(Instant::now()).as_secs_f64(),
            session.recorder.op_count()
        );
    }
    session.stop_clients().await;
    println!("chaos: workload stopped; heal every fault now (waiting up to {CONVERGE_LIMIT:?} for convergence)");
    let live = if replicas.is_empty() {
        vec![(0, proxy.clone())]
    } else {
        replicas.clone()
    };
    let (history, notes, recovery) = session.finish("against", &live).await;
    std::fs::create_dir_all(&args.work_dir)?;
    let path = args.work_dir.join(format!("{namespace}.history.json"));
    std::fs::write(&path, serde_json::to_vec_pretty(&history)?)?;
    let report = check::check(&history);
    let mut result = ScenarioResult::new(
        "against",
        &history,
        report,
        Vec::new(),
        notes,
        started.elapsed(),
    );
    result.recovery = recovery;
    println!("{}", result.summary_line());
    if !result.report.passed() {
        println!("{}", result.report.failure_text());
    }
    let results = [result];
    let totals = Totals::of(&results);
    println!("{}", totals.closing_line());
    println!(
        "chaos: history in {} (re-check it with --check)",
        path.display()
    );
    Ok(i32::from(!totals.passed()))
}
