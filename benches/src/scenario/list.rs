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
    read_list(api, path).await.map(|(items, _)| items)
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
        let (count, head) = read_list(api, &page).await?;
        items += count;
        // The list's metadata (with its continue token) comes before the items.
        match string_field(&head, "continue") {
            Some(t) if !t.is_empty() => token = t,
            _ => return Ok(items),
        }
    }
    Err("more than 100,000 pages".into())
}

/// The bytes of a list kept for its metadata, which comes before the items.
const HEAD: usize = 4096;

/// Reads a LIST's body as it arrives, counting its items chunk by chunk; returns the
/// count and the body's first [`HEAD`] bytes. Collecting the body first would charge
/// keelson's figure with the client's copies of a 14 MB body (the regrowing buffer, then
/// one more copy): 20 ms of a 10,000-item LIST that curl reads whole in 17–27 ms.
async fn read_list(api: &Api, path: &str) -> Result<(usize, Vec<u8>), String> {
    let mut resp = api.open_stream(path).await?;
    let mut items = ItemCounter::default();
    let mut head = Vec::new();
    while let Some(chunk) = resp
        .chunk()
        .await
        .map_err(|e| format!("reading the list failed: {e}"))?
    {
        if head.len() < HEAD {
            let take = (HEAD - head.len()).min(chunk.len());
            head.extend_from_slice(&chunk[..take]);
        }
        items.feed(&chunk);
    }
    Ok((items.count, head))
}

/// What marks one item in a list of the benchmark's ConfigMaps (all named `cm-<n>`).
const ITEM: &[u8] = b"\"name\":\"cm-";

/// Items counted by their names without decoding the body, across chunk boundaries.
/// A SIMD substring search: the count is a check, and a slower one (str::matches took
/// about a fifth of a 10,000-item LIST's time) would be charged to keelson.
#[derive(Default)]
struct ItemCounter {
    count: usize,
    /// The end of the bytes fed so far, shorter than [`ITEM`]: a marker may start there.
    tail: Vec<u8>,
}

impl ItemCounter {
    fn feed(&mut self, chunk: &[u8]) {
        // The tail is shorter than a marker, so a match in tail + the chunk's start
        // begins in the tail: one that straddles the boundary, counted once.
        let mut seam = std::mem::take(&mut self.tail);
        seam.extend_from_slice(&chunk[..chunk.len().min(ITEM.len() - 1)]);
        self.count += memchr::memmem::find_iter(&seam, ITEM).count();
        self.count += memchr::memmem::find_iter(chunk, ITEM).count();
        let keep = ITEM.len() - 1;
        self.tail = if chunk.len() >= keep {
            chunk[chunk.len() - keep..].to_vec()
        } else {
            seam[seam.len().saturating_sub(keep)..].to_vec()
        };
    }
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
    use super::ItemCounter;

    fn count_in_pieces(body: &[u8], cuts: &[usize]) -> usize {
        let mut counter = ItemCounter::default();
        let mut from = 0;
        for &cut in cuts {
            counter.feed(&body[from..cut]);
            from = cut;
        }
        counter.feed(&body[from..]);
        counter.count
    }

    #[test]
    fn counts_items_by_name_across_any_chunking() {
        let body = br#"{"kind":"ConfigMapList","items":[{"metadata":{"name":"cm-1"}},{"metadata":{"name":"cm-2"}},{"metadata":{"name":"cm-3"}}]}"#;
        assert_eq!(count_in_pieces(body, &[]), 3);
        for a in 0..=body.len() {
            for b in a..=body.len() {
                assert_eq!(count_in_pieces(body, &[a, b]), 3, "cut at {a} and {b}");
            }
        }
        // One byte at a time: every marker straddles chunks.
        let cuts: Vec<usize> = (1..body.len()).collect();
        assert_eq!(count_in_pieces(body, &cuts), 3);
        assert_eq!(count_in_pieces(br#"{"name":"cm"}"#, &[5]), 0);
    }

    #[test]
    fn encodes_continue_tokens() {
        assert_eq!(super::percent_encode("a+b/="), "a%2Bb%2F%3D");
    }
}
