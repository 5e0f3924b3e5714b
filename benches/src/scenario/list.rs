//! LIST figures over the objects the footprint part loaded, each the median of a few
//! timed reads after one untimed read that also checks the count:
//! - one full LIST of a namespace (linearizable: a read index, then the cache) vs one
//!   prefix range;
//! - the same LIST at resourceVersion=0 (the local cache as is, no read index), still
//!   against etcd's linearizable range, which is what issue #6's goal compares with;
//! - the same objects in pages of `limit` (continue tokens) vs ranges of `limit` keys
//!   paging by key;
//! - every object of the server in one LIST (all namespaces) vs one range of every key,
//!   for the object-count dimension of the cost model.

use std::future::Future;
use std::time::Instant;

use reqwest::Method;

use super::Settings;
use crate::etcd_node::{self, EtcdNode};
use crate::etcd_ops;
use crate::keelson_api::{string_field, Api};
use crate::keelson_node::KeelsonNode;
use crate::report::{thousands, Report, Unit};

/// Times the LIST figures of namespace `ns` (keelson) and `prefix` (etcd), which hold
/// `k_count` and `e_count` objects.
pub(super) async fn figures(
    s: &Settings,
    keelson: &KeelsonNode,
    etcd: &EtcdNode,
    (ns, prefix): (&str, &str),
    (k_count, e_count): (usize, usize),
    report: &mut Report,
) -> anyhow::Result<()> {
    let api = keelson.client()?;
    let kv = etcd.client().await?;
    let n = thousands(s.list_objects);
    let path = format!("/api/v1/namespaces/{ns}/configmaps");
    let k = timed(s, "LIST keelson", k_count, report, || full(&api, &path)).await;
    let e = timed(s, "LIST etcd", e_count, report, || {
        let mut kv = kv.clone();
        async move { etcd_node::range_prefix(&mut kv, prefix).await }
    })
    .await;
    report.row(
        format!("LIST {n} objects in one request, ms"),
        Unit::Millis,
        k,
        e,
    );
    let rv0 = format!("{path}?resourceVersion=0");
    let k0 = timed(s, "LIST rv=0 keelson", k_count, report, || full(&api, &rv0)).await;
    report.row(
        format!("LIST {n} objects at resourceVersion=0 (cache, no read index) vs etcd's range, ms"),
        Unit::Millis,
        k0,
        e,
    );
    let limit = s.list_page;
    let kp = timed(s, "LIST paged keelson", k_count, report, || {
        paged(&api, &path, limit)
    })
    .await;
    let ep = timed(s, "LIST paged etcd", e_count, report, || {
        let mut kv = kv.clone();
        async move {
            etcd_ops::range_pages(&mut kv, prefix, limit as i64)
                .await
                .map(|(keys, _)| keys)
        }
    })
    .await;
    report.row(
        format!("LIST {n} objects in pages of {limit}, ms"),
        Unit::Millis,
        kp,
        ep,
    );
    Ok(())
}

/// Every object on each server in one LIST (keelson: all namespaces; etcd: every key
/// under `prefix`); the median time in ms.
pub(super) async fn everything(
    s: &Settings,
    keelson: &KeelsonNode,
    etcd: &EtcdNode,
    prefix: &str,
    (k_count, e_count): (usize, usize),
    report: &mut Report,
) -> anyhow::Result<(Option<f64>, Option<f64>)> {
    let api = keelson.client()?;
    let kv = etcd.client().await?;
    let path = "/api/v1/configmaps";
    // Other ConfigMaps (none today) would make the count differ; only time it then.
    let k = timed(s, "LIST all keelson", k_count, report, || full(&api, path)).await;
    let e = timed(s, "LIST all etcd", e_count, report, || {
        let mut kv = kv.clone();
        async move { etcd_node::range_prefix(&mut kv, prefix).await }
    })
    .await;
    Ok((k, e))
}

/// One full LIST; returns the number of items.
async fn full(api: &Api, path: &str) -> Result<usize, String> {
    let body = api
        .send(Method::GET, path, None, "application/json", None)
        .await?;
    Ok(count_items(&body))
}

/// A LIST in pages of `limit`, following continue tokens; returns the number of items.
async fn paged(api: &Api, path: &str, limit: usize) -> Result<usize, String> {
    let mut token = String::new();
    let mut items = 0;
    for _ in 0..100_000 {
        let mut page = format!("{path}?limit={limit}");
        if !token.is_empty() {
            page.push_str("&continue=");
            page.push_str(&percent_encode(&token));
        }
        let body = api
            .send(Method::GET, &page, None, "application/json", None)
            .await?;
        items += count_items(&body);
        // The list's metadata (with its continue token) comes before the items.
        match string_field(&body[..body.len().min(4096)], "continue") {
            Some(t) if !t.is_empty() => token = t,
            _ => return Ok(items),
        }
    }
    Err("more than 100,000 pages".into())
}

/// Items in a list of the benchmark's ConfigMaps (all named `cm-<n>`), counted by
/// their names without decoding the body. A SIMD substring search: the count is a
/// check, and a slower one (str::matches took about a fifth of a 10,000-item LIST's
/// time) would be charged to keelson.
fn count_items(body: &[u8]) -> usize {
    memchr::memmem::find_iter(body, b"\"name\":\"cm-").count()
}

fn percent_encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// One untimed run that checks the count (a note when it differs), then the median
/// of `s.list_repeats` timed runs, in ms.
async fn timed<F, Fut>(
    s: &Settings,
    label: &str,
    expected: usize,
    report: &mut Report,
    read: F,
) -> Option<f64>
where
    F: Fn() -> Fut,
    Fut: Future<Output = Result<usize, String>>,
{
    match read().await {
        Ok(got) if got == expected => {}
        Ok(got) => report.note(format!("{label}: {got} items, {expected} were created")),
        Err(e) => {
            report.note(format!("{label}: `{e}`"));
            return None;
        }
    }
    let mut times = Vec::new();
    for _ in 0..s.list_repeats {
        let t0 = Instant::now();
        match read().await {
            Ok(_) => times.push(t0.elapsed().as_secs_f64() * 1000.0),
            Err(e) => report.note(format!("{label}: `{e}`")),
        }
    }
    eprintln!("{label}: {times:.1?} ms");
    median(times)
}

fn median(mut v: Vec<f64>) -> Option<f64> {
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied()
}

#[cfg(test)]
mod tests {
    #[test]
    fn counts_items_by_name() {
        let body = br#"{"kind":"ConfigMapList","items":[{"metadata":{"name":"cm-1"}},{"metadata":{"name":"cm-2"}}]}"#;
        assert_eq!(super::count_items(body), 2);
        assert_eq!(super::percent_encode("a+b/="), "a%2Bb%2F%3D");
    }
}
