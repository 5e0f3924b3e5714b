//! LIST and footprint figures on a fresh keelson and etcd: load 10,000 objects, time
//! the LIST figures ([`super::list`]) and a restart (spawn → ready) with those objects,
//! fill up to the footprint count, read RSS and data-dir size, LIST everything, then
//! restart each on its data dir again. The two LISTs of everything and the two restarts
//! are the object-count points of the cost model.

use std::path::Path;
use std::time::Duration;

use anyhow::Result;

use super::{list, payload, start_pair, stop_pair, Binaries, Settings};
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
    let counts = (k_list.succeeded as usize, e_list.succeeded as usize);
    list::figures(
        s,
        &keelson,
        &etcd,
        (LIST_NS, "/bench/list/"),
        counts,
        report,
    )
    .await?;
    let small = thousands(s.list_objects);
    let (k, e) = list::everything(s, &keelson, &etcd, "/bench/", counts, report).await?;
    report.cost(
        "object count",
        "LIST of every object, ms",
        &small,
        Unit::Millis,
        k,
        e,
    );
    let ms = |d: Option<Duration>| d.map(|d| d.as_secs_f64() * 1000.0);
    let k_ready = restart_keelson(s, &mut keelson, report).await;
    let e_ready = restart_etcd(s, &mut etcd, report).await;
    report.cost(
        "object count",
        "start to ready, ms",
        &small,
        Unit::Millis,
        ms(k_ready),
        ms(e_ready),
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

    let k_total = (k_list.succeeded + k_fill.succeeded) as usize;
    let e_total = (e_list.succeeded + e_fill.succeeded) as usize;
    let big = thousands(s.footprint_objects);
    let (k, e) =
        list::everything(s, &keelson, &etcd, "/bench/", (k_total, e_total), report).await?;
    report.row(
        format!("LIST all {big} objects in one request, ms"),
        Unit::Millis,
        k,
        e,
    );
    report.cost(
        "object count",
        "LIST of every object, ms",
        &big,
        Unit::Millis,
        k,
        e,
    );
    let k_ready = restart_keelson(s, &mut keelson, report).await;
    let e_ready = restart_etcd(s, &mut etcd, report).await;
    report.cost(
        "object count",
        "start to ready, ms",
        &big,
        Unit::Millis,
        ms(k_ready),
        ms(e_ready),
    );
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
