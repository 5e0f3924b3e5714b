//! keelson: a Kubernetes API server whose replicas share state through an embedded Raft log.
//!
//! A request flows one way through these modules:
//!
//! ```text
//! http (actix-web, TLS) ── request info ──► pipeline (authn → authz → admission)
//!   ──► registry (generic engine + one strategy per kind, in kinds/)
//!   ──► consensus (openraft: propose, read index) ──► storage (sled)
//! ```
//!
//! Applied writes flow back up: the state machine hands each step's changes to the
//! registry, whose per-kind actors update their caches and fan events out to watchers.
//! `node.rs` wires the pieces together; nothing else constructs them.

pub mod cli;
pub mod consensus;
pub mod controllers;
pub mod http;
pub mod kinds;
pub mod memory;
pub mod node;
pub mod openapi;
pub mod pipeline;
pub mod pki;
pub mod planted;
pub mod registry;
pub mod storage;
