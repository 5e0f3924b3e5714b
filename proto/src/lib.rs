//! keelson's replica protocol: everything that crosses between replicas or reaches the
//! Raft log on disk.
//!
//! The server crate builds [`Batch`]es of [`Command`]s after a request has passed the whole
//! API pipeline and tags each with a [`RequestId`] as a [`Proposal`]; the Raft leader
//! groups proposals into log entries ([`EntryData`], typed by [`raft::TypeConfig`]) and
//! every replica's state machine applies them deterministically, answering each command
//! with a [`CommandResult`]. Replicas talk to each other with the messages in [`peer`].
//! All of it is encoded by [`codec`], which prefixes every message with a format version
//! so the encoding can change without breaking data already on disk.

pub mod codec;
pub mod command;
pub mod peer;
pub mod raft;

pub use codec::{decode, decode_prefix, encode, encode_to_writer, CodecError, FORMAT_VERSION};
pub use command::{
    Batch, BatchResult, Command, CommandResult, EntryData, EntryResult, Precondition, Proposal,
    RequestId,
};
