//! keelson's replica protocol: everything that crosses between replicas or reaches the
//! Raft log on disk.
//!
//! The server crate builds [`Batch`]es of [`Command`]s after a request has passed the whole
//! API pipeline; the Raft leader appends them to the log and every replica's state machine
//! applies them deterministically, answering each command with a [`CommandResult`]. All of
//! it is encoded by [`codec`], which prefixes every message with a format version so the
//! encoding can change without breaking data already on disk.

pub mod codec;
pub mod command;

pub use codec::{decode, encode, CodecError, FORMAT_VERSION};
pub use command::{Batch, BatchResult, Command, CommandResult, Precondition};
