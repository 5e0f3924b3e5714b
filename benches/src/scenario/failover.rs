//! Leader failover under load: closed-loop writers run throughout while the leader is
//! killed with SIGKILL, again and again.
//!
//! Each round: writes run for the settle time (and at least one is acknowledged), the
//! leader is looked up, the clock starts and the leader is killed; the round's figure is
//! the time from the kill to the first acknowledged write among those *sent after* the
//! kill (so an answer already on its way when the leader died does not count). Then the
//! killed member is restarted on its data dir and the next round waits until it is
//! ready (keelson: /readyz 200 on it; etcd: /health true). Every wait is bounded; a
//! round that fails (no leader, a restart that does not become ready) is noted and ends
//! the figure with the rounds done so far.
//!
//! keelson's writers go through HAProxy (one connection each, reconnecting after an
//! error); etcd's each start on one member (writer k on member k mod 3) and move to the
//! next member after an error, as etcd's own client does with several endpoints.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{anyhow, Result};

use super::{payload, Settings};
use crate::driver::Op;
use crate::etcd_cluster::{EtcdCluster, RotatingPut, MEMBERS};
use crate::keelson_api::CreateConfigMap;
use crate::keelson_cluster::{KeelsonCluster, REPLICAS};
use crate::report::{Report, Unit};

/// How long one write may take before it counts as an error.
const OP_TIMEOUT: Duration = Duration::from_secs(10);
/// A writer's pause after an error, doubled after each further error up to the longest
/// and reset by a success: failing fast in a tight loop would load the two cores the
/// election needs, as real clients' backoff avoids. With 16 writers out of phase the
/// first success after writes resume still comes within a few ms.
const FIRST_PAUSE: Duration = Duration::from_millis(10);
const LONGEST_PAUSE: Duration = Duration::from_millis(100);
/// How long to wait for a leader to be named before a kill.
const LEADER_LIMIT: Duration = Duration::from_secs(15);
/// The goal from the issue: writes resume within this long of a leader kill.
const GOAL: Duration = Duration::from_millis(1500);
/// How many distinct error messages are kept for the report.
const KEPT_ERRORS: usize = 5;

/// What the failover rounds need from a cluster.
pub(crate) trait Target {
    type Writer: Op;
    const NAME: &'static str;
    /// The member `i` is called in messages.
    fn member_name(i: usize) -> String;
    async fn leader(&self) -> Result<usize>;
    /// The leader as member `i` sees it, if it answers and knows one.
    async fn leader_seen_by(&self, i: usize) -> Option<usize>;
    async fn kill(&mut self, i: usize) -> Result<()>;
    async fn restart(&mut self, i: usize, limit: Duration) -> Result<Duration>;
    /// Writer number `k`, with its own connection.
    async fn writer(&self, k: usize) -> Result<Self::Writer>;
}

impl Target for KeelsonCluster {
    type Writer = CreateConfigMap;
    const NAME: &'static str = "keelson";
    fn member_name(i: usize) -> String {
        format!("n{}", i + 1)
    }
    async fn leader(&self) -> Result<usize> {
        KeelsonCluster::leader(self, LEADER_LIMIT).await
    }
    async fn leader_seen_by(&self, i: usize) -> Option<usize> {
        KeelsonCluster::leader_seen_by(self, i).await.ok().flatten()
    }
    async fn kill(&mut self, i: usize) -> Result<()> {
        KeelsonCluster::kill(self, i).await
    }
    async fn restart(&mut self, i: usize, limit: Duration) -> Result<Duration> {
        KeelsonCluster::restart(self, i, limit).await
    }
    async fn writer(&self, _k: usize) -> Result<CreateConfigMap> {
        Ok(CreateConfigMap {
            api: self.client()?,
            namespace: "default".into(),
            prefix: "failover-".into(),
            payload: payload(),
        })
    }
}

impl Target for EtcdCluster {
    type Writer = RotatingPut;
    const NAME: &'static str = "etcd";
    fn member_name(i: usize) -> String {
        format!("e{}", i + 1)
    }
    async fn leader(&self) -> Result<usize> {
        EtcdCluster::leader(self, LEADER_LIMIT).await
    }
    async fn leader_seen_by(&self, i: usize) -> Option<usize> {
        EtcdCluster::leader_seen_by(self, i).await.ok().flatten()
    }
    async fn kill(&mut self, i: usize) -> Result<()> {
        EtcdCluster::kill(self, i);
        Ok(())
    }
    async fn restart(&mut self, i: usize, limit: Duration) -> Result<Duration> {
        EtcdCluster::restart(self, i, limit).await
    }
    async fn writer(&self, k: usize) -> Result<RotatingPut> {
        Ok(RotatingPut::new(
            self.urls(),
            k % MEMBERS,
            "/bench3/failover/".into(),
            payload(),
        ))
    }
}

/// Runs the rounds on keelson, then (if asked) on etcd, and adds the rows.
pub(super) async fn run(
    s: &Settings,
    keelson: &mut KeelsonCluster,
    etcd: &mut EtcdCluster,
    report: &mut Report,
) -> Result<()> {
    let k = rounds(s, keelson, REPLICAS, report).await?;
    let e = if s.etcd_failover {
        Some(rounds(s, etcd, MEMBERS, report).await?)
    } else {
        None
    };
    let e = e.as_ref();
    let what = "leader failover";
    report.row(
        format!("{what}: leader kills"),
        Unit::Count,
        Some(k.windows.len() as f64),
        e.map(|e| e.windows.len() as f64),
    );
    for (label, q) in [("p50", 0.5), ("p99", 0.99), ("max", 1.0)] {
        report.row(
            format!("{what}: kill to first acknowledged write, {label} ms"),
            Unit::Millis,
            k.window_ms(q),
            e.and_then(|e| e.window_ms(q)),
        );
    }
    report.row(
        format!(
            "{what}: kills after which writes resumed within {} s",
            GOAL.as_secs_f64()
        ),
        Unit::Count,
        Some(k.within_goal() as f64),
        e.map(|e| e.within_goal() as f64),
    );
    report.row(
        format!("{what}: kill to a new leader named by a survivor, p50 ms"),
        Unit::Millis,
        k.election_ms(),
        e.and_then(Outcome::election_ms),
    );
    report.row(
        format!("{what}: killed member's restart to ready, p50 ms"),
        Unit::Millis,
        k.restart_ms(),
        e.and_then(Outcome::restart_ms),
    );
    report.row(
        format!("{what}: failed writes over all rounds"),
        Unit::Count,
        Some(k.errors as f64),
        e.map(|e| e.errors as f64),
    );
    for (name, o) in [("keelson", Some(&k)), ("etcd", e)] {
        let Some(o) = o else { continue };
        if o.unresolved > 0 {
            report.note(format!(
                "{what}, {name}: in {} of {} rounds no write sent after the kill was \
                 acknowledged within {:?}; those rounds count as {:?}",
                o.unresolved,
                o.windows.len(),
                s.resume_limit,
                s.resume_limit
            ));
        }
        if o.errors > 0 {
            let first = o
                .first_errors
                .iter()
                .map(|e| format!("`{}`", e.split_whitespace().collect::<Vec<_>>().join(" ")))
                .collect::<Vec<_>>()
                .join("; ");
            report.note(format!(
                "{what}, {name}: {} of {} writes failed over the rounds; first errors: {first}",
                o.errors,
                o.errors + o.acks
            ));
        }
    }
    Ok(())
}

/// The figures of one side's rounds.
#[derive(Default)]
struct Outcome {
    /// Kill to first acknowledged write sent after it, per round.
    windows: Vec<Duration>,
    /// Kill to a new leader named by a surviving member, per round where one was seen.
    elections: Vec<Duration>,
    /// Restart of the killed member to ready, per round.
    restarts: Vec<Duration>,
    /// Rounds in which no write sent after the kill was acknowledged in time (their
    /// window counts as the limit).
    unresolved: usize,
    acks: u64,
    errors: u64,
    first_errors: Vec<String>,
}

impl Outcome {
    fn window_ms(&self, q: f64) -> Option<f64> {
        quantile_ms(&self.windows, q)
    }
    fn within_goal(&self) -> usize {
        self.windows.iter().filter(|w| **w <= GOAL).count()
    }
    fn election_ms(&self) -> Option<f64> {
        quantile_ms(&self.elections, 0.5)
    }
    fn restart_ms(&self) -> Option<f64> {
        quantile_ms(&self.restarts, 0.5)
    }
}

/// The value at quantile `q` (1.0: the largest), in ms; the same rule as the driver's.
fn quantile_ms(v: &[Duration], q: f64) -> Option<f64> {
    let mut v = v.to_vec();
    v.sort_unstable();
    let i = ((v.len() as f64 * q) as usize).min(v.len().checked_sub(1)?);
    Some(v[i].as_secs_f64() * 1000.0)
}

/// What the writers have seen, shared with the rounds.
#[derive(Default)]
struct Probe {
    stop: AtomicBool,
    seq: AtomicU64,
    state: Mutex<ProbeState>,
}

#[derive(Default)]
struct ProbeState {
    acks: u64,
    errors: u64,
    first_errors: Vec<String>,
    /// When the current round's leader was killed.
    kill_at: Option<Instant>,
    /// The first acknowledgement, after the kill, of a write sent after it.
    first_ack: Option<Instant>,
    /// The first acknowledgement after the kill of any write (some were sent before).
    first_any_ack: Option<Instant>,
}

impl Probe {
    fn state(&self) -> std::sync::MutexGuard<'_, ProbeState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn ack(&self, sent: Instant, answered: Instant) {
        let mut st = self.state();
        st.acks += 1;
        if let Some(k) = st.kill_at {
            if answered > k && st.first_any_ack.is_none() {
                st.first_any_ack = Some(answered);
            }
            if sent >= k && st.first_ack.is_none() {
                st.first_ack = Some(answered);
            }
        }
    }

    fn error(&self, e: String) {
        let mut st = self.state();
        st.errors += 1;
        if st.first_errors.len() < KEPT_ERRORS && !st.first_errors.contains(&e) {
            st.first_errors.push(e);
        }
    }
}

async fn write_loop<O: Op>(mut op: O, probe: Arc<Probe>, end: Instant) {
    let mut pause = FIRST_PAUSE;
    while !probe.stop.load(Ordering::Relaxed) && Instant::now() < end {
        let seq = probe.seq.fetch_add(1, Ordering::Relaxed);
        let sent = Instant::now();
        let result = match tokio::time::timeout(OP_TIMEOUT, op.run(seq)).await {
            Ok(r) => r,
            Err(_) => Err(format!("no answer within {} s", OP_TIMEOUT.as_secs())),
        };
        match result {
            Ok(()) => {
                probe.ack(sent, Instant::now());
                pause = FIRST_PAUSE;
            }
            Err(e) => {
                probe.error(e);
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(LONGEST_PAUSE);
            }
        }
    }
}

/// The rounds on one side; a round that cannot be done is noted and ends them.
async fn rounds<T: Target>(
    s: &Settings,
    target: &mut T,
    members: usize,
    report: &mut Report,
) -> Result<Outcome> {
    let probe = Arc::new(Probe::default());
    let per_round = s.settle + s.resume_limit + s.ready_limit + Duration::from_secs(30);
    let end = Instant::now() + per_round * u32::try_from(s.kills).unwrap_or(u32::MAX);
    let mut writers = Vec::new();
    for k in 0..s.failover_writers {
        let op = target.writer(k).await?;
        writers.push(tokio::spawn(write_loop(op, probe.clone(), end)));
    }
    eprintln!(
        "failover {}: {} writers, {} kills",
        T::NAME,
        s.failover_writers,
        s.kills
    );
    let mut out = Outcome::default();
    for round in 1..=s.kills {
        if let Err(e) = one_round(s, target, members, &probe, &mut out, round).await {
            report.note(format!(
                "leader failover, {}: round {round} of {} could not be done, so the figure \
                 covers {} rounds: {e:#}",
                T::NAME,
                s.kills,
                out.windows.len()
            ));
            break;
        }
    }
    probe.stop.store(true, Ordering::Relaxed);
    for w in writers {
        let _ = w.await;
    }
    let st = probe.state();
    out.acks = st.acks;
    out.errors = st.errors;
    out.first_errors = st.first_errors.clone();
    Ok(out)
}

async fn one_round<T: Target>(
    s: &Settings,
    target: &mut T,
    members: usize,
    probe: &Probe,
    out: &mut Outcome,
    round: usize,
) -> Result<()> {
    // Writes must be flowing before the kill.
    let acks_before = probe.state().acks;
    tokio::time::sleep(s.settle).await;
    let t = Instant::now();
    while probe.state().acks == acks_before {
        if t.elapsed() > s.resume_limit {
            return Err(anyhow!(
                "no write was acknowledged in the {:?} before the kill",
                s.settle + s.resume_limit
            ));
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let leader = target.leader().await?;
    let survivor = (leader + 1) % members;
    let errors_before = {
        let mut st = probe.state();
        st.first_ack = None;
        st.first_any_ack = None;
        st.kill_at = Some(Instant::now());
        st.errors
    };
    let kill_at = probe.state().kill_at.unwrap_or_else(Instant::now);
    // Wall-clock time of the kill, to line the round up with the servers' logs.
    let kill_wall = humantime::format_rfc3339_millis(std::time::SystemTime::now());
    target.kill(leader).await?;

    // Until writes resume and a survivor names the new leader (both bounded).
    let mut election = None;
    let mut first_ack = None;
    while kill_at.elapsed() <= s.resume_limit {
        if first_ack.is_none() {
            first_ack = probe.state().first_ack;
        }
        if election.is_none() {
            if let Some(l) = target.leader_seen_by(survivor).await {
                if l != leader {
                    election = Some(kill_at.elapsed());
                }
            }
        }
        if first_ack.is_some() && election.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let (first_any, errors) = {
        let mut st = probe.state();
        st.kill_at = None;
        (st.first_any_ack, st.errors - errors_before)
    };
    let window = match first_ack {
        Some(a) => a - kill_at,
        None => s.resume_limit,
    };
    out.windows.push(window);
    out.elections.extend(election);
    let ms = |d: Duration| format!("{:.0} ms", d.as_secs_f64() * 1000.0);
    eprintln!(
        "failover {} round {round}: killed leader {} at {kill_wall}; new leader named after {}; \
         first ack of a write sent after the kill {}, of any write {}; {errors} failed writes \
         until then",
        T::NAME,
        T::member_name(leader),
        election.map_or("-".into(), ms),
        first_ack.map_or(format!("none within {:?}", s.resume_limit), |_| ms(window)),
        first_any.map_or("-".into(), |a| ms(a - kill_at)),
    );
    if first_ack.is_none() {
        out.unresolved += 1;
        eprintln!(
            "failover {} round {round}: no write sent after the kill was acknowledged within {:?}",
            T::NAME,
            s.resume_limit
        );
    }
    let ready = target.restart(leader, s.ready_limit).await?;
    eprintln!(
        "failover {} round {round}: {} restarted, ready in {}",
        T::NAME,
        T::member_name(leader),
        ms(ready)
    );
    out.restarts.push(ready);
    Ok(())
}
