//! Paginated lists are consistent: 10,000 configmaps listed with limit=500 while another
//! task keeps creating, updating and deleting configmaps in the same namespace. The pages
//! together must be exactly the objects (name and resourceVersion) that were live at the
//! first page's revision R. That set is computed independently of the server: the 10,000
//! acknowledged creates plus every acknowledged write of the writer with revision ≤ R (a
//! delete is answered with a Status, so its revision is bounded by its neighbours').
//! A garbage continue token is a 400.

mod support;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::StreamExt;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use support::{eventually, read_json, rv_of, status::assert_status, Server};

const NS: &str = "paged";
const CMS: &str = "/api/v1/namespaces/paged/configmaps";
const INITIAL: usize = 10_000;
const PAGE: usize = 500;
const IN_FLIGHT: usize = 32;
/// The writer stops by itself after this many writes even if never told to.
const MAX_WRITES: usize = 3_000;

fn configmap(name: &str, value: &str) -> Value {
    json!({
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": name, "namespace": NS},
        "data": {"value": value}
    })
}

fn initial_name(i: usize) -> String {
    format!("cm-{i:05}")
}

/// Creates the initial configmaps, `IN_FLIGHT` at a time; returns name → resourceVersion.
async fn create_initial(server: &Server) -> HashMap<String, u64> {
    let started = Instant::now();
    let results: Vec<(String, StatusCode, Value)> = futures::stream::iter(0..INITIAL)
        .map(|i| async move {
            let name = initial_name(i);
            let (status, body) = server.post(CMS, &configmap(&name, "0")).await;
            (name, status, body)
        })
        .buffer_unordered(IN_FLIGHT)
        .collect()
        .await;
    let mut live = HashMap::with_capacity(INITIAL);
    for (name, status, body) in results {
        assert_eq!(status, StatusCode::CREATED, "create {name}: {body}");
        live.insert(name, rv_of(&body));
    }
    eprintln!("created {INITIAL} configmaps in {:?}", started.elapsed());
    live
}

/// One acknowledged write, in the writer's (sequential) order. After it `name` exists at
/// revision `rv`, or, for a delete, is gone. Upstream answers a configmap delete with a
/// `Status` (configmaps' store does not set ReturnDeletedObject), so a delete's revision
/// is not known: only that it lies between the writes just before and after it.
#[derive(Clone, Debug)]
struct Write {
    name: String,
    /// `None` for a delete.
    rv: Option<u64>,
}

/// Cycles through update (of a low-numbered initial object), create (of a new object) and
/// delete (of a high-numbered initial object, each at most once) until told to stop.
async fn writer(
    server: Arc<Server>,
    mut known: HashMap<String, u64>,
    stop: Arc<AtomicBool>,
    log: Arc<Mutex<Vec<Write>>>,
) {
    for i in 0..MAX_WRITES {
        if stop.load(Ordering::SeqCst) {
            return;
        }
        let write = match i % 3 {
            0 => {
                let name = initial_name((i * 7919) % (INITIAL / 2));
                let mut body = configmap(&name, &i.to_string());
                body["metadata"]["resourceVersion"] = json!(known[&name].to_string());
                let (status, obj) = server.put(&format!("{CMS}/{name}"), &body).await;
                assert_eq!(status, StatusCode::OK, "writer update {name}: {obj}");
                let rv = rv_of(&obj);
                known.insert(name.clone(), rv);
                Write { name, rv: Some(rv) }
            }
            1 => {
                let name = format!("extra-{i:05}");
                let (status, obj) = server.post(CMS, &configmap(&name, &i.to_string())).await;
                assert_eq!(status, StatusCode::CREATED, "writer create {name}: {obj}");
                Write {
                    name,
                    rv: Some(rv_of(&obj)),
                }
            }
            _ => {
                let name = initial_name(INITIAL / 2 + i / 3);
                let (status, body) = server.delete(&format!("{CMS}/{name}")).await;
                assert_eq!(status, StatusCode::OK, "writer delete {name}: {body}");
                assert_eq!(
                    body["kind"], "Status",
                    "a configmap delete answers a Status: {body}"
                );
                assert_eq!(body["status"], "Success", "writer delete {name}: {body}");
                assert_eq!(
                    body["details"]["name"],
                    name.as_str(),
                    "writer delete: {body}"
                );
                Write { name, rv: None }
            }
        };
        log.lock().unwrap().push(write);
    }
}

/// The state at revision `r` as far as the client can know it: the objects certainly
/// live (name → rv), and the names whose delete may or may not be at or before `r`
/// (with the rv they had if it is not).
struct Expected {
    live: BTreeMap<String, u64>,
    undecided: BTreeMap<String, u64>,
}

fn state_at(initial: &HashMap<String, u64>, writes: &[Write], r: u64) -> Expected {
    let mut live: BTreeMap<String, u64> = initial.iter().map(|(n, rv)| (n.clone(), *rv)).collect();
    let mut undecided = BTreeMap::new();
    let initial_max = initial.values().copied().max().unwrap_or(0);
    for (i, w) in writes.iter().enumerate() {
        match w.rv {
            Some(rv) if rv <= r => {
                live.insert(w.name.clone(), rv);
            }
            Some(_) => {}
            None => {
                // The delete's revision is above the previous write's and below the next's.
                let lo = writes[..i]
                    .iter()
                    .rev()
                    .find_map(|w| w.rv)
                    .unwrap_or(initial_max);
                let hi = writes[i + 1..]
                    .iter()
                    .find_map(|w| w.rv)
                    .unwrap_or(u64::MAX);
                if hi <= r {
                    live.remove(&w.name);
                } else if lo < r {
                    if let Some(rv) = live.remove(&w.name) {
                        undecided.insert(w.name.clone(), rv);
                    }
                }
            }
        }
    }
    Expected { live, undecided }
}

/// Lists one page; returns the list body.
async fn list_page(server: &Server, continue_token: Option<&str>) -> Value {
    let mut url = reqwest::Url::parse(&server.url(CMS)).expect("url");
    url.query_pairs_mut()
        .append_pair("limit", &PAGE.to_string());
    if let Some(token) = continue_token {
        url.query_pairs_mut().append_pair("continue", token);
    }
    let resp = server
        .http()
        .get(url)
        .timeout(Duration::from_secs(60))
        .send()
        .await
        .expect("list page");
    let (status, body) = read_json(resp).await;
    assert_eq!(
        status,
        StatusCode::OK,
        "list page (continue {continue_token:?}): {body}"
    );
    body
}

/// Waits until the writer has acknowledged at least `n` writes.
async fn wait_for_writes(log: &Arc<Mutex<Vec<Write>>>, n: usize) {
    eventually(
        &format!("{n} writer writes"),
        Duration::from_secs(30),
        || {
            let done = log.lock().unwrap().len() >= n;
            async move { done.then_some(()) }
        },
    )
    .await;
}

fn describe_difference(expected: &BTreeMap<String, u64>, got: &BTreeMap<String, u64>) -> String {
    let missing: Vec<_> = expected
        .iter()
        .filter(|(n, _)| !got.contains_key(*n))
        .take(10)
        .collect();
    let extra: Vec<_> = got
        .iter()
        .filter(|(n, _)| !expected.contains_key(*n))
        .take(10)
        .collect();
    let wrong: Vec<_> = expected
        .iter()
        .filter_map(|(n, rv)| got.get(n).filter(|g| *g != rv).map(|g| (n, *rv, *g)))
        .take(10)
        .collect();
    format!(
        "expected {} objects, pages had {}; missing (first 10): {missing:?}; \
         extra: {extra:?}; wrong rv (name, expected, got): {wrong:?}",
        expected.len(),
        got.len()
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn pages_are_consistent_at_the_first_page_revision_under_writes() {
    let server = Arc::new(Server::start().await);
    server.create_namespace(NS).await;
    let initial = tokio::time::timeout(Duration::from_secs(600), create_initial(&server))
        .await
        .expect("creating 10,000 configmaps took over 10 minutes");

    let stop = Arc::new(AtomicBool::new(false));
    let log = Arc::new(Mutex::new(Vec::new()));
    let writer_task = tokio::spawn(writer(
        server.clone(),
        initial.clone(),
        stop.clone(),
        log.clone(),
    ));
    wait_for_writes(&log, 3).await;

    let mut token: Option<String> = None;
    let mut first_rv: Option<u64> = None;
    let mut listed: BTreeMap<String, u64> = BTreeMap::new();
    let mut order: Vec<String> = Vec::new();
    let max_pages = INITIAL / PAGE + MAX_WRITES / PAGE + 2;
    for page in 0.. {
        assert!(
            page < max_pages,
            "more than {max_pages} pages: the continue chain does not end"
        );
        let body = list_page(&server, token.as_deref()).await;
        assert_eq!(
            body["kind"], "ConfigMapList",
            "page {page}: {}",
            body["kind"]
        );
        let page_rv: u64 = body["metadata"]["resourceVersion"]
            .as_str()
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| panic!("page {page} has no numeric metadata.resourceVersion"));
        let r = *first_rv.get_or_insert(page_rv);
        assert_eq!(
            page_rv, r,
            "page {page}: list resourceVersion should stay the first page's"
        );
        let items = body["items"].as_array().expect("items");
        assert!(
            items.len() <= PAGE,
            "page {page} has {} items, over the limit {PAGE}",
            items.len()
        );
        for item in items {
            let name = item["metadata"]["name"]
                .as_str()
                .expect("item name")
                .to_string();
            // The root CA publisher's ConfigMap is not one of the test's writes.
            if name == support::ROOT_CA_CONFIGMAP {
                continue;
            }
            let rv = rv_of(item);
            assert!(
                rv <= r,
                "page {page}: {name} has resourceVersion {rv}, newer than the list's {r}"
            );
            assert!(
                listed.insert(name.clone(), rv).is_none(),
                "{name} appears on two pages"
            );
            order.push(name);
        }
        match body["metadata"]["continue"]
            .as_str()
            .filter(|t| !t.is_empty())
        {
            Some(next) => {
                assert_eq!(
                    items.len(),
                    PAGE,
                    "page {page} is short but has a continue token"
                );
                token = Some(next.to_string());
            }
            None => break,
        }
        // Make sure writes land between pages, not only before or after the listing.
        let done = log.lock().unwrap().len();
        wait_for_writes(&log, done + 2).await;
    }
    stop.store(true, Ordering::SeqCst);
    tokio::time::timeout(Duration::from_secs(60), writer_task)
        .await
        .expect("writer stops")
        .expect("writer task succeeded");

    let r = first_rv.expect("at least one page");
    let writes = log.lock().unwrap().clone();
    assert!(
        writes.iter().any(|w| w.rv.is_some_and(|rv| rv <= r)),
        "no write before the first page"
    );
    assert!(
        writes
            .iter()
            .filter(|w| w.rv.is_some_and(|rv| rv > r))
            .count()
            >= 2,
        "no writes while paging"
    );
    let Expected {
        live: expected,
        undecided,
    } = state_at(&initial, &writes, r);
    assert!(
        undecided.len() <= 1,
        "at most the one delete next to R is undecided: {undecided:?}"
    );
    for (name, rv) in &undecided {
        // Listed at its last revision (deleted after R) or not at all (deleted by R).
        if let Some(got) = listed.remove(name) {
            assert_eq!(got, *rv, "{name} listed with a revision it never had");
        }
    }
    assert!(
        listed == expected,
        "pages differ from the state at revision {r}: {}",
        describe_difference(&expected, &listed)
    );
    // Upstream returns items in key order across pages.
    assert!(
        order.windows(2).all(|w| w[0] < w[1]),
        "items are not in name order across pages"
    );
    let unique: HashSet<&String> = order.iter().collect();
    assert_eq!(unique.len(), order.len());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn garbage_continue_token_is_bad_request() {
    let server = Server::start().await;
    server.create_namespace(NS).await;
    for i in 0..3 {
        let (status, body) = server.post(CMS, &configmap(&format!("cm-{i}"), "x")).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
    }
    for token in ["garbage", "bm90LWEtdG9rZW4", "%%%"] {
        let mut url = reqwest::Url::parse(&server.url(CMS)).expect("url");
        url.query_pairs_mut()
            .append_pair("limit", "1")
            .append_pair("continue", token);
        let resp = server
            .http()
            .request(Method::GET, url)
            .send()
            .await
            .expect("list");
        assert_status(
            &format!("continue={token}"),
            read_json(resp).await,
            400,
            "BadRequest",
        );
    }
}
