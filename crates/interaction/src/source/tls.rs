//! Which servers a TLS audience source (`wss://`, `ircs://`) trusts, and the
//! handshake: the system's trusted authorities, plus an optional CA file for
//! a server with a private authority (a self-hosted room, a test's server).

use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use rustls::{CertificateError, ClientConfig, ClientConnection, RootCertStore, StreamOwned};
use tracing::{debug, warn};

use super::{CONNECT_TIMEOUT, POLL, SessionEnd, is_timeout};

/// The TLS client settings every TLS source of a host shares.
#[derive(Debug, Clone)]
pub struct SourceTls {
    config: Arc<ClientConfig>,
}

/// Why TLS for the audience sources could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum TlsSetupError {
    /// The extra CA file could not be read.
    #[error("cannot read the audience sources' CA file {path}: {source}")]
    ReadCa {
        /// The file.
        path: PathBuf,
        /// What the OS said.
        source: std::io::Error,
    },
    /// The extra CA file holds no certificate rustls accepts.
    #[error("the audience sources' CA file {path} holds no usable certificate: {reason}")]
    BadCa {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// rustls refused the configuration.
    #[error("cannot set up TLS for the audience sources: {0}")]
    Rustls(#[from] rustls::Error),
}

impl SourceTls {
    /// Trusts the system's authorities (its certificate store, or
    /// `SSL_CERT_FILE` / `SSL_CERT_DIR`), and those in `extra_ca` (PEM), if given.
    pub fn new(extra_ca: Option<&Path>) -> Result<Self, TlsSetupError> {
        let mut roots = RootCertStore::empty();
        let system = rustls_native_certs::load_native_certs();
        for err in &system.errors {
            warn!("reading the system's trusted certificates: {err}");
        }
        let (added, ignored) = roots.add_parsable_certificates(system.certs);
        debug!(added, ignored, "system certificate authorities");
        if let Some(path) = extra_ca {
            add_ca_file(&mut roots, path)?;
        }
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()?
            .with_root_certificates(roots)
            .with_no_client_auth();
        Ok(Self {
            config: Arc::new(config),
        })
    }

    /// Completes a handshake with `host` over `tcp` within [`CONNECT_TIMEOUT`],
    /// checking its certificate; the error says in words why it failed.
    pub(super) fn handshake(
        &self,
        host: &str,
        mut tcp: TcpStream,
    ) -> Result<StreamOwned<ClientConnection, TcpStream>, SessionEnd> {
        let name = ServerName::try_from(host.to_owned())
            .map_err(|_| format!("{host} is not a name a TLS certificate can be for"))?;
        let mut connection = ClientConnection::new(self.config.clone(), name)
            .map_err(|err| format!("cannot start TLS: {err}"))?;
        tcp.set_read_timeout(Some(POLL))
            .map_err(|err| err.to_string())?;
        let deadline = Instant::now() + CONNECT_TIMEOUT;
        while connection.is_handshaking() {
            match connection.complete_io(&mut tcp) {
                Ok(_) => {}
                Err(err) if is_timeout(&err) => {}
                Err(err) => return Err(handshake_failure(host, &err)),
            }
            if connection.is_handshaking() && Instant::now() >= deadline {
                return Err(format!("TLS handshake with {host} timed out"));
            }
        }
        Ok(StreamOwned::new(connection, tcp))
    }
}

/// Adds every certificate of the PEM file at `path` to `roots`.
fn add_ca_file(roots: &mut RootCertStore, path: &Path) -> Result<(), TlsSetupError> {
    let pem = std::fs::read(path).map_err(|source| TlsSetupError::ReadCa {
        path: path.to_owned(),
        source,
    })?;
    let bad = |reason: String| TlsSetupError::BadCa {
        path: path.to_owned(),
        reason,
    };
    let mut added = 0;
    for cert in CertificateDer::pem_slice_iter(&pem) {
        let cert = cert.map_err(|err| bad(err.to_string()))?;
        roots.add(cert).map_err(|err| bad(err.to_string()))?;
        added += 1;
    }
    if added == 0 {
        return Err(bad("no PEM certificate in it".into()));
    }
    Ok(())
}

/// A failed handshake in the streamer's words: above all, an untrusted or
/// mismatched certificate, and what to do about it.
fn handshake_failure(host: &str, err: &std::io::Error) -> String {
    let certificate = err
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<rustls::Error>())
        .and_then(|tls| match tls {
            rustls::Error::InvalidCertificate(problem) => Some(problem),
            _ => None,
        });
    match certificate {
        Some(CertificateError::UnknownIssuer | CertificateError::BadSignature) => format!(
            "the certificate of {host} is not from a trusted authority (a private server's authority is given with --interaction-ca)"
        ),
        Some(
            CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
        ) => {
            format!("the certificate of {host} is for another name")
        }
        Some(CertificateError::Expired | CertificateError::ExpiredContext { .. }) => {
            format!("the certificate of {host} has expired")
        }
        Some(other) => format!("the certificate of {host} is refused: {other:?}"),
        None => format!("TLS handshake with {host} failed: {err}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_or_empty_ca_file_is_a_clear_error() {
        let dir = std::env::temp_dir().join(format!("source-tls-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let missing = dir.join("missing.pem");
        let err = SourceTls::new(Some(&missing)).unwrap_err();
        assert!(matches!(err, TlsSetupError::ReadCa { .. }), "{err}");
        assert!(err.to_string().contains("missing.pem"), "{err}");
        let empty = dir.join("empty.pem");
        std::fs::write(&empty, "not a certificate\n").unwrap();
        let err = SourceTls::new(Some(&empty)).unwrap_err();
        assert!(matches!(err, TlsSetupError::BadCa { .. }), "{err}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn the_system_authorities_alone_are_enough_to_start() {
        assert!(SourceTls::new(None).is_ok());
    }

    #[test]
    fn an_untrusted_certificate_is_said_in_words() {
        let err = std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            rustls::Error::InvalidCertificate(CertificateError::UnknownIssuer),
        );
        let said = handshake_failure("chat.example", &err);
        assert!(
            said.contains("chat.example is not from a trusted authority"),
            "{said}"
        );
    }
}
