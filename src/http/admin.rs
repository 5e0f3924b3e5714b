//! keelson's cluster administration paths (not part of the Kubernetes API):
//!
//! - `GET /keelson/v1/members`: every member's status as it reports it;
//! - `POST /keelson/v1/members` with `{"id": 4, "peerURL": "https://host:port"}`: add a
//!   member (it catches up as a learner, then votes);
//! - `DELETE /keelson/v1/members/{id}`: remove a member;
//! - `GET /keelson/v1/snapshot`: a snapshot taken now, as a file (a backup).
//!
//! Authorization admits only `system:masters`. Errors are metav1.Status like every other
//! answer; `keelson member` and `keelson snapshot save` are the clients.

use actix_web::HttpResponse;
use keelson_proto::peer::{MemberStatus, MembershipChange};
use serde::Deserialize;
use serde_json::{json, Value};

use super::status::ApiError;
use super::AppState;
use crate::consensus::ConsensusError;
use crate::registry::RegistryError;

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct AddMember {
    id: u64,
    #[serde(rename = "peerURL")]
    peer_url: String,
}

/// Serves `/keelson/v1/...` for `method`.
pub async fn serve(
    method: &str,
    path: &str,
    body: &[u8],
    state: &AppState,
) -> Result<HttpResponse, ApiError> {
    if path == "/keelson/v1/snapshot" {
        return match method {
            "get" => snapshot(state).await,
            _ => Err(ApiError::MethodNotAllowed),
        };
    }
    let Some(rest) = path.strip_prefix("/keelson/v1/members") else {
        return Err(ApiError::NoSuchPath);
    };
    if !rest.is_empty() && !rest.starts_with('/') {
        return Err(ApiError::NoSuchPath);
    }
    let member = rest.strip_prefix('/').filter(|m| !m.is_empty());
    members(method, member, body, state).await
}

/// A fresh snapshot's file, whole: `keelson snapshot save` writes it to disk.
async fn snapshot(state: &AppState) -> Result<HttpResponse, ApiError> {
    use tokio::io::AsyncReadExt;
    let (meta, mut file) = state
        .consensus
        .fresh_snapshot()
        .await
        .map_err(RegistryError::from)?;
    let mut bytes = Vec::new();
    file.read_to_end(&mut bytes)
        .await
        .map_err(|e| RegistryError::internal(format!("reading the snapshot file: {e}")))?;
    Ok(HttpResponse::Ok()
        .content_type("application/octet-stream")
        .insert_header(("X-Keelson-Snapshot", meta.snapshot_id))
        .body(bytes))
}

async fn members(
    method: &str,
    member: Option<&str>,
    body: &[u8],
    state: &AppState,
) -> Result<HttpResponse, ApiError> {
    match (method, member) {
        ("get", None) => {
            let statuses = state.consensus.member_statuses().await;
            Ok(HttpResponse::Ok().json(member_list(&statuses)))
        }
        ("post", None) => {
            let add: AddMember = serde_json::from_slice(body).map_err(|e| {
                ApiError::bad_request(format!(
                    "expected {{\"id\": <node id>, \"peerURL\": \"https://host:port\"}}: {e}"
                ))
            })?;
            if add.id == 0 || !add.peer_url.starts_with("https://") {
                return Err(ApiError::bad_request(
                    "id must be a positive integer and peerURL an https:// URL",
                ));
            }
            let change = MembershipChange::Add {
                id: add.id,
                address: add.peer_url,
            };
            state
                .consensus
                .change_membership(change)
                .await
                .map_err(membership_error)?;
            Ok(HttpResponse::Created().json(json!({"id": add.id, "added": true})))
        }
        ("delete", Some(id)) => {
            let id: u64 = id
                .parse()
                .map_err(|_| ApiError::bad_request(format!("{id:?} is not a member id")))?;
            state
                .consensus
                .change_membership(MembershipChange::Remove { id })
                .await
                .map_err(membership_error)?;
            Ok(HttpResponse::Ok().json(json!({"id": id, "removed": true})))
        }
        (_, None) | (_, Some(_)) => Err(ApiError::MethodNotAllowed),
    }
}

fn membership_error(e: ConsensusError) -> ApiError {
    match e {
        ConsensusError::Refused(message) => ApiError::bad_request(message),
        other => RegistryError::from(other).into(),
    }
}

/// The member list, with each member's lag behind the leader's last log index.
fn member_list(statuses: &[MemberStatus]) -> Value {
    let leader_id = statuses.iter().find_map(|s| s.leader);
    let leader_last = statuses
        .iter()
        .find(|s| Some(s.id) == leader_id)
        .and_then(|s| s.last_log_index);
    let members: Vec<Value> = statuses
        .iter()
        .map(|s| {
            let lag = match (leader_last, s.applied) {
                (Some(last), Some(applied)) => Some(last.saturating_sub(applied)),
                _ => None,
            };
            json!({
                "id": s.id,
                "peerURL": s.address,
                "state": s.state,
                "term": s.term,
                "leader": s.leader,
                "lastLogIndex": s.last_log_index,
                "commitIndex": s.committed,
                "appliedIndex": s.applied,
                "lag": lag,
                "revision": s.revision,
            })
        })
        .collect();
    json!({"kind": "MemberList", "apiVersion": "keelson.dev/v1", "leader": leader_id, "members": members})
}
