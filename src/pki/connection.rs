//! Reading the verified client certificate off an accepted TLS connection, for the API
//! port (authentication) and the peer port (replicas only) alike. rustls has verified the
//! chain against the cluster CA during the handshake; this only records the subject in
//! the connection's data, where handlers find it.

use std::any::Any;

use actix_web::dev::Extensions;

use super::subject_of;

/// actix-web's `on_connect` hook: stores the client certificate's
/// [`CertSubject`](super::CertSubject) when one was presented.
pub fn record_client_subject(connection: &dyn Any, data: &mut Extensions) {
    type Tls = actix_tls::accept::rustls_0_23::TlsStream<actix_web::rt::net::TcpStream>;
    let Some(tls) = connection.downcast_ref::<Tls>() else {
        return;
    };
    let (_, session) = tls.get_ref();
    if let Some(subject) = session
        .peer_certificates()
        .and_then(|certs| certs.first())
        .and_then(|cert| subject_of(cert))
    {
        data.insert(subject);
    }
}
