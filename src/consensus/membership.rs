//! Forming the cluster and changing its members.
//!
//! On first start a replica either forms a new cluster with the members named by
//! `--initial-cluster` (every initial member proposes the same membership, which Raft
//! allows), forms a one-member cluster of itself, or, with `--join`, waits with an empty
//! state until the leader adds it. Later changes go through the leader with Raft's joint
//! consensus: a new member first catches up as a learner (from the log or a snapshot),
//! then becomes a voter. Any replica can be asked; it passes the change to the leader.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use keelson_proto::peer::{
    paths, MemberStatus, MembershipChange, MembershipReply, PeerError, StatusRequest,
};
use openraft::error::{ClientWriteError, RaftError};
use openraft::{BasicNode, ChangeMembers, ServerState};

use super::peer::client::{base_url, CallError};
use super::types::NodeId;
use super::{Consensus, ConsensusError};

/// How a replica's first start forms (or joins) the cluster.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum InitialCluster {
    /// A new cluster of these members (node id → peer URL), this replica among them.
    Members(BTreeMap<NodeId, String>),
    /// Start empty and wait to be added by `keelson member add`.
    Join,
}

/// How long a membership change may take: adding a member waits for it to catch up.
const CHANGE_TIMEOUT: Duration = Duration::from_secs(300);
/// How long `member list` waits for each member's status.
const STATUS_TIMEOUT: Duration = Duration::from_secs(1);

/// Parses `1=https://10.0.0.1:6444,2=https://10.0.0.2:6444`.
pub fn parse_initial_cluster(text: &str) -> Result<BTreeMap<NodeId, String>, String> {
    let mut members = BTreeMap::new();
    for item in text.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let (id, url) = item
            .split_once('=')
            .ok_or_else(|| format!("{item:?} is not ID=URL (e.g. 1=https://10.0.0.1:6444)"))?;
        let id: NodeId = id
            .trim()
            .parse()
            .map_err(|_| format!("{id:?} is not a node id (a positive integer)"))?;
        if id == 0 {
            return Err("node id 0 is reserved; number members from 1".into());
        }
        let url = url.trim();
        if !url.starts_with("https://") || url.len() <= "https://".len() {
            return Err(format!("member {id}: {url:?} is not an https:// peer URL"));
        }
        if members.insert(id, url.to_string()).is_some() {
            return Err(format!("member {id} is named twice"));
        }
    }
    if members.is_empty() {
        return Err("no members given".into());
    }
    Ok(members)
}

/// The Raft nodes for members given as node id → peer URL.
pub(super) fn nodes_of(members: &BTreeMap<NodeId, String>) -> BTreeMap<NodeId, BasicNode> {
    members
        .iter()
        .map(|(id, url)| {
            (
                *id,
                BasicNode {
                    addr: base_url(url),
                },
            )
        })
        .collect()
}

impl Consensus {
    pub(super) async fn initialize_if_new(
        &self,
        cluster: &InitialCluster,
    ) -> Result<(), ConsensusError> {
        let initialized = self
            .raft
            .is_initialized()
            .await
            .map_err(|e| ConsensusError::Stopped(e.to_string()))?;
        let members = match cluster {
            _ if initialized => {
                if self.is_sole_voter() {
                    // A lone member need not wait out an election timeout after a restart.
                    let _ = self.raft.trigger().elect().await;
                }
                return Ok(());
            }
            InitialCluster::Join => {
                tracing::info!(
                    node = self.node_id,
                    "waiting to be added to a cluster (keelson member add)"
                );
                return Ok(());
            }
            InitialCluster::Members(members) => members,
        };
        if !members.contains_key(&self.node_id) {
            return Err(ConsensusError::Config(format!(
                "--initial-cluster does not name this replica's --node-id {}",
                self.node_id
            )));
        }
        let nodes = nodes_of(members);
        tracing::info!(members = ?members, "forming a new cluster");
        self.raft
            .initialize(nodes)
            .await
            .map_err(|e| ConsensusError::Stopped(e.to_string()))
    }

    fn is_sole_voter(&self) -> bool {
        let metrics = self.raft.metrics();
        let metrics = metrics.borrow();
        let voters: Vec<NodeId> = metrics.membership_config.membership().voter_ids().collect();
        voters == [self.node_id]
    }

    /// Applies `change` through the leader, wherever this replica is. While leadership
    /// moves (no leader known, the believed leader unreachable or no longer leading) the
    /// change is retried, up to the request timeout; a change applies idempotently.
    pub async fn change_membership(&self, change: MembershipChange) -> Result<(), ConsensusError> {
        let deadline = Instant::now() + self.request_timeout;
        loop {
            let outcome = match self.current_leader() {
                Some(leader) if leader == self.node_id => {
                    self.serve_membership_change(change.clone()).await
                }
                Some(leader) => self.ask_leader_to_change(leader, &change).await,
                None => Err(PeerError::NotLeader { leader: None }),
            };
            let retry_reason = match outcome {
                Ok(()) => return Ok(()),
                Err(PeerError::Refused(reason)) => return Err(ConsensusError::Refused(reason)),
                Err(PeerError::NotLeader { .. }) => None,
                Err(PeerError::Unavailable(reason)) => Some(reason),
            };
            if Instant::now() >= deadline {
                return Err(match retry_reason {
                    Some(reason) => ConsensusError::Refused(format!(
                        "the membership change did not complete: {reason}"
                    )),
                    None => ConsensusError::NoLeader,
                });
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    async fn ask_leader_to_change(
        &self,
        leader: NodeId,
        change: &MembershipChange,
    ) -> MembershipReply {
        let Some(address) = self.address_of(leader) else {
            return Err(PeerError::NotLeader { leader: None });
        };
        match self
            .peers
            .call::<_, MembershipReply>(&address, paths::MEMBERSHIP, change, CHANGE_TIMEOUT)
            .await
        {
            Ok(reply) => reply,
            // The leader we knew is gone; whoever leads next is asked.
            Err(CallError::Unreachable { .. }) => Err(PeerError::NotLeader { leader: None }),
            Err(e @ CallError::NoReply { .. }) => Err(PeerError::Unavailable(e.to_string())),
        }
    }

    /// Serves a membership change (leader only).
    pub async fn serve_membership_change(&self, change: MembershipChange) -> MembershipReply {
        let leader = self.current_leader();
        if leader != Some(self.node_id) {
            return Err(PeerError::NotLeader { leader });
        }
        let result = match change {
            MembershipChange::Add { id, address } => {
                if id == 0 {
                    return Err(PeerError::Refused("node id 0 is reserved".into()));
                }
                let node = BasicNode {
                    addr: base_url(&address),
                };
                tracing::info!(id, %address, "adding a learner; it catches up before it votes");
                // Everything acknowledged before this call must reach the new member
                // before it votes (openraft's own wait stops 5,000 entries short).
                let target = self.raft.metrics().borrow().last_log_index;
                if let Err(e) = self.raft.add_learner(id, node, true).await {
                    return Err(membership_error(e));
                }
                self.wait_for_learner(id, target).await?;
                self.raft
                    .change_membership(ChangeMembers::AddVoterIds(BTreeSet::from([id])), false)
                    .await
            }
            MembershipChange::Remove { id } => {
                tracing::info!(id, "removing a member");
                self.raft
                    .change_membership(ChangeMembers::RemoveVoters(BTreeSet::from([id])), false)
                    .await
            }
        };
        result.map(|_| ()).map_err(membership_error)
    }

    /// Waits until the leader has replicated up to `target` to learner `id`.
    async fn wait_for_learner(&self, id: NodeId, target: Option<u64>) -> Result<(), PeerError> {
        let matched = move |m: &openraft::RaftMetrics<NodeId, BasicNode>| {
            m.replication
                .as_ref()
                .and_then(|r| r.get(&id))
                .and_then(|log| log.as_ref())
                .map(|log| log.index)
                >= target
        };
        self.raft
            .wait(Some(CHANGE_TIMEOUT))
            .metrics(matched, "learner caught up")
            .await
            .map(|_| ())
            .map_err(|e| PeerError::Unavailable(format!("member {id} did not catch up: {e}")))
    }

    /// This replica's view of itself.
    pub fn status(&self) -> MemberStatus {
        let metrics = self.raft.metrics().borrow().clone();
        let address = metrics
            .membership_config
            .membership()
            .get_node(&self.node_id)
            .map(|n| n.addr.clone())
            .unwrap_or_default();
        let committed = (metrics.state == ServerState::Leader)
            .then(|| leader_commit(&metrics))
            .flatten();
        MemberStatus {
            id: self.node_id,
            address,
            state: format!("{:?}", metrics.state),
            term: metrics.current_term,
            leader: metrics.current_leader,
            last_log_index: metrics.last_log_index,
            committed,
            applied: metrics.last_applied.map(|l| l.index),
            revision: self.applied_revision(),
        }
    }

    /// Every member's status as it reports it; a member that does not answer is listed
    /// with state "Unreachable".
    pub async fn member_statuses(&self) -> Vec<MemberStatus> {
        let members: Vec<(NodeId, String)> = {
            let metrics = self.raft.metrics();
            let metrics = metrics.borrow();
            metrics
                .membership_config
                .membership()
                .nodes()
                .map(|(id, node)| (*id, node.addr.clone()))
                .collect()
        };
        let asks = members.into_iter().map(|(id, address)| async move {
            if id == self.node_id {
                return self.status();
            }
            self.peers
                .call::<_, MemberStatus>(&address, paths::STATUS, &StatusRequest {}, STATUS_TIMEOUT)
                .await
                .unwrap_or(MemberStatus {
                    id,
                    address,
                    state: "Unreachable".into(),
                    ..Default::default()
                })
        });
        futures::future::join_all(asks).await
    }
}

/// The highest log index a quorum of voters holds, as the leader sees replication.
fn leader_commit(metrics: &openraft::RaftMetrics<NodeId, openraft::BasicNode>) -> Option<u64> {
    let replication = metrics.replication.as_ref()?;
    let membership = metrics.membership_config.membership();
    let mut matched: Vec<u64> = membership
        .voter_ids()
        .map(|id| {
            if id == metrics.id {
                metrics.last_log_index.unwrap_or(0)
            } else {
                replication
                    .get(&id)
                    .and_then(|m| m.as_ref())
                    .map_or(0, |l| l.index)
            }
        })
        .collect();
    if matched.is_empty() {
        return None;
    }
    matched.sort_unstable_by(|a, b| b.cmp(a));
    matched.get(matched.len() / 2).copied()
}

fn membership_error(
    e: RaftError<NodeId, ClientWriteError<NodeId, openraft::BasicNode>>,
) -> PeerError {
    match e {
        RaftError::APIError(ClientWriteError::ForwardToLeader(f)) => PeerError::NotLeader {
            leader: f.leader_id,
        },
        RaftError::APIError(ClientWriteError::ChangeMembershipError(e)) => {
            PeerError::Refused(e.to_string())
        }
        RaftError::Fatal(e) => PeerError::Unavailable(e.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_initial_cluster() {
        let members =
            parse_initial_cluster("1=https://127.0.0.1:6447, 2=https://127.0.0.1:6448").unwrap();
        assert_eq!(members.len(), 2);
        assert_eq!(members[&2], "https://127.0.0.1:6448");
        for bad in [
            "",
            "1",
            "x=https://a:1",
            "0=https://a:1",
            "1=http://a:1",
            "1=https://a:1,1=https://b:1",
        ] {
            assert!(
                parse_initial_cluster(bad).is_err(),
                "{bad:?} should be refused"
            );
        }
    }
}
