//! TLS for reaching identity providers: the system's roots plus an optional CA bundle, and the
//! IAM thumbprint fallback — an issuer whose chain ends in a certificate whose SHA-1 is one of
//! the provider's thumbprints is verified with that certificate as its trust anchor (hostname,
//! validity and signatures are still checked).

use aws_lc_rs::digest;
use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, Error as TlsError, RootCertStore, SignatureScheme};
use std::path::Path;
use std::sync::Arc;

/// Why the trust roots could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum RootsError {
    /// The CA bundle could not be read or holds no certificate.
    #[error("OIDC CA bundle {0}: {1}")]
    Bundle(String, String),
    /// The TLS library refused its configuration (a bug).
    #[error("TLS configuration: {0}")]
    Config(String),
}

/// The system's CA certificates plus those of `bundle`.
pub fn load_roots(bundle: Option<&Path>) -> Result<Arc<RootCertStore>, RootsError> {
    let mut roots = RootCertStore::empty();
    // Unreadable system certificates are skipped: a bundle may be all this server needs.
    let native = rustls_native_certs::load_native_certs();
    roots.add_parsable_certificates(native.certs);
    if let Some(path) = bundle {
        let shown = path.display().to_string();
        let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(path)
            .map_err(|e| RootsError::Bundle(shown.clone(), e.to_string()))?
            .collect::<Result<_, _>>()
            .map_err(|e| RootsError::Bundle(shown.clone(), e.to_string()))?;
        if certs.is_empty() {
            return Err(RootsError::Bundle(shown, "no certificate found".into()));
        }
        for cert in certs {
            roots
                .add(cert)
                .map_err(|e| RootsError::Bundle(shown.clone(), e.to_string()))?;
        }
    }
    Ok(Arc::new(roots))
}

/// Lowercase hex SHA-1 of a DER certificate, as IAM thumbprints are written.
pub fn thumbprint(der: &[u8]) -> String {
    digest::digest(&digest::SHA1_FOR_LEGACY_USE_ONLY, der)
        .as_ref()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Verifies with the roots; failing that, with the presented top certificate as the only root
/// when its thumbprint is registered.
#[derive(Debug)]
struct ThumbprintVerifier {
    roots: Arc<WebPkiServerVerifier>,
    thumbprints: Vec<String>,
}

impl ServerCertVerifier for ThumbprintVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, TlsError> {
        let by_roots =
            self.roots
                .verify_server_cert(end_entity, intermediates, server_name, ocsp, now);
        if by_roots.is_ok() || self.thumbprints.is_empty() {
            return by_roots;
        }
        let top = intermediates.last().unwrap_or(end_entity);
        if !self.thumbprints.contains(&thumbprint(top)) {
            return by_roots;
        }
        let mut anchor = RootCertStore::empty();
        anchor.add(top.clone().into_owned())?;
        let pinned = WebPkiServerVerifier::builder(Arc::new(anchor))
            .build()
            .map_err(|e| TlsError::General(e.to_string()))?;
        let rest = intermediates.split_last().map_or(&[][..], |(_, rest)| rest);
        pinned.verify_server_cert(end_entity, rest, server_name, ocsp, now)
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, TlsError> {
        self.roots.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, TlsError> {
        self.roots.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.roots.supported_verify_schemes()
    }
}

/// An HTTP client for one provider's thumbprints: bounded in time, no proxies, HTTPS only
/// unless plain-HTTP issuers are allowed.
pub fn client(
    roots: &Arc<RootCertStore>,
    thumbprints: &[String],
    timeout: std::time::Duration,
    insecure_http: bool,
) -> Result<reqwest::Client, RootsError> {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let by_roots = WebPkiServerVerifier::builder_with_provider(roots.clone(), provider.clone())
        .build()
        .map_err(|e| RootsError::Config(e.to_string()))?;
    let tls = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| RootsError::Config(e.to_string()))?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(ThumbprintVerifier {
            roots: by_roots,
            thumbprints: thumbprints.to_vec(),
        }))
        .with_no_client_auth();
    reqwest::Client::builder()
        .tls_backend_preconfigured(tls)
        .timeout(timeout)
        .connect_timeout(timeout)
        .redirect(reqwest::redirect::Policy::limited(3))
        .https_only(!insecure_http)
        .no_proxy()
        .build()
        .map_err(|e| RootsError::Config(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thumbprints_are_lowercase_hex_sha1() {
        // SHA-1("abc") from FIPS 180-2.
        assert_eq!(
            thumbprint(b"abc"),
            "a9993e364706816aba3e25717850c26c9cd0d89d"
        );
    }

    #[test]
    fn a_missing_bundle_is_an_error() {
        assert!(matches!(
            load_roots(Some(Path::new("/nonexistent/ca.pem"))),
            Err(RootsError::Bundle(..))
        ));
        let dir = tempfile::tempdir().unwrap();
        let empty = dir.path().join("empty.pem");
        std::fs::write(&empty, "").unwrap();
        assert!(matches!(
            load_roots(Some(&empty)),
            Err(RootsError::Bundle(..))
        ));
    }
}
