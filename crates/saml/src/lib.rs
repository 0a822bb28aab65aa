//! SAML 2.0 for `AssumeRoleWithSAML`: identity-provider metadata, and responses verified so
//! that the claims read are the claims that were signed.
//!
//! Pure: no I/O, no clock (the caller passes the time). One strict parser ([`dom`]) builds the
//! tree that exclusive C14N, XML-DSig verification and claim extraction all use; see
//! [`response`] for the anti-wrapping rules. The AWS meaning of attributes (roles, session
//! names, tags) is left to the server.

pub mod c14n;
pub mod checks;
pub mod dom;
pub mod dsig;
pub mod metadata;
pub mod response;

pub use checks::{Checked, Expectations, check, pattern_matches};
pub use metadata::{Metadata, MetadataError, SigningKey};
pub use response::{Assertion, Confirmation, NameId, decode, verify};

/// Decodes standard base64 as XML carries it: line-wrapped and indented, so ASCII whitespace
/// anywhere is skipped.
pub(crate) fn decode_base64(text: &str) -> Option<Vec<u8>> {
    use base64::Engine;
    let compact: String = text.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    base64::engine::general_purpose::STANDARD
        .decode(compact)
        .ok()
}

/// Why a SAML response was refused. Each variant maps to one STS error code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SamlError {
    /// Not base64, not XML, not a SAML response, or a shape that is refused.
    #[error("{0}")]
    Malformed(String),
    /// No valid signature by the provider covers the assertion; the detail is for logs.
    #[error("Response signature invalid")]
    Signature(String),
    /// Encrypted assertions are not supported.
    #[error("Encrypted SAML assertions are not supported.")]
    Encrypted,
    /// The issuer is not the provider's entity id.
    #[error("Issuer not present in specified provider")]
    Issuer,
    /// No accepted audience.
    #[error("Response does not contain the required audience.")]
    Audience,
    /// The recipient or destination is not an accepted URL.
    #[error("The SAML response's Recipient or Destination is not an accepted URL.")]
    Recipient,
    /// Past `NotOnOrAfter`.
    #[error("The SAML assertion has expired.")]
    Expired,
    /// Not yet valid, or the IdP reported a failure (`IDPRejectedClaim`).
    #[error("{0}")]
    Rejected(String),
    /// The provider's metadata is past its `validUntil`.
    #[error("The SAML provider's metadata has expired (validUntil).")]
    ProviderExpired,
}
