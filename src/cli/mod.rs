//! The administrative subcommands of the `keelson` binary (everything but `serve`):
//! [`pki`] works on a data directory's certificates, [`member`] talks to a running cluster
//! through its API with an admin kubeconfig ([`api`]), and [`snapshot`] saves and restores
//! backups.

pub mod api;
pub mod member;
pub mod pki;
pub mod snapshot;
