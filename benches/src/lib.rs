//! keelson-bench runs a single keelson node and a single-node etcd side by side on
//! loopback, drives both with the same closed-loop load, and reports each figure next
//! to its peer's, with the ratio keelson ÷ etcd; then the same for three keelson
//! replicas behind HAProxy and a three-member etcd, with leader failover.
//!
//! The pieces, in the order a run uses them:
//! - [`process`]: the child processes (spawn, RSS, stop by PID) and data-dir sizes;
//! - [`kubeconfig`] and [`keelson_node`] / [`keelson_api`]: keelson and its HTTPS client
//!   (mutual TLS with the admin identity, one HTTP/1.1 keep-alive connection per client);
//! - [`etcd_node`]: etcd and its gRPC client (one channel per client);
//! - [`keelson_cluster`] and [`etcd_cluster`]: three replicas of each (keelson through
//!   cluster/local-up.sh, behind HAProxy), with leader lookup, kill and restart;
//! - [`etcd_ops`]: etcd's precondition update (txn) and paged range;
//! - [`fanout`]: watch fan-out (open-loop paced writes, many watchers, per-write
//!   acknowledgement → last receipt);
//! - [`driver`]: the closed loop (fixed duration after a warm-up, or a fixed count) and
//!   its latency figures;
//! - [`scenario`]: the figures the issues ask for, in order; [`report`] and [`machine`]:
//!   the markdown tables and the facts that go with them; [`cost`]: the cost model table.

pub mod cost;
pub mod driver;
pub mod etcd_cluster;
pub mod etcd_node;
pub mod etcd_ops;
pub mod fanout;
pub mod keelson_api;
pub mod keelson_cluster;
pub mod keelson_node;
pub mod kubeconfig;
pub mod machine;
pub mod process;
pub mod report;
pub mod scenario;
