//! LIST and footprint figures on a fresh keelson and etcd: load 10,000 objects and
//! time a full LIST (etcd: one prefix range), fill up to the footprint count, read RSS
//! and data-dir size, then restart each on its data dir and time spawn → ready.

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::Result;

use super::{payload, start_pair, stop_pair, Binaries, Settings};
use crate::driver::{self, Budget, Stats};
use crate::etcd_node::{self, EtcdNode};
use crate::keelson_api::CreateConfigMap;
use crate::keelson_node::KeelsonNode;
use crate::process::dir_size;
use crate::report::{mib, thousands, Report, Unit};

const LIST_NS: &str = "bench-list";
const FILL_NS: &str = "bench-fill";

pub(super) async fn run(
    s: &Settings,
    bins: &Binaries,
    dir: &Path,
    report: &mut Report,
) -> Result<()> {
    let (mut keelson, mut etcd) = start_pair(s, bins, dir).await?;

    let k_list = load_keelson(s, &keelson, LIST_NS, s.list_objects).await?;
    let e_list = load_etcd(s, &etcd, "/bench/list/", s.list_objects).await?;
    report.errors("loading the LIST objects", "keelson", &k_list);
    report.errors("loading the LIST objects", "etcd", &e_list);
    keelson.check_alive()?;
    let n = s.list_objects;
    let k = list_keelson(s, &keelson, k_list.succeeded as usize, report).await;
    let e = list_etcd(s, &etcd, e_list.succeeded as usize, report).await?;
    report.row(
        format!("LIST {} objects in one request, ms", thousands(n)),
        Unit::Millis,
        k,
        e,
    );

    let k_fill = load_keelson(
        s,
        &keelson,
        FILL_NS,
        s.footprint_objects.saturating_sub(k_list.succeeded),
    )
    .await?;
    let e_fill = load_etcd(
        s,
        &etcd,
        "/bench/fill/",
        s.footprint_objects.saturating_sub(e_list.succeeded),
    )
    .await?;
    report.errors("loading the footprint objects", "keelson", &k_fill);
    report.errors("loading the footprint objects", "etcd", &e_fill);
    keelson.check_alive()?;
    let stored = |a: &Stats, b: &Stats| Some((a.succeeded + b.succeeded) as f64);
    report.row(
        "objects stored for the footprint",
        Unit::Count,
        stored(&k_list, &k_fill),
        stored(&e_list, &e_fill),
    );
    let mb = |v: Option<u64>| v.map(mib);
    report.row(
        "RSS after loading, MiB",
        Unit::MiB,
        mb(keelson.rss_bytes()),
        mb(etcd.rss_bytes()),
    );
    report.row(
        "data dir size (du), MiB",
        Unit::MiB,
        Some(mib(dir_size(keelson.data_dir()))),
        Some(mib(dir_size(etcd.data_dir()))),
    );

    let k_ready = restart_keelson(s, &mut keelson, report).await;
    let e_ready = restart_etcd(s, &mut etcd, report).await;
    let ms = |d: Option<Duration>| d.map(|d| d.as_secs_f64() * 1000.0);
    report.row(
        "start to ready with those objects, ms",
        Unit::Millis,
        ms(k_ready),
        ms(e_ready),
    );
    report.row(
        "RSS right after that start, MiB",
        Unit::MiB,
        mb(keelson.rss_bytes()),
        mb(etcd.rss_bytes()),
    );
    stop_pair(s, &mut keelson, &mut etcd, report).await;
    Ok(())
}

async fn load_keelson(s: &Settings, keelson: &KeelsonNode, ns: &str, n: u64) -> Result<Stats> {
    if n == 0 {
        return Ok(Stats::default());
    }
    if let Err(e) = keelson.client()?.create_namespace(ns).await {
        eprintln!("creating namespace {ns} on keelson failed: {e}");
    }
    let payload = payload();
    let ops = (0..s.load_clients())
        .map(|_| {
            Ok(CreateConfigMap {
                api: keelson.client()?,
                namespace: ns.into(),
                prefix: "cm-".into(),
                payload: payload.clone(),
            })
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(driver::run(
        &format!("load {n} into {ns} keelson"),
        ops,
        Budget::count(n, s.load_limit),
    )
    .await)
}

async fn load_etcd(s: &Settings, etcd: &EtcdNode, prefix: &str, n: u64) -> Result<Stats> {
    if n == 0 {
        return Ok(Stats::default());
    }
    let payload = payload();
    let ops = etcd.clients(s.load_clients()).await?.into_iter();
    let ops = ops
        .map(|kv| etcd_node::Put {
            kv,
            prefix: prefix.into(),
            value: payload.clone(),
        })
        .collect();
    Ok(driver::run(
        &format!("load {n} under {prefix} etcd"),
        ops,
        Budget::count(n, s.load_limit),
    )
    .await)
}

/// The median time of a full LIST, after one untimed LIST that also checks the count.
async fn list_keelson(
    s: &Settings,
    keelson: &KeelsonNode,
    expected: usize,
    report: &mut Report,
) -> Option<f64> {
    let api = keelson.client().ok()?;
    let check = async {
        let body = api.list_configmaps(LIST_NS).await?;
        let doc: serde_json::Value =
            serde_json::from_slice(&body).map_err(|e| format!("list is not JSON: {e}"))?;
        let got = doc["items"].as_array().map_or(0, Vec::len);
        if got == expected {
            Ok(())
        } else {
            Err(format!(
                "LIST returned {got} items, {expected} were created"
            ))
        }
    };
    if let Err(e) = check.await {
        report.note(format!("LIST, keelson: `{e}`"));
        return None;
    }
    let mut times = Vec::new();
    for i in 0..s.list_repeats {
        let t0 = Instant::now();
        match api.list_configmaps(LIST_NS).await {
            Ok(_) => times.push(t0.elapsed().as_secs_f64() * 1000.0),
            Err(e) => report.note(format!("LIST {i}, keelson: `{e}`")),
        }
    }
    eprintln!("LIST keelson: {times:.1?} ms");
    median(times)
}

async fn list_etcd(
    s: &Settings,
    etcd: &EtcdNode,
    expected: usize,
    report: &mut Report,
) -> Result<Option<f64>> {
    let mut kv = etcd.client().await?;
    match etcd_node::range_prefix(&mut kv, "/bench/list/").await {
        Ok(got) if got == expected => {}
        Ok(got) => report.note(format!(
            "LIST, etcd: the range returned {got} keys, {expected} were put"
        )),
        Err(e) => {
            report.note(format!("LIST, etcd: `{e}`"));
            return Ok(None);
        }
    }
    let mut times = Vec::new();
    for _ in 0..s.list_repeats {
        let t0 = Instant::now();
        if etcd_node::range_prefix(&mut kv, "/bench/list/")
            .await
            .is_ok()
        {
            times.push(t0.elapsed().as_secs_f64() * 1000.0);
        }
    }
    eprintln!("LIST etcd: {times:.1?} ms");
    Ok(median(times))
}

async fn restart_keelson(
    s: &Settings,
    keelson: &mut KeelsonNode,
    report: &mut Report,
) -> Option<Duration> {
    if !keelson.stop(s.stop_grace).await {
        report.note(format!(
            "keelson did not exit within {:?} of SIGTERM and was killed",
            s.stop_grace
        ));
    }
    match keelson.start(s.ready_limit).await {
        Ok(t) => Some(t),
        Err(e) => {
            report.note(format!("restarting keelson on its data dir: {e:#}"));
            None
        }
    }
}

async fn restart_etcd(s: &Settings, etcd: &mut EtcdNode, report: &mut Report) -> Option<Duration> {
    if !etcd.stop(s.stop_grace).await {
        report.note(format!(
            "etcd did not exit within {:?} of SIGTERM and was killed",
            s.stop_grace
        ));
    }
    match etcd.start(s.ready_limit).await {
        Ok(t) => Some(t),
        Err(e) => {
            report.note(format!("restarting etcd on its data dir: {e:#}"));
            None
        }
    }
}

fn median(mut v: Vec<f64>) -> Option<f64> {
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied()
}
