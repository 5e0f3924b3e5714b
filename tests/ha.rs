//! High availability: three keelson replicas sharing state through their Raft log, behind
//! HAProxy, started with cluster/local-up.sh exactly as a human starts them.
//!
//! - writes through any replica (or HAProxy) land once, and every replica then lists the
//!   same objects with the same resourceVersions; a watch on one replica sees the writes
//!   made on another, in order;
//! - `kill -9` of the leader under concurrent load loses no acknowledged write, applies
//!   none twice, leaves no gap in the survivors' watch streams, and the restarted replica
//!   reports ready only once it has caught up;
//! - a member replaced by a fresh one catches up by snapshot and serves reads and writes;
//! - what users' `kubectl get --watch` (which ends when its connection does, and is
//!   re-run) and kube-rs watchers (which resume from their last resourceVersion) see
//!   through HAProxy when the leader dies.
//!
//! Each test runs its own cluster in its own directory (kept, with log tails printed, on
//! failure); tests/support/cluster.rs holds the process and client helpers.

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::StreamExt;
use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::Api;
use kube::runtime::{watcher, WatchStreamExt};
use reqwest::StatusCode;
use serde_json::Value;
use support::cluster::{configmap, Cluster, Listing, WatchEvent, WatchLog, CONFIGMAPS, NS};
use support::{eventually, ChildGuard};

/// Checks a survivor's watch stream against the final list: only ADDED events, strictly
/// increasing revisions (so no event twice), each name once, each event exactly an object
/// of the final list (name and rv), and every object of the list above `start` present.
fn check_stream(who: &str, log: &WatchLog, fin: &BTreeMap<String, u64>, start: u64) {
    let not_added: Vec<&WatchEvent> = log.events.iter().filter(|e| e.kind != "ADDED").collect();
    assert!(
        not_added.is_empty(),
        "{who}: events other than ADDED for create-only load: {:?}",
        &not_added[..not_added.len().min(10)]
    );
    for pair in log.events.windows(2) {
        assert!(
            pair[0].rv < pair[1].rv,
            "{who}: watch revisions do not strictly increase: {:?} then {:?}",
            pair[0],
            pair[1]
        );
    }
    let mut names = BTreeSet::new();
    for e in &log.events {
        assert!(
            names.insert(e.name.as_str()),
            "{who}: {} ADDED twice",
            e.name
        );
        assert_eq!(
            fin.get(&e.name),
            Some(&e.rv),
            "{who}: event {e:?} is not an object of the final list"
        );
        assert!(
            e.rv > start,
            "{who}: event {e:?} from before the watch's start {start}"
        );
    }
    let missing: Vec<(&String, &u64)> = fin
        .iter()
        .filter(|(n, rv)| **rv > start && !names.contains(n.as_str()))
        .collect();
    assert!(
        missing.is_empty(),
        "{who}: {} objects of the final list missing from the watch (a gap), first {:?}",
        missing.len(),
        &missing[..missing.len().min(10)]
    );
}

// === 1. writes through every replica agree ===

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn writes_through_every_replica_agree() {
    const PER_TARGET: usize = 20;
    let cluster = Arc::new(Cluster::start().await);
    let n3 = cluster.replica_addr(3);
    let before = cluster.list_eventually(n3, None).await;
    let watch = cluster.watch(n3, before.rv);

    // One sequential writer per entry point, all four at once.
    let targets = [
        ("n1", cluster.replica_addr(1)),
        ("n2", cluster.replica_addr(2)),
        ("n3", n3),
        ("haproxy", cluster.haproxy_addr()),
    ];
    let mut writers = Vec::new();
    for (label, addr) in targets {
        let cluster = cluster.clone();
        writers.push(tokio::spawn(async move {
            let mut acked = Vec::new();
            for k in 0..PER_TARGET {
                let name = format!("{label}-{k}");
                let rv = cluster.create_ok(addr, &name).await;
                acked.push((name, rv));
            }
            (label, acked)
        }));
    }
    let mut by_target: BTreeMap<&str, Vec<(String, u64)>> = BTreeMap::new();
    for w in writers {
        let (label, acked) = w.await.expect("writer task");
        by_target.insert(label, acked);
    }
    let mut expected: BTreeMap<String, u64> = BTreeMap::new();
    for (label, acked) in &by_target {
        for pair in acked.windows(2) {
            assert!(
                pair[0].1 < pair[1].1,
                "{label}: sequential creates got non-increasing revisions {pair:?}"
            );
        }
        expected.extend(acked.iter().cloned());
    }
    let distinct: BTreeSet<u64> = expected.values().copied().collect();
    assert_eq!(
        distinct.len(),
        expected.len(),
        "two creates got the same revision"
    );

    // Every replica lists the same objects with the same revisions, at the same list
    // revision. Writes to other kinds (a controller renewing its lease) move the global
    // revision between lists, so the three lists are taken together, again until their
    // revisions agree (at most 10 rounds); the objects must agree every time.
    let top = expected.values().max().copied().unwrap_or(0);
    let mut rounds = 0;
    let listings = loop {
        rounds += 1;
        let listings: Vec<Listing> = futures::future::join_all(
            (1..=3).map(|id| cluster.list_eventually(cluster.replica_addr(id), None)),
        )
        .await;
        for (i, listing) in listings.iter().enumerate() {
            let id = i + 1;
            assert!(
                listing.duplicate_names().is_empty(),
                "n{id} lists names twice: {:?}",
                listing.duplicate_names()
            );
            assert_eq!(
                listing.by_name(),
                expected,
                "n{id} does not list exactly the acknowledged objects"
            );
            assert!(
                listing.rv >= top,
                "n{id}: list revision {} below the last acknowledged write {top}",
                listing.rv
            );
            assert_eq!(
                listing.items, listings[0].items,
                "n{id} lists the objects in another order than n1"
            );
        }
        let rvs: Vec<u64> = listings.iter().map(|l| l.rv).collect();
        if rvs.iter().all(|&rv| rv == rvs[0]) {
            break listings;
        }
        assert!(
            rounds < 10,
            "the replicas' list revisions never agreed in {rounds} rounds; last {rvs:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };

    // The watch on n3 saw every write, in revision order, with the revision the create
    // returned — in particular n1's writes in the order n1 acknowledged them.
    watch
        .wait_for(&expected, Duration::from_secs(20), "watch on n3")
        .await;
    let log = watch.snapshot();
    check_stream("watch on n3", &log, &expected, before.rv);
    let n1_seen: Vec<(String, u64)> = log
        .events
        .iter()
        .filter(|e| e.name.starts_with("n1-"))
        .map(|e| (e.name.clone(), e.rv))
        .collect();
    assert_eq!(
        n1_seen, by_target["n1"],
        "n3's watch shows n1's writes differently from how n1 acknowledged them"
    );
    assert_eq!(
        log.connects, 1,
        "the watch on n3 reconnected: {:?}",
        log.ends
    );
    println!(
        "{} creates through n1, n2, n3 and HAProxy agree on every replica at list revision {}",
        expected.len(),
        listings[0].rv
    );
}

// === 2. kill -9 of the leader under load ===

/// An acknowledged create: its name and revision, when it was sent and answered.
#[derive(Clone, Debug)]
struct Ack {
    name: String,
    rv: u64,
    sent: Instant,
    at: Instant,
}

/// What one writer task saw besides acknowledgements.
#[derive(Debug, Default)]
struct WriterReport {
    /// Names whose retry answered AlreadyExists: an unacknowledged attempt landed.
    maybe: Vec<String>,
    /// The name still being retried when the writers were stopped (outcome unknown).
    unknown: Vec<String>,
    /// AlreadyExists on a first attempt: a name this writer never sent before exists.
    unexpected: Vec<String>,
    /// Failed attempts by kind ("connect error", "503 ServiceUnavailable", ...).
    errors: BTreeMap<String, usize>,
}

/// Creates w{task}-0, w{task}-1, ... through `url` until `stop`, retrying each name until
/// it is acknowledged (or answered AlreadyExists on a retry).
async fn writer(
    http: reqwest::Client,
    url: String,
    task: usize,
    stop: Arc<AtomicBool>,
    acks: Arc<Mutex<Vec<Ack>>>,
) -> WriterReport {
    let mut report = WriterReport::default();
    let mut n = 0;
    'names: while !stop.load(Ordering::SeqCst) {
        let name = format!("w{task}-{n}");
        n += 1;
        let mut attempt = 0;
        loop {
            attempt += 1;
            let sent = Instant::now();
            let answer = http
                .post(&url)
                .json(&configmap(&name))
                .timeout(Duration::from_secs(10))
                .send()
                .await;
            let failure = match answer {
                Ok(resp) => {
                    let (status, body) = support::read_json(resp).await;
                    let rv_read = body["metadata"]["resourceVersion"].is_string();
                    match status {
                        // The status line arrived but the body was cut (the replica was
                        // killed mid-answer): the client never heard the outcome, so the
                        // attempt is retried like any other failure.
                        StatusCode::CREATED if !rv_read => "201 with a cut body".to_string(),
                        StatusCode::CREATED => {
                            acks.lock().unwrap().push(Ack {
                                name,
                                rv: support::rv_of(&body),
                                sent,
                                at: Instant::now(),
                            });
                            continue 'names;
                        }
                        StatusCode::CONFLICT if body["reason"] == "AlreadyExists" => {
                            if attempt > 1 {
                                report.maybe.push(name);
                            } else {
                                report.unexpected.push(format!("{name}: {body}"));
                            }
                            continue 'names;
                        }
                        other => format!("{} {}", other.as_u16(), body["reason"]),
                    }
                }
                Err(e) if e.is_timeout() => "timeout".to_string(),
                Err(e) if e.is_connect() => "connect error".to_string(),
                Err(_) => "connection error".to_string(),
            };
            *report.errors.entry(failure).or_default() += 1;
            if stop.load(Ordering::SeqCst) {
                report.unknown.push(name);
                break 'names;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    report
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn leader_kill_under_load_loses_nothing() {
    const WRITERS: usize = 16;
    const LOAD_BEFORE_KILL: Duration = Duration::from_secs(2);
    const LOAD_AFTER_KILL: Duration = Duration::from_secs(4);
    let mut cluster = Cluster::start().await;
    let leader = cluster.leader_id().await;
    let survivors: Vec<u64> = (1..=3).filter(|&id| id != leader).collect();
    let start = cluster
        .list_eventually(cluster.replica_addr(leader), None)
        .await
        .rv;
    let watches: Vec<(u64, support::cluster::RawWatch)> = survivors
        .iter()
        .map(|&id| (id, cluster.watch(cluster.replica_addr(id), start)))
        .collect();

    let stop = Arc::new(AtomicBool::new(false));
    let acks = Arc::new(Mutex::new(Vec::<Ack>::new()));
    let http = cluster.new_http();
    let url = Cluster::url(cluster.haproxy_addr(), CONFIGMAPS);
    let writers: Vec<_> = (0..WRITERS)
        .map(|t| {
            tokio::spawn(writer(
                http.clone(),
                url.clone(),
                t,
                stop.clone(),
                acks.clone(),
            ))
        })
        .collect();

    tokio::time::sleep(LOAD_BEFORE_KILL).await;
    let acked_before_kill = acks.lock().unwrap().len();
    let kill_at = Instant::now();
    cluster.kill9(leader);
    println!("killed leader n{leader} after {acked_before_kill} acknowledged creates");
    tokio::time::sleep(LOAD_AFTER_KILL).await;
    // Keep the load on until writes have resumed (at most 30 s more).
    let resumed = |acks: &[Ack]| acks.iter().any(|a| a.sent >= kill_at);
    let give_up = Instant::now() + Duration::from_secs(30);
    while !resumed(&acks.lock().unwrap()) && Instant::now() < give_up {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    stop.store(true, Ordering::SeqCst);
    let mut reports = Vec::new();
    for w in writers {
        reports.push(w.await.expect("writer task"));
    }
    let acks: Vec<Ack> = acks.lock().unwrap().clone();

    // Writes resumed, and how long they could not be made: from the kill to the first
    // acknowledgement of a create sent after it (a create in flight at the kill may be
    // answered a moment later without telling anything about the new leader).
    let after: Vec<&Ack> = acks.iter().filter(|a| a.sent >= kill_at).collect();
    assert!(
        !after.is_empty(),
        "no write sent after the leader kill was acknowledged within {:?}",
        LOAD_AFTER_KILL + Duration::from_secs(30)
    );
    let first_after = after.iter().map(|a| a.at).min().expect("some ack");
    println!(
        "unavailability window after leader kill: {} ms",
        (first_after - kill_at).as_millis()
    );
    let mut times: Vec<Instant> = acks.iter().map(|a| a.at).collect();
    times.sort();
    let longest_gap = times
        .windows(2)
        .map(|w| w[1] - w[0])
        .max()
        .unwrap_or_default();
    let errors: BTreeMap<&str, usize> =
        reports
            .iter()
            .flat_map(|r| r.errors.iter())
            .fold(BTreeMap::new(), |mut m, (k, v)| {
                *m.entry(k.as_str()).or_default() += v;
                m
            });
    let maybe: Vec<&String> = reports.iter().flat_map(|r| &r.maybe).collect();
    let unknown: Vec<&String> = reports.iter().flat_map(|r| &r.unknown).collect();
    println!(
        "{} creates acknowledged ({} sent after the kill), longest gap between acks {} ms; \
         {} retried names already existed, {} unresolved at stop; failed attempts: {errors:?}",
        acks.len(),
        after.len(),
        longest_gap.as_millis(),
        maybe.len(),
        unknown.len()
    );
    let unexpected: Vec<&String> = reports.iter().flat_map(|r| &r.unexpected).collect();
    assert!(
        unexpected.is_empty(),
        "first attempts answered AlreadyExists: {unexpected:?}"
    );

    // Every acknowledged write is on both survivors with its acknowledged revision; no
    // name is listed twice; both list the same.
    let mut finals = Vec::new();
    for &id in &survivors {
        let listing = cluster
            .list_eventually(cluster.replica_addr(id), None)
            .await;
        assert!(
            listing.duplicate_names().is_empty(),
            "n{id} lists names twice: {:?}",
            listing.duplicate_names()
        );
        let by_name = listing.by_name();
        let lost: Vec<&Ack> = acks
            .iter()
            .filter(|a| by_name.get(&a.name) != Some(&a.rv))
            .collect();
        assert!(
            lost.is_empty(),
            "n{id}: {} acknowledged creates missing or with another revision, first {:?}",
            lost.len(),
            lost.iter()
                .take(5)
                .map(|a| (&a.name, a.rv, by_name.get(&a.name)))
                .collect::<Vec<_>>()
        );
        for name in &maybe {
            assert!(
                by_name.contains_key(*name),
                "n{id}: {name} answered AlreadyExists but is not listed"
            );
        }
        finals.push(by_name);
    }
    assert_eq!(finals[0], finals[1], "the survivors list different objects");
    let fin = &finals[0];

    // Each survivor's watch saw each object exactly once, in revision order, no gap.
    for (id, watch) in &watches {
        let who = format!("watch on n{id}");
        let want: BTreeMap<String, u64> = fin
            .iter()
            .filter(|(_, rv)| **rv > start)
            .map(|(n, rv)| (n.clone(), *rv))
            .collect();
        watch.wait_for(&want, Duration::from_secs(30), &who).await;
        let log = watch.snapshot();
        check_stream(&who, &log, fin, start);
        println!(
            "{who}: {} events, {} reconnects {:?}",
            log.events.len(),
            log.connects.saturating_sub(1),
            log.ends
        );
    }

    // The killed replica, restarted, reports ready only once it has caught up: at its
    // first 200 from /readyz, its own cache (resourceVersion=0, no read index) already
    // holds every object, including those written while it was down.
    // (`after` is not empty: those writes were made while it was down.)
    let written_while_down = after.len();
    cluster.restart(leader);
    let restarted_at = Instant::now();
    let addr = cluster.replica_addr(leader);
    let mut not_ready = 0;
    let deadline = restarted_at + support::cluster::REPLICA_READY_TIMEOUT;
    loop {
        match cluster.ready(leader).await {
            Ok(()) => break,
            Err(e) if e.contains("answered") => not_ready += 1,
            Err(_) => {}
        }
        assert!(
            Instant::now() < deadline,
            "restarted n{leader} never became ready"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let cached = cluster
        .list(addr, Some("0"))
        .await
        .unwrap_or_else(|e| panic!("list rv=0 on n{leader} right after ready: {e}"));
    let cache_rv = cached.rv;
    let cached = cached.by_name();
    let behind: Vec<&Ack> = acks
        .iter()
        .filter(|a| cached.get(&a.name) != Some(&a.rv))
        .collect();
    if !behind.is_empty() {
        // For the report: what the replica says of itself a moment later.
        let status = cluster
            .members(addr)
            .await
            .map(|list| {
                list["members"]
                    .as_array()
                    .and_then(|ms| ms.iter().find(|m| m["id"] == leader).cloned())
                    .unwrap_or(list)
            })
            .unwrap_or_else(Value::String);
        let top = acks.iter().map(|a| a.rv).max().unwrap_or(0);
        panic!(
            "n{leader} answered ready but its cache (list rv=0 at revision {cache_rv}) lacks {} \
             acknowledged creates (of {}; the last acknowledged revision is {top}), first {:?}; \
             a moment later it reports {status}",
            behind.len(),
            acks.len(),
            behind
                .iter()
                .take(5)
                .map(|a| (&a.name, a.rv))
                .collect::<Vec<_>>()
        );
    }
    assert_eq!(
        &cached, fin,
        "n{leader} answered ready but its cache differs from the survivors' list"
    );
    println!(
        "restarted n{leader} ready after {} ms ({not_ready} not-ready answers first), \
         with all {} objects ({written_while_down} written while it was down)",
        restarted_at.elapsed().as_millis(),
        fin.len()
    );
}

// === 3. replacing a member: the new one catches up by snapshot ===

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn replace_a_member_catches_up_by_snapshot() {
    const OBJECTS: usize = 300;
    const TASKS: usize = 30;
    let mut cluster = Cluster::start_with("--snapshot-count 50").await;
    let http = cluster.new_http();
    let url = Cluster::url(cluster.haproxy_addr(), CONFIGMAPS);
    let mut tasks = Vec::new();
    for t in 0..TASKS {
        let (http, url) = (http.clone(), url.clone());
        tasks.push(tokio::spawn(async move {
            let mut top = 0;
            for k in 0..OBJECTS / TASKS {
                let name = format!("bulk-{t}-{k}");
                let resp = http
                    .post(&url)
                    .json(&configmap(&name))
                    .timeout(Duration::from_secs(30))
                    .send()
                    .await
                    .map_err(|e| format!("create {name}: {e}"))?;
                let (status, body) = support::read_json(resp).await;
                if status != StatusCode::CREATED {
                    return Err(format!("create {name}: {status} {body}"));
                }
                top = top.max(support::rv_of(&body));
            }
            Ok::<u64, String>(top)
        }));
    }
    let mut last_rv = 0;
    for t in tasks {
        last_rv = last_rv.max(t.await.expect("bulk task").expect("bulk create"));
    }

    let leader = cluster.leader_id().await;
    let victim = (1..=3).rev().find(|&id| id != leader).expect("a follower");
    cluster.kill9(victim);
    // Through HAProxy, right after the kill. A connection-level failure (the request
    // never reached a replica) is retried, at most twice, and reported.
    let mut attempt = 0;
    let removed = loop {
        attempt += 1;
        let out = cluster
            .keelson_member(&["remove", &victim.to_string()])
            .await;
        let text = out.text();
        if attempt < 3
            && !out.status.is_some_and(|s| s.success())
            && text.contains("error sending request")
        {
            println!("NOTE: keelson member remove {victim} could not reach a replica: {text}");
            tokio::time::sleep(Duration::from_millis(500)).await;
            continue;
        }
        break out;
    };
    assert!(
        removed.status.is_some_and(|s| s.success()),
        "keelson member remove {victim}: {:?}\n{}",
        removed.status,
        removed.text()
    );

    let (n4, peer4) = cluster.start_joining_member(4);
    let added_at = Instant::now();
    let added = cluster
        .keelson_member(&["add", "4", &format!("https://{peer4}")])
        .await;
    assert!(
        added.status.is_some_and(|s| s.success()),
        "keelson member add 4: {:?}\n{}",
        added.status,
        added.text()
    );
    let add_took = added_at.elapsed();
    // `member add` returns once the learner has caught up: node 4 has by then applied
    // everything written before it was added (as it reports itself in the member list).
    let list = cluster
        .members(cluster.replica_addr(leader))
        .await
        .expect("member list from the leader");
    let me4 = list["members"]
        .as_array()
        .and_then(|ms| ms.iter().find(|m| m["id"] == 4))
        .cloned()
        .unwrap_or_default();
    println!(
        "member add 4 returned after {} ms; node 4 then reported {me4}",
        add_took.as_millis()
    );
    assert!(
        me4["revision"].as_u64().is_some_and(|rv| rv >= last_rv),
        "member add 4 returned (after {add_took:?}) before node 4 caught up: the last write \
         before the add had revision {last_rv}; member list: {list}"
    );

    let remaining: Vec<u64> = (1..=3).filter(|&id| id != victim).collect();
    let want_ids: BTreeSet<u64> = remaining.iter().copied().chain([4]).collect();
    let list = cluster
        .members(cluster.haproxy_addr())
        .await
        .expect("member list");
    let ids: BTreeSet<u64> = list["members"]
        .as_array()
        .expect("members array")
        .iter()
        .filter_map(|m| m["id"].as_u64())
        .collect();
    assert_eq!(ids, want_ids, "member ids after the replacement: {list}");
    assert!(
        cluster
            .log(4)
            .contains("installed a snapshot from the leader"),
        "node 4 did not catch up by snapshot (see its log, n4.log, below)"
    );
    cluster.wait_ready(4).await;
    let state4 = eventually("node 4 to vote", Duration::from_secs(30), || {
        let cluster = &cluster;
        async move {
            let list = cluster.members(n4).await.ok()?;
            let me = list["members"]
                .as_array()?
                .iter()
                .find(|m| m["id"] == 4)?
                .clone();
            (me["state"] == "Follower" || me["state"] == "Leader").then_some(me)
        }
    })
    .await;
    println!("node 4 votes: {state4}");

    // Node 4 serves the same objects as the leader, and takes writes the others see.
    let leader = cluster.leader_id().await;
    let on_leader = cluster
        .list_eventually(cluster.replica_addr(leader), None)
        .await;
    let on_4 = cluster.list_eventually(n4, None).await;
    let bulk = on_4
        .items
        .iter()
        .filter(|(n, _)| n.starts_with("bulk-"))
        .count();
    assert_eq!(
        bulk, OBJECTS,
        "node 4 lists {bulk} of the {OBJECTS} objects"
    );
    assert_eq!(
        on_4.by_name(),
        on_leader.by_name(),
        "node 4 and the leader n{leader} list different objects or revisions"
    );
    let rv = cluster.create_ok(n4, "via-n4").await;
    for &id in &remaining {
        let resp = cluster
            .http()
            .get(Cluster::url(
                cluster.replica_addr(id),
                &format!("{CONFIGMAPS}/via-n4"),
            ))
            .timeout(Duration::from_secs(30))
            .send()
            .await
            .expect("get via-n4");
        let (status, body) = support::read_json(resp).await;
        assert_eq!(status, StatusCode::OK, "n{id} does not have via-n4: {body}");
        assert_eq!(
            support::rv_of(&body),
            rv,
            "n{id} has via-n4 at another revision"
        );
    }
}

// === 4. kubectl get --watch and a kube-rs watcher through HAProxy across a leader kill ===

/// A `kubectl get configmaps --watch -o name` (through HAProxy unless pinned to one
/// replica with `--server`), its stdout lines collected by a thread.
struct KubectlWatch {
    child: ChildGuard,
    lines: Arc<Mutex<Vec<String>>>,
}

impl KubectlWatch {
    /// Starts run `run` of watch `n`; its stderr goes to DIR/kubectl-watch-N-RUN.err.
    fn start(cluster: &Cluster, n: usize, run: usize, server: Option<SocketAddr>) -> KubectlWatch {
        let stderr_path = cluster.root().join(format!("kubectl-watch-{n}-{run}.err"));
        let stderr = std::fs::File::create(stderr_path).expect("kubectl stderr file");
        let server = server.map(|addr| format!("--server=https://{addr}"));
        let mut args = vec!["get", "configmaps", "-n", NS, "--watch", "-o", "name"];
        args.extend(server.as_deref());
        let mut child = cluster
            .kubectl_command(&args)
            .stdout(Stdio::piped())
            .stderr(Stdio::from(stderr))
            .spawn()
            .expect("spawn kubectl get --watch");
        let stdout = child.stdout.take().expect("piped stdout");
        let lines = Arc::new(Mutex::new(Vec::new()));
        let sink = lines.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                match line {
                    Ok(l) => sink.lock().unwrap().push(l),
                    Err(_) => break,
                }
            }
        });
        KubectlWatch {
            child: ChildGuard(child),
            lines,
        }
    }

    fn has(&self, name: &str) -> bool {
        let want = format!("configmap/{name}");
        self.lines.lock().unwrap().iter().any(|l| l.trim() == want)
    }

    /// The exit status, once it has ended.
    fn exited(&mut self) -> Option<ExitStatus> {
        self.child.0.try_wait().ok().flatten()
    }

    /// Waits (at most 30 s) until it has printed the configmaps that existed before the
    /// kill, or has ended.
    async fn wait_listed(&mut self, what: &str) {
        let deadline = Instant::now() + Duration::from_secs(30);
        while !self.has("before-kill-3") && self.exited().is_none() {
            assert!(Instant::now() < deadline, "{what} printed nothing in 30 s");
            tokio::time::sleep(support::POLL_INTERVAL).await;
        }
    }
}

/// What one kube-rs watcher saw: Apply events (name, rv), relists, errors.
#[derive(Default)]
struct Seen {
    applied: Vec<(String, u64)>,
    inits: usize,
    init_done: usize,
    errors: Vec<String>,
}

fn spawn_kube_watcher(api: Api<ConfigMap>, seen: Arc<Mutex<Seen>>) -> tokio::task::JoinHandle<()> {
    let stream = watcher(api, watcher::Config::default()).default_backoff();
    tokio::spawn(async move {
        let mut stream = std::pin::pin!(stream);
        while let Some(event) = stream.next().await {
            let mut s = seen.lock().unwrap();
            match event {
                // The root CA publisher's ConfigMap is not one of the test's writes.
                Ok(watcher::Event::Apply(cm)) | Ok(watcher::Event::Delete(cm))
                    if cm.metadata.name.as_deref() == Some(support::ROOT_CA_CONFIGMAP) => {}
                Ok(watcher::Event::Apply(cm)) | Ok(watcher::Event::Delete(cm)) => {
                    let rv = cm
                        .metadata
                        .resource_version
                        .as_deref()
                        .and_then(|rv| rv.parse().ok())
                        .unwrap_or(0);
                    s.applied.push((cm.metadata.name.unwrap_or_default(), rv));
                }
                Ok(watcher::Event::Init) => s.inits += 1,
                Ok(watcher::Event::InitApply(_)) => {}
                Ok(watcher::Event::InitDone) => s.init_done += 1,
                Err(e) => s.errors.push(e.to_string()),
            }
        }
    })
}

/// Creates configmap `name` with kubectl through HAProxy, retrying a failed attempt (at
/// most 5); returns its revision and how many attempts failed.
async fn kubectl_create(cluster: &Cluster, name: &str) -> (u64, usize) {
    let mut failures = Vec::new();
    for _ in 0..5 {
        let out = cluster
            .kubectl(&[
                "create",
                "configmap",
                name,
                "-n",
                NS,
                "--from-literal=v=1",
                "-o",
                "jsonpath={.metadata.resourceVersion}",
            ])
            .await;
        let text = out.text();
        if out.status.is_some_and(|s| s.success()) {
            let rv = String::from_utf8_lossy(&out.stdout)
                .trim()
                .parse()
                .unwrap_or_else(|e| {
                    panic!("kubectl create {name} printed no resourceVersion ({e}): {text}")
                });
            return (rv, failures.len());
        }
        if !failures.is_empty() && text.contains("AlreadyExists") {
            let got = cluster
                .kubectl(&[
                    "get",
                    "configmap",
                    name,
                    "-n",
                    NS,
                    "-o",
                    "jsonpath={.metadata.resourceVersion}",
                ])
                .await;
            let rv = String::from_utf8_lossy(&got.stdout)
                .trim()
                .parse()
                .unwrap_or_else(|e| {
                    panic!(
                        "kubectl get {name} printed no resourceVersion ({e}): {}",
                        got.text()
                    )
                });
            return (rv, failures.len());
        }
        failures.push(text);
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    panic!("kubectl create configmap {name} failed 5 times: {failures:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn kubectl_watch_through_haproxy_survives_leader_kill() {
    const WATCHERS: usize = 3;
    const KUBECTL_WATCHES: usize = 3;
    const MAX_RECONNECTS: usize = 3;
    let mut cluster = Cluster::start().await;
    let haproxy = cluster.haproxy_addr();

    // kube-rs watchers through HAProxy, each with its own client (own connections), so
    // that HAProxy (leastconn) spreads them over the replicas and one likely sits on the
    // leader.
    let mut watchers = Vec::new();
    for _ in 0..WATCHERS {
        let seen = Arc::new(Mutex::new(Seen::default()));
        let api: Api<ConfigMap> = Api::namespaced(cluster.kube_client(haproxy).await, NS);
        let task = spawn_kube_watcher(api, seen.clone());
        watchers.push((seen, task));
    }
    for (seen, _) in &watchers {
        eventually(
            "a kube-rs watcher's initial list",
            Duration::from_secs(30),
            || {
                let done = seen.lock().unwrap().init_done > 0;
                async move { done.then_some(()) }
            },
        )
        .await;
    }

    let mut created: Vec<(String, u64)> = Vec::new();
    for k in 1..=3 {
        let name = format!("before-kill-{k}");
        let (rv, _) = kubectl_create(&cluster, &name).await;
        created.push((name, rv));
    }
    // Users' `kubectl get --watch`: three through HAProxy (with leastconn, and the three
    // watchers above already holding a connection per replica, they usually spread over
    // the replicas) and one pinned to the leader, standing for a user whose connection
    // HAProxy happened to put there, so that path is certainly taken.
    let leader = cluster.leader_id().await;
    let mut kubectls: Vec<KubectlWatch> = Vec::new();
    for n in 0..=KUBECTL_WATCHES {
        let pinned = (n == KUBECTL_WATCHES).then(|| cluster.replica_addr(leader));
        let mut kubectl = KubectlWatch::start(&cluster, n, 0, pinned);
        kubectl.wait_listed(&format!("kubectl watch {n}")).await;
        assert!(
            kubectl.has("before-kill-3"),
            "kubectl watch {n} ended at once: {:?}",
            kubectl.exited()
        );
        kubectls.push(kubectl);
    }
    // Give kubectl a moment to open its watch after printing the list.
    tokio::time::sleep(Duration::from_millis(500)).await;
    for (n, kubectl) in kubectls.iter_mut().enumerate() {
        assert!(
            kubectl.exited().is_none(),
            "kubectl watch {n} ended before the kill"
        );
    }

    let kill_at = Instant::now();
    cluster.kill9(leader);
    let new_leader = cluster.leader_id().await;
    println!(
        "killed leader n{leader}; n{new_leader} leads after {} ms",
        kill_at.elapsed().as_millis()
    );
    // By now HAProxy has closed the connections it had on the dead replica (its check
    // marks it down after ~1 s) and a kubectl connected there has exited.
    let settle = kill_at + Duration::from_secs(2);
    if let Some(wait) = settle.checked_duration_since(Instant::now()) {
        tokio::time::sleep(wait).await;
    }
    let pinned_end = kubectls[KUBECTL_WATCHES].exited();
    println!("the kubectl watch on the killed leader ended with {pinned_end:?}");
    assert!(
        pinned_end.is_some(),
        "kubectl get --watch on the killed leader still runs 2 s after the kill"
    );

    // A user re-runs kubectl get --watch when it ends; the re-run goes through HAProxy.
    let mut reconnects = [0; KUBECTL_WATCHES + 1];
    for (n, kubectl) in kubectls.iter_mut().enumerate() {
        while kubectl.exited().is_some() {
            reconnects[n] += 1;
            assert!(
                reconnects[n] <= MAX_RECONNECTS,
                "kubectl get --watch {n} still exits after {MAX_RECONNECTS} re-runs; stderr in {}",
                cluster.root().display()
            );
            *kubectl = KubectlWatch::start(&cluster, n, reconnects[n], None);
            kubectl
                .wait_listed(&format!("re-run {} of kubectl watch {n}", reconnects[n]))
                .await;
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }
    println!(
        "kubectl get --watch re-runs needed after the leader kill: {:?} through HAProxy, \
         {} for the one that was on the leader",
        &reconnects[..KUBECTL_WATCHES],
        reconnects[KUBECTL_WATCHES]
    );

    let mut create_retries = 0;
    for k in 1..=3 {
        let name = format!("after-kill-{k}");
        let (rv, failed) = kubectl_create(&cluster, &name).await;
        create_retries += failed;
        created.push((name, rv));
    }
    if create_retries > 0 {
        println!("kubectl create needed {create_retries} retries after the kill");
    }
    for kubectl in &kubectls {
        eventually(
            "every kubectl watch to print the configmaps created after the kill",
            Duration::from_secs(10),
            || {
                let ok = (1..=3).all(|k| kubectl.has(&format!("after-kill-{k}")));
                async move { ok.then_some(()) }
            },
        )
        .await;
    }

    // Every kube-rs watcher saw every create, before and after the kill, once, in
    // revision order, with the revision the create returned, without relisting.
    for pair in created.windows(2) {
        assert!(
            pair[0].1 < pair[1].1,
            "create revisions do not increase: {created:?}"
        );
    }
    let mut cut = 0;
    for (i, (seen, _)) in watchers.iter().enumerate() {
        eventually(
            "a kube-rs watcher to see every create",
            Duration::from_secs(30),
            || {
                let done = seen.lock().unwrap().applied.len() >= created.len();
                async move { done.then_some(()) }
            },
        )
        .await;
        let s = seen.lock().unwrap();
        assert_eq!(
            s.applied, created,
            "kube-rs watcher {i} saw other events than the creates (errors {:?})",
            s.errors
        );
        assert_eq!(
            s.inits, 1,
            "kube-rs watcher {i} relisted instead of resuming; errors {:?}",
            s.errors
        );
        if !s.errors.is_empty() {
            cut += 1;
        }
        println!(
            "kube-rs watcher {i}: {} errors {:?}",
            s.errors.len(),
            s.errors
        );
    }
    println!("{cut} of {WATCHERS} kube-rs watchers noticed the leader kill and resumed");
    for (_, task) in watchers {
        task.abort();
    }
}
