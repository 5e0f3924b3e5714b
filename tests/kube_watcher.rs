//! kube-rs against keelson: a `kube::runtime::watcher` over configmaps in a namespace sees
//! every create, update and delete, in order, and keeps doing so across a `kill -9` and
//! restart of the server — it resumes from the last resourceVersion it saw and misses
//! nothing that was acknowledged.

mod support;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::StreamExt;
use k8s_openapi::api::core::v1::{ConfigMap, Namespace};
use kube::api::{Api, DeleteParams, ObjectMeta, PostParams};
use kube::runtime::{watcher, WatchStreamExt};
use support::proxy::Proxy;
use support::{eventually, Server};

const NS: &str = "watched";
const NAMES: [&str; 5] = ["alpha", "bravo", "charlie", "delta", "echo"];
const OPS_BEFORE_KILL: usize = 30;
const OPS_AFTER_RESTART: usize = 30;

/// What an event said: `value` is the configmap's data["v"], `None` for a delete.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Change {
    name: String,
    rv: u64,
    value: Option<String>,
}

/// What an acknowledged write did. A configmap delete is answered with a `Status`
/// (upstream's configmap store does not return the deleted object), so a delete's
/// revision is unknown to the writer: `rv` is `None` and `value` is `None`.
#[derive(Clone, Debug)]
struct Write {
    name: String,
    rv: Option<u64>,
    value: Option<String>,
}

impl From<Change> for Write {
    fn from(c: Change) -> Self {
        Write {
            name: c.name,
            rv: Some(c.rv),
            value: c.value,
        }
    }
}

/// The first place where the event stream differs from the writes, if any. Each write
/// must appear as one event, in the same order, with the same name and value; with the
/// same revision where the write's is known, and for a delete a revision strictly
/// between those of the writes around it.
fn first_difference(events: &[Change], writes: &[Write]) -> Option<String> {
    for (i, w) in writes.iter().enumerate() {
        let Some(e) = events.get(i) else {
            return Some(format!("event {i} missing; expected {w:?}"));
        };
        let rv_ok = match w.rv {
            Some(rv) => e.rv == rv,
            None => {
                let lo = writes[..i].iter().rev().find_map(|w| w.rv).unwrap_or(0);
                let hi = writes[i + 1..]
                    .iter()
                    .find_map(|w| w.rv)
                    .unwrap_or(u64::MAX);
                lo < e.rv && e.rv < hi
            }
        };
        if e.name != w.name || e.value != w.value || !rv_ok {
            return Some(format!("event {i} is {e:?}, expected {w:?}"));
        }
    }
    (events.len() > writes.len()).then(|| format!("extra events: {:?}", &events[writes.len()..]))
}

/// Everything the watcher produced, in order.
#[derive(Default)]
struct Seen {
    /// Apply and Delete events, in arrival order.
    changes: Vec<Change>,
    /// Count of Init events (the first list, and any relist after a 410).
    inits: usize,
    init_done: usize,
    /// The watcher's view of the namespace: Init/InitApply/InitDone rebuild it (as a
    /// kube-rs reflector would), Apply/Delete edit it.
    view: BTreeMap<String, Change>,
    init_buffer: BTreeMap<String, Change>,
    errors: Vec<String>,
}

fn change_of(cm: &ConfigMap, deleted: bool) -> Change {
    Change {
        name: cm.metadata.name.clone().unwrap_or_default(),
        rv: cm
            .metadata
            .resource_version
            .as_deref()
            .and_then(|rv| rv.parse().ok())
            .unwrap_or(0),
        value: if deleted {
            None
        } else {
            cm.data.as_ref().and_then(|d| d.get("v").cloned())
        },
    }
}

/// The root CA publisher's ConfigMap, which appears in the namespace on the
/// controller's schedule; the comparisons are about the test's own writes.
fn is_root_ca(cm: &ConfigMap) -> bool {
    cm.metadata.name.as_deref() == Some(support::ROOT_CA_CONFIGMAP)
}

impl Seen {
    fn record(&mut self, event: Result<watcher::Event<ConfigMap>, watcher::Error>) {
        if let Ok(
            watcher::Event::Apply(cm) | watcher::Event::Delete(cm) | watcher::Event::InitApply(cm),
        ) = &event
        {
            if is_root_ca(cm) {
                return;
            }
        }
        match event {
            Ok(watcher::Event::Apply(cm)) => {
                let c = change_of(&cm, false);
                self.view.insert(c.name.clone(), c.clone());
                self.changes.push(c);
            }
            Ok(watcher::Event::Delete(cm)) => {
                let c = change_of(&cm, true);
                self.view.remove(&c.name);
                self.changes.push(c);
            }
            Ok(watcher::Event::Init) => {
                self.inits += 1;
                self.init_buffer.clear();
            }
            Ok(watcher::Event::InitApply(cm)) => {
                let c = change_of(&cm, false);
                self.init_buffer.insert(c.name.clone(), c);
            }
            Ok(watcher::Event::InitDone) => {
                self.init_done += 1;
                self.view = std::mem::take(&mut self.init_buffer);
            }
            Err(e) => self.errors.push(e.to_string()),
        }
    }
}

/// Runs `count` writes starting at op number `first`, through `api`; returns what each
/// acknowledged write did. Names cycle; an absent name is created, a present one is
/// updated, and in every fourth round of names the odd-numbered ops delete instead, so
/// some names are deleted and recreated and some live to the end.
async fn write_ops(
    api: &Api<ConfigMap>,
    live: &mut BTreeMap<String, ConfigMap>,
    first: usize,
    count: usize,
) -> Vec<Write> {
    let mut done = Vec::with_capacity(count);
    for op in first..first + count {
        let name = NAMES[op % NAMES.len()];
        let value = op.to_string();
        let change = match live.get(name).cloned() {
            None => {
                let cm = ConfigMap {
                    metadata: ObjectMeta {
                        name: Some(name.into()),
                        ..Default::default()
                    },
                    data: Some([("v".to_string(), value)].into()),
                    ..Default::default()
                };
                let created = api
                    .create(&PostParams::default(), &cm)
                    .await
                    .unwrap_or_else(|e| panic!("op {op} create {name}: {e}"));
                live.insert(name.into(), created.clone());
                change_of(&created, false).into()
            }
            Some(_) if (op / NAMES.len()) % 4 == 3 && op % 2 == 1 => {
                let deleted = api
                    .delete(name, &DeleteParams::default())
                    .await
                    .unwrap_or_else(|e| panic!("op {op} delete {name}: {e}"));
                live.remove(name);
                if let Some(status) = deleted.right() {
                    assert!(status.is_success(), "op {op}: delete of {name}: {status:?}");
                }
                Write {
                    name: name.into(),
                    rv: None,
                    value: None,
                }
            }
            Some(mut cm) => {
                cm.data = Some([("v".to_string(), value)].into());
                let updated = api
                    .replace(name, &PostParams::default(), &cm)
                    .await
                    .unwrap_or_else(|e| panic!("op {op} update {name}: {e}"));
                live.insert(name.into(), updated.clone());
                change_of(&updated, false).into()
            }
        };
        done.push(change);
    }
    done
}

async fn wait_until_seen(seen: &Arc<Mutex<Seen>>, want: usize, what: &str) {
    eventually(what, Duration::from_secs(60), || {
        let n = seen.lock().unwrap().changes.len();
        async move { (n >= want).then_some(()) }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn watcher_sees_every_change_in_order_across_a_kill_and_restart() {
    let mut server = Server::start().await;
    let namespaces: Api<Namespace> = Api::all(server.kube_client().await);
    let ns = Namespace {
        metadata: ObjectMeta {
            name: Some(NS.into()),
            ..Default::default()
        },
        ..Default::default()
    };
    namespaces
        .create(&PostParams::default(), &ns)
        .await
        .expect("create namespace");

    // The watcher keeps its own client for the whole test, as a controller would. It
    // reaches the server through a proxy the test can cut, so that writes can be made
    // after the restart while the watcher is certainly disconnected.
    let proxy = Proxy::start(server.listen_addr()).await;
    let seen = Arc::new(Mutex::new(Seen::default()));
    let watched: Api<ConfigMap> = Api::namespaced(server.kube_client_via(proxy.addr()).await, NS);
    let stream = watcher(watched, watcher::Config::default()).default_backoff();
    let recorder = {
        let seen = seen.clone();
        tokio::spawn(async move {
            let mut stream = std::pin::pin!(stream);
            while let Some(event) = stream.next().await {
                seen.lock().unwrap().record(event);
            }
        })
    };
    eventually(
        "the watcher's initial list",
        Duration::from_secs(30),
        || {
            let done = seen.lock().unwrap().init_done > 0;
            async move { done.then_some(()) }
        },
    )
    .await;

    let mut live = BTreeMap::new();
    let writer: Api<ConfigMap> = Api::namespaced(server.kube_client().await, NS);
    let mut writes = write_ops(&writer, &mut live, 0, OPS_BEFORE_KILL).await;
    wait_until_seen(
        &seen,
        writes.len(),
        "the watcher to see the writes before the kill",
    )
    .await;
    let before_kill = first_difference(&seen.lock().unwrap().changes, &writes);
    assert!(
        before_kill.is_none(),
        "events before the kill differ from the writes: {before_kill:?}"
    );

    proxy.cut();
    server.kill9();
    server.restart().await;
    // A fresh client for the writer (its pooled connections died with the server). The
    // watcher is still cut off: it can see these writes only by resuming, once the proxy
    // lets it through, from the last resourceVersion it saw before the kill.
    let writer: Api<ConfigMap> = Api::namespaced(server.kube_client().await, NS);
    writes.extend(write_ops(&writer, &mut live, OPS_BEFORE_KILL, OPS_AFTER_RESTART).await);
    assert_eq!(
        seen.lock().unwrap().changes.len(),
        OPS_BEFORE_KILL,
        "the watcher saw events while cut off"
    );
    proxy.restore();
    let rvs: Vec<u64> = writes.iter().filter_map(|w| w.rv).collect();
    assert!(
        rvs.windows(2).all(|w| w[0] < w[1]),
        "acknowledged revisions do not increase: {rvs:?}"
    );

    // 1. Every acknowledged write's effect reaches the watcher: the final objects with
    //    their final revision and value, and nothing that was deleted.
    let expected: BTreeMap<String, Change> = live
        .values()
        .map(|cm| (cm.metadata.name.clone().unwrap(), change_of(cm, false)))
        .collect();
    let converged = tokio::time::timeout(Duration::from_secs(90), async {
        loop {
            if seen.lock().unwrap().view == expected {
                return;
            }
            tokio::time::sleep(support::POLL_INTERVAL).await;
        }
    })
    .await;
    {
        let s = seen.lock().unwrap();
        assert!(
            converged.is_ok(),
            "the watcher's view after the restart is not the final state;\nexpected {expected:?}\ngot {:?}\nwatch errors: {:?}",
            s.view,
            s.errors
        );
    }

    // 2. And it missed no event: the Apply/Delete stream is exactly the writes, in order,
    //    with no relist (a relist would mean it could not resume and collapsed history).
    wait_until_seen(&seen, writes.len(), "the watcher to see every write").await;
    let s = seen.lock().unwrap();
    assert_eq!(
        s.inits, 1,
        "the watcher had to relist instead of resuming; errors: {:?}",
        s.errors
    );
    let revisions: Vec<u64> = s.changes.iter().map(|c| c.rv).collect();
    assert!(
        revisions.windows(2).all(|w| w[0] < w[1]),
        "event revisions do not increase: {revisions:?}"
    );
    assert!(!s.errors.is_empty(), "the watcher never noticed the outage");
    let difference = first_difference(&s.changes, &writes);
    assert!(
        difference.is_none(),
        "the event stream differs from the writes: {difference:?}"
    );
    drop(s);
    recorder.abort();
}
