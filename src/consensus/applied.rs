//! What the state machine tells the layers above after each apply step.
//!
//! The registry receives every batch of [`Change`]s in revision order over a bounded
//! channel (a slow consumer slows apply rather than growing memory), and a `Reset` when a
//! snapshot replaced the whole state.

use std::sync::Arc;

use crate::storage::Change;

#[derive(Clone, Debug)]
pub enum Applied {
    /// Writes applied in one step, in revision order.
    Changes(Arc<Vec<Change>>),
    /// The state was replaced by a snapshot at this revision; reload everything.
    Reset { revision: u64 },
}

pub type AppliedSender = tokio::sync::mpsc::Sender<Applied>;
pub type AppliedReceiver = tokio::sync::mpsc::Receiver<Applied>;

/// Bound of the apply → registry channel, in apply steps.
pub const APPLIED_CHANNEL_DEPTH: usize = 1024;

pub fn channel() -> (AppliedSender, AppliedReceiver) {
    tokio::sync::mpsc::channel(APPLIED_CHANNEL_DEPTH)
}
