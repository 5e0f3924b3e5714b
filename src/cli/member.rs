//! `keelson member`: list, add and remove cluster members through the API.

use std::path::PathBuf;

use clap::Subcommand;
use reqwest::Method;
use serde_json::{json, Value};

use super::api::{kubeconfig_path, ApiClient};

#[derive(Subcommand)]
pub enum MemberCommand {
    /// Show each member: id, peer URL, state, leader, term, log, commit and applied
    /// index, lag behind the leader, and applied revision.
    List {
        #[arg(long)]
        kubeconfig: Option<PathBuf>,
    },
    /// Add member ID reachable at PEER_URL. Start it first with `keelson serve --join
    /// --node-id ID` and the cluster CA; it catches up, then votes.
    Add {
        id: u64,
        peer_url: String,
        #[arg(long)]
        kubeconfig: Option<PathBuf>,
    },
    /// Remove member ID (through joint consensus).
    Remove {
        id: u64,
        #[arg(long)]
        kubeconfig: Option<PathBuf>,
    },
}

impl MemberCommand {
    pub async fn run(self) -> anyhow::Result<()> {
        match self {
            MemberCommand::List { kubeconfig } => {
                let api = ApiClient::from_kubeconfig(&kubeconfig_path(kubeconfig))?;
                let list = api.call(Method::GET, "/keelson/v1/members", None).await?;
                print!("{}", render(&list));
            }
            MemberCommand::Add {
                id,
                peer_url,
                kubeconfig,
            } => {
                let api = ApiClient::from_kubeconfig(&kubeconfig_path(kubeconfig))?;
                println!("adding member {id} ({peer_url}); waiting until it has caught up...");
                let body = json!({"id": id, "peerURL": peer_url});
                api.call(Method::POST, "/keelson/v1/members", Some(body))
                    .await?;
                println!("member {id} added");
            }
            MemberCommand::Remove { id, kubeconfig } => {
                let api = ApiClient::from_kubeconfig(&kubeconfig_path(kubeconfig))?;
                api.call(Method::DELETE, &format!("/keelson/v1/members/{id}"), None)
                    .await?;
                println!("member {id} removed");
            }
        }
        Ok(())
    }
}

fn cell(value: &Value) -> String {
    match value {
        Value::Null => "-".into(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// The member list as a table, like `kubectl get`.
fn render(list: &Value) -> String {
    let columns = [
        ("ID", "id"),
        ("PEER URL", "peerURL"),
        ("STATE", "state"),
        ("LEADER", "leader"),
        ("TERM", "term"),
        ("LAST LOG", "lastLogIndex"),
        ("COMMIT", "commitIndex"),
        ("APPLIED", "appliedIndex"),
        ("LAG", "lag"),
        ("REVISION", "revision"),
    ];
    let empty = Vec::new();
    let members = list["members"].as_array().unwrap_or(&empty);
    let mut rows = vec![columns
        .iter()
        .map(|(h, _)| h.to_string())
        .collect::<Vec<_>>()];
    for member in members {
        rows.push(columns.iter().map(|(_, k)| cell(&member[*k])).collect());
    }
    let widths: Vec<usize> = (0..columns.len())
        .map(|i| rows.iter().map(|r| r[i].len()).max().unwrap_or(0))
        .collect();
    let mut out = String::new();
    for row in rows {
        let line: Vec<String> = row
            .iter()
            .zip(&widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect();
        out.push_str(line.join("   ").trim_end());
        out.push('\n');
    }
    out
}
