//! openraft's network contract, over the replica protocol's HTTPS client.
//!
//! Raft's three RPCs go to the target's peer port as they are (openraft's messages,
//! codec-encoded). A snapshot is sent in chunks by openraft's default `full_snapshot`,
//! each chunk one `install_snapshot` call. A peer that cannot be reached is reported
//! `Unreachable`, so openraft backs off instead of retrying at once.

use std::time::Duration;

use keelson_proto::peer::paths;
use openraft::error::{
    InstallSnapshotError, NetworkError, RPCError, RaftError, RemoteError, Unreachable,
};
use openraft::network::{RPCOption, RaftNetwork, RaftNetworkFactory};
use openraft::raft::{
    AppendEntriesRequest, AppendEntriesResponse, InstallSnapshotRequest, InstallSnapshotResponse,
    VoteRequest, VoteResponse,
};
use serde::de::DeserializeOwned;
use serde::Serialize;

use super::peer::client::{CallError, PeerClient};
use super::types::{Node, NodeId, TypeConfig};

#[derive(Clone)]
pub struct Network {
    client: PeerClient,
}

impl Network {
    pub fn new(client: PeerClient) -> Self {
        Self { client }
    }
}

/// The connection to one target, as openraft asks for it.
pub struct PeerNetwork {
    target: NodeId,
    client: PeerClient,
    address: String,
    #[cfg(feature = "planted-bugs")]
    lagging: Option<crate::planted::lagging::Queue>,
}

impl RaftNetworkFactory<TypeConfig> for Network {
    type Network = PeerNetwork;

    async fn new_client(&mut self, target: NodeId, node: &Node) -> PeerNetwork {
        PeerNetwork {
            target,
            client: self.client.clone(),
            address: node.addr.clone(),
            #[cfg(feature = "planted-bugs")]
            lagging: None,
        }
    }
}

impl PeerNetwork {
    async fn rpc<Req, Reply, E>(
        &self,
        path: &'static str,
        request: &Req,
        option: &RPCOption,
    ) -> Result<Reply, RPCError<NodeId, Node, E>>
    where
        Req: Serialize,
        Reply: DeserializeOwned,
        E: std::error::Error + DeserializeOwned,
    {
        let timeout = option.hard_ttl().max(Duration::from_millis(50));
        let reply: Result<Reply, E> = self
            .client
            .call(&self.address, path, request, timeout)
            .await
            .map_err(|e| match e {
                CallError::Unreachable { .. } => RPCError::Unreachable(Unreachable::new(&e)),
                CallError::NoReply { .. } => RPCError::Network(NetworkError::new(&e)),
            })?;
        reply.map_err(|remote| RPCError::RemoteError(RemoteError::new(self.target, remote)))
    }
}

impl RaftNetwork<TypeConfig> for PeerNetwork {
    async fn append_entries(
        &mut self,
        rpc: AppendEntriesRequest<TypeConfig>,
        option: RPCOption,
    ) -> Result<AppendEntriesResponse<NodeId>, RPCError<NodeId, Node, RaftError<NodeId>>> {
        #[cfg(feature = "planted-bugs")]
        if crate::planted::active(crate::planted::Bug::AckBeforeQuorum)
            && crate::planted::lagging::armed()
        {
            let (client, address) = (&self.client, &self.address);
            let queue = self.lagging.get_or_insert_with(|| {
                crate::planted::lagging::start(client.clone(), address.clone())
            });
            let _ = queue.send((std::time::Instant::now(), rpc));
            return Ok(AppendEntriesResponse::Success);
        }
        self.rpc(paths::APPEND_ENTRIES, &rpc, &option).await
    }

    async fn install_snapshot(
        &mut self,
        rpc: InstallSnapshotRequest<TypeConfig>,
        option: RPCOption,
    ) -> Result<
        InstallSnapshotResponse<NodeId>,
        RPCError<NodeId, Node, RaftError<NodeId, InstallSnapshotError>>,
    > {
        self.rpc(paths::INSTALL_SNAPSHOT, &rpc, &option).await
    }

    async fn vote(
        &mut self,
        rpc: VoteRequest<NodeId>,
        option: RPCOption,
    ) -> Result<VoteResponse<NodeId>, RPCError<NodeId, Node, RaftError<NodeId>>> {
        self.rpc(paths::VOTE, &rpc, &option).await
    }
}
