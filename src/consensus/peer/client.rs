//! The calling side of the replica protocol: one pool of HTTPS connections, with the
//! peer certificate, shared by every call to every other replica.
//!
//! A call is a POST of a codec-encoded message to a path of [`keelson_proto::peer::paths`]
//! and a codec-encoded reply. Failing to connect is told apart from every other failure:
//! a request that never left cannot have been acted on, anything else might have been.

use std::time::Duration;

use serde::de::DeserializeOwned;
use serde::Serialize;

/// Why a call got no reply.
#[derive(Debug, thiserror::Error)]
pub enum CallError {
    /// The peer could not be reached; the request was not delivered.
    #[error("peer {address} is unreachable: {reason}")]
    Unreachable { address: String, reason: String },
    /// The request may have been delivered, but no valid reply came back.
    #[error("peer {address} did not answer {path}: {reason}")]
    NoReply {
        address: String,
        path: &'static str,
        reason: String,
    },
}

#[derive(Clone)]
pub struct PeerClient {
    http: reqwest::Client,
}

/// `https://host:port` for a member address given with or without its scheme.
pub fn base_url(address: &str) -> String {
    if address.starts_with("https://") {
        address.trim_end_matches('/').to_string()
    } else {
        format!("https://{}", address.trim_end_matches('/'))
    }
}

impl PeerClient {
    pub fn new(tls: rustls::ClientConfig) -> Result<Self, reqwest::Error> {
        let http = reqwest::Client::builder()
            .use_preconfigured_tls(tls)
            .connect_timeout(Duration::from_millis(500))
            .pool_idle_timeout(Duration::from_secs(60))
            .tcp_nodelay(true)
            .build()?;
        Ok(Self { http })
    }

    /// Sends `request` to `path` on the replica at `address` and decodes its reply, giving
    /// up after `timeout`.
    pub async fn call<Req: Serialize, Reply: DeserializeOwned>(
        &self,
        address: &str,
        path: &'static str,
        request: &Req,
        timeout: Duration,
    ) -> Result<Reply, CallError> {
        let no_reply = |reason: String| CallError::NoReply {
            address: address.to_string(),
            path,
            reason,
        };
        let body = keelson_proto::encode(request).map_err(|e| no_reply(e.to_string()))?;
        let call = self
            .http
            .post(format!("{}{path}", base_url(address)))
            .timeout(timeout)
            .header("content-type", "application/octet-stream")
            .body(body);
        let response = call.send().await.map_err(|e| {
            if e.is_connect() {
                CallError::Unreachable {
                    address: address.to_string(),
                    reason: error_chain(&e),
                }
            } else {
                no_reply(error_chain(&e))
            }
        })?;
        let status = response.status();
        let bytes = response
            .bytes()
            .await
            .map_err(|e| no_reply(error_chain(&e)))?;
        if !status.is_success() {
            let text = String::from_utf8_lossy(&bytes);
            return Err(no_reply(format!("HTTP {status}: {text}")));
        }
        keelson_proto::decode(&bytes).map_err(|e| no_reply(e.to_string()))
    }
}

fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
