//! The administrative subcommands of the `keelson` binary (everything but `serve`):
//! [`pki`] works on a data directory's certificates, [`member`] talks to a running cluster
//! through its API with an admin kubeconfig ([`api`]).

pub mod api;
pub mod member;
pub mod pki;
