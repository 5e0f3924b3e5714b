//! The replica protocol's transport: HTTPS with mutual TLS on the peer port. [`client`]
//! calls other replicas, [`server`] answers them; the messages are `keelson_proto::peer`'s
//! and openraft's, encoded by `keelson_proto::codec`.

pub mod client;
pub mod server;
