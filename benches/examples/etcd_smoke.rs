use keelson_bench::driver::{self, Budget};
use keelson_bench::etcd_node::{self, EtcdNode};
use keelson_bench::process::dir_size;
use keelson_bench::scenario::payload;
use std::time::{Duration, Instant};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let dir = tempfile::tempdir_in("/work/main/target")?;
    let mut e = EtcdNode::new(std::path::Path::new("/usr/bin/etcd"), dir.path())?;
    println!("start {:?}", e.start(Duration::from_secs(30)).await?);
    let p = payload();
    for c in [1usize, 16, 64] {
        let ops = e
            .clients(c)
            .await?
            .into_iter()
            .map(|kv| etcd_node::Put {
                kv,
                prefix: format!("/w/{c}/"),
                value: p.clone(),
            })
            .collect();
        let a = keelson_bench::process::cpu_time("self").unwrap();
        let ea = e.cpu_time().unwrap();
        let s = driver::run(
            &format!("writes c={c} etcd"),
            ops,
            Budget::timed(Duration::from_secs(1), Duration::from_secs(3)),
        )
        .await;
        let b = keelson_bench::process::cpu_time("self").unwrap();
        let eb = e.cpu_time().unwrap();
        println!(
            "{} client cpu/op {:?} server cpu/op {:?}",
            s.summary(),
            (b - a) / (s.succeeded as u32),
            (eb - ea) / (s.succeeded as u32)
        );
    }
    let ops = e
        .clients(64)
        .await?
        .into_iter()
        .map(|kv| etcd_node::Put {
            kv,
            prefix: "/list/".into(),
            value: p.clone(),
        })
        .collect();
    let s = driver::run("load", ops, Budget::count(10_000, Duration::from_secs(30))).await;
    println!("load {} ok {:?}", s.succeeded, s.window);
    let mut kv = e.client().await?;
    let t = Instant::now();
    println!(
        "range {:?} in {:?}",
        etcd_node::range_prefix(&mut kv, "/list/").await,
        t.elapsed()
    );
    println!(
        "rss {:?} du {}",
        e.rss_bytes(),
        dir_size(&dir.path().join("data"))
    );
    println!("stop graceful {}", e.stop(Duration::from_secs(10)).await);
    println!("restart {:?}", e.start(Duration::from_secs(30)).await?);
    println!("stop graceful {}", e.stop(Duration::from_secs(10)).await);
    Ok(())
}
