//! The serving side of the replica protocol: the peer port.
//!
//! Mutual TLS is required, and only certificates of [`PEER_ORGANIZATION`] are served (the
//! admin certificate chains to the same CA but is not a replica). Each path decodes one
//! message, hands it to Raft or to the [`Consensus`] handle, and encodes the reply. A body
//! that does not decode gets 400 and changes nothing.

use std::future::Future;

use actix_web::dev::Server;
use actix_web::http::StatusCode;
use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};
use keelson_proto::peer::{paths, MembershipChange, ReadIndexRequest, StatusRequest};
use keelson_proto::Proposal;
use openraft::raft::{AppendEntriesRequest, InstallSnapshotRequest, VoteRequest};
use serde::de::DeserializeOwned;
use serde::Serialize;
use tracing::Instrument;

use crate::consensus::types::{NodeId, TypeConfig};
use crate::consensus::Consensus;
use crate::pki::{record_client_subject, CertSubject, PEER_ORGANIZATION};

/// Raft messages are bounded by the entries per append (see `raft_config`) times the
/// largest entry, and snapshot chunks by `snapshot_max_chunk_size`.
const MAX_MESSAGE_BYTES: usize = 160 * 1024 * 1024;

/// Starts the peer port; the returned server runs until stopped.
pub fn serve(
    consensus: Consensus,
    listen: &str,
    tls: rustls::ServerConfig,
) -> std::io::Result<Server> {
    let consensus = web::Data::new(consensus);
    let server = HttpServer::new(move || {
        App::new()
            .app_data(consensus.clone())
            .app_data(web::PayloadConfig::new(MAX_MESSAGE_BYTES))
            .default_service(web::to(dispatch))
    })
    .on_connect(record_client_subject)
    // Replication answers are small and latency is the point (the client side sets
    // it too).
    .tcp_nodelay(true)
    .workers(2)
    .shutdown_timeout(1)
    .bind_rustls_0_23(listen, tls)?
    .run();
    Ok(server)
}

async fn dispatch(
    req: HttpRequest,
    body: web::Bytes,
    consensus: web::Data<Consensus>,
) -> HttpResponse {
    let is_peer = req
        .conn_data::<CertSubject>()
        .is_some_and(|s| s.organizations.iter().any(|o| o == PEER_ORGANIZATION));
    if !is_peer {
        return text(
            StatusCode::FORBIDDEN,
            "the peer port serves only replicas of this cluster (peer certificate required)",
        );
    }
    if req.method() != actix_web::http::Method::POST {
        return text(StatusCode::METHOD_NOT_ALLOWED, "peer calls are POSTs");
    }
    let raft = consensus.raft().clone();
    let span = tracing::debug_span!("peer", path = %req.path());
    async move {
        match req.path() {
            paths::APPEND_ENTRIES => {
                reply(&body, |rpc: AppendEntriesRequest<TypeConfig>| {
                    raft.append_entries(rpc)
                })
                .await
            }
            paths::VOTE => reply(&body, |rpc: VoteRequest<NodeId>| raft.vote(rpc)).await,
            paths::INSTALL_SNAPSHOT => {
                reply(&body, |rpc: InstallSnapshotRequest<TypeConfig>| async {
                    raft.install_snapshot(rpc).await
                })
                .await
            }
            paths::FORWARD => {
                reply(&body, |proposal: Proposal| {
                    consensus.serve_forward(proposal)
                })
                .await
            }
            paths::READ_INDEX => {
                reply(&body, |_: ReadIndexRequest| consensus.serve_read_index()).await
            }
            paths::MEMBERSHIP => {
                reply(&body, |change: MembershipChange| {
                    consensus.serve_membership_change(change)
                })
                .await
            }
            paths::STATUS => reply(&body, |_: StatusRequest| async { consensus.status() }).await,
            _ => text(StatusCode::NOT_FOUND, "no such peer call"),
        }
    }
    .instrument(span)
    .await
}

/// Decodes the request, runs `serve` and encodes what it answers.
async fn reply<Req, Reply, F, Fut>(body: &[u8], serve: F) -> HttpResponse
where
    Req: DeserializeOwned,
    Reply: Serialize,
    F: FnOnce(Req) -> Fut,
    Fut: Future<Output = Reply>,
{
    let request = match keelson_proto::decode::<Req>(body) {
        Ok(request) => request,
        Err(e) => {
            return text(
                StatusCode::BAD_REQUEST,
                &format!("undecodable message: {e}"),
            )
        }
    };
    let answer = serve(request).await;
    match keelson_proto::encode(&answer) {
        Ok(bytes) => HttpResponse::Ok()
            .content_type("application/octet-stream")
            .body(bytes),
        Err(e) => text(
            StatusCode::INTERNAL_SERVER_ERROR,
            &format!("cannot encode the reply: {e}"),
        ),
    }
}

fn text(status: StatusCode, message: &str) -> HttpResponse {
    HttpResponse::build(status)
        .content_type("text/plain; charset=utf-8")
        .body(message.to_string())
}
