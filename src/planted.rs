//! Deliberate bugs for the chaos harness to catch, compiled only into test builds.
//!
//! A checker that never fails proves nothing, so `chaos/run.sh` builds keelson a second
//! time with the cargo feature `planted-bugs` and runs scenarios against that binary with
//! `KEELSON_PLANTED_BUG` naming one break; the harness must report it. Without the
//! feature (every normal build) [`active`] is a constant `false` and the breaks' code is
//! not compiled at all.

/// The breaks the harness knows how to plant.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Bug {
    /// The leader counts every follower as having appended (and fsynced) entries it has
    /// only queued for them, and delivers them half a second late: it commits, and
    /// acknowledges, writes that only its own disk holds.
    AckBeforeQuorum,
    /// Replicas answer linearizable reads from their own cache without asking the
    /// leader for a read index, so a follower (or a deposed leader) can return stale data.
    SkipReadIndex,
}

#[cfg(feature = "planted-bugs")]
impl Bug {
    fn name(self) -> &'static str {
        match self {
            Bug::AckBeforeQuorum => "ack-before-quorum",
            Bug::SkipReadIndex => "skip-read-index",
        }
    }
}

/// Whether `bug` was planted in this process (`KEELSON_PLANTED_BUG=<name>`).
#[cfg(feature = "planted-bugs")]
pub fn active(bug: Bug) -> bool {
    use std::sync::OnceLock;
    static PLANTED: OnceLock<Option<String>> = OnceLock::new();
    let planted = PLANTED.get_or_init(|| {
        let name = std::env::var("KEELSON_PLANTED_BUG").ok();
        if let Some(name) = &name {
            tracing::warn!(bug = %name, "a deliberate bug is planted in this process (chaos testing only)");
        }
        name
    });
    planted.as_deref() == Some(bug.name())
}

/// Whether `bug` was planted in this process: never, in a build without `planted-bugs`.
#[cfg(not(feature = "planted-bugs"))]
#[inline(always)]
pub fn active(_bug: Bug) -> bool {
    false
}

/// [`Bug::AckBeforeQuorum`]: queues append-entries for one follower and sends them, in
/// order, half a second after they were queued; the follower's answers are dropped.
#[cfg(feature = "planted-bugs")]
pub mod lagging {
    use std::time::{Duration, Instant};

    use keelson_proto::peer::paths;
    use openraft::error::RaftError;
    use openraft::raft::{AppendEntriesRequest, AppendEntriesResponse};
    use tokio::sync::mpsc;

    use crate::consensus::peer::client::PeerClient;
    use crate::consensus::types::{NodeId, TypeConfig};

    const LAG: Duration = Duration::from_millis(500);
    /// The break starts this long after the first append-entries, so the cluster forms
    /// normally first (broken replication during formation makes followers crash
    /// instead of losing writes quietly).
    const ARM_AFTER: Duration = Duration::from_secs(3);

    /// Whether the break is in force yet.
    pub fn armed() -> bool {
        static FIRST_APPEND: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();
        FIRST_APPEND.get_or_init(Instant::now).elapsed() >= ARM_AFTER
    }

    pub type Queue = mpsc::UnboundedSender<(Instant, AppendEntriesRequest<TypeConfig>)>;

    pub fn start(client: PeerClient, address: String) -> Queue {
        let (queue, mut queued) = mpsc::unbounded_channel();
        tokio::spawn(async move {
            while let Some((at, rpc)) = queued.recv().await {
                tokio::time::sleep_until(tokio::time::Instant::from_std(at + LAG)).await;
                let _ = client
                    .call::<_, Result<AppendEntriesResponse<NodeId>, RaftError<NodeId>>>(
                        &address,
                        paths::APPEND_ENTRIES,
                        &rpc,
                        Duration::from_secs(1),
                    )
                    .await;
            }
        });
        queue
    }
}
