//! The client workload and the watch streams, recording everything into a [`History`].
//!
//! Clients run get / create / update-with-precondition / delete on a few keys, some
//! through HAProxy (as users do) and one straight at each replica, plus one reader per
//! replica (so a stale or partitioned replica answers too). Each client paces itself, so the history stays small
//! enough to check exhaustively. Watchers follow the namespace from the scenario's start,
//! one per replica and two through HAProxy, reconnecting from the last resourceVersion
//! they saw, exactly as client-go's reflector does.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::Value;
use tokio::task::JoinHandle;

use crate::client::{workload_object, Client};
use crate::history::{
    Call, Connection, Event, EventKind, Nanos, Op, Outcome, Rv, Target, Value as Written,
    WatchStream,
};

/// Keys the clients share; few, so operations on one key overlap and conflict.
pub const KEYS: usize = 6;
/// The object written after the workload stops; a watcher that has seen it is complete.
pub const END_MARKER: &str = "end-marker";
/// How long a watch request may wait for its response headers.
const CONNECT_LIMIT: Duration = Duration::from_secs(5);

/// Shared clock and counters of one scenario.
pub struct Recorder {
    start: Instant,
    ops: Mutex<Vec<Op>>,
    next_op: AtomicU64,
    next_value: AtomicU64,
    stop: AtomicBool,
}

impl Recorder {
    pub fn new() -> Arc<Recorder> {
        Arc::new(Recorder {
            start: Instant::now(),
            ops: Mutex::new(Vec::new()),
            next_op: AtomicU64::new(0),
            next_value: AtomicU64::new(1),
            stop: AtomicBool::new(false),
        })
    }

    pub fn now(&self) -> Nanos {
        self.start.elapsed().as_nanos() as Nanos
    }

    pub fn stop(&self) {
        self.stop.store(true, Ordering::Release);
    }

    fn stopped(&self) -> bool {
        self.stop.load(Ordering::Acquire)
    }

    /// Operations recorded so far.
    pub fn op_count(&self) -> u64 {
        self.next_op.load(Ordering::Relaxed)
    }

    pub fn take_ops(&self) -> Vec<Op> {
        let mut ops = std::mem::take(&mut *self.ops.lock().unwrap_or_else(|p| p.into_inner()));
        ops.sort_by_key(|op| (op.invoked, op.id));
        ops
    }

    fn record(&self, op: Op) {
        self.ops.lock().unwrap_or_else(|p| p.into_inner()).push(op);
    }
}

/// One client: where it sends requests and how it picks them.
pub struct ClientSpec {
    pub id: u32,
    pub target: Target,
    pub base_url: String,
    pub seed: u64,
    /// Only reads: keeps asking a replica even while its writes hang (a partitioned
    /// replica holds a write for the whole request timeout).
    pub reads_only: bool,
}

/// Starts a client that runs until [`Recorder::stop`].
pub fn spawn_client(spec: ClientSpec, client: Client, recorder: Arc<Recorder>) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut rng = StdRng::seed_from_u64(spec.seed);
        // What this client last saw of each key: (value, rv), for update preconditions.
        let mut seen: Vec<Option<(Written, Rv)>> = vec![None; KEYS];
        while !recorder.stopped() {
            let slot = rng.gen_range(0..KEYS);
            let key = format!("k-{slot}");
            let roll = if spec.reads_only {
                0
            } else {
                rng.gen_range(0..100)
            };
            let call = match (roll, seen[slot]) {
                (0..=39, _) | (40..=69, None) => Call::Get { key: key.clone() },
                (40..=69, Some((expect, expect_rv))) => Call::Update {
                    key: key.clone(),
                    expect,
                    expect_rv,
                    value: recorder.next_value.fetch_add(1, Ordering::Relaxed),
                },
                (70..=87, _) => Call::Create {
                    key: key.clone(),
                    value: recorder.next_value.fetch_add(1, Ordering::Relaxed),
                },
                _ => Call::Delete { key: key.clone() },
            };
            let invoked = recorder.now();
            let outcome = match &call {
                Call::Get { .. } => client.get(&spec.base_url, &key).await,
                Call::Create { value, .. } => client.create(&spec.base_url, &key, *value).await,
                Call::Update {
                    expect_rv, value, ..
                } => {
                    client
                        .update(&spec.base_url, &key, *expect_rv, *value)
                        .await
                }
                Call::Delete { .. } => client.delete(&spec.base_url, &key).await,
            };
            let completed = recorder.now();
            seen[slot] = match (&call, &outcome) {
                (_, Outcome::Found { value, rv }) => Some((*value, *rv)),
                (_, Outcome::Written { rv }) => call.written_value().map(|v| (v, *rv)),
                (_, Outcome::NotFound | Outcome::Deleted) => None,
                _ => seen[slot],
            };
            let failed = matches!(outcome, Outcome::Failed { .. } | Outcome::Unknown { .. });
            recorder.record(Op {
                id: recorder.next_op.fetch_add(1, Ordering::Relaxed),
                client: spec.id,
                target: spec.target,
                call,
                invoked,
                completed,
                outcome,
            });
            // Pace: a few dozen operations per second per client; back off after errors
            // so a dead replica is not hammered.
            let pause = if failed { 200 } else { rng.gen_range(10..40) };
            tokio::time::sleep(Duration::from_millis(pause)).await;
        }
    })
}

/// A watcher and how to end it.
pub struct Watcher {
    pub handle: JoinHandle<WatchStream>,
    /// Set once the workload is over: the watcher ends when it sees the end marker, or
    /// at this deadline.
    pub finish: Arc<Mutex<Option<Instant>>>,
}

/// Follows the namespace from `start_rv` through `base_url` until told to finish.
pub fn spawn_watch(
    id: u32,
    target: Target,
    base_url: String,
    start_rv: Rv,
    client: Client,
    recorder: Arc<Recorder>,
) -> Watcher {
    let finish = Arc::new(Mutex::new(None));
    let until = finish.clone();
    let handle = tokio::spawn(async move {
        let mut stream = WatchStream {
            id,
            target,
            start_rv,
            events: Vec::new(),
            connections: Vec::new(),
            reached_end: false,
            must_reach_end: false,
        };
        let mut from = start_rv;
        let mut relist = false;
        let finished = || {
            until
                .lock()
                .map(|d| d.is_some_and(|d| Instant::now() >= d))
                .unwrap_or(true)
        };
        while !finished() {
            if relist {
                // History compacted (410 Gone): start over from a fresh list, never from
                // behind what this stream already delivered.
                match client.list(&base_url, None).await {
                    Ok((_, rv)) => {
                        from = stream.events.last().map_or(rv, |e| e.rv.max(rv));
                        relist = false;
                    }
                    Err(_) => {
                        tokio::time::sleep(Duration::from_millis(200)).await;
                        continue;
                    }
                }
            }
            let mut connection = Connection {
                from_rv: from,
                opened: recorder.now(),
                ended_because: String::new(),
                gone: false,
            };
            let (end, marker) = follow(
                &client,
                &base_url,
                from,
                &recorder,
                &mut stream.events,
                &until,
            )
            .await;
            connection.ended_because = end.reason;
            connection.gone = end.gone;
            stream.connections.push(connection);
            if marker {
                stream.reached_end = true;
                break;
            }
            if end.gone {
                relist = true;
            } else {
                from = stream.events.last().map_or(from, |e| e.rv).max(from);
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        stream
    });
    Watcher { handle, finish }
}

struct End {
    reason: String,
    gone: bool,
}

/// One watch connection: appends its events; returns how it ended and whether the end
/// marker arrived.
async fn follow(
    client: &Client,
    base_url: &str,
    from: Rv,
    recorder: &Recorder,
    events: &mut Vec<Event>,
    until: &Mutex<Option<Instant>>,
) -> (End, bool) {
    let url = format!(
        "{base_url}/api/v1/namespaces/{}/configmaps?watch=1&resourceVersion={from}",
        client.namespace()
    );
    let end = |reason: String, gone: bool| End { reason, gone };
    let resp = match tokio::time::timeout(CONNECT_LIMIT, client.streaming().get(url).send()).await {
        Ok(Ok(resp)) => resp,
        Ok(Err(e)) => return (end(format!("connect: {e}"), false), false),
        Err(_) => {
            return (
                end(format!("no answer within {CONNECT_LIMIT:?}"), false),
                false,
            )
        }
    };
    if resp.status().as_u16() == 410 {
        return (end("410 Gone".into(), true), false);
    }
    if !resp.status().is_success() {
        return (end(format!("status {}", resp.status()), false), false);
    }
    let mut resp = resp;
    let mut buffer: Vec<u8> = Vec::new();
    loop {
        let deadline = until.lock().ok().and_then(|d| *d);
        let wait = deadline.map_or(Duration::from_millis(500), |d| {
            d.saturating_duration_since(Instant::now())
                .min(Duration::from_millis(500))
        });
        let chunk = match tokio::time::timeout(wait, resp.chunk()).await {
            Err(_) => {
                if deadline.is_some_and(|d| Instant::now() >= d) {
                    return (end("finished".into(), false), false);
                }
                continue;
            }
            Ok(Ok(None)) => return (end("closed by the server".into(), false), false),
            Ok(Err(e)) => return (end(format!("stream: {e}"), false), false),
            Ok(Ok(Some(chunk))) => chunk,
        };
        buffer.extend_from_slice(&chunk);
        while let Some(newline) = buffer.iter().position(|&b| b == b'\n') {
            let line: Vec<u8> = buffer.drain(..=newline).collect();
            let Ok(event) = serde_json::from_slice::<Value>(&line) else {
                continue;
            };
            let kind = match event["type"].as_str() {
                Some("ADDED") => EventKind::Added,
                Some("MODIFIED") => EventKind::Modified,
                Some("DELETED") => EventKind::Deleted,
                Some("ERROR") => {
                    let gone = event["object"]["code"] == 410;
                    return (
                        end(format!("ERROR event: {}", event["object"]["message"]), gone),
                        false,
                    );
                }
                _ => continue,
            };
            let object = &event["object"];
            if object["metadata"]["name"] == END_MARKER {
                return (end("end marker".into(), false), true);
            }
            if let Some((key, value, rv)) = workload_object(object) {
                events.push(Event {
                    kind,
                    key,
                    value,
                    rv,
                    at: recorder.now(),
                });
            }
        }
    }
}

/// The namespace's committed history since `start_rv` as replica `base_url` replays it
/// now: a watch from `start_rv` read until the end marker (written after the workload).
pub async fn replay(
    client: &Client,
    base_url: &str,
    start_rv: Rv,
    recorder: &Recorder,
    limit: Duration,
) -> Result<Vec<Event>, String> {
    let until = Mutex::new(Some(Instant::now() + limit));
    let mut events = Vec::new();
    let mut from = start_rv;
    let mut attempts = 0;
    loop {
        attempts += 1;
        let (end, marker) = follow(client, base_url, from, recorder, &mut events, &until).await;
        if marker {
            for event in &mut events {
                event.at = 0;
            }
            return Ok(events);
        }
        if end.gone || end.reason == "finished" || attempts >= 20 {
            return Err(format!(
                "replay from {start_rv} on {base_url} ended: {}",
                end.reason
            ));
        }
        from = events.last().map_or(from, |e| e.rv);
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}
